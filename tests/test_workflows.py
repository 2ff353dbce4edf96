"""The shipped GitHub workflows: zizmor, actionlint and the install policy find nothing (run for
real, and shown to fail on a broken copy), and the workflows keep the promises docs/ci.md makes
(no keys, SHA-pinned actions, pull requests plan as the read-only identity, ordered gated deploys
as the deploy identity, every environment of environments/ diffed and deployed with no edit here,
hash-locked installs in every job that holds a cloud token)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, framework
from workflow_linters import actionlint, policy, zizmor

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
# the environments CI works on: those with a bootstrap file (the others wait for theirs, with a warning)
ENV_NAMES = sorted(p.stem for p in (ROOT / "environments").glob("*.yaml") if (ROOT / "bootstrap" / p.name).exists())
TIERS = ("dev", "staging", "prod")
SHA_PIN = re.compile(r"^\s*(- )?uses: ([-\w]+/[-\w./]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")

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


def load(name: str) -> dict:
    return yaml.safe_load((GITHUB / "workflows" / name).read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(s.get("run", "") for s in steps(job))


def uses(job: dict, action: str) -> list[dict]:
    return [s for s in steps(job) if s.get("uses", "").startswith(f"{action}@")]


def all_jobs() -> list[tuple[str, str, dict]]:
    return [(p.name, name, job) for p in WORKFLOWS for name, job in yaml.safe_load(p.read_text())["jobs"].items()]


def copy_of_github(tmp_path: Path) -> Path:
    target = tmp_path / ".github"
    shutil.copytree(GITHUB, target)
    return target


# --- the linters run for real, and fail on what they must catch ------------------------


def test_shipped_workflows_pass_actionlint():
    result = actionlint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(WORKFLOWS)} file(s) clean" in result.stderr


def test_actionlint_knows_the_vars_context_and_current_runner_labels(tmp_path):
    """The linter is current enough for today's syntax (the old npm build knew neither)."""
    current = tmp_path / "current.yml"
    current.write_text(
        "name: c\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        '      - run: echo "$X"\n        env:\n          X: ${{ vars.SOMETHING }}\n'
    )
    result = actionlint(current)
    assert result.returncode == 0, result.stdout


def test_actionlint_fails_a_broken_workflow_with_file_line_and_column(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    result = actionlint(WORKFLOWS[0], broken)
    assert result.returncode == 1
    problems = result.stdout.splitlines()
    assert all(line.startswith(f"{broken}:") for line in problems), problems  # the clean file adds nothing
    where = {
        (int(m[1]), m[2])
        for m in (re.match(rf"{re.escape(str(broken))}:(\d+):\d+: .* \[([-a-z]+)\]$", p) for p in problems)
        if m
    }
    assert where == {(7, "expression"), (8, "job-needs")}, problems


def test_actionlint_without_files_or_with_a_missing_file_is_a_usage_error(tmp_path):
    assert actionlint().returncode == 2
    missing = actionlint(tmp_path / "nope.yml")
    assert missing.returncode == 2
    assert "nope.yml: cannot read" in missing.stderr


def test_zizmor_finds_nothing_in_the_shipped_github_directory():
    result = zizmor(GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def zizmor_findings(github_dir: Path) -> set[tuple[str, str, int]]:
    """(audit, file name, 1-based line) of each finding."""
    result = zizmor(github_dir)
    assert result.returncode != 0
    found = set()
    for finding in json.loads(result.stdout):
        for location in finding["locations"]:
            if location["symbolic"]["kind"] == "Primary":
                (path,) = location["symbolic"]["key"]["Local"].values()
                row = location["concrete"]["location"]["start_point"]["row"]
                found.add((finding["ident"], Path(path).name, row + 1))
    return found


def test_zizmor_fails_a_tag_pinned_action_and_a_checkout_that_keeps_credentials(tmp_path):
    github = copy_of_github(tmp_path)
    deploy = github / "workflows" / "deploy-environment.yml"
    lines = deploy.read_text().splitlines()
    auth = next(i for i, line in enumerate(lines) if "uses: google-github-actions/auth@" in line)
    lines[auth] = re.sub(r"@[0-9a-f]{40} # v[\d.]+", "@v3", lines[auth])
    checkout = next(i for i, line in enumerate(lines) if "persist-credentials: false" in line)
    del lines[checkout - 1 : checkout + 1]  # `with:` and `persist-credentials: false`
    deploy.write_text("\n".join(lines) + "\n")
    found = zizmor_findings(github)
    assert ("unpinned-uses", "deploy-environment.yml", auth + 1 - 2) in found, found
    assert any(audit == "artipacked" and name == "deploy-environment.yml" for audit, name, _ in found), found


def test_workflow_policy_passes_the_shipped_workflows():
    result = policy(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        # the Makefile target is checked by the commands it runs: `make install` is not hash-checked
        ("run: make install-locked", "run: make install", "make install runs pip install without --require-hashes"),
        (
            "run: make install-locked",
            "run: pip install -r requirements/cdktf.txt",
            "pip install without --require-hashes",
        ),
        ("run: make install-locked", "run: npm install", "npm resolves or runs packages outside the lock"),
        ("run: make install-locked", "run: npm ci", "npm ci without --ignore-scripts"),
        ("package-manager-cache: false", "cache: npm", "actions/setup-node restores a cache (cache: npm)"),
    ],
)
def test_workflow_policy_fails_an_unlocked_install_or_a_cache_in_a_deploy_job(tmp_path, before, after, problem):
    deploy = GITHUB / "workflows" / "deploy-environment.yml"
    text = deploy.read_text()
    assert text.count(before) == 1
    broken = tmp_path / "deploy-environment.yml"
    broken.write_text(text.replace(before, after))
    result = policy(WORKFLOWS[0], broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert all(line.startswith(f"{broken}:") for line in result.stdout.splitlines()), result.stdout
    assert f": job deploy: {problem}" in result.stdout, result.stdout


def test_workflow_policy_ignores_jobs_without_a_cloud_token(tmp_path):
    free = tmp_path / "free.yml"
    free.write_text(
        "name: f\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    permissions:\n      contents: read\n    steps:\n      - run: make install && npm install\n"
    )
    assert policy(free).returncode == 0


def test_workflow_policy_without_files_or_with_a_missing_file_is_a_usage_error(tmp_path):
    assert policy().returncode == 2
    missing = policy(tmp_path / "nope.yml")
    assert missing.returncode == 2 and "nope.yml: cannot read" in missing.stderr


# --- what the workflows promise (docs/ci.md) ----------------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version_in_a_comment():
    pinned = set()
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s*(- )?uses: ", line) and "uses: ./" not in line:
                match = SHA_PIN.match(line)
                assert match, f"{path.name}:{number}: {line.strip()}"
                pinned.add(match[2])
    assert {"actions/checkout", "google-github-actions/auth", "google-github-actions/setup-gcloud"} <= pinned


def test_every_checkout_drops_its_credentials_and_every_job_states_its_permissions():
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, path.name  # nothing unless a job asks
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{name}"
            assert set(job["permissions"].values()) <= {"read", "write"}
            for step in uses(job, "actions/checkout"):
                assert step["with"]["persist-credentials"] is False, f"{path.name}:{name}"


def test_google_auth_is_keyless_and_only_where_an_oidc_token_is_allowed():
    text = "\n".join(p.read_text() for p in WORKFLOWS)
    assert "credentials_json" not in text and "secrets." not in text
    callees = set()
    for path_name, name, job in all_jobs():
        auth = uses(job, "google-github-actions/auth")
        if "uses" in job:  # calls a reusable workflow, which inherits at most these permissions
            callees.add(job["uses"].removeprefix("./.github/workflows/"))
            continue
        if not auth:
            assert "id-token" not in job["permissions"], f"{path_name}:{name}"
            continue
        assert path_name in {"deploy-environment.yml", "diff-environment.yml", "images.yml"}, path_name
        assert job["permissions"] == {"contents": "read", "id-token": "write"}, f"{path_name}:{name}"
        assert set(auth[0]["with"]) == {"workload_identity_provider", "service_account"}
    assert callees == {"deploy-environment.yml", "diff-environment.yml"}


def auth_service_account(workflow: str) -> str:
    (job,) = load(workflow)["jobs"].values()
    (auth,) = uses(job, "google-github-actions/auth")
    return auth["with"]["service_account"]


def test_pull_requests_plan_as_the_read_only_identity_and_only_deploys_use_the_deploy_identity():
    # `python -m gkeml.config.bootstrap ENV` prints both; each workflow picks its own
    assert auth_service_account("diff-environment.yml") == "${{ steps.identity.outputs.plan_service_account }}"
    assert auth_service_account("deploy-environment.yml") == "${{ steps.identity.outputs.deploy_service_account }}"
    for name in ("pr.yml", "diff-environment.yml"):
        assert "deploy_service_account" not in (GITHUB / "workflows" / name).read_text()
    assert set(triggers(load("diff-environment.yml"))) == {"workflow_call"}
    assert load("pr.yml")["jobs"]["diff"]["uses"] == "./.github/workflows/diff-environment.yml"
    assert set(triggers(load("deploy.yml"))) == {"push", "workflow_dispatch"}
    assert load("deploy.yml")["jobs"]["deploy"]["uses"] == "./.github/workflows/deploy-environment.yml"


def test_images_are_built_without_a_token_and_pushed_as_the_image_push_identity_from_main():
    """The build (which runs the Dockerfile's installs) holds no token; each push job installs only
    hash-locked packages, loads the built image and logs in as the push identity of its environment."""
    images = load("images.yml")
    assert set(triggers(images)) == {"push", "workflow_dispatch"}
    assert triggers(images)["push"]["branches"] == ["main"]
    assert "examples/trainer/**" in triggers(images)["push"]["paths"]
    jobs = images["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert "docker build" in runs(jobs["build"]) and uses(jobs["build"], "actions/upload-artifact")
    push = jobs["push"]
    assert push["needs"] == ["build", "targets"]
    assert push["strategy"]["matrix"]["target"] == "${{ fromJSON(needs.targets.outputs.targets) }}"
    order = [s.get("uses", "").split("@")[0] or s["run"] for s in steps(push)]
    auth = order.index("google-github-actions/auth")
    assert order.index("make install-locked-python") < auth
    assert order.index("actions/download-artifact") < auth and "docker build" not in runs(push)
    assert steps(push)[auth]["with"]["service_account"] == "${{ steps.identity.outputs.push_service_account }}"
    assert "docker push" in runs(push) and not uses(push, "actions/cache")
    assert "python -m gkeml.images --repository training --image trainer" in runs(jobs["targets"])


def test_image_targets_come_from_the_environment_files(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gkeml.images", "--repository", "training", "--image", "trainer"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    targets = json.loads(result.stdout)
    assert [t["environment"] for t in targets] == [n for n in env_list() if has_training_registry(n)]
    for t in targets:
        assert t["image"].startswith(f"{t['registry']}/") and t["image"].endswith("/training/trainer")
    bad = subprocess.run(
        [sys.executable, "-m", "gkeml.images", "--repository", "training", "--image", "Trainer!"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--image: 'Trainer!' is not an image name" in bad.stderr


def env_list() -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "env", "list", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [e["name"] for e in json.loads(result.stdout)]


def has_training_registry(name: str) -> bool:
    data = yaml.safe_load((ROOT / "environments" / f"{name}.yaml").read_text())
    registry = data.get("registry") or {}
    return registry.get("pusher", "x") is not None and any(
        r["name"] == "training" for r in registry.get("repositories", [])
    )


def test_token_jobs_install_everything_before_they_log_in():
    """Installed from hash-locked files, no cache; gcloud with the GKE auth plugin the in-cluster
    providers call; all before the auth step, so no install step ever runs with a token."""
    for workflow in ("deploy-environment.yml", "diff-environment.yml"):
        (job,) = load(workflow)["jobs"].values()
        order = [s.get("uses", "").split("@")[0] or s["run"] for s in steps(job)]
        auth = order.index("google-github-actions/auth")
        assert order.index("make install-locked") < auth
        gcloud = order.index("google-github-actions/setup-gcloud")
        assert gcloud < auth
        assert steps(job)[gcloud]["with"]["install_components"] == "gke-gcloud-auth-plugin"
        assert not uses(job, "actions/cache")
        run = runs(job)
        assert re.search(r'make (deploy|diff)-ci ENV="\$ENV_NAME"', run)
        assert "${{" not in run  # inputs reach the shell through environment variables only


def test_untrusted_values_never_reach_a_script_through_an_expression():
    for path_name, name, job in all_jobs():
        assert "${{" not in runs(job), f"{path_name}:{name}"


def test_pull_request_runs_checks_comments_the_cost_and_diffs_the_listed_environments():
    pr = load("pr.yml")
    assert set(triggers(pr)) == {"pull_request"}
    jobs = pr["jobs"]
    check = runs(jobs["check"])
    for target in ("make test", "make synth", "make check"):
        assert target in check
    assert ".venv/bin/gkeml env list --format json" in check
    diff = jobs["diff"]
    assert diff["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.check.outputs.environments) }}"
    assert diff["with"] == {"environment": "${{ matrix.env.name }}"}
    assert diff["strategy"]["fail-fast"] is False
    cost = runs(jobs["cost"])
    assert '.venv/bin/gkeml cost "$env_name" --against "origin/$BASE_REF" --format markdown' in cost
    # the job with a writable token runs no code of the pull request
    comment = jobs["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert runs(comment).strip() == "" and not uses(comment, "actions/checkout")
    assert uses(comment, "actions/github-script")


def test_merge_deploys_the_listed_environments_one_at_a_time_in_their_github_environments():
    deploy = load("deploy.yml")
    assert triggers(deploy)["push"] == {"branches": ["main"]}
    assert deploy["concurrency"]["cancel-in-progress"] is False
    jobs = deploy["jobs"]
    assert "gkeml.cli env list --format json" in runs(jobs["environments"])
    assert "make install-locked" in runs(jobs["environments"]).splitlines()
    strategy = jobs["deploy"]["strategy"]
    assert strategy["matrix"]["env"] == "${{ fromJSON(needs.environments.outputs.environments) }}"
    assert strategy["max-parallel"] == 1 and strategy["fail-fast"] is True
    assert jobs["deploy"]["with"] == {
        "environment": "${{ matrix.env.name }}",
        "github-environment": "${{ matrix.env.deploy_environment }}",
    }
    (job,) = load("deploy-environment.yml")["jobs"].values()
    assert job["environment"] == "${{ inputs.github-environment }}"


def list_step_command(workflow: str, job: str) -> str:
    """The `gkeml env list` command line the workflow runs to build its matrix."""
    (line,) = [line for line in runs(load(workflow)["jobs"][job]).splitlines() if "env list" in line]
    return re.search(r"\$\((.*)\)", line)[1]


def run_list_step(workflow: str, job: str, cwd: Path) -> list[dict]:
    command = re.sub(
        r"\.venv/bin/(gkeml|python -m gkeml\.cli)", f"{sys.executable} -m gkeml.cli", list_step_command(workflow, job)
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    # how GitHub runs a `run:` step on Linux: bash -e -o pipefail
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "\n" not in result.stdout.strip()  # one line: a $GITHUB_OUTPUT value
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("jq") is None, reason="the workflow step pipes through jq (on GitHub's runners)")
def test_adding_an_environment_file_changes_the_matrix_with_no_workflow_edit(tmp_path):
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    shutil.copytree(ROOT / "bootstrap", tmp_path / "bootstrap")
    workflows_before = {p: p.read_bytes() for p in WORKFLOWS}
    listed = run_list_step("deploy.yml", "environments", tmp_path)
    assert sorted(e["name"] for e in listed) == ENV_NAMES
    # deploy order: tier by tier (dev, staging, prod), by name within a tier
    assert [TIERS.index(e["tier"]) for e in listed] == sorted(TIERS.index(e["tier"]) for e in listed)

    first = listed[0]["name"]
    new = next(n for n in ("qa", "uat", "preprod", "canary") if not (tmp_path / "environments" / f"{n}.yaml").exists())
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "gkeml.cli",
            "env",
            "new",
            new,
            "--from",
            first,
            "--tier",
            "staging",
            "--project-id",
            f"acme-ml-{new}-test",
            "--project-number",
            "999000111222",
            *hosts_and_queues(first, new),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert created.returncode == 0, created.stderr
    for workflow, job in (("deploy.yml", "environments"), ("pr.yml", "check")):
        names = [e["name"] for e in run_list_step(workflow, job, tmp_path)]
        assert sorted(names) == sorted(ENV_NAMES + [new]), workflow
    added = next(e for e in run_list_step("deploy.yml", "environments", tmp_path) if e["name"] == new)
    assert added["tier"] == "staging" and added["deploy_environment"] == new
    assert {p: p.read_bytes() for p in WORKFLOWS} == workflows_before


@pytest.mark.skipif(shutil.which("jq") is None, reason="the workflow step pipes through jq (on GitHub's runners)")
def test_an_environment_without_its_bootstrap_file_waits_with_a_warning(tmp_path):
    """CI's identities for an environment come from its bootstrap stack: until bootstrap/<env>.yaml exists,
    the environment is left out of the deploy and pull-request lists (and the image pushes), with a warning."""
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    shutil.copytree(ROOT / "bootstrap", tmp_path / "bootstrap")
    first = ENV_NAMES[0]
    (tmp_path / "bootstrap" / f"{first}.yaml").unlink()
    names = [e["name"] for e in run_list_step("deploy.yml", "environments", tmp_path)]
    assert names and first not in names
    listed = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "env", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert listed.returncode == 0, listed.stderr
    assert f"warning: {first}: no bootstrap/{first}.yaml yet, so CI neither plans nor deploys it" in listed.stderr


def hosts_and_queues(source: str, name: str) -> list[str]:
    """--host/--queue options giving the copy of ``source`` its own hosts and queues."""
    from gkeml.environments import load_environment

    env = load_environment(ROOT / "environments" / f"{source}.yaml")
    options = [f"--host={e.name}={e.name}.{name}.test.example" for e in env.endpoints]
    if env.launch is not None:
        options += [f"--queue={q.name}-{name}" for q in env.launch.queues]
    return options


def test_dependabot_keeps_actions_pip_and_npm_pins_current():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ecosystems == {("github-actions", "/"), ("pip", "/requirements"), ("npm", "/")}
    assert all(u["cooldown"]["default-days"] >= 1 for u in config["updates"])


# --- hash-locked installs ------------------------------------------------------------------


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` in a requirements file, following `-r` includes."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
        elif "==" in line:
            name, version = line.rstrip("\\").strip().split("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


@pytest.mark.parametrize("framework", ["cdktf", "cdktn"])
def test_lock_file_holds_exactly_the_pins_of_its_requirements_with_hashes(framework):
    """`make lock` output cannot drift from requirements/<framework>.txt (Dependabot bumps both)."""
    lock = ROOT / "requirements" / f"{framework}-lock.txt"
    assert pins(lock) == pins(ROOT / "requirements" / f"{framework}.txt")
    for entry in re.split(r"\n(?=[A-Za-z])", lock.read_text()):  # a pin and its continuation lines
        if "==" in entry.splitlines()[0]:
            assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry.splitlines()[0]


def test_locked_install_is_hash_checked_and_deploys_use_it():
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "deploy-ci", "ENV=x", f"CDK={framework()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dry.returncode == 0, dry.stderr
    installs = [line for line in dry.stdout.splitlines() if re.search(r"pip install|npm ci", line)]
    assert installs and all("--require-hashes" in i or "--ignore-scripts" in i for i in installs), installs
    assert any(f"requirements/{framework()}-lock.txt" in i for i in installs)


# --- what the workflows run before google-github-actions/auth ------------------------------


def test_every_environment_has_a_bootstrap_file_that_names_its_ci_identity():
    for env in env_list():
        result = subprocess.run(
            [sys.executable, "-m", "gkeml.config.bootstrap", env], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
        assert {"workload_identity_provider", "plan_service_account", "deploy_service_account"} <= set(lines)
        assert set(lines) <= {
            "workload_identity_provider",
            "plan_service_account",
            "deploy_service_account",
            "push_service_account",
        }
        assert re.fullmatch(
            r"projects/\d+/locations/global/workloadIdentityPools/[-a-z0-9]+/providers/[-a-z0-9]+",
            lines["workload_identity_provider"],
        )
        accounts = [v for k, v in lines.items() if k.endswith("_service_account")]
        for account in accounts:
            assert re.fullmatch(r"[-a-z0-9]+@[-a-z0-9]+\.iam\.gserviceaccount\.com", account)
        assert len(set(accounts)) == len(accounts)


def test_ci_identity_of_a_missing_environment_is_a_one_line_error():
    result = subprocess.run(
        [sys.executable, "-m", "gkeml.config.bootstrap", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "python -m gkeml.config.bootstrap: error: bootstrap/nope.yaml: cannot read: No such file or directory"
    )
