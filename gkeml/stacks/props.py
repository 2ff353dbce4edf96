"""From an environment's config to its constructs' props: one function per construct of the cloud layer.

The constructs know nothing of the config (:mod:`gkeml.constructs`); the stacks only wire constructs
together (:mod:`gkeml.stacks.cloud`, :mod:`gkeml.stacks.services`). What a config section means for a
construct (its names, the tier's protections, the labels, which hosts get a record) is decided here, once,
so it can be read and tested construct by construct (tests/test_construct_props.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gkeml import observability, platform
from gkeml.config import ConfigError, ConfigProblem
from gkeml.config.accounts import service_account_email
from gkeml.config.images import image_allowlist
from gkeml.config.model import BucketConfig, Endpoint, Environment, IdentityConfig, SecretConfig
from gkeml.config.registries import registries_of
from gkeml.config.roles import METRICS_ADAPTER_ROLE
from gkeml.config.services import Budget, Dns, Registry, Repository
from gkeml.constructs import (
    PRESETS,
    Bucket,
    BucketProps,
    ClusterProps,
    EndpointProps,
    ImagePolicyProps,
    MaintenanceExclusion,
    Member,
    NetworkProps,
    PurposePreset,
    SecretProps,
    WorkloadIdentityProps,
)
from gkeml.constructs.artifact_registry import RepositoryProps
from gkeml.constructs.budget import BudgetProps
from gkeml.constructs.dns import DnsZoneProps
from gkeml.constructs.monitoring import ChannelProps, MonitoringProps
from gkeml.constructs.notifications import TopicProps, UpgradeNoticesProps
from gkeml.cost import PriceTable, budget_amount
from gkeml.naming import ENV_LABEL, Names
from gkeml.release import VERSION_LABEL, label_value

# Google's storage analytics group writes the usage logs (cloud.google.com/storage/docs/access-logs).
STORAGE_ANALYTICS_WRITER = "group:cloud-storage-analytics@google.com"

# Checkpoints are rewritten every few minutes, so their buckets keep no versions and no soft delete
# (each overwrite would be billed again); in prod the last checkpoints of a run are worth a few days of
# recovery: soft delete keeps a deleted or expired object restorable for this long (GCS: 7-90 days).
PROD_CHECKPOINT_SOFT_DELETE_DAYS = 7


def env_labels(env: Environment) -> dict[str, str]:
    """The label naming the environment, on the resources whose labels gkeml writes itself (the provider's
    default labels, :func:`gkeml.naming.gkeml_labels`, cover the rest)."""
    return {ENV_LABEL: env.name}


# --- the cloud stack's own constructs -------------------------------------------------------------------


def network_props(env: Environment, names: Names) -> NetworkProps:
    """The VPC of ``env``: its names and the ranges of ``network``."""
    net = env.network
    return NetworkProps(
        project=env.project.id,
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
        proxy_only_cidr=str(net.proxy_only_cidr) if net.proxy_only_cidr else None,
        proxy_only_name=names.proxy_only_subnet,
        proxy_firewall_name=names.firewall_allow_proxies,
    )


def image_policy_props(env: Environment) -> ImagePolicyProps | None:
    """The project's Binary Authorization policy, or None when ``cluster.binary_authorization`` is disabled."""
    mode = env.cluster.binary_authorization.mode
    if mode == "disabled":
        return None
    return ImagePolicyProps(project=env.project.id, mode=mode, allowed_images=tuple(image_allowlist(env)))


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
        labels={**env.project.labels, **c.labels, **env_labels(env), VERSION_LABEL: label_value()},
    )


def bucket_preset(env: Environment, purpose: str) -> PurposePreset:
    """The preset of a bucket of ``purpose`` in ``env``."""
    preset = PRESETS[purpose]
    if purpose == "checkpoints" and env.tier == "prod":
        preset = dataclasses.replace(preset, soft_delete_days=PROD_CHECKPOINT_SOFT_DELETE_DAYS)
    return preset


def access_log_bucket_props(env: Environment, names: Names) -> BucketProps:
    """The bucket that receives the usage logs of the others (written by :data:`STORAGE_ANALYTICS_WRITER`)."""
    return BucketProps(
        name=names.access_log_bucket,
        project=env.project.id,
        location=env.project.region.upper(),
        preset=PRESETS["access-logs"],
        force_destroy=env.tier == "dev",
        labels={"purpose": "access-logs"},
        prevent_destroy=env.protected,
    )


def bucket_props(env: Environment, names: Names, bucket: BucketConfig, access_logs: Bucket) -> BucketProps:
    """A bucket of ``buckets``, its usage logged to ``access_logs``."""
    return BucketProps(
        name=names.bucket(bucket.name),
        project=env.project.id,
        location=bucket.location,
        data_locations=tuple(bucket.data_locations),
        preset=bucket_preset(env, bucket.purpose),
        storage_class=bucket.storage_class,
        force_destroy=bucket.force_destroy,
        retention_days=bucket.retention_days,
        labels={"purpose": bucket.purpose},
        log_bucket=access_logs,
        prevent_destroy=env.protected,
    )


def secret_props(env: Environment, names: Names, secret: SecretConfig) -> SecretProps:
    """A secret of ``secrets`` (the container only: its value is added outside Terraform)."""
    return SecretProps(
        project=env.project.id,
        secret_id=names.secret(secret.name),
        labels=env_labels(env),
        deletion_protection=env.protected,
    )


def identity_props(env: Environment, names: Names, identity: IdentityConfig) -> WorkloadIdentityProps:
    """An identity of ``identities``: its KSA and project roles, and in classic mode the Google service
    account it impersonates (the bootstrap stack creates it)."""
    return WorkloadIdentityProps(
        project=env.project.id,
        project_number=env.project.number,
        namespace=identity.namespace,
        ksa=identity.ksa,
        mode=identity.mode,
        gsa_email=names.gsa_email(identity.name) if identity.mode == "classic" else None,
        roles=tuple(identity.roles),
    )


def metrics_adapter_props(env: Environment) -> WorkloadIdentityProps:
    """The identity the in-cluster layer's metrics adapter reads Cloud Monitoring as (its KSA)."""
    return WorkloadIdentityProps(
        project=env.project.id,
        project_number=env.project.number,
        namespace=platform.METRICS_ADAPTER_NAMESPACE,
        ksa=platform.METRICS_ADAPTER_KSA,
        roles=(METRICS_ADAPTER_ROLE,),
    )


def secret_sync_member(env: Environment, team: str, pool_created_by: Any) -> Member:
    """Who reads the W&B key for GKE's secret sync in ``team``'s namespace: its KSA, a member of the
    Workload Identity pool the cluster (``pool_created_by``) creates."""
    member = platform.workload_identity_principal(
        env.project.number, env.project.id, team, platform.SECRET_SYNC_SERVICE_ACCOUNT
    )
    return Member(member, f"secret-sync-{team}", grant_dependencies=[pool_created_by])


def endpoint_props(env: Environment, names: Names, endpoint: Endpoint) -> EndpointProps:
    """An endpoint's static IP and a certificate for every host it keeps one for (``certificate_hosts``)."""
    return EndpointProps(
        project=env.project.id,
        host=endpoint.host,
        address_name=names.address(endpoint.name),
        certificates=tuple((h, names.certificate(endpoint.name, h)) for h in endpoint.certificate_hosts),
        prevent_destroy=env.protected,
    )


# --- the platform services (gkeml.stacks.services) --------------------------------------------------------


def repository_props(env: Environment, registry: Registry, repository: Repository) -> RepositoryProps:
    """A Docker repository of ``registry.repositories``."""
    return RepositoryProps(
        project=env.project.id,
        location=registry.location,
        repository_id=repository.name,
        description=repository.description,
        keep_versions=repository.keep_versions,
        delete_untagged_after_days=repository.delete_untagged_after_days,
        delete_tagged_after_days=repository.delete_tagged_after_days,
        immutable_tags=registry.immutable_tags,
        vulnerability_scanning=registry.vulnerability_scanning,
        labels=env_labels(env),
    )


def registry_pusher(env: Environment, registry: Registry) -> Member | None:
    """CI's image-push identity (``registry.pusher``), or None when nobody may push from here."""
    if registry.pusher is None:
        return None
    return Member(f"serviceAccount:{service_account_email(registry.pusher, env.project.id)}", "ci-push")


def registry_reader(env: Environment, reader: str) -> Member:
    """Who pulls for environment ``reader`` (``registry.repositories[].readers``): every service account of
    its project, its node service account among them. Not the node account itself: IAM refuses a member
    that does not exist yet, and the reader's nodes are created by its own first deploy, which CI runs after
    this environment's (dev before staging and prod), so naming them would fail this environment's deploy
    and stop the ones after it."""
    siblings = registries_of(env)
    other = siblings.environment(reader) if siblings is not None else None
    if other is None:
        raise ConfigError(
            [
                ConfigProblem(
                    f"{env.name}.yaml",
                    0,
                    "registry.repositories.readers",
                    f"{reader!r}: the environment is not known here; synthesize {env.name} with the other "
                    "environment files (gkeml.environments.load_environments)",
                )
            ]
        )
    return Member(platform.project_service_accounts_principal_set(other.project.number), f"env-{reader}")


def dns_props(env: Environment, dns: Dns) -> DnsZoneProps:
    """The zone of ``dns``."""
    return DnsZoneProps(
        project=env.project.id,
        zone_name=dns.zone,
        dns_name=dns.dns_name,
        create=dns.create,
        dnssec=dns.dnssec,
        ttl=dns.ttl,
        description=f"gkeml {env.name}: public hosts",
        labels=env_labels(env),
    )


def dns_records(dns: Dns, e: Endpoint) -> list[str]:
    """The hosts of endpoint ``e`` whose A records the zone of ``dns`` holds: every host served keeps its record
    until the endpoint is retired; a host of another domain is published by its own DNS."""
    return [host for host in e.served_hosts if dns.contains(host)]


def monitoring_props(env: Environment, names: Names) -> MonitoringProps:
    """What the environment watches and whom it notifies (``monitoring``)."""
    mon = env.monitoring
    return MonitoringProps(
        project=env.project.id,
        project_number=env.project.number,
        components=tuple(mon.components),
        channels=tuple(
            ChannelProps(
                c.name, f"gkeml {env.name}: {c.name}", c.email, names.channel_topic(c.name) if c.pubsub else None
            )
            for c in mon.channels
        ),
        alert_channels=tuple(mon.alert_channels()),
        log_metrics=tuple(observability.log_metrics(env)),
        alerts=tuple(observability.alerts(env)),
        dashboard_json=observability.dashboard_json(env) if mon.dashboard else None,
        labels=env_labels(env),
    )


def budget_topic_props(env: Environment, budget: Budget, names: Names) -> TopicProps | None:
    """The Pub/Sub topic of the budget's notifications, or None when ``budget.pubsub`` is off."""
    return TopicProps(env.project.id, names.budget_topic, env_labels(env)) if budget.pubsub else None


def budget_props(env: Environment, budget: Budget, names: Names, prices: PriceTable) -> BudgetProps:
    """The project's billing budget (``budget``; its amount derived from the cost estimate at ``prices``
    unless the file sets one)."""
    return BudgetProps(
        project=env.project.id,
        project_number=env.project.number,
        billing_account=budget.billing_account,
        display_name=names.budget,
        amount=budget_amount(env, prices),
        currency=budget.currency,
        thresholds=tuple(budget.thresholds),
        forecast_thresholds=tuple(budget.forecast_thresholds),
        notify_billing_admins=budget.notify_billing_admins,
    )


def upgrade_notices_props(env: Environment, names: Names) -> UpgradeNoticesProps | None:
    """GKE's upgrade and security notices (``upgrade_notices``), or None when they are off."""
    if not env.upgrade_notices.enabled:
        return None
    return UpgradeNoticesProps(
        project=env.project.id,
        topic=names.notifications_topic,
        events=tuple(env.upgrade_notices.events),
        labels=env_labels(env),
    )
