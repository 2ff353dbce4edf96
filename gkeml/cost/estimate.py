"""Monthly cost of an environment: Autopilot as configured, and the same workloads on Standard.

Autopilot bills Pod-based classes by request (vCPU, GiB, ephemeral GiB per hour,
after Autopilot raises requests to the class minimum and ratio) and GPU Pods by
node (VM + GPU + an Autopilot premium per GPU, node vCPU and node GiB). The
Standard comparison runs the same Pods on node pools of a stated machine type:
identical Pods are bin-packed onto as few nodes as their requests allow (after
GKE's node reservations and the system DaemonSets), GPU Pods get one node each,
plus an always-on system node. Both modes pay the cluster fee; only Autopilot
(and zonal Standard) clusters can use the free-tier credit, and these clusters
are regional.

The free-tier credit is one per billing account, whatever the number of clusters:
environments whose budgets name the same billing account split it evenly (the
caller names them, :func:`gkeml.environments.billing_account_sharers`), so their
estimates add up to what the account pays. A derived budget never counts on the
credit: it watches one project, and Google applies the account's credit to
whichever of its clusters it chooses.

Every figure is a monthly range: ``low`` with each inference service at its HPA
``min_replicas``, ``high`` at ``max_replicas``. Training runs ``nodes`` Pods for
``hours_per_day`` x ``days_per_month``; inference runs ``hours_per_day`` every day.

Reservations (``reservations:``) are billed whether their VMs run anything or not, at the VMs' on-demand
rates (compute/docs/instances/reservations-overview, "Billing"): one line each, in both modes. A VM that
consumes a reservation is not charged again, so a service on a class whose first rung is a reservation of
this project pays only the Autopilot premium on top. A reservation shared from another project is billed
there while idle; the consuming project pays for the reserved VMs it runs (compute/docs/instances/
best-practices-shared-reservations: consumer projects carry the cost of what they consume), so its line here
is zero and says what the owner pays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gkeml import platform
from gkeml.config.exposure import (
    GATEWAY_EXPOSURES,
    INGRESS,
    REGIONAL_EXPOSURES,
    inference_gateway_of,
    kept_exposures,
)
from gkeml.config.model import BucketConfig, Environment, HyperdiskMlVolume, Problem
from gkeml.config.reservations import RESERVATION, Reservation, reservation, reservations_of
from gkeml.config.services import MAX_MONEY_UNITS
from gkeml.config.serving_model import cold_start_seconds, pod_requests
from gkeml.cost.prices import Machine, PriceTable
from gkeml.units import gib, parse_quantity

# GKE metric packages built on kube-state-metrics (each adds series per replica)
KUBE_STATE_COMPONENTS = frozenset({"POD", "DEPLOYMENT", "HPA", "STATEFULSET", "DAEMONSET", "JOBSET", "STORAGE"})


class CostError(ValueError):
    """A workload the estimator cannot price (e.g. requests above what Autopilot accepts)."""


@dataclass(frozen=True)
class Cost:
    """A monthly amount in the table's currency: ``low`` at HPA minimum, ``high`` at maximum."""

    low: float
    high: float

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.low + other.low, self.high + other.high)

    def __sub__(self, other: Cost) -> Cost:
        return Cost(self.low - other.low, self.high - other.high)


ZERO = Cost(0.0, 0.0)


FREE_TIER_KEY = "free-tier credit"
STANDARD_ASSUMPTIONS = "standard."  # estimates under this section shape the Standard comparison only


@dataclass(frozen=True)
class LineItem:
    """One priced thing. ``key`` is stable across versions of the config (used for deltas); ``kind``
    groups items (cluster, inference, training, bucket, endpoint, registry, dns, monitoring) and ``team``
    names the team of a workload. ``unconfirmed`` lists the price-table ``estimates`` entries it used."""

    key: str
    basis: str
    autopilot: Cost
    standard: Cost
    standard_basis: str = ""
    unconfirmed: tuple[str, ...] = ()
    kind: str = ""
    team: str | None = None

    @property
    def estimated(self) -> bool:
        """True when the item uses a price or assumption listed under ``estimates``."""
        return bool(self.unconfirmed)

    @property
    def unconfirmed_prices(self) -> tuple[str, ...]:
        """The unconfirmed prices among :attr:`unconfirmed` (not the Standard-mode packing assumptions)."""
        return tuple(e for e in self.unconfirmed if not e.startswith(STANDARD_ASSUMPTIONS))


@dataclass(frozen=True)
class BudgetLine:
    """The environment's billing budget next to the estimate: its monthly amount and how it was set.
    A derived amount says which items it rests on that use unconfirmed prices (``unconfirmed``: item
    key, its Autopilot maximum, the ``estimates`` entries) and their share of the maximum it derives from."""

    amount: float
    currency: str
    basis: str
    thresholds: tuple[float, ...]
    forecast_thresholds: tuple[float, ...]
    derived: bool = False
    unconfirmed: tuple[tuple[str, float, tuple[str, ...]], ...] = ()
    unconfirmed_share: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "currency": self.currency,
            "basis": self.basis,
            "derived": self.derived,
            "thresholds": list(self.thresholds),
            "forecast_thresholds": list(self.forecast_thresholds),
            "unconfirmed_share": round(self.unconfirmed_share, 4),
            "unconfirmed": [
                {"item": key, "max": round(high, 2), "prices": list(prices)} for key, high, prices in self.unconfirmed
            ],
        }


@dataclass
class Estimate:
    """Every line item of one environment, with the price table it was computed from (and the budget
    the environment sets, when it has one)."""

    env: str
    prices: PriceTable
    items: list[LineItem]
    warnings: list[str] = field(default_factory=list)
    budget: BudgetLine | None = None
    quota_ceiling: QuotaCeiling | None = None

    @property
    def autopilot(self) -> Cost:
        """Total monthly cost on Autopilot."""
        return sum((i.autopilot for i in self.items), ZERO)

    @property
    def standard(self) -> Cost:
        """Total monthly cost of the same workloads on a Standard cluster."""
        return sum((i.standard for i in self.items), ZERO)

    def item(self, key: str) -> LineItem:
        """The line item with this key; KeyError names the keys there are."""
        for i in self.items:
            if i.key == key:
                return i
        raise KeyError(f"no line item {key!r}; have: {', '.join(i.key for i in self.items)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--format json``."""

        def cost(c: Cost) -> dict[str, float]:
            return {"min": round(c.low, 2), "max": round(c.high, 2)}

        return {
            "environment": self.env,
            "currency": self.prices.currency,
            "period": f"month ({self.prices.hours_per_month:g} h)",
            "prices": {"region": self.prices.region, "date": self.prices.date, "source": self.prices.source},
            "items": [
                {
                    "item": i.key,
                    "kind": i.kind,
                    "team": i.team,
                    "basis": i.basis,
                    "standard_basis": i.standard_basis,
                    "estimated": i.estimated,
                    "unconfirmed": list(i.unconfirmed),
                    "autopilot": cost(i.autopilot),
                    "standard": cost(i.standard),
                }
                for i in self.items
            ],
            "total": {"autopilot": cost(self.autopilot), "standard": cost(self.standard)},
            "budget": self.budget.to_dict() if self.budget else None,
            "quota_ceiling": self.quota_ceiling.to_dict() if self.quota_ceiling else None,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class TeamCeiling:
    """One team's GPU quota busy all month, priced at the GPU shape it runs that costs most per GPU."""

    team: str
    gpus: int
    shape: str | None  # e.g. "nvidia-l4 on g2-standard-8"; None: no workload names a GPU to price
    gpu_hour: float  # Autopilot, on-demand: node VM + premium, per GPU
    monthly: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "team": self.team,
            "gpus": self.gpus,
            "shape": self.shape,
            "gpu_hour": round(self.gpu_hour, 4),
            "monthly": round(self.monthly, 2),
        }


@dataclass(frozen=True)
class QuotaCeiling:
    """What the teams' GPU quotas allow at most: every quota GPU busy all month on-demand. With Kueue, the
    teams' queues together admit no more than the sum of their quotas (borrowing moves quota between teams,
    it adds none). Not part of the total: the estimate prices what is expected to run."""

    teams: tuple[TeamCeiling, ...]

    @property
    def gpus(self) -> int:
        return sum(t.gpus for t in self.teams)

    @property
    def monthly(self) -> float:
        return sum(t.monthly for t in self.teams)

    def to_dict(self) -> dict[str, Any]:
        return {"gpus": self.gpus, "monthly": round(self.monthly, 2), "teams": [t.to_dict() for t in self.teams]}


@dataclass(frozen=True)
class Workload:
    """What the estimator (and the capacity preflight) needs of an inference service or a training budget."""

    key: str
    team: str
    cpu: float
    memory_gib: float
    gpu: str | None
    gpu_count: int
    spot: bool
    compute_class: str | None
    replicas: tuple[int, int]
    hours: float  # per month, per replica
    schedule: str  # e.g. "10 h/day", "80 h/month"
    prepaid: str | None = None  # the reservation of this project whose line carries its VMs (premium only here)
    ephemeral_gib: float = platform.DEFAULT_EPHEMERAL_GIB


def endpoint_ways(env: Environment) -> list[tuple[str, str]]:
    """(endpoint, way of exposure) for every way each endpoint keeps (gkeml.config.exposure): what holds a static
    IP and forwarding rules."""
    return [(e.name, way) for e in env.endpoints for way in kept_exposures(e)]


def allocatable(machine: Machine, prices: PriceTable) -> tuple[float, float]:
    """vCPU and GiB a node of ``machine`` leaves for workload Pods: the node's allocatable
    (:func:`gkeml.platform.node_allocatable`) minus the system DaemonSets."""
    cpu, mem = platform.node_allocatable(machine.vcpu, machine.memory_gib)
    share = prices.standard.daemonset_per_node
    return cpu - share.vcpu, mem - share.memory_gib


def autopilot_requests(cpu: float, memory_gib: float, cls: platform.ComputeClass, what: str) -> tuple[float, float]:
    """The requests Autopilot bills for a Pod of ``cls``: raised to the class minimum and
    CPU:memory ratio (and CPU step); CostError when above the class maximum (Autopilot rejects it)."""
    cpu, memory_gib = cls.billed_requests(cpu, memory_gib)
    if cls.above_maximum(cpu, memory_gib):
        raise CostError(
            f"{what}: {cpu:g} vCPU / {memory_gib:g} GiB is above the {cls.name} maximum of "
            f"{cls.max_cpu:g} vCPU / {cls.max_memory_gib:g} GiB; Autopilot would reject the Pod"
        )
    return cpu, memory_gib


class Estimator:
    """Prices one environment with one price table (see the module docstring for the model).
    ``credit_shared_with`` names the other environments billed to the same account: the free-tier
    credit is split between them."""

    def __init__(self, prices: PriceTable, *, free_tier: bool = True, credit_shared_with: Sequence[str] = ()):
        self.prices = prices
        self.free_tier = free_tier
        self.credit_shared_with = tuple(credit_shared_with)
        self._data = prices.model_dump()
        self._used: set[str] = set()

    # -- price look-ups, recording which were used (for the 'estimate' flag) ----------
    def _price(self, path: str) -> Any:
        node: Any = self._data
        for key in path.split("."):
            node = node[key]
        self._used.add(path)
        return node

    def _begin(self) -> None:
        self._used = set()

    def _unconfirmed(self) -> tuple[str, ...]:
        """The ``estimates`` entries the prices used since :meth:`_begin` fall under."""
        return tuple(sorted({e for p in self._used for e in self.prices.estimates_of(p)}))

    # -- public --------------------------------------------------------------------
    def estimate(self, env: Environment) -> Estimate:
        """Every line item of ``env``: cluster, workloads, buckets, endpoints."""
        items = self._cluster(env)
        items += [self._reservation(r, env) for r in reservations_of(env)]
        items += [self._workload(w) for w in self.workloads(env)]
        items += [self._bucket(b, env.project.region) for b in env.buckets]
        items += [self._volume(v) for v in env.volumes]
        items += self._endpoints(endpoint_ways(env))
        items += self._certificate_manager(env)
        items = [self._cold_start(env, i) for i in items]
        warnings: list[str] = []
        items += self._services(env, items, warnings)
        if env.project.region != self.prices.region:
            warnings.append(
                f"prices are for {self.prices.region}, the environment is in {env.project.region}; "
                "pass a table for that region with --prices"
            )
        result = Estimate(env.name, self.prices, items, warnings)
        result.budget = self._budget(env, result)
        result.quota_ceiling = self.quota_ceiling(env)
        return result

    def _cold_start(self, env: Environment, item: LineItem) -> LineItem:
        """A model server's item says how long a new replica takes to answer and what that start costs (the
        replica is billed while it loads: gkeml.config.serving_model.cold_start_seconds)."""
        svc = next((s for s in env.inference if item.key == f"inference/{s.name}" and s.model), None)
        if svc is None or svc.model is None:
            return item
        pods = svc.pods_per_replica  # a multi-host replica is a group of that many Pods, started together
        pod_hours = svc.autoscaling.max_replicas * pods * svc.hours_per_day * self.prices.hours_per_month / 24
        seconds = cold_start_seconds(svc.model)
        per_start = item.autopilot.high / pod_hours * seconds / 3600 * pods if pod_hours else 0.0
        note = (
            f"; cold start ~{seconds / 60:.1f} min per new replica ({svc.model.size} of weights through GCS FUSE, "
            f"then the engine), {per_start:.2f} {self.prices.currency} per start"
        )
        return replace(item, basis=item.basis + note)

    def quota_ceiling(self, env: Environment) -> QuotaCeiling | None:
        """What the teams' GPU quotas allow at most (:class:`QuotaCeiling`); None when no team has GPU quota.
        A team's GPUs are priced at the GPU shape of its services and training budgets that costs most per
        GPU (on-demand; Spot can fall back to it), else at the environment's; unpriced without any."""
        if not any(t.quota.gpus for t in env.teams):
            return None
        shapes = [replace(w, spot=False) for w in self.workloads(env) if w.gpu]
        shapes += [
            Workload(f"compute class {c.name}", "", 0.0, 0.0, c.gpu, c.gpu_count, False, c.name, (1, 1), 0.0, "")
            for c in env.compute_classes
            if c.gpu
        ]
        priced = {}
        for w in shapes:
            name, vm_hour, premium_hour = self._gpu_node_hour(w)
            priced[w.key] = (f"{w.gpu} on {name}", (vm_hour + premium_hour) / w.gpu_count, w.team)
        teams = []
        for team in env.teams:
            if not team.quota.gpus:
                continue
            own = [p for p in priced.values() if p[2] == team.name] or list(priced.values())
            shape, gpu_hour, _ = max(own, key=lambda p: p[1], default=(None, 0.0, ""))
            monthly = team.quota.gpus * gpu_hour * self.prices.hours_per_month
            teams.append(TeamCeiling(team.name, team.quota.gpus, shape, gpu_hour, monthly))
        return QuotaCeiling(tuple(teams))

    # -- cluster ---------------------------------------------------------------------
    def _cluster(self, env: Environment) -> list[LineItem]:
        h = self.prices.hours_per_month
        self._begin()
        fee_rate = self._price("cluster.fee_per_hour")
        fee = fee_rate * h
        items = [
            LineItem(
                "cluster fee",
                f"{h:g} h x {fee_rate:g}/h (both modes)",
                Cost(fee, fee),
                Cost(fee, fee),
                unconfirmed=self._unconfirmed(),
                kind="cluster",
            )
        ]
        if self.free_tier:
            self._begin()
            items.append(self._free_tier(env, fee))
        self._begin()
        std = self.prices.standard
        machine = self.prices.machines[std.system_machine]
        system = std.system_nodes * self._price(f"machines.{std.system_machine}.on_demand_hour") * h
        self._price("standard.system_nodes")
        items.append(
            LineItem(
                "system nodes",
                "Autopilot: system Pods are not billed",
                ZERO,
                Cost(system, system),
                standard_basis=f"{std.system_nodes} x {std.system_machine} ({machine.vcpu:g} vCPU) for kube-system",
                unconfirmed=self._unconfirmed(),
                kind="cluster",
            )
        )
        return items

    def _free_tier(self, env: Environment, fee: float) -> LineItem:
        """The credit: one per billing account, up to the fees of its zonal and Autopilot clusters,
        split evenly between the environments billed to it."""
        credit = self._price("cluster.free_tier_credit_per_month")
        sharing = 1 + len(self.credit_shared_with)
        account_credit = min(credit, fee * sharing)
        share = account_credit / sharing
        what = f"one per billing account ({credit:g}/month for its zonal and Autopilot clusters; not regional Standard)"
        if env.budget is None:
            basis = f"{what}; no budget section names the account: assumed to be its only such cluster"
        elif not self.credit_shared_with:
            basis = f"{what}; no other environment here bills to {env.budget.billing_account}"
        else:
            others = ", ".join(self.credit_shared_with)
            basis = (
                f"{what}: {account_credit:,.2f} on {env.budget.billing_account}, split between the {sharing} "
                f"environments billed to it (this one, {others})"
            )
        return LineItem(
            FREE_TIER_KEY, basis, Cost(-share, -share), ZERO, unconfirmed=self._unconfirmed(), kind="cluster"
        )

    # -- reservations ----------------------------------------------------------------
    def _reservation(self, r: Reservation, env: Environment) -> LineItem:
        """A reservation's VMs all month at on-demand rates, used or not; zero here when another project owns it."""
        self._begin()
        h = self.prices.hours_per_month
        machine = r.machine
        if machine not in self.prices.machines:
            raise CostError(f"reservation/{r.name}: no machine {machine} in the price table (machines.{machine})")
        vm_hour = self._price(f"machines.{machine}.on_demand_hour")
        entry = self.prices.gpus.get(r.gpu)
        if entry is not None and entry.attached_gpu_hour is not None:
            vm_hour += r.gpu_count * self._price(f"gpus.{r.gpu}.attached_gpu_hour.on_demand")
        month = r.count * vm_hour * h
        shape = f"{r.count} x {machine} ({r.gpu_count} x {platform.GPUS[r.gpu].name}) in {r.zone}"
        owner = r.owner(env)
        if owner != env.project.id:
            basis = (
                f"{shape}, shared by {owner}: billed there whether used or not ({month:,.2f}/month at "
                f"{vm_hour:.4f}/h per VM); this project pays for the reserved VMs its nodes run (priced on its workloads)"
            )
            cost = ZERO
        else:
            basis = f"{shape}: billed whether used or not, {h:g} h x {vm_hour:.4f}/h per VM (on-demand rate)"
            cost = Cost(month, month)
        return LineItem(f"reservation/{r.name}", basis, cost, cost, unconfirmed=self._unconfirmed(), kind="reservation")

    # -- workloads -------------------------------------------------------------------
    def _workload(self, w: Workload) -> LineItem:
        self._begin()
        if w.gpu:
            return self._gpu_workload(w)
        return self._pod_workload(w)

    def _tier(self, spot: bool) -> str:
        return "spot" if spot else "regular"

    def _machine_hour(self, name: str, spot: bool) -> float:
        return self._price(f"machines.{name}.{'spot_hour' if spot else 'on_demand_hour'}")

    def _pod_workload(self, w: Workload) -> LineItem:
        cls_name = w.compute_class if w.compute_class in self.prices.autopilot.pod else platform.GENERAL_PURPOSE.name
        cls = platform.COMPUTE_CLASSES.get(cls_name, platform.GENERAL_PURPOSE)
        cpu, mem = autopilot_requests(w.cpu, w.memory_gib, cls, w.key)
        eph = w.ephemeral_gib
        base = f"autopilot.pod.{cls_name}.{self._tier(w.spot)}"
        pod_hour = (
            cpu * self._price(f"{base}.vcpu_hour")
            + mem * self._price(f"{base}.gib_hour")
            + eph * self._price(f"{base}.ephemeral_gib_hour")
        )
        lo, hi = w.replicas
        autopilot = Cost(lo * pod_hour * w.hours, hi * pod_hour * w.hours)
        note = ""
        if w.compute_class and w.compute_class != cls_name:
            note = f", custom class {w.compute_class!r} priced as {cls_name}"
        basis = (
            f"{_replicas(lo, hi)} x {cpu:g} vCPU/{mem:g} GiB/{eph:g} GiB eph., {cls_name}"
            f"{', Spot' if w.spot else ''}, {w.schedule}{note}"
        )

        machine_name, per_node = self._standard_machine(w.cpu, w.memory_gib, w.key)
        node_hour = self._machine_hour(machine_name, w.spot)
        nodes = (math.ceil(lo / per_node), math.ceil(hi / per_node))
        standard = Cost(nodes[0] * node_hour * w.hours, nodes[1] * node_hour * w.hours)
        std_basis = (
            f"{_replicas(*nodes)} x {machine_name}{' Spot' if w.spot else ''} "
            f"({per_node} Pod{'s' if per_node > 1 else ''}/node)"
        )
        return LineItem(w.key, basis, autopilot, standard, std_basis, self._unconfirmed(), w.key.split("/")[0], w.team)

    def _standard_machine(self, cpu: float, mem: float, what: str) -> tuple[str, int]:
        """The stated general machine, or the next larger one of its family when a Pod does not
        fit; with how many of these Pods one node holds."""
        stated = self.prices.standard.general_machine
        family = stated.rsplit("-", 1)[0] + "-"
        candidates = [stated] + sorted(
            (n for n, m in self.prices.machines.items() if n.startswith(family) and n != stated),
            key=lambda n: self.prices.machines[n].on_demand_hour,
        )
        for name in candidates:
            a_cpu, a_mem = allocatable(self.prices.machines[name], self.prices)
            per_node = int(min(a_cpu / cpu if cpu else math.inf, a_mem / mem if mem else math.inf))
            if per_node >= 1:
                self._price("standard.daemonset_per_node")
                return name, per_node
        raise CostError(f"{what}: {cpu:g} vCPU / {mem:g} GiB fits no {family}* machine in the price table")

    def gpu_machine(self, w: Workload) -> str:
        """The cheapest machine for ``w.gpu_count`` GPUs whose allocatable fits the Pod."""
        label = _gpu_label(w)
        gpu = platform.gpu(label)
        limits = gpu.range_for(w.gpu_count)
        if w.cpu > limits.max_cpu or w.memory_gib > limits.max_memory_gib:
            raise CostError(
                f"{w.key}: {w.cpu:g} vCPU / {w.memory_gib:g} GiB is above the maximum of {limits.max_cpu:g} vCPU / "
                f"{limits.max_memory_gib:g} GiB for {w.gpu_count} x {w.gpu}; Autopilot would reject the Pod"
            )
        entry = self.prices.gpus.get(label)
        names = entry.machines.get(str(w.gpu_count), []) if entry else []
        fitting = []
        for name in names:
            a_cpu, a_mem = allocatable(self.prices.machines[name], self.prices)
            if a_cpu >= w.cpu and a_mem >= w.memory_gib:
                fitting.append(name)
        if not fitting:
            raise CostError(
                f"{w.key}: no machine for {w.gpu_count} x {w.gpu} with {w.cpu:g} vCPU / {w.memory_gib:g} GiB "
                f"in the price table (gpus.{w.gpu}.machines.{w.gpu_count})"
            )
        self._price("standard.daemonset_per_node")
        return min(fitting, key=lambda n: self.prices.machines[n].on_demand_hour)

    def _gpu_node_hour(self, w: Workload) -> tuple[str, float, float]:
        """(machine, VM per hour, Autopilot premium per hour) of one node of a GPU workload."""
        label = _gpu_label(w)
        name = self.gpu_machine(w)
        machine = self.prices.machines[name]
        vm_hour = self._machine_hour(name, w.spot)
        if self.prices.gpus[label].attached_gpu_hour is not None:
            vm_hour += w.gpu_count * self._price(f"gpus.{w.gpu}.attached_gpu_hour.{'spot' if w.spot else 'on_demand'}")
        if w.prepaid:  # its VM is the reservation's, in the reservation's own line
            vm_hour = 0.0
        base = f"autopilot.gpu_premium.{w.gpu}.{self._tier(w.spot)}"
        premium_hour = (
            w.gpu_count * self._price(f"{base}.gpu_hour")
            + machine.vcpu * self._price(f"{base}.vcpu_hour")
            + machine.memory_gib * self._price(f"{base}.gib_hour")
        )
        return name, vm_hour, premium_hour

    def _gpu_workload(self, w: Workload) -> LineItem:
        label = _gpu_label(w)
        name, vm_hour, premium_hour = self._gpu_node_hour(w)
        lo, hi = w.replicas
        autopilot = Cost(lo * (vm_hour + premium_hour) * w.hours, hi * (vm_hour + premium_hour) * w.hours)
        standard = Cost(lo * vm_hour * w.hours, hi * vm_hour * w.hours)
        gpu_name = platform.GPUS[label].name
        vm = f"VM in reservation/{w.prepaid}" if w.prepaid else f"VM {vm_hour:.4f}/h"
        basis = (
            f"{_replicas(lo, hi)} x {name} ({w.gpu_count} x {gpu_name}){', Spot' if w.spot else ''}, {w.schedule}; "
            f"node-based: {vm} + premium {premium_hour:.4f}/h"
        )
        std_basis = f"{_replicas(lo, hi)} x {name}{' Spot' if w.spot else ''} (VM only)"
        return LineItem(w.key, basis, autopilot, standard, std_basis, self._unconfirmed(), w.key.split("/")[0], w.team)

    # -- storage and network ----------------------------------------------------------
    def _bucket(self, bucket: BucketConfig, region: str) -> LineItem:
        self._begin()
        location = (bucket.location or region).upper()
        if location.lower() in platform.COMPUTE_ZONES:
            kind = "region"
        else:
            kind = "multi-region"
            if bucket.data_locations or location not in platform.GCS_MULTI_REGIONS:
                self._used.add("storage.multi-region")  # dual-region: priced as multi-region
        if bucket.data_locations:
            location += f" [{', '.join(bucket.data_locations)}]"
        rate = self._price(f"storage.{kind}.{bucket.storage_class}")
        month = bucket.expected_size_gib * rate
        basis = f"{bucket.expected_size_gib:g} GiB {bucket.storage_class} ({location}, {rate:g}/GiB-month)"
        return LineItem(
            f"bucket/{bucket.name}",
            basis,
            Cost(month, month),
            Cost(month, month),
            unconfirmed=self._unconfirmed(),
            kind="bucket",
        )

    def _volume(self, volume: HyperdiskMlVolume) -> LineItem:
        """A Hyperdisk ML volume: one disk per zone, each billed for its capacity and its provisioned throughput
        (the same in Standard mode; GKE Volume Populator's copy Job is a one-off and not priced)."""
        self._begin()
        if self.prices.hyperdisk_ml is None:
            raise CostError(f"volume {volume.name}: the price table has no hyperdisk_ml section; add one (--prices)")
        capacity = self._price("hyperdisk_ml.capacity_gib_month")
        throughput = self._price("hyperdisk_ml.throughput_mibps_month")
        disks = len(volume.zones)
        month = disks * (volume.size_gib * capacity + volume.throughput_mibps * throughput)
        basis = (
            f"{disks} x Hyperdisk ML ({volume.size_gib:g} GiB at {capacity:g}/GiB-month, {volume.throughput_mibps} "
            f"MiB/s at {throughput:g}/MiB/s-month; one disk per zone: {', '.join(volume.zones)})"
        )
        return LineItem(
            f"volume/{volume.name}",
            basis,
            Cost(month, month),
            Cost(month, month),
            unconfirmed=self._unconfirmed(),
            kind="volume",
            team=volume.team,
        )

    def _endpoints(self, ways: list[tuple[str, str]]) -> list[LineItem]:
        """One item per endpoint and way of exposure it keeps (two during a migration): its static IP and its
        forwarding rules (HTTP and HTTPS). The project pays one minimum charge for its first
        ``forwarding_rules_in_minimum`` global rules together (carried by the first endpoint) and the additional
        rate for every rule after those; a regional load balancer's rules (GKE Inference Gateway) are counted the
        same way, apart, in the region."""
        h = self.prices.hours_per_month
        items: list[LineItem] = []
        rules_before = {"global": 0, "regional": 0}
        for name, way in ways:
            scope = "regional" if way in REGIONAL_EXPOSURES else "global"
            rates = (
                "regional_load_balancer" if scope == "regional" and self.prices.regional_load_balancer else "network"
            )
            self._begin()
            per_hour = self._price("network.global_static_ip_in_use_hour")
            rules = self._price("network.forwarding_rules_per_endpoint")
            included = self._price(f"{rates}.forwarding_rules_in_minimum")
            numbers = range(rules_before[scope] + 1, rules_before[scope] + rules + 1)
            extra = sum(1 for n in numbers if n > included)
            if rules_before[scope] == 0:
                per_hour += self._price(f"{rates}.forwarding_rule_minimum_hour")
            if extra:
                per_hour += extra * self._price(f"{rates}.forwarding_rule_additional_hour")
            rules_before[scope] += rules
            month = per_hour * h
            shown = f"rule {numbers[0]}" if rules == 1 else f"rules {numbers[0]}-{numbers[-1]}"
            if numbers[0] == 1:
                how = (
                    f"the {'region' if scope == 'regional' else 'project'}'s forwarding-rule minimum "
                    f"({getattr(self.prices, rates).forwarding_rule_minimum_hour:g}/h covers its "
                    f"first {included})"
                )
            elif extra == 0:
                how = f"inside the {included}-rule minimum"
            else:
                additional = getattr(self.prices, rates).forwarding_rule_additional_hour
                how = f"{extra} beyond the first {included} at {additional:g}/h each"
            ip = "1 regional static IP" if scope == "regional" else "1 global static IP"
            of = "of the region" if scope == "regional" else "of the project"
            basis = f"{ip} + {rules} forwarding rules (HTTP, HTTPS; {shown} {of}): {how}"
            if way != INGRESS:
                basis += f"; {way}"
            items.append(
                LineItem(
                    f"endpoint/{name}" if way == INGRESS else f"endpoint/{name}/{way}",
                    basis,
                    Cost(month, month),
                    Cost(month, month),
                    unconfirmed=self._unconfirmed(),
                    kind="endpoint",
                )
            )
        return items

    def _certificate_manager(self, env: Environment) -> list[LineItem]:
        """The Certificate Manager certificates of the Gateways (a certificate per host and way): free up to the
        price table's allowance per project, then per certificate and month."""
        count = sum(
            len(e.certificate_hosts) for e in env.endpoints for way in kept_exposures(e) if way in GATEWAY_EXPOSURES
        )
        table = self.prices.certificate_manager
        if not count or table is None:
            return []
        self._begin()
        free = self._price("certificate_manager.free_certificates")
        rate = self._price("certificate_manager.certificate_month")
        month = max(0.0, count - free) * rate
        basis = (
            f"{count} Google-managed certificate(s): the first {free:g} of the project free, then {rate:g}/month each"
        )
        return [
            LineItem(
                "certificates",
                basis,
                Cost(month, month),
                Cost(month, month),
                unconfirmed=self._unconfirmed(),
                kind="endpoint",
            )
        ]

    # -- platform services --------------------------------------------------------------
    def _services(self, env: Environment, workloads: list[LineItem], warnings: list[str]) -> list[LineItem]:
        """Registry storage and scans, the DNS zone, and monitoring samples and alert conditions."""
        items: list[LineItem] = []
        wanted = {
            "artifact_registry": env.registry is not None,
            "dns": env.dns is not None and env.dns.create,
            "monitoring": True,
        }
        for section, used in wanted.items():
            if used and getattr(self.prices, section) is None:
                warnings.append(f"the price table has no {section} section: not priced")
        if env.registry is not None and self.prices.artifact_registry is not None:
            items.append(self._registry(env))
        if env.dns is not None and env.dns.create and self.prices.dns is not None:
            self._begin()
            month = self._price("dns.zone_month")
            self._price("dns.queries_per_million")
            items.append(
                LineItem(
                    f"dns/{env.dns.zone}",
                    f"1 public managed zone ({month:g}/month); queries not priced",
                    Cost(month, month),
                    Cost(month, month),
                    unconfirmed=self._unconfirmed(),
                    kind="dns",
                )
            )
        if self.prices.monitoring is not None:
            items.append(self._monitoring(env))
        return items

    def _registry(self, env: Environment) -> LineItem:
        self._begin()
        registry = env.registry
        assert registry is not None
        size = sum(r.expected_size_gib for r in registry.repositories)
        scans = sum(r.images_scanned_per_month for r in registry.repositories) if registry.vulnerability_scanning else 0
        free = self._price("artifact_registry.free_gib")
        rate = self._price("artifact_registry.storage_gib_month")
        month = max(0.0, size - free) * rate
        basis = (
            f"{size:g} GiB in {len(registry.repositories)} repositories ({rate:g}/GiB-month after {free:g} GiB free)"
        )
        if scans:
            scan = self._price("artifact_registry.scan_per_image")
            month += scans * scan
            basis += f" + {scans} image scans ({scan:g} each)"
        return LineItem(
            "registry", basis, Cost(month, month), Cost(month, month), unconfirmed=self._unconfirmed(), kind="registry"
        )

    def _monitoring(self, env: Environment) -> LineItem:
        """Managed Service for Prometheus samples of the enabled GKE packages, from GPU-hours (DCGM) and
        replica-hours (kube-state packages), plus one alerting charge per enabled alert condition."""
        self._begin()
        mon = env.monitoring
        components = set(mon.components)
        kube_state = len(components & KUBE_STATE_COMPONENTS)
        gpu_hours, replica_hours = ZERO, ZERO
        for w in self.workloads(env):
            lo, hi = w.replicas
            replica_hours += Cost(lo * w.hours, hi * w.hours)
            if w.gpu:
                gpu_hours += Cost(lo * w.gpu_count * w.hours, hi * w.gpu_count * w.hours)
        per_hour = 3600 / self._price("monitoring.scrape_interval_seconds")
        series_gpu = self._price("monitoring.dcgm_series_per_gpu") if "DCGM" in components else 0
        series_replica = self._price("monitoring.kube_state_series_per_replica") * kube_state
        rate = self._price("monitoring.samples_per_million")

        def samples(hours: float, series: float) -> float:
            return hours * series * per_hour

        low = samples(gpu_hours.low, series_gpu) + samples(replica_hours.low, series_replica)
        high = samples(gpu_hours.high, series_gpu) + samples(replica_hours.high, series_replica)
        conditions = sum(
            1
            for a in (mon.alerts.gpu_idle, mon.alerts.job_failures, mon.alerts.hpa_at_max, mon.alerts.spot_preemptions)
            if a.enabled
        )
        alerting = conditions * self._price("monitoring.alert_condition_month")
        cost = Cost(low / 1e6 * rate + alerting, high / 1e6 * rate + alerting)
        basis = (
            f"{low / 1e6:,.1f}-{high / 1e6:,.1f} M samples ({rate:g}/M): DCGM {series_gpu:g} series/GPU x "
            f"{gpu_hours.low:,.0f}-{gpu_hours.high:,.0f} GPU-h, {kube_state} kube-state package(s) x "
            f"{series_replica / max(kube_state, 1):g} series x {replica_hours.low:,.0f}-{replica_hours.high:,.0f} "
            f"replica-h, every {3600 / per_hour:g} s; {conditions} alert conditions x "
            f"{self._price('monitoring.alert_condition_month'):g}/month"
        )
        return LineItem("monitoring", basis, cost, cost, unconfirmed=self._unconfirmed(), kind="monitoring")

    def workloads(self, env: Environment) -> list[Workload]:
        """The inference services and training budgets as the estimator sees them."""
        found = []
        for svc in env.inference:
            hpd = svc.hours_per_day
            cls = env.custom_compute_class(svc.compute_class)  # priced at the class's preferred capacity
            spot = svc.spot or (cls is not None and cls.capacity[0] == "spot")
            reserved = reservation(env, cls.reservation) if cls is not None and cls.capacity[0] == RESERVATION else None
            prepaid = reserved.name if reserved is not None and reserved.owner(env) == env.project.id else None
            cpu, memory, disk = pod_requests(svc)  # with /dev/shm and a model's GCS FUSE sidecar and file cache
            pods = svc.pods_per_replica  # a multi-host model: every replica is a group of `nodes` such Pods
            group = (
                f", {svc.autoscaling.min_replicas}-{svc.autoscaling.max_replicas} groups of {pods}" if pods > 1 else ""
            )
            found.append(
                Workload(
                    key=f"inference/{svc.name}",
                    team=svc.team,
                    cpu=cpu,
                    memory_gib=memory,
                    ephemeral_gib=disk,
                    gpu=svc.gpu,
                    gpu_count=svc.gpu_count,
                    spot=spot,
                    compute_class=svc.compute_class,
                    replicas=(svc.autoscaling.min_replicas * pods, svc.autoscaling.max_replicas * pods),
                    hours=hpd * self.prices.hours_per_month / 24,
                    schedule=f"{hpd:g} h/day{group}",
                    prepaid=prepaid,
                )
            )
            config = inference_gateway_of(env, svc)
            if config is not None:  # its InferencePool's endpoint picker runs beside it
                found.append(
                    Workload(
                        key=f"inference/{svc.name}/endpoint-picker",
                        team=svc.team,
                        cpu=parse_quantity(config.picker.cpu),
                        memory_gib=gib(config.picker.memory),
                        gpu=None,
                        gpu_count=0,
                        spot=False,
                        compute_class=None,
                        replicas=(config.picker.replicas, config.picker.replicas),
                        hours=hpd * self.prices.hours_per_month / 24,
                        schedule=f"{hpd:g} h/day",
                    )
                )
        for job in env.training:
            hours = job.hours_per_day * job.days_per_month
            found.append(
                Workload(
                    key=f"training/{job.name}",
                    team=job.team,
                    cpu=parse_quantity(job.cpu),
                    memory_gib=gib(job.memory),
                    gpu=job.gpu,
                    gpu_count=job.gpu_count,
                    spot=job.spot,
                    compute_class=None,
                    replicas=(job.nodes, job.nodes),
                    hours=hours,
                    schedule=f"{job.hours_per_day:g} h x {job.days_per_month:g} days = {hours:g} h/month",
                )
            )
        return found

    def _budget(self, env: Environment, est: Estimate) -> BudgetLine | None:
        """The budget of ``env``: its amount, or the Autopilot maximum before the free-tier credit x
        headroom, rounded up to whole units (the budget watches one project; the account's credit may
        land on another)."""
        budget = env.budget
        if budget is None:
            return None
        thresholds, forecast = tuple(budget.thresholds), tuple(budget.forecast_thresholds)
        if budget.amount is not None:
            return BudgetLine(budget.amount, budget.currency, "set in the environment file", thresholds, forecast)
        high = sum(i.autopilot.high for i in est.items if i.key != FREE_TIER_KEY)
        amount = float(math.ceil(round(high * budget.headroom, 6)))
        unconfirmed = tuple(
            (i.key, i.autopilot.high, i.unconfirmed_prices)
            for i in sorted(est.items, key=lambda i: -i.autopilot.high)
            if i.unconfirmed_prices and round(i.autopilot.high, 2) > 0
        )
        share = sum(h for _, h, _ in unconfirmed) / high if high > 0 else 0.0
        basis = f"Autopilot maximum {high:,.2f} before the free-tier credit x headroom {budget.headroom:g}, rounded up"
        return BudgetLine(
            amount,
            budget.currency,
            basis,
            thresholds,
            forecast,
            derived=True,
            unconfirmed=unconfirmed,
            unconfirmed_share=share,
        )


def _replicas(lo: int, hi: int) -> str:
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def estimate(
    env: Environment, prices: PriceTable, *, free_tier: bool = True, credit_shared_with: Sequence[str] = ()
) -> Estimate:
    """Monthly estimate of ``env`` under ``prices`` (see :class:`Estimator`)."""
    return Estimator(prices, free_tier=free_tier, credit_shared_with=credit_shared_with).estimate(env)


def budget_amount(env: Environment, prices: PriceTable) -> float:
    """The monthly amount of ``env``'s budget: ``budget.amount`` as written (nothing is estimated), or
    derived from the estimate. What the cloud stack sets and ``gkeml cost`` shows. ValueError without a
    budget."""
    if env.budget is None:
        raise ValueError(f"{env.name} has no budget section")
    if env.budget.amount is not None:
        return env.budget.amount
    line = estimate(env, prices).budget
    assert line is not None
    return line.amount


def budget_problems(env: Environment) -> Iterator[Problem]:
    """Why a budget without ``amount`` cannot be derived from the shipped price table's estimate
    (another currency, or a workload the estimator cannot price); checked when the file is loaded."""
    budget = env.budget
    if budget is None or budget.amount is not None:
        return
    from gkeml.cost.prices import load_prices

    prices = load_prices()
    if budget.currency != prices.currency:
        yield ("budget", "currency"), f"the estimate is in {prices.currency}; set budget.amount in {budget.currency}"
        return
    try:
        amount = budget_amount(env, prices)
    except CostError as exc:
        yield ("budget", "amount"), f"cannot derive it from the estimate ({exc}); set budget.amount"
        return
    if amount >= MAX_MONEY_UNITS:
        yield (
            ("budget", "amount"),
            f"the estimate makes it {amount:.3g} {budget.currency}, more than a budget holds (int64 units); "
            "set budget.amount",
        )


def _gpu_label(w: Workload) -> str:
    """The GPU of a GPU workload (the estimator prices CPU workloads elsewhere)."""
    if w.gpu is None:
        raise ValueError(f"{w.key} has no GPU")
    return w.gpu
