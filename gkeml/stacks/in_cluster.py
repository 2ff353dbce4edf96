"""The in-cluster layer of one environment: the stack ``<env>-k8s``, after ``<env>``."""

from __future__ import annotations

from constructs import Construct

from gkeml.config.model import Environment
from gkeml.constructs import InferenceService, KubernetesObjects, LaunchAgent, LaunchAgentProps, TeamNamespace
from gkeml.framework import GcsBackend, TerraformStack, google, helm, kubernetes
from gkeml.manifests.launch import chart_values
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.naming import Names


class InClusterStack(TerraformStack):
    """Team namespaces, ComputeClasses, inference services with their Ingress and the
    W&B Launch agent: exactly the objects of :func:`gkeml.manifests.workloads.in_cluster_plan`.

    Its kubernetes and helm providers are configured from DATA SOURCES (the
    cluster's DNS endpoint and the caller's access token), never from a resource
    of this stack, and the stack depends on the cloud stack, so Terraform plans it
    only once the cluster exists."""

    def __init__(self, scope: Construct, env: Environment, *, cloud: TerraformStack):
        names = Names.of(env)
        super().__init__(scope, names.k8s_stack)
        self.add_dependency(cloud)
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state(names.k8s_stack))
        google("provider").GoogleProvider(self, "google", project=env.project.id, region=env.project.region)
        cluster = google("data_google_container_cluster").DataGoogleContainerCluster(
            self, "cluster", name=names.cluster, location=env.project.region, project=env.project.id)
        client = google("data_google_client_config").DataGoogleClientConfig(self, "client")
        endpoint = "https://" + cluster.control_plane_endpoints_config.get(0).dns_endpoint_config.get(0).endpoint
        kubernetes("provider").KubernetesProvider(self, "kubernetes", host=endpoint, token=client.access_token)
        hp = helm("provider")
        hp.HelmProvider(self, "helm", kubernetes=hp.HelmProviderKubernetes(host=endpoint, token=client.access_token))

        plan = in_cluster_plan(env)
        if plan.compute_classes:
            KubernetesObjects(self, "compute-classes", plan.compute_classes)
        self.teams = {name: TeamNamespace(self, f"team-{name}", objects) for name, objects in plan.teams.items()}
        for svc in plan.services:
            service = InferenceService(self, f"inference-{svc.name}", svc.workload, namespace=self.teams[svc.team])
            if svc.exposure:
                service.expose(svc.exposure)
        if env.launch:
            agent = env.identity(env.launch.identity)
            LaunchAgent(self, "wandb", LaunchAgentProps(
                release=env.launch.release, chart_version=env.launch.chart_version,
                values=chart_values(env, env.launch, env.launch_teams()), project=env.project.id,
                api_key_secret_id=names.secret(env.launch.secret), api_key_revision=env.launch.api_key_revision,
            ), namespace=self.teams[agent.namespace], targets=[self.teams[t] for t in env.launch_teams()])
