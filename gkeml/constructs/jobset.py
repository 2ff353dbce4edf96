"""JobSet: its namespace, the official chart, and the release that waits for its webhook."""

from __future__ import annotations

from pathlib import Path

from gkeml import platform
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.framework import AssetType, Construct, TerraformAsset, helm
from gkeml.manifests import to_yaml
from gkeml.manifests.jobset import READY_CHART, JobSetPlan

READY_CHART_DIR = Path(__file__).resolve().parents[1] / "charts" / READY_CHART
# Seconds Helm may take: the chart waits for its Deployment; the ready release for its hook Job, which retries
# for up to gkeml.manifests.probe.PROBE_DEADLINE_SECONDS.
JOBSET_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 1200


class JobSet(Construct):
    """The JobSet controller in the in-cluster stack, in apply order:

    1. the JobSet namespace and its NetworkPolicies (``kubernetes_manifest``: built-in kinds only);
    2. ``helm_release.jobset``: the official chart (OCI, pinned), waiting until the controller is Ready;
    3. ``helm_release.jobset-ready``: the local chart ``gkeml/charts/jobset-ready``, whose pre-install/
       pre-upgrade hook Job waits until the JobSet webhook admits a dry-run JobSet.

    :attr:`ready` is what must come after it (Kueue's release: its JobSet integration starts with the API
    served). No ``kubernetes_manifest`` has a JobSet kind, so a first plan needs no JobSet CRD."""

    def __init__(self, scope: Construct, id: str, plan: JobSetPlan):
        super().__init__(scope, id)
        release = helm("release")
        self.namespace = KubernetesObjects(self, "namespace", plan.namespace[:1])
        self.policies = KubernetesObjects(
            self, "network-policies", plan.namespace[1:], depends_on=self.namespace.resources
        )
        self.chart_values = plan.chart_values
        self.release = release.Release(
            self,
            "release",
            name=platform.JOBSET_RELEASE,
            namespace=platform.JOBSET_NAMESPACE,
            repository=platform.JOBSET_CHART_REPOSITORY,
            chart=platform.JOBSET_CHART,
            version=platform.JOBSET_VERSION,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=JOBSET_TIMEOUT_SECONDS,
            values=[to_yaml([plan.chart_values])],
            depends_on=[*self.namespace.resources, *self.policies.resources],
        )
        chart = TerraformAsset(self, READY_CHART, path=str(READY_CHART_DIR), type=AssetType.DIRECTORY)
        self.probe_objects = plan.webhook_probe
        self.ready = release.Release(
            self,
            "ready",
            name=READY_CHART,
            namespace=platform.JOBSET_NAMESPACE,
            chart=chart.path,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=READY_TIMEOUT_SECONDS,
            values=[to_yaml([{"objects": self.probe_objects}])],
            depends_on=[self.release],
        )
