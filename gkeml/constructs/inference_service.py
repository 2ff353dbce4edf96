"""An inference service: the workload, its autoscaler and its public endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gkeml.config.exposure import INGRESS
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import AssetType, Construct, TerraformAsset, helm
from gkeml.manifests import Obj, to_yaml
from gkeml.manifests.gateway import OBJECTIVES_CHART
from gkeml.manifests.lws import SERVICE_CHART
from gkeml.manifests.workloads import Exposure

OBJECTIVES_CHART_DIR = Path(__file__).resolve().parents[1] / "charts" / OBJECTIVES_CHART
GROUPS_CHART_DIR = Path(__file__).resolve().parents[1] / "charts" / SERVICE_CHART


class InferenceService(Construct):
    """Deployment (requests == limits, probes, restricted security context, optional
    GPU and Spot, zone spread), container-native Service, HorizontalPodAutoscaler v2
    and PodDisruptionBudget, in the team's namespace. :meth:`expose` adds a way to reach it from its
    endpoint's hosts: GKE Ingress, GKE's Gateway or GKE Inference Gateway."""

    def __init__(self, scope: Construct, id: str, workload: list[Obj], *, namespace: TeamNamespace):
        super().__init__(scope, id)
        self._namespace = namespace.namespace
        self.workload = KubernetesObjects(self, "workload", workload, depends_on=[self._namespace])

    def expose(self, exposure: Exposure) -> KubernetesObjects:
        """Serve on the endpoint's hosts through ``exposure`` (from
        :meth:`gkeml.manifests.workloads.InferenceManifests.expose`): the objects name the cloud layer's static IP
        and certificates. The Ingress keeps the construct id it always had (``expose-<endpoint>``), so an
        environment that adds a Gateway beside it changes nothing of it."""
        suffix = "" if exposure.way == INGRESS else f"-{exposure.way}"
        return KubernetesObjects(
            self,
            f"expose-{exposure.endpoint}{suffix}",
            exposure.objects,
            depends_on=[self._namespace, *self.workload.resources],
        )


class InferenceObjectives(Construct):
    """The InferenceObjectives of a team's InferencePools (GKE Inference Gateway), through the local chart
    ``inference-objectives``, one release per namespace: Terraform plans it without the cluster knowing the kind,
    whose CRD (``crds``) comes in the same apply, before it, with the pools (``depends_on``)."""

    def __init__(
        self, scope: Construct, id: str, objects: list[Obj], *, namespace: str, depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        chart = TerraformAsset(self, OBJECTIVES_CHART, path=str(OBJECTIVES_CHART_DIR), type=AssetType.DIRECTORY)
        self.objects = objects
        self.release = helm("release").Release(
            self,
            "release",
            name=OBJECTIVES_CHART,
            namespace=namespace,
            chart=chart.path,
            create_namespace=False,
            atomic=False,
            wait=True,
            values=[to_yaml([{"objects": objects}])],
            depends_on=list(depends_on) or None,
        )


class LeaderWorkerSets(Construct):
    """The LeaderWorkerSets of a team's multi-host inference services, through the local chart
    ``leaderworkerset``, one release per namespace: Terraform plans it without the cluster knowing the kind, whose
    CRD comes in the same apply with the LWS controller's chart, before it (``depends_on``: the release that waits
    for the controller's webhook, the team's namespace, service accounts and the services' other objects)."""

    def __init__(
        self, scope: Construct, id: str, objects: list[Obj], *, namespace: str, depends_on: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        chart = TerraformAsset(self, SERVICE_CHART, path=str(GROUPS_CHART_DIR), type=AssetType.DIRECTORY)
        self.objects = objects
        self.release = helm("release").Release(
            self,
            "release",
            name=SERVICE_CHART,
            namespace=namespace,
            chart=chart.path,
            create_namespace=False,
            atomic=False,
            wait=False,  # Helm has no readiness for a custom kind; the leaders' probes gate the Service
            values=[to_yaml([{"objects": objects}])],
            depends_on=list(depends_on) or None,
        )
