"""How much time an apply is sure to put between two resources.

Terraform creates a resource once everything it depends on is created; how long any creation takes is
unknown, except a ``time_sleep`` (hashicorp/time), which takes at least its ``create_duration``. So the
time surely passed between the end of ``a`` and the start of ``b`` is the longest chain of sleeps on a
dependency path from ``a`` to ``b`` (nothing, when ``b`` does not wait for ``a`` at all), and the time a
stack's apply surely runs on after ``a`` is the longest chain of sleeps after it. Everything else counts
as instantaneous: a cluster takes minutes to create, but no document promises how many.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gkeml.lifecycle.graph import blocks

SLEEP = "time_sleep"
# Go time.ParseDuration units (hashicorp/time docs/resources/sleep: create_duration "30s", "5m")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def duration_seconds(text: object) -> float:
    """Seconds of a Go duration such as ``600s`` or ``1h2m``; 0 for anything unparsable (a reference to
    another value is unknown until apply, so it promises nothing)."""
    if not isinstance(text, str):
        return 0.0
    parts = _PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return 0.0
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def durations(stack: dict) -> dict[str, float]:
    """address -> the least time its creation takes (only sleeps promise any)."""
    return {
        address: duration_seconds(conf.get("create_duration"))
        for address, rtype, conf in blocks(stack)
        if rtype == SLEEP and not address.startswith(("data.", "ephemeral."))
    }


def gap(graph: dict[str, set[str]], took: dict[str, float], first: str, then: str) -> float | None:
    """The time surely passed between the end of ``first`` and the start of ``then`` in one apply: the longest
    chain of ``took`` on a path from ``first`` to ``then`` (not counting either), or None when ``then`` does
    not wait for ``first``."""
    memo: dict[str, float | None] = {}

    def after(node: str) -> float | None:  # the longest chain from the end of `first` to the start of `node`
        if node not in memo:
            memo[node] = None  # cycles are Terraform's to refuse; here they end the walk
            best: float | None = None
            for dep in graph.get(node, ()):
                here = 0.0 if dep == first else _plus(after(dep), took.get(dep, 0.0))
                if here is not None and (best is None or here > best):
                    best = here
            memo[node] = best
        return memo[node]

    return after(then)


def tail(graph: dict[str, set[str]], took: dict[str, float]) -> Callable[[str], float]:
    """A function: address -> the time the apply surely runs on after it ends (the longest chain of ``took``
    over the resources that wait for it)."""
    dependents: dict[str, set[str]] = {}
    for node, deps in graph.items():
        for dep in deps:
            dependents.setdefault(dep, set()).add(node)
    memo: dict[str, float] = {}

    def after(node: str) -> float:
        if node not in memo:
            memo[node] = 0.0
            memo[node] = max((took.get(d, 0.0) + after(d) for d in dependents.get(node, ())), default=0.0)
        return memo[node]

    return after


def length(graph: dict[str, set[str]], took: dict[str, float]) -> float:
    """The least time the whole apply takes: its longest chain of ``took``."""
    memo: dict[str, float] = {}

    def upto(node: str) -> float:  # the least time from the start of the apply to the end of `node`
        if node not in memo:
            memo[node] = 0.0
            memo[node] = took.get(node, 0.0) + max((upto(d) for d in graph.get(node, ())), default=0.0)
        return memo[node]

    return max((upto(n) for n in graph), default=0.0)


def start(graph: dict[str, set[str]], took: dict[str, float]) -> Callable[[str], float]:
    """A function: address -> the time from the start of the apply that surely passes before it starts."""
    memo: dict[str, float] = {}

    def before(node: str) -> float:
        if node not in memo:
            memo[node] = 0.0
            memo[node] = max((took.get(d, 0.0) + before(d) for d in graph.get(node, ())), default=0.0)
        return memo[node]

    return before


def _plus(a: float | None, b: float) -> float | None:
    return None if a is None else a + b
