"""Config sections of the platform services every environment gets on day one: its image registry,
DNS for its public hosts, a billing budget, GPU and workload observability (metrics, alerts,
dashboard) and GKE's upgrade and security notices.

Every section is optional or defaults to a secure, useful setting. Defaults that depend on the
tier or the region are filled in before validation by :func:`registry_defaults`, one of
:data:`gkeml.config.model.DEFAULT_RESOLVERS` (the tier's values: :data:`gkeml.config.model.TIER_DEFAULTS`);
checks that span sections are the ``*_problems`` functions, which :mod:`gkeml.config.checks` runs with
the others. Platform facts (repository id rules, quota metrics, metric names) are in :mod:`gkeml.platform`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from gkeml import platform
from gkeml.config.base import (
    DNS_LABEL,
    PATTERN_HELP,
    FileDefaults,
    FreeText,
    Int32,
    Problem,
    ShortName,
    Strict,
    at,
    fill,
    raw_section,
    resolved,
)

if TYPE_CHECKING:
    from gkeml.config.model import Environment

EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"
SERVICE_ACCOUNT_ID = platform.SERVICE_ACCOUNT_ID
ZONE_NAME = DNS_LABEL  # Cloud DNS zone names: the same rule as a DNS label
DOMAIN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$"

PATTERN_HELP.update(
    {
        EMAIL: "an email address such as ml-oncall@example.com",
        SERVICE_ACCOUNT_ID: "6-30 lowercase letters, digits and '-', starting with a letter",
        DOMAIN: "a DNS name such as ml.example.com",
        platform.BILLING_ACCOUNT_ID: "a billing account ID such as 01A2B3-C4D5E6-F7A8B9 (`gcloud billing accounts list`)",
    }
)

DEFAULT_PUSHER = "gkeml-ci-push"


# --- Artifact Registry ---------------------------------------------------------------------


class Repository(Strict):
    """A Docker repository of the environment's Artifact Registry, with its cleanup policy."""

    name: str = Field(
        pattern=platform.ARTIFACT_REGISTRY_REPOSITORY_ID,
        max_length=63,
        description="Repository id, e.g. training; images are LOCATION-docker.pkg.dev/PROJECT/NAME/IMAGE.",
    )
    description: FreeText = Field("", max_length=256)
    keep_versions: int = Field(
        10, ge=1, le=1000, description="Keep the N most recent versions of every image, whatever the delete rules say."
    )
    delete_untagged_after_days: int = Field(7, ge=1, le=3650, description="Delete untagged versions older than this.")
    delete_tagged_after_days: int | None = Field(
        None,
        ge=1,
        le=3650,
        description="Also delete tagged versions older than this (beyond the kept ones); unset: tagged versions stay.",
    )
    expected_size_gib: float = Field(
        0, ge=0, le=2**30, allow_inf_nan=False, description="Stored images, for cost estimates."
    )
    images_scanned_per_month: Int32 = Field(0, ge=0, description="Pushed images scanned per month, for cost estimates.")
    readers: list[Annotated[str, Field(pattern=DNS_LABEL)]] = Field(
        default_factory=list,
        description="Other environments whose nodes may pull from this repository (images promoted by digest, "
        "e.g. [staging, prod]): this environment's deploy grants roles/artifactregistry.reader to every service "
        "account of their projects. An environment that admits or runs an image of another environment's "
        "repository must be listed there.",
    )


class Registry(Strict):
    """Artifact Registry: Docker repositories in the cluster's region, pulled by the nodes, pushed by CI.

    The node service account may read each repository, the CI image-push identity write it; nobody
    else gets access from here."""

    location: str = resolved(
        "Repository location: a region or us, europe, asia.", "the project region", pattern=r"^[a-z]+(-[a-z]+[0-9]+)?$"
    )
    immutable_tags: bool = resolved(
        "Tags cannot be moved or deleted once pushed.", "on in prod (enforced), off elsewhere"
    )
    vulnerability_scanning: bool = Field(True, description="Scan pushed images (Artifact Analysis; billed per image).")
    pusher: str | None = Field(
        DEFAULT_PUSHER,
        pattern=SERVICE_ACCOUNT_ID,
        description="Account id of the CI image-push service account (created by the bootstrap stack as "
        "ci.push_service_account), granted roles/artifactregistry.writer on these repositories; "
        "null: nobody gets write access here.",
    )
    repositories: list[Repository] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Registry:
        seen: set[str] = set()
        for i, repo in enumerate(self.repositories):
            if repo.name in seen:
                raise at(f"repositories.{i}.name", f"duplicate repository {repo.name!r}")
            seen.add(repo.name)
        return self

    def repository(self, name: str) -> Repository | None:
        return next((r for r in self.repositories if r.name == name), None)

    @property
    def host(self) -> str:
        return platform.docker_registry_host(self.location)


# --- DNS -------------------------------------------------------------------------------------


class Dns(Strict):
    """Cloud DNS: an A record per endpoint host at its static IP, so its certificate becomes ACTIVE.

    The records go into a public managed zone this environment creates, or an existing one of the
    project (``create: false``)."""

    zone: str = Field(pattern=ZONE_NAME, description="Managed zone name, e.g. ml-acme-example.")
    domain: str = Field(
        pattern=DOMAIN,
        max_length=253,
        description="DNS name of the zone, e.g. ml.acme.example; every endpoint host must be in it.",
    )
    create: bool = Field(
        True,
        description="Create the zone (public, DNSSEC on); false: use the existing zone of this name in the project.",
    )
    dnssec: bool = Field(True, description="DNSSEC on a created zone (add the DS record at your registrar).")
    ttl: int = Field(platform.DNS_DEFAULT_TTL_SECONDS, ge=30, le=86400, description="TTL of the A records.")

    @property
    def dns_name(self) -> str:
        """The zone's name as Cloud DNS writes it: with a trailing dot."""
        return self.domain.rstrip(".") + "."

    def contains(self, host: str) -> bool:
        domain = self.domain.rstrip(".")
        return host == domain or host.endswith("." + domain)


# --- budget ----------------------------------------------------------------------------------


Fraction = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]
# A budget's amount is google.type.Money: whole units as an int64 (and nanos).
MAX_MONEY_UNITS = 2**63 - 1


def _money(value: float) -> float:
    if value >= MAX_MONEY_UNITS:
        raise ValueError(f"{value:.3g} is more than a budget holds (its units are an int64: below {MAX_MONEY_UNITS:,})")
    return value


class Budget(Strict):
    """A monthly Cloud Billing budget on the environment's project, with alerts on actual and forecast spend.

    The amount is the `gkeml cost` Autopilot maximum x ``headroom`` unless ``amount`` is set."""

    billing_account: str = Field(
        pattern=platform.BILLING_ACCOUNT_ID, description="Billing account of the project (XXXXXX-XXXXXX-XXXXXX)."
    )
    amount: Annotated[float, AfterValidator(_money)] | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Monthly amount; unset: the `gkeml cost` Autopilot maximum x headroom.",
    )
    headroom: float = Field(
        1.2, ge=1, le=10, allow_inf_nan=False, description="Multiplier on the estimate when amount is unset."
    )
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$", description="Currency of the billing account (ISO 4217).")
    thresholds: list[Fraction] = Field(
        default_factory=lambda: [0.5, 0.9, 1.0],
        min_length=1,
        description="Alert when actual spend passes these fractions of the amount.",
    )
    forecast_thresholds: list[Fraction] = Field(
        default_factory=lambda: [1.0], description="Alert when forecast spend passes these fractions."
    )
    channels: list[str] = Field(
        default_factory=list,
        description=f"Email channels (monitoring.channels) told too; at most {platform.BUDGET_MAX_CHANNELS}.",
    )
    pubsub: bool = Field(
        False, description="Also publish every budget update to the topic <prefix>-budget (programmatic notifications)."
    )
    notify_billing_admins: bool = Field(True, description="Email the billing account's administrators and users.")


# --- observability ---------------------------------------------------------------------------


class Channel(Strict):
    """A Cloud Monitoring notification channel: an email address, or a Pub/Sub topic this environment creates."""

    name: ShortName = Field(description="Channel name (referenced by alerts and the budget).")
    email: str | None = Field(None, pattern=EMAIL, max_length=254)
    pubsub: bool = Field(False, description="Publish to the topic <prefix>-alerts-<name>.")

    @model_validator(mode="after")
    def _one_kind(self) -> Channel:
        if (self.email is None) == (not self.pubsub):
            raise ValueError("set exactly one of email or pubsub: true")
        return self


class GpuIdleAlert(Strict):
    """A GPU allocated to a workload but idle."""

    enabled: bool = True
    minutes: int = Field(30, ge=5, le=1440, description="For how long.")
    below_percent: float = Field(5, gt=0, le=100, allow_inf_nan=False, description="Utilisation counted as idle.")


class JobFailureAlert(Strict):
    """A Kubernetes Job failed (backoff limit, deadline, failed indexes or pod failure policy)."""

    enabled: bool = True


class HpaAtMaxAlert(Strict):
    """An HorizontalPodAutoscaler pinned at its max_replicas."""

    enabled: bool = True
    minutes: int = Field(30, ge=5, le=1440, description="For how long.")


class SpotPreemptionAlert(Strict):
    """Nodes of the cluster shutting down faster than a rate: Spot preemptions (and GKE's own node
    removals, which shut nodes down the same way)."""

    enabled: bool = True
    per_hour: int = Field(5, ge=1, le=10000, description="Node shutdowns per hour that raise the alert.")


class Alerts(Strict):
    """Cloud Monitoring alert policies and whom they notify."""

    channels: list[str] | None = Field(
        None, description="Channels every alert notifies; default: all of monitoring.channels."
    )
    gpu_idle: GpuIdleAlert = Field(default_factory=GpuIdleAlert)
    job_failures: JobFailureAlert = Field(default_factory=JobFailureAlert)
    hpa_at_max: HpaAtMaxAlert = Field(default_factory=HpaAtMaxAlert)
    spot_preemptions: SpotPreemptionAlert = Field(default_factory=SpotPreemptionAlert)


class MonitoringConfig(Strict):
    """GPU and workload observability: metric packages (DCGM included), alerts, a dashboard, channels.

    The packages run on Managed Service for Prometheus, which Autopilot keeps on."""

    model_config = ConfigDict(title="Monitoring")  # its name in the schema and the reference

    components: list[Literal[platform.MONITORING_COMPONENTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(platform.DEFAULT_MONITORING_COMPONENTS),
        min_length=1,
        description="GKE metric packages (billed per sample); the list replaces GKE's, so it must name "
        "SYSTEM_COMPONENTS.",
    )
    channels: list[Channel] = Field(default_factory=list)
    alerts: Alerts = Field(default_factory=Alerts)
    dashboard: bool = Field(True, description="A Cloud Monitoring dashboard of the environment.")

    @model_validator(mode="after")
    def _components(self) -> MonitoringConfig:
        if platform.REQUIRED_MONITORING_COMPONENT not in self.components:
            raise at(
                "components",
                f"must include {platform.REQUIRED_MONITORING_COMPONENT} (GKE keeps it on; the list replaces GKE's own)",
            )
        needs = {"gpu_idle": "DCGM", "hpa_at_max": "HPA"}
        for alert, component in needs.items():
            if getattr(self.alerts, alert).enabled and component not in self.components:
                raise at(
                    "components", f"alerts.{alert} reads the {component} package; add {component} or disable the alert"
                )
        seen: set[str] = set()
        for i, channel in enumerate(self.channels):
            if channel.name in seen:
                raise at(f"channels.{i}.name", f"duplicate channel {channel.name!r}")
            seen.add(channel.name)
        return self

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)

    def alert_channels(self) -> list[str]:
        """Names of the channels the alerts notify."""
        return list(self.alerts.channels if self.alerts.channels is not None else [c.name for c in self.channels])


class UpgradeNoticesConfig(Strict):
    """GKE's upgrade and security-bulletin notices, published to the Pub/Sub topic <prefix>-gke-notifications.

    Subscribe to the topic (docs/services.md); maintenance windows and exclusions stay in cluster.maintenance."""

    model_config = ConfigDict(title="UpgradeNotices")  # its name in the schema and the reference

    enabled: bool = True
    events: list[Literal[platform.CLUSTER_NOTIFICATION_EVENTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(platform.DEFAULT_CLUSTER_NOTIFICATION_EVENTS), min_length=1
    )


# --- defaults and checks ----------------------------------------------------------------------


def registry_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``registry``: the tier's immutable tags; the project's region as the location."""
    registry = raw_section(data, "registry")
    if registry is None:
        return
    fill(registry, defaults.tier, "immutable_tags")
    if defaults.region is not None:
        registry.setdefault("location", defaults.region)


IMAGE_IN_REGISTRY = re.compile(
    r"^(?P<location>[a-z0-9-]+)"
    + re.escape(platform.ARTIFACT_REGISTRY_DOCKER_HOST_SUFFIX)
    + r"/(?P<project>[^/]+)/(?P<repository>[^/]+)/.+$"
)


def registry_image_problem(image: str, env: Environment) -> str | None:
    """Why ``image`` cannot come from the environment's own Artifact Registry as configured, or None.

    Only images of the environment's own project are checked: an image in another project's registry
    is allowed, and its repository must let this environment's node service account read it
    (roles/artifactregistry.reader, granted there; docs/services.md)."""
    match = IMAGE_IN_REGISTRY.match(image)
    if match is None or match["project"] != env.project.id:
        return None
    registry = env.registry
    if registry is None:
        return (
            f"{image!r} is in this project's Artifact Registry, but the environment has no registry section; "
            f"add registry.repositories with {match['repository']!r}"
        )
    if registry.repository(match["repository"]) is None:
        known = ", ".join(r.name for r in registry.repositories)
        return f"repository {match['repository']!r} is not in registry.repositories ({known})"
    if match["location"] != registry.location:
        return (
            f"{image!r} names location {match['location']}, but the registry is in {registry.location}; "
            f"use {registry.host}/{env.project.id}/{match['repository']}/..."
        )
    return None


def _registry(env: Environment) -> Iterator[Problem]:
    registry = env.registry
    if registry is None:
        return
    if env.tier == "prod" and not registry.immutable_tags:
        yield ("registry", "immutable_tags"), "must stay true in prod (a pushed tag never changes); remove the key"
    for i, repo in enumerate(registry.repositories):
        for j, reader in enumerate(repo.readers):
            if reader == env.name:
                yield (
                    ("registry", "repositories", i, "readers", j),
                    f"{reader!r} is this environment: its own nodes may pull already; remove it",
                )
    region = env.project.region
    if registry.location != region and registry.location not in platform.ARTIFACT_REGISTRY_MULTI_REGIONS:
        yield (
            ("registry", "location"),
            f"{registry.location!r} is neither the cluster's region {region} nor one of "
            f"{', '.join(platform.ARTIFACT_REGISTRY_MULTI_REGIONS)}",
        )


def _dns(env: Environment) -> Iterator[Problem]:
    if env.dns is None:
        return
    if not env.endpoints:
        yield ("dns",), "no endpoints to publish; remove the section or add endpoints"
    for i, endpoint in enumerate(env.endpoints):
        if not env.dns.contains(endpoint.host):
            yield (
                ("endpoints", i, "host"),
                f"{endpoint.host} is not in the DNS zone's domain {env.dns.domain.rstrip('.')}; "
                "change the host or dns.domain",
            )


def _budget(env: Environment) -> Iterator[Problem]:
    budget = env.budget
    if budget is None:
        return
    if len(budget.channels) > platform.BUDGET_MAX_CHANNELS:
        yield ("budget", "channels"), f"at most {platform.BUDGET_MAX_CHANNELS} channels"
    for i, name in enumerate(budget.channels):
        channel = env.monitoring.channel(name)
        if channel is None:
            known = [c.name for c in env.monitoring.channels]
            yield (
                ("budget", "channels", i),
                f"unknown channel {name!r}; defined in monitoring.channels: {', '.join(known) or 'none'}",
            )
        elif channel.email is None:
            yield ("budget", "channels", i), f"channel {name!r} is not an email channel; budgets email only"
    for key in ("thresholds", "forecast_thresholds"):
        values = getattr(budget, key)
        if len(set(values)) != len(values):
            yield ("budget", key), "duplicate threshold"


def _alerts(env: Environment) -> Iterator[Problem]:
    monitoring = env.monitoring
    for i, name in enumerate(monitoring.alerts.channels or []):
        if monitoring.channel(name) is None:
            known = [c.name for c in monitoring.channels]
            yield (
                ("monitoring", "alerts", "channels", i),
                f"unknown channel {name!r}; defined in monitoring.channels: {', '.join(known) or 'none'}",
            )


SERVICE_CHECKS = (_registry, _dns, _budget, _alerts)
