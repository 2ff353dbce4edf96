"""The platform services of the cloud layer (registry, DNS, budget, observability, upgrade
notices), added to the ``<env>`` stack by :class:`gkeml.stacks.cloud.CloudStack`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml import observability, platform
from gkeml.config import ConfigError, ConfigProblem
from gkeml.config.apis import service_apis
from gkeml.config.exposure import dns_exposure
from gkeml.config.model import Environment
from gkeml.config.registries import registries_of
from gkeml.constructs.artifact_registry import DockerRepository, RepositoryProps
from gkeml.constructs.budget import BudgetProps, ProjectBudget
from gkeml.constructs.dns import DnsZone, DnsZoneProps, record_id
from gkeml.constructs.grants import Member
from gkeml.constructs.monitoring import ChannelProps, Monitoring, MonitoringProps
from gkeml.constructs.notifications import Topic, TopicProps, UpgradeNotices, UpgradeNoticesProps
from gkeml.constructs.project_services import ProjectServices
from gkeml.framework import TerraformOutput, legacy_logical_id
from gkeml.naming import GATEWAY_TAGS, Names, service_account_email
from gkeml.stacks.exposure import address_of


def reader_member(env: Environment, reader: str) -> Member:
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


@dataclass
class PlatformServices:
    """What :func:`add_platform_services` created, for outputs and tests."""

    repositories: dict[str, DockerRepository] = field(default_factory=dict)
    dns: DnsZone | None = None
    records: dict[str, Any] = field(default_factory=dict)  # host -> its A record
    authorizations: dict[tuple[str, str], Any] = field(default_factory=dict)  # (host, way) -> its CNAME record
    moved: list[tuple[str, str]] = field(default_factory=list)  # Terraform moved blocks (from, to)
    monitoring: Monitoring | None = None
    budget: ProjectBudget | None = None
    notices: UpgradeNotices | None = None


def add_platform_services(
    stack: Any, env: Environment, names: Names, *, depends_on: Sequence[Any] = ()
) -> PlatformServices:
    """Add the environment's platform services to its cloud ``stack`` (which already holds the cluster
    and the endpoints); every resource waits for the project APIs (``depends_on`` and the services' own)."""
    from gkeml.cost import budget_amount, load_prices

    project = env.project.id
    labels = {"gkeml-env": env.name}
    apis = (
        list(depends_on) + ProjectServices(stack, "service-apis", project=project, services=service_apis(env)).services
    )
    cluster = stack.cluster
    done = PlatformServices()

    registry = env.registry
    if registry is not None:
        nodes = Member(f"serviceAccount:{cluster.node_service_account}", "nodes")
        pusher = (
            Member(f"serviceAccount:{service_account_email(registry.pusher, project)}", "ci-push")
            if registry.pusher
            else None
        )
        for repo in registry.repositories:
            repository = DockerRepository(
                stack,
                f"registry-{repo.name}",
                RepositoryProps(
                    project=project,
                    location=registry.location,
                    repository_id=repo.name,
                    description=repo.description,
                    keep_versions=repo.keep_versions,
                    delete_untagged_after_days=repo.delete_untagged_after_days,
                    delete_tagged_after_days=repo.delete_tagged_after_days,
                    immutable_tags=registry.immutable_tags,
                    vulnerability_scanning=registry.vulnerability_scanning,
                    labels=labels,
                ),
                depends_on=apis,
            )
            repository.grant_read(nodes)
            for reader in repo.readers:  # other environments' nodes pull promoted images from here
                repository.grant_read(reader_member(env, reader))
            if pusher is not None:
                repository.grant_write(pusher)
            done.repositories[repo.name] = repository

    if env.dns is not None:
        dns = env.dns
        done.dns = DnsZone(
            stack,
            "dns",
            DnsZoneProps(
                project=project,
                zone_name=dns.zone,
                dns_name=dns.dns_name,
                create=dns.create,
                dnssec=dns.dnssec,
                ttl=dns.ttl,
                description=f"gkeml {env.name}: public hosts",
                labels=labels,
            ),
            depends_on=apis,
        )
        for e in env.endpoints:  # every host served keeps its record until the endpoint is retired
            address = address_of(stack, e, dns_exposure(e))  # during a migration: the way DNS points at
            for host in e.served_hosts:
                if dns.contains(host):  # a host of another domain is published by its own DNS
                    done.records[host] = done.dns.a_record(host, address)
            if e.host in done.records:  # until 2026-12 the record of `host` was keyed by the endpoint
                done.moved.append(
                    (
                        f"google_dns_record_set.{legacy_logical_id(f'dns/a-{e.name}')}",
                        f"google_dns_record_set.{stack.get_logical_id(done.records[e.host])}",
                    )
                )
        for (_, way), gateway in stack.gateways.items():  # the CNAMEs that authorize the Gateway certificates
            for host in gateway.authorizations:
                if dns.contains(host):
                    record = gateway.dns_record(host)
                    done.authorizations[(host, way)] = done.dns.authorization_record(
                        f"auth-{GATEWAY_TAGS[way]}-{record_id(host)[2:]}", *record
                    )

    mon = env.monitoring
    monitoring = Monitoring(
        stack,
        "monitoring",
        MonitoringProps(
            project=project,
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
            labels=labels,
        ),
        cluster=cluster.cluster,
        depends_on=apis,
    )
    done.monitoring = monitoring

    if env.budget is not None:
        budget = env.budget
        topic = (
            Topic(stack, "budget-topic", TopicProps(project, names.budget_topic, labels), depends_on=apis)
            if budget.pubsub
            else None
        )
        done.budget = ProjectBudget(
            stack,
            "budget",
            BudgetProps(
                project=project,
                project_number=env.project.number,
                billing_account=budget.billing_account,
                display_name=names.budget,
                amount=budget_amount(env, load_prices()),
                currency=budget.currency,
                thresholds=tuple(budget.thresholds),
                forecast_thresholds=tuple(budget.forecast_thresholds),
                notify_billing_admins=budget.notify_billing_admins,
            ),
            channels=[monitoring.channels[c].id for c in budget.channels],
            pubsub_topic=topic.topic.id if topic else None,
            depends_on=apis,
        )

    if env.upgrade_notices.enabled:
        done.notices = UpgradeNotices(
            stack,
            "upgrade-notices",
            UpgradeNoticesProps(
                project=project,
                topic=names.notifications_topic,
                events=tuple(env.upgrade_notices.events),
                labels=labels,
            ),
            cluster=cluster.cluster,
            depends_on=apis,
        )
    _outputs(stack, done)
    return done


def _outputs(stack: Any, done: PlatformServices) -> None:
    TerraformOutput(
        stack,
        "registries",
        value={k: r.image_prefix for k, r in done.repositories.items()},
        description="Push images to <this>/IMAGE:TAG",
    )
    if done.dns is not None:
        TerraformOutput(stack, "dns_zone", value=done.dns.managed_zone)
    if done.notices is not None:
        TerraformOutput(
            stack,
            "upgrade_notices_topic",
            value=done.notices.topic.topic.id,
            description="Subscribe to receive GKE upgrade and security notices",
        )
