"""Quota fit: a workload at its largest must fit its namespace's ResourceQuota.

Admission checks one Pod at a time, so a Job whose second Pod exceeds the quota is created, its first
Pod runs (and holds its GPUs) and the rest fail with ``exceeded quota`` for as long as the Job lives;
a Deployment whose rollout surge or last HPA replica exceeds it stalls. This rule adds up what the
namespace holds at the worst moment, per quota entry (``requests.cpu``, ``limits.memory``,
``requests.nvidia.com/gpu``, ``pods``...):

- a Job (or JobSet, CronJob, Pod, RayJob): all of its parallel Pods, on top of the namespace's
  long-running workloads at their minimum replicas;
- a Deployment, StatefulSet, LeaderWorkerSet, RayCluster or RayService: every long-running workload of
  the namespace at its maximum (the autoscaler's ``maxReplicas``, a Ray worker group's) plus this one's
  rollout surge (a RayService's zero-downtime upgrade runs a second cluster).

Every kind's pods come from the one extraction of pod templates (:data:`gkeml.rules.engine.WORKLOAD_KINDS`).

A Pod counts what the API server sees after every mutating admission step: its containers'
requests (a container without them gets its limits, then the namespace LimitRange's defaults), init
containers the way the scheduler counts them (native sidecars add up, others run alone), and the
GCS FUSE sidecar that the driver's webhook injects from the ``gke-gcsfuse/*`` annotations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gkeml import platform
from gkeml.manifests import Obj
from gkeml.registry import CAPACITY, ERROR
from gkeml.rules.engine import (
    Group,
    Issue,
    PodTemplate,
    add_amounts,
    as_dict,
    as_list,
    count_of,
    effective_total,
    get,
    injected_sidecar,
    kind_of,
    name_of,
    namespace_of,
    pod_templates,
    quantity,
    rule,
)
from gkeml.rules.ownership import autoscaled_replicas

LONG_RUNNING = ("Deployment", "StatefulSet", "ReplicaSet", "LeaderWorkerSet", "RayCluster", "RayService")
BATCH = ("Job", "JobSet", "CronJob", "Pod", "RayJob")
# Quota entries this rule adds up, and the (kind, resource) of a container they count.
QUOTA_ENTRIES: dict[str, tuple[str, str]] = {
    "requests.cpu": ("requests", "cpu"),
    "cpu": ("requests", "cpu"),
    "limits.cpu": ("limits", "cpu"),
    "requests.memory": ("requests", "memory"),
    "memory": ("requests", "memory"),
    "limits.memory": ("limits", "memory"),
    "requests.ephemeral-storage": ("requests", "ephemeral-storage"),
    "limits.ephemeral-storage": ("limits", "ephemeral-storage"),
    platform.GPU_QUOTA_RESOURCE: ("requests", platform.GPU_RESOURCE),
}
GIB = 2**30


@dataclass(frozen=True)
class Quota:
    """The hard limits of one ResourceQuota that applies to every Pod of its namespace."""

    name: str
    hard: dict[str, float]
    gkeml_team: str | None  # set when gkeml made it (teams.<team>.quota in the environment file)


def namespace_quotas(group: Group, namespace: str) -> list[Quota]:
    """ResourceQuotas of ``namespace`` in the group; scoped ones (they count only some Pods) are skipped."""
    quotas = []
    for obj in group.of_kind("ResourceQuota", namespace):
        spec = as_dict(obj.get("spec"))
        if spec.get("scopes") or spec.get("scopeSelector"):
            continue
        hard = {}
        for key, value in as_dict(spec.get("hard")).items():
            amount = quantity(value)
            if amount is not None and (key in QUOTA_ENTRIES or key == "pods"):
                hard[key] = amount
        labels = as_dict(get(obj, "metadata", "labels"))
        team = labels.get("gkeml.io/team") if labels.get("app.kubernetes.io/managed-by") == "gkeml" else None
        quotas.append(Quota(name_of(obj), hard, team if isinstance(team, str) else None))
    return quotas


def _limit_range_defaults(group: Group, namespace: str) -> tuple[dict[str, float], dict[str, float]]:
    """(defaultRequest, default) per resource of the namespace's Container LimitRanges."""
    requests: dict[str, float] = {}
    limits: dict[str, float] = {}
    for obj in group.of_kind("LimitRange", namespace):
        for item in as_list(get(obj, "spec", "limits")):
            if get(item, "type") != "Container":
                continue
            for target, key in ((requests, "defaultRequest"), (limits, "default")):
                for resource, value in as_dict(get(item, key)).items():
                    amount = quantity(value)
                    if amount is not None:
                        target.setdefault(resource, amount)
    for resource, amount in limits.items():  # a default limit is also the default request
        requests.setdefault(resource, amount)
    return requests, limits


def _container(resources: Any, defaults: tuple[dict[str, float], dict[str, float]]) -> dict[tuple[str, str], float]:
    """What one container counts, keyed (requests|limits, resource), after API defaulting
    (requests from limits) and the LimitRange (defaults for what is still missing)."""
    default_requests, default_limits = defaults
    out: dict[tuple[str, str], float] = {}
    for resource in {r for _, r in QUOTA_ENTRIES.values()}:
        request = quantity(get(resources, "requests", resource))
        limit = quantity(get(resources, "limits", resource))
        if request is None:
            request = limit if limit is not None else default_requests.get(resource)
        if limit is None:
            limit = default_limits.get(resource)
        if resource == platform.GPU_RESOURCE and limit is not None:  # extended resources: request == limit
            request = limit
        for kind, value in (("requests", request), ("limits", limit)):
            if value is not None:
                out[(kind, resource)] = value
    return out


def pod_totals(pod: PodTemplate, group: Group, namespace: str, injected: bool = True) -> dict[tuple[str, str], float]:
    """What one Pod requests and limits, keyed (requests|limits, resource), as the scheduler adds it up
    (:func:`~gkeml.rules.engine.effective_total`: app containers and native sidecars together, with ``injected``
    the GCS FUSE sidecar the driver's webhook adds, or an ordinary init container with the sidecars started
    before it); LimitRange defaults for what a container leaves out."""
    defaults = _limit_range_defaults(group, namespace)
    return effective_total(
        pod, lambda c: _container(get(c, "resources"), defaults), injected_sidecar(pod) if injected else None
    )


def pod_demand(pod: PodTemplate, group: Group, namespace: str) -> dict[str, float]:
    """What one Pod counts against each quota entry (plus ``pods``: 1), injected sidecars included."""
    peak = pod_totals(pod, group, namespace)
    demand = {entry: peak.get(counted, 0.0) for entry, counted in QUOTA_ENTRIES.items()}
    demand["pods"] = 1.0
    return demand


@dataclass(frozen=True)
class Footprint:
    """What a workload holds in its namespace at its largest: Pods of each template and their demand."""

    pods: int
    demand: dict[str, float]  # all pods together, per quota entry
    what: str  # e.g. "2 pods", "max 8 replicas + 1 surge"


def _surge(obj: Obj, replicas: int) -> int:
    """Extra Pods an update creates next to ``replicas``: maxSurge (default 25%, rounded up) of a RollingUpdate
    Deployment; a whole second RayCluster for a RayService (its zero-downtime upgrade, on unless
    spec.upgradeStrategy.type says otherwise: kuberay v1.7.0 rayservice_controller.go
    isZeroDowntimeUpgradeEnabled)."""
    if kind_of(obj) == "RayService":
        upgrade = get(obj, "spec", "upgradeStrategy", "type")
        return replicas if upgrade in (None, "NewCluster") else 0
    if kind_of(obj) != "Deployment" or get(obj, "spec", "strategy", "type") == "Recreate":
        return 0
    value = get(obj, "spec", "strategy", "rollingUpdate", "maxSurge")
    value = "25%" if value is None else value
    if isinstance(value, str) and value.endswith("%"):
        try:
            return math.ceil(replicas * float(value[:-1]) / 100)
        except ValueError:
            return 0
    return count_of(value) or 0


def long_running_pods(obj: Obj, pod: PodTemplate, group: Group, at_max: bool) -> int:
    """Pods of ``pod`` a long-running workload runs at its smallest or largest: its autoscaler's (HPA, KEDA)
    minimum or maximum replicas times the template's pods per replica, else the template's own range
    (a RayCluster's in-tree autoscaler) or count (spec.replicas)."""
    scaled = autoscaled_replicas(obj, group)
    if scaled is not None:
        return (scaled[1] if at_max else scaled[0]) * pod.per_replica
    return pod.high if at_max else pod.low


def footprint(obj: Obj, group: Group, at_max: bool, with_surge: bool = False) -> Footprint | None:
    """The Pods ``obj`` holds: a batch workload all of its parallel Pods; a long-running one at its
    minimum or maximum replicas (plus the rollout surge when asked)."""
    templates = pod_templates(obj)
    if not templates:
        return None
    ns = namespace_of(obj)
    demand: dict = {}
    pods, parts = 0, []
    for pod in templates:
        if kind_of(obj) in LONG_RUNNING:
            count = long_running_pods(obj, pod, group, at_max)
            surge = _surge(obj, count) if with_surge else 0
            what = f"{count} replica(s)" + (f" + {surge} rollout surge" if surge else "")
            count += surge
        else:
            count = pod.replicas
            what = f"{count} parallel pod(s)"
        parts.append(f"{pod.role}: {what}" if pod.role and len(templates) > 1 else what)
        one = pod_demand(pod, group, ns)
        demand = add_amounts(demand, {k: v * count for k, v in one.items()})
        pods += count
    return Footprint(pods, demand, "; ".join(parts))


def amount(entry: str, value: float) -> str:
    """A quantity of a quota entry or resource as people read it: vCPU, GiB, or a count (GPUs, pods)."""
    if "memory" in entry or "ephemeral-storage" in entry:
        return f"{value / GIB:.4g} GiB"
    if entry.endswith("cpu"):
        return f"{value:.4g} vCPU"
    return f"{value:g}"


@dataclass(frozen=True)
class Shortfall:
    """One quota entry a workload at its largest exceeds."""

    quota: Quota
    entry: str  # e.g. requests.cpu
    need: float  # the namespace's total with the workload at its largest
    hard: float
    own: Footprint
    rest: float  # what the namespace's other workloads hold meanwhile
    namespace: str
    long_running: bool

    @property
    def resource(self) -> str:
        """cpu, memory, ephemeral-storage, nvidia.com/gpu or pods."""
        return QUOTA_ENTRIES[self.entry][1] if self.entry in QUOTA_ENTRIES else self.entry

    @property
    def owner(self) -> str:
        return f"team {self.quota.gkeml_team}" if self.quota.gkeml_team else f"namespace {self.namespace or '(none)'}"

    def message(self) -> str:
        per_pod = self.own.demand.get(self.entry, 0.0) / self.own.pods if self.own.pods else 0.0
        besides = f" + {amount(self.entry, self.rest)} held by its other workloads" if self.rest else ""
        return (
            f"{self.owner} needs {amount(self.entry, self.need)} of {self.entry} ({self.own.what} x "
            f"{amount(self.entry, per_pod)}{besides}), its ResourceQuota {self.quota.name} allows "
            f"{amount(self.entry, self.hard)}: pods beyond it are never created"
        )

    def fix(self, environment_file: str = "the environment file") -> str:
        where = (
            f"teams.{self.quota.gkeml_team}.quota in {environment_file}"
            if self.quota.gkeml_team
            else f"ResourceQuota {self.quota.name}"
        )
        if self.long_running:
            return (
                f"lower the maximum replicas or the pod's requests, roll GPU pods without surge "
                f"(maxSurge: 0, maxUnavailable: 1), or raise {self.entry} in {where}"
            )
        per_pod = self.own.demand.get(self.entry, 0.0) / self.own.pods if self.own.pods else 0.0
        fits = max(int((self.hard - self.rest) // per_pod), 0) if per_pod else 0
        return (
            f"at most {fits} pod(s) of this size fit: lower the pod's requests or the parallel pods, "
            f"or raise {self.entry} in {where}"
        )


def quota_shortfalls(obj: Obj, group: Group) -> list[Shortfall]:
    """The quota entries ``obj`` at its largest exceeds, one per resource (requests before limits)."""
    kind = kind_of(obj)
    if kind not in LONG_RUNNING + BATCH:
        return []
    ns = namespace_of(obj)
    quotas = namespace_quotas(group, ns)
    own = footprint(obj, group, at_max=True, with_surge=True) if quotas else None
    if own is None:
        return []
    long_running = kind in LONG_RUNNING
    others: dict = {}
    for other in group.objects:
        if other is obj or namespace_of(other) != ns or kind_of(other) not in LONG_RUNNING:
            continue
        theirs = footprint(other, group, at_max=long_running)
        if theirs is not None:
            others = add_amounts(others, theirs.demand)
    found: dict[tuple[str, str], Shortfall] = {}
    for quota in quotas:
        for entry in sorted(quota.hard, key=lambda e: (not e.startswith("requests."), e)):
            hard = quota.hard[entry]
            need = own.demand.get(entry, 0.0) + others.get(entry, 0.0)
            if need > hard * (1 + 1e-9):
                short = Shortfall(quota, entry, need, hard, own, others.get(entry, 0.0), ns, long_running)
                found.setdefault((quota.name, short.resource), short)
    return list(found.values())


@rule(
    "GKE025",
    "A workload at its largest must fit its namespace's ResourceQuota",
    ERROR,
    kind=CAPACITY,
    inspects=LONG_RUNNING + BATCH,
)
def quota_fit(obj: Obj, group: Group) -> Iterator[Issue]:
    """Pods beyond a namespace's ResourceQuota are never created: a Job's remaining Pods fail with
    "exceeded quota" (the first ones hold their GPUs waiting for the rest), a rollout or scale-up
    stalls. Every parallel Pod of a Job, and every long-running workload at its maximum replicas plus
    a rollout's surge, counts with the GCS FUSE sidecar and the LimitRange defaults.

    Source: kubernetes.io/docs/concepts/policy/resource-quotas (a Pod beyond the quota is refused);
    gcs-fuse-csi-driver pkg/webhook/config.go (the sidecar it injects)."""
    for short in quota_shortfalls(obj, group):
        yield Issue("spec", short.message(), short.fix())
