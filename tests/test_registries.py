"""Images across environments: a repository names the other environments whose nodes may pull from
it (``registry.repositories[].readers``) and its environment's deploy grants the read; an environment
that admits or runs an image of another environment's registry without that grant is refused at load
(synth, check, env list) and at ``job render --env``, with the file and field to change.

Each test promotes lab's training images to stage and live in a copy of the fixture environments (lab's
training repository lists both; their allowlists name it), then breaks it. The grant itself is checked
on the shipped environments' synth (tests/test_shipped.py), which promote dev's training images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import BOOTSTRAP, ENVIRONMENTS, ROOT

READERS = "      readers: [stage, live]   # promoted by digest: their nodes pull from here\n"
LAB_TRAINING = "us-central1-docker.pkg.dev/fx-lab-ml/training"
FIXTURE_ALLOWLIST = "allowed_images: [us-central1-docker.pkg.dev/acme-ml-dev/training/**]"


@pytest.fixture
def envs(tmp_path: Path) -> Path:
    """A copy of the fixture environments (and their bootstrap files) where stage and live admit lab's
    training images and lab's training repository lets them pull."""
    shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    shutil.copytree(BOOTSTRAP, tmp_path / "bootstrap")
    directory = tmp_path / "environments"
    edit(
        directory / "lab.yaml", "      images_scanned_per_month: 40\n", "      images_scanned_per_month: 40\n" + READERS
    )
    for name in ("stage", "live"):
        edit(
            directory / f"{name}.yaml",
            FIXTURE_ALLOWLIST,
            f"allowed_images: [{LAB_TRAINING}/**, us-central1-docker.pkg.dev/acme-ml-dev/training/**]",
        )
    return directory


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems(directory: Path) -> list[str]:
    from gkeml.config import ConfigError
    from gkeml.environments import load_environments

    with pytest.raises(ConfigError) as err:
        load_environments(directory)
    return [str(p) for p in err.value.problems]


def line(path: Path, text: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if text in row)


def test_the_promotion_loads(envs):
    from gkeml.config.registries import registries_of
    from gkeml.environments import load_environments

    loaded = {e.name: e for e in load_environments(envs)}
    assert loaded["lab"].registry.repository("training").readers == ["stage", "live"]
    assert registries_of(loaded["stage"]).environment("lab") is loaded["lab"]


# --- refusals at load -------------------------------------------------------------------------


def test_an_allowlist_of_another_environments_registry_needs_its_readers(envs):
    """The audit's N4 on the fixtures: without lab's readers, stage and live admit lab's training images
    their nodes cannot pull."""
    edit(envs / "lab.yaml", READERS, "")
    found = problems(envs)
    assert found == [
        f"{envs / name}.yaml:{line(envs / f'{name}.yaml', 'allowed_images')}: "
        f"cluster.binary_authorization.allowed_images[0]: '{LAB_TRAINING}/**' admits images of lab's repository "
        f"'training', which {name}'s nodes may not pull from (Binary Authorization would admit them, the pull "
        f"would get 403): add {name} to registry.repositories[0].readers in {envs}/lab.yaml"
        for name in ("live", "stage")
    ]


def test_a_wildcard_repository_needs_every_repository_it_admits(envs):
    edit(envs / "stage.yaml", f"{LAB_TRAINING}/**", "us-central1-docker.pkg.dev/fx-lab-ml/**")
    (found,) = problems(envs)
    assert "admits images of lab's repository 'serving', which stage's nodes may not pull" in found
    assert found.endswith(f"add stage to registry.repositories[1].readers in {envs}/lab.yaml")


def test_an_inference_image_of_another_environments_registry_is_refused_with_both_fixes(envs):
    edit(
        envs / "stage.yaml",
        "us-central1-docker.pkg.dev/fx-stage-ml/serving/chat:1.4.2",
        "us-central1-docker.pkg.dev/fx-lab-ml/serving/chat:1.4.2",
    )
    edit(
        envs / "stage.yaml",
        f"{LAB_TRAINING}/**,",
        f"{LAB_TRAINING}/**, us-central1-docker.pkg.dev/fx-lab-ml/serving/**,",
    )
    admitted, found = problems(envs)
    assert "allowed_images[1]: 'us-central1-docker.pkg.dev/fx-lab-ml/serving/**' admits images of lab's" in admitted
    assert found == (
        f"{envs}/stage.yaml:{line(envs / 'stage.yaml', 'fx-lab-ml/serving/chat')}: inference[0].image: "
        "'us-central1-docker.pkg.dev/fx-lab-ml/serving/chat:1.4.2' is in lab's Artifact Registry, which stage's "
        f"nodes may not pull from: add stage to registry.repositories[1].readers in {envs}/lab.yaml (lab's deploy "
        "grants the read), or push the image to stage's own registry "
        "(us-central1-docker.pkg.dev/fx-stage-ml/serving/chat:1.4.2)"
    )


@pytest.mark.parametrize(
    ("readers", "message"),
    [
        (
            "[stage, live, qa]",
            "registry.repositories[0].readers[2]: unknown environment 'qa' (its project is needed "
            "for the grant); defined: lab, live, mini, stage",
        ),
        (
            "[stage, live, lab]",
            "registry.repositories[0].readers[2]: 'lab' is this environment: its own nodes may pull already; remove it",
        ),
        (
            "[stage, live, stage]",
            "registry.repositories[0].readers[2]: 'stage' is listed twice "
            "(also at registry.repositories[0].readers[0]); remove one",
        ),
    ],
)
def test_readers_name_other_environments_once(envs, readers, message):
    edit(envs / "lab.yaml", "readers: [stage, live]", f"readers: {readers}")
    (found,) = problems(envs)
    assert found == f"{envs}/lab.yaml:{line(envs / 'lab.yaml', 'readers:')}: {message}"


def test_a_registry_of_no_environment_is_the_users_to_grant(envs):
    """A central image project (acme-ml-dev, which stage and live admit too) is not an environment here:
    nothing to check, as before. Without lab's readers, only lab's repository is refused."""
    from gkeml.environments import load_environments

    edit(envs / "lab.yaml", READERS, "")
    for name in ("stage", "live"):
        edit(envs / f"{name}.yaml", f"{LAB_TRAINING}/**, ", "")
    assert {e.name for e in load_environments(envs)} == {"lab", "live", "mini", "stage"}


# --- job specs ---------------------------------------------------------------------------------

JOB = f"""\
name: tune
team: research
image: {LAB_TRAINING}/trainer:1.0.0
gpu: nvidia-l4
gpu_count: 1
cpu: "4"
memory: 16Gi
"""


def test_job_render_refuses_an_image_the_environments_nodes_cannot_pull(envs, tmp_path, capsys):
    """The journey's step 5(a): `job render --env qa` kept dev's image, which qa's nodes cannot pull."""
    from gkeml.cli import main

    spec = tmp_path / "tune.yaml"
    spec.write_text(JOB)
    assert main(["job", "render", str(spec), "--env", "live", "--environments", str(envs)]) == 0
    capsys.readouterr()
    edit(envs / "lab.yaml", "readers: [stage, live]", "readers: [stage]")
    assert main(["job", "render", str(spec), "--env", "live", "--environments", str(envs)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{spec}:3: image: '{LAB_TRAINING}/trainer:1.0.0' is in lab's Artifact Registry, which live's nodes may "
        f"not pull from: add live to registry.repositories[0].readers in {envs}/lab.yaml (lab's deploy grants the "
        "read), or push the image to live's own registry (us-central1-docker.pkg.dev/fx-live-ml/training/trainer:1.0.0)"
    ]


def test_job_render_knows_the_registries_even_when_a_sibling_file_is_broken(envs, tmp_path, capsys):
    from gkeml.cli import main

    (envs / "stage.yaml").write_text("name: stage\n")
    edit(envs / "lab.yaml", "readers: [stage, live]", "readers: [stage]")
    spec = tmp_path / "tune.yaml"
    spec.write_text(JOB)
    assert main(["job", "render", str(spec), "--env", "live", "--environments", str(envs)]) == 2
    assert "add live to registry.repositories[0].readers" in capsys.readouterr().err


# --- env new ----------------------------------------------------------------------------------


def test_env_new_says_which_readers_list_the_copy_needs(envs, capsys, monkeypatch):
    from gkeml.cli import main

    monkeypatch.chdir(envs.parent)
    assert main(["env", "new", "qa", "--from", "live"]) == 0
    out = capsys.readouterr().out.splitlines()
    qa = Path("environments") / "qa.yaml"
    assert (
        f"{qa}:{line(envs / 'qa.yaml', 'allowed_images')}: cluster.binary_authorization.allowed_images[0]: "
        f"'{LAB_TRAINING}/**' admits images of lab's repository 'training', which qa's nodes may not pull from "
        f"(Binary Authorization would admit them, the pull would get 403): add qa to "
        f"registry.repositories[0].readers in environments/lab.yaml"
    ) in out


def test_the_shipped_environments_promote_devs_training_images_consistently():
    """prod and staging admit dev's training images; dev's training repository lets them pull."""
    from gkeml.environments import load_environments

    envs = {e.name: e for e in load_environments(ROOT / "environments")}
    training = envs["dev"].registry.repository("training")
    for name in ("staging", "prod"):
        assert any("acme-ml-dev/training" in p for p in envs[name].cluster.binary_authorization.allowed_images)
        assert name in training.readers
