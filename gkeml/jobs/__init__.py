"""ML jobs: a short YAML spec -> Autopilot-ready Kubernetes objects (and a W&B Launch template).

Public API::

    spec = load_job_spec("examples/jobs/single-gpu.yaml")      # ConfigError: file:line: field: message
    objects = render(spec, env)                                  # [headless Service,] Job
    queue_config = launch_template(spec, env)                    # {"resource_args": {"kubernetes": Job}}
"""

from gkeml.jobs.build import launch_template, render
from gkeml.jobs.spec import JobSpec, env_problems, load_job_spec, parse_job_spec

__all__ = ["JobSpec", "env_problems", "launch_template", "load_job_spec", "parse_job_spec", "render"]
