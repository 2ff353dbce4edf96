"""Nothing outside our own output is ever deleted, and what we read back is checked.

``gkeml synth --out DIR`` and ``CDKTF_OUTDIR`` replace DIR only when it is new, empty or a
previous synth output (cdktf's manifest.json naming stacks); anything else is refused with exit 2
and left byte-identical. Readers of cdktf.out (``gkeml diagram``, ``gkeml check``) refuse a
malformed or partial output with one line naming the file (and line or resource), and warn when
it is older than the environment files. ``gkeml doctor`` turns a GKE API answer that is not the
message asked for into one line of advice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS, ROOT
from hostile import assert_usage_error, environments, gkeml, previous_output, snapshot
from servers import Answer, LoopbackServer, serving

REFUSED = "is not empty and not a previous synth output"


# --- synth never deletes what is not its own ----------------------------------------------


def _repository_like(path: Path) -> Path:
    """A directory like the repository root: .git, environment files, code."""
    (path / ".git" / "objects").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    shutil.copytree(ENVIRONMENTS, path / "environments")
    (path / "main.py").write_text("print('hi')\n")
    return path


@pytest.mark.parametrize("target", ["environments", "repository", "file", "manifest-not-cdktf"])
def test_synth_refuses_a_directory_that_is_not_its_output_and_leaves_it_byte_identical(tmp_path, target):
    envs = environments(tmp_path / "in")
    out = {
        "environments": lambda: envs,
        "repository": lambda: _repository_like(tmp_path / "repo"),
        "file": lambda: (tmp_path / "notes.txt", (tmp_path / "notes.txt").write_text("keep me"))[0],
        "manifest-not-cdktf": lambda: (
            tmp_path / "ext",
            (tmp_path / "ext").mkdir(),
            (tmp_path / "ext" / "manifest.json").write_text('{"manifest_version": 3}'),
        )[0],
    }[target]()
    before = snapshot(tmp_path)
    result = gkeml("synth", "--environments", envs, "--out", out)
    fragment = "exists and is not a directory" if target == "file" else REFUSED
    assert_usage_error(result, out, None, f"--out: {fragment}")
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []  # no staging left behind


def test_cdktf_outdir_pointing_at_the_repository_is_refused_by_python_main(tmp_path):
    repo = _repository_like(tmp_path / "repo")
    before = snapshot(tmp_path)
    env = dict(os.environ, GKEML_ENVIRONMENTS=str(repo / "environments"), CDKTF_OUTDIR=str(repo))
    done = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"gkeml synth: error: {repo}: CDKTF_OUTDIR: {REFUSED} (no cdktf manifest.json); "
        "synth replaces the whole directory, so it refuses: name an empty "
        "or new directory (default: cdktf.out)"
    ]
    assert snapshot(tmp_path) == before


def test_synth_replaces_a_previous_output_and_an_empty_directory(tmp_path):
    from gkeml.synth import synth_into

    previous = previous_output(tmp_path / "previous")
    (tmp_path / "empty").mkdir()
    for target in (previous, tmp_path / "empty", tmp_path / "new" / "deeper"):
        synth_into(target, lambda staging: previous_output(Path(staging)) and None)
        assert (target / "manifest.json").is_file() and (target / "stacks" / "old" / "cdk.tf.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "new", "previous"]


def test_a_failing_write_keeps_the_previous_output_byte_identical(tmp_path):
    from gkeml.synth import synth_into

    out = previous_output(tmp_path / "cdktf.out")
    before = snapshot(tmp_path)

    def half_then_fail(staging: str) -> None:
        (Path(staging) / "stacks").mkdir(parents=True)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        synth_into(out, half_then_fail)
    assert snapshot(tmp_path) == before


def test_an_unwritable_parent_is_one_line_not_a_traceback(tmp_path):
    if os.geteuid() == 0:
        parent = Path("/proc/gkeml-cannot-write-here")  # even root cannot create directories in /proc
    else:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
    result = gkeml("synth", "--environments", environments(tmp_path / "in", names=("mini",)), "--out", parent / "out")
    assert_usage_error(result, parent / "out", None, "--out: cannot write the output")


def test_an_out_whose_directory_cannot_be_written_is_one_line_before_the_framework_loads(tmp_path):
    """The parent exists but refuses new directories: refused when the staging directory is made,
    before the providers load (no jsii traceback from inside the framework)."""
    if os.geteuid() == 0:
        parent = Path("/sys")  # sysfs: even root cannot make a directory in it
    else:
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
    result = gkeml("synth", "--environments", environments(tmp_path / "in", names=("mini",)), "--out", parent / "out")
    assert_usage_error(result, parent / "out", None, "--out: cannot write the output", str(parent / ".out.staging-"))
    assert "loading the" not in result.err  # the framework was not started


# --- reading cdktf.out back -----------------------------------------------------------------


@pytest.fixture
def output(tmp_path, synth_dir) -> Path:
    """A copy of the session's synthesized fixture environments, to break."""
    return Path(shutil.copytree(synth_dir, tmp_path / "cdktf.out"))


def _truncate(path: Path) -> int:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    return text[: len(text) // 2].count("\n") + 1


BROKEN_STACKS = {  # name: (how the cloud stack of lab is broken, line or None, message)
    "truncated": (lambda p: _truncate(p), "not valid JSON ("),
    "a list": (lambda p: p.write_text("[]") and 1, "expected a JSON object, got list"),
    "resource a list": (
        lambda p: p.write_text('{"resource": []}') and None,
        "resource: not the {type: {name: {...}}} mapping cdktf writes",
    ),
    "a block a string": (
        lambda p: p.write_text('{"resource": {"google_storage_bucket": {"b": "x"}}}') and None,
        "resource.google_storage_bucket.b: not the {type: {name: {...}}} mapping cdktf writes",
    ),
    "undecodable": (lambda p: p.write_bytes(b"\xff\xfe\x00{") and 1, "not valid JSON"),
    "absurdly deep": (
        lambda p: p.write_text("[" * 100_000 + "]" * 100_000) and None,
        "not valid JSON (nested too deeply)",
    ),
}


@pytest.mark.parametrize("broken", BROKEN_STACKS)
def test_diagram_of_a_malformed_stack_exits_2_naming_the_file(output, tmp_path, broken):
    stack = output / "stacks" / "lab" / "cdk.tf.json"
    breaks, fragment = BROKEN_STACKS[broken]
    line = breaks(stack)
    before = snapshot(tmp_path)
    result = gkeml("diagram", "lab", "--out", output, "--environments", ENVIRONMENTS)
    assert result.code == 2 and "Traceback" not in result.err
    where = f"{stack}:{line}: " if line else f"gkeml diagram: error: {stack}: "  # file:line, as check says it
    assert result.err.startswith(where), result.err
    assert fragment in result.err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ({"kind": "Deployment", "metadata": [], "spec": "x"}, "'list' object has no attribute 'get'"),
        ("not an object", "'str' object has no attribute 'get'"),
    ],
)
def test_diagram_of_a_resource_cdktf_would_not_write_names_the_resource(output, body, what):
    k8s = output / "stacks" / "lab-k8s" / "cdk.tf.json"
    stack = json.loads(k8s.read_text())
    stack["resource"]["kubernetes_manifest"] = {"odd": {"manifest": body}}
    k8s.write_text(json.dumps(stack))
    result = gkeml("diagram", "lab", "--out", output)
    assert result.code == 2
    assert result.err.startswith(
        f"gkeml diagram: error: {k8s}: resource.kubernetes_manifest.odd: not what cdktf writes "
    )
    assert what in result.err


def test_diagram_names_a_resource_whose_name_holds_a_newline_on_one_line(output):
    # found by make fuzz: the name was printed as is and broke the one-line error
    k8s = output / "stacks" / "lab-k8s" / "cdk.tf.json"
    stack = json.loads(k8s.read_text())
    stack["resource"]["kubernetes_manifest"] = {"odd\nname": {"manifest": "not an object"}}
    k8s.write_text(json.dumps(stack))
    result = gkeml("diagram", "lab", "--out", output)
    assert result.code == 2
    assert result.err.count("\n") == 1 and result.err.endswith("\n")
    assert result.err.startswith(
        f"gkeml diagram: error: {k8s}: resource.kubernetes_manifest.odd\\nname: not what cdktf writes "
    )


def test_diagram_of_a_partial_output_names_the_missing_stack(output):
    shutil.rmtree(output / "stacks" / "lab-k8s")
    result = gkeml("diagram", "lab", "--out", output)
    assert result.code == 2
    assert result.err == (
        f"gkeml diagram: error: {output}/stacks/lab-k8s/cdk.tf.json is missing although "
        f"{output}/manifest.json names stack lab-k8s (a partial output); run `gkeml synth` "
        "(or `make synth`) again\n"
    )


def test_diagram_of_a_directory_that_is_no_output(tmp_path):
    result = gkeml("diagram", "lab", "--out", tmp_path)
    assert result.code == 2
    assert result.err.startswith(f"gkeml diagram: error: {tmp_path}/manifest.json is missing or not cdktf's manifest")


def test_check_with_a_malformed_output_exits_2_naming_file_and_line(output, tmp_path):
    stack = output / "stacks" / "lab-k8s" / "cdk.tf.json"
    line = _truncate(stack)
    before = snapshot(tmp_path)
    result = gkeml(
        "check",
        "--environments",
        ENVIRONMENTS,
        "--env",
        "lab",
        "--jobs",
        tmp_path / "none",
        "--synth-dir",
        output,
        "--no-checkov",
    )
    assert_usage_error(result, stack, line, "not valid JSON", "run `gkeml synth` (or `make synth`) again")
    assert snapshot(tmp_path) == before


def test_readers_warn_when_the_output_is_older_than_an_environment_file(output, tmp_path):
    envs = environments(tmp_path)
    old = time.time() - 3600
    os.utime(output / "manifest.json", (old, old))
    diagram = gkeml("diagram", "lab", "--out", output, "--environments", envs)
    check = gkeml("check", "--environments", envs, "--jobs", tmp_path / "none", "--synth-dir", output, "--no-checkov")
    for command, result in (("diagram", diagram), ("check", check)):
        assert result.code == 0, result.err
        warning = [line for line in result.errors if "warning:" in line]
        assert len(warning) == 1 and warning[0].startswith(f"gkeml {command}: warning: {output} is older than ")
        assert "run `gkeml synth` (or `make synth`) again" in warning[0]


def test_check_without_synthesized_stacks_says_what_it_did_not_check(tmp_path):
    envs = environments(tmp_path)
    missing = tmp_path / "no-output"
    result = gkeml("check", "--environments", envs, "--jobs", tmp_path / "none", "--synth-dir", missing, "--no-checkov")
    assert result.code == 0, result.err
    assert result.errors == [
        f"gkeml check: warning: no synthesized stacks in {missing}: the Helm releases' objects and the first-apply "
        "order are not checked; run `gkeml synth` (or `make synth`) first"
    ]


def test_readers_do_not_warn_about_a_fresh_output(output, tmp_path):
    envs = environments(tmp_path)
    old = time.time() - 3600
    for path in list(envs.glob("*.yaml")):
        os.utime(path, (old, old))
    os.utime(output / "manifest.json")  # now: newer than every input and the toolkit's code
    result = gkeml("diagram", "lab", "--out", output, "--environments", envs)
    assert result.code == 0 and "warning" not in result.err


# --- doctor: an API answer that is not what GKE returns -------------------------------------


@pytest.fixture
def raw_api():
    """A local server answering every request with one fixed answer (``raw_api.reply``)."""
    with serving(LoopbackServer(Answer(200, b"{}"))) as api:
        yield api


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("text/html", b"<html><body>proxy login</body></html>"),
        ("application/json", b""),
        ("application/json", b"[1, 2]"),
        ("application/json", b"null"),
        ("application/json", json.dumps({"name": "fx-lab-ml", "locations": "us-central1-a"}).encode()),
        ("application/json", json.dumps({"name": "fx-lab-ml", "currentNodeCount": 10**30}).encode()),
    ],
    ids=["html", "empty", "array", "null", "wrong-type", "out-of-range"],
)
def test_doctor_given_a_body_that_is_not_a_cluster_exits_2_with_advice(raw_api, ctype, body):
    raw_api.reply = Answer(200, body, ctype)
    result = gkeml(
        "doctor", "lab", "--environments", ENVIRONMENTS, "--endpoint", raw_api.url, "--no-toolchain", "--format", "json"
    )
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.startswith(
        "gkeml doctor: error: the GKE API answered projects/fx-lab-ml/locations/us-central1/"
        "clusters/fx-lab-ml with a body that is not what the GKE API returns ("
    )
    assert result.err.rstrip().endswith("check --endpoint or any proxy in between")
    assert json.loads(result.out)["exit_code"] == 2


def test_doctor_given_an_authorized_network_that_is_no_cidr_reports_drift(raw_api):
    from google_apis import healthy_cluster

    cluster = healthy_cluster()
    cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"] = [{"cidrBlock": "not-a-network"}]
    raw_api.reply = Answer(200, cluster)
    result = gkeml(
        "doctor", "lab", "--environments", ENVIRONMENTS, "--endpoint", raw_api.url, "--no-toolchain", "--format", "json"
    )
    checks = {c["name"]: c for c in json.loads(result.out)["checks"]}
    assert checks["authorized networks"]["status"] == "drift"
    assert checks["authorized networks"]["live"] == "'not-a-network'"
