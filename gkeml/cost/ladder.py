"""The capacity ladder in money: what each rung a workload may land on costs, the mix it is expected to
land in, and what a committed-use discount would save (``gkeml cost ENV``, ``--commit 1y|3y``).

A workload's ladder is its ComputeClass's capacity list, in order (``spot``, ``on-demand``,
``flex-start``, ``reservation``); a workload without a custom class has one rung, Spot or on-demand.
Each rung is priced per replica-hour on Autopilot from the dated price table (``prices.json``) and the
dated capacity table (``capacity.json``):

- **spot**, **on-demand**: the estimator's own rates (:mod:`gkeml.cost.estimate`): GPU nodes at the VM
  plus the Autopilot premium, Pods without GPU at the Pod-based rates of their class;
- **flex-start** (GPU only): the on-demand VM less the DWS flex-start discount, plus the regular premium;
- **reservation** (GPU only): the Autopilot premium alone; the reserved VMs are billed on the
  reservation's own line of the estimate, used or not.

**Expected mix.** The autoscaler tries the rungs in order; ``capacity.json``'s ``availability`` says
which share of the hours a rung serves when asked (an assumption, flagged as one). The mix is the
cascade ``a1, (1-a1) a2, (1-a1)(1-a2) a3, ...`` normalised to 1 (a pod that no rung serves yet waits
and costs nothing; it runs later on the same ladder).

**Committed-use what-if.** A commitment bills every hour of its term whether used or not. It can cover
the steady part of the on-demand (and reserved) hours: a workload's minimum replicas, on its on-demand
share. Pods without GPU get the Compute flexible CUD (which covers Autopilot Pods); a GPU node's VM the
resource-based CUD of its machine series (the Autopilot premium is not discounted); Spot and flex-start
get none. A commitment pays only when the workload runs more of the month than ``1 - discount`` (the
break-even); below it the what-if keeps on-demand, so a commitment never raises the total. A reservation of
this project runs every hour of the month whatever uses it: a commitment attached to it discounts its whole
line, a saving that comes off the reservation's line of the estimate, not off the workloads' expected mix
(whose reserved rung is the premium alone); one shared from another project is committed, if at all, there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from gkeml.config.loader import load_config_file
from gkeml.config.model import Environment, Strict
from gkeml.config.reservations import Reservation, reservation
from gkeml.cost.estimate import ZERO, Cost, Estimator, Workload
from gkeml.cost.prices import PriceTable

DEFAULT_CAPACITY = Path(__file__).with_name("capacity.json")
Rung = Literal["reservation", "spot", "on-demand", "flex-start"]
RUNGS: tuple[str, ...] = ("reservation", "spot", "on-demand", "flex-start")
Term = Literal["1y", "3y"]
TERMS: tuple[str, ...] = ("1y", "3y")
Share = Field(ge=0, le=1)


class Commitment(Strict):
    """Discounts of one commitment term: the flexible CUD (Autopilot Pods) and resource-based (VMs)."""

    autopilot_flexible: float = Field(ge=0, lt=1)
    resource_based: float = Field(ge=0, lt=1)


class CapacityTable(Strict):
    """Discounts and availability assumptions of the capacity rungs (``gkeml/cost/capacity.json``)."""

    date: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    sources: dict[str, str]
    notes: str = ""
    flex_start_discount: float = Field(ge=0, lt=1)
    flex_start_discounted_series: list[str] = Field(default_factory=list)
    commitments: dict[Term, Commitment]
    availability: dict[Rung, float]
    estimates: dict[str, str] = Field(default_factory=dict)

    def share_of(self, rung: str) -> float:
        """The availability of ``rung`` (1.0 when the table leaves it out)."""
        value = self.availability.get(rung.split("/")[0], 1.0)  # type: ignore[call-overload]
        return min(max(value, 0.0), 1.0)


def load_capacity(path: str | Path | None = None) -> CapacityTable:
    """The shipped capacity table, or the one at ``path``; ConfigError names file, line and field."""
    return load_config_file(Path(path), CapacityTable) if path else shipped_capacity()


@lru_cache(maxsize=1)
def shipped_capacity() -> CapacityTable:
    return load_config_file(DEFAULT_CAPACITY, CapacityTable)


@dataclass(frozen=True)
class RungPrice:
    """One rung of a workload's ladder, per replica-hour on Autopilot. ``committable`` is the part a
    commitment may discount (0 for Spot and flex-start) and ``commitment`` which kind does."""

    rung: str  # spot, on-demand, flex-start, reservation/NAME
    hour: float
    basis: str
    unconfirmed: tuple[str, ...] = ()
    committable: float = 0.0
    commitment: str = ""  # autopilot_flexible | resource_based | ""


def reservation_of(env: Environment, class_name: str | None) -> Reservation | None:
    """The reservation a ComputeClass's reservation rung consumes (None when the class names none)."""
    cls = env.custom_compute_class(class_name)
    return reservation(env, cls.reservation) if cls is not None and cls.reservation is not None else None


def rungs_of(env: Environment, w: Workload) -> list[str]:
    """The rungs a workload may land on, in the order the autoscaler tries them."""
    cls = env.custom_compute_class(w.compute_class)
    if cls is None:
        return ["spot" if w.spot else "on-demand"]
    found = []
    for rung in cls.capacity:
        if rung == "reservation":
            reserved = reservation_of(env, w.compute_class)
            found.append(f"reservation/{reserved.name}" if reserved is not None else "reservation")
        else:
            found.append(str(rung))
    return found


def rung_price(estimator: Estimator, w: Workload, rung: str, capacity: CapacityTable) -> RungPrice:
    """The price of one replica-hour of ``w`` on ``rung`` (see the module docstring)."""
    kind = rung.split("/")[0]
    spot = kind == "spot"
    one = replace(w, spot=spot, replicas=(1, 1), hours=1.0)
    estimator._begin()
    if not w.gpu:
        if kind not in ("spot", "on-demand"):
            raise ValueError(f"{w.key}: {kind} capacity is for GPU nodes only")
        hour = estimator._pod_workload(one).autopilot.low
        return RungPrice(
            rung,
            hour,
            f"Pod-based {'Spot' if spot else 'regular'} rates",
            estimator._unconfirmed(),
            0.0 if spot else hour,
            "" if spot else "autopilot_flexible",
        )
    machine, vm, premium = estimator._gpu_node_hour(one)
    unconfirmed = estimator._unconfirmed()
    if kind in ("spot", "on-demand"):
        what = "Spot" if spot else "on-demand"
        return RungPrice(
            rung,
            vm + premium,
            f"{machine} {what}: VM {vm:.4f}/h + premium {premium:.4f}/h",
            unconfirmed,
            0.0 if spot else vm,
            "" if spot else "resource_based",
        )
    if kind == "flex-start":
        series = machine.split("-")[0]
        discount = capacity.flex_start_discount if series in capacity.flex_start_discounted_series else 0.0
        return RungPrice(
            rung,
            vm * (1 - discount) + premium,
            f"{machine} flex-start: on-demand VM {vm:.4f}/h less {discount * 100:g} % "
            f"({'the DWS discount' if discount else f'no {series.upper()} discount listed'}) + premium {premium:.4f}/h",
            (*unconfirmed, *capacity_estimates(capacity, "flex_start_discount")),
        )
    return RungPrice(
        rung,
        premium,
        f"{machine} from the reservation: premium {premium:.4f}/h (its VMs are billed on the reservation's line)",
        unconfirmed,
        0.0,
        "",
    )


def capacity_estimates(capacity: CapacityTable, path: str) -> tuple[str, ...]:
    """The capacity table's ``estimates`` entries covering ``path``, named as such."""
    return tuple(f"capacity.{e}" for e in capacity.estimates if path == e or path.startswith(e + "."))


def expected_mix(rungs: list[str], capacity: CapacityTable) -> list[float]:
    """The share of a workload's hours each rung serves: the availability cascade, normalised to 1."""
    left, raw = 1.0, []
    for rung in rungs:
        take = left * capacity.share_of(rung)
        raw.append(take)
        left -= take
    total = sum(raw)
    if total <= 0:
        return [1.0] + [0.0] * (len(rungs) - 1)
    return [r / total for r in raw]


@dataclass(frozen=True)
class LadderRung:
    price: RungPrice
    share: float
    monthly: Cost


@dataclass(frozen=True)
class LadderItem:
    """A workload's ladder: each rung with its share and monthly cost, the expected total (the mix) and
    what the estimate's line prices today (the first rung only)."""

    key: str
    team: str
    replica_hours: Cost
    rungs: tuple[LadderRung, ...]
    first_rung: Cost

    @property
    def expected(self) -> Cost:
        return sum((r.monthly for r in self.rungs), ZERO)

    @property
    def unconfirmed(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e for r in self.rungs for e in r.price.unconfirmed))


@dataclass(frozen=True)
class CommitLine:
    """The committed-use what-if of one workload's steady on-demand hours (or of a reservation)."""

    key: str
    kind: str  # autopilot_flexible | resource_based
    discount: float
    utilization: float  # hours run / hours of the month
    committed_hour: float  # the discountable rate x the replicas committed
    saving: float  # per month; 0 when below the break-even
    reservation: bool = False  # a reservation's VMs: its saving comes off the reservation's line, not the mix

    @property
    def break_even(self) -> float:
        return 1 - self.discount

    @property
    def committed(self) -> bool:
        return self.saving > 0


@dataclass
class Ladder:
    """The capacity ladder of every workload of an environment, and the commitment what-if (``term``)."""

    env: str
    currency: str
    hours_per_month: float
    items: list[LadderItem]
    term: str | None = None
    commitments: list[CommitLine] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    date: str = ""

    @property
    def expected(self) -> Cost:
        return sum((i.expected for i in self.items), ZERO)

    @property
    def first_rung(self) -> Cost:
        return sum((i.first_rung for i in self.items), ZERO)

    @property
    def saving(self) -> float:
        return sum(c.saving for c in self.commitments)

    @property
    def reservation_saving(self) -> float:
        """The part of :attr:`saving` on the reservations' own lines of the estimate."""
        return sum(c.saving for c in self.commitments if c.reservation)

    @property
    def expected_with_commitment(self) -> Cost:
        """The workloads' expected mix less what a commitment saves on their hours (not on reservations')."""
        off = self.saving - self.reservation_saving
        return self.expected - Cost(off, off)

    def to_dict(self) -> dict[str, Any]:
        def cost(c: Cost) -> dict[str, float]:
            return {"min": round(c.low, 2), "max": round(c.high, 2)}

        data: dict[str, Any] = {
            "capacity_table": {"date": self.date, "sources": dict(self.sources)},
            "items": [
                {
                    "item": i.key,
                    "team": i.team,
                    "replica_hours": cost(i.replica_hours),
                    "rungs": [
                        {
                            "rung": r.price.rung,
                            "share": round(r.share, 4),
                            "per_replica_hour": round(r.price.hour, 4),
                            "basis": r.price.basis,
                            "unconfirmed": list(r.price.unconfirmed),
                            "monthly": cost(r.monthly),
                        }
                        for r in i.rungs
                    ],
                    "expected": cost(i.expected),
                    "first_rung": cost(i.first_rung),
                }
                for i in self.items
            ],
            "expected": cost(self.expected),
            "first_rung": cost(self.first_rung),
            "commitment": None,
        }
        if self.term:
            data["commitment"] = {
                "term": self.term,
                "estimate": True,
                "lines": [
                    {
                        "item": c.key,
                        "kind": c.kind,
                        "discount": c.discount,
                        "utilization": round(c.utilization, 4),
                        "break_even": round(c.break_even, 4),
                        "committed": c.committed,
                        "saving": round(c.saving, 2),
                    }
                    for c in self.commitments
                ],
                "saving": round(self.saving, 2),
                "reservation_saving": round(self.reservation_saving, 2),
                "expected_with_commitment": cost(self.expected_with_commitment),
            }
        return data


def ladder(
    env: Environment, prices: PriceTable, capacity: CapacityTable | None = None, term: str | None = None
) -> Ladder:
    """Price every rung of every workload of ``env`` with its expected mix, and the ``term`` what-if."""
    capacity = capacity or load_capacity()
    estimator = Estimator(prices)
    result = Ladder(
        env.name, prices.currency, prices.hours_per_month, [], term, sources=dict(capacity.sources), date=capacity.date
    )
    for w in estimator.workloads(env):
        names = rungs_of(env, w)
        shares = expected_mix(names, capacity)
        lo, hi = w.replicas
        replica_hours = Cost(lo * w.hours, hi * w.hours)
        rungs = []
        for name, share in zip(names, shares):
            price = rung_price(estimator, w, name, capacity)
            rungs.append(
                LadderRung(
                    price, share, Cost(replica_hours.low * price.hour * share, replica_hours.high * price.hour * share)
                )
            )
        first = rungs[0].price.hour
        item = LadderItem(
            w.key, w.team, replica_hours, tuple(rungs), Cost(replica_hours.low * first, replica_hours.high * first)
        )
        result.items.append(item)
        if term:
            result.commitments += _commit(item, lo, w.hours, prices.hours_per_month, capacity.commitments[term])  # type: ignore[index]
    if term:
        result.commitments += _reservation_commitments(env, prices, capacity.commitments[term])  # type: ignore[index]
    return result


def _commit(item: LadderItem, replicas: int, hours: float, month: float, terms: Commitment) -> list[CommitLine]:
    """One line per committable rung of an item: its steady replicas on that rung's share, committed when
    the item runs past the break-even."""
    lines = []
    utilization = min(hours / month, 1.0) if month else 0.0
    for r in item.rungs:
        if not r.price.commitment or not r.price.committable or not replicas:
            continue
        discount = getattr(terms, r.price.commitment)
        amount = r.price.committable * replicas * r.share  # per hour, the steady part on this rung
        saving = max(0.0, amount * (hours - (1 - discount) * month))
        lines.append(
            CommitLine(f"{item.key} ({r.price.rung})", r.price.commitment, discount, utilization, amount, saving)
        )
    return lines


def _reservation_commitments(env: Environment, prices: PriceTable, terms: Commitment) -> list[CommitLine]:
    """A reservation of this project is billed every hour: a resource-based commitment attached to it
    bills its VMs at the committed rate (sources.reservation_commitment)."""
    lines = []
    for r in env.reservations:
        if r.owner(env) != env.project.id or r.machine not in prices.machines:
            continue
        vm = prices.machines[r.machine].on_demand_hour
        entry = prices.gpus.get(r.gpu)
        if entry is not None and entry.attached_gpu_hour is not None:
            vm += r.gpu_count * entry.attached_gpu_hour.on_demand
        amount = r.count * vm
        saving = amount * prices.hours_per_month * terms.resource_based
        lines.append(
            CommitLine(f"reservation/{r.name}", "resource_based", terms.resource_based, 1.0, amount, saving, True)
        )
    return lines


def render_ladder(ld: Ladder) -> str:
    """The ladder as text: one row per rung of each workload, then the commitment what-if."""
    from gkeml.cost.report import money
    from gkeml.text import table

    if not ld.items and not ld.commitments:
        return ""
    rows = []
    for i in ld.items:
        for n, r in enumerate(i.rungs):
            mark = "*" if r.price.unconfirmed else ""
            rows.append(
                (
                    i.key if n == 0 else "",
                    r.price.rung + mark,
                    f"{r.share * 100:.0f} %",
                    f"{r.price.hour:,.4f}",
                    money(r.monthly.low),
                    money(r.monthly.high),
                )
            )
        if len(i.rungs) > 1:
            rows.append(("", "expected", "100 %", "", money(i.expected.low), money(i.expected.high)))
    rows.append(("TOTAL", "expected mix", "", "", money(ld.expected.low), money(ld.expected.high)))
    rows.append(("", "first rung only", "", "", money(ld.first_rung.low), money(ld.first_rung.high)))
    lines = [
        "",
        f"Capacity ladder ({ld.currency} per month; expected mix from capacity.json {ld.date}, an assumption):",
        table(rows, ("Workload", "Rung", "Share", "Per replica-h", "Min", "Max"), "llrrrr"),
        "* uses an unconfirmed price or discount (see --format json: unconfirmed)",
    ]
    if not ld.items:
        lines[1:] = ["", "Capacity ladder: no inference service or training workload to place."]
    if ld.term:
        lines.append("")
        lines.append(
            f"Committed-use what-if ({ld.term}, ESTIMATE: commitments bill every hour of the term; covers the "
            "steady on-demand share at min replicas, and this project's reservations whole):"
        )
        if ld.commitments:
            crow = [
                (
                    c.key,
                    c.kind.replace("_", " "),
                    f"{c.discount * 100:g} %",
                    f"{c.utilization * 100:.0f} %",
                    f"{c.break_even * 100:.0f} %",
                    "yes" if c.committed else "no (below break-even)",
                    money(c.saving),
                )
                for c in ld.commitments
            ]
            lines.append(
                table(crow, ("Commitment", "CUD", "Discount", "Runs", "Break-even", "Commit", "Saving"), "lllrrlr")
            )
        else:
            lines.append("  nothing to commit: no on-demand or reserved hours")
        after = ld.expected_with_commitment
        on_reservations = (
            f" ({money(ld.reservation_saving)} of it on the reservations' own lines)" if ld.reservation_saving else ""
        )
        lines.append(
            f"Saving {money(ld.saving)} per month{on_reservations}; expected mix with it: {money(after.low)} - "
            f"{money(after.high)}"
        )
    return "\n".join(lines) + "\n"


def render_ladder_markdown(ld: Ladder) -> str:
    """The ladder as markdown, for a README or a pull request (after :func:`gkeml.cost.render_markdown`)."""
    from gkeml.cost.report import _md_table, money

    if not ld.items and not ld.commitments:
        return ""
    rows = [
        (
            f"`{i.key}`" if n == 0 else "",
            r.price.rung,
            f"{r.share * 100:.0f} %",
            money(r.monthly.low),
            money(r.monthly.high),
        )
        for i in ld.items
        for n, r in enumerate(i.rungs)
    ]
    rows.append(("**expected mix**", "", "", money(ld.expected.low), money(ld.expected.high)))
    out = [
        "",
        f"**Capacity ladder** ({ld.currency} per month; shares from capacity.json {ld.date}, an assumption)",
        "",
        *_md_table(("Workload", "Rung", "Share", "Min", "Max"), rows, "llrrr"),
    ]
    if not ld.items:
        out = ["", "**Capacity ladder**: no inference service or training workload to place."]
    if ld.term:
        out += [
            "",
            f"Committed-use what-if ({ld.term}, an estimate): saving {money(ld.saving)} per month on "
            f"{sum(c.committed for c in ld.commitments)} of {len(ld.commitments)} committable lines.",
        ]
    return "\n".join(out) + "\n"
