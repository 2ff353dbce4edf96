"""The job tests' own small environment (``LAB``), a good job spec, and how they run ``gkeml``.

The golden job files are rendered in ``LAB``, not in the shipped ``environments/``: W&B Launch in research only,
and a second team without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from gkeml.config import Environment
from gkeml.environments import parse_environment

EXAMPLES = ROOT / "examples" / "jobs"

# A small environment of the tests' own: W&B Launch in research only, a second team without it.
LAB = """\
name: lab
tier: dev
prefix: lab-ml
project: {id: lab-ml-project, number: "200000000001", region: us-central1}
state: {bucket: lab-ml-tfstate}
network: {subnet_cidr: 10.20.0.0/20, pods_cidr: 10.24.0.0/14, services_cidr: 10.20.16.0/20}
cluster:
  public_endpoint: true
  authorized_networks: [{name: office, cidr: 198.51.100.0/24}]
teams:
  - name: research
    quota: {cpu: "512", memory: 4Ti, gpus: 64}
  - name: interns
buckets:
  - {name: datasets, purpose: datasets}
  - {name: checkpoints, purpose: checkpoints}
  - {name: artifacts, purpose: artifacts}
secrets: [{name: wandb-api-key}]
identities:
  - {name: trainer, namespace: research, reads: [datasets], writes: [checkpoints, artifacts]}
  - name: launch-agent
    namespace: research
    service_account: wandb-launch-serviceaccount-lab
    mode: classic
    secrets: [wandb-api-key]
  - {name: intern, namespace: interns, reads: [datasets], writes: [checkpoints]}
launch:
  release: lab
  identity: launch-agent
  entity: lab
  queues: [{name: research-lab}]
"""


def lab_environment(text: str = LAB, file: str = "lab.yaml") -> Environment:
    """The test environment (or a variant of its text), checked like an environment file."""
    return parse_environment(text, file)


def write_environments(directory: Path, **texts: str) -> Path:
    """Write environment files ``<name>.yaml`` into ``directory`` (for the CLI's --environments)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


GOOD = """\
name: t
team: research
image: registry.example/trainer:1.0
gpu: nvidia-l4
gpu_count: 1
"""


def gkeml(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", **env)
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def run_job(objects: list[dict]) -> dict:
    """The batch/v1 Job of a rendered run: the Job itself, or a JobSet's one replicatedJob template (as a Job)."""
    (run,) = objects
    if run["kind"] == "Job":
        return run
    (rjob,) = run["spec"]["replicatedJobs"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": run["metadata"], "spec": rjob["template"]["spec"]}
