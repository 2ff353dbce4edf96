"""``gkeml check`` on the command line: exit codes and the four output formats."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from gkeml.docs import NOTICE_RULES
from gkeml.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad-manifests"


def gkeml(*args: str) -> subprocess.CompletedProcess:
    """The real command line, run from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_table_names_rule_object_field_and_fix_and_fails_on_warnings_only_when_asked():
    run = gkeml("check", "--fail-on", "warning", str(BAD / "GKE013-spot-grace-period.yaml"))
    assert run.returncode == 1
    assert "GKE013" in run.stdout and "Pod/research/spot-long-grace" in run.stdout
    assert "spec.terminationGracePeriodSeconds" in run.stdout and "set it to 25" in run.stdout
    assert " ".join(run.stdout.split()).endswith(
        "1 finding(s) (0 error(s), 1 warning(s), 0 advice) in 1 Kubernetes object(s); 1 at or above --fail-on warning"
    )
    run = gkeml("check", str(BAD / "GKE013-spot-grace-period.yaml"))  # the default gate fails on errors only
    assert (
        run.returncode == 0
        and "GKE013" in run.stdout
        and "0 at or above --fail-on error" in " ".join(run.stdout.split())
    )


def test_all_fixtures_as_json_one_finding_per_rule():
    run = gkeml("check", "--format", "json", *map(str, sorted(BAD.glob("*.yaml"))))
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert {f["rule"] for f in data["findings"]} == set(RULES)
    assert data["checkov"] is None
    first = data["findings"][0]
    assert set(first) == {"rule", "severity", "object", "field", "message", "fix", "source"}


def test_github_annotations_point_at_file_and_line():
    path = BAD / "GKE015-multinode-plain-job.yaml"
    run = gkeml("check", "--format", "github", str(path))
    assert run.returncode == 1
    annotation = run.stdout.splitlines()[0]
    # the Job is the second document, starting on line 12
    assert re.match(
        rf"::error file={re.escape(str(path))},line=12,title=GKE015 Job/research/ddp::spec.completionMode: ", annotation
    ), annotation
    assert "\n" not in annotation and "Fix: set completionMode: Indexed" in annotation


def test_sarif_is_2_1_0_with_rules_and_located_results():
    path = BAD / "GKE008-privileged.yaml"
    run = gkeml("check", "--format", "sarif", str(path))
    assert run.returncode == 1
    sarif = json.loads(run.stdout)
    assert sarif["version"] == "2.1.0"
    [run_] = sarif["runs"]
    assert {r["id"] for r in run_["tool"]["driver"]["rules"]} == set(RULES)
    [result] = run_["results"]
    assert result["ruleId"] == "GKE008" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == str(path) and location["region"]["startLine"] == 2


def test_clean_manifest_exits_0(tmp_path):
    clean = tmp_path / "clean.yaml"
    text = (
        (BAD / "GKE013-spot-grace-period.yaml")
        .read_text()
        .replace("terminationGracePeriodSeconds: 120", "terminationGracePeriodSeconds: 25")
    )
    clean.write_text(text)
    run = gkeml("check", str(clean))
    assert run.returncode == 0 and run.stdout.startswith("0 finding(s)")


def test_bad_yaml_and_unknown_environment_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nmetadata: {name: x\n")
    run = gkeml("check", str(bad))
    assert run.returncode == 2 and run.stderr.startswith(f"{bad}:") and run.stdout == ""
    run = gkeml("check", "--no-checkov", "--env", "no-such-env")
    assert run.returncode == 2 and "unknown environment no-such-env; defined: " in run.stderr


def test_toolkit_output_without_checkov_is_clean():
    run = gkeml("check", "--no-checkov", "--format", "json")
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(run.stdout)
    assert [f for f in data["findings"] if f["rule"] not in NOTICE_RULES] == [] and data["objects_checked"] > 50
