"""Guards that one line or one word does not undo, and names that do not collide once derived.

- The tier an environment is comes from what it is (its name, project, labels, state, hosts, or
  the environment it was copied from), so a copy of prod cannot silently run as dev; prod's guards
  (Binary Authorization among them) are lowered only by a reasoned override that ``gkeml check``
  reports on every run.
- What one environment's CI identities reach stays its own: state prefixes in a shared bucket do
  not nest, no two environments share a GitHub deploy environment, CI accounts are not the
  environment's.
- Every name gkeml derives is checked after derivation against the others and against the names
  gkeml and GKE keep for themselves; a list item given twice is refused at its line; and whatever
  loads builds its stacks (a property test generates names and duplicates).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import BOOTSTRAP, ENVIRONMENTS
from hostile import check_config, environments, gkeml, line_of
from hypothesis import given, settings
from hypothesis import strategies as st

from gkeml.config import ConfigError

LAB = (ENVIRONMENTS / "lab.yaml").read_text()
LIVE = (ENVIRONMENTS / "live.yaml").read_text()


def problems_of(text: str, file: str = "env.yaml") -> list[str]:
    """The problems loading ``text`` reports, one line each ([] when it loads)."""
    from gkeml.environments import parse_environment

    try:
        parse_environment(text, file)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


def edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def refused_at(text: str, needle: str, field: str, fragment: str) -> str:
    """The one problem at the line of ``needle`` (``field: ...fragment``)."""
    found = [p for p in problems_of(text) if p.startswith(f"env.yaml:{line_of(text, needle)}: {field}: ")]
    assert len(found) == 1 and fragment in found[0], (found, problems_of(text))
    return found[0]


# --- the tier an environment is ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "implied", "says"),
    [
        ([("name: lab", "name: prod2")], "prod", "name 'prod2'"),
        ([("name: lab", "name: prd01")], "prod", "name 'prd01'"),
        ([("name: lab", "name: eu-prd3")], "prod", "name 'eu-prd3'"),
        ([("id: fx-lab-ml", "id: fx-ml-prd01")], "prod", "project.id 'fx-ml-prd01'"),
        ([("env: lab", "env: production")], "prod", "project.labels.env 'production'"),
        ([("bucket: fx-shared-tfstate", "bucket: fx-prod2-tfstate")], "prod", "state.bucket 'fx-prod2-tfstate'"),
        ([("  - name: checkpoints\n", "  - name: prod-mirror\n")], "prod", "buckets[1].name 'prod-mirror'"),
        ([("host: chat.lab.fx.example", "host: chat.prod2.fx.example")], "prod", "endpoints[0].host"),
        ([("domain: lab.fx.example", "domain: prd.fx.example")], "prod", "dns.domain 'prd.fx.example'"),
        ([("env: lab", "env: pre-prod")], "staging", "project.labels.env 'pre-prod'"),
        ([("name: lab", "name: stg2")], "staging", "name 'stg2'"),
    ],
    ids=["prod2", "prd01", "eu-prd3", "project", "label", "state", "bucket", "host", "dns", "pre-prod", "stg2"],
)
def test_a_lower_tier_than_what_the_environment_is_is_refused(edits, implied, says):
    text = edited(LAB, *edits)
    message = refused_at(text, "tier: dev", "tier", f"dev is lower than {implied}, which {says}")
    assert f"set tier: {implied}, or keep dev with tier_override" in message


@pytest.mark.parametrize("value", ["non-prod", "nonprod", "product", "prodigy", "reproduction"])
def test_words_that_only_contain_a_tier_say_nothing(value):
    assert problems_of(edited(LAB, ("bucket: fx-shared-tfstate", f"bucket: fx-{value}-tfstate"))) == []


def test_an_override_may_name_the_tier_it_stands_in_for():
    """What a copy was made from is not in its name: the override says it, and must be above the tier."""
    override = "tier: dev\ntier_override: {tier: dev, instead_of: prod, reason: 'load tests of a prod copy, OPS-9'}"
    assert problems_of(edited(LAB, ("tier: dev", override))) == []
    below = edited(LAB, ("tier: dev", override.replace("instead_of: prod", "instead_of: dev")))
    refused_at(below, "tier_override", "tier_override.instead_of", "dev is not above tier dev")


def _env_new(tmp_path: Path, *args: str, edits: dict | None = None):
    envs = environments(tmp_path, edits, names=("lab", "live"))
    boots = tmp_path / "bootstrap"
    shutil.copytree(BOOTSTRAP, boots)
    for extra in {p.name for p in boots.iterdir()} - {"lab.yaml", "live.yaml"}:
        (boots / extra).unlink()
    result = gkeml("env", "new", *args, "--environments", envs, "--bootstrap", boots)
    return result, envs


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["prod2", "--from", "live", "--tier", "dev"],
            "prod2 would run at tier dev, below prod, the tier of its source",
        ),
        (["dev", "--from", "live"], "dev would run at tier dev, below prod, the tier of its source live"),
        (["qa", "--from", "live", "--tier", "staging"], "below prod, the tier of its source live"),
        (["prd01", "--from", "lab", "--tier", "dev"], "below prod, what its name 'prd01' says"),
    ],
)
def test_env_new_keeps_the_tier_of_what_it_copies_unless_given_a_reason(tmp_path, args, fragment):
    result, envs = _env_new(tmp_path, *args)
    assert result.code == 2 and fragment in result.err and '--reason "why"' in result.err, result.err
    assert not (envs / f"{args[0]}.yaml").exists()


def test_env_new_with_a_reason_writes_the_override_that_check_reports(tmp_path):
    """The source's own overrides stay its own: a guard override of prod means nothing in a dev copy."""
    reason = "load tests of the new trainer on a prod copy, OPS-42"
    lowered = (
        "  binary_authorization:\n",
        "  binary_authorization:\n    mode: dryrun\n",
    )
    override = (
        "budget:",
        "guard_overrides: [{guard: binary_authorization, reason: 'audit log first, OPS-77'}]\nbudget:",
    )
    result, envs = _env_new(
        tmp_path,
        "qa",
        "--from",
        "live",
        "--tier",
        "dev",
        "--reason",
        reason,
        "--project-id",
        "fx-qa-ml",
        "--project-number",
        "200000000909",
        "--host",
        "chat=chat.qa.fx.example",
        "--host",
        "embed=embed.qa.fx.example",
        "--queue",
        "research-qa",
        edits={"live": [lowered, override]},
    )
    assert result.code == 0, result.err
    from gkeml.environments import load_environment

    env = load_environment(envs / "qa.yaml")
    assert load_environment(envs / "live.yaml").guard_overrides and not env.guard_overrides
    assert env.tier == "dev" and env.tier_override is not None
    # the source's host move is its own: the copy's endpoints start with no earlier or retired host
    assert all(not e.previous_hosts and not e.retired_hosts for e in env.endpoints)
    assert (env.tier_override.instead_of, env.tier_override.reason) == ("prod", reason)
    report = check_config(envs, tmp_path, "--format", "json")
    found = [f for f in json.loads(report.out)["findings"] if f["rule"] == "ENV001"]
    assert {f["object"]: f["message"] for f in found} == {
        "Environment/live": "lowers binary_authorization of tier prod (Binary Authorization enforcing an allowlist "
        "that pins each image's owner): audit log first, OPS-77",
        "Environment/qa": f"runs at tier dev although tier_override.instead_of implies prod (its guards are off): "
        f"{reason}",
    }


# --- prod's guards --------------------------------------------------------------------------------

BINAUTHZ = "  binary_authorization:\n    allowed_images: [us-central1-docker.pkg.dev/acme-ml-dev/training/**]\n"


@pytest.mark.parametrize(
    ("policy", "needle", "field", "fragment"),
    [
        ("    mode: dryrun\n", "mode: dryrun", "cluster.binary_authorization.mode", "dryrun only logs the images"),
        ("    mode: disabled\n", "mode: disabled", "cluster.binary_authorization.mode", "disabled writes no policy"),
        (
            "    allowed_images: [docker.io/**]\n",
            "docker.io/**",
            "cluster.binary_authorization.allowed_images[0]",
            "docker.io/** admits every image on docker.io, whoever pushed it",
        ),
        (
            "    allowed_images: [us-central1-docker.pkg.dev/acme-ml-dev/training/**, us-docker.pkg.dev/**]\n",
            "us-docker.pkg.dev/**",
            "cluster.binary_authorization.allowed_images[1]",
            "admits every image on us-docker.pkg.dev",
        ),
    ],
    ids=["dryrun", "disabled", "docker-hub", "registry-host"],
)
def test_prod_binary_authorization_is_lowered_only_with_a_reason(tmp_path, policy, needle, field, fragment):
    text = edited(LIVE, (BINAUTHZ, "  binary_authorization:\n" + policy))
    message = refused_at(text, needle, field, fragment)
    assert "guard_overrides: [{guard: binary_authorization, reason:" in message
    reason = "enforcement rolls out after the audit log is clean, OPS-77"
    overridden = text + f"guard_overrides:\n  - guard: binary_authorization\n    reason: {reason}\n"
    assert problems_of(overridden) == []
    # the same policy is a choice in dev and staging
    assert problems_of(edited(text, ("tier: prod", "tier: staging"))) == []
    # reported on every check, at the override
    envs = environments(tmp_path, names=("live",))
    (envs / "live.yaml").write_text(overridden)
    report = check_config(envs, tmp_path, "--format", "json")
    assert report.code == 0, report.err
    (found,) = [f for f in json.loads(report.out)["findings"] if f["rule"] == "ENV001"]
    assert found["source"] == f"{envs / 'live.yaml'}:{line_of(overridden, '- guard: binary_authorization')}"
    assert found["message"].startswith("lowers binary_authorization of tier prod") and reason in found["message"]


def test_a_guard_override_with_nothing_to_override_is_refused():
    text = LIVE + "guard_overrides:\n  - guard: binary_authorization\n    reason: just in case it is needed later\n"
    refused_at(text, "- guard: binary_authorization", "guard_overrides[0].guard", "nothing to override")


# --- what one environment's CI reaches -------------------------------------------------------------


def test_nested_state_prefixes_in_a_shared_bucket_are_refused(tmp_path):
    """lab and stage share fx-shared-tfstate: stage's state under gkeml/lab would sit inside lab's."""
    from gkeml.environments import load_environments

    envs = environments(tmp_path, {"stage": [("prefix: gkeml", "prefix: gkeml/lab")]}, ("lab", "stage"))
    with pytest.raises(ConfigError) as err:
        load_environments(envs)
    (problem,) = err.value.problems
    assert (problem.file, problem.field) == (str(envs / "stage.yaml"), "state.prefix")
    assert problem.line == line_of((envs / "stage.yaml").read_text(), "prefix: gkeml/lab")
    assert (
        "stage's state gs://fx-shared-tfstate/gkeml/lab/stage/ lies inside lab's gs://fx-shared-tfstate/gkeml/lab/"
        in (problem.message)
    )
    # the same prefix for both never nests: <prefix>/<name>/
    assert load_environments(environments(tmp_path / "same", names=("lab", "stage")))


def _bootstraps(tmp_path: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    directory = tmp_path / "bootstrap"
    directory.mkdir()
    for path in BOOTSTRAP.glob("*.yaml"):
        (directory / path.name).write_text(edited(path.read_text(), *edits.get(path.stem, [])))
    return directory


@pytest.mark.parametrize("name", ["lab", "LAB"])
def test_two_environments_cannot_share_a_github_deploy_environment(tmp_path, name):
    """GitHub environment names are not case sensitive: Lab and lab are one set of protection rules."""
    from gkeml.environments import load_bootstrap_files

    boots = _bootstraps(tmp_path, {"stage": [("github:\n", f"github:\n  deploy_environment: {name}\n")]})
    with pytest.raises(ConfigError) as err:
        load_bootstrap_files(boots, ENVIRONMENTS)
    (problem,) = err.value.problems
    assert (problem.file, problem.field) == (str(boots / "stage.yaml"), "github.deploy_environment")
    assert problem.line == line_of((boots / "stage.yaml").read_text(), "deploy_environment")
    assert f"GitHub environment {name!r} of fx/ml-platform already gates the deploys of lab" in problem.message


@pytest.mark.parametrize(
    ("key", "account", "owner"),
    [
        ("service_account", "lab-gke-nodes", "gkeml (the service account of the nodes)"),
        ("plan_service_account", "lab-launch-agent", "identity 'launch-agent'"),
        ("push_service_account", "lab-launch-agent", "identity 'launch-agent'"),
    ],
)
def test_ci_accounts_are_not_the_environments_accounts(tmp_path, key, account, owner):
    from gkeml.environments import load_bootstrap_files

    boots = _bootstraps(tmp_path, {"lab": [("billing_account:", f"ci: {{{key}: {account}}}\nbilling_account:")]})
    with pytest.raises(ConfigError) as err:
        load_bootstrap_files(boots, ENVIRONMENTS)
    (problem,) = [p for p in err.value.problems if p.field == f"ci.{key}" and "already belongs" in p.message]
    assert problem.file == str(boots / "lab.yaml")
    assert f"service account {account!r} already belongs to {owner} in environments/lab.yaml" in problem.message


# --- names that collide once derived ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edits", "needle", "field", "fragment"),
    [
        (
            [("  - name: artifacts\n    purpose: artifacts", "  - name: access-logs\n    purpose: artifacts")],
            "name: access-logs",
            "buckets[2].name",
            "bucket 'fx-lab-ml-access-logs' already belongs to gkeml (the access logs of the other buckets)",
        ),
        (
            [("  - name: launch-agent\n", "  - name: gke-nodes\n"), ("identity: launch-agent", "identity: gke-nodes")],
            "name: gke-nodes",
            "identities[1].name",
            "service account 'lab-gke-nodes' already belongs to gkeml (the service account of the nodes)",
        ),
        (
            [("  - name: chat\n    namespace: serving\n", "  - name: gkeml-secret-sync\n    namespace: research\n")],
            "name: gkeml-secret-sync",
            "identities[2].name",
            "Kubernetes service account 'research/gkeml-secret-sync' already belongs to gkeml (GKE's secret sync",
        ),
        (
            [("name: l4-spot-first", "name: autopilot"), ("compute_class: l4-spot-first", "compute_class: autopilot")],
            "name: autopilot",
            "compute_classes[0].name",
            "ComputeClass 'autopilot' already belongs to GKE (its built-in class autopilot)",
        ),
        (
            [("name: l4-spot-first", "name: scale-out"), ("compute_class: l4-spot-first", "compute_class: scale-out")],
            "name: scale-out",
            "compute_classes[0].name",
            "ComputeClass 'scale-out' already belongs to GKE (its built-in class Scale-Out)",
        ),
    ],
    ids=["access-logs", "gke-nodes", "secret-sync", "autopilot", "scale-out"],
)
def test_a_name_gkeml_or_gke_keeps_is_refused_once_derived(edits, needle, field, fragment):
    text = edited(LAB, *edits)
    found = [p for p in problems_of(text) if p.startswith(f"env.yaml:{line_of(text, needle)}: {field}: ")]
    assert len(found) == 1 and fragment in found[0], problems_of(text)


@pytest.mark.parametrize(
    ("edits", "needle", "field"),
    [
        (
            [("roles: [roles/logging.logWriter, ", "roles: [roles/logging.logWriter, roles/logging.logWriter, ")],
            "roles: [",
            "identities[0].roles[1]",
        ),
        (
            [("reads: [datasets]", "reads: [datasets, datasets]")],
            "reads: [datasets, datasets]",
            "identities[0].reads[1]",
        ),
        (
            [
                (
                    "  - name: trainer\n    namespace: research\n",
                    "  - name: trainer\n    namespace: research\n    secrets: [wandb-api-key, wandb-api-key]\n",
                )
            ],
            "secrets: [wandb-api-key, wandb-api-key]",
            "identities[0].secrets[1]",
        ),
        (
            [("  max_jobs: 2\n", "  max_jobs: 2\n  teams: [research, research]\n")],
            "teams: [research",
            "launch.teams[1]",
        ),
        (
            [("queues: [{name: research-lab}]", "queues: [{name: research-lab}, {name: research-lab}]")],
            "queues:",
            "launch.queues[1].name",
        ),
        (
            [
                (
                    "    hours: 4\n",
                    "    hours: 4\n    exclusions:\n"
                    "      - {name: freeze, start: '2026-12-20T00:00:00Z', end: '2026-12-27T00:00:00Z'}\n"
                    "      - {name: freeze, start: '2027-03-20T00:00:00Z', end: '2027-03-27T00:00:00Z'}\n",
                )
            ],
            "'2027-03-20",
            "cluster.maintenance.exclusions[1].name",
        ),
    ],
    ids=["roles", "reads", "secrets", "launch-teams", "launch-queues", "maintenance-exclusions"],
)
def test_an_item_listed_twice_is_refused_at_its_line(edits, needle, field):
    text = edited(LAB, *edits)
    found = [p for p in problems_of(text) if p.startswith(f"env.yaml:{line_of(text, needle)}: {field}: ")]
    assert len(found) == 1, problems_of(text)
    assert "twice" in found[0] or "duplicate name" in found[0]


def test_a_grantable_role_listed_twice_in_a_bootstrap_file_is_refused(tmp_path):
    from gkeml.environments import load_bootstrap_files

    boots = _bootstraps(
        tmp_path, {"live": [("    - roles/logging.logWriter\n", "    - roles/logging.logWriter\n" * 2)]}
    )
    with pytest.raises(ConfigError) as err:
        load_bootstrap_files(boots, ENVIRONMENTS)
    (problem,) = err.value.problems
    assert (problem.field, problem.file) == ("ci.grantable_roles[2]", str(boots / "live.yaml"))
    assert "'roles/logging.logWriter' is listed twice (also at ci.grantable_roles[1])" in problem.message


def test_a_custom_role_named_like_a_predefined_one_synthesizes_and_keeps_its_state(tmp_path):
    """projects/P/roles/logging.logWriter beside roles/logging.logWriter: one binding each, ids from the
    whole role name; a custom role's binding keyed by its last segment until now moves, not re-created."""
    from gkeml.environments import parse_environment
    from gkeml.framework import App
    from gkeml.stacks.cloud import CloudStack

    custom = "projects/fx-lab-ml/roles/logging.logWriter"
    text = edited(
        LAB,
        (
            "roles: [roles/logging.logWriter, roles/monitoring.metricWriter]",
            f"roles: [roles/logging.logWriter, {custom}]",
        ),
        (
            "    reads: [artifacts]\n",
            "    reads: [artifacts]\n    roles: [projects/fx-lab-ml/roles/gsa]\n    mode: classic\n",
        ),
    )
    env = parse_environment(text, "lab.yaml")
    app = App(outdir=str(tmp_path / "out"))
    CloudStack(app, env)
    app.synth()
    stack = json.loads((tmp_path / "out" / "stacks" / "lab" / "cdk.tf.json").read_text())
    bindings = stack["resource"]["google_project_iam_member"]
    trainer = {b["role"] for b in bindings.values() if "trainer" in b["member"]}
    assert trainer == {"roles/logging.logWriter", custom}
    chat = [a for a, b in bindings.items() if b["role"] == "projects/fx-lab-ml/roles/gsa"]
    assert len(chat) == 1
    # each custom role's previous id was taken (by its predefined twin, by the classic identity's "gsa"):
    # synth failed with it, so no state is there to move
    assert [m for m in stack.get("moved", []) if m["from"].startswith("google_project_iam_member.")] == []


def test_a_lone_custom_role_moves_from_its_previous_address(tmp_path):
    from gkeml.environments import parse_environment
    from gkeml.framework import App, legacy_logical_id
    from gkeml.stacks.cloud import CloudStack

    custom = "projects/fx-lab-ml/roles/trainer.reader"
    text = edited(LAB, ("roles: [roles/logging.logWriter, roles/monitoring.metricWriter]", f"roles: [{custom}]"))
    app = App(outdir=str(tmp_path / "out"))
    stack_obj = CloudStack(app, parse_environment(text, "lab.yaml"))
    binding = stack_obj.identities["trainer"].bindings[0]
    app.synth()
    stack = json.loads((tmp_path / "out" / "stacks" / "lab" / "cdk.tf.json").read_text())
    address = f"google_project_iam_member.{legacy_logical_id('wi-trainer/trainer.reader')}"
    assert {"from": address, "to": f"google_project_iam_member.{stack_obj.get_logical_id(binding)}"} in stack["moved"]
    assert stack["resource"]["google_project_iam_member"][stack_obj.get_logical_id(binding)]["role"] == custom


# --- whatever loads builds its stacks ------------------------------------------------------------------


TEAMS = ("research", "serving")
BUCKETS = ("datasets", "checkpoints", "access-logs", "logs")
IDENTITIES = ("trainer", "chat", "gke-nodes", "gkeml-secret-sync", "ci", "launch-agent")
ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "projects/fx-lab-ml/roles/logging.logWriter",
    "projects/fx-lab-ml/roles/gsa",
    "projects/fx-lab-ml/roles/wi-user",
)
CLASSES = ("l4-spot-first", "autopilot", "autopilot-spot", "balanced", "l4")


@st.composite
def named_environments(draw) -> dict:
    """lab-sized environments whose names are drawn from small pools holding gkeml's and GKE's own names,
    and whose lists repeat items: most collide somewhere, some load."""
    some = lambda pool, most: st.lists(st.sampled_from(pool), max_size=most)  # noqa: E731  duplicates allowed
    buckets = draw(some(BUCKETS, 3))
    identities = [
        {
            "name": name,
            "namespace": draw(st.sampled_from(TEAMS)),
            "mode": draw(st.sampled_from(["principal", "classic"])),
            "roles": draw(some(ROLES, 3)),
            "reads": draw(some(buckets, 2)) if buckets else [],
            "secrets": draw(some(("wandb-api-key",), 2)),
            **({"service_account": draw(st.sampled_from(IDENTITIES))} if draw(st.booleans()) else {}),
        }
        for name in draw(st.lists(st.sampled_from(IDENTITIES), min_size=1, max_size=3, unique=True))
    ]
    data = yaml.safe_load(LAB)
    for key in ("inference", "endpoints", "dns", "training", "launch"):
        data.pop(key)
    data.update(
        buckets=[{"name": b, "purpose": "datasets"} for b in buckets],
        identities=identities,
        compute_classes=[{"name": c, "gpu": "nvidia-l4"} for c in draw(some(CLASSES, 2))],
    )
    agent = next((i for i in identities if i["name"] == "launch-agent"), None)
    if agent is not None and draw(st.booleans()):
        agent["service_account"] = "wandb-launch-serviceaccount-wandb"
        data["launch"] = {"identity": "launch-agent", "entity": "fx-ml", "teams": draw(some(TEAMS, 2)) or None}
        if data["launch"]["teams"] is None:
            del data["launch"]["teams"]
    return data


@settings(max_examples=200 if os.environ.get("GKEML_FUZZ") else 20, deadline=None, derandomize=True)
@given(named_environments())
def test_what_loads_builds_its_stacks_with_every_name_once(tmp_path_factory, data):
    """Any environment that loads has no two Kubernetes objects of one name and builds both stacks
    (construct ids from user names never collide); any that does not is refused at load, not by jsii."""
    from gkeml.environments import parse_environment
    from gkeml.framework import App
    from gkeml.manifests.workloads import in_cluster_objects
    from gkeml.stacks.cloud import CloudStack
    from gkeml.stacks.in_cluster import InClusterStack

    try:
        env = parse_environment(yaml.safe_dump(data, sort_keys=False), "lab.yaml")
    except ConfigError:
        return
    keys = [
        (o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in in_cluster_objects(env)
    ]
    assert len(keys) == len(set(keys))
    app = App(outdir=str(tmp_path_factory.mktemp("out")))
    InClusterStack(app, env, cloud=CloudStack(app, env))
