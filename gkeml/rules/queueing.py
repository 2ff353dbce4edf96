"""Queue fit: a Job sent to a Kueue LocalQueue must fit what its ClusterQueue can ever be given.

Kueue admits a whole workload at once, on one ResourceFlavor per resource group, when the flavor's
quota has room: the ClusterQueue's nominal quota, plus what it may borrow (``borrowingLimit``, none
set: no limit) from the other ClusterQueues of its cohort, which lend at most their nominal quota
(or ``lendingLimit``), and from the Cohort's own nominal quota (a shared pool of its ClusterQueues:
v1beta2 Cohort ``spec.resourceGroups``). A Job larger than that on every flavor it may use stays suspended forever,
whatever else runs. Kueue counts the Pod templates as written, after the LimitRange defaults and
with limits as missing requests (pkg/workload/resources.go, v0.19.2), without the Pods' injected
sidecars (the webhook adds those to the Pods, not to the Job); ``ephemeral-storage`` is excluded in
gkeml's Kueue configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
    get,
    kind_of,
    name_of,
    namespace_of,
    node_label,
    pod_templates,
    quantity,
    rule,
)
from gkeml.rules.quota import amount, pod_totals

# Kinds Kueue admits as one workload (its batch/job, jobset and ray integrations; a LeaderWorkerSet is one workload
# per group, and long-running kinds are not queued by gkeml).
QUEUED_KINDS = ("Job", "JobSet", "RayJob", "RayCluster")
UNLIMITED = float("inf")


def template_requests(pod: PodTemplate, group: Group, namespace: str) -> dict[str, float]:
    """Requests of one Pod as Kueue counts them: the template alone (no injected sidecars)."""
    totals = pod_totals(pod, group, namespace, injected=False)
    return {resource: value for (kind, resource), value in totals.items() if kind == "requests"}


def cluster_queue_of(obj: Obj, group: Group) -> tuple[str, Obj | None]:
    """(LocalQueue name, its ClusterQueue) for a Job labelled with a queue, ('', None) otherwise."""
    queue = get(obj, "metadata", "labels", platform.KUEUE_QUEUE_LABEL)
    if not isinstance(queue, str):
        return "", None
    local = [q for q in group.of_kind("LocalQueue", namespace_of(obj)) if name_of(q) == queue]
    if not local:
        return queue, None
    target = get(local[0], "spec", "clusterQueue")
    found = [c for c in group.of_kind("ClusterQueue") if name_of(c) == target]
    return queue, found[0] if found else None


def _flavor_quota(cq: Obj, flavor: str, resource: str) -> tuple[float, float, float] | None:
    """(nominal, borrowing limit, lending limit) of ``resource`` on ``flavor`` in a ClusterQueue."""
    for rg in as_list(get(cq, "spec", "resourceGroups")):
        for f in as_list(get(rg, "flavors")):
            if get(f, "name") != flavor:
                continue
            for r in as_list(get(f, "resources")):
                if get(r, "name") == resource:
                    nominal = quantity(get(r, "nominalQuota")) or 0.0
                    borrowing = quantity(get(r, "borrowingLimit"))
                    lending = quantity(get(r, "lendingLimit"))
                    return (
                        nominal,
                        UNLIMITED if borrowing is None else borrowing,
                        nominal if lending is None else lending,
                    )
    return None


def ceiling(cq: Obj, group: Group, flavor: str, resource: str) -> float:
    """The most of ``resource`` on ``flavor`` the ClusterQueue can ever hold: its nominal quota plus
    what it may borrow, capped by what the rest of its cohort can lend (the other ClusterQueues, and
    the Cohort's own quota)."""
    own = _flavor_quota(cq, flavor, resource)
    if own is None:
        return 0.0
    nominal, borrowing, _ = own
    cohort = get(cq, "spec", "cohortName")
    if not cohort:
        return nominal
    lendable = 0.0
    for other in group.of_kind("ClusterQueue"):
        if other is cq or get(other, "spec", "cohortName") != cohort:
            continue
        theirs = _flavor_quota(other, flavor, resource)
        if theirs is not None:
            lendable += theirs[2]
    for pool in group.of_kind("Cohort"):
        if name_of(pool) == cohort:
            theirs = _flavor_quota(pool, flavor, resource)
            if theirs is not None:
                lendable += theirs[0]
    return nominal + min(borrowing, lendable)


def eligible(pod: PodTemplate, flavor: Obj | None) -> bool:
    """Whether Kueue may place the Pod on a flavor: no nodeLabel the Pod selects differently, every
    taint tolerated."""
    if flavor is None:
        return True  # an unknown flavor is not ours to judge
    for key, value in as_dict(get(flavor, "spec", "nodeLabels")).items():
        wanted, _ = node_label(pod, key)
        if wanted is not None and wanted != str(value):
            return False
    tolerations = as_list(pod.spec.get("tolerations"))
    return all(any(_tolerates(t, taint) for t in tolerations) for taint in as_list(get(flavor, "spec", "nodeTaints")))


def _tolerates(toleration: object, taint: object) -> bool:
    if get(toleration, "effect") not in (None, "", get(taint, "effect")):
        return False
    if get(toleration, "operator") == "Exists":
        return get(toleration, "key") in (None, "", get(taint, "key"))
    return get(toleration, "key") == get(taint, "key") and get(toleration, "value") == get(taint, "value")


@dataclass(frozen=True)
class QueueShortfall:
    """A resource a queued workload needs more of than its ClusterQueue can ever get on a flavor it may use."""

    local_queue: str
    cluster_queue: str
    team: str | None  # set when gkeml made the ClusterQueue
    resource: str
    need: float
    ceilings: dict[str, float]  # eligible flavor -> most the queue can get

    def message(self) -> str:
        room = (
            ", ".join(f"{amount(self.resource, v)} on {name}" for name, v in self.ceilings.items())
            or "nothing (no flavor it may use)"
        )
        whose = f"team {self.team}'s " if self.team else ""
        return (
            f"{whose}LocalQueue {self.local_queue} (ClusterQueue {self.cluster_queue}) never admits it: its pods "
            f"need {amount(self.resource, self.need)} of {self.resource} together, the queue can get at "
            f"most {room}"
        )

    def fix(self, environment_file: str = "the environment file") -> str:
        where = (
            f"teams.{self.team}.quota or kueue.borrowing_limit_percent in {environment_file}"
            if self.team
            else f"the nominal quota or borrowing limit of ClusterQueue {self.cluster_queue}"
        )
        return f"lower the job's {self.resource} or parallel pods, or raise {where}"


def queue_shortfalls(obj: Obj, group: Group) -> list[QueueShortfall]:
    """The resources the queued workload needs more of than any flavor it may use can ever give its
    ClusterQueue (empty for a workload that is not queued, or whose queue is not in the group)."""
    if kind_of(obj) not in QUEUED_KINDS:
        return []
    local, cq = cluster_queue_of(obj, group)
    if cq is None:
        return []
    templates = pod_templates(obj)
    need: dict[str, float] = {}
    for pod in templates:
        one = template_requests(pod, group, namespace_of(obj))
        need = add_amounts(need, {k: v * pod.replicas for k, v in one.items()})
    flavors = {name_of(f): f for f in group.of_kind("ResourceFlavor")}
    team = get(cq, "metadata", "labels", "gkeml.io/team")
    found = []
    for rg in as_list(get(cq, "spec", "resourceGroups")):
        wanted = [r for r in as_list(get(rg, "coveredResources")) if isinstance(r, str) and need.get(r, 0.0) > 0]
        if not wanted:
            continue
        options: dict[str, dict[str, float]] = {}
        for f in as_list(get(rg, "flavors")):
            name = get(f, "name")
            if isinstance(name, str) and all(eligible(p, flavors.get(name)) for p in templates):
                options[name] = {r: ceiling(cq, group, name, r) for r in wanted}
        if any(all(need[r] <= room[r] * (1 + 1e-9) for r in wanted) for room in options.values()):
            continue
        for r in wanted:
            if not options or all(need[r] > room[r] * (1 + 1e-9) for room in options.values()):
                found.append(
                    QueueShortfall(
                        local,
                        name_of(cq),
                        team if isinstance(team, str) else None,
                        r,
                        need[r],
                        {n: room[r] for n, room in options.items()},
                    )
                )
    return found


@rule(
    "GKE026",
    "A queued Job must fit what its ClusterQueue can ever be given",
    ERROR,
    kind=CAPACITY,
    inspects=QUEUED_KINDS,
)
def queue_fit(obj: Obj, group: Group) -> Iterator[Issue]:
    """Kueue admits a Job whole, on one ResourceFlavor per resource group, within its ClusterQueue's
    nominal quota plus what it may borrow from the cohort (which lends at most its own quota). A Job
    larger than that on every flavor it may use is never admitted and stays suspended.

    Source: kubernetes-sigs/kueue v0.19.2 pkg/scheduler/flavorassigner, pkg/workload/resources.go (a workload is
    admitted whole, within nominal quota plus borrowing)."""
    for short in queue_shortfalls(obj, group):
        yield Issue(f"metadata.labels.{platform.KUEUE_QUEUE_LABEL}", short.message(), short.fix())
