"""The command line under careless use: output piped into ``head``, a narrow terminal or log, and a
command stopped with Ctrl-C or ``kill``.

A reader that closes the pipe early ends the command quietly (nothing on stderr, exit 141 as the
shell reports for a process SIGPIPE ended, no traceback); ``gkeml check`` never prints a line wider
than 100 columns off a terminal, while ``--format json`` keeps every field whole. SIGINT and SIGTERM
(real signals to real processes) end a synth or a job verb with one line and 130 or 143, and leave no
staging directory behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from hostile import environments, gkeml, previous_output, snapshot

BAD = sorted((ROOT / "tests" / "fixtures" / "bad-manifests").glob("*.yaml"))


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """Enough manifests that the report is larger than a pipe's buffer (64 KiB)."""
    path = tmp_path_factory.mktemp("many") / "many.yaml"
    path.write_text("---\n".join(f.read_text() for f in BAD) * 8)  # each copy reports about 20 KiB
    return path


@pytest.mark.parametrize(
    "args",
    [["check", "{many}"], ["check", "{many}", "--format", "json"], ["check", "{many}", "--format", "sarif"]],
    ids=["table", "json", "sarif"],
)
def test_a_pipe_closed_early_ends_quietly_with_exit_141(many, args):
    command = [sys.executable, "-m", "gkeml.cli", *[a.format(many=many) for a in args]]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_a_shell_pipe_into_a_reader_that_is_gone_gives_the_code_the_shell_gives_sigpipe():
    """`gkeml launch template ... | head -c 10`, with a reader gone before gkeml writes: bash's
    PIPESTATUS shows the same code for gkeml as for `yes`, which SIGPIPE ends."""
    spec, envs = ROOT / "examples" / "jobs" / "single-gpu.yaml", ROOT / "tests" / "fixtures" / "environments"
    gkeml_command = f"{sys.executable} -m gkeml.cli launch template {spec} --env lab --environments {envs}"
    script = f"{gkeml_command} | true; echo ${{PIPESTATUS[0]}}; yes | true; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    gkeml_code, yes_code = done.stdout.split()
    assert gkeml_code == yes_code == "141"
    assert done.stderr == ""


def test_check_table_fits_100_columns_in_a_log_whatever_columns_says(many):
    for columns in (None, "300"):
        env = dict(os.environ, **({"COLUMNS": columns} if columns else {}))
        done = subprocess.run(
            # paths as a user types them in the repository: a path is printed whole, and the checkout's own
            # location (any length) is not the table's to fit
            [sys.executable, "-m", "gkeml.cli", "check", *(str(p.relative_to(ROOT)) for p in BAD)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 1
        widest = max(done.stdout.splitlines(), key=len)
        assert len(widest) <= 100, widest


def test_check_table_keeps_every_finding_and_json_keeps_every_field_whole():
    table = gkeml("check", *BAD)
    data = json.loads(gkeml("check", *BAD, "--format", "json").out)
    shown = " ".join(table.out.split())
    for finding in data["findings"]:
        assert f"{finding['rule']} {finding['severity']} {finding['object']}" in table.out  # identifiers unbroken
        assert finding["field"] in table.out
        assert " ".join(f"problem: {finding['message']}".split()) in shown
        assert "\n" not in finding["message"] and len(finding["fix"]) == len(finding["fix"].strip())


def test_a_table_that_fits_stays_a_table():
    from gkeml.rules import Finding
    from gkeml.rules.report import render_table

    short = [Finding("GKE008", "error", "Pod/a/b", "spec.containers[0]", "privileged", "remove it", "f.yaml:1")]
    assert render_table(short, 1, None, width=100).splitlines()[1].split() == [
        "RULE",
        "LEVEL",
        "OBJECT",
        "FIELD",
        "PROBLEM",
        "FIX",
    ]


# -- told to stop: SIGINT (Ctrl-C) and SIGTERM (kill, a CI runner's cancel) ----------------------------


def _until(proc: subprocess.Popen, text: str) -> str:
    """stderr of ``proc`` up to the first line holding ``text`` (the test fails if it does not come within
    two minutes, or the process ends first)."""
    assert proc.stderr is not None
    seen, deadline = "", time.monotonic() + 120
    while text not in seen:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stderr.readline() if ready else ""
        if not line:
            proc.kill()
            pytest.fail(f"{text!r} never came: {seen}")
        seen += line
    return seen


def _stop(proc: subprocess.Popen, signum: int, group: bool) -> tuple[int, str]:
    """Send ``signum`` (to the process group, as Ctrl-C does, with ``group``); exit code and the rest of stderr."""
    (os.killpg if group else os.kill)(proc.pid, signum)
    try:
        _, rest = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running two minutes after signal {signum}")
    return proc.returncode, rest


@pytest.mark.parametrize(
    "command, signum, group, code, line",
    [
        (["-m", "gkeml.cli", "synth"], signal.SIGTERM, False, 143, "gkeml synth: terminated (SIGTERM)"),
        (["main.py"], signal.SIGINT, True, 130, "gkeml synth: interrupted (SIGINT)"),
    ],
    ids=["gkeml-synth-sigterm", "main.py-ctrl-c"],
)
def test_a_synth_told_to_stop_says_so_in_one_line_and_leaves_the_previous_output(
    tmp_path, command, signum, group, code, line
):
    """Stopped while the framework builds the stacks: no traceback, no staging directory left behind
    (removed after the framework's runtime stopped writing into it), the previous output byte-identical."""
    out = previous_output(tmp_path / "cdktf.out")
    envs = environments(tmp_path / "in", names=("mini",))
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, *command, *(["--environments", str(envs), "--out", str(out)] if "synth" in command else [])],
        cwd=ROOT,
        env=dict(os.environ, GKEML_ENVIRONMENTS=str(envs), CDKTF_OUTDIR=str(out)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen = _until(proc, "building mini")  # the framework's runtime is running
    exit_code, rest = _stop(proc, signum, group)
    assert exit_code == code, seen + rest
    assert rest.splitlines()[-1] == line, rest
    assert all(other.startswith("gkeml: ") for other in rest.splitlines()[:-1]), rest  # progress only
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "verb, signum, code, line",
    [
        ("wait", signal.SIGINT, 130, "gkeml job wait: interrupted (SIGINT)"),
        ("status", signal.SIGTERM, 143, "gkeml job status: terminated (SIGTERM)"),
    ],
)
def test_a_job_verb_told_to_stop_while_it_waits_says_so_in_one_line(tmp_path, verb, signum, code, line):
    """``wait`` between two polls, ``status`` while the API has not answered yet."""
    from kube_api import LAB_ENTRY, KubeApi, submitted, write_kubeconfig
    from servers import HOSTILE, serving

    with serving(KubeApi()) as kube:
        submitted(kube, "single-gpu", "finetune-l4-h8j9k")
        if verb == "status":
            kube.hostile = lambda request: HOSTILE["silent"]()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gkeml.cli", "job", verb, "research/finetune-l4-h8j9k"]
            + (["--interval", "600"] if verb == "wait" else []),
            cwd=ROOT,
            env=dict(os.environ, KUBECONFIG=str(write_kubeconfig(tmp_path / "config", kube.url, LAB_ENTRY))),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        if verb == "wait":
            seen = _until(proc, "[0:00] research/finetune-l4-h8j9k: ")  # the first poll: now between two
        else:
            seen = _until(proc, "using kubectl context")
            while not kube.received:  # the request is out: now waiting for the answer
                time.sleep(0.05)
        exit_code, rest = _stop(proc, signum, group=False)
    assert exit_code == code, seen + rest
    assert rest.splitlines() == [line]
