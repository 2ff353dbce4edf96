"""The Custom Metrics Stackdriver Adapter: what serves the metrics an HPA's External metric reads."""

from __future__ import annotations

from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.framework import Construct
from gkeml.manifests import Obj


class MetricsAdapter(Construct):
    """The adapter's objects (:func:`gkeml.manifests.metrics_adapter.metrics_adapter_objects`), applied in
    three steps:

    1. its Namespace;
    2. everything else but the APIServices: service account, RBAC, network policies, the Deployment
       (Terraform waits until its rollout completed, i.e. the adapter answers /healthz) and the Service;
    3. the APIServices, so the API server routes the custom and external metrics APIs to the adapter only
       once it serves them (an APIService without a Ready backend makes API discovery report the group
       unavailable, and namespace deletion stall on it).

    :attr:`api_services` is what workloads that need the metrics depend on: through it they wait for
    the whole adapter on apply, and on destroy they are gone before its APIServices are, so no
    autoscaler is left calling an API that no longer exists."""

    def __init__(self, scope: Construct, id: str, objects: list[Obj]):
        super().__init__(scope, id)
        namespace, *rest = objects
        if namespace.get("kind") != "Namespace":
            raise ValueError("the first object of the metrics adapter must be its Namespace")
        backend = [o for o in rest if o["kind"] != "APIService"]
        self.namespace = KubernetesObjects(self, "namespace", [namespace])
        self.backend = KubernetesObjects(
            self, "backend", backend, depends_on=self.namespace.resources, wait_for_rollout=True
        )
        self.api_services = KubernetesObjects(
            self, "api-services", [o for o in rest if o["kind"] == "APIService"], depends_on=self.backend.resources
        ).resources
