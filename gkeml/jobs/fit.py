"""Whether a rendered job can ever run in its environment: every parallel Pod within the team's
ResourceQuota (rule GKE025) and, with Kueue, the whole job within what the team's ClusterQueue can
ever be given (rule GKE026). ``gkeml job render --env`` and ``submit`` refuse a job that cannot, with
the spec's file, line and field; ``gkeml check`` reports the same through the rules."""

from __future__ import annotations

from gkeml import platform
from gkeml.config import ConfigError, Environment
from gkeml.config.loader import ConfigProblem, line_of, load_yaml
from gkeml.jobs.spec import JobSpec
from gkeml.manifests import Obj
from gkeml.manifests.workloads import in_cluster_plan
from gkeml.rules.engine import Group
from gkeml.rules.queueing import QueueShortfall, queue_shortfalls
from gkeml.rules.quota import Shortfall, quota_shortfalls

# The spec field that sizes each resource a quota counts.
SPEC_FIELD = {
    "cpu": "cpu",
    "memory": "memory",
    "ephemeral-storage": "ephemeral_storage",
    platform.GPU_RESOURCE: "gpu_count",
    "pods": "nodes",
}


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
