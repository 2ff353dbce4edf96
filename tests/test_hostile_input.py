"""Hostile and unusual YAML through every reader and every command that reads it.

Each class of file (invalid UTF-8, 10,000 levels of nesting, a billion laughs, a recursive alias,
an integer of 5,000 digits, a file over the size limit) is given to every entry point that reads
that kind of file: environment files (synth, check, cost, doctor, job render --env), job specs
(job render, job submit, launch template), manifests (check FILE), price tables (cost --prices) and bootstrap
files (bootstrap synth and its CI-identity printer). Every one must exit 2 with one line naming
the file and the line, change nothing on disk, and build nothing first. So must what is no file at
all in the same places (a FIFO nobody writes to, a device), and files that are each within the
limits but together beyond what one command reads. Unusual but valid YAML (byte-order marks,
merge keys) must read as the plain UTF-8 file does.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ENVIRONMENTS, ROOT
from hostile import BOOTSTRAP, Result, assert_usage_error, copy_tree, gkeml, previous_output, snapshot

from gkeml.config.loader import LIMITS, MANIFEST_LIMITS, Limits

JOB = """\
name: finetune
team: research
image: us-central1-docker.pkg.dev/fx-lab-ml/training/trainer:1.0.0
cpu: "4"
memory: 16Gi
"""
MANIFEST = (ROOT / "tests" / "fixtures" / "bad-manifests" / "GKE013-spot-grace-period.yaml").read_text()
# the price table as YAML (the reader takes YAML; JSON is its subset), so that keys can be appended
PRICES = yaml.safe_dump(json.loads((ROOT / "gkeml" / "cost" / "prices.json").read_text()), sort_keys=False)


# --- the hostile files: (bytes, line of the problem or None, what the message says) ----------


def laughs_line(limits: Limits, first: int = 1) -> int:
    """Line of the billion-laughs file below on which the expanded values first pass the limit:
    line k defines a list of 9 aliases of line k-1 (the first: 9 strings), so it adds 9^k + ... values."""
    size = total = 0
    for line in range(first, first + 10):
        size = 9 * size + 1 if size else 10
        total += size
        if total > limits.max_values:
            return line
    raise AssertionError("the bomb is too small for the limit")


LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefghi", "bcdefghij")
)


def invalid_utf8(base: str, limits: Limits) -> tuple[bytes, int, str]:
    return (
        base.encode() + b"# caf\xe9\n",
        base.count("\n") + 1,
        "not valid UTF-8 text (byte 0xe9); save the file as UTF-8",
    )


def deep(base: str, limits: Limits) -> tuple[bytes, int, str]:
    return (
        (base + "deep: " + "[" * 10_000 + "]" * 10_000 + "\n").encode(),
        base.count("\n") + 1,
        f"nested deeper than {limits.max_depth} levels",
    )


def billion_laughs(base: str, limits: Limits) -> tuple[bytes, int, str]:
    return (
        (LAUGHS + base).encode(),
        laughs_line(limits),
        f"the document expands to more than {limits.max_values:,} values",
    )


def recursive_alias(base: str, limits: Limits) -> tuple[bytes, int, str]:
    return (
        (base + "loop: &loop [1, *loop]\n").encode(),
        base.count("\n") + 1,
        "refers to a mapping or list that contains it",
    )


def huge_integer(base: str, limits: Limits) -> tuple[bytes, int, str]:
    return (base + "big: 1" + "0" * 5000 + "\n").encode(), base.count("\n") + 1, "a number of 5,001 digits"


def too_large(base: str, limits: Limits) -> tuple[bytes, int | None, str]:
    return (
        (base + "# " + "x" * limits.max_bytes + "\n").encode(),
        None,
        f"is larger than the {limits.max_bytes:,} bytes such a file may have",
    )


HOSTILE = [invalid_utf8, deep, billion_laughs, recursive_alias, huge_integer, too_large]


# --- the readers: where the file goes and which command reads it -------------------------


def _environment_command(*args: str) -> Callable[[Path], tuple[Path, list[str]]]:
    """The hostile file is environments/mini.yaml (beside the other fixture environments)."""

    def place(tmp: Path) -> tuple[Path, list[str]]:
        envs = tmp / "environments"
        envs.mkdir()
        for f in ENVIRONMENTS.glob("*.yaml"):
            (envs / f.name).write_bytes(f.read_bytes())
        (tmp / "jobs").mkdir()
        (tmp / "jobs" / "finetune.yaml").write_text(JOB)
        previous_output(tmp / "cdktf.out")
        return envs / "mini.yaml", [a.format(envs=envs, tmp=tmp) for a in args]

    return place


def _file_command(name: str, *args: str) -> Callable[[Path], tuple[Path, list[str]]]:
    """The hostile file is ``tmp/name``, read by the command with ``{file}``."""

    def place(tmp: Path) -> tuple[Path, list[str]]:
        previous_output(tmp / "cdktf.out")
        return tmp / name, [a.format(file=tmp / name, tmp=tmp, fixtures=ENVIRONMENTS) for a in args]

    return place


MINI = (ENVIRONMENTS / "mini.yaml").read_text()
READERS = {
    "synth": (MINI, LIMITS, _environment_command("synth", "--environments", "{envs}", "--out", "{tmp}/cdktf.out")),
    "check": (
        MINI,
        LIMITS,
        _environment_command(
            "check",
            "--no-checkov",
            "--environments",
            "{envs}",
            "--jobs",
            "{tmp}/jobs",
            "--synth-dir",
            "{tmp}/cdktf.out",
        ),
    ),
    "cost": (MINI, LIMITS, _environment_command("cost", "mini", "--environments", "{envs}")),
    "doctor": (
        MINI,
        LIMITS,
        _environment_command(
            "doctor", "mini", "--environments", "{envs}", "--no-toolchain", "--endpoint", "http://127.0.0.1:9"
        ),
    ),
    "job render --env": (
        MINI,
        LIMITS,
        _environment_command("job", "render", "{tmp}/jobs/finetune.yaml", "--env", "mini", "--environments", "{envs}"),
    ),
    "job render": (
        JOB,
        LIMITS,
        _file_command("job.yaml", "job", "render", "{file}", "--env", "lab", "--environments", "{fixtures}"),
    ),
    "launch template": (
        JOB,
        LIMITS,
        _file_command("job.yaml", "launch", "template", "{file}", "--env", "lab", "--environments", "{fixtures}"),
    ),
    "job submit": (
        JOB,
        LIMITS,
        _file_command("job.yaml", "job", "submit", "{file}", "--env", "lab", "--environments", "{fixtures}"),
    ),
    "check FILE": (MANIFEST, MANIFEST_LIMITS, _file_command("pods.yaml", "check", "{file}")),
    "cost --prices": (
        PRICES,
        LIMITS,
        _file_command("prices.json", "cost", "lab", "--environments", "{fixtures}", "--prices", "{file}"),
    ),
}


def _cases():
    for reader, (_base, limits, _) in READERS.items():
        for make in HOSTILE:
            if make is too_large and limits is MANIFEST_LIMITS:
                continue  # 16 MiB: the same code path as the 1 MiB of the config readers
            yield pytest.param(reader, make, id=f"{reader}-{make.__name__}")


@pytest.mark.parametrize(("reader", "make"), list(_cases()))
def test_hostile_file_exits_2_naming_file_and_line_and_changes_nothing(tmp_path, monkeypatch, reader, make):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # nothing may reach a cluster
    base, limits, place = READERS[reader]
    path, args = place(tmp_path)
    data, line, fragment = make(base, limits)
    path.write_bytes(data)
    before = snapshot(tmp_path)
    result = gkeml(*args)
    assert_usage_error(result, path, line, fragment)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("make", HOSTILE)
def test_hostile_bootstrap_file_exits_2_in_bootstrap_synth_and_ci_identity(tmp_path, monkeypatch, capsys, make):
    from gkeml.config.bootstrap import main as ci_identity
    from gkeml.synth import bootstrap_main as bootstrap_synth

    path = tmp_path / "mini.yaml"
    data, line, fragment = make(BOOTSTRAP, LIMITS)
    path.write_bytes(data)
    previous_output(tmp_path / "cdktf.out")
    before = snapshot(tmp_path)
    monkeypatch.setenv("GKEML_BOOTSTRAP", str(tmp_path))
    monkeypatch.setenv("GKEML_ENVIRONMENTS", str(ENVIRONMENTS))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    for run in (bootstrap_synth, lambda: ci_identity(["mini", "--dir", str(tmp_path)])):
        code = run()
        err = capsys.readouterr().err
        assert_usage_error(Result(code, "", err), path, line, fragment)
    assert snapshot(tmp_path) == before


# --- what is no regular file: a FIFO nobody writes to (it would block forever), a device ---------


@contextlib.contextmanager
def unblocking(fifo: Path, content: bytes = b"") -> Iterator[None]:
    """While the block runs, a reader blocked opening ``fifo`` is let through after a second (and reads
    ``content``), so that a reader that does not refuse FIFOs fails the test instead of hanging it."""
    done = threading.Event()

    def writer() -> None:
        while not done.wait(1.0):
            with contextlib.suppress(OSError):
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader waits
                try:
                    os.write(fd, content)
                finally:
                    os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def fifo(path: Path) -> str:
    os.mkfifo(path)
    return "is a pipe (a FIFO or a process substitution such as <(...)), not a regular file"


def device(path: Path) -> str:
    path.symlink_to(os.devnull)  # /dev/zero would be the real trap: it never ends (see the subprocess test below)
    return "is a character device, not a regular file"


NOT_FILES = [fifo, device]


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("make", NOT_FILES)
def test_what_is_no_regular_file_exits_2_naming_it_and_changes_nothing(tmp_path, monkeypatch, reader, make):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # nothing may reach a cluster
    _base, _limits, place = READERS[reader]
    path, args = place(tmp_path)
    path.unlink(missing_ok=True)
    fragment = make(path)
    before = snapshot(tmp_path)
    with unblocking(path):
        result = gkeml(*args)
    assert_usage_error(result, path, None, fragment)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("make", NOT_FILES)
def test_no_regular_file_as_bootstrap_file_exits_2(tmp_path, monkeypatch, capsys, make):
    from gkeml.config.bootstrap import main as ci_identity
    from gkeml.synth import bootstrap_main as bootstrap_synth

    path = tmp_path / "mini.yaml"
    fragment = make(path)
    monkeypatch.setenv("GKEML_BOOTSTRAP", str(tmp_path))
    monkeypatch.setenv("GKEML_ENVIRONMENTS", str(ENVIRONMENTS))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    with unblocking(path):
        for run in (bootstrap_synth, lambda: ci_identity(["mini", "--dir", str(tmp_path)])):
            code = run()
            assert_usage_error(Result(code, "", capsys.readouterr().err), path, None, fragment)


def _output_with_a_fifo(tmp_path: Path, synth_dir: Path, target: str) -> tuple[Path, str]:
    out = tmp_path / "cdktf.out"
    copy_tree(synth_dir, out)
    (out / target).unlink()
    return out, fifo(out / target)


def test_a_synth_output_whose_manifest_is_a_fifo_is_no_output(tmp_path, synth_dir):
    """synth replaces only a previous output, and diagram draws only one: both read cdktf's manifest."""
    out, _ = _output_with_a_fifo(tmp_path, synth_dir, "manifest.json")
    before = snapshot(tmp_path)
    with unblocking(out / "manifest.json", b'{"stacks": {}}'):  # what a reader that waited would take for ours
        synth = gkeml("synth", "--environments", ENVIRONMENTS, "--out", out)
        diagram = gkeml("diagram", "lab", "--out", out, "--environments", ENVIRONMENTS)
    assert_usage_error(synth, out, None, "is not empty and not a previous synth output")
    assert diagram.code == 2 and "manifest.json is missing or not cdktf's manifest" in diagram.err
    assert snapshot(tmp_path) == before


def test_a_stack_that_is_a_fifo_is_refused_by_diagram_and_check(tmp_path, synth_dir):
    out, fragment = _output_with_a_fifo(tmp_path, synth_dir, "stacks/lab/cdk.tf.json")
    stack = out / "stacks" / "lab" / "cdk.tf.json"
    before = snapshot(tmp_path)
    with unblocking(stack):
        diagram = gkeml("diagram", "lab", "--out", out, "--environments", ENVIRONMENTS)
        check = gkeml("check", "--env", "lab", "--environments", ENVIRONMENTS, "--synth-dir", out, "--jobs", tmp_path)
    assert diagram.code == 2 and f"{stack}: {fragment}" in diagram.err, diagram.err
    assert_usage_error(check, stack, None, fragment)
    assert snapshot(tmp_path) == before


def test_dev_zero_is_refused_without_reading_it(tmp_path):
    """In a process of its own, with 1 GiB of address space: a reader that tried would fail with
    MemoryError (or be killed), not refuse in one line."""
    import resource
    import subprocess

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    result = subprocess.run(
        [sys.executable, "-m", "gkeml.cli", "check", "/dev/zero", "/dev/stdin"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input=b"",
        capture_output=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.decode().splitlines()[0] == (
        "gkeml check: error: /dev/zero: is a character device, not a regular file; write it to a file first, or pipe "
        "it in: "
        "... | gkeml check -"
    )


# --- standard input, and the total of many files -----------------------------------------------


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_check_reads_standard_input_as_a_file(tmp_path, monkeypatch):
    path = tmp_path / "pods.yaml"
    path.write_text(MANIFEST)
    from_file = json.loads(gkeml("check", path, "--format", "json").out)["findings"]
    _stdin(monkeypatch, MANIFEST.encode())
    result = gkeml("check", "-", "--format", "json", "--fail-on", "warning")
    assert result.code == 1
    from_stdin = json.loads(result.out)["findings"]
    assert [f["source"].replace("<stdin>", str(path)) for f in from_stdin] == [f["source"] for f in from_file]


def test_standard_input_beyond_the_limit_is_refused(monkeypatch):
    import gkeml.rules.sources as sources

    monkeypatch.setattr(sources, "MANIFEST_LIMITS", Limits(max_bytes=len(MANIFEST) - 1))
    _stdin(monkeypatch, MANIFEST.encode())
    assert_usage_error(gkeml("check", "-"), "<stdin>", None, f"is larger than the {len(MANIFEST) - 1:,} bytes")


def test_a_file_named_many_times_is_read_once(tmp_path):
    path = tmp_path / "pods.yaml"
    path.write_text(MANIFEST)
    (tmp_path / "link.yaml").symlink_to(path)
    once = json.loads(gkeml("check", path, "--format", "json").out)
    many = json.loads(gkeml("check", *[path] * 20, tmp_path / "link.yaml", "--format", "json").out)
    assert many["findings"] == once["findings"] and many["objects_checked"] == once["objects_checked"] == 1


def test_manifests_beyond_what_one_command_reads_are_refused_at_the_file_that_crosses(tmp_path, monkeypatch):
    import gkeml.rules.sources as sources

    size = len(MANIFEST.encode())
    monkeypatch.setattr(sources, "MANIFEST_LIMITS", Limits(max_bytes=size, max_total_bytes=2 * size + size // 2))
    paths = [tmp_path / f"pods-{i}.yaml" for i in range(4)]
    for path in paths:
        path.write_text(MANIFEST)
    result = gkeml("check", *paths)
    assert_usage_error(result, paths[2], None, f"more than the {2 * size + size // 2:,} bytes one command reads")


def test_values_beyond_what_one_command_reads_are_refused_at_the_file_that_crosses(tmp_path, monkeypatch):
    """Every file expands (aliases) to 60 % of the command's values: the second crosses."""
    import gkeml.rules.sources as sources

    bomb = LAUGHS.split("\n")[:4]  # 10 + 91 + 820 + 7381 values
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\n" + "\n".join(bomb) + "\n"
    monkeypatch.setattr(sources, "MANIFEST_LIMITS", Limits(max_values=10_000, max_total_values=14_000))
    paths = [tmp_path / f"bomb-{i}.yaml" for i in range(3)]
    for path in paths:
        path.write_text(text)
    assert_usage_error(gkeml("check", *paths), paths[1], 7, "more than the 14,000 values one command reads")


def test_config_files_beyond_what_one_command_reads_are_refused(tmp_path):
    from gkeml.config.loader import ConfigError, read_budget, read_config_text

    limits = Limits(max_bytes=100, max_total_bytes=250)
    paths = [tmp_path / f"{i}.yaml" for i in range(3)]
    for path in paths:
        path.write_text("a: " + "x" * 90 + "\n")
    assert all(read_config_text(p, limits) for p in paths)  # outside a budget: each file on its own
    with read_budget(), pytest.raises(ConfigError) as info:
        for path in paths:
            read_config_text(path, limits)
    assert str(info.value) == (
        f"{paths[2]}: with the files read before it, more than the 250 bytes one command reads of such files; "
        "name fewer or smaller files"
    )


def test_billion_laughs_is_refused_before_it_is_expanded():
    """9^10 values if expanded; refused after reading 10 lines (docs/speed.md has the time and memory)."""
    from gkeml.config.loader import ConfigError, load_yaml

    with pytest.raises(ConfigError) as info:
        load_yaml(LAUGHS, "laughs.yaml")
    assert str(info.value).startswith(f"laughs.yaml:{laughs_line(LIMITS)}: the document expands to more than")


# --- unusual but valid ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_a_file_with_a_byte_order_mark_reads_as_utf8(tmp_path, encoding):
    text = (ENVIRONMENTS / "live.yaml").read_text()
    data = text.encode(encoding)
    if encoding.endswith(("-le", "-be")):  # these codecs write no mark: add the one for the encoding
        bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-32-be": codecs.BOM_UTF32_BE}
        data = bom[encoding] + data
    plain = tmp_path / "plain"
    marked = tmp_path / "marked"
    for directory, content in ((plain, text.encode()), (marked, data)):
        directory.mkdir()
        (directory / "live.yaml").write_bytes(content)
    assert (
        gkeml("cost", "live", "--environments", marked, "--format", "json").out
        == gkeml("cost", "live", "--environments", plain, "--format", "json").out
    )


def test_utf16_without_a_mark_is_refused_with_the_line(tmp_path):
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "mini.yaml").write_bytes(MINI.encode("utf-16-le"))
    assert_usage_error(
        gkeml("cost", "mini", "--environments", envs),
        envs / "mini.yaml",
        1,
        "NUL bytes: UTF-16 or UTF-32 without a byte-order mark?",
    )


MERGED = """\
name: mini
tier: dev
project:
  id: fx-mini-ml
  number: "200000000404"
  region: europe-west4
state:
  bucket: fx-mini-tfstate
network: &net
  subnet_cidr: 100.64.0.0/20
  pods_cidr: 100.72.0.0/14
  services_cidr: 100.64.16.0/20
teams:
  - &team {name: alpha, quota: {cpu: "8", memory: 32Gi}}
  - <<: *team
    name: beta
  - {<<: [*team], name: gamma, quota: {cpu: "2", memory: 8Gi}}
"""
WRITTEN_OUT = (
    MERGED.replace("network: &net", "network:")
    .replace(
        """\
  - &team {name: alpha, quota: {cpu: "8", memory: 32Gi}}
  - <<: *team
    name: beta
""",
        """\
  - {name: alpha, quota: {cpu: "8", memory: 32Gi}}
  - {name: beta, quota: {cpu: "8", memory: 32Gi}}
""",
    )
    .replace("{<<: [*team], name: gamma", "{name: gamma")
)


def test_merge_keys_and_anchors_read_as_the_values_written_out(tmp_path):
    from gkeml.environments import load_environment

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "mini.yaml").write_text(MERGED)
    (tmp_path / "b" / "mini.yaml").write_text(WRITTEN_OUT)
    merged, written = load_environment(tmp_path / "a" / "mini.yaml"), load_environment(tmp_path / "b" / "mini.yaml")
    assert [t.model_dump() for t in merged.teams] == [t.model_dump() for t in written.teams]
    assert merged == written


def test_a_merged_key_that_is_wrong_is_reported_at_the_merge(tmp_path):
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "mini.yaml").write_text(MERGED.replace('quota: {cpu: "8", memory: 32Gi}', 'quota: {cpu: "8", mem: 32Gi}'))
    result = gkeml("cost", "mini", "--environments", envs)
    assert result.code == 2
    # beta got the same quota through `<<: *team`: both are reported, at the line the key is written on
    assert f"{envs / 'mini.yaml'}:14: teams[0].quota.mem: unknown key 'mem' (did you mean 'memory'?)" in result.err
    assert f"{envs / 'mini.yaml'}:14: teams[1].quota.mem: unknown key 'mem' (did you mean 'memory'?)" in result.err


def test_merge_keys_in_a_job_spec(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(JOB + "trainer: &t {steps: 10}\nenv: {<<: {A: x}, B: y}\n")
    result = gkeml("job", "render", spec, "--env", "lab", "--environments", ENVIRONMENTS)
    assert result.code == 0, result.err
    assert "name: A\n          value: x" in result.out and "--steps=10" in result.out


def test_synth_of_a_file_with_merge_keys_equals_the_plain_file(tmp_path):
    from gkeml.synth import run

    for name, text in (("merged", MERGED), ("plain", WRITTEN_OUT)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "mini.yaml").write_text(text)
        assert run(str(tmp_path / name), str(tmp_path / f"{name}.out"), "--out", quiet=True) == 0
    for stack in ("mini", "mini-k8s"):
        merged = (tmp_path / "merged.out" / "stacks" / stack / "cdk.tf.json").read_bytes()
        assert merged == (tmp_path / "plain.out" / "stacks" / stack / "cdk.tf.json").read_bytes()


def test_env_new_copies_an_environment_and_bootstrap_saved_as_utf16(tmp_path):
    envs, boots = tmp_path / "environments", tmp_path / "bootstrap"
    envs.mkdir()
    boots.mkdir()
    for f in ENVIRONMENTS.glob("*.yaml"):
        (envs / f.name).write_bytes(f.read_text().encode("utf-16") if f.stem == "mini" else f.read_bytes())
    (boots / "mini.yaml").write_bytes(BOOTSTRAP.encode("utf-16"))
    result = gkeml("env", "new", "qa", "--from", "mini", "--environments", envs, "--bootstrap", boots)
    assert result.code == 0, result.err
    assert "name: qa" in (envs / "qa.yaml").read_text()  # written as UTF-8
    assert "name: qa" in (boots / "qa.yaml").read_text()


@pytest.mark.parametrize(
    ("committed", "code"), [(MINI.encode("utf-16"), 0), (b"name: mini\n\xff\n", 2)], ids=["utf-16", "invalid-utf-8"]
)
def test_cost_against_a_ref_reads_the_committed_file_as_a_file_is_read(tmp_path, committed, code):
    import subprocess

    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "mini.yaml").write_bytes(committed)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "old"], cwd=tmp_path, check=True)
    (envs / "mini.yaml").write_text(MINI)
    result = gkeml("cost", "mini", "--environments", envs, "--against", "HEAD")
    assert result.code == code, result.err
    if code == 2:
        assert result.errors == ["HEAD:mini.yaml:2: not valid UTF-8 text (byte 0xff); save the file as UTF-8"]
    else:
        assert "No cost change" in result.out
