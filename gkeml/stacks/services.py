"""The platform services of the cloud layer (registry, DNS, budget, observability, upgrade
notices), added to the ``<env>`` stack by :class:`gkeml.stacks.cloud.CloudStack`; their props come from
:mod:`gkeml.stacks.props`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gkeml.config.apis import service_apis
from gkeml.config.exposure import dns_exposure
from gkeml.config.model import Environment
from gkeml.constructs import AutopilotCluster, Member, PublicEndpoint
from gkeml.constructs.artifact_registry import DockerRepository
from gkeml.constructs.budget import ProjectBudget
from gkeml.constructs.dns import DnsZone, record_id
from gkeml.constructs.gateway_endpoint import GatewayEndpoint
from gkeml.constructs.monitoring import Monitoring
from gkeml.constructs.notifications import Topic, UpgradeNotices
from gkeml.constructs.project_services import ProjectServices
from gkeml.cost import load_prices
from gkeml.framework import Construct, TerraformOutput, TerraformStack, legacy_logical_id
from gkeml.naming import GATEWAY_TAGS, Names
from gkeml.stacks.exposure import address_of
from gkeml.stacks.props import (
    budget_props,
    budget_topic_props,
    dns_props,
    dns_records,
    monitoring_props,
    registry_pusher,
    registry_reader,
    repository_props,
    upgrade_notices_props,
)


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
    scope: Construct,
    env: Environment,
    names: Names,
    *,
    cluster: AutopilotCluster,
    endpoints: Mapping[str, PublicEndpoint],
    gateways: Mapping[tuple[str, str], GatewayEndpoint],
    depends_on: Sequence[Any] = (),
) -> PlatformServices:
    """Add the environment's platform services to its cloud stack ``scope``: the registry its ``cluster``'s
    nodes pull from, the A records of its ``endpoints`` (Ingress, by endpoint name) and ``gateways`` (by endpoint
    and way) with the CNAMEs of the Gateways' certificate authorizations, the cluster's monitoring and
    upgrade notices, the budget. Every resource waits for the project APIs (``depends_on`` and the
    services' own)."""
    apis = [
        *depends_on,
        *ProjectServices(scope, "service-apis", project=env.project.id, services=service_apis(env)).services,
    ]
    done = PlatformServices()
    registry = env.registry
    if registry is not None:
        nodes = Member(f"serviceAccount:{cluster.node_service_account}", "nodes")
        pusher = registry_pusher(env, registry)
        for repo in registry.repositories:
            repository = DockerRepository(
                scope, f"registry-{repo.name}", repository_props(env, registry, repo), depends_on=apis
            )
            repository.grant_read(nodes)
            for reader in repo.readers:  # other environments' nodes pull promoted images from here
                repository.grant_read(registry_reader(env, reader))
            if pusher is not None:
                repository.grant_write(pusher)
            done.repositories[repo.name] = repository

    if env.dns is not None:
        done.dns = DnsZone(scope, "dns", dns_props(env, env.dns), depends_on=apis)
        for e in env.endpoints:  # during a migration: the address of the way DNS points at
            address = address_of(e, dns_exposure(e), endpoints, gateways)
            for host in dns_records(env.dns, e):
                done.records[host] = done.dns.a_record(host, address)
        done.moved = _moved_records(scope, env, done.records)
        for (_, way), gateway in gateways.items():  # the CNAMEs that authorize the Gateway certificates
            for host in gateway.authorizations:
                if env.dns.contains(host):
                    record = gateway.dns_record(host)
                    done.authorizations[(host, way)] = done.dns.authorization_record(
                        f"auth-{GATEWAY_TAGS[way]}-{record_id(host)[2:]}", *record
                    )

    done.monitoring = Monitoring(
        scope, "monitoring", monitoring_props(env, names), cluster=cluster.cluster, depends_on=apis
    )
    budget = env.budget
    if budget is not None:
        topic_props = budget_topic_props(env, budget, names)
        topic = Topic(scope, "budget-topic", topic_props, depends_on=apis) if topic_props else None
        done.budget = ProjectBudget(
            scope,
            "budget",
            budget_props(env, budget, names, load_prices()),
            channels=[done.monitoring.channels[c].id for c in budget.channels],
            pubsub_topic=topic.topic.id if topic else None,
            depends_on=apis,
        )
    notices = upgrade_notices_props(env, names)
    if notices is not None:
        done.notices = UpgradeNotices(scope, "upgrade-notices", notices, cluster=cluster.cluster, depends_on=apis)
    _outputs(scope, done)
    return done


def _moved_records(scope: Construct, env: Environment, records: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Until 2026-12 the record of an endpoint's ``host`` was keyed by the endpoint: its state follows the
    record, now keyed by the host."""
    stack = TerraformStack.of(scope)
    return [
        (
            f"google_dns_record_set.{legacy_logical_id(f'dns/a-{e.name}')}",
            f"google_dns_record_set.{stack.get_logical_id(records[e.host])}",
        )
        for e in env.endpoints
        if e.host in records
    ]


def _outputs(scope: Construct, done: PlatformServices) -> None:
    TerraformOutput(
        scope,
        "registries",
        value={k: r.image_prefix for k, r in done.repositories.items()},
        description="Push images to <this>/IMAGE:TAG",
    )
    if done.dns is not None:
        TerraformOutput(scope, "dns_zone", value=done.dns.managed_zone)
    if done.notices is not None:
        TerraformOutput(
            scope,
            "upgrade_notices_topic",
            value=done.notices.topic.topic.id,
            description="Subscribe to receive GKE upgrade and security notices",
        )
