"""A team's namespace and everything that makes it a safe tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.framework import Construct
from gkeml.manifests import Obj


class TeamNamespace(Construct):
    """Namespace with Pod Security labels, ResourceQuota (CPU, memory, GPUs), a
    LimitRange with Autopilot's defaults, default-deny ingress NetworkPolicies
    (plus Google load-balancer ranges where the team serves traffic) and the
    Kubernetes service accounts of the team's Workload Identities.

    ``objects`` come from :func:`gkeml.manifests.workloads.team_objects`; the first is the
    Namespace, which everything else waits for, and which waits for ``depends_on`` (what the team's
    workloads need in the cluster first, and which must outlive them on destroy)."""

    def __init__(self, scope: Construct, id: str, objects: list[Obj], *, depends_on: Sequence[Any] = ()):
        super().__init__(scope, id)
        namespace, *rest = objects
        if namespace.get("kind") != "Namespace":
            raise ValueError("the first object of a team must be its Namespace")
        self.name = namespace["metadata"]["name"]
        self.namespace = KubernetesObjects(self, "namespace", [namespace], depends_on=depends_on).resources[0]
        self.objects = KubernetesObjects(self, "objects", rest, depends_on=[self.namespace])
