"""Whether a rendered job can run: the rules ``gkeml check`` runs, on the objects the spec renders, with
each finding at the spec's key (file, line and field).

- Its pod as Autopilot admits it: the request rules (:data:`gkeml.rules.admission.REQUEST_RULES`: the
  ranges of its GPU or compute class, the ratio Autopilot raises, ephemeral storage, the GCS FUSE
  sidecar), with the rule's severity: an error refuses the spec, a warning is reported beside it
  (:func:`request_problems`). Every spec, with or without an environment.
- In its environment: every parallel Pod within the team's ResourceQuota (rule GKE025) and, with
  Kueue, the whole job within what the team's ClusterQueue can ever be given (rule GKE026)
  (:func:`fit_problems`).

``gkeml job render`` and ``submit`` refuse a job that cannot run (:mod:`gkeml.jobs.gate`);
``gkeml check`` reports the same through the rules."""

from __future__ import annotations

from gkeml import platform
from gkeml.config import ConfigError, Environment
from gkeml.config.base import Problem
from gkeml.config.loader import ConfigProblem, line_of, load_yaml
from gkeml.jobs.spec import JobSpec
from gkeml.manifests import Obj
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.rules.admission import at_keys, request_findings
from gkeml.rules.engine import Group
from gkeml.rules.queueing import QueueShortfall, queue_shortfalls
from gkeml.rules.quota import Shortfall, quota_shortfalls

# The spec field that sizes each resource a quota or a request rule counts.
SPEC_FIELD = {
    "cpu": "cpu",
    "memory": "memory",
    "ephemeral-storage": "ephemeral_storage",
    platform.GPU_RESOURCE: "gpu_count",
    "pods": "nodes",
}
# A request rule's field -> the spec's key: a container's resource, or an annotation of the GCS FUSE sidecar.
REQUEST_KEYS: dict[str, tuple[str, ...]] = {
    **{resource: (field,) for resource, field in SPEC_FIELD.items()},
    **{
        annotation: ("gcsfuse", SPEC_FIELD[resource])
        for resource, annotation in platform.GCSFUSE_SIDECAR_ANNOTATIONS.items()
    },
}


def request_problems(rendered: list[Obj]) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the request rules on the objects a spec renders, each at the spec's key (a rule
    that names both requests, the ratio Autopilot raises, is at ``memory``)."""
    findings = [f for obj in rendered for f in request_findings(obj)]
    return at_keys(findings, (), REQUEST_KEYS, default=("memory",))


def team_objects(env: Environment, team: str) -> list[Obj]:
    """What a job of ``team`` shares its namespace and queue with: the team's namespace objects, its
    services' workloads and, with Kueue, the queue objects."""
    plan = in_cluster_plan(env)
    objects = list(plan.teams.get(team, []))
    for svc in plan.services:
        if svc.team == team:
            objects += svc.workload
    if plan.kueue:
        objects += plan.kueue.queues
    return objects


def fit_problems(
    spec: JobSpec, env: Environment, rendered: list[Obj], env_file: str | None = None
) -> list[ConfigProblem]:
    """Each quota the rendered job cannot fit, as ``file:line: field: message; fix`` problems."""
    group = Group([*team_objects(env, spec.team), *rendered])
    lines = load_yaml(spec._text, spec._file)[1] if spec._text else {}
    where = env_file or f"{env.name}.yaml"
    problems = []
    for obj in rendered:
        shortfalls: list[Shortfall | QueueShortfall] = [*quota_shortfalls(obj, group), *queue_shortfalls(obj, group)]
        for short in shortfalls:
            field = SPEC_FIELD.get(short.resource, "")
            problems.append(
                ConfigProblem(
                    spec._file,
                    line_of((field,), lines) if field else 1,
                    field,
                    f"{short.message()} in {env.name}; {short.fix(where)}",
                )
            )
    return problems


def check_fit(spec: JobSpec, env: Environment, rendered: list[Obj], env_file: str | None = None) -> None:
    """Raise ConfigError unless the rendered job fits its team's quotas in ``env``."""
    problems = fit_problems(spec, env, rendered, env_file)
    if problems:
        raise ConfigError(problems)
