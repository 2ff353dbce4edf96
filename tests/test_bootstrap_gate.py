"""The bootstrap's roles are part of the pull-request gate: `make synth` (``python main.py``) and
`gkeml check` refuse an environment whose stacks grant a role its bootstrap file does not let the
deploy identity grant, with one line naming the bootstrap file and line, the missing role and the
command to run. An environment without a bootstrap file is not refused: CI leaves it out with a
warning, as `gkeml env list` does.

Every case stops at the configuration check (no synthesis), so these tests are cheap."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import BOOTSTRAP, ENVIRONMENTS

# the fixture's trainer identity, granted one more project role (what an HPA on an external metric
# does through the metrics adapter: roles/monitoring.viewer)
TRAINER_ROLES = "roles: [roles/logging.logWriter, roles/monitoring.metricWriter]"
WITH_VIEWER = "roles: [roles/logging.logWriter, roles/monitoring.metricWriter, roles/monitoring.viewer]"


@pytest.fixture
def platform_repo(tmp_path: Path) -> Path:
    """A platform repository with the fixture environment lab and its bootstrap file, lab granting
    roles/monitoring.viewer its bootstrap does not list."""
    (tmp_path / "environments").mkdir()
    text = (ENVIRONMENTS / "lab.yaml").read_text()
    assert TRAINER_ROLES in text
    (tmp_path / "environments" / "lab.yaml").write_text(text.replace(TRAINER_ROLES, WITH_VIEWER))
    (tmp_path / "bootstrap").mkdir()
    shutil.copy(BOOTSTRAP / "lab.yaml", tmp_path / "bootstrap" / "lab.yaml")
    return tmp_path


def gap_line(repo: Path) -> str:
    bootstrap = repo / "bootstrap" / "lab.yaml"
    return (
        f"{bootstrap}:1: ci.grantable_roles: missing roles/monitoring.viewer (granted by the stacks of "
        "environments/lab.yaml; the deploy identity may grant only the roles listed here); add them and run "
        "`make bootstrap-deploy ENV=lab` before the deploy that needs it"
    )


def test_synth_refuses_a_role_the_bootstrap_has_not_granted_and_keeps_the_output(platform_repo, capsys):
    from gkeml.synth import run

    out = platform_repo / "cdktf.out"
    out.mkdir()
    (out / "manifest.json").write_text('{"stacks": {}}')
    assert run(str(platform_repo / "environments"), str(out), "CDKTF_OUTDIR", quiet=True) == 2
    assert capsys.readouterr().err.splitlines() == [gap_line(platform_repo)]
    assert (out / "manifest.json").read_text() == '{"stacks": {}}'


def test_the_line_of_an_explicit_list_is_named(platform_repo, capsys):
    from gkeml.synth import run

    bootstrap = platform_repo / "bootstrap" / "lab.yaml"
    bootstrap.write_text(
        bootstrap.read_text() + "ci:\n  grantable_roles:\n    - roles/container.defaultNodeServiceAccount\n"
        "    - roles/logging.logWriter\n    - roles/monitoring.metricWriter\n"
    )
    line = len(bootstrap.read_text().splitlines()) - 3  # the grantable_roles key
    assert run(str(platform_repo / "environments"), str(platform_repo / "out"), "CDKTF_OUTDIR", quiet=True) == 2
    assert capsys.readouterr().err.splitlines() == [gap_line(platform_repo).replace(":1:", f":{line}:")]


def test_gkeml_check_refuses_it_too(platform_repo, capsys, monkeypatch):
    from gkeml.cli import main

    monkeypatch.chdir(platform_repo)
    assert main(["check", "--no-checkov", "--jobs", str(platform_repo / "none")]) == 2
    assert capsys.readouterr().err.splitlines() == [gap_line(platform_repo).replace(f"{platform_repo}/", "")]


def test_an_environment_without_a_bootstrap_file_is_synthesized_with_a_warning(platform_repo, capsys, monkeypatch):
    """The user's repository may hold an environment not yet bootstrapped: it waits outside CI's lists,
    and synth says so instead of refusing (the synthesis itself is left out here: it is not the point)."""
    import gkeml.synth as synth_module

    synthesized = []

    def build_app(envs, *args, **kwargs):
        synthesized.extend(envs)
        return SimpleNamespace(synth=lambda: None)

    monkeypatch.setattr(synth_module, "build_app", build_app)
    (platform_repo / "bootstrap" / "lab.yaml").unlink()
    assert synth_module.run(str(platform_repo / "environments"), str(platform_repo / "out"), "X", quiet=True) == 0
    assert [e.name for e in synthesized] == ["lab"]
    assert capsys.readouterr().err.splitlines() == [
        f"gkeml: warning: lab: no {platform_repo}/bootstrap/lab.yaml yet, so CI neither plans nor deploys it; "
        "write it (`gkeml env new` writes both files) and run `make bootstrap-deploy ENV=lab`"
    ]


def test_a_repository_without_bootstrap_files_is_not_checked_against_them(platform_repo, capsys, monkeypatch):
    """Projects bootstrapped some other way (no bootstrap/ beside environments/): nothing to compare."""
    import gkeml.synth as synth_module

    monkeypatch.setattr(synth_module, "build_app", lambda *args, **kwargs: SimpleNamespace(synth=lambda: None))
    shutil.rmtree(platform_repo / "bootstrap")
    assert synth_module.run(str(platform_repo / "environments"), str(platform_repo / "out"), "X", quiet=True) == 0
    assert capsys.readouterr().err == ""
    named = str(platform_repo / "bootstrap")
    assert synth_module.run(str(platform_repo / "environments"), "out", "X", quiet=True, bootstrap=named) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"gkeml synth: error: {named}: no such directory of bootstrap files"
    ]


def test_a_bootstrap_directory_can_be_named(platform_repo, capsys):
    from gkeml.synth import run

    elsewhere = platform_repo / "ops" / "boot"
    elsewhere.parent.mkdir()
    (platform_repo / "bootstrap").rename(elsewhere)
    assert (
        run(str(platform_repo / "environments"), str(platform_repo / "o"), "X", quiet=True, bootstrap=str(elsewhere))
        == 2
    )
    assert capsys.readouterr().err.splitlines() == [
        gap_line(platform_repo).replace(f"{platform_repo}/bootstrap/", f"{elsewhere}/")
    ]


# --- a classic identity whose Google service account the bootstrap does not create yet -------------------

TRAINER = "  - name: trainer\n    namespace: research\n"


@pytest.fixture
def new_classic_identity(tmp_path: Path) -> Path:
    """A platform repository whose lab environment turns its trainer identity to classic mode: its Google
    service account lab-trainer is one more the bootstrap stack must create first (the deploy identity
    cannot create service accounts)."""
    (tmp_path / "environments").mkdir()
    text = (ENVIRONMENTS / "lab.yaml").read_text()
    assert TRAINER in text
    (tmp_path / "environments" / "lab.yaml").write_text(text.replace(TRAINER, TRAINER + "    mode: classic\n"))
    (tmp_path / "bootstrap").mkdir()
    shutil.copy(BOOTSTRAP / "lab.yaml", tmp_path / "bootstrap" / "lab.yaml")
    return tmp_path


def classic_gap(repo: Path) -> str:
    bootstrap = repo / "bootstrap" / "lab.yaml"
    line = bootstrap.read_text().splitlines().index("classic_identities: [launch-agent]") + 1
    return (
        f"{bootstrap}:{line}: classic_identities: missing trainer (classic-mode identities of "
        "environments/lab.yaml: their Google service accounts lab-trainer are created here, the deploy identity "
        "cannot create one); add them and run `make bootstrap-deploy ENV=lab` before the deploy that needs it"
    )


def test_synth_and_check_refuse_a_classic_identity_the_bootstrap_creates_no_account_for(
    new_classic_identity, capsys, monkeypatch
):
    from gkeml.cli import main
    from gkeml.synth import run

    repo = new_classic_identity
    assert run(str(repo / "environments"), str(repo / "out"), "CDKTF_OUTDIR", quiet=True) == 2
    assert capsys.readouterr().err.splitlines() == [classic_gap(repo)]
    assert not (repo / "out").exists()
    monkeypatch.chdir(repo)
    assert main(["check", "--no-checkov", "--jobs", str(repo / "none")]) == 2
    assert capsys.readouterr().err.splitlines() == [classic_gap(repo).replace(f"{repo}/", "")]


def test_listing_the_identity_in_the_bootstrap_file_clears_the_gate(new_classic_identity, capsys, monkeypatch):
    import gkeml.synth as synth_module

    monkeypatch.setattr(synth_module, "build_app", lambda *args, **kwargs: SimpleNamespace(synth=lambda: None))
    bootstrap = new_classic_identity / "bootstrap" / "lab.yaml"
    bootstrap.write_text(bootstrap.read_text().replace("[launch-agent]", "[launch-agent, trainer]"))
    environments = str(new_classic_identity / "environments")
    assert synth_module.run(environments, str(new_classic_identity / "out"), "X", quiet=True) == 0
    assert capsys.readouterr().err == ""
