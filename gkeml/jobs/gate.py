"""The gate every job spec passes: parse it, check it (alone or in its environment), render it, and refuse
what cannot run with the spec's ``file:line: field: message`` (ConfigError, exit 2).

A spec is parsed once with every check of its own (:func:`gkeml.jobs.spec.spec_problems`) and the rules on
the pod it renders (:func:`gkeml.jobs.fit.request_problems`: an error refuses it, a warning is kept on the
spec, :attr:`JobSpec.warnings`, for the command to print), all reported in one run; when those pass, the
checks against its environment (or, without one, what only an environment can resolve). Rendering for an
environment also checks that the job fits the team's quota and queue (:func:`gkeml.jobs.fit.check_fit`).
"""

from __future__ import annotations

from pathlib import Path

from gkeml.config import ConfigError, Environment, parse
from gkeml.config.base import Problem
from gkeml.config.loader import ConfigProblem, field_name, line_of, load_yaml, read_config_text
from gkeml.jobs.build import LAUNCH_RUN_ID, Target, launch_job, objects
from gkeml.jobs.fit import check_fit, request_problems
from gkeml.jobs.spec import JobSpec, env_problems, spec_problems, standalone_problems
from gkeml.manifests import Obj


def parse_job_spec(text: str, file: str, env: Environment | None = None, env_file: str | None = None) -> JobSpec:
    """Parse spec text and check it against ``env`` (or, without one, for names only an environment resolves)."""
    warnings: list[Problem] = []

    def checks(spec: JobSpec) -> list[Problem]:
        own = spec_problems(spec)
        errors: list[Problem] = []
        if not any(path[0] in ("gpu", "gpu_count") for path, _ in own):  # the pod needs a GPU Autopilot offers
            errors, warnings[:] = request_problems(objects(spec, Target.unresolved(spec)))
        if own or errors:
            return own + errors
        return env_problems(spec, env, env_file) if env is not None else standalone_problems(spec)

    spec = parse(text, file, JobSpec, checks)
    spec._file, spec._text, spec._checked_in = file, text, env
    if warnings:
        lines = load_yaml(text, file)[1]
        spec._warnings = [ConfigProblem(file, line_of(path, lines), field_name(path), said) for path, said in warnings]
    return spec


def load_job_spec(path: str | Path, env: Environment | None = None, env_file: str | None = None) -> JobSpec:
    """Load and check a job spec file; raises ConfigError with ``file:line: field: message``."""
    return parse_job_spec(read_config_text(path), str(path), env, env_file)


def check_in_env(spec: JobSpec, env: Environment | None) -> None:
    """Raise ConfigError (``file:line: field: message``) unless ``spec`` fits ``env`` (or, for None, stands alone).

    A spec parsed against one environment and rendered for another is parsed again from its text,
    so every problem still names its line.
    """
    if spec._checked_in is env:
        return
    if spec._text:
        parse_job_spec(spec._text, spec._file, env)
        return
    found = env_problems(spec, env) if env is not None else standalone_problems(spec)
    if found:
        raise ConfigError([ConfigProblem(spec._file, 0, ".".join(map(str, path)), msg) for path, msg in found])


def render(spec: JobSpec, env: Environment | None = None, name: str | None = None) -> list[Obj]:
    """All Kubernetes objects of one run of the job: its Job, or the JobSet of a multi-node job.

    ``name`` names the run's Job or JobSet (default: the spec's name; ``gkeml job submit``
    passes :func:`gkeml.jobs.build.unique_name` so each submission is a new run). The spec is checked in
    ``env`` first; with ``env``, a job that cannot fit the team's ResourceQuota or Kueue queue is refused
    (ConfigError naming the spec's field).
    """
    check_in_env(spec, env)
    rendered = objects(spec, Target.of(spec, env, name))
    if env is not None:
        check_fit(spec, env, rendered)
    return rendered


def launch_template(spec: JobSpec, env: Environment | None = None) -> Obj:
    """W&B Launch queue config for Kubernetes: the Job manifest itself, one per run
    (:func:`gkeml.jobs.build.launch_job`).

    Multi-node jobs (JobSets) are refused: the agent would launch a JobSet as a custom resource, whose
    containers get every run variable as a plain value, the W&B API key among them (wandb/wandb
    sdk/launch/runner/kubernetes_runner.py, custom-resource path: add_wandb_env with builder/build.py
    get_env_vars_dict; a Job gets the key from a Secret), and the launch-agent chart (0.13.x,
    templates/rbac.yaml) lets the agent create Jobs, Volcano Jobs and pods, not JobSets. Submit them with
    ``gkeml job submit``.
    """
    if spec.nodes > 1:
        raise ConfigError(
            [
                ConfigProblem(
                    spec._file,
                    0,
                    "nodes",
                    f"{spec.nodes} nodes run as a JobSet, which W&B Launch would create with the W&B API key as a "
                    "plain value in the object (and its chart may not create JobSets); allowed: 1 (submit it with "
                    "gkeml job submit)",
                )
            ]
        )
    check_in_env(spec, env)
    run = launch_job(spec, Target.of(spec, env, f"{spec.name}-{LAUNCH_RUN_ID}"))
    if env is not None:
        check_fit(spec, env, [run])
    return run
