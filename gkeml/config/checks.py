"""Checks that span sections of an environment file, each a small named function.

References between sections (an identity's team, the buckets it reads, ...) are DATA
(:data:`REFERENCES`) checked on the plain YAML, so they are reported even when another key
of the file is invalid: a user sees every problem of a file in one run. The other checks
run on the validated model. Each problem carries the path of the key to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gkeml import platform
from gkeml.config.base import Problem
from gkeml.config.exposure import EXPOSURE_CHECKS
from gkeml.config.images import image_admission_problem
from gkeml.config.kueue import admission_ceiling, kueue_problems
from gkeml.config.loader import did_you_mean, field_name, file_line
from gkeml.config.model import Environment
from gkeml.config.reservations import RESERVATION_CHECKS
from gkeml.config.roles import workload_role_problem
from gkeml.config.services import SERVICE_CHECKS
from gkeml.config.serving_model import model_serving_problems
from gkeml.config.tiers import override_findings, tier_problems
from gkeml.config.versions import version_problems
from gkeml.config.volumes import volume_problems
from gkeml.registry import ADVICE, ENVIRONMENT, WARNING, Check, Finding, register
from gkeml.units import parse_quantity

ANY = "*"


@dataclass(frozen=True)
class Reference:
    """Values at ``path`` (``*`` = every list item) must name an item of ``section``."""

    path: tuple[str, ...]
    section: str
    what: str
    also: tuple[str, ...] = ()  # names defined elsewhere (built-in compute classes)


REFERENCES: tuple[Reference, ...] = (
    Reference(("identities", ANY, "namespace"), "teams", "team"),
    Reference(("identities", ANY, "reads", ANY), "buckets", "bucket"),
    Reference(("identities", ANY, "writes", ANY), "buckets", "bucket"),
    Reference(("identities", ANY, "secrets", ANY), "secrets", "secret"),
    Reference(("inference", ANY, "team"), "teams", "team"),
    Reference(("inference", ANY, "identity"), "identities", "identity"),
    Reference(("inference", ANY, "endpoint"), "endpoints", "endpoint"),
    Reference(("inference", ANY, "model", "bucket"), "buckets", "bucket"),
    Reference(
        ("inference", ANY, "compute_class"), "compute_classes", "compute class", platform.BUILTIN_COMPUTE_CLASSES
    ),
    Reference(("training", ANY, "team"), "teams", "team"),
    Reference(("compute_classes", ANY, "reservation"), "reservations", "reservation"),
    Reference(("launch", "identity"), "identities", "identity"),
    Reference(("launch", "secret"), "secrets", "secret"),
    Reference(("launch", "teams", ANY), "teams", "team"),
    Reference(("volumes", ANY, "team"), "teams", "team"),
    Reference(("volumes", ANY, "source", "bucket"), "buckets", "bucket"),
    Reference(("volumes", ANY, "source", "identity"), "identities", "identity"),
)
# Lists whose items carry a unique name (and the other keys that must be unique): (list, key).
UNIQUE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("teams",), "name"),
    (("buckets",), "name"),
    (("identities",), "name"),
    (("endpoints",), "name"),
    (("endpoints",), "host"),
    (("secrets",), "name"),
    (("inference",), "name"),
    (("compute_classes",), "name"),
    (("reservations",), "name"),
    (("training",), "name"),
    (("volumes",), "name"),  # a job names a volume by name alone
    (("cluster", "maintenance", "exclusions"), "name"),  # GKE keys exclusions by name
    (("launch", "queues"), "name"),
    (("guard_overrides",), "guard"),
)


def _values(node: Any, pattern: tuple[str, ...], path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if not pattern:
        yield path, node
        return
    head, rest = pattern[0], pattern[1:]
    if head == ANY:
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _values(item, rest, path + (i,))
    elif isinstance(node, dict) and head in node:
        yield from _values(node[head], rest, path + (head,))


def _names(data: dict, section: str, key: str = "name") -> list[str]:
    items = data.get(section)
    return (
        [i[key] for i in items if isinstance(i, dict) and isinstance(i.get(key), str)]
        if isinstance(items, list)
        else []
    )


def duplicate_problems(node: Any, path: tuple = ()) -> Iterator[Problem]:
    """Every repeated item of a list of strings anywhere in the plain data of a config file (roles, reads,
    secrets, Launch teams, zones, hosts, ...): an item listed twice means nothing more than once, and
    where each item becomes a resource (a grant, a secret sync) the copy would be a second resource of
    the same name that Terraform refuses."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from duplicate_problems(value, (*path, key))
    elif isinstance(node, list):
        seen: dict[str, int] = {}
        for i, item in enumerate(node):
            if isinstance(item, str):
                if item in seen:
                    yield (
                        (*path, i),
                        f"{item!r} is listed twice (also at {field_name((*path, seen[item]))}); remove one",
                    )
                seen.setdefault(item, i)
            else:
                yield from duplicate_problems(item, (*path, i))


def reference_problems(data: Any) -> list[Problem]:
    """Dangling references, duplicate names and duplicate list items, on the plain data of an
    environment file."""
    if not isinstance(data, dict):
        return []
    problems: list[Problem] = list(duplicate_problems(data))
    for section, key in UNIQUE:
        seen: dict[str, int] = {}
        for path, value in _values(data, (*section, ANY, key)):
            if not isinstance(value, str):
                continue
            index = path[len(section)]
            if value in seen:
                problems.append((path, f"duplicate {key} {value!r} (also at {field_name((*section, seen[value]))})"))
            seen.setdefault(value, index)
    for ref in REFERENCES:
        defined = _names(data, ref.section) + list(ref.also)
        for path, value in _values(data, ref.path):
            if isinstance(value, str) and value not in defined:
                problems.append(
                    (
                        path,
                        f"unknown {ref.what} {value!r}{did_you_mean(value, defined)}; "
                        f"defined: {', '.join(defined) or 'none'}",
                    )
                )
    return problems


# --- checks on the validated model ------------------------------------------------------


def _teams(env: Environment) -> Iterator[Problem]:

    for i, team in enumerate(env.teams):
        if platform.is_system_namespace(team.name):
            yield (
                ("teams", i, "name"),
                f"{team.name!r} is a system namespace (default, kube-*, gke-*, gmp-* belong "
                "to Kubernetes and GKE); name the team's own namespace",
            )
        elif team.name == platform.METRICS_ADAPTER_NAMESPACE and env.needs_metrics_adapter:
            yield (
                ("teams", i, "name"),
                f"{team.name!r} is the namespace of the metrics adapter an external_metric "
                "needs; name the team differently",
            )
        yield from _people(env, i, team)


def _people(env: Environment, i: int, team: Any) -> Iterator[Problem]:
    """A team's members and groups: people (no service account), each listed once, and groups only with
    Google Groups for RBAC on the cluster."""
    seen: dict[str, tuple] = {}
    entries = [("members", j, m.email) for j, m in enumerate(team.members)]
    entries += [("groups", j, g.email) for j, g in enumerate(team.groups)]
    for section, j, email in entries:
        path = ("teams", i, section, j, "email")
        if email.endswith(platform.SERVICE_ACCOUNT_EMAIL_SUFFIXES):
            yield (
                path,
                f"{email} is a service account, not a person: a workload gets access through identities "
                "(its Kubernetes service account), CI through the bootstrap's identities",
            )
        first = seen.setdefault(email, path)
        if first != path:
            yield (path, f"{email} is also listed at {field_name(first)}; list it once, with the role it needs")
    security_group = env.cluster.rbac_security_group
    for j, group in enumerate(team.groups):
        path = ("teams", i, "groups", j, "email")
        if group.email == security_group:
            yield (
                path,
                f"{group.email} is the cluster's rbac_security_group, which holds the groups RBAC may name; "
                "list one of its member groups",
            )
        elif security_group is None:
            yield (
                path,
                "a group needs Google Groups for RBAC on the cluster: set cluster.rbac_security_group to "
                "gke-security-groups@YOUR-DOMAIN and make this group a member of it (or list the people under "
                "members)",
            )


# An authorized network this wide opens the control plane's IP endpoint to (almost) the whole internet.
MIN_AUTHORIZED_PREFIX = 8


def _cluster(env: Environment) -> Iterator[Problem]:
    c = env.cluster
    region = env.project.region
    allowed = platform.COMPUTE_ZONES[region]
    for i, z in enumerate(c.zones):
        if z not in allowed:
            other = next((r for r, zones in platform.COMPUTE_ZONES.items() if z in zones), None)
            what = f"zone {z!r} is in region {other}, not {region}" if other else f"unknown zone {z!r}"
            yield (
                ("cluster", "zones", i),
                f"{what}; zones of {region} (as of {platform.ZONES_CHECKED_ON}): {', '.join(allowed)}",
            )
    if c.public_endpoint and not c.authorized_networks:
        yield (
            ("cluster", "authorized_networks"),
            "public_endpoint needs at least one authorized network (an empty list admits nobody)",
        )
    if env.tier != "dev":
        for i, net in enumerate(c.authorized_networks):
            if net.cidr.prefixlen < MIN_AUTHORIZED_PREFIX:
                yield (
                    ("cluster", "authorized_networks", i, "cidr"),
                    f"{net.cidr} opens the control plane to most of the internet; outside dev list the networks "
                    f"that need it (/{MIN_AUTHORIZED_PREFIX} or narrower)",
                )


def _locations_for(region: str) -> str:
    """The bucket locations that keep data in ``region``: the region, the dual- and multi-regions that
    contain it, and the configurable dual-regions it can be one half of."""
    containing = [
        code
        for code, regions in {**platform.GCS_DUAL_REGIONS, **platform.GCS_MULTI_REGIONS}.items()
        if region in regions
    ]
    configurable = [
        f"{code} with data_locations [{region}, one of {', '.join(r for r in regions if r != region)}]"
        for code, regions in platform.GCS_CONFIGURABLE_DUAL_REGIONS.items()
        if region in regions
    ]
    return ", ".join([f"{region.upper()} (the default: remove the key)", *containing, *configurable])


def _bucket_regions(i: int, bucket: Any, region: str) -> tuple[tuple[str, ...] | None, list[Problem]]:
    """The regions a bucket keeps its data in (None when its location is not one Cloud Storage offers),
    and what is wrong with its location and data_locations."""
    code = bucket.location.upper()
    dated = f"Cloud Storage locations as of {platform.ZONES_CHECKED_ON}"
    configurable = platform.GCS_CONFIGURABLE_DUAL_REGIONS
    if not bucket.data_locations:
        regions = platform.bucket_location_regions(bucket.location)
        if regions is not None:
            return regions, []
        known = [*(r.upper() for r in platform.COMPUTE_ZONES), *platform.GCS_DUAL_REGIONS, *platform.GCS_MULTI_REGIONS]
        what = (
            f"{code} is a configurable dual-region: list two of its regions in data_locations"
            if code in configurable
            else f"unknown location {bucket.location!r}{did_you_mean(code, known)}"
        )
        return None, [(("buckets", i, "location"), f"{what}; allowed here: {_locations_for(region)} ({dated})")]
    if code not in configurable:
        return None, [
            (
                ("buckets", i, "location"),
                f"{bucket.location} is no configurable dual-region, which data_locations needs; allowed here: "
                f"{_locations_for(region)} ({dated})",
            )
        ]
    allowed = configurable[code]
    chosen = [r.lower() for r in bucket.data_locations]
    problems: list[Problem] = [
        (
            ("buckets", i, "data_locations", j),
            f"{r!r} is not a region of the configurable dual-region {code}; its "
            f"regions: {', '.join(allowed)} ({dated})",
        )
        for j, r in enumerate(bucket.data_locations)
        if r.lower() not in allowed
    ]
    if len(chosen) != 2 or len(set(chosen)) != 2:
        problems.append(
            (
                ("buckets", i, "data_locations"),
                f"a dual-region is two different regions, not {', '.join(bucket.data_locations)}",
            )
        )
    elif frozenset(chosen) in platform.GCS_PREDEFINED_ONLY_PAIRS:
        predefined = platform.GCS_PREDEFINED_ONLY_PAIRS[frozenset(chosen)]
        problems.append(
            (
                ("buckets", i, "data_locations"),
                f"Cloud Storage offers this pair only as the predefined "
                f"dual-region {predefined}; set location: {predefined} and "
                "remove data_locations",
            )
        )
    return (None if problems else tuple(chosen)), problems


def _buckets(env: Environment) -> Iterator[Problem]:
    """Every bucket in a location Cloud Storage offers, holding its data where the cluster runs: its only
    readers are the cluster's Pods (through GCS FUSE), so a bucket elsewhere makes every read cross regions
    (inter-region data transfer billed per GiB, again on every epoch, and latency that starves GPUs), and
    moving it later means a new bucket and copying the data. An error, not a warning: nothing in the file
    reads the bucket from elsewhere."""
    region = env.project.region
    for i, bucket in enumerate(env.buckets):
        regions, problems = _bucket_regions(i, bucket, region)
        yield from problems
        if regions is not None and region not in regions:
            yield (
                ("buckets", i, "location"),
                f"{bucket.location} keeps its data in {', '.join(regions)}, not in the cluster's region {region}: "
                "every read through GCS FUSE would cross regions (data transfer billed per GiB on every epoch, "
                f"and latency that starves GPUs); use {_locations_for(region)}",
            )


def _identities(env: Environment) -> Iterator[Problem]:
    for i, ident in enumerate(env.identities):
        for j, role in enumerate(ident.roles):
            problem = workload_role_problem(role, env.project.id)
            if problem:
                yield ("identities", i, "roles", j), problem
        if ident.ksa == platform.DEFAULT_SERVICE_ACCOUNT:
            field = "service_account" if ident.service_account else "name"
            yield (
                ("identities", i, field),
                f"{platform.DEFAULT_SERVICE_ACCOUNT!r} is the service account every pod "
                "of the namespace runs as; name a dedicated one",
            )


def _inference(env: Environment) -> Iterator[Problem]:
    identities = {i.name: i for i in env.identities}
    for i, svc in enumerate(env.inference):
        problem = image_admission_problem(env, svc.image)
        if problem:
            yield ("inference", i, "image"), problem
        yield from compute_class_problems(
            env,
            ("inference", i),
            svc.compute_class,
            svc.gpu,
            svc.gpu_count,
            svc.spot,
            gpu_fix="leave gpu and gpu_count out (the class's are used)",
        )
        ident = identities.get(svc.identity or "")
        if ident is not None and ident.namespace != svc.team:
            yield (
                ("inference", i, "identity"),
                f"identity {svc.identity!r} lives in namespace {ident.namespace}, not {svc.team}",
            )


def compute_class_problems(
    env: Environment, where: tuple, class_name: str | None, gpu: str | None, gpu_count: int, spot: bool, gpu_fix: str
) -> Iterator[Problem]:
    """A workload on a custom ComputeClass gets its GPU and capacity from the class: a different GPU, or
    a Spot selector next to the class's (selectors that disagree leave the pod Pending), is refused."""
    cls = env.custom_compute_class(class_name)
    if cls is None:
        return
    if spot:
        yield (
            (*where, "spot"),
            (f"compute class {cls.name} decides Spot (capacity: {', '.join(cls.capacity)}); remove spot"),
        )
    if (gpu, gpu_count if gpu else None) != (cls.gpu, cls.gpu_count if cls.gpu else None):
        has = f"{cls.gpu_count} x {cls.gpu}" if cls.gpu else "no GPU"
        wants = f"{gpu_count} x {gpu}" if gpu else "no GPU"
        yield (*where, "gpu"), f"compute class {cls.name} has {has}, the workload asks for {wants}; {gpu_fix}"


# --- availability ----------------------------------------------------------------------------
# A service with one replica is down whenever that pod is replaced. `availability: high` (the default
# outside dev) needs a second replica; `best-effort` accepts the downtime, and `gkeml check` says so on every
# run (a notice that does not fail it, like ENV001).
AVAILABILITY_CHECK = register(
    Check(
        "ENV002",
        ENVIRONMENT,
        WARNING,
        "An inference service runs one replica (availability: best-effort)",
        "its only pod is replaced by every rollout (rollout: replace stops it first), node upgrade, drain or "
        "eviction (the PodDisruptionBudget lets it go) and, on a compute class that migrates, every move back to "
        "the preferred capacity; reported on every run so the choice stays visible.",
        "gkeml's availability setting (inference[].availability, high outside dev); "
        "kubernetes.io/docs/concepts/workloads/pods/disruptions (a PodDisruptionBudget of one pod lets it go)",
        basis=ADVICE,
        inspects=("Environment",),
        notice=True,
    )
)
HIGH_AVAILABILITY_REPLICAS = 2


def downtime(env: Environment, svc: Any) -> str:
    """When a service with one replica is down."""
    when = ["every rollout (rollout: replace stops the only pod before its successor is ready)"] * (
        svc.rollout == "replace"
    )
    when.append("every node upgrade, drain or eviction (its PodDisruptionBudget lets the only pod go)")
    cls = env.custom_compute_class(svc.compute_class)
    if cls is not None and cls.migrate_to_preferred:
        when.append(f"every move back to {cls.capacity[0]} (compute class {cls.name} migrates its pods)")
    return ", ".join(when)


def _availability(env: Environment) -> Iterator[Problem]:
    for i, svc in enumerate(env.inference):
        if svc.availability == "high" and svc.autoscaling.min_replicas < HIGH_AVAILABILITY_REPLICAS:
            yield (
                ("inference", i, "autoscaling", "min_replicas"),
                f"{svc.autoscaling.min_replicas} replica with availability high"
                f"{' (the default outside dev)' if env.tier != 'dev' else ''}: the service is down during "
                f"{downtime(env, svc)}; set min_replicas: {HIGH_AVAILABILITY_REPLICAS} (its team's quota must hold "
                "max_replicas), or availability: best-effort to accept it",
            )


def availability_findings(env: Environment, env_file: str) -> list[Finding]:
    """ENV002 for every service of the environment in ``env_file`` that accepts downtime (availability
    best-effort with one replica), at its ``min_replicas``."""
    found = []
    for i, svc in enumerate(env.inference):
        if svc.availability == "best-effort" and svc.autoscaling.min_replicas < HIGH_AVAILABILITY_REPLICAS:
            path = ("inference", i, "autoscaling", "min_replicas")
            found.append(
                AVAILABILITY_CHECK.finding(
                    f"{'LeaderWorkerSet' if svc.pods_per_replica > 1 else 'Deployment'}/{svc.team}/{svc.name}",
                    field_name(path),
                    f"inference service {svc.name} runs {svc.autoscaling.min_replicas} replica (availability "
                    f"best-effort): it is down during {downtime(env, svc)}",
                    f"set autoscaling.min_replicas: {HIGH_AVAILABILITY_REPLICAS} (and availability: high) where it "
                    "must stay up",
                    f"{env_file}:{file_line(env_file, path)}",
                )
            )
    return found


def environment_notices(env: Environment, env_file: str) -> list[Finding]:
    """What ``gkeml check`` reports on every run without failing it, for the environment in ``env_file``: its
    overrides (ENV001) and the services that accept downtime (ENV002)."""
    return override_findings(env, env_file) + availability_findings(env, env_file)


def _launch(env: Environment) -> Iterator[Problem]:
    launch = env.launch
    agent = next((i for i in env.identities if launch is not None and i.name == launch.identity), None)
    if launch is None or agent is None:
        return
    chart_ksa = platform.wandb_launch_service_account(launch.release)
    if agent.ksa != chart_ksa:
        yield (
            ("launch", "identity"),
            f"identity {agent.name!r} must set service_account: {chart_ksa} (the service account the chart creates)",
        )


def _endpoints(env: Environment) -> Iterator[Problem]:
    seen: dict[str, tuple] = {}
    for i, e in enumerate(env.endpoints):
        for field in ("previous_hosts", "retired_hosts"):
            for j, host in enumerate(getattr(e, field)):
                if host == e.host:
                    yield (
                        ("endpoints", i, field, j),
                        f"{host} is the endpoint's host; list only the hosts it moved from",
                    )
        if len(e.served_hosts) > platform.MAX_CERTIFICATES_PER_LOAD_BALANCER:
            yield (
                ("endpoints", i, "previous_hosts"),
                f"more than {platform.MAX_CERTIFICATES_PER_LOAD_BALANCER} hosts on one load balancer",
            )
        for j, host in enumerate(e.certificate_hosts):
            if host in seen and seen[host][1] != i:
                yield ("endpoints", i), f"host {host} is also a host of endpoints[{seen[host][1]}]"
            seen.setdefault(host, (j, i))
    retired = {e.name for e in env.endpoints if e.retired}
    for i, svc in enumerate(env.inference):
        if svc.endpoint in retired:
            yield (
                ("inference", i, "endpoint"),
                f"endpoint {svc.endpoint!r} is retired (it serves nothing); remove the service's endpoint or the "
                "endpoint's retired: true",
            )


def _training(env: Environment) -> Iterator[Problem]:
    """Every training budget fits what its team can ever be given at once (its quota, plus what it may
    borrow when Kueue is on): a budget beyond it prices, and budgets money for, work that never runs."""
    teams = {t.name: (i, t) for i, t in enumerate(env.teams)}
    for i, job in enumerate(env.training):
        if job.team not in teams:
            continue  # reported as a reference problem
        j, team = teams[job.team]
        ceiling = admission_ceiling(env, team, job.spot)
        per_node = {
            "cpu": round(parse_quantity(job.cpu) * 1000),
            "memory": round(parse_quantity(job.memory)),
            "gpus": job.gpu_count if job.gpu else 0,
        }
        what = {"gpus": f"one {'Spot' if job.spot else 'on-demand'} job", "cpu": "one job", "memory": "one job"}
        for resource, field, unit, scale in (
            ("gpus", "gpu_count", " GPU(s)", 1),
            ("cpu", "cpu", " vCPU", 1000),
            ("memory", "memory", " GiB", 2**30),
        ):
            need = per_node[resource] * job.nodes
            top = ceiling[resource]
            if need <= top.amount:
                continue
            borrow = " or kueue.borrowing_limit_percent" if env.kueue.enabled else ""
            yield (
                ("training", i, field),
                f"{job.nodes} node(s) x {per_node[resource] / scale:g}{unit} = {need / scale:g}{unit} at once; team "
                f"{team.name} is never given more than {top.explain(unit, scale)} for {what[resource]}; lower "
                f"{'gpu_count' if resource == 'gpus' else field} or nodes, or raise teams[{j}].quota.{resource}{borrow}",
            )


MODEL_CHECKS: tuple[Callable[[Environment], Iterator[Problem]], ...] = (
    tier_problems,
    _cluster,
    _buckets,
    _teams,
    _identities,
    _inference,
    _availability,
    _launch,
    volume_problems,
    version_problems,
    _endpoints,
    _training,
    kueue_problems,
    model_serving_problems,
    *SERVICE_CHECKS,
    *RESERVATION_CHECKS,
    *EXPOSURE_CHECKS,
)


def model_problems(env: Environment) -> list[Problem]:
    """Every problem the checks on the validated model find."""
    return [p for check in MODEL_CHECKS for p in check(env)]
