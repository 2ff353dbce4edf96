"""The in-cluster layer of one environment: the stack ``<env>-k8s``, after ``<env>``."""

from __future__ import annotations

from gkeml import platform
from gkeml.config.model import Environment
from gkeml.constructs import (
    InferenceService,
    JobSet,
    KubernetesObjects,
    Kueue,
    LaunchAgent,
    LaunchAgentProps,
    LeaderWorkerSetController,
    MetricsAdapter,
    TeamNamespace,
)
from gkeml.constructs.inference_service import InferenceObjectives, LeaderWorkerSets
from gkeml.framework import (
    Construct,
    GcsBackend,
    TerraformStack,
    add_removed,
    declare_terraform_version,
    google,
    google_provider,
    helm,
    kubernetes,
    legacy_logical_id,
    pin_google_provider,
    record_release,
)
from gkeml.manifests.launch import chart_values
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.naming import Names

LAUNCH = "wandb"  # construct id of the W&B Launch agent (its Secret's old address names it)


class InClusterStack(TerraformStack):
    """Team namespaces, ComputeClasses, inference services with their exposure (Ingress, Gateway or Inference
    Gateway, and the InferenceObjective CRD when used), the metrics adapter their autoscalers need, JobSet,
    LeaderWorkerSet (for multi-host models), Kueue with the teams' queues, the W&B Launch agent and the
    extensions' objects: exactly the objects of :func:`gkeml.manifests.workloads.in_cluster_plan`.

    Its kubernetes and helm providers reach the cluster's DNS endpoint (read with a data source,
    so Terraform plans this stack only once the cloud stack has created the cluster; never a
    provider configured from a resource of this stack) and authenticate with
    ``gke-gcloud-auth-plugin``: a short-lived token per call from the caller's credentials, never
    stored in the Terraform state. Helm keeps its release records in ConfigMaps, so planning needs
    no Secret read."""

    def __init__(self, scope: Construct, env: Environment, *, cloud: TerraformStack):
        names = Names.of(env)
        super().__init__(scope, names.k8s_stack)
        self.add_dependency(cloud)
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state(names.k8s_stack))
        google_provider(self, project=env.project.id, region=env.project.region)
        pin_google_provider(self)
        declare_terraform_version(self)
        record_release(self)
        cluster = google("data_google_container_cluster").DataGoogleContainerCluster(
            self, "cluster", name=names.cluster, location=env.project.region, project=env.project.id
        )
        endpoint = "https://" + cluster.control_plane_endpoints_config.get(0).dns_endpoint_config.get(0).endpoint
        kp = kubernetes("provider")
        kp.KubernetesProvider(
            self,
            "kubernetes",
            host=endpoint,
            exec=[
                kp.KubernetesProviderExec(
                    api_version=platform.KUBE_EXEC_API_VERSION,
                    command=platform.KUBE_EXEC_COMMAND,
                    args=list(platform.KUBE_EXEC_ARGS),
                )
            ],
        )
        hp = helm("provider")
        hp.HelmProvider(
            self,
            "helm",
            helm_driver=platform.HELM_DRIVER,
            kubernetes=hp.HelmProviderKubernetes(
                host=endpoint,
                exec=hp.HelmProviderKubernetesExec(
                    api_version=platform.KUBE_EXEC_API_VERSION,
                    command=platform.KUBE_EXEC_COMMAND,
                    args=list(platform.KUBE_EXEC_ARGS),
                ),
            ),
        )

        plan = in_cluster_plan(env)
        if plan.compute_classes:
            KubernetesObjects(self, "compute-classes", plan.compute_classes)
        crds = KubernetesObjects(self, "crds", plan.crds).resources if plan.crds else []
        # the team namespaces (and so every workload in them, the autoscalers too) come after the metrics
        # adapter, and go before it on destroy
        adapter = MetricsAdapter(self, "metrics-adapter", plan.metrics_adapter) if plan.metrics_adapter else None
        self.teams = {
            name: TeamNamespace(self, f"team-{name}", objects, depends_on=adapter.api_services if adapter else ())
            for name, objects in plan.teams.items()
        }
        jobset = JobSet(self, "jobset", plan.jobset) if plan.jobset else None
        if plan.kueue:
            Kueue(self, "kueue", plan.kueue, teams=list(self.teams.values()), after=[jobset.ready] if jobset else ())
        lws = LeaderWorkerSetController(self, "lws", plan.lws) if plan.lws else None
        pools: dict[str, list] = {}  # team -> what its InferenceObjectives wait for
        groups: dict[str, tuple[list, list]] = {}  # team -> its LeaderWorkerSets, and its services' other objects
        for svc in plan.services:
            service = InferenceService(self, f"inference-{svc.name}", svc.workload, namespace=self.teams[svc.team])
            if svc.chart_workload:
                groups.setdefault(svc.team, ([], []))
                groups[svc.team][0].extend(svc.chart_workload)
                groups[svc.team][1].extend(service.workload.resources)
            for exposure in svc.exposures:
                exposed = service.expose(exposure)
                if exposure.chart_objects:
                    pools.setdefault(svc.team, []).extend(exposed.resources)
        for team_name, (objects, after) in groups.items():  # after the LWS webhook answers
            team = self.teams[team_name]
            LeaderWorkerSets(
                self,
                f"leaderworkersets-{team_name}",
                objects,
                namespace=team_name,
                # the chart that installs the CRD and the release that waits for its webhook
                depends_on=[
                    team.namespace,
                    *team.objects.resources,
                    *after,
                    *([lws.release, lws.ready] if lws else []),
                ],
            )
        for team_name, objectives in plan.objectives().items():
            InferenceObjectives(
                self,
                f"objectives-{team_name}",
                objectives,
                namespace=team_name,
                depends_on=[*crds, self.teams[team_name].namespace, *pools.get(team_name, [])],
            )
        if env.launch:
            agent = env.identity(env.launch.identity)
            LaunchAgent(
                self,
                LAUNCH,
                LaunchAgentProps(
                    release=env.launch.release,
                    chart_version=env.launch.chart_version,
                    values=chart_values(env, env.launch, env.launch_teams()),
                ),
                namespace=self.teams[agent.namespace],
                targets=[self.teams[t] for t in env.launch_teams()],
                key_objects=plan.launch_keys,
            )
        for name, objects in plan.extensions.items():  # in team namespaces (checked at load), after each
            for namespace in dict.fromkeys(o["metadata"]["namespace"] for o in objects):
                team = self.teams[namespace]
                KubernetesObjects(
                    self,
                    f"ext-{name}-{namespace}",
                    [o for o in objects if o["metadata"]["namespace"] == namespace],
                    depends_on=[team.namespace, *team.objects.resources],
                )
        # a volume's claim after its StorageClass, its source objects and its team's service accounts (the copying
        # identity's), and destroyed before them: GKE Volume Populator's claim hangs if its GCPDataSource goes first
        storage = KubernetesObjects(self, "storage", plan.storage).resources if plan.storage else []
        for volume in plan.volumes:
            team = self.teams[volume.team]
            after = [team.namespace, *team.objects.resources, *storage]
            sources = KubernetesObjects(self, f"volume-{volume.name}-source", volume.sources, depends_on=after)
            KubernetesObjects(self, f"volume-{volume.name}", [volume.claim], depends_on=[*after, *sources.resources])
        # Until 2026-11 (gkeml 8c8cab5) Terraform wrote the W&B key Secret itself, a kubernetes_secret_v1 at
        # wandb/api-key-<namespace>; GKE's secret sync writes that Secret now. Terraform forgets the old one
        # and leaves it: destroying it in the apply that creates the SecretSync could delete the Secret after
        # the sync wrote it, and the sync writes it again only when the key changes (docs/upgrading.md). Only in
        # the Launch teams' namespaces: elsewhere nothing syncs the key, and the old Secret (gkeml wrote one into
        # every team's namespace then) is destroyed with the upgrade, so the key stays only where launches run.
        launch_teams = set(env.launch_teams())
        add_removed(
            self,
            [
                f"kubernetes_secret_v1.{legacy_logical_id(f'{LAUNCH}/api-key-{t.name}')}"
                for t in env.teams
                if t.name in launch_teams
            ],
        )
