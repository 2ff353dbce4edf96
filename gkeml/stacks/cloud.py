"""The cloud layer of one environment: the stack named exactly ``<env>``."""

from __future__ import annotations

import dataclasses

from gkeml import platform
from gkeml.config.apis import own_extension_apis
from gkeml.config.extensions import CloudContext
from gkeml.config.extensions import loaded as loaded_extensions
from gkeml.config.extensions import running as running_extension
from gkeml.config.images import image_allowlist
from gkeml.config.model import Environment
from gkeml.config.roles import METRICS_ADAPTER_ROLE
from gkeml.constructs import (
    PRESETS,
    AutopilotCluster,
    Bucket,
    BucketProps,
    ClusterAccess,
    ClusterProps,
    EndpointProps,
    ImagePolicy,
    ImagePolicyProps,
    MaintenanceExclusion,
    Member,
    Network,
    NetworkProps,
    ProjectServices,
    PublicEndpoint,
    PurposePreset,
    Secret,
    SecretProps,
    WorkloadIdentity,
    WorkloadIdentityProps,
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
from gkeml.release import VERSION_LABEL, label_value
from gkeml.stacks.services import add_platform_services

# Google's storage analytics group writes the usage logs (cloud.google.com/storage/docs/access-logs).
STORAGE_ANALYTICS_WRITER = "group:cloud-storage-analytics@google.com"


# Checkpoints are rewritten every few minutes, so their buckets keep no versions and no soft delete
# (each overwrite would be billed again); in prod the last checkpoints of a run are worth a few days of
# recovery: soft delete keeps a deleted or expired object restorable for this long (GCS: 7-90 days).
PROD_CHECKPOINT_SOFT_DELETE_DAYS = 7


def bucket_preset(env: Environment, purpose: str) -> PurposePreset:
    """The preset of a bucket of ``purpose`` in ``env``."""
    preset = PRESETS[purpose]
    if purpose == "checkpoints" and env.tier == "prod":
        preset = dataclasses.replace(preset, soft_delete_days=PROD_CHECKPOINT_SOFT_DELETE_DAYS)
    return preset


def cluster_props(env: Environment, names: Names) -> ClusterProps:
    """The cluster of ``env``, as the cluster construct takes it."""
    c = env.cluster
    return ClusterProps(
        project=env.project.id,
        region=env.project.region,
        name=names.cluster,
        node_service_account=names.node_service_account_email,
        zones=tuple(c.zones),
        release_channel=c.release_channel,
        deletion_protection=c.deletion_protection,
        maintenance_days=tuple(c.maintenance.days),
        maintenance_start=c.maintenance.start,
        maintenance_hours=c.maintenance.hours,
        maintenance_exclusions=tuple(
            MaintenanceExclusion(x.name, x.start, x.end, x.scope) for x in c.maintenance.exclusions
        ),
        public_endpoint=c.public_endpoint,
        authorized_networks=tuple((n.name, str(n.cidr)) for n in c.authorized_networks),
        binary_authorization=c.binary_authorization.mode != "disabled",
        security_posture=c.security_posture,
        cost_allocation=c.cost_allocation,
        secret_sync=env.launch is not None,
        security_group=c.rbac_security_group,
        # the release that deployed it, for `gkeml doctor`: ONE label on the cluster (gkeml.release says why not all)
        labels={**env.project.labels, **c.labels, "gkeml-env": env.name, VERSION_LABEL: label_value()},
    )


class CloudStack(TerraformStack):
    """Project APIs, network, Autopilot cluster, Workload Identity, buckets, public
    endpoints and secrets of one environment. ``cdktf deploy <env>`` applies it alone."""

    def __init__(self, scope: Construct, env: Environment):
        names = Names.of(env)
        super().__init__(scope, names.cloud_stack)
        self.env = env
        project = env.project.id
        GcsBackend(self, bucket=env.state.bucket, prefix=names.state(names.cloud_stack))
        google_provider(
            self,
            project=project,
            region=env.project.region,
            default_labels={**env.project.labels, **gkeml_labels(env.name)},
        )
        pin_google_provider(self)
        declare_terraform_version(self)
        record_release(self)
        apis = ProjectServices(self, "apis", project=project).services
        net = env.network
        self.network = Network(
            self,
            "network",
            NetworkProps(
                project=project,
                region=env.project.region,
                network_name=names.network,
                subnet_name=names.subnet,
                router_name=names.router,
                nat_name=names.nat,
                firewall_name=names.firewall_deny_ingress,
                subnet_cidr=str(net.subnet_cidr),
                pods_cidr=str(net.pods_cidr),
                services_cidr=str(net.services_cidr),
                flow_logs=net.flow_logs,
                pods_range=names.pods_range,
                services_range=names.services_range,
            ),
            depends_on=apis,
        )
        binauthz = env.cluster.binary_authorization
        policy = (
            [
                ImagePolicy(
                    self,
                    "image-policy",
                    ImagePolicyProps(
                        project=project,
                        mode=binauthz.mode,
                        allowed_images=tuple(image_allowlist(env)),
                    ),
                    depends_on=apis,
                ).policy
            ]
            if binauthz.mode != "disabled"
            else []
        )
        self.cluster = AutopilotCluster(
            self, "cluster", cluster_props(env, names), network=self.network, depends_on=[*apis, *policy]
        )
        access_logs = Bucket(
            self,
            "access-logs",
            BucketProps(
                name=names.access_log_bucket,
                project=project,
                location=env.project.region.upper(),
                preset=PRESETS["access-logs"],
                force_destroy=env.tier == "dev",
                labels={"purpose": "access-logs"},
                prevent_destroy=env.protected,
            ),
            depends_on=apis,
        )
        access_logs.grant(
            Member(STORAGE_ANALYTICS_WRITER, "analytics"), "roles/storage.objectCreator", id="analytics-writer"
        )
        self.buckets = {
            b.name: Bucket(
                self,
                f"bucket-{b.name}",
                BucketProps(
                    name=names.bucket(b.name),
                    project=project,
                    location=b.location,
                    data_locations=tuple(b.data_locations),
                    preset=bucket_preset(env, b.purpose),
                    storage_class=b.storage_class,
                    force_destroy=b.force_destroy,
                    retention_days=b.retention_days,
                    labels={"purpose": b.purpose},
                    log_bucket=access_logs,
                    prevent_destroy=env.protected,
                ),
                depends_on=apis,
            )
            for b in env.buckets
        }
        self.secrets = {
            s.name: Secret(
                self,
                f"secret-{s.name}",
                SecretProps(
                    project=project,
                    secret_id=names.secret(s.name),
                    labels={"gkeml-env": env.name},
                    deletion_protection=env.protected,
                ),
                depends_on=apis,
            )
            for s in env.secrets
        }
        self.identities: dict[str, WorkloadIdentity] = {}
        for ident in env.identities:
            wi = WorkloadIdentity(
                self,
                f"wi-{ident.name}",
                WorkloadIdentityProps(
                    project_id=project,
                    project_number=env.project.number,
                    namespace=ident.namespace,
                    ksa=ident.ksa,
                    mode=ident.mode,
                    gsa_email=names.gsa_email(ident.name) if ident.mode == "classic" else None,
                    roles=tuple(ident.roles),
                ),
                pool_created_by=self.cluster.cluster,
                depends_on=apis,
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
                self,
                "metrics-adapter",
                WorkloadIdentityProps(
                    project_id=project,
                    project_number=env.project.number,
                    namespace=platform.METRICS_ADAPTER_NAMESPACE,
                    ksa=platform.METRICS_ADAPTER_KSA,
                    roles=(METRICS_ADAPTER_ROLE,),
                ),
                pool_created_by=self.cluster.cluster,
                depends_on=apis,
            )
        if env.launch is not None:  # GKE's secret sync reads the W&B key as a KSA in each Launch namespace
            key = self.secrets[env.launch.secret]
            for team in env.launch_teams():
                key.grant_access(
                    Member(
                        platform.workload_identity_principal(
                            env.project.number, project, team, platform.SECRET_SYNC_SERVICE_ACCOUNT
                        ),
                        f"secret-sync-{team}",
                        grant_dependencies=[self.cluster.cluster],
                    )
                )
        people = [principal for team in env.teams for principal in team.principals]
        self.people = (
            ClusterAccess(self, "people", project=project, principals=people, depends_on=apis) if people else None
        )
        self.endpoints = {
            e.name: PublicEndpoint(
                self,
                f"endpoint-{e.name}",
                EndpointProps(
                    project=project,
                    host=e.host,
                    address_name=names.address(e.name),
                    certificates=tuple((h, names.certificate(e.name, h)) for h in e.certificate_hosts),
                    prevent_destroy=env.protected,
                ),
                depends_on=apis,
            )
            for e in env.endpoints
        }
        self.services = add_platform_services(self, env, names, depends_on=apis)
        self._extensions(env, names, apis)
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
        self._outputs()

    def _extensions(self, env: Environment, names: Names, apis: list) -> None:
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
