"""The cloud layer of one environment: the stack named exactly ``<env>``. The stack wires constructs together;
their props come from the environment through :mod:`gkeml.stacks.props`."""

from __future__ import annotations

from typing import Any

from gkeml.config.apis import own_extension_apis
from gkeml.config.exposure import INGRESS, kept_exposures
from gkeml.config.extensions import CloudContext
from gkeml.config.extensions import loaded as loaded_extensions
from gkeml.config.extensions import running as running_extension
from gkeml.config.model import Environment
from gkeml.constructs import (
    AutopilotCluster,
    Bucket,
    ClusterAccess,
    ImagePolicy,
    Member,
    Network,
    ProjectServices,
    PublicEndpoint,
    Secret,
    WorkloadIdentity,
)
from gkeml.framework import (
    Construct,
    GcsBackend,
    TerraformOutput,
    TerraformStack,
    add_moved,
    add_removed,
    declare_terraform_version,
    google_provider,
    legacy_logical_id,
    pin_google_provider,
    record_release,
)
from gkeml.naming import Names, gkeml_labels
from gkeml.stacks.exposure import add_gateway_endpoints
from gkeml.stacks.props import (
    STORAGE_ANALYTICS_WRITER,
    access_log_bucket_props,
    bucket_props,
    cluster_props,
    endpoint_props,
    identity_props,
    image_policy_props,
    metrics_adapter_props,
    network_props,
    secret_props,
    secret_sync_member,
)
from gkeml.stacks.services import add_platform_services


class CloudStack(TerraformStack):
    """Project APIs, network, Autopilot cluster, Workload Identity, buckets, public
    endpoints and secrets of one environment. ``cdktf deploy <env>`` applies it alone."""

    def __init__(self, scope: Construct, env: Environment):
        names = Names.of(env)
        super().__init__(scope, names.cloud_stack)
        self.env = env
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state(names.cloud_stack))
        google_provider(
            self,
            project=env.project.id,
            region=env.project.region,
            default_labels={**env.project.labels, **gkeml_labels(env.name)},
        )
        pin_google_provider(self)
        declare_terraform_version(self)
        record_release(self)
        apis = ProjectServices(self, "apis", project=env.project.id).services
        self.network = Network(self, "network", network_props(env, names), depends_on=apis)
        policy = image_policy_props(env)
        admission = [ImagePolicy(self, "image-policy", policy, depends_on=apis).policy] if policy else []
        self.cluster = AutopilotCluster(
            self, "cluster", cluster_props(env, names), network=self.network, depends_on=[*apis, *admission]
        )
        access_logs = Bucket(self, "access-logs", access_log_bucket_props(env, names), depends_on=apis)
        access_logs.grant(
            Member(STORAGE_ANALYTICS_WRITER, "analytics"), "roles/storage.objectCreator", id="analytics-writer"
        )
        self.buckets = {
            b.name: Bucket(self, f"bucket-{b.name}", bucket_props(env, names, b, access_logs), depends_on=apis)
            for b in env.buckets
        }
        self.secrets = {
            s.name: Secret(self, f"secret-{s.name}", secret_props(env, names, s), depends_on=apis) for s in env.secrets
        }
        pool = self.cluster.cluster  # creates the Workload Identity pool every binding of its members waits for
        self.identities: dict[str, WorkloadIdentity] = {}
        for ident in env.identities:
            wi = WorkloadIdentity(
                self, f"wi-{ident.name}", identity_props(env, names, ident), pool_created_by=pool, depends_on=apis
            )
            self.identities[ident.name] = wi
            for name in ident.reads:
                self.buckets[name].grant_read(wi)
            for name in ident.writes:
                self.buckets[name].grant_write(wi)
            for name in ident.secrets:
                self.secrets[name].grant_access(wi)
        self.metrics_adapter: WorkloadIdentity | None = None
        if env.needs_metrics_adapter:  # the in-cluster layer's metrics adapter reads Cloud Monitoring as its KSA
            self.metrics_adapter = WorkloadIdentity(
                self, "metrics-adapter", metrics_adapter_props(env), pool_created_by=pool, depends_on=apis
            )
        if env.launch is not None:  # GKE's secret sync reads the W&B key as a KSA in each Launch namespace
            for team in env.launch_teams():
                self.secrets[env.launch.secret].grant_access(secret_sync_member(env, team, pool))
        people = [principal for team in env.teams for principal in team.principals]
        self.people = (
            ClusterAccess(self, "people", project=env.project.id, principals=people, depends_on=apis)
            if people
            else None
        )
        # the Ingress way of each endpoint that keeps it (gkeml.config.exposure); the Gateway ways next
        self.endpoints = {
            e.name: PublicEndpoint(self, f"endpoint-{e.name}", endpoint_props(env, names, e), depends_on=apis)
            for e in env.endpoints
            if INGRESS in kept_exposures(e)
        }
        self.gateways = add_gateway_endpoints(self, env, names, depends_on=apis)
        self.services = add_platform_services(
            self, env, names, cluster=self.cluster, endpoints=self.endpoints, gateways=self.gateways, depends_on=apis
        )
        self._extensions(env, names, apis)
        self._upgrades(env)
        self._outputs()

    def _upgrades(self, env: Environment) -> None:
        """The moved and removed blocks that carry the state of an earlier gkeml release over to this one."""
        # until 2026-11 an endpoint had one certificate at <endpoint>/cert: its state moves to the
        # current host's certificate (keyed by host now), so upgrading gkeml re-creates nothing; the
        # services add the moves of their own (DNS records keyed by host since 2026-12)
        moves = [
            (
                f"google_compute_managed_ssl_certificate.{legacy_logical_id(f'endpoint-{name}/cert')}",
                f"google_compute_managed_ssl_certificate.{self.get_logical_id(e.certificate)}",
            )
            for name, e in self.endpoints.items()
        ]
        # until 2026-12 a custom role's binding was keyed by the role's last segment: its state follows
        # the binding (a new address would delete and re-create the grant, in either order)
        moves += [
            (
                f"google_project_iam_member.{legacy_logical_id(f'{wi.node.id}/{old}')}",
                f"google_project_iam_member.{self.get_logical_id(binding)}",
            )
            for wi in self.identities.values()
            for old, binding in wi.moved_roles
        ]
        add_moved(self, moves + self.services.moved)
        # until 2026-12 this stack created the nodes' and the classic identities' service accounts; the
        # bootstrap stack creates them now (taking over an existing one), so the deploy identity holds no
        # right to create or administer service accounts. Terraform forgets them here and leaves them: a
        # destroy would delete the identities the cluster and the workloads run as (docs/upgrading.md)
        add_removed(
            self,
            [f"google_service_account.{legacy_logical_id('cluster/nodes')}"]
            + [
                f"google_service_account.{legacy_logical_id(f'wi-{ident.name}/gsa')}"
                for ident in env.identities
                if ident.mode == "classic"
            ],
        )

    def _extensions(self, env: Environment, names: Names, apis: list[Any]) -> None:
        """Let each extension of ``env`` add its resources under a construct of its own (``ext-<name>``), after
        the project APIs (its own declared here too: the bootstrap enabled them, fact TF006); what it raises
        is one configuration error naming the environment file and the module."""
        extensions = loaded_extensions(env)
        if not extensions:
            return
        own = own_extension_apis(env)
        if own:
            apis = apis + ProjectServices(self, "extension-apis", project=env.project.id, services=own).services
        for index, extension in extensions:
            with running_extension(env, index, "adding its resources to the cloud stack"):
                extension.cloud(
                    CloudContext(
                        scope=Construct(self, f"ext-{extension.name}"),
                        env=env,
                        names=names,
                        network=self.network,
                        cluster=self.cluster,
                        identities=dict(self.identities),
                        buckets=dict(self.buckets),
                        secrets=dict(self.secrets),
                        depends_on=list(apis),
                        labels={**env.project.labels, **gkeml_labels(env.name), "gkeml-extension": extension.name},
                    )
                )

    def _outputs(self) -> None:
        c = self.cluster.cluster
        TerraformOutput(self, "cluster_name", value=c.name)
        TerraformOutput(self, "cluster_location", value=c.location)
        TerraformOutput(
            self,
            "cluster_dns_endpoint",
            value=c.control_plane_endpoints_config.dns_endpoint_config.endpoint,
            description="kubectl / providers: https://<this> with a Google access token",
        )
        TerraformOutput(self, "buckets", value={k: b.bucket.name for k, b in self.buckets.items()})
        TerraformOutput(
            self,
            "static_ips",
            value={k: e.address.address for k, e in self.endpoints.items()},
            description="Point each host's DNS A record here",
        )
        TerraformOutput(
            self,
            "certificates",
            value={k: e.certificate.name for k, e in self.endpoints.items()},
            description="the certificate of each endpoint's current host",
        )
        TerraformOutput(
            self,
            "google_service_accounts",
            value={k: wi.gsa_email for k, wi in self.identities.items() if wi.gsa_email},
        )
        TerraformOutput(self, "secrets", value={k: s.secret.secret_id for k, s in self.secrets.items()})
