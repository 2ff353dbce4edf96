"""``gkeml check`` on manifests nobody here wrote: facts apart from advice, the --fail-on gate, --target, --own,
workload allowlists, objects written for GKE Standard, and standard input (helm template | gkeml check -).

Each manifest in tests/fixtures/third-party says the verdict it must get in its header: ``# expect: OBJECT RULE
SEVERITY`` lines (or ``nothing``) on Autopilot, ``# expect-standard:`` lines with ``--target standard``. Adding a
file needs no change here."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

from gkeml.registry import ADMISSION, ADVICE, CHECKS, FACT
from gkeml.rules import RULES, check, load_manifest_files
from gkeml.rules.engine import OWN_ANNOTATION

THIRD_PARTY = ROOT / "tests" / "fixtures" / "third-party"
MANIFESTS = sorted(THIRD_PARTY.glob("*.yaml"))


def expected(path: Path, key: str) -> Counter | None:
    """The verdict the file's header states under ``key`` (None: it states none)."""
    lines = [line.split(":", 1)[1].split() for line in path.read_text().splitlines() if line.startswith(f"# {key}:")]
    if not lines:
        return None
    return Counter(tuple(words) for words in lines if words != ["nothing"])


def verdict(path: Path, **kwargs) -> Counter:
    return Counter((f.object, f.rule, f.severity) for f in check(load_manifest_files([path]), **kwargs))


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_third_party_manifest_gets_its_verdict(path):
    want = expected(path, "expect")
    assert want is not None, f"{path.name} states no verdict"
    assert verdict(path) == want
    on_standard = expected(path, "expect-standard")
    if on_standard is not None:
        assert verdict(path, target="standard") == on_standard


def test_a_standard_target_replaces_the_refusals_it_explains():
    """Without GKE080 the node agent draws one refusal per field; with it, one finding names them all."""
    path = THIRD_PARTY / "standard-node-agent.yaml"
    refusals = {f.rule for f in check(load_manifest_files([path]), [r for r in RULES if r != "GKE080"])}
    assert {"GKE008", "GKE009", "GKE010", "GKE011", "GKE045"} <= refusals
    [finding] = [f for f in check(load_manifest_files([path])) if f.rule == "GKE080"]
    assert finding.message.startswith("targets GKE Standard: runs in kube-system")
    assert "privileged containers, hostNetwork, hostPID, host ports, hostPath /" in finding.message


def test_baseline_is_an_error_on_a_teams_own_objects():
    path = THIRD_PARTY / "vendor-image-runs-as-root.yaml"
    [ours] = [m.obj for m in load_manifest_files([path])]
    assert {f.severity for f in check([ours])} == {ADVICE}
    assert {f.severity for f in check([ours], own=True)} == {"error"}
    ours["metadata"]["annotations"] = {OWN_ANNOTATION: "true"}
    assert {f.severity for f in check([ours])} == {"error"}
    [fix] = [f.fix for f in check([ours]) if f.rule == "GKE020"]
    assert "if the image runs as a non-root user" in fix  # never a silent break of a root image


def test_every_admission_check_rests_on_a_sourced_fact_and_advice_is_labelled():
    for c in CHECKS.values():
        if c.kind == ADMISSION:
            # a page, an issue quoting Autopilot's own admission message, or a file of the controller's source
            assert c.basis == FACT and re.search(r"cloud\.google\.com/|[\w.-]+/[\w.-]+(#\d+| [0-9a-f]{7})", c.source), (
                c.id
            )
        if ADVICE in (c.severity, c.also):
            assert c.basis == ADVICE, c.id


def gkeml(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "check", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_gate_threshold_target_and_own_on_the_command_line():
    vendor, agent = str(THIRD_PARTY / "vendor-image-runs-as-root.yaml"), str(THIRD_PARTY / "standard-node-agent.yaml")
    assert gkeml(vendor).returncode == 0  # advice only: the default gate passes
    assert gkeml("--fail-on", "advice", vendor).returncode == 1
    assert gkeml("--own", vendor).returncode == 1  # the baseline is an error on your own file
    assert gkeml(agent).returncode == 1
    run = gkeml("--target", "standard", agent)
    assert run.returncode == 0 and "GKE080" not in run.stdout, run.stdout


def test_helm_template_piped_to_standard_input():
    rendered = (THIRD_PARTY / "helm-rendered.yaml").read_text()
    run = gkeml("--format", "json", "-", stdin=rendered)
    assert run.returncode == 0, run.stderr
    assert '"source": "<stdin>:11 (example-chart/templates/job.yaml)"' in run.stdout
    run = gkeml("--format", "github", "--fail-on", "warning", "-", stdin=rendered)
    assert run.returncode == 1 and run.stdout.startswith("::warning file=<stdin>,line=11,title=GKE013 ")


def test_unrendered_template_is_one_line_and_exit_2():
    template = (THIRD_PARTY / "unrendered-template.tpl").read_text()
    run = gkeml("-", stdin=template)
    assert run.returncode == 2 and run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("<stdin>:4") and "a template left unrendered" in line and "helm template" in line
    assert "Traceback" not in run.stderr
