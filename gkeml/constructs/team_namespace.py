"""A team's namespace and everything that makes it a safe tenant."""

from __future__ import annotations

from constructs import Construct

from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.manifests import Obj


class TeamNamespace(Construct):
    """Namespace with Pod Security labels, ResourceQuota (CPU, memory, GPUs), a
    LimitRange with Autopilot's defaults, default-deny ingress NetworkPolicies
    (plus Google load-balancer ranges where the team serves traffic) and the
    Kubernetes service accounts of the team's Workload Identities.

    ``objects`` come from :func:`gkeml.manifests.workloads.team_objects`; the first is the
    Namespace, which everything else waits for."""

    def __init__(self, scope: Construct, id: str, objects: list[Obj]):
        super().__init__(scope, id)
        namespace, *rest = objects
        if namespace.get("kind") != "Namespace":
            raise ValueError("the first object of a team must be its Namespace")
        self.name = namespace["metadata"]["name"]
        self.namespace = KubernetesObjects(self, "namespace", [namespace]).resources[0]
        self.objects = KubernetesObjects(self, "objects", rest, depends_on=[self.namespace])
