"""LeaderWorkerSet: its namespace, the official chart, and the release that waits for its webhook."""

from __future__ import annotations

from pathlib import Path

from gkeml import platform
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.framework import AssetType, Construct, TerraformAsset, helm
from gkeml.manifests import to_yaml
from gkeml.manifests.lws import READY_CHART, LwsPlan

READY_CHART_DIR = Path(__file__).resolve().parents[1] / "charts" / READY_CHART
# Seconds Helm may take: the chart waits for its Deployment; the ready release for its hook Job, which retries
# for up to gkeml.manifests.probe.PROBE_DEADLINE_SECONDS.
LWS_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 1200


class LeaderWorkerSetController(Construct):
    """The LeaderWorkerSet controller in the in-cluster stack, in apply order:

    1. the LWS namespace, its NetworkPolicies and the controller's PodDisruptionBudget (``kubernetes_manifest``:
       built-in kinds only);
    2. ``helm_release.lws``: the official chart (OCI, pinned; its CRDs under crds/), waiting until the
       controller is Ready;
    3. ``helm_release.lws-ready``: the local chart ``gkeml/charts/lws-ready``, whose pre-install/pre-upgrade hook
       Job waits until the LWS webhook admits a dry-run LeaderWorkerSet.

    :attr:`ready` is what the services' LeaderWorkerSets come after. No ``kubernetes_manifest`` has a
    LeaderWorkerSet kind, so a first plan needs no LWS CRD."""

    def __init__(self, scope: Construct, id: str, plan: LwsPlan):
        super().__init__(scope, id)
        release = helm("release")
        self.namespace = KubernetesObjects(self, "namespace", plan.namespace[:1])
        self.policies = KubernetesObjects(
            self, "namespace-objects", plan.namespace[1:], depends_on=self.namespace.resources
        )
        self.chart_values = plan.chart_values
        self.release = release.Release(
            self,
            "release",
            name=platform.LWS_RELEASE,
            namespace=platform.LWS_NAMESPACE,
            repository=platform.LWS_CHART_REPOSITORY,
            chart=platform.LWS_CHART,
            version=platform.LWS_VERSION,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=LWS_TIMEOUT_SECONDS,
            values=[to_yaml([plan.chart_values])],
            depends_on=[*self.namespace.resources, *self.policies.resources],
        )
        chart = TerraformAsset(self, READY_CHART, path=str(READY_CHART_DIR), type=AssetType.DIRECTORY)
        self.probe_objects = plan.webhook_probe
        self.ready = release.Release(
            self,
            "ready",
            name=READY_CHART,
            namespace=platform.LWS_NAMESPACE,
            chart=chart.path,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=READY_TIMEOUT_SECONDS,
            values=[to_yaml([{"objects": self.probe_objects}])],
            depends_on=[self.release],
        )
