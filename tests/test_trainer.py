"""The reference trainer, run exactly as the rendered jobs run it (torchrun on CPU, gloo).

The container command and args of a rendered Job are executed as local processes:
``$(VAR)`` references are expanded from the container's env the way the kubelet
does it, with the cluster-only values replaced (pod DNS name -> 127.0.0.1, the
GCS FUSE checkpoint mount -> a temporary directory, the completion index set
per node the way the Job controller sets it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="install requirements/trainer.txt")

from job_env import lab_environment, run_job  # noqa: E402 - logical bucket names need an environment

from gkeml import platform  # noqa: E402
from gkeml.jobs import load_job_spec, render  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRAINER = ROOT / "examples" / "trainer"
RUN_TIMEOUT = 300  # seconds; a bound for a hung run, not a performance assertion
DONE = re.compile(r"^gkeml-trainer event=done rank=(\d+) world=(\d+) step=(\d+) params=([0-9a-f]+)$", re.M)
VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")

pytestmark = pytest.mark.slow


def rendered_container(example: str, steps: int, checkpoint_every: int) -> tuple[dict, dict]:
    """(Job, trainer container) of a canonical spec, with a short run (the spec's other fields as shipped): the
    Job itself, or for a multi-node spec the one Job of its JobSet (its replicatedJob's template)."""
    env = lab_environment()
    spec = load_job_spec(ROOT / "examples" / "jobs" / f"{example}.yaml", env)
    spec = spec.model_copy(
        update={"trainer": spec.trainer.model_copy(update={"steps": steps, "checkpoint_every": checkpoint_every})}
    )
    job = run_job(render(spec, env))
    return job, job["spec"]["template"]["spec"]["containers"][0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_process(container: dict, **overrides: str) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the container, expanded like the kubelet expands $(VAR)."""
    assert container["workingDir"] == "/app", "examples/trainer/Dockerfile puts train.py in /app"
    env = {v["name"]: v["value"] for v in container["env"] if "value" in v}
    env.update(overrides)
    argv = [VAR.sub(lambda m: env.get(m.group(1), m.group(0)), a) for a in container["command"] + container["args"]]
    unresolved = [a for a in argv if VAR.search(a)]
    assert not unresolved, f"references to variables the pod does not define: {unresolved}"
    process_env = dict(os.environ, **env)
    process_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # torchrun
    process_env.pop("WANDB_API_KEY", None)
    return argv, process_env


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        argv, cwd=TRAINER, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"trainer did not finish within {RUN_TIMEOUT} s:\n{out[-3000:]}")
    return out


def test_rendered_multi_node_job_trains_two_nodes_to_identical_parameters(tmp_path):
    job, container = rendered_container("multi-node-ddp", steps=20, checkpoint_every=10)
    assert job["spec"]["completionMode"] == "Indexed"  # the JobSet's Job: the Job controller sets the index
    nodes = job["spec"]["completions"]
    per_node = int(next(a.split("=")[1] for a in container["command"] if a.startswith("--nproc_per_node=")))
    port = str(free_port())
    procs = []
    for index in range(nodes):
        argv, env = local_process(
            container,
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            CHECKPOINT_DIR=str(tmp_path / "checkpoints"),
            **{platform.JOB_COMPLETION_INDEX_ENV: str(index)},
        )
        procs.append(start(argv, env))
    outputs = [finish(p) for p in procs]
    for index, (proc, out) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, f"node {index} failed:\n{out[-3000:]}"
    done = {index: DONE.findall(out) for index, out in enumerate(outputs)}
    world = nodes * per_node
    # node rank comes from the completion index: node i runs global ranks i*per_node ... i*per_node+per_node-1
    for index, lines in done.items():
        assert sorted(int(r) for r, *_ in lines) == list(range(index * per_node, (index + 1) * per_node))
    finished = [line for lines in done.values() for line in lines]
    assert {(int(w), int(s)) for _, w, s, _ in finished} == {(world, 20)}
    digests = {d for *_, d in finished}
    assert len(digests) == 1, f"ranks disagree on the parameters: {finished}"
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*.pt")) == [
        "step-000000010.pt",
        "step-000000020.pt",
    ]


def run_until_step(argv, env, step: int) -> tuple[subprocess.Popen, list[str]]:
    """Start the trainer and read its output until rank 0 has logged ``step``."""
    proc = start(argv, env)
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if f"event=step step={step} " in line:
            return proc, seen
    proc.wait(timeout=RUN_TIMEOUT)
    pytest.fail("trainer ended before the step was reached:\n" + "".join(seen[-50:]))


def test_sigterm_checkpoints_within_the_spot_grace_period_and_the_rerun_resumes(tmp_path):
    job, container = rendered_container("spot-checkpointing", steps=300, checkpoint_every=100)
    grace = job["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace <= platform.SPOT_TERMINATION_GRACE_SECONDS
    checkpoints = tmp_path / "checkpoints"
    argv, env = local_process(container, CHECKPOINT_DIR=str(checkpoints))

    # Preemption: the kubelet sends SIGTERM to PID 1 (torchrun) and SIGKILLs after the grace period.
    proc, seen = run_until_step(argv, env, 20)
    proc.send_signal(signal.SIGTERM)
    try:
        rest, _ = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        pytest.fail(f"not stopped within the {grace} s grace period; the kubelet would have killed it:\n{rest[-3000:]}")
    out = "".join(seen) + rest
    assert proc.returncode != 0, "a preempted pod must not count as a completed job"
    saved = re.search(r"event=checkpoint step=(\d+) reason=sigterm", out)
    assert saved, out[-3000:]
    step = int(saved.group(1))
    assert 20 <= step < 300
    assert (checkpoints / f"step-{step:09d}.pt").is_file()
    assert "event=done" not in out

    # A leftover temporary file of an interrupted write must not be picked up.
    (checkpoints / ".step-000000299.pt.1.tmp").write_bytes(b"partial")
    resumed = finish(start(argv, env))
    assert f"event=resumed step={step} " in resumed
    assert f"event=step step={step - step % 10 + 10} " in resumed and "event=step step=10 " not in resumed
    (resumed_done,) = DONE.findall(resumed)

    # The interrupted-and-resumed run ends exactly where an uninterrupted run ends.
    argv, env = local_process(container, CHECKPOINT_DIR=str(tmp_path / "uninterrupted"))
    (reference_done,) = DONE.findall(finish(start(argv, env)))
    assert resumed_done[2] == reference_done[2] == "300"
    assert resumed_done[3] == reference_done[3]
