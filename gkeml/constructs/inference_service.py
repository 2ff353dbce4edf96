"""An inference service: the workload, its autoscaler and its public endpoint."""

from __future__ import annotations

from gkeml.constructs.kubernetes_objects import KubernetesObjects
from gkeml.constructs.team_namespace import TeamNamespace
from gkeml.framework import Construct
from gkeml.manifests import Obj
from gkeml.manifests.workloads import Exposure


class InferenceService(Construct):
    """Deployment (requests == limits, probes, restricted security context, optional
    GPU and Spot, zone spread), container-native Service, HorizontalPodAutoscaler v2
    and PodDisruptionBudget, in the team's namespace. :meth:`expose` adds the GKE Ingress
    for a public host."""

    def __init__(self, scope: Construct, id: str, workload: list[Obj], *, namespace: TeamNamespace):
        super().__init__(scope, id)
        self._namespace = namespace.namespace
        self.workload = KubernetesObjects(self, "workload", workload, depends_on=[self._namespace])

    def expose(self, exposure: Exposure) -> KubernetesObjects:
        """Serve on the endpoint's host: the Ingress with the cloud layer's static IP and managed
        certificate (by name), HTTPS redirect and load-balancer health check (``exposure``, from
        :meth:`gkeml.manifests.workloads.InferenceManifests.expose`)."""
        return KubernetesObjects(
            self,
            f"expose-{exposure.endpoint}",
            exposure.objects,
            depends_on=[self._namespace, *self.workload.resources],
        )
