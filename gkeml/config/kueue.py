"""The ``kueue:`` section of an environment file: job queueing with Kueue.

Each team gets a ClusterQueue whose nominal quota is the team's ``quota`` (cpu, memory, GPUs), in
one cohort so that idle quota can be borrowed, and a LocalQueue in its namespace that jobs name.
What the section sets is how much a team may borrow, how much of its GPU quota only Spot jobs may
use, and how long an admitted job may take to have all its pods ready (all-or-nothing admission).
The objects are built in :mod:`gkeml.manifests.kueue`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field

from gkeml import platform
from gkeml.config.base import Problem, Strict, resolved


class Kueue(Strict):
    """Kueue, installed from its official chart, with a ClusterQueue and LocalQueue per team."""

    enabled: bool = resolved("Install Kueue and queue every team's jobs through it.", "true when a team has GPU quota")
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


def resolve_defaults(data: dict) -> None:
    """Fill in ``kueue.enabled`` (on when a team has GPU quota) in the raw data of an environment file,
    before validation; values of the wrong type are left for validation to report."""
    section = data.get("kueue", {})
    if not isinstance(section, dict) or "enabled" in section:
        return
    teams = data.get("teams")
    teams = teams if isinstance(teams, list) else []
    quotas = [t.get("quota") for t in teams if isinstance(t, dict)]
    gpus = [q.get("gpus") for q in quotas if isinstance(q, dict)]
    data["kueue"] = {**section, "enabled": any(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in gpus)}


def kueue_problems(env: Any) -> Iterator[Problem]:
    """A team namespace cannot be the one Kueue runs in."""
    if not env.kueue.enabled:
        return
    for i, team in enumerate(env.teams):
        if team.name == platform.KUEUE_NAMESPACE:
            yield ("teams", i, "name"), f"{team.name!r} is the namespace Kueue runs in; name the team differently"
