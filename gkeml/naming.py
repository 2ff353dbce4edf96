"""Deterministic resource names, derived from an environment's prefix.

Both stacks (and the CLI) compute names here instead of passing Terraform
references across stacks: the in-cluster stack names the static IP and the
certificate of the cloud layer without a ``terraform_remote_state`` lookup.
:func:`name_problems` refuses, at load, every derived name GCP would refuse.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gkeml import platform
from gkeml.config.accounts import node_service_account_id, service_account_email, workload_service_account_id
from gkeml.config.base import MAX_LABELS

if TYPE_CHECKING:
    from gkeml.config.base import Problem
    from gkeml.config.model import Environment


@dataclass(frozen=True)
class Names:
    """Names of everything an environment creates, from the few values they derive from."""

    prefix: str
    env: str
    project_id: str
    region: str
    state_prefix: str = "gkeml"

    @classmethod
    def of(cls, env: Environment) -> Names:
        return cls(env.prefix, env.name, env.project.id, env.project.region, env.state.prefix)

    @property
    def cloud_stack(self) -> str:
        return self.env

    @property
    def k8s_stack(self) -> str:
        return f"{self.env}-k8s"

    @property
    def network(self) -> str:
        return f"{self.prefix}-vpc"

    @property
    def subnet(self) -> str:
        return f"{self.prefix}-{self.region}"

    @property
    def firewall_deny_ingress(self) -> str:
        return f"{self.network}-deny-all-ingress"

    pods_range = "pods"
    services_range = "services"

    @property
    def router(self) -> str:
        return f"{self.prefix}-router"

    @property
    def nat(self) -> str:
        return f"{self.prefix}-nat"

    @property
    def cluster(self) -> str:
        return self.prefix

    @property
    def node_service_account(self) -> str:
        return node_service_account_id(self.env)

    @property
    def node_service_account_email(self) -> str:
        return service_account_email(self.node_service_account, self.project_id)

    def gsa(self, identity: str) -> str:
        """Account id of the Google service account of a classic-mode identity."""
        return workload_service_account_id(self.env, identity)

    def gsa_email(self, identity: str) -> str:
        return service_account_email(self.gsa(identity), self.project_id)

    def bucket(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def access_log_bucket(self) -> str:
        return f"{self.prefix}-access-logs"

    def address(self, endpoint: str) -> str:
        return f"{self.prefix}-{endpoint}-ip"

    def certificate(self, endpoint: str, host: str) -> str:
        """Managed certificates are immutable: the name carries a hash of the host, so a new host
        gets a new certificate beside the old one."""
        return f"{self.prefix}-{endpoint}-{_host_hash(host)}"

    def gateway_address(self, endpoint: str, exposure: str) -> str:
        """The static IP of an endpoint's Gateway: global for gateway, regional for inference-gateway (each way of
        exposure has its own: one address serves one load balancer)."""
        return f"{self.prefix}-{endpoint}-{GATEWAY_TAGS[exposure]}-ip"

    def gateway_certificate(self, endpoint: str, exposure: str, host: str) -> str:
        """A host's Certificate Manager certificate on an endpoint's Gateway, and the name of its DNS
        authorization (a host's hash, as for :meth:`certificate`)."""
        return f"{self.prefix}-{endpoint}-{GATEWAY_TAGS[exposure]}-{_host_hash(host)}"

    def certificate_map(self, endpoint: str) -> str:
        """The certificate map of an endpoint's global Gateway."""
        return f"{self.prefix}-{endpoint}-{GATEWAY_TAGS['gateway']}"

    def certificate_map_entry(self, endpoint: str, host: str) -> str:
        return f"{self.prefix}-{endpoint}-{_host_hash(host)}"

    @property
    def proxy_only_subnet(self) -> str:
        """The region's proxy-only subnet (regional load balancers' proxies)."""
        return f"{self.prefix}-{self.region}-proxy"

    @property
    def firewall_allow_proxies(self) -> str:
        """The firewall rule letting regional load balancers' proxies reach the Pods."""
        return f"{self.network}-allow-lb-proxies"

    def secret(self, name: str) -> str:
        return f"{self.env}-{name}"

    def state(self, stack: str) -> str:
        """GCS backend prefix of a stack's state."""
        return f"{self.state_prefix.rstrip('/')}/{stack}"

    # -- platform services (gkeml/config/services.py) ---------------------------------------
    @property
    def notifications_topic(self) -> str:
        """Pub/Sub topic of GKE's cluster notifications (upgrades, security bulletins)."""
        return f"{self.prefix}-gke-notifications"

    @property
    def budget_topic(self) -> str:
        return f"{self.prefix}-budget"

    @property
    def budget(self) -> str:
        """Display name of the billing budget (at most 60 characters)."""
        return f"gkeml {self.env} ({self.project_id})"[:60]

    def channel_topic(self, channel: str) -> str:
        """Pub/Sub topic of a Pub/Sub notification channel."""
        return f"{self.prefix}-alerts-{channel}"

    def log_metric(self, what: str) -> str:
        """A log-based metric of the environment (one project may hold several environments' metrics)."""
        return f"gkeml/{self.env}/{what}"

    @property
    def dashboard(self) -> str:
        return f"gkeml {self.env}"


ENV_LABEL = "gkeml-env"  # the label naming the environment a resource belongs to


# What names the resources of each Gateway way of exposure (gkeml.config.exposure)
GATEWAY_TAGS = {"gateway": "gw", "inference-gateway": "igw"}


def _host_hash(host: str) -> str:
    return hashlib.sha256(host.encode()).hexdigest()[:6]


def gkeml_labels(env: str, layer: str | None = None) -> dict[str, str]:
    """The labels gkeml puts on every labelable Google Cloud resource it creates (provider default_labels)."""
    labels = {"managed-by": "gkeml", ENV_LABEL: env}
    if layer:
        labels["gkeml-layer"] = layer
    return labels


# --- names GCP would refuse -----------------------------------------------------------
# Sources (checked 2026-11-30): cloud.google.com/compute/docs/naming-resources (RFC 1035, at most 63),
# cloud.google.com/kubernetes-engine/docs/how-to/creating-an-autopilot-cluster (cluster name: at most
# 40, starts with a letter, no trailing hyphen), cloud.google.com/iam/docs/service-accounts-create
# (account id 6-30), cloud.google.com/storage/docs/buckets#naming (3-63, no "goog" prefix, no "google").
RFC1035 = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
CLUSTER_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
SERVICE_ACCOUNT_ID = re.compile(platform.SERVICE_ACCOUNT_ID)


def bucket_name_problem(bucket: str) -> str | None:
    """Why GCS refuses ``bucket`` as a bucket name, or None."""
    problem = platform.gcs_bucket_name_problem(bucket)
    return f"bucket name {bucket!r} is invalid: {problem}" if problem else None


# The bootstrap stack keeps its state under this prefix of the state bucket when migrated there
# (gkeml.stacks.bootstrap writes its backend with it), so no environment's state.prefix may be it.
BOOTSTRAP_STATE_PREFIX = "gkeml-bootstrap"


def _state_problems(env: Environment, names: Names) -> Iterator[Problem]:
    from gkeml.config.loader import field_name

    own: dict[str, tuple[str | int, ...]] = {
        names.bucket(b.name): ("buckets", i, "name") for i, b in enumerate(env.buckets)
    }
    own[names.access_log_bucket] = ("prefix",)
    if env.state.bucket in own:
        yield (
            ("state", "bucket"),
            f"{env.state.bucket!r} is a bucket this environment creates (at "
            f"{field_name(own[env.state.bucket])}); Terraform state needs a bucket "
            "that exists before it and outlives it (the bootstrap's state bucket)",
        )
    if env.state.prefix.split("/")[0] == BOOTSTRAP_STATE_PREFIX:
        yield (
            ("state", "prefix"),
            f"{env.state.prefix!r} is where the bootstrap stack keeps its state "
            f"({BOOTSTRAP_STATE_PREFIX}/<env>); use another prefix, e.g. gkeml",
        )


# --- names that collide once derived ------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A name one entry of the environment makes (or that gkeml or GKE keeps for itself), unique within
    its kind: two entries deriving one name would be one resource to GCP or Kubernetes and two to
    Terraform (the second create fails, or both manage one object and each undoes the other)."""

    kind: str
    name: str
    owner: str  # "identity 'trainer'", "gkeml (...)": what the name belongs to, for messages
    path: tuple = ()  # the key to rename (the entry's name); none for a reserved name
    fix: str = "choose another name"


def derived_names(env: Environment) -> Iterator[Derived]:
    """Every name of a kind that must stay unique which ``env`` derives from its entries, and the names
    gkeml and GKE keep for themselves in the same space, reserved first."""
    names = Names.of(env)
    yield Derived("bucket", names.access_log_bucket, "gkeml (the access logs of the other buckets)")
    yield Derived("service account", names.node_service_account, "gkeml (the service account of the nodes)")
    for team in env.teams:  # GKE's secret sync copies the W&B key as this account (gkeml.manifests.launch)
        yield Derived(
            "Kubernetes service account",
            f"{team.name}/{platform.SECRET_SYNC_SERVICE_ACCOUNT}",
            "gkeml (GKE's secret sync copies the W&B API key as it)",
        )
    for builtin in platform.BUILTIN_COMPUTE_CLASSES:  # a lowercase twin of one is ambiguous to a reader
        yield Derived("ComputeClass", builtin.lower(), f"GKE (its built-in class {builtin})")
    for i, b in enumerate(env.buckets):
        yield Derived("bucket", names.bucket(b.name), f"bucket {b.name!r}", ("buckets", i, "name"))
    for i, ident in enumerate(env.identities):
        if ident.mode == "classic":
            yield Derived(
                "service account", names.gsa(ident.name), f"identity {ident.name!r}", ("identities", i, "name")
            )
        yield Derived(
            "Kubernetes service account",
            f"{ident.namespace}/{ident.ksa}",
            f"identity {ident.name!r}",
            ("identities", i, "service_account" if ident.service_account else "name"),
            "one service account has one identity",
        )
    for i, cls in enumerate(env.compute_classes):
        yield Derived("ComputeClass", cls.name, f"compute class {cls.name!r}", ("compute_classes", i, "name"))


def collision_problems(env: Environment) -> Iterator[Problem]:
    """Every entry whose derived name another entry, gkeml or GKE already has (reported at the later entry).
    Two entries of one name (the same owner) are a duplicate entry, reported as such by
    :func:`gkeml.config.checks.reference_problems`."""
    first: dict[tuple[str, str], Derived] = {}
    for item in derived_names(env):
        owner = first.setdefault((item.kind, item.name), item)
        if owner is not item and item.path and owner.owner != item.owner:
            yield item.path, f"{item.kind} {item.name!r} already belongs to {owner.owner}; {item.fix}"


def service_account_ids(env: Environment) -> dict[str, str]:
    """Account ids of the Google service accounts ``env`` creates in its project, and whose they are."""
    accounts: dict[str, str] = {}
    for d in derived_names(env):
        if d.kind == "service account":
            accounts.setdefault(d.name, d.owner)
    return accounts


# Labels a resource of the cloud stack adds to the provider's default labels (buckets: purpose).
RESOURCE_LABEL_KEYS = ("purpose",)


def _label_problems(env: Environment) -> Iterator[Problem]:
    """A resource holds at most 64 labels (gkeml.config.base.MAX_LABELS): the provider's default labels
    (project.labels and gkeml's own), what a resource adds, and on the cluster cluster.labels too."""
    ours = set(gkeml_labels(env.name, layer="bootstrap")) | set(RESOURCE_LABEL_KEYS)  # the most a stack adds
    project = set(env.project.labels)
    if len(project | ours) > MAX_LABELS:
        yield (
            ("project", "labels"),
            f"{len(project)} labels and gkeml's {len(ours - project)} make {len(project | ours)} on a resource; "
            f"Google Cloud allows {MAX_LABELS}: drop some",
        )
    on_cluster = project | set(env.cluster.labels) | set(gkeml_labels(env.name))
    if len(project | ours) <= MAX_LABELS and len(on_cluster) > MAX_LABELS:
        yield (
            ("cluster", "labels"),
            f"with project.labels and gkeml's, the cluster would carry {len(on_cluster)} labels; Google Cloud "
            f"allows {MAX_LABELS}: drop some",
        )


def name_problems(env: Environment) -> list[Problem]:
    """Every derived name (and label set) of ``env`` that GCP would refuse or that another entry already has,
    at the key that makes it."""
    return list(_name_problems(env)) + list(_label_problems(env)) + list(collision_problems(env))


def _name_problems(env: Environment) -> Iterator[Problem]:
    from gkeml.config.exposure import kept_exposures

    names = Names.of(env)
    yield from _state_problems(env, names)
    prefix_key = ("prefix",) if "prefix" in env.model_fields_set else ("project", "id")
    if not CLUSTER_NAME.fullmatch(names.cluster):
        yield (
            prefix_key,
            f"cluster name {names.cluster!r} is invalid: at most 40 of a-z 0-9 '-', starting with "
            "a letter and not ending with '-'; set prefix",
        )
    for name in (names.network, names.subnet, names.firewall_deny_ingress, names.router, names.nat):
        if not RFC1035.fullmatch(name):
            yield prefix_key, f"resource name {name!r} is longer than 63 characters or ends with '-'; shorten prefix"
    if not SERVICE_ACCOUNT_ID.fullmatch(names.node_service_account):
        yield (
            ("name",),
            f"node service account id {names.node_service_account!r} is longer than 30 characters; "
            "use an environment name of at most 20",
        )
    for i, ident in enumerate(env.identities):
        if ident.mode == "classic" and not SERVICE_ACCOUNT_ID.fullmatch(names.gsa(ident.name)):
            yield (
                ("identities", i, "name"),
                f"service account id {names.gsa(ident.name)!r} must be 6-30 chars of a-z 0-9 -; shorten the name",
            )
    for i, b in enumerate(env.buckets):
        problem = bucket_name_problem(names.bucket(b.name))
        if problem:
            yield ("buckets", i, "name"), problem
    if bucket_name_problem(names.access_log_bucket):
        yield prefix_key, bucket_name_problem(names.access_log_bucket) or ""
    for name in (names.proxy_only_subnet, names.firewall_allow_proxies) if env.network.proxy_only_cidr else ():
        if not RFC1035.fullmatch(name):
            yield prefix_key, f"resource name {name!r} is longer than 63 characters or ends with '-'; shorten prefix"
    for i, e in enumerate(env.endpoints):
        certificates = [("certificate", names.certificate(e.name, host)) for host in e.certificate_hosts]
        for way in (w for w in kept_exposures(e) if w in GATEWAY_TAGS):
            certificates.append(("static IP", names.gateway_address(e.name, way)))
            certificates += [("certificate", names.gateway_certificate(e.name, way, h)) for h in e.certificate_hosts]
        for kind, name in [("static IP", names.address(e.name)), *certificates]:
            if not RFC1035.fullmatch(name):
                yield (
                    ("endpoints", i, "name"),
                    f"{kind} name {name!r} is longer than 63 characters; shorten the endpoint name or prefix",
                )
    for i, s in enumerate(env.secrets):
        if len(names.secret(s.name)) > platform.SECRET_ID_MAX_LENGTH:
            yield ("secrets", i, "name"), f"secret id {names.secret(s.name)!r} is too long"
