"""LeaderWorkerSet: its namespace, the official chart, and the release that waits for its webhook."""

from __future__ import annotations

from gkeml import platform
from gkeml.constructs.chart_controller import ChartController, PinnedChart
from gkeml.framework import Construct
from gkeml.manifests.lws import READY_CHART, LwsPlan

LWS_CHART = PinnedChart(
    release=platform.LWS_RELEASE,
    namespace=platform.LWS_NAMESPACE,
    repository=platform.LWS_CHART_REPOSITORY,
    chart=platform.LWS_CHART,
    version=platform.LWS_VERSION,
)


class LeaderWorkerSetController(ChartController):
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
        super().__init__(
            scope,
            id,
            LWS_CHART,
            namespace=plan.namespace,
            namespace_objects_id="namespace-objects",
            values=plan.chart_values,
            ready_chart=READY_CHART,
            probe_objects=plan.webhook_probe,
        )
