"""The in-cluster layer of one environment: the stack ``<env>-k8s``, after ``<env>``."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment
from gkeml.constructs import InferenceService, KubernetesObjects, LaunchAgent, TeamNamespace
from gkeml.framework import GcsBackend, TerraformStack, google, helm, kubernetes
from gkeml.manifests.workloads import compute_class_object
from gkeml.naming import Names


class InClusterStack(TerraformStack):
    """Team namespaces, ComputeClasses, inference services with their Ingress and the
    W&B Launch agent.

    Its kubernetes and helm providers are configured from DATA SOURCES (the
    cluster's DNS endpoint and the caller's access token), never from a resource
    of this stack, and the stack depends on the cloud stack, so Terraform plans it
    only once the cluster exists."""

    def __init__(self, scope: Construct, env: Environment, *, cloud: TerraformStack):
        names = Names(env)
        super().__init__(scope, names.k8s_stack)
        self.add_dependency(cloud)
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state_prefix(names.k8s_stack))
        google("provider").GoogleProvider(self, "google", project=env.project.id, region=env.project.region)
        cluster = google("data_google_container_cluster").DataGoogleContainerCluster(
            self, "cluster", name=names.cluster, location=env.project.region, project=env.project.id)
        client = google("data_google_client_config").DataGoogleClientConfig(self, "client")
        endpoint = "https://" + cluster.control_plane_endpoints_config.get(0).dns_endpoint_config.get(0).endpoint
        kubernetes("provider").KubernetesProvider(self, "kubernetes", host=endpoint, token=client.access_token)
        hp = helm("provider")
        hp.HelmProvider(self, "helm", kubernetes=hp.HelmProviderKubernetes(host=endpoint, token=client.access_token))

        if env.compute_classes:
            KubernetesObjects(self, "compute-classes", [compute_class_object(p) for p in env.compute_classes])
        self.teams = {t.name: TeamNamespace(self, f"team-{t.name}", env, t) for t in env.teams}
        for svc in env.inference:
            service = InferenceService(self, f"inference-{svc.name}", env, svc, namespace=self.teams[svc.team])
            if svc.endpoint:
                service.expose(svc.endpoint)
        if env.launch:
            LaunchAgent(self, "wandb", env, env.launch, stack=self, targets=[self.teams[t] for t in env.launch_teams()])
