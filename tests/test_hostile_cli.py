"""The command line under careless use: output piped into ``head``, and a narrow terminal or log.

A reader that closes the pipe early ends the command quietly (one line on stderr, exit 2, no
traceback); ``gkeml check`` never prints a line wider than 100 columns off a terminal, while
``--format json`` keeps every field whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from hostile import gkeml

BAD = sorted((ROOT / "tests" / "fixtures" / "bad-manifests").glob("*.yaml"))


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """Enough manifests that the report is larger than a pipe's buffer (64 KiB)."""
    path = tmp_path_factory.mktemp("many") / "many.yaml"
    path.write_text("---\n".join(f.read_text() for f in BAD) * 40)
    return path


@pytest.mark.parametrize(
    "args",
    [["check", "{many}"], ["check", "{many}", "--format", "json"], ["check", "{many}", "--format", "sarif"]],
    ids=["table", "json", "sarif"],
)
def test_a_pipe_closed_early_ends_quietly_with_exit_2(many, args):
    command = [sys.executable, "-m", "gkeml.cli", *[a.format(many=many) for a in args]]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert err == "gkeml: output closed early (broken pipe)\n"


def test_check_table_fits_100_columns_in_a_log_whatever_columns_says(many):
    for columns in (None, "300"):
        env = dict(os.environ, **({"COLUMNS": columns} if columns else {}))
        done = subprocess.run(
            [sys.executable, "-m", "gkeml.cli", "check", *map(str, BAD)],
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
