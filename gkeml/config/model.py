"""Typed model of one environment file (``environments/<env>.yaml``).

Inputs are grouped by use case (project, network, cluster, teams, buckets,
identities, endpoints, workloads) rather than mirroring provider fields. Field
checks live on the models; checks that span sections live in
:mod:`gkeml.config.checks`, so that every problem is reported with the path of the
offending key. Defaults that depend on the tier (dev, staging, prod) or on another field
are filled in ONCE, before validation, by one named resolver per section
(:data:`DEFAULT_RESOLVERS`) from the one table :data:`TIER_DEFAULTS`; resolved fields are
therefore never Optional.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from gkeml import platform
from gkeml.config.base import (
    BUCKET_NAME,
    BYTES,
    DNS_LABEL,
    HOST,
    NAME,
    PATTERN_HELP,
    PROJECT_ID,
    PROJECT_NUMBER,
    QUANTITY,
    ROLE,
    ByteSize,
    Cidr,
    DefaultResolver,
    DnsLabel,
    FileDefaults,
    FreeText,
    GcsBucketName,
    Int32,
    Labels,
    Problem,
    Quantity,
    ShortName,
    Strict,
    at,
    fill,
    raw_section,
    resolved,
)
from gkeml.config.exposure import Exposure, ExposureMigration, InferenceGatewayConfig
from gkeml.config.jobset import JobSetConfig
from gkeml.config.kueue import KueueConfig, enabled_by_default
from gkeml.config.loader import did_you_mean
from gkeml.config.reservations import RESERVATION, Reservation
from gkeml.config.services import (
    Budget,
    Dns,
    MonitoringConfig,
    Registry,
    UpgradeNoticesConfig,
    registry_defaults,
)
from gkeml.config.serving_model import ModelServing
from gkeml.config.volumes import HyperdiskMlVolume, volume_defaults

__all__ = [
    "BUCKET_NAME",
    "BYTES",
    "DNS_LABEL",
    "HOST",
    "NAME",
    "PATTERN_HELP",
    "PROJECT_ID",
    "QUANTITY",
    "ROLE",
    "TIER_DEFAULTS",
    "Autoscaling",
    "BucketConfig",
    "ByteSize",
    "Cluster",
    "ComputeClassPolicy",
    "DnsLabel",
    "Endpoint",
    "Environment",
    "ExtensionRef",
    "HyperdiskMlVolume",
    "IdentityConfig",
    "Inference",
    "KueueConfig",
    "Launch",
    "NetworkConfig",
    "Problem",
    "Project",
    "Quantity",
    "ShortName",
    "Strict",
    "Team",
    "TeamGroup",
    "TeamMember",
    "Tier",
    "TrainingBudget",
    "at",
]

Tier = Literal["dev", "staging", "prod"]
MAX_GIB = 2**30  # an exbibyte: more than a bucket or registry holds; bounds what the estimate multiplies
TIER_RANK = {"dev": 0, "staging": 1, "prod": 2}  # what each tier guards, least first
Purpose = Literal["datasets", "checkpoints", "artifacts"]
ReleaseChannel = Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"]

# What a tier means when the file does not say otherwise: one table for every section (the resolvers of
# DEFAULT_RESOLVERS read it). Prod's values are also enforced (gkeml.config.checks): a prod file cannot ask for less.
TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "availability": "best-effort",
        "release_channel": "REGULAR",
        "deletion_protection": False,
        "force_destroy": True,
        "binary_authorization": "dryrun",
        "immutable_tags": False,
    },
    "staging": {
        "availability": "high",
        "release_channel": "REGULAR",
        "deletion_protection": True,
        "force_destroy": False,
        "binary_authorization": "enforce",
        "immutable_tags": False,
    },
    "prod": {
        "availability": "high",
        "release_channel": "STABLE",
        "deletion_protection": True,
        "force_destroy": False,
        "binary_authorization": "enforce",
        "immutable_tags": True,
    },
}


def _known_region(region: str) -> str:
    if region not in platform.COMPUTE_ZONES:
        raise ValueError(
            f"unknown region {region!r}{did_you_mean(region, platform.COMPUTE_ZONES)}; regions (as of "
            f"{platform.ZONES_CHECKED_ON}): {', '.join(platform.COMPUTE_ZONES)}"
        )
    return region


# A Google account or group address as IAM and Kubernetes RBAC name it: lowercase (RBAC compares subject
# names exactly, and Google writes the address of an account in lowercase in the tokens GKE reads).
EMAIL = r"^[a-z0-9][-a-z0-9._+']{0,63}@([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
PATTERN_HELP[EMAIL] = "a lowercase email address such as alice@example.com"
# gke-security-groups@DOMAIN: the group GKE reads nested groups from (Google Groups for RBAC,
# cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac; the name is required).
SECURITY_GROUP = r"^gke-security-groups@([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
PATTERN_HELP[SECURITY_GROUP] = "gke-security-groups@ followed by your Google Workspace or Cloud Identity domain"
Email = Annotated[str, Field(pattern=EMAIL, max_length=254)]
# What a person or group may do in a team's namespace: the Kubernetes ClusterRole it is bound to there
# (gkeml.config.roles.TEAM_ACCESS says what each allows and what it does not).
AccessLevel = Literal["view", "edit"]


class Project(Strict):
    """The Google Cloud project the environment lives in."""

    id: str = Field(pattern=PROJECT_ID, description="Project ID, e.g. acme-ml-dev.")
    number: Annotated[
        str, BeforeValidator(lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v)
    ] = Field(
        pattern=PROJECT_NUMBER,
        description="Project NUMBER (digits); Workload Identity principals need it. "
        "`gkeml doctor` checks it against the project ID.",
    )
    region: Annotated[str, AfterValidator(_known_region)] = Field(
        pattern=r"^[a-z]+-[a-z]+[0-9]+$",
        description="Region of the cluster and subnet (a Compute Engine region: gkeml.platform.COMPUTE_ZONES).",
    )
    labels: Labels = Field(default_factory=dict, description="Labels put on every labelable resource, verbatim.")


class State(Strict):
    """Where Terraform keeps state (GCS backend)."""

    bucket: GcsBucketName = Field(pattern=BUCKET_NAME, description="Existing GCS bucket for Terraform state.")
    prefix: str = Field(
        "gkeml", pattern=r"^[-_a-zA-Z0-9]+(/[-_a-zA-Z0-9]+)*$", description="Object prefix; stacks add their name."
    )


def _network_problem(net: ipaddress.IPv4Network) -> str | None:
    for reserved, why in platform.REFUSED_SUBNET_RANGES.items():
        if net.overlaps(ipaddress.IPv4Network(reserved)):
            return f"{net} overlaps {reserved} ({why}), which a VPC subnet cannot use"
    if any(net.subnet_of(ipaddress.IPv4Network(r)) for r in platform.VALID_SUBNET_RANGES):
        return None
    return (
        f"{net} is a public range; use RFC 1918 space such as 10.0.0.0/8, or a non-RFC-1918 range GKE "
        f"accepts ({', '.join(r for r in platform.VALID_SUBNET_RANGES if not r.startswith(('10.', '172.', '192.168')))})"
    )


class NetworkConfig(Strict):
    """VPC ranges: the node subnet and the Pod and Service secondary ranges."""

    model_config = ConfigDict(title="Network")  # its name in the schema and the reference

    subnet_cidr: Cidr = Field(description="Primary range of the regional subnet (nodes).")
    pods_cidr: Cidr = Field(description="Secondary range for Pods (Autopilot needs at least a /21).")
    services_cidr: Cidr = Field(description="Secondary range for Services.")
    flow_logs: bool = Field(True, description="VPC flow logs on the subnet.")
    proxy_only_cidr: Cidr | None = Field(
        None,
        description="The region's proxy-only subnet (purpose REGIONAL_MANAGED_PROXY), where regional load "
        "balancers' proxies take their addresses: needed by an endpoint with exposure inference-gateway; a /26 or "
        "larger (Google suggests a /23). One per VPC and region.",
    )

    @model_validator(mode="after")
    def _ranges(self) -> NetworkConfig:
        ranges = {"subnet_cidr": self.subnet_cidr, "pods_cidr": self.pods_cidr, "services_cidr": self.services_cidr}
        if self.proxy_only_cidr is not None:
            ranges["proxy_only_cidr"] = self.proxy_only_cidr
        for field, net in ranges.items():
            problem = _network_problem(net)
            if problem:
                raise at(field, problem)
        names = list(ranges)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if ranges[a].overlaps(ranges[b]):
                    raise at(b, f"{ranges[b]} overlaps {a} {ranges[a]}; give each range its own space")
        sizes = {
            "subnet_cidr": platform.SUBNET_PREFIX,
            "pods_cidr": platform.POD_RANGE_PREFIX,
            "services_cidr": platform.SERVICE_RANGE_PREFIX,
            "proxy_only_cidr": platform.PROXY_ONLY_SUBNET_PREFIX,
        }
        for field, (largest, smallest) in sizes.items():
            if field not in ranges:
                continue
            net = ranges[field]
            if not largest <= net.prefixlen <= smallest:
                what = "smaller" if net.prefixlen > smallest else "larger"
                raise at(
                    field, f"{net} is {what} than GKE takes for it on Autopilot; use a /{largest} to a /{smallest}"
                )
        return self


class AuthorizedNetwork(Strict):
    """A CIDR allowed to reach the control plane's IP endpoint."""

    name: FreeText = Field(min_length=1, max_length=60)
    cidr: Cidr


def _datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time like 2026-12-20T00:00:00Z") from None
    return value


def _time(value: object) -> object:
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day like 03:00") from None
    return value


Timestamp = Annotated[datetime, BeforeValidator(_datetime)]


class MaintenanceExclusionConfig(Strict):
    """A period in which GKE must not upgrade (e.g. a launch freeze)."""

    model_config = ConfigDict(title="MaintenanceExclusion")  # its name in the schema and the reference

    name: ShortName
    start: Timestamp
    end: Timestamp
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = "NO_MINOR_UPGRADES"

    @model_validator(mode="after")
    def _order(self) -> MaintenanceExclusionConfig:
        if self.end <= self.start:
            raise at("end", f"{self.end.isoformat()} is not after start {self.start.isoformat()}")
        days = (self.end - self.start).total_seconds() / 86400
        if self.scope == "NO_UPGRADES" and days > platform.NO_UPGRADES_MAX_DAYS:
            raise at(
                "end",
                f"{days:g} days of NO_UPGRADES; GKE allows at most {platform.NO_UPGRADES_MAX_DAYS} (security patches "
                "wait too); end it sooner, or use scope NO_MINOR_UPGRADES (patches still apply)",
            )
        return self


Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


WEEKEND: tuple[Weekday, ...] = ("SA", "SU")


class Maintenance(Strict):
    """Recurring window (UTC) in which GKE may upgrade, plus exclusions."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKEND), min_length=1)
    start: Annotated[time, BeforeValidator(_time)] = time(3, 0)
    hours: int = Field(6, ge=4, le=24, description="Length of each window; GKE needs >= 4 h.")
    exclusions: list[MaintenanceExclusionConfig] = Field(
        default_factory=list,
        max_length=platform.MAX_MAINTENANCE_EXCLUSIONS,
        description=f"At most {platform.MAX_MAINTENANCE_EXCLUSIONS} (GKE's limit per cluster).",
    )

    @model_validator(mode="after")
    def _availability(self) -> Maintenance:
        # GKE requires at least 48 h of maintenance availability in any 32-day window.
        if len(set(self.days)) * self.hours * 32 / 7 < 48:
            raise ValueError(
                f"{len(set(self.days))} day(s) x {self.hours} h gives less than the 48 h per 32 days GKE needs; "
                "add days or hours"
            )
        return self


class BinaryAuthorization(Strict):
    """Which images the cluster admits: the images the environment deploys and ``allowed_images``;
    everything else is denied (``enforce``) or only logged (``dryrun``)."""

    mode: Literal["enforce", "dryrun", "disabled"] = resolved(
        "enforce: deny images outside the allowlist; dryrun: admit them and write an audit log; disabled: no policy "
        "(the project's own, if any, is not enforced).",
        "dryrun in dev, enforce in staging and prod",
    )
    allowed_images: list[Annotated[str, Field(pattern=r"^[a-z0-9][-a-z0-9.:]*(/[-_.a-zA-Z0-9]+)*(/\*\*|\*)?$")]] = (
        Field(
            default_factory=list,
            description="More allowed image patterns (a wildcard only at the end: * within a path segment, ** across), "
            "e.g. us-docker.pkg.dev/acme-shared/training/**. The environment's own Artifact Registry "
            "(REGION-docker.pkg.dev/PROJECT/** and the multi-region host) and the images gkeml deploys "
            "are always allowed.",
        )
    )


class Cluster(Strict):
    """The regional Autopilot cluster."""

    release_channel: ReleaseChannel = resolved("GKE release channel.", "REGULAR (dev, staging), STABLE (prod)")
    deletion_protection: bool = resolved("Refuse to delete the cluster.", "off in dev, on in staging and prod")
    public_endpoint: bool = Field(
        False,
        description="Also expose the control plane's public IP endpoint (never in prod). DNS endpoint is always on.",
    )
    authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)
    rbac_security_group: str | None = Field(
        None,
        pattern=SECURITY_GROUP,
        description="Google Groups for RBAC: gke-security-groups@DOMAIN, the group whose member groups Kubernetes "
        "RBAC can name (teams[].groups need it). Set on an existing cluster it is an update in place, not a "
        "re-creation; removing it later leaves the setting on the cluster.",
    )
    maintenance: Maintenance = Field(default_factory=Maintenance)
    binary_authorization: BinaryAuthorization = resolved(
        "Binary Authorization: the project policy gkeml writes and the cluster enforces.", "see its section"
    )
    security_posture: Literal["BASIC", "ENTERPRISE"] = Field(
        "BASIC",
        description="GKE security posture (configuration audit). Workload vulnerability scanning in GKE "
        "is no longer offered (VULNERABILITY_BASIC/ENTERPRISE are deprecated): images are "
        "scanned by Artifact Analysis in the registry.",
    )
    cost_allocation: bool = True
    zones: list[str] = resolved(
        "node_locations: zones of the project's region (gkeml.platform.COMPUTE_ZONES).",
        "fixed per region (gkeml.platform.REGION_ZONES)",
        min_length=1,
    )
    labels: Labels = Field(default_factory=dict)


class TeamQuota(Strict):
    """The team's capacity: its namespace's ResourceQuota (total requests) and, with Kueue, its
    ClusterQueue's nominal quota; the checks of its training budgets and `gkeml cost`'s quota ceiling
    read it too."""

    model_config = ConfigDict(title="Quota")  # its name in the schema and the reference

    cpu: Quantity = "32"
    memory: ByteSize = Field("128Gi", description="With a unit (e.g. 512Gi): a bare number is bytes.")
    gpus: Int32 = Field(0, ge=0)


class TeamMember(Strict):
    """A person of the team: a Google account (user:EMAIL in IAM, User EMAIL in Kubernetes RBAC)."""

    email: Email = Field(description="The person's Google account, e.g. alice@example.com.")
    role: AccessLevel = Field(
        description="view: read the namespace's objects and logs (no Secrets); edit: also create, change and delete "
        "them (Jobs, pods, Services, ...), read its Secrets and run pods as any of its service accounts "
        "(docs/permissions.md, 'People')."
    )


class TeamGroup(Strict):
    """A Google group of the team (group:EMAIL in IAM, Group EMAIL in Kubernetes RBAC through Google Groups for
    RBAC: the group must be a member of cluster.rbac_security_group)."""

    email: Email = Field(description="The group's address, e.g. ml-research@example.com.")
    role: AccessLevel = Field(description="view or edit, as for members.")


class Team(Strict):
    """A team: one namespace with quota, limits and default-deny network policy, and the people who work in it:
    each member and group gets ``roles/container.clusterViewer`` on the project (get-credentials and the
    cluster's DNS endpoint, nothing inside the cluster) and a RoleBinding in the namespace to the Kubernetes
    ClusterRole ``view`` or ``edit``."""

    name: DnsLabel
    quota: TeamQuota = Field(default_factory=TeamQuota)
    members: list[TeamMember] = Field(default_factory=list, description="People, each with view or edit.")
    groups: list[TeamGroup] = Field(
        default_factory=list,
        description="Google groups, each with view or edit; they need cluster.rbac_security_group.",
    )

    def subjects(self, role: str) -> list[tuple[str, str]]:
        """(Kubernetes subject kind, email) of every member (User) and group (Group) with ``role``."""
        return [("User", m.email) for m in self.members if m.role == role] + [
            ("Group", g.email) for g in self.groups if g.role == role
        ]

    @property
    def principals(self) -> list[str]:
        """The IAM members of the team's people: user:EMAIL and group:EMAIL."""
        return [f"user:{m.email}" for m in self.members] + [f"group:{g.email}" for g in self.groups]


class BucketConfig(Strict):
    """A GCS bucket; the purpose picks versioning, lifecycle and soft delete. Its data stays where the cluster
    runs: in the project's region, or in a dual- or multi-region that holds it. Any other location is refused:
    the cluster's Pods are its readers (through GCS FUSE), a read from another region is billed data transfer
    (on every epoch) and adds latency, and a bucket cannot move without copying its data. Reads from a
    multi-region are billed data transfer even in its regions; a region or dual-region is not. Locations are
    checked against dated lists (gkeml.platform.GCS_*)."""

    model_config = ConfigDict(title="Bucket")  # its name in the schema and the reference

    name: ShortName = Field(description="Logical name; the bucket is '<prefix>-<name>'.")
    purpose: Purpose
    location: str = resolved(
        "Bucket location: the cluster's region, or a dual-region or multi-region that contains it (NAM4, US, ...), "
        "or a configurable dual-region's code (US, EU, ...) with data_locations.",
        "the project region",
        min_length=2,
    )
    data_locations: list[str] = Field(
        default_factory=list,
        description="Configurable dual-region: its two regions (location is then its code, "
        "e.g. US with [us-central1, us-east4]).",
    )
    storage_class: Literal["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"] = "STANDARD"
    force_destroy: bool = resolved("Let Terraform delete a non-empty bucket.", "true in dev only; never in prod")
    retention_days: int | None = Field(
        None,
        ge=1,
        le=36500,
        description="Retention policy (objects undeletable); replaces versioning, which GCS "
        "does not allow together with it.",
    )
    expected_size_gib: float = Field(
        0, ge=0, le=MAX_GIB, allow_inf_nan=False, description="Expected stored data, for cost estimates."
    )


class IdentityConfig(Strict):
    """A workload's identity: a Kubernetes service account and what it may access."""

    model_config = ConfigDict(title="Identity")  # its name in the schema and the reference

    name: ShortName
    namespace: DnsLabel = Field(description="A team namespace.")
    service_account: DnsLabel | None = Field(None, description="Kubernetes service account; default: name.")
    mode: Literal["principal", "classic"] = Field(
        "principal", description="principal: IAM on principal://; classic: a Google service account to impersonate."
    )
    roles: list[Annotated[str, Field(pattern=ROLE)]] = Field(
        default_factory=list, description="Project roles, from the allowlist in gkeml/iam (docs/permissions.md)."
    )
    reads: list[str] = Field(default_factory=list, description="Buckets it may read.")
    writes: list[str] = Field(default_factory=list, description="Buckets it may read and write.")
    secrets: list[str] = Field(default_factory=list, description="Secrets it may access.")

    @property
    def ksa(self) -> str:
        return self.service_account or self.name


Host = Annotated[str, Field(pattern=HOST, max_length=253)]


class Endpoint(Strict):
    """A public HTTPS host: a static IP and a Google-managed certificate per host it serves, on the load balancer
    its ``exposure`` picks (GKE Ingress, GKE's Gateway or GKE Inference Gateway: docs/serving.md).

    Moving to another host takes deploys in steps, because the load balancer's certificates belong
    to the Ingress (in-cluster stack, applied after the cloud stack): keep the old host in
    ``previous_hosts`` while the new certificate provisions (both are served), then in
    ``retired_hosts`` (its certificate kept, no longer served), then remove it. ``gkeml check
    --against REF`` refuses a change that would delete a certificate or IP the deployed Ingress uses."""

    name: ShortName
    host: Host = Field(description="Fully qualified host; no wildcards.")
    previous_hosts: list[Host] = Field(
        default_factory=list,
        description="Hosts still served (certificate, Ingress rule and A record) while `host` takes over.",
    )
    retired_hosts: list[Host] = Field(
        default_factory=list,
        description="Hosts no longer served whose certificates are kept until a later deploy "
        "(the load balancer may still hold them).",
    )
    retired: bool = Field(
        False,
        description="Serve nothing (no Ingress) but keep the IP and certificates: the step "
        "before removing the endpoint.",
    )
    exposure: Exposure = Field(
        "ingress",
        description="How the hosts reach the service: ingress (GKE Ingress, Compute managed certificates), gateway "
        "(GKE's Gateway, gke-l7-global-external-managed, Certificate Manager certificates authorized by DNS) or "
        "inference-gateway (GKE Inference Gateway: a regional Gateway routing to an InferencePool whose endpoint "
        "picker is model-aware; needs network.proxy_only_cidr). Each has its own static IP: change it only "
        "through `migration` (docs/serving.md).",
    )
    migration: ExposureMigration | None = Field(
        None,
        description="A move from another exposure to `exposure` with no outage, one deploy per step: serve-both, "
        "dns-moved, retired, then remove it (`gkeml check --against REF` refuses a skipped step).",
    )
    timeout_seconds: int | None = Field(
        None,
        ge=1,
        le=86400,
        description="How long the load balancer waits for the service's response (backend timeout); default: "
        "GKE's 30 s, 300 s with inference-gateway (long generations).",
    )

    @property
    def certificate_hosts(self) -> list[str]:
        """Every host the cloud layer keeps a certificate for."""
        return list(dict.fromkeys([self.host, *self.previous_hosts, *self.retired_hosts]))

    @property
    def served_hosts(self) -> list[str]:
        """The hosts the Ingress serves (none once retired): the one definition its rules, its
        certificates, the DNS records and ``gkeml doctor`` use."""
        return [] if self.retired else list(dict.fromkeys([self.host, *self.previous_hosts]))


class SecretConfig(Strict):
    """A Secret Manager secret; its value is added outside Terraform."""

    model_config = ConfigDict(title="Secret")  # its name in the schema and the reference

    name: ShortName


class Probe(Strict):
    """HTTP probe of an inference server (startup, readiness, liveness, LB health check)."""

    path: str = Field("/healthz", pattern=r"^/[-._~/a-zA-Z0-9]*$")
    port: int = Field(8080, ge=1, le=65535)


EXTERNAL_METRIC_EXAMPLE = "pubsub.googleapis.com|subscription|num_undelivered_messages"


def external_metric_problem(name: str) -> str | None:
    """Why the metrics adapter cannot serve ``name`` as an External metric, or None: a Cloud Monitoring
    metric type (DOMAIN/PATH) with every '/' written as '|' (:data:`gkeml.platform.EXTERNAL_METRIC_NAME`)."""
    if re.fullmatch(platform.EXTERNAL_METRIC_NAME, name):
        return None
    shown = repr(name if len(name) <= 100 else name[:97] + "...")
    sep = platform.EXTERNAL_METRIC_SEPARATOR
    if "/" in name:
        fixed = sep.join(part for part in name.replace(sep, "/").split("/") if part)
        fix = (
            f"write it {fixed}"
            if re.fullmatch(platform.EXTERNAL_METRIC_NAME, fixed)
            else f"e.g. {EXTERNAL_METRIC_EXAMPLE}"
        )
        return (
            f"{shown} has '/', which an autoscaler cannot name (the name is one segment of the external metrics "
            f"API's URL, and Kubernetes refuses it); the metrics adapter reads '{sep}' as '/': {fix}"
        )
    if sep not in name:
        return (
            f"{shown} is not a Cloud Monitoring metric type (DOMAIN{sep}PATH, '/' written as '{sep}'), "
            f"e.g. {EXTERNAL_METRIC_EXAMPLE} or prometheus.googleapis.com{sep}NAME{sep}gauge"
        )
    return (
        f"{shown} is not a Cloud Monitoring metric type with '/' written as '{sep}': a domain such as "
        f"pubsub.googleapis.com, then parts of letters, digits, '_', '.', '-' or ':' after each '{sep}', "
        f"e.g. {EXTERNAL_METRIC_EXAMPLE}"
    )


def _external_metric(name: str | None) -> str | None:
    problem = name and external_metric_problem(name)
    if problem:
        raise ValueError(problem)
    return name


class Autoscaling(Strict):
    """HorizontalPodAutoscaler v2 bounds and targets."""

    min_replicas: Int32 = Field(1, ge=1)
    max_replicas: Int32 = Field(3, ge=1)
    cpu_utilization: int | None = Field(70, ge=1, le=100)
    memory_utilization: int | None = Field(None, ge=1, le=100)
    external_metric: Annotated[FreeText | None, AfterValidator(_external_metric)] = Field(
        None,
        min_length=1,
        description="A Cloud Monitoring metric type, every '/' written as '|' (the autoscaler names it in a URL "
        "path), e.g. pubsub.googleapis.com|subscription|num_undelivered_messages or "
        "prometheus.googleapis.com|requests_waiting|gauge. The environment then gets the Custom "
        "Metrics Stackdriver Adapter, which serves it to the autoscaler and reads Cloud Monitoring as "
        "custom-metrics/custom-metrics-stackdriver-adapter (roles/monitoring.viewer).",
    )
    external_target: Int32 | None = Field(None, ge=1, description="Average value per replica for the metric.")
    external_selector: dict[FreeText, FreeText] = Field(default_factory=dict)
    engine_metric: Literal["num_requests_waiting", "kv_cache_usage_perc"] | None = Field(
        None,
        description="Scale on the engine's own metric (with model:): num_requests_waiting (requests queued per "
        "replica: throughput) or kv_cache_usage_perc (KV-cache use, 0-1: latency), read from Managed Prometheus "
        "(a PodMonitoring scrapes the server) through the metrics adapter as a Pods metric.",
    )
    engine_target: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        allow_inf_nan=False,
        description="Average per replica: e.g. 10 waiting requests, or 0.8 of the KV cache.",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.max_replicas < self.min_replicas:
            raise at("max_replicas", f"{self.max_replicas} is below min_replicas {self.min_replicas}")
        if (self.external_metric is None) != (self.external_target is None):
            raise ValueError("external_metric and external_target go together; set both or neither")
        if (self.engine_metric is None) != (self.engine_target is None):
            raise ValueError("engine_metric and engine_target go together; set both or neither")
        if self.engine_metric == "kv_cache_usage_perc" and (self.engine_target or 0) > 1:
            raise at("engine_target", f"{self.engine_target} is above 1: kv_cache_usage_perc is a fraction (0.8 = 80%)")
        if not (self.cpu_utilization or self.memory_utilization or self.external_metric or self.engine_metric):
            raise ValueError(
                "no scaling signal; set cpu_utilization, memory_utilization, external_metric or engine_metric"
            )
        return self

    @property
    def metric_types(self) -> list[str]:
        """The HPA v2 metric source types this autoscaler scales on, as the manifest builder writes them."""
        types = ["Resource"] * sum(bool(t) for t in (self.cpu_utilization, self.memory_utilization))
        return types + (["Pods"] if self.engine_metric else []) + (["External"] if self.external_metric else [])


# Container image references, after github.com/distribution/reference (reference.go, the grammar
# every registry and the kubelet use): [host[:port]/]path[:tag][@digest], path components of
# lowercase letters and digits joined by '.', '_', '__' or '-'. fullmatch: no trailing newline.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
IMAGE_REFERENCE = re.compile(
    rf"(?P<name>(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][-A-Za-z0-9_.]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?",
    re.ASCII,
)
IMAGE_EXAMPLE = "us-docker.pkg.dev/PROJECT/REPO/IMAGE:1.0"


def image_reference_problem(image: str) -> str | None:
    """Why ``image`` is not a pinned image reference, or None: it must parse, and carry a tag other
    than latest or a digest (without one Kubernetes pulls :latest, which changes under you)."""
    shown = repr(image if len(image) <= 80 else image[:77] + "...")
    found = IMAGE_REFERENCE.fullmatch(image)
    if found is None or len(found["name"]) > 255:
        return (
            f"{shown} is not an image reference: [registry/]lowercase/path then :tag or @sha256:digest, "
            f"e.g. {IMAGE_EXAMPLE}"
        )
    if found["digest"] is None and found["tag"] in (None, "latest"):
        what = "no tag" if found["tag"] is None else "the tag latest"
        return (
            f"{shown} has {what}: every pull may run different code; pin a version tag or an @sha256 digest, "
            f"e.g. {IMAGE_EXAMPLE}"
        )
    return None


def _image(value: str) -> str:
    problem = image_reference_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Image = Annotated[str, AfterValidator(_image)]


def _check_gpu_shape(gpu: str | None, count: int) -> None:
    """Raise at ``gpu`` or ``gpu_count`` when Autopilot would reject ``count`` GPUs of type ``gpu``."""
    problem = gpu and platform.gpu_problem(gpu, count)
    if problem:
        raise at(*problem)


Availability = Literal["high", "best-effort"]


class Inference(Strict):
    """An inference service: Deployment, Service, HPA, PDB and optionally its exposure on an endpoint (Ingress,
    Gateway or Inference Gateway)."""

    name: DnsLabel
    team: DnsLabel
    image: Image = Field(description=f"Container image with a version tag or @sha256 digest, e.g. {IMAGE_EXAMPLE}.")
    identity: str | None = Field(None, description="Identity name (its KSA runs the pods).")
    port: int = Field(8080, ge=1, le=65535)
    cpu: Quantity = "1"
    memory: ByteSize = Field("4Gi", description="Per pod, with a unit (e.g. 16Gi).")
    gpu: str | None = Field(
        None,
        description=f"GPU label value: {', '.join(platform.GPUS)}; with a "
        f"compute_class that has a GPU, the class's (leave it out).",
    )
    gpu_count: Int32 = Field(1, ge=1)
    spot: bool = Field(False, description="Spot nodes only (with a compute_class the class decides: leave it out).")
    compute_class: str | None = Field(
        None, description="A ComputeClass of compute_classes (its capacity ladder places the pods) or a built-in class."
    )
    probe: Probe = Field(default_factory=Probe)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    endpoint: str | None = Field(None, description="Endpoint name to expose this service on.")
    inference_gateway: InferenceGatewayConfig | None = Field(
        None,
        description="GKE Inference Gateway settings (model server, objectives, endpoint picker) when the endpoint's "
        "exposure is inference-gateway; default: vllm, no objectives.",
    )
    rollout: Literal["surge", "replace"] = resolved(
        "How a new version replaces the pods: surge starts one new pod before stopping an old one (no "
        "capacity dip; the quota must hold one pod more than max_replicas), replace stops one old pod first "
        "(no extra pod: GPUs are scarce and quota-bound; with one replica the service pauses).",
        "replace with a GPU, surge without",
    )
    availability: Availability = resolved(
        "high: the service stays up while a pod is replaced (a rollout, a node upgrade or an eviction, a move back "
        "to Spot), which takes autoscaling.min_replicas >= 2; best-effort: one replica may do, and the service is "
        "down while its only pod is replaced (gkeml check reports it, ENV002). Outside dev, best-effort must be "
        "written out.",
        "best-effort in dev, high in staging and prod",
    )
    hours_per_day: float = Field(24, gt=0, le=24, description="For cost estimates.")
    model: ModelServing | None = Field(
        None,
        description="The model it serves (vLLM), with weights read from a bucket through GCS FUSE tuned for "
        "loading them, a startup probe sized from the cold start and the engine's metrics scraped "
        "(docs/model-serving.md). The probe then defaults to the engine's health path on port.",
    )
    ephemeral_storage: ByteSize = resolved(
        "Local disk the server container requests (its /tmp; a model's file cache comes on top). Autopilot's 1Gi "
        "default evicts a server whose caches outgrow it; general-purpose Pods may have at most 10Gi.",
        "10Gi with a GPU, 2Gi without",
    )
    shared_memory: ByteSize = Field(
        "2Gi",
        description="A GPU server's memory-backed /dev/shm (NCCL and the engine's worker processes use it); "
        "added to the container's memory request, which pays for it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _engine_probe(cls, data: Any) -> Any:
        """With a model and no probe, probe the engine's health path on the serving port."""
        if isinstance(data, dict) and data.get("model") is not None and "probe" not in data:
            data = {**data, "probe": {"path": platform.VLLM_HEALTH_PATH, "port": data.get("port", 8080)}}
        return data

    @model_validator(mode="after")
    def _gpu(self) -> Inference:
        _check_gpu_shape(self.gpu, self.gpu_count)
        if self.model is not None and self.model.multi_host and not self.gpu:
            raise at(
                "model.nodes",
                "a model spread over several nodes runs on their GPUs: set gpu (and gpu_count, the GPUs of each "
                "node), or nodes: 1",
            )
        return self

    @property
    def pods_per_replica(self) -> int:
        """Pods one replica runs: a multi-host model's group (a leader and its workers), else one."""
        return self.model.nodes if self.model is not None else 1


Capacity = Literal["spot", "on-demand", "flex-start", "reservation"]
SPOT_THEN_ON_DEMAND: tuple[Capacity, ...] = ("spot", "on-demand")


class ComputeClassPolicy(Strict):
    """A custom ComputeClass: the node shape (a GPU, or a machine family) and the capacity GKE tries for
    it, in order (e.g. Spot, then on-demand, then flex-start). Pods select it by name
    (``compute_class`` of an inference service or a job); the class then decides Spot or not."""

    name: DnsLabel
    gpu: str | None = None
    gpu_count: Int32 = Field(1, ge=1)
    machine_family: str | None = Field(
        None,
        description="A Compute Engine machine series such as n4 or c3 (gkeml.platform.MACHINE_SERIES, dated).",
    )
    capacity: list[Capacity] = Field(
        default_factory=lambda: list(SPOT_THEN_ON_DEMAND),
        min_length=1,
        description="Capacity to try, in order: spot, on-demand, flex-start (GPU families that offer it; "
        "never the same priority as Spot), reservation (the specific reservation named in `reservation`). A "
        "class that includes spot puts pods on Spot nodes.",
    )
    reservation: DnsLabel | None = Field(
        None,
        description="The reservation (of reservations:) the class's reservation rung consumes; its VMs must have "
        "the class's GPUs.",
    )
    migrate_to_preferred: bool = Field(
        False,
        description="Move running pods back to an earlier capacity when it frees up (activeMigration."
        "optimizeRulePriority: evictions that honour PodDisruptionBudgets). Saves money for "
        "services; jobs may not use such a class (a training run would restart).",
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"spot_first", "fallback_on_demand"} & set(data)):
            old = sorted({"spot_first", "fallback_on_demand"} & set(data))
            raise at(
                old[0],
                "replaced by capacity: the order of capacity to try, e.g. capacity: [spot, on-demand] "
                "(spot_first: false is capacity: [on-demand])",
            )
        return data

    @model_validator(mode="after")
    def _shape(self) -> ComputeClassPolicy:
        if self.gpu is None and self.machine_family is None:
            raise ValueError("set gpu or machine_family")
        if self.machine_family is not None and self.machine_family not in platform.MACHINE_SERIES:
            raise at(
                "machine_family",
                f"{self.machine_family!r} is not a Compute Engine machine series"
                f"{did_you_mean(self.machine_family, platform.MACHINE_SERIES)}; series (as of "
                f"{platform.MACHINE_SERIES_CHECKED_ON}): {', '.join(platform.MACHINE_SERIES)}",
            )
        _check_gpu_shape(self.gpu, self.gpu_count)
        if (RESERVATION in self.capacity) != (self.reservation is not None):
            raise at(
                "reservation" if self.reservation is not None else "capacity",
                "a class consumes a reservation with both capacity: [reservation, ...] and reservation: NAME; set "
                "both, or neither",
            )
        if self.reservation is not None and self.gpu is None:
            raise at("reservation", "reservations are of GPU VMs: set gpu (and gpu_count) as the reservation's")
        if "flex-start" in self.capacity and self.gpu not in platform.flex_start_gpus():
            raise at(
                "capacity",
                f"flex-start is not available for {self.gpu or 'a class without a GPU'}; "
                f"allowed with gpu: {', '.join(platform.flex_start_gpus())}",
            )
        return self

    @property
    def uses_spot(self) -> bool:
        """Whether pods of this class may land on Spot nodes (they must survive preemption)."""
        return "spot" in self.capacity


class LaunchQueue(Strict):
    """A W&B Launch queue the agent polls."""

    name: str = Field(min_length=1, max_length=128, pattern=r"^[-_.A-Za-z0-9]+$")


class Launch(Strict):
    """The W&B Launch agent (Helm chart ``launch-agent``), running in its identity's namespace."""

    release: DnsLabel = Field("wandb", description="Helm release name; the chart names its KSA after it.")
    identity: str = Field(description="Identity of the agent; its service_account must be the chart's KSA.")
    secret: str = Field(
        "wandb-api-key",
        description="Secret Manager secret holding the API key; GKE syncs version api_key_version of it "
        "into each Launch team's namespace.",
    )
    api_key_version: Int32 = Field(
        1,
        ge=1,
        description="The version of the Secret Manager secret the cluster syncs (`gcloud secrets versions list "
        "SECRET`). The agent reads the key only when it starts, so the key changes only with a deploy: add a "
        "version, set this to it and deploy; the agent restarts with it (docs/jobs.md, 'Rotating the W&B key').",
    )
    entity: FreeText = Field(min_length=1)
    queues: list[LaunchQueue] = resolved(
        "W&B Launch queues the agent polls; each environment needs its own (two agents on one queue run each "
        "job in whichever cluster polls first).",
        "one queue, <the agent's namespace>-<environment name>",
        min_length=1,
    )
    teams: list[DnsLabel] | None = Field(
        None,
        min_length=1,
        description="Team namespaces the agent launches jobs into; only these get the agent's RBAC and the API key. "
        "Default: the agent identity's namespace only.",
    )
    max_jobs: Int32 = Field(4, ge=1)
    base_url: FreeText = Field("https://api.wandb.ai", pattern=r"^https://[^\s/@]+(/[^\s@]*)?$")
    chart_version: str = Field(
        platform.WANDB_LAUNCH_AGENT_CHART_VERSION,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description=f"Version of the launch-agent chart; {platform.WANDB_LAUNCH_POD_ANNOTATIONS_MIN_CHART} or "
        "later (agent.podAnnotations, which restarts the agent on a new key version).",
    )
    builder: Literal["noop", "kaniko"] = "noop"

    @model_validator(mode="after")
    def _chart_version(self) -> Launch:
        minimum = platform.WANDB_LAUNCH_POD_ANNOTATIONS_MIN_CHART
        if _version(self.chart_version) < _version(minimum):
            raise at(
                "chart_version",
                f"{self.chart_version} has no agent.podAnnotations, through which gkeml restarts the agent when "
                f"its API key version changes; allowed: {minimum} or later",
            )
        return self


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


class TrainingBudget(Strict):
    """Expected training, for cost estimates: what runs and for how long. Its nodes run at once, so
    together they must fit what the team can be given (its quota, plus what Kueue lets it borrow):
    the loader refuses a budget no job of that size could ever run with."""

    name: ShortName
    team: DnsLabel
    gpu: str | None = None
    gpu_count: Int32 = Field(1, ge=1, description="GPUs per node.")
    nodes: Int32 = Field(1, ge=1, description="Nodes (pods) that run at once.")
    cpu: Quantity = Field("4", description="vCPU per node.")
    memory: ByteSize = Field("16Gi", description="Memory per node, with a unit (e.g. 16Gi).")
    spot: bool = False
    hours_per_day: float = Field(8, gt=0, le=24)
    days_per_month: float = Field(20, gt=0, le=31)

    @model_validator(mode="after")
    def _gpu(self) -> TrainingBudget:
        _check_gpu_shape(self.gpu, self.gpu_count)
        return self


# A Python module path: dotted identifiers (the import system's own rule for `import a.b.c`).
MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
PATTERN_HELP[MODULE] = "a Python module path such as extensions.cloudsql"


class ExtensionRef(Strict):
    """A platform team's own code that adds resources to the environment's stacks (docs/extensions.md): a
    module defining a subclass of ``gkeml.extension.Extension``, and its configuration."""

    # the extension loaded from the module, once the environment's checks ran (gkeml.config.extensions)
    _loaded: Any = PrivateAttr(None)

    module: str = Field(
        pattern=MODULE,
        max_length=200,
        description="The module: importable from the platform repository's root (the directory that holds "
        "environments/) or installed in the virtualenv, e.g. extensions.cloudsql.",
    )
    name: ShortName | None = Field(
        None,
        description="Names this use of the extension (its resources' addresses): unique in the file; "
        "default: the module's last part.",
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description="The extension's settings, checked by its own Config model."
    )

    @property
    def id(self) -> str:
        """The name of this use: ``name``, else the module's last part."""
        return self.name or self.module.rsplit(".", 1)[-1].replace("_", "-")

    def __eq__(self, other: object) -> bool:
        """Equal when the values are: the extension loaded from the module is not one of them."""
        return type(other) is type(self) and self.__dict__ == other.__dict__


class TierOverride(Strict):
    """An environment that is production (or staging) by what it is (its name, project, labels, state,
    hosts, or the environment it was copied from: gkeml.config.tiers) but runs at a lower tier on
    purpose: the tier it runs at and why. ``gkeml check`` reports it every time (ENV001)."""

    tier: Tier = Field(description="The lower tier; must equal the file's tier.")
    instead_of: Tier | None = Field(
        None,
        description="The tier the environment would run at otherwise, when nothing else in the file says it: "
        "e.g. the tier of the environment it was copied from (`gkeml env new` writes it).",
    )
    reason: FreeText = Field(
        min_length=20, max_length=500, description="Why, for the reviewer (at least 20 characters)."
    )


# Guards of a tier that a file may lower with a reason (gkeml.config.tiers.GUARDS has them all).
OVERRIDABLE_GUARDS = ("binary_authorization",)


class GuardOverride(Strict):
    """One guard of the environment's tier lowered on purpose, and why (e.g. Binary Authorization in
    dryrun while a prod allowlist is completed). ``gkeml check`` reports it every time (ENV001)."""

    guard: Literal[OVERRIDABLE_GUARDS] = Field(  # type: ignore[valid-type]
        description="The guard lowered: " + ", ".join(OVERRIDABLE_GUARDS) + " (docs/policy.md lists what each guards)."
    )
    reason: FreeText = Field(
        min_length=20, max_length=500, description="Why, for the reviewer (at least 20 characters)."
    )


# --- defaults resolved before validation, one resolver per section ---------------------------------------


def _tier_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """The defaults of the file's tier; a retired environment keeps nothing from deletion."""
    tier = data.get("tier")
    defaults = TIER_DEFAULTS.get(tier, {}) if isinstance(tier, str) else {}
    if defaults and data.get("retired") is True:
        return {**defaults, "deletion_protection": False}
    return defaults


def _cluster_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``cluster``: the tier's release channel, deletion protection and Binary Authorization mode; the
    region's zones."""
    cluster = raw_section(data, "cluster", create=True)
    if cluster is None:
        return
    fill(cluster, defaults.tier, "release_channel", "deletion_protection")
    binauthz = raw_section(cluster, "binary_authorization", create=True)
    if binauthz is not None and "binary_authorization" in defaults.tier:
        binauthz.setdefault("mode", defaults.tier["binary_authorization"])
    if "zones" not in cluster and defaults.region in platform.REGION_ZONES:
        cluster["zones"] = list(platform.REGION_ZONES[defaults.region])


def _bucket_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``buckets``: the tier's force_destroy; the project's region as the location."""
    buckets = data.get("buckets")
    if not isinstance(buckets, list):
        return
    data["buckets"] = [dict(b) if isinstance(b, dict) else b for b in buckets]
    for bucket in data["buckets"]:
        if isinstance(bucket, dict):
            fill(bucket, defaults.tier, "force_destroy")
            if defaults.region is not None:
                bucket.setdefault("location", defaults.region.upper())


def _inference_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``inference``: the GPU of the service's ComputeClass, the rollout its GPU calls for, the tier's
    availability."""
    services = data.get("inference")
    if not isinstance(services, list):
        return
    listed = data.get("compute_classes")
    classes = {
        c["name"]: c
        for c in (listed if isinstance(listed, list) else [])
        if isinstance(c, dict) and isinstance(c.get("name"), str)
    }
    data["inference"] = [dict(s) if isinstance(s, dict) else s for s in services]
    for svc in data["inference"]:
        if not isinstance(svc, dict):
            continue
        class_name = svc.get("compute_class")
        policy = classes.get(class_name) if isinstance(class_name, str) else None
        if policy is not None and policy.get("gpu") is not None and "gpu" not in svc:  # the class's GPU
            svc["gpu"] = policy["gpu"]
            svc.setdefault("gpu_count", policy.get("gpu_count", 1))
        svc.setdefault("rollout", "replace" if svc.get("gpu") else "surge")
        svc.setdefault("ephemeral_storage", "10Gi" if svc.get("gpu") else "2Gi")
        svc.setdefault("availability", defaults.tier.get("availability", "high"))


def _launch_defaults(data: dict[str, Any], defaults: FileDefaults) -> None:
    """``launch``: one queue named for the agent's namespace and the environment."""
    launch, name, identities = data.get("launch"), data.get("name"), data.get("identities")
    if not isinstance(launch, dict) or "queues" in launch or not isinstance(name, str):
        return
    agent = next(
        (
            i
            for i in (identities if isinstance(identities, list) else [])
            if isinstance(i, dict) and i.get("name") == launch.get("identity")
        ),
        None,
    )
    if agent is not None and isinstance(agent.get("namespace"), str):
        data["launch"] = {**launch, "queues": [{"name": f"{agent['namespace']}-{name}"}]}


# Every default filled in before validation, section by section (the checks after it: gkeml.config.checks).
DEFAULT_RESOLVERS: tuple[DefaultResolver, ...] = (
    _cluster_defaults,
    _bucket_defaults,
    _inference_defaults,
    _launch_defaults,
    registry_defaults,
    volume_defaults,
)


class Environment(Strict):
    """One environment: everything ``<env>.yaml`` describes."""

    # The registries of the environments it was loaded with (gkeml.config.registries.attach): what its
    # nodes may pull from another environment's registry; None when it was loaded alone.
    _registries: Any = PrivateAttr(None)

    # The file it was loaded from (gkeml.environments), for messages about it that arise later (an extension
    # that fails while the stacks are built); None when it was parsed from text.
    _source: str | None = PrivateAttr(None)

    # Defaults filled in from another key: a problem with the default is reported at that key.
    RESOLVED_FROM: ClassVar[dict[tuple, tuple]] = {("prefix",): ("project", "id")}

    name: DnsLabel = Field(description="Stack name; must equal the file name without .yaml.")
    tier: Tier = resolved(
        "dev, staging or prod: picks the defaults and the guards.",
        "the name, when it is dev, staging or prod (required otherwise)",
    )
    prefix: str = resolved("Name prefix of every resource.", "the project ID", pattern=r"^[a-z][-a-z0-9]{1,19}$")
    intended_deletions: list[
        Annotated[str, Field(pattern=r"^(prefix|(bucket|team|identity|secret|endpoint)/[-a-z0-9]+)$")]
    ] = Field(
        default_factory=list,
        description="What this change deletes on purpose, so `gkeml check --against REF` lets it through: "
        "bucket/NAME, team/NAME, identity/NAME, secret/NAME, endpoint/NAME or prefix (renaming the "
        "prefix or project re-creates everything). Remove the entries once deployed.",
    )
    retired: bool = Field(
        False,
        description="The environment is being torn down: drops the protections that keep Terraform from "
        "deleting its data (bucket and secret deletion protection, the cluster's) so that "
        "`make destroy` can run outside dev. Review it like a deletion.",
    )
    project: Project
    state: State
    network: NetworkConfig
    cluster: Cluster = resolved("The regional Autopilot cluster.", "see its section")
    teams: list[Team] = Field(default_factory=list)
    buckets: list[BucketConfig] = Field(default_factory=list)
    identities: list[IdentityConfig] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    secrets: list[SecretConfig] = Field(default_factory=list)
    inference: list[Inference] = Field(default_factory=list)
    compute_classes: list[ComputeClassPolicy] = Field(default_factory=list)
    launch: Launch | None = None
    kueue: KueueConfig = Field(
        default_factory=KueueConfig, description="Job queueing with Kueue: a ClusterQueue and LocalQueue per team."
    )
    jobset: JobSetConfig = Field(
        default_factory=JobSetConfig, description="The JobSet controller multi-node jobs run on."
    )
    reservations: list[Reservation] = Field(
        default_factory=list,
        description="Specific Compute Engine reservations of GPU VMs that compute classes consume first (billed "
        "whether used or not).",
    )
    training: list[TrainingBudget] = Field(default_factory=list, description="Expected training for cost estimates.")
    volumes: list[HyperdiskMlVolume] = Field(
        default_factory=list,
        description="Read-only-many Hyperdisk ML volumes made from a bucket or a disk snapshot, which a job mounts "
        "with dataset: {volume: NAME} (docs/volumes.md).",
    )
    tier_override: TierOverride | None = Field(
        None,
        description="Run at a tier lower than the environment is (its name, project, labels, state, hosts or "
        "source imply; this drops the tier's guards): refused without this; `gkeml check` reports it every time.",
    )
    guard_overrides: list[GuardOverride] = Field(
        default_factory=list,
        description="Guards of the tier lowered on purpose, each with a reason (refused without one); "
        "`gkeml check` reports each every time.",
    )
    # platform services (gkeml/config/services.py)
    registry: Registry | None = Field(None, description="Artifact Registry Docker repositories.")
    dns: Dns | None = Field(None, description="Cloud DNS A records for the endpoint hosts.")
    budget: Budget | None = Field(None, description="Cloud Billing budget of the project.")
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    upgrade_notices: UpgradeNoticesConfig = Field(default_factory=UpgradeNoticesConfig)
    extensions: list[ExtensionRef] = Field(
        default_factory=list,
        description="The platform team's own code adding resources to the stacks (docs/extensions.md); each "
        "passes the same gate as gkeml's own: the permission model, the first-apply order, checkov and "
        "`gkeml check`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _resolve_defaults(cls, data: Any) -> Any:
        """Fill in every field whose default depends on the tier or on another field, before the fields are
        validated: the tier (from the name) and the prefix (from the project ID), then each section with its
        resolver of :data:`DEFAULT_RESOLVERS`. Kueue's default is read after validation, from the typed quotas
        (:meth:`_kueue_default`)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        name, project = data.get("name"), data.get("project")
        if "tier" not in data and isinstance(name, str) and name in TIER_DEFAULTS:
            data["tier"] = name
        if "prefix" not in data and isinstance(project, dict) and isinstance(project.get("id"), str):
            data["prefix"] = project["id"]
        region = project.get("region") if isinstance(project, dict) else None
        defaults = FileDefaults(_tier_defaults(data), region if isinstance(region, str) else None)
        for resolve in DEFAULT_RESOLVERS:
            resolve(data, defaults)
        return data

    @model_validator(mode="after")
    def _kueue_default(self) -> Environment:
        """Kueue is on by default when a team has GPU quota (read from the validated quotas), the JobSet controller
        when Kueue is."""
        if "enabled" not in self.kueue.model_fields_set:
            self.kueue.enabled = enabled_by_default(self.teams)
        if "enabled" not in self.jobset.model_fields_set:
            self.jobset.enabled = self.kueue.enabled
        return self

    def __eq__(self, other: object) -> bool:
        """Equal when the values are: where the file was read from is not one of them."""
        return type(other) is type(self) and self.__dict__ == other.__dict__

    # -- lookups used by stacks, builders and the estimator --------------------
    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    def identity(self, name: str) -> IdentityConfig:
        return next(i for i in self.identities if i.name == name)

    @property
    def needs_metrics_adapter(self) -> bool:
        """Whether an autoscaler of the inference services scales on a metric only the Custom Metrics
        Stackdriver Adapter serves (External, Object or Pods): the in-cluster layer then installs it,
        the cloud layer grants its identity and the image allowlist admits it."""
        return any(
            t in platform.METRICS_ADAPTER_HPA_TYPES for svc in self.inference for t in svc.autoscaling.metric_types
        )

    def custom_compute_class(self, name: str | None) -> ComputeClassPolicy | None:
        """The environment's ComputeClass of this name (None for a built-in class, or no class)."""
        return next((c for c in self.compute_classes if c.name == name), None)

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)

    def identities_in(self, namespace: str) -> list[IdentityConfig]:
        return [i for i in self.identities if i.namespace == namespace]

    @property
    def protected(self) -> bool:
        """Whether Terraform must refuse to delete what holds data or an identity others depend on
        (buckets, secrets, static IPs, service accounts): outside dev, unless the environment is retired."""
        return self.tier != "dev" and not self.retired

    def launch_teams(self) -> list[str]:
        """Namespaces the W&B Launch agent launches into (and where its API key is): ``launch.teams``,
        else the agent identity's namespace; empty without Launch."""
        if self.launch is None:
            return []
        return list(self.launch.teams or [self.identity(self.launch.identity).namespace])
