"""ML jobs: a short YAML spec -> Autopilot-ready Kubernetes objects (and a W&B Launch template).

Public API::

    spec = load_job_spec("examples/jobs/single-gpu.yaml", env)   # ConfigError: file:line: field: message
    objects = render(spec, env)                                   # [Job], or [JobSet] on several nodes
    objects = render(spec, env, unique_name(spec.name))           # one submission = one run
    queue_config = launch_template(spec, env)                     # the Job W&B Launch creates per run

The cluster side (kubeconfig context checks, submit, status, logs, wait, delete) is in
:mod:`gkeml.jobs.cluster` and :mod:`gkeml.jobs.lifecycle`.
"""

from gkeml.jobs.build import unique_name
from gkeml.jobs.gate import launch_template, load_job_spec, parse_job_spec, render
from gkeml.jobs.spec import JobSpec, env_problems, standalone_problems

__all__ = [
    "JobSpec",
    "env_problems",
    "launch_template",
    "load_job_spec",
    "parse_job_spec",
    "render",
    "standalone_problems",
    "unique_name",
]
