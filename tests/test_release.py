"""Releases: one version in one place, a changelog entry and upgrade notes per release, the deployed release
recorded where an upgrade does not touch every resource and read back by `gkeml doctor` and `gkeml check`,
and `gkeml init` writing a platform repository pinned to the release (tests/test_wheel.py installs it)."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, framework
from google_apis import by_name, healthy_cluster, run_doctor, serve_dev
from workflow_linters import actionlint, policy, zizmor

from gkeml import __version__
from gkeml.cli import main
from gkeml.release import (
    FIRST_RECORDING_RELEASE,
    RELEASES,
    VERSION_LABEL,
    VERSION_OUTPUT,
    VersionGap,
    anchor,
    from_label,
    label_value,
    notes_url,
    pinned_version,
    releases_between,
    source_version,
)

KEEP_A_CHANGELOG_SECTIONS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")


# --- one version, its changelog entry and its upgrade notes ----------------------------------


def test_the_version_lives_in_one_place_and_gkeml_version_prints_it(capsys):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gkeml.__version__"}
    assert re.findall(r"^__version__ = \"(.+)\"$", (ROOT / "gkeml" / "__init__.py").read_text(), re.M) == [__version__]
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"gkeml {__version__}\n"
    assert RELEASES[-1] == __version__, "a version is a release: add it to gkeml.release.RELEASES"


def test_every_release_has_a_changelog_entry_newest_first():
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    assert [v for v, _ in headings[1:]] == list(reversed(RELEASES))
    assert all(date for _, date in headings[1:]), "a released version has its date"
    for version in ("Unreleased", *RELEASES):
        assert re.search(rf"^\[{re.escape(version)}\]: https://", text, re.M), f"no link for [{version}]"
    entry = text.split(f"## [{__version__}]")[1].split("\n## [")[0]
    sections = re.findall(r"^### (.+)$", entry, re.M)
    assert sections and set(sections) <= set(KEEP_A_CHANGELOG_SECTIONS), sections
    assert all(re.search(rf"^### {s}\n\n- ", entry, re.M) for s in sections), "every section lists changes"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_release_has_a_section_of_upgrade_notes_where_its_url_points():
    text = (ROOT / "docs" / "upgrading.md").read_text()
    versions = [h for h in re.findall(r"^## (.+)$", text, re.M) if re.fullmatch(r"\d+\.\d+\.\d+", h)]
    assert versions == list(reversed(RELEASES))
    for version in RELEASES:
        assert anchor(version) == github_anchor(version)
        assert notes_url(version).endswith(f"/blob/v{version}/docs/upgrading.md#{github_anchor(version)}")


# --- the recorded release, and what a gap between two means ----------------------------------


@pytest.mark.parametrize("version", ["0.2.0", "10.20.300", "1.0.0rc1"])
def test_a_version_is_a_valid_label_value_and_reads_back(version):
    value = label_value(version)
    assert re.fullmatch(r"[a-z0-9_-]{1,63}", value)  # GCP label values: no dots
    assert from_label(value) == version


def test_what_a_gap_between_the_deployed_and_the_running_release_means():
    assert VersionGap("0.2.0", "0.2.0").kind == "same"
    older = VersionGap("0.1.0", "0.2.0")
    assert older.kind == "upgrade" and notes_url("0.2.0") in older.meaning()
    unrecorded = VersionGap(None, "0.2.0")
    assert unrecorded.kind == "upgrade"
    assert f"before {FIRST_RECORDING_RELEASE}" in unrecorded.meaning() and notes_url("0.2.0") in unrecorded.meaning()
    newer = VersionGap("0.3.0", "0.2.0")
    assert newer.kind == "downgrade" and "install gkeml==0.3.0" in newer.meaning()
    assert releases_between("0.1.0", "0.2.0") == releases_between(None, "0.2.0") == ["0.2.0"]
    assert releases_between("0.2.0", "0.2.0") == []


def test_the_pinned_and_the_source_version_are_read():
    assert pinned_version("# pinned\ngkeml[cdktn]==0.2.0\n") == "0.2.0"
    assert pinned_version("gkeml == 0.3.1  # the platform\n") == "0.3.1"
    assert pinned_version("gkeml-extras==1.0.0\ngkeml>=0.2\n") is None
    assert source_version((ROOT / "gkeml" / "__init__.py").read_text()) == __version__
    assert source_version('[project]\nname = "gkeml"\nversion = "0.1.0"\n') == "0.1.0"
    assert source_version('[project]\nname = "our-platform"\nversion = "3.1.0"\n') is None  # a team's own project


def test_every_stack_records_the_release_and_only_the_cluster_carries_its_label(stacks, bootstrap_stacks):
    """One label, on the cluster: a version label on every resource would change all of them at each upgrade."""
    for name, stack in {**stacks, **bootstrap_stacks}.items():
        assert stack["output"][VERSION_OUTPUT]["value"] == __version__, name
        labelled = [
            f"{rtype}.{key}"
            for rtype, items in stack.get("resource", {}).items()
            for key, resource in items.items()
            if VERSION_LABEL in json.dumps({k: v for k, v in resource.items() if "label" in k})
        ]
        for provider in stack.get("provider", {}).get("google", []):
            assert VERSION_LABEL not in provider.get("default_labels", {}), name
        if "google_container_cluster" in stack.get("resource", {}):
            (cluster,) = stack["resource"]["google_container_cluster"].values()
            assert cluster["resource_labels"][VERSION_LABEL] == label_value(__version__)
            assert labelled == [f"google_container_cluster.{next(iter(stack['resource']['google_container_cluster']))}"]
        else:
            assert labelled == [], name


def fake_output(tmp_path: Path, release: str | None) -> Path:
    out = tmp_path / "cdktf.out"
    (out / "stacks" / "lab").mkdir(parents=True)
    stack: dict = {"resource": {}}
    if release is not None:
        stack["output"] = {VERSION_OUTPUT: {"value": release}}
    (out / "stacks" / "lab" / "cdk.tf.json").write_text(json.dumps(stack))
    (out / "manifest.json").write_text(json.dumps({"stacks": {"lab": {}}}))
    return out


@pytest.mark.parametrize(
    "release, says",
    [
        ("0.1.0", "was synthesized by gkeml 0.1.0, this is gkeml"),
        (None, f"by a gkeml before {FIRST_RECORDING_RELEASE}"),
    ],
)
def test_output_of_another_release_is_called_stale(tmp_path, release, says):
    from gkeml.synth import stale_warning

    warning = stale_warning(fake_output(tmp_path, release))
    assert warning and says in warning and "again" in warning


def test_output_of_this_release_is_not_stale(tmp_path):
    from gkeml.synth import stale_warning

    assert stale_warning(fake_output(tmp_path, __version__)) is None


def test_doctor_reads_the_release_from_the_clusters_label(gke):
    """Through the real client and a local GKE API: a cluster deployed before the label existed."""
    unlabelled = healthy_cluster()
    del unlabelled["resourceLabels"][VERSION_LABEL]
    serve_dev(gke, unlabelled)
    code, report, _ = run_doctor("lab", gke)
    row = by_name(report)["deployed by gkeml"]
    assert (code, row["status"], row["expected"]) == (0, "warn", __version__)
    assert f"before {FIRST_RECORDING_RELEASE}" in row["live"] and notes_url(RELEASES[-1]) in row["advice"]


@pytest.mark.parametrize(
    "label, status, says",
    [
        (label_value(__version__), "ok", ""),
        ("0-1-0", "warn", "the next deploy upgrades it; before it, read the upgrade notes of each release in between"),
        ("99-0-0", "drift", "install gkeml==99.0.0 (or newer) to deploy it"),
    ],
)
def test_doctor_says_what_the_deploying_release_means_for_the_next_deploy(label, status, says):
    from gkeml.doctor.cluster import release_row

    row = release_row({"gkeml-env": "lab", VERSION_LABEL: label})
    assert (row.area, row.status, row.live) == ("cluster", status, from_label(label))
    assert says in row.advice and (status == "ok") == (row.advice == "")


# --- gkeml init ------------------------------------------------------------------------------------

REPOSITORY = {
    ".github/dependabot.yml",
    ".github/workflows/deploy-environment.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/diff-environment.yml",
    ".github/workflows/pr.yml",
    ".gitignore",
    "Makefile",
    "README.md",
    "bootstrap/cdktf.json",
    "bootstrap/dev.yaml",
    "bootstrap/main.py",
    "cdktf.json",
    "environments/dev.yaml",
    "extensions/cloudsql/__init__.py",
    "main.py",
    "package.json",
    "requirements/checkov.txt",
    "requirements/gkeml.txt",
    "schema/environment.schema.json",
}


def written(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_init_writes_a_repository_pinned_to_this_release_from_this_repositorys_own_files(tmp_path, capsys):
    target = tmp_path / "platform"
    assert main(["init", str(target)]) == 0
    assert f"wrote {len(REPOSITORY)} files into {target} (gkeml {__version__}, cdktf)" in capsys.readouterr().out
    assert written(target) == REPOSITORY
    # one copy: the example, its bootstrap file, both apps and the schema are this repository's own
    for same in ("bootstrap/dev.yaml", "main.py", "bootstrap/main.py"):
        assert (target / same).read_bytes() == (ROOT / same).read_bytes(), same
    extension = "extensions/cloudsql/__init__.py"  # the example extension, as the team's own module
    assert (target / extension).read_bytes() == (ROOT / "examples" / extension).read_bytes()
    # the example environment less what names this repository's other environments (registry readers), and
    # naming the team's copy of the extension
    example = (ROOT / "environments/dev.yaml").read_text().splitlines()
    written_lines = (target / "environments/dev.yaml").read_text().splitlines()
    assert [line for line in example if line not in written_lines] == [
        line for line in example if "readers:" in line or "promoted by digest" in line or "module: examples." in line
    ]
    assert "  - module: extensions.cloudsql" in "\n".join(written_lines)
    assert not any("readers:" in line for line in written_lines)
    assert (target / "schema/environment.schema.json").read_bytes() == (
        ROOT / "schema/environment.schema.json"
    ).read_bytes()
    assert (target / "requirements/checkov.txt").read_bytes() == (ROOT / "requirements/checkov.txt").read_bytes()
    for workflow in ("pr", "deploy", "deploy-environment", "diff-environment"):
        header, rest = (target / f".github/workflows/{workflow}.yml").read_text().split("\n", 1)
        assert f"gkeml {__version__}" in header and rest == (ROOT / f".github/workflows/{workflow}.yml").read_text()
    pin = [line for line in (target / "requirements/gkeml.txt").read_text().splitlines() if not line.startswith("#")]
    assert pin == [f"gkeml[cdktf]=={__version__}"]
    for app in ("cdktf.json", "bootstrap/cdktf.json"):
        mine, ours = json.loads((target / app).read_text()), json.loads((ROOT / app).read_text())
        assert uuid.UUID(mine.pop("projectId")) and ours.pop("projectId") and mine == ours
    ours = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    tools = ("cdktf-cli", "@viz-js/viz")  # what gkeml drives: cdktf diff/deploy, gkeml diagram --format svg
    assert json.loads((target / "package.json").read_text())["devDependencies"] == {t: ours[t] for t in tools}
    assert "CDK ?= cdktf\n" in (target / "Makefile").read_text()
    assert not [f for f in REPOSITORY if "@GKEML_" in (target / f).read_text()]


def test_init_on_cdk_terrain_pins_the_cdktn_extra_and_each_repository_gets_its_own_project_id(tmp_path):
    assert main(["init", str(tmp_path / "a"), "--cdk", "cdktn"]) == 0
    assert main(["init", str(tmp_path / "b")]) == 0
    assert f"gkeml[cdktn]=={__version__}" in (tmp_path / "a/requirements/gkeml.txt").read_text()
    assert "CDK ?= cdktn\n" in (tmp_path / "a/Makefile").read_text()
    ids = {json.loads((tmp_path / d / "cdktf.json").read_text())["projectId"] for d in ("a", "b")}
    assert len(ids) == 2


def test_init_refuses_a_directory_that_is_not_empty_and_writes_nothing(tmp_path, capsys):
    target = tmp_path / "platform"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["init", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"gkeml init: error: {target}: DIR: is not empty; gkeml init writes a new repository into a new or empty directory "
        "(nothing was written)"
    )
    assert written(target) == {"notes.txt"}
    (tmp_path / "file").write_text("x")
    assert main(["init", str(tmp_path / "file")]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    inode = empty.stat().st_ino
    assert main(["init", str(empty)]) == 0 and written(empty) == REPOSITORY
    assert empty.stat().st_ino == inode  # filled, not replaced: it may be the shell's current directory


def test_init_leaves_nothing_behind_when_a_write_fails(tmp_path, monkeypatch, capsys):
    calls = []
    real = Path.write_text

    def failing(self, *args, **kwargs):
        calls.append(self)
        if len(calls) == 5:
            raise OSError(28, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", failing)
    assert main(["init", str(tmp_path / "platform")]) == 2
    assert "cannot write it: No space left on device" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_written_workflows_pass_the_linters_and_the_install_policy_of_their_own_makefile(tmp_path):
    target = tmp_path / "platform"
    assert main(["init", str(target)]) == 0
    workflows = sorted((target / ".github" / "workflows").glob("*.yml"))
    result = zizmor(target / ".github")
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout
    result = actionlint(*workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    result = policy(*workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    # the policy plans `make install-locked` in THAT repository: an unlocked install there is caught
    makefile = target / "Makefile"
    text = makefile.read_text()
    locked = "$(VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)\n"
    assert text.count(locked) == 1
    makefile.write_text(text.replace(locked, "$(VENV)/bin/pip install -r $(PIN)\n"))
    result = policy(*workflows)
    assert result.returncode == 1
    assert "deploy-environment.yml" in result.stdout and "pip install without --require-hashes" in result.stdout


# --- gkeml check --against REF: the release REF pins against this one -------------------------------


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True, capture_output=True
    )


@pytest.fixture
def platform_repository(tmp_path, monkeypatch) -> Path:
    """A repository written by `gkeml init`, committed, as the current directory."""
    target = tmp_path / "platform"
    assert main(["init", str(target), "--cdk", framework()]) == 0
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "init")
    monkeypatch.chdir(target)
    return target


def pin_and_commit(repository: Path, version: str) -> None:
    pin = repository / "requirements" / "gkeml.txt"
    pin.write_text(re.sub(r"==\S+", f"=={version}", pin.read_text()))
    git(repository, "commit", "-q", "-am", f"gkeml {version}")


def check_against(ref: str, capsys) -> tuple[int, list[dict]]:
    code = main(["check", "--no-checkov", "--format", "json", "--against", ref])
    return code, [f for f in json.loads(capsys.readouterr().out)["findings"] if f["rule"] == "REL001"]


def test_check_against_a_ref_pinning_an_older_release_names_the_upgrade_notes(platform_repository, capsys):
    pin_and_commit(platform_repository, "0.1.0")
    git(platform_repository, "checkout", "-q", "HEAD~1", "--", "requirements/gkeml.txt")  # this change: back to ours
    code, found = check_against("HEAD", capsys)
    assert code == 0, found  # a notice: upgrading is what the change is for
    (notice,) = found
    assert notice["severity"] == "warning"
    assert (
        notice["message"]
        == f"HEAD deploys with gkeml 0.1.0 (requirements/gkeml.txt), this change with gkeml {__version__}"
    )
    assert notes_url(__version__) in notice["fix"]


def test_check_against_a_ref_pinning_a_newer_release_fails(platform_repository, capsys):
    pin_and_commit(platform_repository, "99.0.0")
    code, found = check_against("HEAD", capsys)
    assert code == 1
    (finding,) = found
    assert finding["severity"] == "error" and "install gkeml==99.0.0" in finding["fix"]


def test_check_against_a_ref_pinning_this_release_says_nothing_of_it(platform_repository, capsys):
    code, found = check_against("HEAD", capsys)
    assert (code, found) == (0, [])


def test_the_version_at_a_ref_of_this_repository_is_its_own(tmp_path):
    """In gkeml's own repository there is no pin: REF's gkeml/__init__.py (or, before it, pyproject.toml)."""
    from gkeml.release import version_at

    for name, text in (
        ("gkeml/__init__.py", '__version__ = "0.1.5"\n'),
        ("pyproject.toml", '[project]\nname = "gkeml"\nversion = "0.1.0"\n'),
    ):
        repository = tmp_path / name.replace("/", "-")
        (repository / name).parent.mkdir(parents=True)
        (repository / name).write_text(text)
        git(repository, "init", "-q")
        git(repository, "add", "-A")
        git(repository, "commit", "-q", "-m", "x")
        assert version_at("HEAD", repository) == (source_version(text), name)
    assert version_at("HEAD", tmp_path) is None  # not a repository
