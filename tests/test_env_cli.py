"""``gkeml env list`` (the CI matrix: deploy order, clashes between files) and ``gkeml env new``
(a copy whose unique values are placeholders or options, refusing values another environment has),
on small environments written here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

ENVIRONMENT = """\
# yaml-language-server: $schema=../schema/environment.schema.json
# {name}: a small test environment.
name: {name}
{tier}project:
  id: {project}
  number: "{number}"
  region: us-central1
  labels:
    env: {name}
state:
  bucket: {project}-tfstate
network:
  subnet_cidr: 10.10.0.0/20
  pods_cidr: 10.16.0.0/14
  services_cidr: 10.10.16.0/20
teams:
  - name: research
secrets:
  - name: wandb-api-key
identities:
  - name: launch-agent
    namespace: research
    service_account: wandb-launch-serviceaccount-wandb
    secrets: [wandb-api-key]
endpoints:
  - name: chat
    host: {host}
launch:
  identity: launch-agent
  entity: test-entity
{queues}"""
BOOTSTRAP = """\
# Bootstrap of {name}.
name: {name}
project: {{id: {project}, number: "{number}", region: us-central1}}
state:
  bucket: {project}-tfstate
github:
  repository: test/platform
  repository_id: "101"
  repository_owner_id: "202"
  # only jobs in the GitHub environment '{name}' may deploy
  deploy_environment: {name}
"""


def write_env(
    root: Path,
    name: str,
    project: str,
    number: str,
    host: str,
    queue: str | None,
    tier: str = "",
    creates_bucket: bool = False,
) -> None:
    (root / "environments").mkdir(exist_ok=True)
    (root / "bootstrap").mkdir(exist_ok=True)
    (root / "environments" / f"{name}.yaml").write_text(
        ENVIRONMENT.format(
            name=name,
            project=project,
            number=number,
            host=host,
            queues=f"  queues: [{{name: {queue}}}]\n" if queue else "",  # None: the default queue
            tier=f"tier: {tier}\n" if tier else "",
        )
    )
    (root / "bootstrap" / f"{name}.yaml").write_text(BOOTSTRAP.format(name=name, project=project, number=number))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Three environments, written out of deploy order on purpose."""
    write_env(tmp_path, "prod", "test-ml-prod", "300000001", "chat.test.example", "research-prod")
    write_env(
        tmp_path, "alpha", "test-ml-alpha", "300000002", "chat.alpha.test.example", "research-alpha", tier="staging"
    )
    write_env(tmp_path, "dev", "test-ml-dev", "300000003", "chat.dev.test.example", "research-dev", creates_bucket=True)
    return tmp_path


def gkeml(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gkeml.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def scalars(node) -> list:
    """Every scalar value in parsed YAML."""
    if isinstance(node, dict):
        return [v for value in node.values() for v in scalars(value)]
    if isinstance(node, list):
        return [v for value in node for v in scalars(value)]
    return [node]


def listed(cwd: Path) -> list[dict]:
    result = gkeml(cwd, "env", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_is_in_deploy_order_with_the_github_environment_of_each(repo):
    rows = listed(repo)
    assert [(r["name"], r["tier"]) for r in rows] == [("dev", "dev"), ("alpha", "staging"), ("prod", "prod")]
    assert rows[0] == {
        "name": "dev",
        "tier": "dev",
        "project": "test-ml-dev",
        "project_number": "300000003",
        "region": "us-central1",
        "deploy_environment": "dev",
    }
    table = gkeml(repo, "env", "list")
    assert table.returncode == 0
    assert [line.split()[0] for line in table.stdout.splitlines()[2:]] == ["dev", "alpha", "prod"]


@pytest.mark.parametrize(
    ("field", "copied", "message"),
    [
        ("host", "chat.dev.test.example", "endpoints[0].host: host 'chat.dev.test.example' is also used by"),
        ("queue", "research-dev", "launch.queues[0].name: W&B Launch queue 'test-entity/research-dev' is also used by"),
        ("project", "test-ml-dev", "project.id: project id 'test-ml-dev' is also used by"),
    ],
)
def test_list_refuses_two_environments_sharing_what_must_be_unique(repo, field, copied, message):
    values = {
        "project": "test-ml-zeta",
        "number": "300000004",
        "host": "chat.zeta.test.example",
        "queue": "research-zeta",
    }
    values[field] = copied
    write_env(repo, "zeta", tier="staging", **values)  # files are read by name: the clash is reported on zeta
    result = gkeml(repo, "env", "list", "--format", "json")
    assert result.returncode == 2 and json.loads(result.stdout)["exit_code"] == 2  # an error object, no list
    lines = result.stderr.splitlines()  # a shared project id also shares the names derived from it
    assert all(line.startswith("environments/zeta.yaml:") for line in lines), lines
    (line,) = [line for line in lines if message in line]
    assert line.endswith("environments/dev.yaml; each environment needs its own")


def test_list_leaves_out_an_environment_until_its_bootstrap_file_exists(repo):
    (repo / "bootstrap" / "alpha.yaml").unlink()
    result = gkeml(repo, "env", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "alpha" not in [e["name"] for e in json.loads(result.stdout)]
    assert result.stderr.startswith(
        "gkeml env list: warning: alpha: no bootstrap/alpha.yaml yet, so CI neither plans nor deploys it"
    )
    (repo / "bootstrap" / "alpha.yaml").write_text("name: alpha\n")  # there but broken: an error, not a wait
    assert gkeml(repo, "env", "list").returncode == 2


def test_new_marks_what_must_change_and_synth_fails_there_until_it_is_filled(repo):
    result = gkeml(repo, "env", "new", "qa", "--from", "dev")
    assert result.returncode == 0, result.stderr
    env_text = (repo / "environments" / "qa.yaml").read_text()
    boot_text = (repo / "bootstrap" / "qa.yaml").read_text()
    todo = result.stdout.splitlines()
    assert [t.split(": ", 2)[1] for t in todo] == [
        "project.id",
        "project.number",
        "state.bucket",
        "endpoints[0].host",
        "launch.queues[0].name",
        "project.id",
        "project.number",
        "state.bucket",
    ]
    # every line named is a line marked in the file
    for line in todo:
        path, number = line.split(":")[:2]
        assert "# CHANGE ME" in (repo / path).read_text().splitlines()[int(number) - 1], line
    # no value that must be unique was copied (the comments may quote them)
    values = set(scalars(yaml.safe_load(env_text))) | set(scalars(yaml.safe_load(boot_text)))
    assert not values & {"test-ml-dev", "300000003", "chat.dev.test.example", "research-dev", "test-ml-dev-tfstate"}
    assert "name: qa" in env_text and "env: qa" in env_text and "tier: dev" in env_text
    assert env_text.startswith("# yaml-language-server: $schema=../schema/environment.schema.json\n")
    assert "deploy_environment: qa" in boot_text
    assert "GitHub environment 'qa'" in boot_text
    assert "create:" not in boot_text  # dev keeps its state in its own bucket: so does the copy
    # the synth (and the CI list) stops with file:line at each placeholder
    from gkeml.config import ConfigError
    from gkeml.environments import load_environment

    with pytest.raises(ConfigError) as err:
        load_environment(repo / "environments" / "qa.yaml")
    lines = {p.line for p in err.value.problems}
    assert lines == {int(t.split(":")[1]) for t in todo if t.startswith("environments/")}
    listing = gkeml(repo, "env", "list")
    assert listing.returncode == 2 and "environments/qa.yaml:" in listing.stderr


def test_new_with_every_unique_value_given_is_a_working_environment(repo):
    result = gkeml(
        repo,
        "env",
        "new",
        "qa",
        "--from",
        "alpha",
        "--project-id",
        "test-ml-qa",
        "--project-number",
        "300000009",
        "--host",
        "chat=chat.qa.test.example",
        "--queue",
        "research-qa",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # nothing left to fill in
    rows = listed(repo)
    assert [r["name"] for r in rows] == ["dev", "alpha", "qa", "prod"]  # staging tier, copied from alpha
    from gkeml.config.bootstrap import load_bootstrap
    from gkeml.environments import load_environment

    env = load_environment(repo / "environments" / "qa.yaml")
    boot = load_bootstrap(repo / "bootstrap" / "qa.yaml", env)
    assert (env.project.id, env.endpoints[0].host, env.launch.queues[0].name) == (
        "test-ml-qa",
        "chat.qa.test.example",
        "research-qa",
    )
    assert boot.github.deploy_environment == "qa" and boot.state.create is True
    assert boot.state.bucket == env.state.bucket == "test-ml-qa-tfstate"  # its own, in its own project


def test_new_from_an_environment_on_the_default_queue_gets_its_own_default_queue(repo):
    # the shipped environments leave launch.queues to its default, <agent namespace>-<environment name>
    from gkeml.environments import load_environment

    write_env(repo, "lab", "test-ml-lab", "300000004", "chat.lab.test.example", None, tier="dev")
    lab = repo / "environments" / "lab.yaml"  # lab's W&B key is at version 4; the copy's secret starts at 1
    lab.write_text(lab.read_text().replace("  entity: test-entity\n", "  entity: test-entity\n  api_key_version: 4\n"))
    unique = ["--project-id", "test-ml-qa", "--project-number", "300000009", "--host", "chat=chat.qa.test.example"]
    result = gkeml(repo, "env", "new", "qa", "--from", "lab", *unique)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # nothing left to fill in: the queue follows the new name
    assert "queues" not in (repo / "environments" / "qa.yaml").read_text()
    assert load_environment(repo / "environments" / "qa.yaml").launch.api_key_version == 1
    assert load_environment(lab).launch.api_key_version == 4
    assert load_environment(repo / "environments" / "qa.yaml").launch.queues[0].name == "research-qa"
    assert load_environment(repo / "environments" / "lab.yaml").launch.queues[0].name == "research-lab"
    unique = ["--project-id", "test-ml-qa2", "--project-number", "300000010", "--host", "chat=chat.qa2.test.example"]
    given = gkeml(repo, "env", "new", "qa2", "--from", "lab", *unique, "--queue", "nightly-qa2")
    assert given.returncode == 0, given.stderr
    assert load_environment(repo / "environments" / "qa2.yaml").launch.queues[0].name == "nightly-qa2"


SERVING = """\
registry:
  repositories: [{{name: serving}}]
inference:
  - name: chat
    team: research
    image: us-central1-docker.pkg.dev/{project}/serving/chat:1.0.0
"""


def test_new_moves_images_of_the_sources_registry_to_the_copys(repo):
    # the copy's nodes can read only its own registry: an image left in dev's would never pull
    from gkeml.environments import load_environment

    with (repo / "environments" / "dev.yaml").open("a") as source:
        source.write(SERVING.format(project="test-ml-dev"))
    marked = gkeml(repo, "env", "new", "qa", "--from", "dev")
    assert marked.returncode == 0, marked.stderr
    (line,) = [t for t in marked.stdout.splitlines() if ": inference[0].image: " in t]
    assert "qa's project id in the image path" in line
    text = (repo / "environments" / "qa.yaml").read_text()
    assert "image: us-central1-docker.pkg.dev/CHANGE-ME/serving/chat:1.0.0  # CHANGE ME" in text
    for written in ("environments", "bootstrap"):  # unfilled, it would stop the next command
        (repo / written / "qa.yaml").unlink()
    unique = ["--project-id", "test-ml-qa2", "--project-number", "300000010", "--host", "chat=chat.qa2.test.example"]
    given = gkeml(repo, "env", "new", "qa2", "--from", "dev", *unique, "--queue", "research-qa2")
    assert given.returncode == 0 and given.stdout == "", given.stderr
    (service,) = load_environment(repo / "environments" / "qa2.yaml").inference
    assert service.image == "us-central1-docker.pkg.dev/test-ml-qa2/serving/chat:1.0.0"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--project-id", "test-ml-prod"], "--project-id: 'test-ml-prod' is the project id of environments/prod.yaml"),
        (
            ["--project-number", "300000002"],
            "--project-number: '300000002' is the project number of environments/alpha.yaml",
        ),
        (["--host", "chat=chat.dev.test.example"], "'chat.dev.test.example' is the host of environments/dev.yaml"),
        (["--queue", "research-prod"], "--queue: 'research-prod' is the W&B Launch queue of environments/prod.yaml"),
        (
            ["--host", "nope=x.test.example"],
            "--host 'nope=x.test.example': use ENDPOINT=HOST with an endpoint of the source (chat)",
        ),
    ],
)
def test_new_refuses_a_value_another_environment_has_and_writes_nothing(repo, options, message):
    result = gkeml(repo, "env", "new", "qa", "--from", "dev", *options)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert not (repo / "environments" / "qa.yaml").exists() and not (repo / "bootstrap" / "qa.yaml").exists()


def test_new_refuses_a_name_whose_state_would_land_on_another_stack(repo):
    """<env>-k8s is the in-cluster stack of <env>: an environment of that name would share its state."""
    result = gkeml(
        repo,
        "env",
        "new",
        "dev-k8s",
        "--from",
        "dev",
        "--project-id",
        "test-ml-dk",
        "--project-number",
        "300000010",
        "--host",
        "chat=chat.dk.test.example",
        "--queue",
        "research-dk",
    )
    assert result.returncode == 2
    assert "environments/dev-k8s.yaml:" in result.stderr
    assert "stack name 'dev-k8s' is also used by environments/dev.yaml" in result.stderr
    assert not (repo / "environments" / "dev-k8s.yaml").exists()


def test_new_refuses_an_existing_name_an_unknown_source_and_a_bad_name(repo):
    exists = gkeml(repo, "env", "new", "alpha", "--from", "dev")
    assert exists.returncode == 2 and exists.stderr.startswith(
        "gkeml env new: error: environments/alpha.yaml, bootstrap/alpha.yaml: already exists"
    )
    unknown = gkeml(repo, "env", "new", "qa", "--from", "nope")
    assert unknown.returncode == 2 and "no environment 'nope'; defined: alpha, dev, prod" in unknown.stderr
    bad = gkeml(repo, "env", "new", "QA", "--from", "dev")
    assert bad.returncode == 2 and bad.stderr.startswith("gkeml env new: error: NAME: 'QA' is not a DNS label")
    assert sorted(p.name for p in (repo / "environments").iterdir()) == ["alpha.yaml", "dev.yaml", "prod.yaml"]


def test_env_without_a_command_prints_help_and_is_a_usage_error(repo):
    result = gkeml(repo, "env")
    assert result.returncode == 2 and "list" in result.stderr and "new" in result.stderr


def test_new_at_another_tier_writes_out_the_availability_the_source_had_by_default():
    """lab (dev) runs chat on one replica by dev's default (best-effort); a staging copy, whose default is high,
    would refuse it: the copy says best-effort in the file, with why and how to change it."""
    from conftest import ENVIRONMENTS

    from gkeml.envcopy import new_environment_text
    from gkeml.environments import load_environment

    source = load_environment(ENVIRONMENTS / "lab.yaml")
    text, _ = new_environment_text(
        (ENVIRONMENTS / "lab.yaml").read_text(),
        source,
        "qa",
        "staging",
        project_id="test-ml-qa",
        project_number="300000009",
        hosts={"chat": "chat.qa.test.example"},
        queues=["research-qa"],
        explicit_tier=True,
        own_state=True,
    )
    (line,) = [line for line in text.splitlines() if "availability:" in line]
    assert line == (
        "    availability: best-effort  # lab's default, kept by `gkeml env new` (staging's is high): one replica may "
        "do; for two, set autoscaling.min_replicas: 2 and remove this"
    )
    assert yaml.safe_load(text)["tier"] == "staging"
    same_tier, _ = new_environment_text(
        (ENVIRONMENTS / "lab.yaml").read_text(),
        source,
        "qa",
        "dev",
        project_id="test-ml-qa",
        project_number="300000009",
        hosts={"chat": "chat.qa.test.example"},
        queues=["research-qa"],
        explicit_tier=True,
        own_state=True,
    )
    assert "availability" not in same_tier  # the default of its own tier: nothing to write
