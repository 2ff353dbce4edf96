"""A team's namespace and everything that makes it a safe tenant."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment, Team
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.manifests.workloads import team_objects


class TeamNamespace(Construct):
    """Namespace with Pod Security labels, ResourceQuota (CPU, memory, GPUs), a
    LimitRange with Autopilot's defaults, default-deny ingress NetworkPolicies
    (plus Google load-balancer ranges where the team serves traffic) and the
    Kubernetes service accounts of the team's Workload Identities."""

    def __init__(self, scope: Construct, id: str, env: Environment, team: Team):
        super().__init__(scope, id)
        self.name = team.name
        namespace, *rest = team_objects(env, team)
        self.namespace = KubernetesObjects(self, "namespace", [namespace]).resources[0]
        self.objects = KubernetesObjects(self, "objects", rest, depends_on=[self.namespace])
