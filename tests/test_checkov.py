"""checkov over the session's real synth: the reviewed skip list, parse errors failing the gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS

from gkeml.checkov import CHECKOV, SKIPS, CheckovError, extension_skips, run_checkov
from gkeml.docs import NOTICE_RULES

ROOT = Path(__file__).resolve().parents[1]


def gkeml(*args: str) -> subprocess.CompletedProcess:
    """The real command line, run from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


pytestmark = pytest.mark.skipif(not CHECKOV.exists(), reason="checkov venv missing: make .venv-checkov/.stamp")

# Real, fixable findings in the cloud layer (gkeml/constructs), reported to the owner rather than
# skipped. Remove an entry when its construct is fixed: this test then fails until the list is current.
OPEN_IN_CONSTRUCTS: dict[str, str] = {}  # checks failing in the constructs, with the fix (none open)


@pytest.fixture(scope="module")
def extension_skip_list(environments):
    """The reviewed skips the fixture environments' extensions bring (what `gkeml check` applies)."""
    return extension_skips(environments.values())


@pytest.fixture(scope="module")
def report(synth_dir, extension_skip_list):
    result = run_checkov(synth_dir, extra_skips=extension_skip_list)
    print(result.summary())  # the count of passed checks, in the test log
    return result


def test_no_failed_checks_outside_the_skip_list(report):
    assert report.passed > 100 and not report.parsing_errors
    unexpected = sorted(
        {(r.check, r.stack, r.resource, r.name) for r in report.failed if r.check not in OPEN_IN_CONSTRUCTS}
    )
    assert not unexpected, f"new checkov failures: {unexpected}"
    fixed = set(OPEN_IN_CONSTRUCTS) - {r.check for r in report.failed}
    assert not fixed, f"fixed in the constructs, drop from OPEN_IN_CONSTRUCTS: {sorted(fixed)}"


def test_every_skip_has_a_reason_and_is_still_needed(report, extension_skip_list):
    skips = (*SKIPS, *extension_skip_list)
    assert all(len(s.reason) > 40 for s in skips)
    assert {s.check for s in skips} == {r.check for r in report.skipped}, "a skip no longer matches anything"
    assert all(r.skip_reason for r in report.skipped)


def test_conditional_skip_applies_only_to_the_resources_it_was_reviewed_for(report, environments, tmp_path):
    # CKV_GCP_20 is skipped only where the IP endpoint is off; a cluster with one must still fail it.
    assert {r.stack for r in report.skipped if r.check == "CKV_GCP_20"} == {
        e.name for e in environments.values() if not e.cluster.public_endpoint
    }
    stack = tmp_path / "stacks" / "open"
    stack.mkdir(parents=True)
    stack.joinpath("cdk.tf.json").write_text(
        json.dumps(
            {
                "resource": {
                    "google_container_cluster": {
                        "c": {
                            "name": "c",
                            "location": "us-central1",
                            "enable_autopilot": True,
                            "control_plane_endpoints_config": {"ip_endpoints_config": {"enabled": True}},
                        }
                    }
                }
            }
        )
    )
    result = run_checkov(tmp_path)
    assert "CKV_GCP_20" in {r.check for r in result.failed}
    assert "CKV_GCP_20" not in {r.check for r in result.skipped}


def test_required_version_and_moved_blocks_no_longer_hide_a_stack_from_checkov(tmp_path):
    """checkov's terraform_json parser reports a file with terraform.required_version, a moved or a removed
    block as a parsing error and checks nothing (exit 0); gkeml stacks have them, so the gate scans a copy
    without them, in which every resource keeps its line."""
    stack = tmp_path / "stacks" / "pinned"
    stack.mkdir(parents=True)
    text = json.dumps(
        {
            "moved": [{"from": "google_storage_bucket.old", "to": "google_storage_bucket.b"}],
            "removed": [{"from": "kubernetes_secret_v1.gone", "lifecycle": {"destroy": False}}],
            "resource": {"google_storage_bucket": {"b": {"name": "b", "location": "US"}}},
            "terraform": {"backend": {"gcs": {"bucket": "x"}}, "required_version": ">= 1.11"},
        },
        indent=2,
    )
    stack.joinpath("cdk.tf.json").write_text(text)
    result = run_checkov(tmp_path)
    assert not result.parsing_errors and result.failed  # the unlogged, unversioned bucket is checked and fails
    bucket_line = text.splitlines().index('    "google_storage_bucket": {') + 1
    assert all(r.lines[0] >= bucket_line for r in result.failed)  # lines point into the real file
    assert stack.joinpath("cdk.tf.json").read_text() == text  # the stack itself is untouched


def test_parse_error_fails_the_gate_although_checkov_exits_0(tmp_path):
    """A report with parsing errors (and so, checks of nothing) never passes the gate."""
    stack = tmp_path / "stacks" / "broken"
    stack.mkdir(parents=True)
    stack.joinpath("cdk.tf.json").write_text("{}")
    fake = tmp_path / "checkov"  # a checkov that parsed nothing, as the real one does on a file it cannot read
    fake.write_text(
        '#!/bin/sh\necho \'{"summary": {"passed": 0, "failed": 0, "parsing_errors": 1, '
        '"checkov_version": "3.3.30"}, "results": {}}\'\n'
    )
    fake.chmod(0o755)
    result = run_checkov(tmp_path, checkov=fake)
    assert result.failed == [] and result.parsing_errors and not result.ok
    run = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "check", "--synth-dir", str(tmp_path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "GKEML_CHECKOV": str(fake)},
    )
    assert run.returncode == 1 and json.loads(run.stdout)["checkov"]["parsing_errors"], run.stderr


def test_gate_over_the_real_synth_via_the_cli(synth_dir, report):
    relative = os.path.relpath(synth_dir, ROOT)  # as `make check` passes it: relative to the checkout
    run = gkeml("check", "--synth-dir", relative, "--environments", str(ENVIRONMENTS), "--format", "json")
    data = json.loads(run.stdout)
    assert all(f["file"].startswith(relative) for f in data["checkov"]["failed"] + data["checkov"]["skipped"])
    assert [f for f in data["findings"] if f["rule"] not in NOTICE_RULES] == [] and data["objects_checked"] > 50
    assert data["checkov"]["passed"] == report.passed and len(data["checkov"]["failed"]) == len(report.failed)
    assert run.returncode == (1 if report.failed else 0)
    assert f"{report.passed} passed" in data["summary"]


def test_missing_stacks_or_checkov_is_a_usage_error(tmp_path):
    with pytest.raises(CheckovError, match="make synth"):
        run_checkov(tmp_path)
    run = gkeml("check", "--synth-dir", str(tmp_path))
    assert run.returncode == 2 and "no synthesized stacks" in run.stderr
    stack = tmp_path / "stacks" / "x"
    stack.mkdir(parents=True)
    stack.joinpath("cdk.tf.json").write_text("{}")
    with pytest.raises(CheckovError, match="checkov not found"):
        run_checkov(tmp_path, checkov=tmp_path / "no-checkov")
