"""Smoke test of what the repository ships: every file in environments/ synthesizes through the
real cdktf CLI (as users run `cdktf synth`) and `gkeml check` finds nothing in it; the docs
generated from it are current. Nothing here names a shipped environment: adding one needs no
test change."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SHIPPED, framework

from gkeml.docs import NOTICE_RULES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shipped_out(tmp_path_factory) -> Path:
    """cdktf.out of environments/, synthesized by `cdktf synth` (node_modules/.bin/cdktf)."""
    cli = ROOT / "node_modules" / ".bin" / "cdktf"
    assert cli.exists(), "make install puts the cdktf CLI in node_modules"
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}:{os.environ['PATH']}", CI="1", CDKTF_DISABLE_PLUGIN_CACHE_ENV="1")
    out = tmp_path_factory.mktemp("shipped") / "cdktf.out"
    result = subprocess.run(
        [str(cli), "synth", "--output", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def shipped_names() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.yaml"))


def test_every_shipped_environment_has_its_two_stacks(shipped_out):
    manifest = json.loads((shipped_out / "manifest.json").read_text())
    assert set(manifest["stacks"]) == {s for n in shipped_names() for s in (n, f"{n}-k8s")}
    for name in shipped_names():
        assert manifest["stacks"][f"{name}-k8s"]["dependencies"] == [name]


@pytest.fixture(scope="module")
def shipped_check(shipped_out) -> tuple[subprocess.CompletedProcess, dict]:
    """`gkeml check --format json` over what ships (checkov included when it is installed)."""
    from gkeml.checkov import CHECKOV

    args = ["--synth-dir", str(shipped_out), "--format", "json"] + ([] if CHECKOV.exists() else ["--no-checkov"])
    run = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "check", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    return run, json.loads(run.stdout)


def test_gkeml_check_finds_nothing_in_what_ships(shipped_check):
    run, data = shipped_check
    found = [f for f in data["findings"] if f["rule"] not in NOTICE_RULES]  # notices never fail the check
    assert found == [], found
    assert run.returncode == 0, data.get("summary", "") + run.stderr


def test_the_quoted_check_figures_are_this_runs(shipped_check):
    """The figures the README and docs/policy.md quote, on the default framework, for the environments they name."""
    from gkeml import docs

    _, data = shipped_check
    if not data.get("checkov") or framework() != "cdktf":
        pytest.skip("the quoted figures are measured with checkov on the default framework")
    quoted = docs.quoted_environments()
    if quoted != docs.shipped_environments():
        pytest.skip(f"the figures are quoted for {quoted}; `make docs` measures them for the current environments")
    assert not [s for s in docs.stale(summary=data) if s.endswith("check-figures")], "run `make docs`"


def test_every_example_job_renders_for_every_shipped_environment_of_its_team():
    """`gkeml job render --env` applies the quota and queue fit (GKE025/GKE026): what ships runs where it ships."""
    import yaml

    from gkeml.environments import load_environments
    from gkeml.jobs import load_job_spec, render

    environments = load_environments(SHIPPED)
    for path in sorted((ROOT / "examples" / "jobs").glob("*.yaml")):
        team = yaml.safe_load(path.read_text())["team"]
        for env in environments:
            if team in {t.name for t in env.teams}:
                assert render(load_job_spec(path, env), env), (path.name, env.name)


def test_docs_show_the_current_diagram(shipped_out):
    """docs/diagram.md ends with the diagram of the environment its marker names, as synthesized now
    (`make synth diagram` redraws it)."""
    from gkeml.diagram import render

    doc = (ROOT / "docs" / "diagram.md").read_text()
    marker = re.search(r"^<!-- generated: gkeml diagram ([a-z0-9-]+) -->\n", doc, re.M)
    assert marker, "docs/diagram.md has no generated diagram"
    env = marker.group(1)
    stacks = {p.parent.name: json.loads(p.read_text()) for p in (shipped_out / "stacks").glob("*/cdk.tf.json")}
    current = f"```mermaid\n{render(stacks[env], stacks[f'{env}-k8s'], title=f'gkeml environment {env}')}```\n"
    assert doc.split(marker.group(0), 1)[1] == current, "docs/diagram.md is stale: run `make synth diagram`"


def test_every_shipped_environment_has_the_platform_services_its_file_asks_for(shipped_out):
    """Registry, DNS records, budget, alerts and upgrade notices, read from each shipped file and
    found in its synthesized cloud stack (no value of a shipped file is named here)."""
    from gkeml import observability
    from gkeml.environments import load_environments

    for env in load_environments(SHIPPED):
        stack = json.loads((shipped_out / "stacks" / env.name / "cdk.tf.json").read_text())["resource"]
        repos = {r["repository_id"] for r in stack.get("google_artifact_registry_repository", {}).values()}
        assert repos == {r.name for r in (env.registry.repositories if env.registry else [])}, env.name
        records = {r["name"] for r in stack.get("google_dns_record_set", {}).values() if r["type"] == "A"}
        assert records == ({f"{e.host}." for e in env.endpoints} if env.dns else set()), env.name
        assert len(stack.get("google_billing_budget", {})) == (1 if env.budget else 0), env.name
        policies = {p["display_name"] for p in stack.get("google_monitoring_alert_policy", {}).values()}
        assert policies == {a.display_name for a in observability.alerts(env)}, env.name
        (cluster,) = stack["google_container_cluster"].values()
        assert ("notification_config" in cluster) is env.upgrade_notices.enabled, env.name
        assert cluster["monitoring_config"]["enable_components"] == env.monitoring.components, env.name


def test_make_deploy_succeeds_in_one_run_on_an_empty_project_for_every_shipped_environment(shipped_out, tmp_path):
    """The documented sequence (bootstrap, then `make deploy`) over what ships, bootstrap/ included: every need at
    init, plan and apply is met, and everything usable only some time after it exists (TF005-TF008) is waited
    for, so no step works only on the second run."""
    from gkeml.environments import load_bootstrap_files, load_environments
    from gkeml.framework import App
    from gkeml.lifecycle.sequence import DEPLOY_SEQUENCE, World, simulate
    from gkeml.stacks.bootstrap import BootstrapStack

    app = App(outdir=str(tmp_path / "bootstrap"))
    for boot in load_bootstrap_files(ROOT / "bootstrap", SHIPPED):
        BootstrapStack(app, boot)
    app.synth()
    stacks = {
        p.parent.name: json.loads(p.read_text())
        for out in (shipped_out, tmp_path / "bootstrap")
        for p in (out / "stacks").glob("*/cdk.tf.json")
    }
    deploy = tuple(s for s in DEPLOY_SEQUENCE if not s.creates_secret_version)
    for env in load_environments(SHIPPED):
        mine = {n: s for n, s in stacks.items() if n in (env.name, f"{env.name}-k8s", f"bootstrap-{env.name}")}
        others = {  # state buckets another environment's bootstrap creates (it runs first: docs/bootstrap.md)
            b["name"]
            for n, s in stacks.items()
            if n.startswith("bootstrap-") and n != f"bootstrap-{env.name}"
            for b in s["resource"].get("google_storage_bucket", {}).values()
        }
        problems = simulate(env.name, mine, sequence=deploy, world=World(buckets=others))
        assert not problems, f"{env.name}:\n" + "\n".join(problems)


def test_images_promoted_across_shipped_environments_can_be_pulled(shipped_out):
    """Every repository's readers get roles/artifactregistry.reader there (every service account of their
    project, named before their nodes exist), and every environment that admits another environment's
    registry is among its readers (checked at load; here, on what ships)."""
    from gkeml import platform
    from gkeml.environments import load_environments

    envs = {e.name: e for e in load_environments(SHIPPED)}
    promoted = 0
    for env in envs.values():
        stack = json.loads((shipped_out / "stacks" / env.name / "cdk.tf.json").read_text())["resource"]
        repos = {k: r["repository_id"] for k, r in stack.get("google_artifact_registry_repository", {}).items()}
        grants = {
            (repos[g["repository"].split(".")[1]], g["member"])
            for g in stack.get("google_artifact_registry_repository_iam_member", {}).values()
            if g["role"] == platform.ARTIFACT_REGISTRY_READER_ROLE
        }
        for repo in env.registry.repositories if env.registry else []:
            for reader in repo.readers:
                member = platform.project_service_accounts_principal_set(envs[reader].project.number)
                assert (repo.name, member) in grants, (env.name, repo.name, reader)
                promoted += 1
    assert promoted  # what ships promotes images (dev's training images run in staging and prod)
