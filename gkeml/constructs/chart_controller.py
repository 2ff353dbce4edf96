"""A controller installed from its official chart: its namespace, the pinned release, and the local chart that
waits until its webhook admits objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.framework import AssetType, Construct, TerraformAsset, helm
from gkeml.manifests import Obj, to_yaml

CHARTS_DIR = Path(__file__).resolve().parents[1] / "charts"
# Seconds Helm may take: the chart waits for its Deployment; the ready release for its hook Job, which retries
# for up to gkeml.manifests.probe.PROBE_DEADLINE_SECONDS.
CONTROLLER_TIMEOUT_SECONDS = 600
READY_TIMEOUT_SECONDS = 1200


@dataclass(frozen=True)
class PinnedChart:
    """A controller's official Helm chart at a pinned version, and the release and namespace it is installed as."""

    release: str
    namespace: str
    repository: str
    chart: str
    version: str


class ChartController(Construct):
    """A controller in the in-cluster stack, in apply order:

    1. its namespace, then the objects that live in it (``kubernetes_manifest``: built-in kinds only);
    2. ``release``: the official chart, waiting until the controller is Ready;
    3. ``ready``: the local chart ``gkeml/charts/<ready_chart>``, whose pre-install/pre-upgrade hook Job waits
       until the controller's webhook admits a dry-run object (``probe_objects``).

    :attr:`ready` is what the controller's objects come after, so no ``kubernetes_manifest`` needs its CRD at
    plan time."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        chart: PinnedChart,
        *,
        namespace: list[Obj],
        namespace_objects_id: str,
        values: Obj,
        ready_chart: str,
        probe_objects: list[Obj],
    ):
        super().__init__(scope, id)
        release = helm("release")
        self.namespace = KubernetesObjects(self, "namespace", namespace[:1])
        self.policies = KubernetesObjects(
            self, namespace_objects_id, namespace[1:], depends_on=self.namespace.resources
        )
        self.chart_values = values
        self.release = release.Release(
            self,
            "release",
            name=chart.release,
            namespace=chart.namespace,
            repository=chart.repository,
            chart=chart.chart,
            version=chart.version,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=CONTROLLER_TIMEOUT_SECONDS,
            values=[to_yaml([values])],
            depends_on=[*self.namespace.resources, *self.policies.resources],
        )
        asset = TerraformAsset(self, ready_chart, path=str(CHARTS_DIR / ready_chart), type=AssetType.DIRECTORY)
        self.probe_objects = probe_objects
        self.ready = release.Release(
            self,
            "ready",
            name=ready_chart,
            namespace=chart.namespace,
            chart=asset.path,
            create_namespace=False,
            atomic=False,
            wait=True,
            timeout=READY_TIMEOUT_SECONDS,
            values=[to_yaml([{"objects": probe_objects}])],
            depends_on=[self.release],
        )
