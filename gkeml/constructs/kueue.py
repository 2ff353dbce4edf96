"""Kueue: its namespace, the official chart, and the queue objects through a local chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gkeml import platform
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import AssetType, Construct, TerraformAsset, helm
from gkeml.manifests import to_yaml
from gkeml.manifests.kueue import QUEUES_CHART, KueuePlan

QUEUES_CHART_DIR = Path(__file__).resolve().parents[1] / "charts" / QUEUES_CHART
# Seconds Helm may take: the Kueue release waits for its Deployment; the queue release for its hook
# Job, which retries for up to PROBE_DEADLINE_SECONDS.
KUEUE_TIMEOUT_SECONDS = 600
QUEUES_TIMEOUT_SECONDS = 1200


class Kueue(Construct):
    """Kueue in the in-cluster stack, in apply order:

    1. the Kueue namespace, its NetworkPolicies and the manager's RBAC that replaces the chart's
       RoleBinding in ``kube-system`` (``kubernetes_manifest``: built-in kinds only);
    2. ``helm_release.kueue``: the official chart (OCI, pinned), waiting until the manager is Ready;
    3. ``helm_release.kueue-queues``: the local chart ``gkeml/charts/kueue-queues`` (shipped into the
       stack's output as an asset), whose values are the queue objects; its pre-install/pre-upgrade
       hook Job waits until Kueue's webhook admits a dry-run ResourceFlavor. It also waits for the team
       namespaces (the LocalQueues live there), and on destroy waits until Kueue removed the objects'
       finalizers, before the Kueue release (and its CRDs) goes.

    No ``kubernetes_manifest`` has a Kueue kind, so a first ``terraform plan`` of a fresh environment
    needs no Kueue CRD. ``after``: what the Kueue release waits for (the JobSet controller, whose API Kueue's
    JobSet integration starts with)."""

    def __init__(
        self, scope: Construct, id: str, plan: KueuePlan, *, teams: list[TeamNamespace], after: Sequence[Any] = ()
    ):
        super().__init__(scope, id)
        release = helm("release")
        self.namespace = KubernetesObjects(self, "namespace", plan.namespace[:1])
        self.policies = KubernetesObjects(
            self, "network-policies", plan.namespace[1:], depends_on=self.namespace.resources
        )
        # before the manager starts: its visibility server exits when it cannot read the auth ConfigMap
        self.rbac = KubernetesObjects(self, "rbac", plan.rbac)
        self.chart_values = plan.chart_values
        self.release = release.Release(
            self,
            "release",
            name=platform.KUEUE_RELEASE,
            namespace=platform.KUEUE_NAMESPACE,
            repository=platform.KUEUE_CHART_REPOSITORY,
            chart=platform.KUEUE_CHART,
            version=platform.KUEUE_VERSION,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=KUEUE_TIMEOUT_SECONDS,
            values=[to_yaml([plan.chart_values])],
            depends_on=[*self.namespace.resources, *self.policies.resources, *self.rbac.resources, *after],
        )
        chart = TerraformAsset(self, QUEUES_CHART, path=str(QUEUES_CHART_DIR), type=AssetType.DIRECTORY)
        self.queue_objects = plan.chart_objects()
        self.queues = release.Release(
            self,
            "queues",
            name=QUEUES_CHART,
            namespace=platform.KUEUE_NAMESPACE,
            chart=chart.path,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=QUEUES_TIMEOUT_SECONDS,
            values=[to_yaml([{"objects": self.queue_objects}])],
            depends_on=[self.release, *(t.namespace for t in teams)],
        )
