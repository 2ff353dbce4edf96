"""Careless values: accepted today by YAML and by our types, refused by GCP or Kubernetes later, or
dangerous. Each is refused at load with ``file:line: field: message`` and exit 2 by every command
(shown through ``gkeml synth``, whose previous output stays byte-identical), and every problem of
a file is reported in the same run.

Also: an environment that says it is production cannot be moved to a lower tier by one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, ROOT
from hostile import assert_usage_error, check_config, environments, gkeml, line_of, previous_output, snapshot

OTHERS = ("lab", "stage", "mini")


def refused_by_synth(
    tmp_path: Path,
    edits: dict,
    file: str,
    needle: str,
    field: str,
    fragment: str,
    names: tuple[str, ...] = ("lab", "stage", "live", "mini"),
) -> str:
    """Write the fixture environments with ``edits``; synth must exit 2 at ``file`` on the line of
    ``needle`` with ``field: ...fragment``, and leave its previous output byte-identical."""
    envs = environments(tmp_path, edits, names)
    out = previous_output(tmp_path / "cdktf.out")
    before = snapshot(tmp_path)
    result = gkeml("synth", "--environments", envs, "--out", out)
    path = envs / f"{file}.yaml"
    line = line_of(path.read_text(), needle)
    problems = [e for e in result.errors if e.startswith(f"{path}:{line}: {field}: ")]
    assert result.code == 2 and problems, result.err
    assert fragment in problems[0], problems[0]
    assert snapshot(tmp_path) == before
    return problems[0]


# --- a production environment keeps its guards ----------------------------------------------


def _as(name: str, tier: str, extra: str = "") -> dict:
    """live.yaml renamed (file and name) with another tier line."""
    return {"live": [("name: live", f"name: {name}"), ("tier: prod", f"tier: {tier}{extra}")]}


def _write_renamed(tmp_path: Path, name: str, tier: str, extra: str = "") -> Path:
    envs = environments(tmp_path, _as(name, tier, extra), ("live", *OTHERS))
    (envs / "live.yaml").rename(envs / f"{name}.yaml")
    return envs


@pytest.mark.parametrize(
    ("name", "tier", "implied"),
    [
        ("prod", "dev", "prod"),
        ("prod", "staging", "prod"),
        ("production", "dev", "prod"),
        ("eu-prd", "dev", "prod"),
        ("ml-prod", "staging", "prod"),
        ("stage-2", "dev", "staging"),
    ],
)
def test_a_tier_below_what_the_name_says_is_refused(tmp_path, name, tier, implied):
    envs = _write_renamed(tmp_path, name, tier)
    result = check_config(envs, tmp_path)
    path = envs / f"{name}.yaml"
    assert_usage_error(
        result,
        path,
        line_of(path.read_text(), "tier:"),
        f"tier: {tier} is lower than {implied}, which name {name!r} implies, and drops",
        f"set tier: {implied}, or keep {tier} with tier_override",
    )


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("id: fx-lab-ml", "id: fx-lab-prod", "project.id 'fx-lab-prod'"),
        ("bucket: fx-shared-tfstate", "bucket: fx-prd-shared-tfstate", "state.bucket 'fx-prd-shared-tfstate'"),
        ("prefix: gkeml", "prefix: prod/gkeml", "state.prefix 'prod/gkeml'"),
    ],
)
def test_a_dev_environment_whose_project_or_state_says_prod_is_refused(tmp_path, old, new, key):
    msg = refused_by_synth(
        tmp_path,
        {"lab": [(old, new)]},
        "lab",
        "tier: dev",
        "tier",
        f"dev is lower than prod, which {key} implies",
        names=("lab", "mini"),
    )
    assert "deletion protection" in msg


def test_a_reviewed_override_is_accepted_and_reported_on_every_check(tmp_path):
    reason = "pre-launch load tests, torn down after; OPS-1234"
    envs = _write_renamed(tmp_path, "prod", "dev", f"\ntier_override: {{tier: dev, reason: {reason!r}}}")
    path = envs / "prod.yaml"
    table = check_config(envs, tmp_path)
    data = json.loads(check_config(envs, tmp_path, "--format", "json").out)
    assert table.code == 0, table.err  # reviewed when it was added: reported, not failing
    found = [f for f in data["findings"] if f["rule"] == "ENV001"]
    assert len(found) == 1
    assert found[0]["source"] == f"{path}:{line_of(path.read_text(), 'tier_override')}"
    assert found[0]["severity"] == "warning" and found[0]["object"] == "Environment/prod"
    assert f"runs at tier dev although name 'prod' implies prod (its guards are off): {reason}" == found[0]["message"]
    shown = " ".join(table.out.split())  # the table wraps long cells
    assert "ENV001 warning Environment/prod" in shown and reason in shown


@pytest.mark.parametrize(
    ("extra", "needle", "field", "fragment"),
    [
        (
            "\ntier_override: {tier: staging, reason: 'pre-launch load tests, OPS-1234'}",
            "tier_override",
            "tier_override.tier",
            "staging differs from tier dev; make them equal",
        ),
        (
            "\ntier_override: {tier: dev, reason: later}",
            "tier_override",
            "tier_override.reason",
            "at least 20 characters",
        ),
    ],
)
def test_an_override_must_match_the_tier_and_give_a_reason(tmp_path, extra, needle, field, fragment):
    envs = _write_renamed(tmp_path, "prod", "dev", extra)
    path = envs / "prod.yaml"
    result = check_config(envs, tmp_path)
    assert_usage_error(result, path, line_of(path.read_text(), needle), f"{field}: ", fragment)


def test_an_override_that_overrides_nothing_is_refused(tmp_path):
    refused_by_synth(
        tmp_path,
        {"lab": [("tier: dev", "tier: dev\ntier_override: {tier: dev, reason: 'just in case, nobody asked for it'}")]},
        "lab",
        "tier_override",
        "tier_override",
        "nothing to override: tier dev is not lower",
    )


# --- careless values -------------------------------------------------------------------------


@pytest.mark.parametrize("team", ["default", "kube-system", "kube-tools", "gke-managed-x", "gmp-system"])
def test_a_team_named_after_a_system_namespace_is_refused(tmp_path, team):
    refused_by_synth(
        tmp_path,
        {
            "lab": [
                ("- name: research", f"- name: {team}"),
                ("namespace: research", f"namespace: {team}"),
                ("namespace: research", f"namespace: {team}"),
                ("team: research", f"team: {team}"),
            ]
        },
        "lab",
        f"- name: {team}",
        "teams[0].name",
        f"{team!r} is a system namespace",
    )


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("us-central1-docker.pkg.dev/fx-live-ml/serving/chat:latest", "has the tag latest"),
        ("us-central1-docker.pkg.dev/fx-live-ml/serving/chat", "has no tag"),
        ('"us-central1-docker.pkg.dev/fx-live-ml/serving/chat:1.4.2\\n"', "is not an image reference"),
        ("us-docker.pkg.dev/fx-live-ml/Serving/chat:1.4.2", "is not an image reference"),
        ('"chat:1.4.2 --privileged"', "is not an image reference"),
        ("us-central1-docker.pkg.dev/fx-live-ml/serving/chat@sha256:abc", "is not an image reference"),
    ],
)
def test_an_inference_image_that_is_not_pinned_or_not_a_reference_is_refused(tmp_path, image, fragment):
    refused_by_synth(
        tmp_path,
        {"live": [("image: us-central1-docker.pkg.dev/fx-live-ml/serving/chat:1.4.2", f"image: {image}")]},
        "live",
        f"image: {image}",
        "inference[0].image",
        fragment,
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "fragment"),
    [
        ("expected_size_gib: 5000", "expected_size_gib: .inf", ".inf", "buckets[0].expected_size_gib", "finite number"),
        ('cpu: "4"\n', "cpu: .inf\n", ".inf", "inference[0].cpu", "inf is not a size"),
        ("memory: 16Gi\n", f'memory: "{"9" * 400}"\n', "9999", "inference[0].memory", "is too large to be a size"),
        (
            'quota: {cpu: "512", memory: 4Ti, gpus: 32}',
            'quota: {cpu: "512", memory: 4Ti, gpus: .nan}',
            "gpus: .nan",
            "teams[0].quota.gpus",
            "Input should be a valid integer",
        ),
    ],
)
def test_sizes_that_are_not_finite_are_refused(tmp_path, old, new, needle, field, fragment):
    refused_by_synth(tmp_path, {"live": [(old, new)]}, "live", needle, field, fragment)


def test_the_state_bucket_cannot_be_a_bucket_the_environment_creates(tmp_path):
    refused_by_synth(
        tmp_path,
        {"lab": [("bucket: fx-shared-tfstate", "bucket: fx-lab-ml-datasets")]},
        "lab",
        "bucket: fx-lab-ml-datasets",
        "state.bucket",
        "'fx-lab-ml-datasets' is a bucket this environment creates (at buckets[0].name)",
    )
    refused_by_synth(
        tmp_path / "logs",
        {"lab": [("bucket: fx-shared-tfstate", "bucket: fx-lab-ml-access-logs")]},
        "lab",
        "bucket: fx-lab-ml-access-logs",
        "state.bucket",
        "is a bucket this environment creates (at prefix)",
    )


def test_the_state_bucket_cannot_be_a_bucket_another_environment_creates(tmp_path):
    msg = refused_by_synth(
        tmp_path,
        {"lab": [("bucket: fx-shared-tfstate", "bucket: fx-live-ml-datasets")]},
        "lab",
        "bucket: fx-live-ml-datasets",
        "state.bucket",
        "'fx-live-ml-datasets' is a bucket ",
    )
    assert msg.endswith(
        "live.yaml creates; Terraform state needs a bucket no environment creates (the bootstrap's state bucket)"
    )


def test_the_state_prefix_cannot_be_the_bootstrap_stacks(tmp_path):
    # the bootstrap stacks keep their state under gkeml-bootstrap/<env> (tests/test_bootstrap.py reads their backend)
    refused_by_synth(
        tmp_path,
        {"lab": [("prefix: gkeml", "prefix: gkeml-bootstrap")]},
        "lab",
        "prefix: gkeml-bootstrap",
        "state.prefix",
        "is where the bootstrap stack keeps its state",
    )


@pytest.mark.parametrize(
    ("old", "new", "file", "needle", "field", "fragment"),
    [
        (
            "id: fx-mini-ml",
            "id: fx-lab-ml",
            "mini",
            "id: fx-lab-ml",
            "project.id",
            "project id 'fx-lab-ml' is also used by",
        ),
        (
            'number: "200000000404"',
            'number: "200000000101"',
            "mini",
            "200000000101",
            "project.number",
            "is also used by",
        ),
    ],
    ids=["project-id", "project-number"],
)
def test_two_environments_cannot_share_a_project(tmp_path, old, new, file, needle, field, fragment):
    refused_by_synth(tmp_path, {file: [(old, new)]}, file, needle, field, fragment)


def test_an_environment_named_like_another_ones_in_cluster_stack_is_refused(tmp_path):
    envs = environments(tmp_path, names=("mini",))
    (envs / "mini-k8s.yaml").write_text(
        (envs / "mini.yaml")
        .read_text()
        .replace("name: mini", "name: mini-k8s")
        .replace("fx-mini-ml", "fx-mini2-ml")
        .replace("200000000404", "200000000405")
        .replace("fx-mini-tfstate", "fx-mini2-tfstate")
    )
    out = previous_output(tmp_path / "cdktf.out")
    before = snapshot(tmp_path)
    result = gkeml("synth", "--environments", envs, "--out", out)
    assert_usage_error(
        result,
        envs / "mini.yaml",
        line_of((envs / "mini.yaml").read_text(), "name: mini"),
        "name: stack name 'mini-k8s' is also used by",
        str(envs / "mini-k8s.yaml"),
    )
    assert snapshot(tmp_path) == before


def test_two_identities_on_one_kubernetes_service_account_are_refused(tmp_path):
    refused_by_synth(
        tmp_path,
        {
            "live": [
                (
                    "  - name: chat\n    namespace: serving\n",
                    "  - name: chat\n    namespace: research\n    service_account: trainer\n",
                )
            ]
        },
        "live",
        "service_account: trainer",
        "identities[2].service_account",
        "Kubernetes service account 'research/trainer' already belongs to identity 'trainer'",
    )


def test_the_default_service_account_is_no_identity(tmp_path):
    refused_by_synth(
        tmp_path,
        {
            "live": [
                (
                    "  - name: chat\n    namespace: serving\n",
                    "  - name: chat\n    namespace: serving\n    service_account: default\n",
                )
            ]
        },
        "live",
        "service_account: default",
        "identities[2].service_account",
        "'default' is the service account every pod of the namespace runs as",
    )


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/7"])
def test_a_control_plane_open_to_the_internet_is_refused_outside_dev(tmp_path, cidr):
    refused_by_synth(
        tmp_path,
        {
            "stage": [
                (
                    "cluster:\n",
                    f"cluster:\n  public_endpoint: true\n  authorized_networks:\n"
                    f"    - {{name: anyone, cidr: {cidr}}}\n",
                )
            ]
        },
        "stage",
        "name: anyone",
        "cluster.authorized_networks[0].cidr",
        "opens the control plane to most of the internet",
    )


def test_a_dev_control_plane_may_be_open(tmp_path):
    envs = environments(tmp_path, {"lab": [("cidr: 203.0.113.0/24", "cidr: 0.0.0.0/0")]}, ("lab",))
    assert check_config(envs, tmp_path).code == 0


# --- job specs --------------------------------------------------------------------------------

JOB = """\
name: finetune
team: research
image: us-central1-docker.pkg.dev/fx-lab-ml/training/trainer:1.0.0
cpu: "4"
memory: 16Gi
"""


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ('cpu: "0"', "cpu", "0 requests nothing; a job needs some cpu"),
        ('memory: "0"', "memory", "0 requests nothing; a job needs some memory"),
        ("cpu: 0m", "cpu", "0m requests nothing"),
        ("cpu: .inf", "cpu", "inf is not a size"),
        ('image: "us-docker.pkg.dev/p/r/trainer:latest\\n"', "image", "is not an image reference"),
        ("image: us-docker.pkg.dev/p/r/trainer", "image", "has no tag"),
        ("env: {OPENAI_APIKEY: sk-abc}", "env.OPENAI_APIKEY", "looks like a credential"),
        ("env: {HFTOKEN: hf_abc}", "env.HFTOKEN", "looks like a credential"),
        ("env: {DB_PASS: hunter2}", "env.DB_PASS", "looks like a credential"),
        ("env: {SECRET_KEY_BASE: x}", "env.SECRET_KEY_BASE", "looks like a credential"),
        ('env: {"FOO\\n": x}', "env", "is not a variable name"),
        (
            "env: {DATABASE_URL: 'postgres://app:hunter2@db:5432/x'}",
            "env.DATABASE_URL",
            "holds a URL with a user and password",
        ),
        ("command: [sh, -c, 'curl https://u:p@example.com/x']", "command[2]", "holds a URL with a user and password"),
    ],
)
def test_careless_job_spec_values_are_refused_at_their_line(tmp_path, extra, field, fragment):
    key = extra.split(":")[0]
    lines = [line for line in JOB.splitlines() if not line.startswith(f"{key}:")]
    text = "\n".join(lines) + f"\n{extra}\n"
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    for command in (("job", "render"), ("launch", "template")):
        result = gkeml(*command, spec, "--env", "lab", "--environments", ENVIRONMENTS)
        assert_usage_error(result, spec, line_of(text, key + ":"), f"{field}: ", fragment)


@pytest.mark.parametrize(("tail", "found"), [("", False), ("://user:hunter2@db", True)], ids=["clean", "password"])
def test_a_value_as_long_as_a_spec_may_be_is_checked_for_passwords(tail, found):
    """The check reads each value once: a word filling the 1 MiB a spec may have is checked in the time
    of reading it (the regular expression it replaced, searched from every position, took ~40 minutes;
    tests/test_hypothesis.py checks that both find the same; docs/speed.md has the figures)."""
    from gkeml.config.loader import LIMITS
    from gkeml.jobs.spec import url_with_password

    assert url_with_password("a" * LIMITS.max_bytes + tail) is found
    assert url_with_password("a" * LIMITS.max_bytes + " " + "x" * LIMITS.max_bytes + tail) is found


@pytest.mark.parametrize("name", ["TOKENIZERS_PARALLELISM", "HF_TOKEN_FILE", "NCCL_SOCKET_IFNAME", "PWD", "MONKEY"])
def test_variables_that_only_name_where_a_credential_is_are_fine(tmp_path, name):
    spec = tmp_path / "job.yaml"
    spec.write_text(JOB + f"env: {{{name}: x}}\n")
    assert gkeml("job", "render", spec, "--env", "lab", "--environments", ENVIRONMENTS).code == 0


# --- every problem of a file, in one run, with "did you mean" -------------------------------


def test_every_problem_of_an_environment_file_is_reported_in_one_run(tmp_path):
    envs = environments(
        tmp_path,
        {
            "live": [
                ("  region: us-central1\n", "  region: us-central1\n  lables: {team: ml}\n"),
                ("purpose: datasets", "purpose: dataset"),
                ("reads: [datasets]", "reads: [datasest]"),
                ("image: us-central1-docker.pkg.dev/fx-live-ml/serving/chat:1.4.2", "image: chat"),
            ]
        },
        ("live",),
    )
    result = gkeml("cost", "live", "--environments", envs)
    path = envs / "live.yaml"
    text = path.read_text()
    assert result.code == 2
    assert result.errors == [
        f"{path}:{line_of(text, 'lables:')}: project.lables: unknown key 'lables' (did you mean 'labels'?); "
        "allowed: id, number, region, labels",
        f"{path}:{line_of(text, 'purpose: dataset')}: buckets[0].purpose: Input should be 'datasets', 'checkpoints' "
        "or 'artifacts' (got 'dataset') (did you mean 'datasets'?)",
        f"{path}:{line_of(text, 'reads: [datasest]')}: identities[0].reads[0]: unknown bucket 'datasest' "
        "(did you mean 'datasets'?); defined: datasets, checkpoints, artifacts",
        f"{path}:{line_of(text, 'image: chat')}: inference[0].image: 'chat' has no tag: every pull may run different "
        "code; pin a version tag or an @sha256 digest, e.g. us-docker.pkg.dev/PROJECT/REPO/IMAGE:1.0",
    ]


def test_every_problem_of_a_job_spec_is_reported_in_one_run(tmp_path):
    text = (
        JOB.replace('cpu: "4"', 'cpu: "200"') + "nodes: 2\ncompletion_mode: NonIndexed\nenv: {HF_TOKEN: x}\n"
        "spot: true\n"
    )
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    result = gkeml("job", "render", spec, "--env", "lab", "--environments", ENVIRONMENTS)
    assert result.code == 2
    fields = [line.split(": ")[1] for line in result.errors]
    # 200 vCPU is above the maximum (GKE005, an error); the ratio Autopilot would raise is no longer a second error
    assert fields == ["cpu", "completion_mode", "env.HF_TOKEN", "spot"], result.err
    assert all(
        line.startswith(f"{spec}:{line_of(text, field.split('.')[0] + ':')}: {field}: ")
        for line, field in zip(result.errors, fields)
    )


def test_gpu_counts_that_are_not_finite_in_a_manifest_are_findings_not_tracebacks(tmp_path):
    manifest = tmp_path / "pods.yaml"
    manifest.write_text(
        "".join(
            f"""\
---
apiVersion: v1
kind: Pod
metadata: {{name: p{i}, namespace: research}}
spec:
  nodeSelector: {{cloud.google.com/gke-accelerator: nvidia-l4}}
  containers:
    - name: c
      resources: {{limits: {{nvidia.com/gpu: {count}, cpu: "1", memory: 4Gi}}}}
"""
            for i, count in enumerate([".inf", ".nan", "-.inf", "-1", "1e999", "'" + "9" * 400 + "'"])
        )
    )
    result = gkeml("check", manifest, "--format", "json")
    assert result.code == 1 and "Traceback" not in result.err
    found = json.loads(result.out)["findings"]
    assert {f["object"] for f in found if f["rule"] == "GKE001"} == {f"Pod/research/p{i}" for i in range(6)}


# --- values Google Cloud or Kubernetes refuse at apply, refused at load ------------------------
# One case per rule of the API that refuses it (the rule and its source are in gkeml.platform).

MANY_LABELS = "".join(f"    l{i}: x\n" for i in range(60))  # 63 with the fixture's; 67 with gkeml's
EXCLUSION = "      - {name: x%d, start: '2027-0%d-01T00:00:00Z', end: '2027-0%d-02T00:00:00Z'}\n"


@pytest.mark.parametrize(
    ("old", "new", "needle", "field", "fragment"),
    [
        # names Cloud Storage refuses (storage/docs/buckets#naming)
        ("bucket: fx-shared-tfstate", "bucket: goog-tfstate", "goog-tfstate", "state.bucket", "starting with 'goog'"),
        ("bucket: fx-shared-tfstate", "bucket: fx-g00gle-state", "g00gle", "state.bucket", "containing 'google'"),
        ("bucket: fx-shared-tfstate", "bucket: 192.168.10.20", "192.168", "state.bucket", "reads as an IP address"),
        ("bucket: fx-shared-tfstate", "bucket: fx..state", "fx..state", "state.bucket", "dot-separated part"),
        # numbers beyond what the API stores: a budget's units are an int64
        (
            "  headroom: 1.5\n",
            "  amount: 1.0e+19\n",
            "amount: 1.0e+19",
            "budget.amount",
            "more than a budget holds",
        ),
        # counts: 64 labels on a resource, 20 maintenance exclusions, 30 days of NO_UPGRADES
        ("    owner: ml-platform\n", MANY_LABELS, "  labels:", "project.labels", "Google Cloud allows 64"),
        (
            "    hours: 4\n",
            "    hours: 4\n    exclusions:\n" + "".join(EXCLUSION % (i, 1 + i % 9, 1 + i % 9) for i in range(21)),
            "exclusions:",
            "cluster.maintenance.exclusions",
            "at most 20 items",
        ),
        (
            "    hours: 4\n",
            "    hours: 4\n    exclusions:\n"
            "      - {name: launch, start: '2027-01-01T00:00:00Z', end: '2027-03-02T00:00:00Z', scope: NO_UPGRADES}\n",
            "name: launch",
            "cluster.maintenance.exclusions[0].end",
            "60 days of NO_UPGRADES; GKE allows at most 30",
        ),
        # sizes of the cluster's ranges
        (
            "subnet_cidr: 10.10.0.0/20",
            "subnet_cidr: 10.10.0.0/32",
            "10.10.0.0/32",
            "network.subnet_cidr",
            "/8 to a /29",
        ),
        (
            "services_cidr: 10.10.16.0/20",
            "services_cidr: 10.10.16.0/28",
            "/28",
            "network.services_cidr",
            "/16 to a /27",
        ),
        # what Compute Engine offers (a dated list)
        (
            "    gpu: nvidia-l4\n    gpu_count: 1\n    capacity",
            "    machine_family: n9\n    capacity",
            "machine_family: n9",
            "compute_classes[0].machine_family",
            "'n9' is not a Compute Engine machine series",
        ),
    ],
    ids=[
        "bucket-goog",
        "bucket-g00gle",
        "bucket-ip",
        "bucket-empty-part",
        "budget-int64",
        "labels-64",
        "exclusions-20",
        "no-upgrades-30-days",
        "subnet-32",
        "services-28",
        "machine-series",
    ],
)
def test_a_value_the_api_refuses_at_apply_is_refused_at_load(tmp_path, old, new, needle, field, fragment):
    edits = {"lab": [(old, new)]}
    if "machine_family" in new:  # the service on the class asks for the class's GPU
        edits["lab"].append(("    compute_class: l4-spot-first   # its GPU and capacity ladder\n", ""))
    refused_by_synth(tmp_path, edits, "lab", needle, field, fragment, names=("lab", "mini"))


def test_the_bootstrap_state_bucket_is_a_name_cloud_storage_accepts(tmp_path, capsys):
    from hostile import BOOTSTRAP

    from gkeml.config.bootstrap import main as ci_identity

    (tmp_path / "mini.yaml").write_text(BOOTSTRAP.replace("fx-mini-tfstate", "google-tfstate"))
    assert ci_identity(["mini", "--dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"{tmp_path / 'mini.yaml'}:3: state.bucket: 'google-tfstate' is not a bucket name Cloud Storage accepts"
    )


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("nodes", 2**31, "less than or equal to 2147483647"),
        ("gpu_count", 2**31, "less than or equal to 2147483647"),
        ("ttl_seconds_after_finished", 2**31, "less than or equal to 2147483647"),
        ("active_deadline_seconds", 2**63, "less than or equal to 9223372036854775807"),
    ],
)
def test_job_spec_numbers_beyond_what_kubernetes_stores_are_refused(tmp_path, key, value, fragment):
    spec = tmp_path / "job.yaml"
    text = JOB + f"{key}: {value}\n"
    spec.write_text(text)
    result = gkeml("job", "render", spec, "--env", "lab", "--environments", ENVIRONMENTS)
    assert_usage_error(result, spec, line_of(text, f"{key}:"), f"{key}: ", fragment)


def _float_fields(model, seen=None):
    """(model, field name) of every float field of ``model`` and the models under it."""
    import typing

    from pydantic import BaseModel

    seen = set() if seen is None else seen
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        args = [info.annotation]
        while args:
            arg = args.pop()
            if arg is float:
                yield model, name
            elif isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _float_fields(arg, seen)
            else:
                args += [a for a in typing.get_args(arg) if a is not type(None)]


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_no_number_of_any_config_file_is_infinite_or_nan(value):
    """Every float of every file gkeml reads (environments, bootstrap files, job specs, price tables)."""
    from gkeml.config.bootstrap import Bootstrap
    from gkeml.config.model import Environment
    from gkeml.cost.prices import PriceTable
    from gkeml.jobs.spec import JobSpec

    fields = [f for root in (Environment, Bootstrap, JobSpec, PriceTable) for f in _float_fields(root)]
    assert len(fields) >= 35  # the walk reached the price table's rates and the environment's sizes
    accepted = []
    for model, name in fields:
        errors = []
        try:
            model.model_validate({name: value})
        except Exception as exc:  # a ValidationError listing every missing field, and this one
            errors = [e["loc"] for e in exc.errors()] if hasattr(exc, "errors") else []
        if not any(loc[:1] == (name,) for loc in errors):
            accepted.append(f"{model.__name__}.{name}")
    assert accepted == []


def test_a_price_table_with_an_infinite_or_huge_rate_is_refused(tmp_path):
    import json as _json

    table = _json.loads((ROOT / "gkeml" / "cost" / "prices.json").read_text())
    table["cluster"]["fee_per_hour"] = 1e300  # finite, but a month of it is not
    path = tmp_path / "prices.json"
    path.write_text(_json.dumps(table, indent=2))
    result = gkeml("cost", "lab", "--environments", ENVIRONMENTS, "--prices", path)
    assert_usage_error(result, path, line_of(path.read_text(), "fee_per_hour"), "cluster.fee_per_hour: ", "1000000")


# --- what the command line names -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "../x"),
        ("diagram", "../x", "--out", "cdktf.out"),
        ("job", "render", "examples/jobs/single-gpu.yaml", "--env", "../lab"),
        ("doctor", "lab/../lab", "--no-toolchain"),
        ("destroy", "lab\n"),
    ],
    ids=["cost", "diagram", "job-render", "doctor", "destroy"],
)
def test_an_environment_name_that_is_a_path_is_refused(tmp_path, args):
    """ENV names a file in --environments; a path or a name with a newline reads nothing."""
    extra = () if args[0] == "diagram" else ("--environments", ENVIRONMENTS)
    result = gkeml(*args, *extra)
    assert result.code == 2 and "Traceback" not in result.err
    assert "is not an environment name" in result.err, result.err


@pytest.mark.parametrize(
    "args",
    [
        ("job", "wait", "research/run", "--interval", "nan"),
        ("job", "wait", "research/run", "--timeout", "inf"),
        ("job", "wait", "research/run", "--interval", "1e400"),
        ("job", "submit", "examples/jobs/single-gpu.yaml", "--name", "run-1\n"),
        ("job", "status", "research/run-1\n"),
        ("job", "delete", "research/../run"),
    ],
    ids=["interval-nan", "timeout-inf", "interval-overflow", "name-newline", "status-newline", "delete-path"],
)
def test_job_arguments_kubernetes_or_python_would_refuse_are_usage_errors(tmp_path, monkeypatch, args):
    """Refused before any cluster is contacted (no kubeconfig here: nothing could be)."""
    from gkeml.cli import main

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main([*args, "--env", "lab", "--environments", str(ENVIRONMENTS)])
    except SystemExit as exc:  # argparse refuses an argument of the wrong type
        code = exc.code
    assert code == 2, err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert "kubectl context" not in err.getvalue()  # refused before the context was looked up


# --- every request range on every path (rules GKE005/GKE007 at load) --------------------------


@pytest.mark.parametrize("budget", ["derived", "amount", "none"])
@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            '    cpu: "2"\n    memory: 8Gi\n    endpoint: embed',
            '    cpu: "200"\n    memory: 200Gi\n    endpoint: embed',
            "inference[1].cpu",
        ),
        ('    cpu: "44"\n    memory: 160Gi', '    cpu: "44"\n    memory: 400Gi', "training[1].memory"),
    ],
    ids=["inference", "training"],
)
def test_requests_autopilot_refuses_are_refused_at_their_key_whatever_the_budget(tmp_path, old, new, field, budget):
    """The rule `gkeml check` applies (GKE005) decides at load, with or without a budget: the error names
    the workload's key, not budget.amount, and no command turns it into a traceback."""
    edits = [(old, new)]
    if budget == "amount":
        edits.append(("  channels: [oncall]\n", "  channels: [oncall]\n  amount: 1000\n"))
    elif budget == "none":
        edits.append(("budget:\n  billing_account: 0A1B2C-3D4E5F-6A7B8C\n  channels: [oncall]\n", ""))
    envs = environments(tmp_path, {"live": edits}, ("live",))
    path = envs / "live.yaml"
    needle = new.split("\n")[0 if field.endswith("cpu") else 1].strip()
    line = line_of(path.read_text(), needle)
    out = previous_output(tmp_path / "cdktf.out")
    before = snapshot(tmp_path)
    for args in (
        ("synth", "--environments", envs, "--out", out),
        ("cost", "live", "--environments", envs),
        ("check", "--no-checkov", "--environments", envs, "--jobs", tmp_path / "none", "--synth-dir", out),
    ):
        result = gkeml(*args)
        assert_usage_error(result, path, line, f"{field}: Pod requests ", "maximum", "Autopilot rejects the Pod")
        assert "budget.amount" not in result.err
    assert snapshot(tmp_path) == before


# --- strings Terraform would evaluate ------------------------------------------------------------
# Terraform reads every string of cdk.tf.json as a template: ${...} interpolates (file() reads the
# machine that plans: the CI runner, with its token) and %{...} is a directive. Every string field of the
# environment model is given each probe: an unescaped one must be refused at load (by the field's
# pattern, a check, or FreeText); the escaped forms ($${, %%{) may pass, and one synth of an environment
# holding every accepted probe at once must contain no unescaped interpolation.

ANY, KEY = "*", "<key>"
INTERPOLATIONS = ('${file("/etc/passwd")}', "%{if true}x%{endif}", "https://x.example/${file(path.root)}")
ESCAPED = ('$${file("/etc/passwd")}', "https://x.example/$${file(path.root)}")
UNESCAPED = re.compile(r"(?<!\$)\$\{file\(|(?<!%)%\{if true\}")


def _string_paths(model, prefix: tuple = (), seen: tuple = ()):
    """The path of every string a file of ``model`` may hold (``*``: any list item or mapping value,
    ``<key>``: a mapping key)."""
    import types
    import typing

    from pydantic import BaseModel

    def walk(ann, path, seen):
        origin, args = typing.get_origin(ann), typing.get_args(ann)
        if ann is str:
            yield path
        elif origin is typing.Annotated:
            yield from walk(args[0], path, seen)
        elif origin in (list, tuple):
            yield from walk(args[0], (*path, ANY), seen)
        elif origin is dict:
            yield from walk(args[0], (*path, KEY), seen)
            yield from walk(args[1], (*path, ANY), seen)
        elif origin in (typing.Union, types.UnionType):
            for arg in args:
                yield from walk(arg, path, seen)
        elif isinstance(ann, type) and issubclass(ann, BaseModel) and ann not in seen:
            for name, info in ann.model_fields.items():
                yield from walk(info.annotation, (*path, name), (*seen, ann))

    yield from walk(model, prefix, seen)


def _set(data, path: tuple, value: str) -> None:
    """Put ``value`` at ``path`` of ``data`` (``*``: the first item or value; ``<key>``: a key). A section or list
    the base file lacks is made on the way (a field added to the model is probed without editing the base: the
    loader then decides whether the probe, in that otherwise empty place, is accepted)."""
    node = data
    for part, after in zip(path[:-1], path[1:]):
        empty = [] if after == ANY else {}
        if part == ANY and isinstance(node, list):
            if not node:
                node.append(empty)
            node = node[0]
        elif part == ANY:
            if not node:
                node["x"] = empty
            node = node[next(iter(node))]
        else:
            if node.get(part) is None:
                node[part] = empty
            node = node[part]
    last = path[-1]
    if last == KEY:
        node[value] = node.pop(next(iter(node))) if node else ""
    elif last == ANY:
        if isinstance(node, list):
            node[:1] = [value]
        else:
            node[next(iter(node), "x")] = value
    else:
        node[last] = value


def _probe_base() -> dict:
    """lab.yaml with every optional section and list of the model filled in (so every string has a place),
    under a project id that says prd (so that tier_override has something to override)."""
    import yaml as _yaml

    data = _yaml.safe_load((ENVIRONMENTS / "lab.yaml").read_text())
    data["project"]["id"] = "fx-lab-prd"
    data["tier_override"] = {"tier": "dev", "reason": "probe environment of the hostile-values tests"}
    data["intended_deletions"] = ["bucket/old"]
    data["cluster"]["labels"] = {"tier": "dev"}
    data["cluster"]["zones"] = ["us-central1-a", "us-central1-b"]
    data["cluster"]["binary_authorization"] = {"allowed_images": ["us-docker.pkg.dev/acme-shared/training/**"]}
    data["cluster"]["maintenance"]["exclusions"] = [
        {"name": "freeze", "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}
    ]
    data["buckets"][0].update({"location": "US", "data_locations": ["us-central1", "us-east4"]})
    data["identities"][0]["secrets"] = ["wandb-api-key"]
    data["endpoints"][0].update({"previous_hosts": ["old.lab.fx.example"], "retired_hosts": ["older.lab.fx.example"]})
    service = data["inference"][0]
    service["probe"] = {"path": "/healthz"}
    service["autoscaling"].update(
        {
            "external_metric": "pubsub.googleapis.com|subscription|num_undelivered_messages",
            "external_target": 10,
            "external_selector": {"resource.labels.subscription_id": "chat"},
        }
    )
    data["launch"]["teams"] = ["research"]
    data["monitoring"]["alerts"]["channels"] = ["oncall"]
    data["budget"]["amount"] = 1000  # nothing to estimate on every probe
    return data


def _accepts(data: dict) -> bool:
    """Whether the loader takes ``data`` as an environment file: the cheap parts first (references, the
    model, its checks), the whole loader for what passes them."""
    import yaml as _yaml
    from pydantic import ValidationError

    from gkeml.config import ConfigError
    from gkeml.config.checks import model_problems, reference_problems
    from gkeml.config.model import Environment
    from gkeml.environments import parse_environment

    if reference_problems(data):
        return False
    try:
        if model_problems(Environment.model_validate(data)):
            return False
        parse_environment(_yaml.safe_dump(data), "probe.yaml")
    except (ValidationError, ConfigError):
        return False
    return True


@pytest.mark.synth
def test_every_string_that_reaches_a_stack_is_refused_or_stays_escaped(tmp_path):
    import copy

    import yaml as _yaml

    from gkeml.config.model import Environment
    from gkeml.environments import parse_environment
    from gkeml.synth import synth

    base = _probe_base()
    assert _accepts(base)
    paths = sorted(set(_string_paths(Environment)), key=str)
    assert len(paths) >= 70
    accepted: dict[tuple, str] = {}
    for path in paths:
        for probe in (*INTERPOLATIONS, *ESCAPED):
            data = copy.deepcopy(base)
            _set(data, path, probe)
            if _accepts(data):
                accepted.setdefault(path, probe)
    unescaped = {".".join(p): v for p, v in accepted.items() if v in INTERPOLATIONS}
    assert unescaped == {}, "a field takes an unescaped ${ or %{: make it FreeText or give it a pattern"
    # the free-text fields take the escapes (the characters themselves), all at once in one environment
    assert {".".join(p) for p in accepted} >= {
        "cluster.authorized_networks.*.name",
        "registry.repositories.*.description",
        "launch.entity",
        "inference.*.autoscaling.external_selector.*",
        "tier_override.reason",
    }
    data = copy.deepcopy(base)
    for path, probe in accepted.items():
        _set(data, path, probe)
    env = parse_environment(_yaml.safe_dump(data), "probe.yaml")
    out = synth([env], tmp_path / "cdktf.out")
    text = "\n".join(p.read_text() for p in sorted(out.glob("stacks/*/cdk.tf.json")))
    assert UNESCAPED.search(text) is None
    assert text.count("$${file(") >= 3  # the escaped probes reached the stacks as written


def test_every_string_of_a_bootstrap_file_is_refused_unescaped():
    """The bootstrap stack's strings all come from patterned fields: no probe passes (so no synth is needed)."""
    import copy

    import yaml as _yaml
    from hostile import BOOTSTRAP

    from gkeml.config.bootstrap import Bootstrap

    base = _yaml.safe_load(BOOTSTRAP)
    base["ci"] = {"grantable_roles": ["roles/logging.logWriter"]}
    base["state"].update({"project": "fx-shared-state", "location": "EU"})
    base["github"]["deploy_environment"] = "mini"
    base["billing_account"] = "0A1B2C-3D4E5F-6A7B8C"
    base["project"]["labels"] = {"owner": "ml"}
    accepted = []
    for path in sorted(set(_string_paths(Bootstrap)), key=str):
        for probe in INTERPOLATIONS:
            data = copy.deepcopy(base)
            _set(data, path, probe)
            try:
                Bootstrap.model_validate(data)
            except ValueError:
                continue
            accepted.append(".".join(path))
    assert accepted == []
