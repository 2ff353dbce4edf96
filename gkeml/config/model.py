"""Typed model of one environment file (``environments/<env>.yaml``).

Inputs are grouped by use case (project, network, cluster, teams, buckets,
identities, endpoints, workloads) rather than mirroring provider fields. Field
checks live on the models; checks that span sections (a team an identity names,
a bucket it reads) live in :func:`cross_checks`, so that every problem can be
reported with the path of the offending key. Defaults that depend on the tier
(dev, staging, prod) are resolved once, here, and nowhere else.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, time
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from gkeml import platform

Tier = Literal["dev", "staging", "prod"]
Purpose = Literal["datasets", "checkpoints", "artifacts"]

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
NAME = r"^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$"  # short resource-name part
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
HOST = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
PROJECT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
BUCKET_NAME = r"^[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]$"
SERVICE_ACCOUNT_ID = r"[a-z][-a-z0-9]{4,28}[a-z0-9]"
ROLE = r"^(roles/[a-zA-Z0-9_.]+|projects/[-a-z0-9]+/roles/[a-zA-Z0-9_.]+)$"

PATTERN_HELP = {
    DNS_LABEL: "lowercase letters, digits and '-', starting with a letter, at most 63 characters",
    NAME: "lowercase letters, digits and '-', starting with a letter, at most 30 characters",
    QUANTITY: "a Kubernetes quantity such as 500m, 4, 16Gi",
    HOST: "a fully qualified lowercase host name such as chat.example.com (no wildcards)",
    PROJECT_ID: "6-30 lowercase letters, digits and '-', starting with a letter",
    BUCKET_NAME: "3-63 lowercase letters, digits, '-', '_' and '.'",
    ROLE: "a role such as roles/logging.logWriter",
}


def at(field: str, message: str) -> ValueError:
    """A model-level error that belongs to one field: the loader reports that field's line."""
    return ValueError(f"@{field}: {message}")


DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
ShortName = Annotated[str, Field(pattern=NAME)]
Quantity = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float)) else v), Field(pattern=QUANTITY)]


def _cidr(value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network in CIDR form like 10.0.0.0/20 ({exc})") from None


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)]


class Strict(BaseModel):
    """Base: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


class Project(Strict):
    """The Google Cloud project the environment lives in."""

    id: str = Field(pattern=PROJECT_ID, description="Project ID, e.g. acme-ml-dev.")
    number: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, int) else v)] = Field(
        pattern=r"^[1-9][0-9]{5,18}$",
        description="Project NUMBER (digits); Workload Identity principals need it.",
    )
    region: str = Field(pattern=r"^[a-z]+-[a-z]+[0-9]+$", description="Region of the cluster and subnet.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels put on every labelable resource.")


class State(Strict):
    """Where Terraform keeps state (GCS backend)."""

    bucket: str = Field(pattern=BUCKET_NAME, description="Existing GCS bucket for Terraform state.")
    prefix: str = Field("gkeml", pattern=r"^[-_/a-zA-Z0-9]+$", description="Object prefix; stacks add their name.")


class Network(Strict):
    """VPC ranges: the node subnet and the Pod and Service secondary ranges."""

    subnet_cidr: Cidr = Field(description="Primary range of the regional subnet (nodes).")
    pods_cidr: Cidr = Field(description="Secondary range for Pods (Autopilot needs at least a /21).")
    services_cidr: Cidr = Field(description="Secondary range for Services.")
    flow_logs: bool = Field(True, description="VPC flow logs on the subnet.")

    @model_validator(mode="after")
    def _ranges(self) -> "Network":
        ranges = {"subnet_cidr": self.subnet_cidr, "pods_cidr": self.pods_cidr, "services_cidr": self.services_cidr}
        for field, net in ranges.items():
            if not net.is_private:
                raise at(field, f"{net} is not a private range; use RFC 1918 space such as 10.0.0.0/8")
        names = list(ranges)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if ranges[a].overlaps(ranges[b]):
                    raise at(b, f"{ranges[b]} overlaps {a} {ranges[a]}; give each range its own space")
        if self.pods_cidr.prefixlen > 21:
            raise at("pods_cidr", f"{self.pods_cidr} is smaller than a /21; Autopilot needs /21 or larger")
        return self


class AuthorizedNetwork(Strict):
    """A CIDR allowed to reach the control plane's IP endpoint."""

    name: str = Field(min_length=1, max_length=60)
    cidr: Cidr


def _datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time like 2026-12-20T00:00:00Z") from None
    return value


Timestamp = Annotated[datetime, BeforeValidator(_datetime)]


class MaintenanceExclusion(Strict):
    """A period in which GKE must not upgrade (e.g. a launch freeze)."""

    name: ShortName
    start: Timestamp
    end: Timestamp
    scope: Literal["NO_UPGRADES", "NO_MINOR_UPGRADES", "NO_MINOR_OR_NODE_UPGRADES"] = "NO_MINOR_UPGRADES"

    @model_validator(mode="after")
    def _order(self) -> "MaintenanceExclusion":
        if self.end <= self.start:
            raise at("end", f"{self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self


Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class Maintenance(Strict):
    """Recurring window (UTC) in which GKE may upgrade, plus exclusions."""

    days: list[Weekday] = Field(default_factory=lambda: ["SA", "SU"], min_length=1)
    start: Annotated[time, BeforeValidator(lambda v: time.fromisoformat(v) if isinstance(v, str) else v)] = time(3, 0)
    hours: int = Field(6, ge=4, le=24, description="Length of each window; GKE needs >= 4 h.")
    exclusions: list[MaintenanceExclusion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _availability(self) -> "Maintenance":
        # GKE requires at least 48 h of maintenance availability in any 32-day window.
        if len(set(self.days)) * self.hours * 32 / 7 < 48:
            raise ValueError(
                f"{len(set(self.days))} day(s) x {self.hours} h gives less than the 48 h per 32 days GKE needs; "
                "add days or hours"
            )
        return self


class Cluster(Strict):
    """The regional Autopilot cluster. ``None`` means: the default for the tier."""

    release_channel: Optional[Literal[platform.RELEASE_CHANNELS]] = Field(
        None, description="Default: REGULAR (dev, staging), STABLE (prod)."
    )
    deletion_protection: Optional[bool] = Field(None, description="Default: off in dev, on in staging and prod.")
    public_endpoint: bool = Field(
        False, description="Also expose the control plane's public IP endpoint (never in prod). DNS endpoint is always on."
    )
    authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)
    maintenance: Maintenance = Field(default_factory=Maintenance)
    binary_authorization: bool = Field(True, description="Enforce the project's Binary Authorization policy.")
    security_posture: Literal["BASIC", "ENTERPRISE"] = "BASIC"
    vulnerability_scanning: Literal["VULNERABILITY_DISABLED", "VULNERABILITY_BASIC", "VULNERABILITY_ENTERPRISE"] = (
        "VULNERABILITY_BASIC"
    )
    cost_allocation: bool = True
    zones: Optional[list[str]] = Field(None, min_length=1, description="node_locations; default: fixed per region.")
    labels: dict[str, str] = Field(default_factory=dict)


class Quota(Strict):
    """Team ResourceQuota: total requests in the namespace."""

    cpu: Quantity = "32"
    memory: Quantity = "128Gi"
    gpus: int = Field(0, ge=0)


class Team(Strict):
    """A team: one namespace with quota, limits and default-deny network policy."""

    name: DnsLabel
    quota: Quota = Field(default_factory=Quota)


class Bucket(Strict):
    """A GCS bucket; the purpose picks versioning, lifecycle and soft delete."""

    name: ShortName = Field(description="Logical name; the bucket is '<prefix>-<name>'.")
    purpose: Purpose
    location: Optional[str] = Field(None, description="Default: the project region.")
    storage_class: Literal["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"] = "STANDARD"
    force_destroy: Optional[bool] = Field(None, description="Default: true in dev only; never in prod.")
    retention_days: Optional[int] = Field(
        None, ge=1, le=36500, description="Retention policy (objects undeletable); replaces versioning, which GCS "
        "does not allow together with it.")
    expected_size_gib: float = Field(0, ge=0, description="Expected stored data, for cost estimates.")


class Identity(Strict):
    """A workload's identity: a Kubernetes service account and what it may access."""

    name: ShortName
    namespace: DnsLabel = Field(description="A team namespace.")
    service_account: Optional[DnsLabel] = Field(None, description="Kubernetes service account; default: name.")
    mode: Literal["principal", "classic"] = Field(
        "principal", description="principal: IAM on principal://; classic: a Google service account to impersonate."
    )
    roles: list[Annotated[str, Field(pattern=ROLE)]] = Field(default_factory=list, description="Project roles.")
    reads: list[str] = Field(default_factory=list, description="Buckets it may read.")
    writes: list[str] = Field(default_factory=list, description="Buckets it may read and write.")
    secrets: list[str] = Field(default_factory=list, description="Secrets it may access.")

    @property
    def ksa(self) -> str:
        return self.service_account or self.name

    @field_validator("roles")
    @classmethod
    def _least_privilege(cls, roles: list[str]) -> list[str]:
        for role in roles:
            if role in ("roles/owner", "roles/editor", "roles/viewer"):
                raise ValueError(f"{role} is a primitive role; grant a predefined role such as roles/logging.logWriter")
            if role.startswith("roles/storage."):
                raise ValueError(f"{role} would apply to every bucket in the project; use reads/writes per bucket")
            if role in ("roles/iam.serviceAccountTokenCreator", "roles/iam.serviceAccountKeyAdmin"):
                raise ValueError(f"{role} lets the workload mint credentials; not allowed")
        return roles


class Endpoint(Strict):
    """A public HTTPS host: one global static IP and one Google-managed certificate."""

    name: ShortName
    host: str = Field(pattern=HOST, max_length=253, description="Fully qualified host; no wildcards.")


class Secret(Strict):
    """A Secret Manager secret; its value is added outside Terraform."""

    name: ShortName


class Probe(Strict):
    """HTTP probe of an inference server (startup, readiness, liveness, LB health check)."""

    path: str = Field("/healthz", pattern=r"^/")
    port: int = Field(8080, ge=1, le=65535)


class Autoscaling(Strict):
    """HorizontalPodAutoscaler v2 bounds and targets."""

    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(3, ge=1)
    cpu_utilization: Optional[int] = Field(70, ge=1, le=100)
    memory_utilization: Optional[int] = Field(None, ge=1, le=100)
    external_metric: Optional[str] = Field(None, description="e.g. pubsub.googleapis.com|subscription|num_undelivered_messages")
    external_target: Optional[int] = Field(None, ge=1, description="Average value per replica for the metric.")
    external_selector: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscaling":
        if self.max_replicas < self.min_replicas:
            raise at("max_replicas", f"{self.max_replicas} is below min_replicas {self.min_replicas}")
        if (self.external_metric is None) != (self.external_target is None):
            raise ValueError("external_metric and external_target go together; set both or neither")
        if not (self.cpu_utilization or self.memory_utilization or self.external_metric):
            raise ValueError("no scaling signal; set cpu_utilization, memory_utilization or external_metric")
        return self


class Inference(Strict):
    """An inference service: Deployment, Service, HPA, PDB and optionally an Ingress."""

    name: DnsLabel
    team: DnsLabel
    image: str = Field(min_length=1)
    identity: Optional[str] = Field(None, description="Identity name (its KSA runs the pods).")
    port: int = Field(8080, ge=1, le=65535)
    cpu: Quantity = "1"
    memory: Quantity = "4Gi"
    gpu: Optional[str] = Field(None, description=f"GPU label value: {', '.join(platform.GPUS)}")
    gpu_count: int = Field(1, ge=1)
    spot: bool = False
    compute_class: Optional[str] = None
    probe: Probe = Field(default_factory=Probe)
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    endpoint: Optional[str] = Field(None, description="Endpoint name to expose this service on.")
    hours_per_day: float = Field(24, gt=0, le=24, description="For cost estimates.")

    @model_validator(mode="after")
    def _gpu(self) -> "Inference":
        problem = self.gpu and platform.gpu_problem(self.gpu, self.gpu_count)
        if problem:
            raise at(*problem)
        return self


class ComputeClassPolicy(Strict):
    """A custom ComputeClass: ordered node preferences (e.g. Spot first, then on-demand)."""

    name: DnsLabel
    gpu: Optional[str] = None
    gpu_count: int = Field(1, ge=1)
    machine_family: Optional[str] = None
    spot_first: bool = True
    fallback_on_demand: bool = True

    @model_validator(mode="after")
    def _shape(self) -> "ComputeClassPolicy":
        if self.gpu is None and self.machine_family is None:
            raise ValueError("set gpu or machine_family")
        problem = self.gpu and platform.gpu_problem(self.gpu, self.gpu_count)
        if problem:
            raise at(*problem)
        if not (self.spot_first or self.fallback_on_demand):
            raise ValueError("spot_first and fallback_on_demand are both false: the class has no nodes")
        return self


class LaunchQueue(Strict):
    """A W&B Launch queue the agent polls."""

    name: str = Field(min_length=1)


class Launch(Strict):
    """The W&B Launch agent (Helm chart ``launch-agent``), running in its identity's namespace."""

    release: DnsLabel = Field("wandb", description="Helm release name; the chart names its KSA after it.")
    identity: str = Field(description="Identity of the agent; its service_account must be the chart's KSA.")
    secret: str = Field("wandb-api-key", description="Secret Manager secret holding the API key.")
    api_key_revision: int = Field(1, ge=1, description="Bump after adding a new secret version to roll it out.")
    entity: str = Field(min_length=1)
    queues: list[LaunchQueue] = Field(min_length=1)
    teams: Optional[list[DnsLabel]] = Field(
        None, min_length=1,
        description="Team namespaces the agent launches jobs into; only these get the agent's RBAC and the API key. "
                    "Default: the agent identity's namespace only.")
    max_jobs: int = Field(4, ge=1)
    base_url: str = Field("https://api.wandb.ai", pattern=r"^https://")
    chart_version: str = Field(platform.WANDB_LAUNCH_AGENT_CHART_VERSION, pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$")
    builder: Literal["noop", "kaniko"] = "noop"


class TrainingBudget(Strict):
    """Expected training, for cost estimates: what runs and for how long."""

    name: ShortName
    team: DnsLabel
    gpu: Optional[str] = None
    gpu_count: int = Field(1, ge=1)
    nodes: int = Field(1, ge=1)
    cpu: Quantity = "4"
    memory: Quantity = "16Gi"
    spot: bool = False
    hours_per_day: float = Field(8, gt=0, le=24)
    days_per_month: float = Field(20, gt=0, le=31)


class Environment(Strict):
    """One environment: everything ``<env>.yaml`` describes."""

    name: DnsLabel = Field(description="Stack name; must equal the file name without .yaml.")
    tier: Optional[Tier] = Field(None, description="dev, staging or prod; default: the name when it is one of them.")
    prefix: Optional[str] = Field(
        None, pattern=r"^[a-z][-a-z0-9]{1,19}$", description="Name prefix of every resource; default: '<project.id>'."
    )
    project: Project
    state: State
    network: Network
    cluster: Cluster = Field(default_factory=Cluster)
    teams: list[Team] = Field(default_factory=list)
    buckets: list[Bucket] = Field(default_factory=list)
    identities: list[Identity] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(default_factory=list)
    secrets: list[Secret] = Field(default_factory=list)
    inference: list[Inference] = Field(default_factory=list)
    compute_classes: list[ComputeClassPolicy] = Field(default_factory=list)
    launch: Optional[Launch] = None
    training: list[TrainingBudget] = Field(default_factory=list, description="Expected training for cost estimates.")

    @model_validator(mode="after")
    def _tier_defaults(self) -> "Environment":
        if self.tier is None:
            if self.name not in ("dev", "staging", "prod"):
                raise ValueError(f"cannot infer tier from name {self.name!r}; set tier: dev, staging or prod")
            self.tier = self.name  # type: ignore[assignment]
        if self.prefix is None:
            self.prefix = self.project.id
        c = self.cluster
        if c.release_channel is None:
            c.release_channel = "STABLE" if self.tier == "prod" else "REGULAR"
        if c.deletion_protection is None:
            c.deletion_protection = self.tier != "dev"
        if c.zones is None:
            c.zones = list(platform.REGION_ZONES.get(self.project.region, ()))
        for b in self.buckets:
            if b.force_destroy is None:
                b.force_destroy = self.tier == "dev"
            if b.location is None:
                b.location = self.project.region.upper()
        return self

    # -- lookups used by stacks, builders and the estimator --------------------
    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    def identity(self, name: str) -> Identity:
        return next(i for i in self.identities if i.name == name)

    def endpoint(self, name: str) -> Endpoint:
        return next(e for e in self.endpoints if e.name == name)

    def identities_in(self, namespace: str) -> list[Identity]:
        return [i for i in self.identities if i.namespace == namespace]

    def launch_teams(self) -> list[str]:
        """Namespaces the W&B Launch agent launches into (and where its API key is): ``launch.teams``,
        else the agent identity's namespace; empty without Launch."""
        if self.launch is None:
            return []
        return list(self.launch.teams or [self.identity(self.launch.identity).namespace])

    def serves_traffic(self, team: str) -> bool:
        return any(s.team == team and s.endpoint for s in self.inference)


Problem = tuple[tuple, str]  # (path of the offending key, message)


def _duplicates(items: list, key: str, path: str) -> list[Problem]:
    seen: dict[str, int] = {}
    out: list[Problem] = []
    for i, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            out.append(((path, i, key), f"duplicate {key} {value!r} (also at {path}[{seen[value]}])"))
        seen.setdefault(value, i)
    return out


def cross_checks(env: Environment) -> list[Problem]:
    """Checks spanning sections; each problem carries the path of the key to fix."""
    from gkeml.naming import Names

    problems: list[Problem] = []
    for section, key in (
        ("teams", "name"), ("buckets", "name"), ("identities", "name"), ("endpoints", "name"), ("endpoints", "host"),
        ("secrets", "name"), ("inference", "name"), ("compute_classes", "name"), ("training", "name"),
    ):
        problems += _duplicates(getattr(env, section), key, section)
    teams = [t.name for t in env.teams]
    buckets = [b.name for b in env.buckets]
    secrets = [s.name for s in env.secrets]
    identities = [i.name for i in env.identities]
    endpoints = [e.name for e in env.endpoints]
    names = Names(env)

    def ref(path: tuple, value: str | None, allowed: list[str], what: str) -> None:
        if value is not None and value not in allowed:
            problems.append((path, f"unknown {what} {value!r}; defined: {', '.join(allowed) or 'none'}"))

    c = env.cluster
    if env.tier == "prod":
        if c.release_channel not in platform.PROD_RELEASE_CHANNELS:
            problems.append((("cluster", "release_channel"), f"{c.release_channel} is not allowed in prod; use "
                             + " or ".join(platform.PROD_RELEASE_CHANNELS)))
        if c.deletion_protection is False:
            problems.append((("cluster", "deletion_protection"), "must stay true in prod; remove the key"))
        if c.public_endpoint:
            problems.append((("cluster", "public_endpoint"), "prod has no public control-plane IP; use the DNS endpoint"))
        for i, b in enumerate(env.buckets):
            if b.force_destroy:
                problems.append((("buckets", i, "force_destroy"), "buckets are never force-destroyed in prod"))
    if not c.zones:
        problems.append((("cluster", "zones"), f"no known zones for region {env.project.region}; list cluster.zones"))
    else:
        for i, z in enumerate(c.zones):
            if not z.startswith(env.project.region + "-"):
                problems.append((("cluster", "zones", i), f"zone {z!r} is not in region {env.project.region}"))
    if not re.fullmatch(SERVICE_ACCOUNT_ID, names.node_service_account):
        problems.append((("name",), f"node service account id {names.node_service_account!r} is longer than 30 "
                         "characters; use an environment name of at most 20"))
    if c.public_endpoint and not c.authorized_networks:
        problems.append((("cluster", "authorized_networks"),
                         "public_endpoint needs at least one authorized network (an empty list admits nobody)"))
    for i, b in enumerate(env.buckets):
        bucket = names.bucket(b.name)
        if not re.fullmatch(r"[a-z0-9][-_.a-z0-9]{1,61}[a-z0-9]", bucket) or "google" in bucket or bucket.startswith("goog"):
            problems.append((("buckets", i, "name"), f"bucket name {bucket!r} is invalid: 3-63 of a-z 0-9 - _ ., no 'goog'"))
    for i, ident in enumerate(env.identities):
        ref(("identities", i, "namespace"), ident.namespace, teams, "team")
        for field, allowed, what in (("reads", buckets, "bucket"), ("writes", buckets, "bucket"),
                                     ("secrets", secrets, "secret")):
            for j, value in enumerate(getattr(ident, field)):
                ref(("identities", i, field, j), value, allowed, what)
        if ident.mode == "classic":
            account = names.service_account(ident.name)
            if not re.fullmatch(SERVICE_ACCOUNT_ID, account):
                problems.append((("identities", i, "name"),
                                 f"service account id {account!r} must be 6-30 chars of a-z 0-9 -; shorten the name"))
    for i, svc in enumerate(env.inference):
        ref(("inference", i, "team"), svc.team, teams, "team")
        ref(("inference", i, "identity"), svc.identity, identities, "identity")
        ref(("inference", i, "endpoint"), svc.endpoint, endpoints, "endpoint")
        if svc.identity in identities and env.identity(svc.identity).namespace != svc.team:
            problems.append((("inference", i, "identity"),
                             f"identity {svc.identity!r} lives in namespace {env.identity(svc.identity).namespace}, "
                             f"not {svc.team}"))
        ref(("inference", i, "compute_class"), svc.compute_class,
            [cc.name for cc in env.compute_classes] + list(platform.BUILTIN_COMPUTE_CLASSES), "compute class")
    for i, t in enumerate(env.training):
        ref(("training", i, "team"), t.team, teams, "team")
    if env.launch is not None:
        ref(("launch", "identity"), env.launch.identity, identities, "identity")
        ref(("launch", "secret"), env.launch.secret, secrets, "secret")
        for i, team in enumerate(env.launch.teams or []):
            ref(("launch", "teams", i), team, teams, "team")
        if env.launch.identity in identities:
            agent = env.identity(env.launch.identity)
            if env.launch.secret not in agent.secrets:
                problems.append((("launch", "identity"),
                                 f"identity {agent.name!r} must list secret {env.launch.secret!r} in its secrets"))
            chart_ksa = platform.wandb_launch_service_account(env.launch.release)
            if agent.ksa != chart_ksa:
                problems.append((("launch", "identity"), f"identity {agent.name!r} must set service_account: "
                                 f"{chart_ksa} (the service account the chart creates)"))
    if len(env.endpoints) > platform.MAX_CERTIFICATES_PER_LOAD_BALANCER:
        problems.append((("endpoints",), f"more than {platform.MAX_CERTIFICATES_PER_LOAD_BALANCER} hosts"))
    return problems
