"""Where an environment keeps its Terraform state, and the one rule about where two may not: their
object prefixes in a shared bucket must not nest (the bootstrap's IAM conditions match by prefix)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class StateLocation:
    """Where one environment keeps its Terraform state: the bucket and the object-name prefixes of its
    stacks (each ending in '/'), what the bootstrap's IAM conditions give its CI identities (startsWith)."""

    env: str
    bucket: str
    objects: tuple[str, ...]


def nested_state_problems(states: list[StateLocation]) -> Iterator[tuple[int, str]]:
    """(index, message) of each state that nests in an earlier one's in the same bucket: the conditions
    match by prefix, so the outer environment's CI would reach the inner one's state. Equal prefixes
    are not nesting (they are one state, reported as such)."""
    for i, mine in enumerate(states):
        for theirs in states[:i]:
            pairs = [(a, b) for a in mine.objects for b in theirs.objects if a != b]
            nested = next(((a, b) for a, b in pairs if a.startswith(b) or b.startswith(a)), None)
            if mine.bucket != theirs.bucket or nested is None:
                continue
            a, b = nested
            where = (
                f"{mine.env}'s state gs://{mine.bucket}/{a} lies inside {theirs.env}'s gs://{mine.bucket}/{b}"
                if a.startswith(b)
                else f"{theirs.env}'s state gs://{mine.bucket}/{b} lies inside {mine.env}'s gs://{mine.bucket}/{a}"
            )
            yield (
                i,
                f"{where}: the IAM conditions that keep each environment's CI to its own state match object "
                "names by prefix, so the outer one's CI could read and overwrite the inner one's state; use "
                "state prefixes that do not nest (one prefix for both is fine: each state is <prefix>/<name>/)",
            )
            break
