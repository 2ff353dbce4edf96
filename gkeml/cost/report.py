"""Estimates as text: a plain table for terminals, markdown for READMEs and pull requests,
and the monthly change between two versions of an environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gkeml.cost.estimate import ZERO, BudgetLine, Cost, Estimate
from gkeml.text import table

HEADERS = ("Item", "Autopilot min", "Autopilot max", "Standard min", "Standard max", "Cheaper")
ESTIMATE_MARK = "*"


def money(value: float) -> str:
    """Two decimals with thousands separators; never '-0.00'."""
    return f"{value:,.2f}" if round(value, 2) != 0 else "0.00"


def _cheaper_at(autopilot: float, standard: float) -> str:
    diff = round(standard - autopilot, 2)
    return "same" if diff == 0 else ("Autopilot" if diff > 0 else "Standard")


def cheaper(autopilot: Cost, standard: Cost) -> str:
    """Which mode costs less for an item ('same' within a cent); names both ends when they differ."""
    low, high = _cheaper_at(autopilot.low, standard.low), _cheaper_at(autopilot.high, standard.high)
    return low if low == high else f"{low} at min, {high} at max"


def _rows(est: Estimate) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for i in est.items:
        name = i.key + (ESTIMATE_MARK if i.estimated else "")
        rows.append(
            (
                name,
                money(i.autopilot.low),
                money(i.autopilot.high),
                money(i.standard.low),
                money(i.standard.high),
                cheaper(i.autopilot, i.standard),
            )
        )
    ap, st = est.autopilot, est.standard
    rows.append(("TOTAL", money(ap.low), money(ap.high), money(st.low), money(st.high), cheaper(ap, st)))
    return rows


def _title(est: Estimate) -> str:
    p = est.prices
    return (
        f"{est.env}: monthly estimate in {p.currency} ({p.hours_per_month:g} h), min/max = HPA min/max replicas; "
        f"prices {p.region} {p.date} ({p.source})"
    )


def _summary(est: Estimate) -> str:
    diff = est.standard - est.autopilot
    amounts = f"{money(abs(diff.low))} at min replicas, {money(abs(diff.high))} at max"
    if diff.low >= 0 and diff.high >= 0:
        return f"Autopilot costs less than Standard per month: {amounts}."
    if diff.low <= 0 and diff.high <= 0:
        return f"Standard would cost less than Autopilot per month: {amounts}."
    return f"Standard minus Autopilot per month: {money(diff.low)} at min replicas, {money(diff.high)} at max."


def _bases(est: Estimate) -> list[str]:
    lines = []
    for i in est.items:
        lines.append(f"{i.key}: {i.basis}")
        if i.standard_basis:
            lines.append(f"{' ' * len(i.key)}  Standard: {i.standard_basis}")
    return lines


def _percentages(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v * 100:g} %" for v in values)


def budget_text(est: Estimate) -> str | None:
    """The environment's budget next to the estimate, in one sentence (None without a budget)."""
    b = est.budget
    if b is None:
        return None
    alerts = f"alerts at {_percentages(b.thresholds)} of actual spend"
    if b.forecast_thresholds:
        alerts += f" and {_percentages(b.forecast_thresholds)} of forecast spend"
    share = f"; the Autopilot maximum is {est.autopilot.high / b.amount * 100:.0f} % of it" if b.amount else ""
    return f"Budget: {money(b.amount)} {b.currency} per month ({b.basis}); {alerts}{share}."


def unconfirmed_text(budget: BudgetLine | None) -> str | None:
    """What share of a derived budget rests on prices the table marks unconfirmed (None when none does)."""
    if budget is None or not budget.unconfirmed:
        return None
    return (
        f"Items priced with values the table lists under 'estimates' (not confirmed on their source) make up "
        f"{budget.unconfirmed_share * 100:.0f} % of the maximum this budget derives from:"
    )


def unconfirmed_lines(budget: BudgetLine) -> list[str]:
    """One line per item a derived budget rests on that uses unconfirmed prices: item, maximum, prices."""
    return [f"{key} {money(high)}: {', '.join(prices)}" for key, high, prices in budget.unconfirmed]


def _unconfirmed_markdown(budget: BudgetLine | None) -> list[str]:
    """:func:`unconfirmed_text` and its items as a collapsed markdown list (empty when there is none)."""
    text = unconfirmed_text(budget)
    if not text or budget is None:
        return []
    items = [
        f"- `{key}` {money(high)}: {', '.join(f'`{p}`' for p in prices)}" for key, high, prices in budget.unconfirmed
    ]
    return ["", f"<details><summary>{text.rstrip(':')}</summary>", "", *items, "", "</details>"]


def ceiling_lines(est: Estimate) -> list[str]:
    """The teams' GPU quota ceiling, not part of the total: one summary line, then one line per team."""
    c = est.quota_ceiling
    if c is None:
        return []
    cur = est.prices.currency
    cover = (
        f"; the budget is {est.budget.amount / c.monthly * 100:.0f} % of it"
        if est.budget is not None and est.budget.currency == cur and c.monthly
        else ""
    )
    lines = [
        f"Quota ceiling (not in the total): the teams' GPU quotas allow at most {c.gpus} GPUs at once, "
        f"{money(c.monthly)} {cur} per month if every one is busy all month on-demand{cover}."
    ]
    for t in c.teams:
        priced = (
            f"{t.gpus} x {t.shape} ({t.gpu_hour:.4f}/GPU-h): {money(t.monthly)}"
            if t.shape
            else f"{t.gpus} GPUs, not priced (no workload or compute class names a GPU)"
        )
        lines.append(f"  {t.team}: {priced}")
    return lines


def _footnote(est: Estimate) -> str | None:
    if any(i.estimated for i in est.items):
        return (
            f"{ESTIMATE_MARK} uses a price or assumption listed under 'estimates' in the price table; "
            "check it before relying on the figure."
        )
    return None


def render_table(est: Estimate) -> str:
    """The estimate for a terminal: numbers table, verdict, how each item was priced."""
    out = [_title(est), "", table(_rows(est), HEADERS, align="lrrrrl"), "", _summary(est)]
    budget = budget_text(est)
    if budget:
        out.append(budget)
    unconfirmed = unconfirmed_text(est.budget)
    if unconfirmed and est.budget is not None:
        out += [unconfirmed] + ["  " + line for line in unconfirmed_lines(est.budget)]
    out += ceiling_lines(est)
    note = _footnote(est)
    if note:
        out.append(note)
    out += ["", "How each item is priced:"] + ["  " + line for line in _bases(est)]
    return "\n".join(out) + "\n"


def _md_table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], align: str) -> list[str]:
    marks = {"l": "---", "r": "---:"}
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render_markdown(est: Estimate) -> str:
    """The estimate as markdown (README, wiki, pull request)."""
    rows = [tuple(f"**{c}**" if r[0] == "TOTAL" else c for c in r) for r in _rows(est)]
    out = [f"**{_title(est)}**", ""] + _md_table(HEADERS, rows, "lrrrrl") + ["", _summary(est)]
    budget = budget_text(est)
    if budget:
        out += ["", budget]
    out += _unconfirmed_markdown(est.budget)
    ceiling = ceiling_lines(est)
    if ceiling:
        out += ["", ceiling[0], ""] + [f"- {line.strip()}" for line in ceiling[1:]]
    note = _footnote(est)
    if note:
        out += ["", note]
    out += ["", "<details><summary>How each item is priced</summary>", ""]
    for i in est.items:
        out.append(f"- `{i.key}`: {i.basis}" + (f"; Standard: {i.standard_basis}" if i.standard_basis else ""))
    out += ["", "</details>"]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Change:
    """The Autopilot monthly cost of one item before and after (``None``: item absent)."""

    key: str
    before: Cost | None
    after: Cost | None

    @property
    def delta(self) -> Cost:
        return (self.after or ZERO) - (self.before or ZERO)


def changes(before: Estimate | None, after: Estimate) -> list[Change]:
    """Items whose Autopilot cost differs (by a cent or more), in the order of ``after`` then removed ones."""
    old = {i.key: i.autopilot for i in before.items} if before else {}
    new = {i.key: i.autopilot for i in after.items}
    keys = list(new) + [k for k in old if k not in new]
    out = []
    for key in keys:
        c = Change(key, old.get(key), new.get(key))
        if round(c.delta.low, 2) != 0 or round(c.delta.high, 2) != 0:
            out.append(c)
    return out


def _range(c: Cost | None, signed: bool = False) -> str:
    if c is None:
        return "-"
    fmt = (lambda v: ("+" if round(v, 2) > 0 else "") + money(v)) if signed else money
    return fmt(c.low) if round(c.low, 2) == round(c.high, 2) else f"{fmt(c.low)} – {fmt(c.high)}"


def budget_change(before: Estimate | None, after: Estimate) -> str | None:
    """How the change moves the budget, in one sentence (None when neither version has one)."""
    old = before.budget if before else None
    new = after.budget
    if old is None and new is None:
        return None
    if new is None:
        return f"Budget: removed (was {money(old.amount)} {old.currency} per month)." if old else None
    how = f"{'derived' if new.derived else 'set'}: {new.basis}"
    if old is None:
        return f"Budget: new, {money(new.amount)} {new.currency} per month ({how})."
    if old.amount == new.amount and old.currency == new.currency:
        return f"Budget: {money(new.amount)} {new.currency} per month, unchanged ({how})."
    delta = new.amount - old.amount
    sign = "+" if delta > 0 else ""
    return f"Budget: {money(old.amount)} → {money(new.amount)} {new.currency} per month ({sign}{money(delta)}; {how})."


def render_delta(before: Estimate | None, after: Estimate, ref: str) -> str:
    """Markdown for a pull-request comment: the Autopilot monthly change against ``ref``, and the budget's."""
    p = after.prices
    title = f"### Monthly cost change of `{after.env}` against `{ref}` (Autopilot, {p.currency})"
    rows_changed = changes(before, after)
    total_before = before.autopilot if before else None
    if before is None:
        intro = f"`{after.env}` does not exist at `{ref}`: every item is new."
    else:
        intro = "Ranges are HPA min – max replicas."
    out = [title, "", intro, ""]
    if not rows_changed:
        out.append(f"No cost change (total {_range(after.autopilot)} per month).")
    else:
        rows = [(f"`{c.key}`", _range(c.before), _range(c.after), _range(c.delta, signed=True)) for c in rows_changed]
        total = Change("total", total_before, after.autopilot)
        rows.append(
            (
                "**Total**",
                f"**{_range(total.before)}**",
                f"**{_range(total.after)}**",
                f"**{_range(total.delta, signed=True)}**",
            )
        )
        out += _md_table(("Item", "Before", "After", "Change"), rows, "lrrr")
    budget = budget_change(before, after)
    if budget:
        out += ["", budget]
    out += _unconfirmed_markdown(after.budget)
    out += [
        "",
        f"Prices: {p.region}, {p.date} ([source]({p.source})). Generated by `gkeml cost {after.env} --against {ref}`.",
    ]
    return "\n".join(out) + "\n"


def delta_dict(before: Estimate | None, after: Estimate, ref: str) -> dict[str, Any]:
    """:func:`render_delta` as plain data for ``--format json``."""

    def cost(c: Cost | None) -> dict[str, float] | None:
        return {"min": round(c.low, 2), "max": round(c.high, 2)} if c is not None else None

    return {
        "environment": after.env,
        "against": ref,
        "currency": after.prices.currency,
        "exists_at_ref": before is not None,
        "items": [
            {"item": c.key, "before": cost(c.before), "after": cost(c.after), "change": cost(c.delta)}
            for c in changes(before, after)
        ],
        "total": {
            "before": cost(before.autopilot if before else None),
            "after": cost(after.autopilot),
            "change": cost(after.autopilot - (before.autopilot if before else ZERO)),
        },
        "budget": {
            "before": before.budget.to_dict() if before and before.budget else None,
            "after": after.budget.to_dict() if after.budget else None,
        },
    }
