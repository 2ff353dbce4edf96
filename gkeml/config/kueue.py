"""The ``kueue:`` section of an environment file: job queueing with Kueue.

Each team gets a ClusterQueue whose nominal quota is the team's ``quota`` (cpu, memory, GPUs), in
one cohort so that idle quota can be borrowed, and a LocalQueue in its namespace that jobs name.
What the section sets is how much a team may borrow, how much of its GPU quota only Spot jobs may
use, and how long an admitted job may take to have all its pods ready (all-or-nothing admission).
The objects are built in :mod:`gkeml.manifests.kueue`.

The team's ``quota`` is the one statement of its capacity: what its ClusterQueue, its namespace's
ResourceQuota and the checks of its training budgets are computed from is here (:class:`QuotaAmounts`,
:func:`gpu_split`, :func:`borrowing_limit`, :func:`namespace_quota`, :func:`admission_ceiling`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from gkeml import platform
from gkeml.config.base import DnsLabel, Problem, Strict, at
from gkeml.units import parse_quantity

if TYPE_CHECKING:
    from gkeml.config.model import Environment, Team

# Kueue's ResourceFlavors: cpu and memory on any node; GPUs on Spot nodes or on on-demand nodes, and the GPUs of
# each reservation a ComputeClass consumes (reserved_flavor).
FLAVOR_DEFAULT = "default"
FLAVOR_GPU_SPOT = "gpu-spot"
FLAVOR_GPU_ON_DEMAND = "gpu-on-demand"
FLAVOR_RESERVED_PREFIX = "reserved-"
# The priority tiers of every environment unless its file names its own (WorkloadPriorityClass name -> value): far
# apart, so that a platform team can put its own between them.
DEFAULT_PRIORITIES = {"low": 100, "normal": 1000, "high": 10000}
DEFAULT_PRIORITY = "normal"


def reserved_flavor(reservation: str) -> str:
    """The ResourceFlavor of a reservation's GPUs."""
    return FLAVOR_RESERVED_PREFIX + reservation


class KueueConfig(Strict):
    """Kueue, installed from its official chart, with a ClusterQueue and LocalQueue per team."""

    model_config = ConfigDict(title="Kueue")  # its name in the schema and the reference

    # filled in after validation from the teams' typed quotas (Environment._kueue_default) unless the file sets it
    enabled: bool = Field(
        False,
        description="Install Kueue and queue every team's jobs through it.",
        json_schema_extra={"x-resolved-default": "true when a team has GPU quota"},
    )
    borrowing_limit_percent: int = Field(
        100,
        ge=0,
        le=1000,
        description="How much idle quota of other teams a team may borrow, in percent of its own quota (the "
        "ClusterQueue's borrowingLimit). The team namespace's ResourceQuota grows by the same amount, "
        "so pods of a job admitted on borrowed quota are not refused; 0 turns borrowing off.",
    )
    spot_gpu_percent: int = Field(
        0,
        ge=0,
        le=100,
        description="Share of each team's GPU quota that only Spot jobs may use (ResourceFlavor gpu-spot); Spot "
        "jobs may also use the rest (gpu-on-demand), jobs on on-demand capacity only the rest.",
    )
    pods_ready_timeout_minutes: int = Field(
        15,
        ge=1,
        le=1440,
        description="All-or-nothing admission: an admitted job whose pods are not all ready within this time "
        "gives its quota back and is queued again (Kueue waitForPodsReady).",
    )
    priorities: dict[DnsLabel, Annotated[int, Field(ge=platform.INT32_MIN, le=platform.INT32_MAX)]] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES),
        min_length=1,
        description="Priority tiers of queued jobs (a WorkloadPriorityClass each): name -> value, higher first. "
        "A job names one with `priority:`; within a team's queue a higher tier preempts lower ones (docs/jobs.md, "
        "Priorities).",
    )
    default_priority: DnsLabel = Field(
        DEFAULT_PRIORITY, description="The tier of a job whose spec names none (one of priorities)."
    )

    @model_validator(mode="after")
    def _default_tier(self) -> KueueConfig:
        if self.default_priority not in self.priorities:
            raise at(
                "default_priority",
                f"{self.default_priority!r} is not one of priorities: {', '.join(self.priorities)}",
            )
        return self

    def priority_names(self) -> list[str]:
        """The tiers, highest first."""
        return sorted(self.priorities, key=lambda name: (-self.priorities[name], name))


def enabled_by_default(teams: list[Team]) -> bool:
    """Whether Kueue is on when the file does not say: a team has GPU quota."""
    return any(t.quota.gpus > 0 for t in teams)


# --- the quota arithmetic (one place: ClusterQueues, ResourceQuotas and the training checks read it) -----


@dataclass(frozen=True)
class QuotaAmounts:
    """cpu (millicores), memory (bytes) and GPUs, as exact integers."""

    cpu_m: int
    memory: int
    gpus: int

    @classmethod
    def of(cls, team: Team) -> QuotaAmounts:
        """The team's quota."""
        return cls(
            round(parse_quantity(team.quota.cpu) * 1000), round(parse_quantity(team.quota.memory)), team.quota.gpus
        )

    def percent(self, percent: int) -> QuotaAmounts:
        """``percent`` of this quota, rounded down (memory to whole MiB)."""
        return QuotaAmounts(
            self.cpu_m * percent // 100, self.memory * percent // 100 // 2**20 * 2**20, self.gpus * percent // 100
        )

    def __add__(self, other: QuotaAmounts) -> QuotaAmounts:
        return QuotaAmounts(self.cpu_m + other.cpu_m, self.memory + other.memory, self.gpus + other.gpus)

    @property
    def cpu(self) -> str:
        return str(self.cpu_m // 1000) if self.cpu_m % 1000 == 0 else f"{self.cpu_m}m"

    @property
    def mem(self) -> str:
        for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if self.memory % size == 0 and self.memory:
                return f"{self.memory // size}{unit}"
        return str(self.memory)


def reserved_gpus(env: Environment) -> dict[str, int]:
    """GPUs of each reservation flavor (by flavor name): the reservations a ComputeClass consumes. They belong to
    the cohort, and any team's queue may borrow them for the pods of such a class."""
    from gkeml.config.reservations import consumed

    return {reserved_flavor(r.name): r.gpus for r in consumed(env)}


def gpu_split(env: Environment, team: Team) -> dict[str, int]:
    """Nominal GPUs of each GPU flavor: the Spot share (``kueue.spot_gpu_percent``, rounded down), then the rest."""
    spot = team.quota.gpus * env.kueue.spot_gpu_percent // 100
    return {FLAVOR_GPU_SPOT: spot, FLAVOR_GPU_ON_DEMAND: team.quota.gpus - spot}


def borrowing(env: Environment, amount: int) -> int:
    """What a ClusterQueue may borrow of a resource it has ``amount`` of (``kueue.borrowing_limit_percent``)."""
    return amount * env.kueue.borrowing_limit_percent // 100


def borrowing_limit(env: Environment, team: Team) -> QuotaAmounts:
    """What the team's ClusterQueue may borrow: cpu and memory, and the GPUs of both GPU flavors."""
    cpu_memory = QuotaAmounts.of(team).percent(env.kueue.borrowing_limit_percent)
    return QuotaAmounts(
        cpu_memory.cpu_m, cpu_memory.memory, sum(borrowing(env, n) for n in gpu_split(env, team).values())
    )


def namespace_quota(env: Environment, team: Team) -> tuple[str, str, int]:
    """(cpu, memory, GPUs) of the team namespace's ResourceQuota: the team's quota, plus what its
    ClusterQueue may borrow when Kueue is on (else the pods of a job admitted on borrowed quota would be
    refused by the namespace)."""
    if not env.kueue.enabled:
        return team.quota.cpu, team.quota.memory, team.quota.gpus
    reserved = sum(reserved_gpus(env).values())  # the cohort's reserved GPUs, which any team may borrow
    if env.kueue.borrowing_limit_percent == 0:
        return team.quota.cpu, team.quota.memory, team.quota.gpus + reserved
    ceiling = QuotaAmounts.of(team) + borrowing_limit(env, team)
    return ceiling.cpu, ceiling.mem, ceiling.gpus + reserved


@dataclass(frozen=True)
class Ceiling:
    """The most of one resource a single job of a team can ever be given at once: its own quota plus what
    it may borrow (capped by what the rest of the cohort has to lend), on the best flavor it may use."""

    amount: int
    own: int
    borrowed: int
    flavor: str | None  # the GPU flavor, for GPUs under Kueue

    def explain(self, unit: str = "", scale: float = 1) -> str:
        """e.g. '16 (8 of its own on gpu-on-demand + 8 it may borrow)', amounts divided by ``scale``."""
        on = f" on {self.flavor}" if self.flavor else ""
        amount, own, borrowed = self.amount / scale, self.own / scale, self.borrowed / scale
        if not self.borrowed:
            return f"{amount:g}{unit} (its quota{on})"
        return f"{amount:g}{unit} ({own:g}{unit} of its quota{on} + {borrowed:g}{unit} it may borrow)"


def admission_ceiling(env: Environment, team: Team, spot: bool) -> dict[str, Ceiling]:
    """The most of cpu (millicores), memory (bytes) and GPUs one job of ``team`` can ever be given at once:
    with Kueue, what its ClusterQueue holds plus what it may borrow from the cohort, which lends at most the
    other teams' quota, on the GPU flavors the job may use (a Spot job: both, Spot first; an on-demand job:
    gpu-on-demand); without Kueue, the team namespace's ResourceQuota (its quota)."""
    own = QuotaAmounts.of(team)
    if not env.kueue.enabled:
        return {
            "cpu": Ceiling(own.cpu_m, own.cpu_m, 0, None),
            "memory": Ceiling(own.memory, own.memory, 0, None),
            "gpus": Ceiling(own.gpus, own.gpus, 0, None),
        }
    others = [t for t in env.teams if t.name != team.name]
    lend = sum((QuotaAmounts.of(t) for t in others), QuotaAmounts(0, 0, 0))
    borrow = own.percent(env.kueue.borrowing_limit_percent)
    found = {
        "cpu": Ceiling(own.cpu_m + min(borrow.cpu_m, lend.cpu_m), own.cpu_m, min(borrow.cpu_m, lend.cpu_m), None),
        "memory": Ceiling(
            own.memory + min(borrow.memory, lend.memory), own.memory, min(borrow.memory, lend.memory), None
        ),
    }
    split = gpu_split(env, team)
    flavors = (FLAVOR_GPU_SPOT, FLAVOR_GPU_ON_DEMAND) if spot else (FLAVOR_GPU_ON_DEMAND,)
    options = []
    for flavor in flavors:
        lendable = sum(gpu_split(env, t)[flavor] for t in others)
        borrowed = min(borrowing(env, split[flavor]), lendable)
        options.append(Ceiling(split[flavor] + borrowed, split[flavor], borrowed, flavor))
    found["gpus"] = max(options, key=lambda c: c.amount)  # the first of the largest: Spot tried first
    return found


def kueue_problems(env: Any) -> Iterator[Problem]:
    """A team namespace cannot be the one Kueue runs in."""
    if not env.kueue.enabled:
        return
    for i, team in enumerate(env.teams):
        if team.name == platform.KUEUE_NAMESPACE:
            yield ("teams", i, "name"), f"{team.name!r} is the namespace Kueue runs in; name the team differently"
