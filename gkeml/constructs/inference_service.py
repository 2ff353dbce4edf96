"""An inference service: the workload, its autoscaler and its public endpoint."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment, Inference
from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.manifests.workloads import InferenceManifests


class InferenceService(Construct):
    """Deployment (requests == limits, probes, restricted security context, optional
    GPU and Spot, zone spread), container-native Service, HorizontalPodAutoscaler v2
    and PodDisruptionBudget. :meth:`expose` adds the GKE Ingress for a public host."""

    def __init__(self, scope: Construct, id: str, env: Environment, spec: Inference, *, namespace: TeamNamespace):
        super().__init__(scope, id)
        self._manifests = InferenceManifests(env, spec)
        self._namespace = namespace.namespace
        self.workload = KubernetesObjects(self, "workload", self._manifests.workload(), depends_on=[self._namespace])

    def expose(self, endpoint: str) -> KubernetesObjects:
        """Serve on the endpoint's host: Ingress with the cloud layer's static IP and
        managed certificate (by name), HTTPS redirect and load-balancer health check."""
        return KubernetesObjects(self, f"expose-{endpoint}", self._manifests.expose(endpoint),
                                 depends_on=[self._namespace, *self.workload.resources])
