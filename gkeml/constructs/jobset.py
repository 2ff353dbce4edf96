"""JobSet: its namespace, the official chart, and the release that waits for its webhook."""

from __future__ import annotations

from gkeml import platform
from gkeml.constructs.chart_controller import ChartController, PinnedChart
from gkeml.framework import Construct
from gkeml.manifests.jobset import READY_CHART, JobSetPlan

JOBSET_CHART = PinnedChart(
    release=platform.JOBSET_RELEASE,
    namespace=platform.JOBSET_NAMESPACE,
    repository=platform.JOBSET_CHART_REPOSITORY,
    chart=platform.JOBSET_CHART,
    version=platform.JOBSET_VERSION,
)


class JobSet(ChartController):
    """The JobSet controller in the in-cluster stack, in apply order:

    1. the JobSet namespace and its NetworkPolicies (``kubernetes_manifest``: built-in kinds only);
    2. ``helm_release.jobset``: the official chart (OCI, pinned), waiting until the controller is Ready;
    3. ``helm_release.jobset-ready``: the local chart ``gkeml/charts/jobset-ready``, whose pre-install/
       pre-upgrade hook Job waits until the JobSet webhook admits a dry-run JobSet.

    :attr:`ready` is what must come after it (Kueue's release: its JobSet integration starts with the API
    served). No ``kubernetes_manifest`` has a JobSet kind, so a first plan needs no JobSet CRD."""

    def __init__(self, scope: Construct, id: str, plan: JobSetPlan):
        super().__init__(
            scope,
            id,
            JOBSET_CHART,
            namespace=plan.namespace,
            namespace_objects_id="network-policies",
            values=plan.chart_values,
            ready_chart=READY_CHART,
            probe_objects=plan.webhook_probe,
        )
