"""``gkeml job explain``: for each capacity rung a job may land on, does it fit, and if not, what blocks it.

Offline, from the spec and its environment, with the computations ``gkeml job submit`` and ``gkeml
check`` already make (no second implementation):

- a rung is a submission of the spec that lands there: the spec as written on its ComputeClass's rungs
  (the class decides), or, without a class, the spec with ``spot`` / ``flex_start`` set for the Spot,
  on-demand and flex-start rungs (the rungs the spec does not choose are shown as alternatives);
- each such submission passes the job gate's checks (:mod:`gkeml.jobs.gate`): the spec's own
  (flex-start's seven-day run limit, Spot's termination grace and checkpoints), the environment's
  (the class, Kueue), the request rules on the pod it renders (the Autopilot maxima of its GPU), and
  its fit in the team's ResourceQuota and ClusterQueue with what that may borrow (rules GKE025,
  GKE026: :mod:`gkeml.jobs.fit`);
- the region's GPU quota from a recorded Compute Engine ``regions.get`` answer (``--quota-snapshot``;
  ``gcloud compute regions describe REGION --format json`` writes one), counted the way ``gkeml
  doctor``'s preflight counts it (:mod:`gkeml.doctor.preflight`): Spot and flex-start on the
  preemptible quota when the project has one; without a snapshot it is unknown;
- the cost per hour of the whole job on each rung (:mod:`gkeml.cost.ladder`).

What stops the spec itself (an unknown team, a bad image, a field out of range) is not a capacity
question: it is a ConfigError (exit 2), as for ``gkeml job render``.

Live (``--live``), the cluster's own answer for the newest run of the spec: its Kueue Workload's
conditions (the Workload Kueue owns by the Job, or by the JobSet of a multi-node job) and the events of the
run, its Workload, a JobSet's child Jobs (found by the JobSet's name label, as the other job verbs find them:
FailedCreate when the team's ResourceQuota refuses a pod) and their pods, those already deleted included
(FailedScheduling, NotTriggerScaleUp, TriggeredScaleUp, Preempted, ...), read with the bounded client of the
other job verbs.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gkeml import platform
from gkeml.config import ConfigError, Environment, parse
from gkeml.config.base import Problem
from gkeml.config.loader import ConfigProblem, field_name, line_of, load_yaml, read_config_text
from gkeml.jobs.build import Target, objects
from gkeml.jobs.fit import request_problems, team_objects
from gkeml.jobs.spec import JobSpec, env_problems, spec_problems
from gkeml.rules.engine import Group
from gkeml.rules.queueing import queue_shortfalls
from gkeml.rules.quota import quota_shortfalls
from gkeml.units import gib, parse_quantity

# What blocks a rung, by the spec field a gate check names (the other fields are the spec's own mistakes).
CAPACITY_FIELDS = {
    "termination_grace_seconds": "spot-grace",
    "active_deadline_seconds": "flex-start-max-run",
    "spot": "spot-checkpoints",
    "flex_start": "flex-start",
    "compute_class": "compute-class",
    "gpu": "gpu-shape",
    "gpu_count": "gpu-shape",
}
REASONS = {
    "autopilot-maximum": "the pod's requests are outside what Autopilot admits for its GPU or class",
    "gpu-shape": "Autopilot offers no such GPU count",
    "team-quota": "the team's ResourceQuota",
    "cluster-queue": "the team's ClusterQueue, with what it may borrow from its cohort",
    "region-quota": "the region's GPU quota (recorded snapshot)",
    "flex-start-max-run": f"flex-start nodes run at most {platform.FLEX_START_MAX_RUN_SECONDS // 86400} days",
    "flex-start": "flex-start is not available to this job",
    "spot-grace": f"Spot gives a pod at most {platform.SPOT_TERMINATION_GRACE_SECONDS} s after preemption",
    "spot-checkpoints": "a Spot job must checkpoint to resume after preemption",
    "compute-class": "its ComputeClass",
    "reservation": "the reservation's VMs",
}
EXIT_FITS, EXIT_NOWHERE = 0, 1


@dataclass(frozen=True)
class Blocker:
    """One reason a rung cannot run the job: a :data:`REASONS` key, what the check said, and its spec field."""

    reason: str
    message: str
    field: str = ""


@dataclass
class RungVerdict:
    """One rung: whether the job's own ladder includes it (``chosen``), what blocks it, facts worth
    knowing there, and what the whole job costs per hour on it."""

    rung: str
    chosen: bool
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cost_per_hour: float | None = None
    cost_basis: str = ""
    unconfirmed: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return not self.blockers


@dataclass
class Explanation:
    """Every rung of one job spec in one environment (and, with ``--live``, what the cluster says)."""

    job: str
    team: str
    environment: str
    currency: str
    region_quota: str  # where the region's quota came from, or why it is unknown
    rungs: list[RungVerdict]
    live: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        """0 when the job fits on some rung of its own ladder, 1 when it fits nowhere it may land."""
        return EXIT_FITS if any(r.fits for r in self.rungs if r.chosen) else EXIT_NOWHERE

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "team": self.team,
            "environment": self.environment,
            "currency": self.currency,
            "region_quota": self.region_quota,
            "fits": self.exit_code == EXIT_FITS,
            "rungs": [
                {
                    "rung": r.rung,
                    "chosen": r.chosen,
                    "fits": r.fits,
                    "blockers": [asdict(b) for b in r.blockers],
                    "notes": list(r.notes),
                    "cost_per_hour": None if r.cost_per_hour is None else round(r.cost_per_hour, 4),
                    "cost_basis": r.cost_basis,
                    "unconfirmed": list(r.unconfirmed),
                }
                for r in self.rungs
            ],
            "live": self.live,
        }


# --- the spec, parsed without the gate's refusal ----------------------------------------------------


def parse_for_explain(text: str, file: str) -> JobSpec:
    """The spec with its schema checked (types, ranges, unknown keys: ConfigError) and none of the gate's
    other checks: those are what :func:`explain` sorts into rung blockers and spec mistakes."""
    spec = parse(text, file, JobSpec)
    spec._file, spec._text = file, text
    return spec


def load_for_explain(path: str | Path) -> JobSpec:
    return parse_for_explain(read_config_text(path), str(path))


def _config_error(spec: JobSpec, problems: list[Problem]) -> ConfigError:
    lines = load_yaml(spec._text, spec._file)[1] if spec._text else {}
    return ConfigError(
        [ConfigProblem(spec._file, line_of(path, lines), field_name(path), msg) for path, msg in problems]
    )


# --- rungs ------------------------------------------------------------------------------------------


def _variants(spec: JobSpec, env: Environment) -> list[tuple[str, bool, JobSpec]]:
    """(rung, chosen, the spec as submitted on that rung) for every rung to explain."""
    cls = env.custom_compute_class(spec.compute_class)
    if cls is not None:
        from gkeml.cost.ladder import reservation_of

        found = []
        for rung in cls.capacity:
            name = str(rung)
            if name == "reservation":
                reserved = reservation_of(env, cls.name)
                name = f"reservation/{reserved.name}" if reserved is not None else name
            found.append((name, True, spec))
        return found
    chosen = "flex-start" if spec.flex_start else "spot" if spec.spot else "on-demand"
    rungs = [
        ("spot", spec.model_copy(update={"spot": True, "flex_start": False})),
        ("on-demand", spec.model_copy(update={"spot": False, "flex_start": False})),
    ]
    if spec.gpu is not None:
        rungs.append(("flex-start", spec.model_copy(update={"spot": False, "flex_start": True})))
    return [(name, name == chosen, variant) for name, variant in rungs]


def _gate_blockers(variant: JobSpec, env: Environment, env_file: str | None) -> tuple[list[Blocker], list[Problem]]:
    """(blockers, the spec's own mistakes) of one submission, from the job gate's checks."""
    blockers: list[Blocker] = []
    mistakes: list[Problem] = []
    own = spec_problems(variant)
    found = own + (env_problems(variant, env, env_file) if not own else [])
    for path, message in found:
        reason = CAPACITY_FIELDS.get(str(path[0])) if path else None
        if reason is None:
            mistakes.append((path, message))
        else:
            blockers.append(Blocker(reason, message, field_name(path)))
    if blockers or mistakes:
        return blockers, mistakes
    errors, _ = request_problems(objects(variant, Target.unresolved(variant)))
    blockers += [Blocker("autopilot-maximum", message, field_name(path)) for path, message in errors]
    if errors:
        return blockers, mistakes
    rendered = objects(variant, Target.of(variant, env))
    group = Group([*team_objects(env, variant.team), *rendered])
    where = env_file or f"{env.name}.yaml"
    for obj in rendered:
        for short in quota_shortfalls(obj, group):
            blockers.append(Blocker("team-quota", f"{short.message()}; {short.fix(where)}", short.resource))
        for qshort in queue_shortfalls(obj, group):
            blockers.append(Blocker("cluster-queue", f"{qshort.message()}; {qshort.fix(where)}", qshort.resource))
    return blockers, mistakes


def _class_rung_blockers(spec: JobSpec, rung: str, env: Environment) -> list[Blocker]:
    """What a class's rung adds to the gate's checks of the spec: flex-start's run limit, a reservation's size."""
    kind = rung.split("/")[0]
    if kind == "flex-start" and spec.active_deadline_seconds > platform.FLEX_START_MAX_RUN_SECONDS:
        return [
            Blocker(
                "flex-start-max-run",
                f"active_deadline_seconds {spec.active_deadline_seconds} s is longer than flex-start nodes run "
                f"({platform.FLEX_START_MAX_RUN_SECONDS} s, 7 days): the node is reclaimed before the job may end; "
                "lower it or take this rung out of the class",
                "active_deadline_seconds",
            )
        ]
    if kind == "reservation":
        from gkeml.cost.ladder import reservation_of

        reserved = reservation_of(env, spec.compute_class)
        need = spec.nodes * spec.gpu_count
        if reserved is not None and need > reserved.gpus:
            return [
                Blocker(
                    "reservation",
                    f"the job needs {spec.nodes} x {spec.gpu_count} GPUs at once, reservation {reserved.name} holds "
                    f"{reserved.count} VMs x {reserved.gpu_count} = {reserved.gpus}: the rest wait for the next rung",
                    "nodes",
                )
            ]
    return []


def _notes(spec: JobSpec, rung: str) -> list[str]:
    kind = rung.split("/")[0]
    if kind == "spot":
        every = (
            f", checkpoints every {spec.trainer.checkpoint_every} steps"
            if spec.uses_trainer and spec.checkpoints is not None
            else ""
        )
        return [
            f"Spot: preempted at any time with at most {platform.SPOT_TERMINATION_GRACE_SECONDS} s to stop "
            f"(this job asks {spec.grace_seconds} s{every})"
        ]
    if kind == "flex-start":
        return [
            f"flex-start: waits for capacity (no documented bound), then runs at most "
            f"{platform.FLEX_START_MAX_RUN_SECONDS // 86400} days (this job's deadline: "
            f"{spec.active_deadline_seconds} s)"
        ]
    if kind == "reservation":
        return ["reservation: its VMs hold their own quota and are billed whether used or not"]
    return []


# --- the region's GPU quota -----------------------------------------------------------------------


def load_quota_snapshot(path: str | Path, env: Environment) -> dict[str, tuple[float, float]]:
    """{metric: (limit, usage)} of a recorded ``regions.get`` answer; ConfigError when it is not one, or is
    of another region."""
    from gkeml.doctor.preflight import region_quotas

    where = str(path)
    try:
        body = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError([ConfigProblem(where, 1, "", f"not a readable JSON file ({exc})")]) from None
    if not isinstance(body, dict) or not isinstance(body.get("quotas"), list):
        raise ConfigError(
            [
                ConfigProblem(
                    where,
                    1,
                    "quotas",
                    "expected a Compute Engine region (regions.get) with a quotas list; record one with "
                    f"`gcloud compute regions describe {env.project.region} --project {env.project.id} --format json`",
                )
            ]
        )
    region = body.get("name")
    if isinstance(region, str) and region != env.project.region:
        raise ConfigError(
            [ConfigProblem(where, 1, "name", f"the snapshot is of {region}; {env.name} runs in {env.project.region}")]
        )
    try:
        return region_quotas(body)
    except (TypeError, ValueError) as exc:
        raise ConfigError([ConfigProblem(where, 1, "quotas", f"a limit or usage that is no number ({exc})")]) from None


def read_region_quotas(
    env: Environment, endpoint: str | None, limits: Any, record: str | Path | None = None
) -> dict[str, tuple[float, float]]:
    """{metric: (limit, usage)} read now from Compute Engine with ``gkeml doctor``'s client (DoctorError on
    failure); ``record`` keeps the answer as a snapshot for ``--quota-snapshot``."""
    from gkeml.doctor.preflight import ComputeApi, DoctorError, region_quotas

    project, region = env.project.id, env.project.region
    body = ComputeApi(endpoint, limits).get(f"projects/{project}/regions/{region}", project)
    if body is None:
        raise DoctorError(f"region {region} not found in project {project}: check project.region")
    if record is not None:
        Path(record).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    try:
        return region_quotas(body)
    except (TypeError, ValueError) as exc:
        raise DoctorError(f"Compute Engine sent a quota that is no number ({exc})") from None


def _region_blockers(
    spec: JobSpec, rung: str, quotas: dict[str, tuple[float, float]] | None
) -> tuple[list[Blocker], list[str]]:
    """The region's GPU quota for the job on ``rung``: blockers when its limit is below the job's GPUs, a note
    when what is free at the snapshot is."""
    kind = rung.split("/")[0]
    if spec.gpu is None or kind == "reservation" or quotas is None:
        return [], []
    from gkeml.doctor.preflight import QuotaNeed, _quota_amounts

    need = QuotaNeed(platform.GPU_QUOTA_METRICS[spec.gpu])
    amount = spec.nodes * spec.gpu_count
    if kind in ("spot", "flex-start"):  # both on the preemptible quota (how-to/dws-flex-start-training)
        need.spot = amount
    else:
        need.on_demand = amount
    blockers, notes = [], []
    for metric, wanted in _quota_amounts(need, quotas).items():
        if wanted <= 0:
            continue
        if metric not in quotas:
            blockers.append(
                Blocker(
                    "region-quota", f"the region lists no {metric} quota: {spec.gpu} may not be offered there", "gpu"
                )
            )
            continue
        limit, usage = quotas[metric]
        if limit < wanted:
            blockers.append(
                Blocker(
                    "region-quota",
                    f"{metric} is {limit:g} in the region, the job needs {wanted:g} GPUs at once; ask for more "
                    "(IAM & Admin > Quotas) or lower nodes x gpu_count",
                    "nodes",
                )
            )
        elif limit - usage < wanted:
            notes.append(f"{metric}: {limit - usage:g} of {limit:g} free at the snapshot; the job needs {wanted:g}")
        else:
            notes.append(f"{metric}: {limit - usage:g} of {limit:g} free at the snapshot")
    return blockers, notes


# --- cost -----------------------------------------------------------------------------------------


def _cost(spec: JobSpec, rung: str, env: Environment, verdict: RungVerdict) -> None:
    from gkeml.cost import CostError, load_prices
    from gkeml.cost.estimate import Estimator, Workload
    from gkeml.cost.ladder import load_capacity, rung_price

    workload = Workload(
        key=f"job/{spec.name}",
        team=spec.team,
        cpu=parse_quantity(spec.cpu),
        memory_gib=gib(spec.memory),
        gpu=spec.gpu,
        gpu_count=spec.gpu_count,
        spot=rung == "spot",
        compute_class=spec.compute_class,
        replicas=(spec.nodes, spec.nodes),
        hours=1.0,
        schedule="per hour",
    )
    try:
        price = rung_price(Estimator(load_prices()), workload, rung, load_capacity())
    except (CostError, KeyError, ValueError) as exc:
        verdict.cost_basis = f"not priced: {exc}"
        return
    verdict.cost_per_hour = price.hour * spec.nodes
    verdict.cost_basis = f"{spec.nodes} x {price.basis}"
    verdict.unconfirmed = list(price.unconfirmed)


# --- the whole explanation --------------------------------------------------------------------------


def explain(
    spec: JobSpec,
    env: Environment,
    env_file: str | None = None,
    quotas: dict[str, tuple[float, float]] | None = None,
    quota_source: str = "",
) -> Explanation:
    """Every rung of ``spec`` in ``env`` (see the module docstring); ConfigError for the spec's own mistakes."""
    from gkeml.cost import load_prices

    if spec.compute_class is not None and spec.compute_class not in (
        [c.name for c in env.compute_classes] + list(platform.BUILTIN_COMPUTE_CLASSES)
    ):
        raise _config_error(spec, env_problems(spec, env, env_file))
    rungs = []
    for rung, chosen, variant in _variants(spec, env):
        verdict = RungVerdict(rung, chosen)
        blockers, mistakes = _gate_blockers(variant, env, env_file)
        if mistakes:
            raise _config_error(spec, mistakes)
        verdict.blockers += blockers
        verdict.blockers += _class_rung_blockers(variant, rung, env)
        region, notes = _region_blockers(variant, rung, quotas)
        verdict.blockers += region
        verdict.notes += _notes(variant, rung) + notes
        _cost(variant, rung, env, verdict)
        rungs.append(verdict)
    source = quota_source or (
        f"unknown offline: pass --quota-snapshot FILE (`gcloud compute regions describe {env.project.region} "
        f"--project {env.project.id} --format json > FILE`)"
    )
    return Explanation(spec.name, spec.team, env.name, load_prices().currency, source, rungs)


def render(explanation: Explanation) -> str:
    """The explanation for humans: a table of rungs, then each rung's blockers and notes."""
    from gkeml.text import table

    e = explanation
    rows = [
        (
            r.rung + ("" if r.chosen else " (alternative)"),
            "yes" if r.fits else "no",
            ", ".join(dict.fromkeys(b.reason for b in r.blockers)) or "-",
            "-" if r.cost_per_hour is None else f"{r.cost_per_hour:,.2f}" + ("*" if r.unconfirmed else ""),
        )
        for r in e.rungs
    ]
    verdict = "fits" if e.exit_code == EXIT_FITS else "fits on no rung it may land on"
    lines = [
        f"job {e.job} (team {e.team}) in {e.environment}: {verdict}",
        table(rows, ("RUNG", "FITS", "BLOCKED BY", f"{e.currency}/H"), "lllr"),
        "",
    ]
    for r in e.rungs:
        if not r.blockers and not r.notes:
            continue
        lines.append(f"{r.rung}:")
        lines += [f"  blocked: {b.reason}{f' ({b.field})' if b.field else ''}: {b.message}" for b in r.blockers]
        lines += [f"  note: {n}" for n in r.notes]
        if r.cost_basis:
            lines.append(f"  cost: {r.cost_basis}")
    lines.append(f"region GPU quota: {e.region_quota}")
    if any(r.unconfirmed for r in e.rungs):
        lines.append("* uses an unconfirmed price or discount (gkeml/cost/prices.json, capacity.json: estimates)")
    if e.live is not None:
        lines += ["", *live_lines(e.live)]
    return "\n".join(lines) + "\n"


# --- live -------------------------------------------------------------------------------------------

# Event reasons that answer "why is it not running" (kubernetes scheduler, cluster autoscaler, Kueue,
# kubelet; kubernetes.io/docs/reference/kubectl/generated/kubectl_events, cloud.google.com/kubernetes-engine/
# docs/how-to/cluster-autoscaler-visibility: NotTriggerScaleUp, TriggeredScaleUp, FailedScaleUp; checked 2026-12-05).
KEY_EVENTS = (
    "FailedScheduling",
    "NotTriggerScaleUp",
    "TriggeredScaleUp",
    "FailedScaleUp",
    "Preempted",
    "Evicted",
    "FailedCreate",
    "Pending",
    "QuotaReserved",
    "Admitted",
    "EvictedDueToPreempted",
)
MAX_EVENTS = 50


def _text(value: Any) -> str | None:
    return value[:1000] if isinstance(value, str) else None


def _pod_of(jobs: list[str]) -> re.Pattern[str]:
    """The names of the pods the Job controller creates for ``jobs`` (``<job>-[<index>-]<5 characters>``,
    generateName), so the events of a pod deleted since (a preempted one) still match."""
    either = "|".join(re.escape(j) for j in jobs) or "(?!)"
    return re.compile(rf"(?:{either})-(?:[0-9]+-)?[a-z0-9]{{5}}")


def live_facts(api: Any, spec: JobSpec, run: str | None) -> dict[str, Any]:
    """The cluster's view of the newest run of ``spec`` (or of ``run``): its state, its Kueue Workload's
    conditions, and the events of the run, its Workload, a JobSet's child Jobs and their pods (newest last, at
    most :data:`MAX_EVENTS`)."""
    from gkeml.jobs.cluster import EXIT_FAILURE, ClusterError
    from gkeml.jobs.lifecycle import jobset_jobs, list_states, read

    namespace = spec.team
    if run is not None:
        state = read(api, namespace, run)
    else:
        mine = [s for s in list_states(api, [namespace]) if s.spec == spec.name]
        if not mine:
            raise ClusterError(
                f"no run of spec {spec.name} in {namespace} (context {api.connection.context.name!r}); submit one "
                f"with 'gkeml job submit', or name a run with --run",
                EXIT_FAILURE,
            )
        state = mine[0]
    workloads = api.workloads(namespace)
    conditions: list[dict[str, Any]] = []
    workload_name = state.admission.workload
    for w in workloads:
        meta = w.get("metadata") if isinstance(w.get("metadata"), dict) else {}
        if meta.get("name") != workload_name:
            continue
        status = w.get("status") if isinstance(w.get("status"), dict) else {}
        for c in status.get("conditions") or []:
            if isinstance(c, dict):
                conditions.append(
                    {k: _text(c.get(k)) for k in ("type", "status", "reason", "message", "lastTransitionTime")}
                )
    jobs = [state.name]
    if state.kind == "JobSet":
        children = jobset_jobs(api, namespace, state.name)
        jobs = sorted(
            n
            for j in children
            if isinstance(j.get("metadata"), dict) and isinstance(n := j["metadata"].get("name"), str)
        )
    pods = _pod_of(jobs)
    names = {
        (state.kind, state.name),
        *(("Job", j) for j in jobs),
        *(("Pod", p.name) for p in state.pods),
        *([("Workload", workload_name)] if workload_name else []),
    }
    events = []
    path = f"/api/v1/namespaces/{namespace}/events"
    for e in api.items(f"list events in {namespace}", path, [("limit", 500)]):
        involved = e.get("involvedObject") if isinstance(e.get("involvedObject"), dict) else {}
        kind, name = involved.get("kind"), involved.get("name")
        if (kind, name) not in names and not (kind == "Pod" and isinstance(name, str) and pods.fullmatch(name)):
            continue
        events.append(
            {
                "object": f"{_text(involved.get('kind')) or '?'}/{_text(involved.get('name'))}",
                "type": _text(e.get("type")),
                "reason": _text(e.get("reason")),
                "message": _text(e.get("message")),
                "count": e.get("count") if isinstance(e.get("count"), int) else 1,
                "last": _text(e.get("lastTimestamp")) or _text(e.get("eventTime")),
                "key": e.get("reason") in KEY_EVENTS,
            }
        )
    events.sort(key=lambda e: e["last"] or "")
    return {
        "run": f"{state.namespace}/{state.name}",
        "kind": state.kind,
        "jobs": jobs if state.kind == "JobSet" else [],
        "state": state.state,
        "admission": state.admission.summary(),
        "workload": workload_name,
        "conditions": conditions,
        "preempted_pods": state.preempted,
        "events": events[-MAX_EVENTS:],
    }


def live_lines(live: dict[str, Any]) -> list[str]:
    from gkeml.text import one_line

    lines = [one_line(f"live: {live['kind']} {live['run']}: {live['state']}; {live['admission']}")]
    if live["kind"] == "JobSet":
        lines.append(one_line(f"  child jobs: {', '.join(live['jobs']) or 'none yet'}"))
    if live["workload"]:
        lines.append(f"  Kueue workload {live['workload']}:")
        lines += [
            one_line(f"    {c['type']}={c['status']} {c['reason'] or ''}: {c['message'] or ''}")
            for c in live["conditions"]
        ]
    if live["preempted_pods"]:
        lines.append(f"  preempted pods: {live['preempted_pods']}")
    if live["events"]:
        lines.append("  events:")
        lines += [
            one_line(
                f"    {'!' if e['key'] else ' '} {e['last'] or '-'} {e['object']} {e['type'] or ''} {e['reason'] or ''}"
                f" (x{e['count']}): {e['message'] or ''}"
            )
            for e in live["events"]
        ]
    else:
        lines.append("  no events of the run, its workload, its jobs or its pods (events expire after an hour)")
    return lines
