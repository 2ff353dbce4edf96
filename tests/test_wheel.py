"""The release as a team gets it: the wheel and sdist `python -m build` makes hold everything gkeml opens at run
time, and the wheel, installed into a new virtualenv outside this repository, writes a platform repository
(`gkeml init`) that synthesizes (`make synth`), passes `gkeml check` and `make test`, with this source tree
out of reach: not on sys.path, not the current directory.

The build is made once per session with --no-isolation (this virtualenv's pinned setuptools, no download).
The new virtualenv has no pip and reaches the dependencies already installed here through one .pth line: a
directory named in a .pth file is put on sys.path, but the .pth files inside it are not run, so the editable
gkeml of this virtualenv (a .pth and its finder) is not importable there."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, framework

from gkeml import __version__

pytestmark = pytest.mark.slow

PACKAGE = ROOT / "gkeml"
# modules that may read files of a gkeml CHECKOUT beside the package (never needed by an installed gkeml)
CHECKOUT_READERS = {
    "gkeml/docs.py": "regenerates the docs of this repository (make docs)",
    "gkeml/checkov.py": "falls back to the checkout's .venv-checkov after GKEML_CHECKOV and ./.venv-checkov",
    "gkeml/iam/report.py": "regenerates docs/permissions.md of this repository from its environments (make docs)",
    "gkeml/diagram.py": "falls back to the checkout's node_modules after ./node_modules (--format svg)",
}


def package_files() -> dict[str, Path]:
    """Every file the installed package must hold (wheel path -> file here; links are followed)."""
    return {
        f"gkeml/{p.relative_to(PACKAGE).as_posix()}": p
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def source_copy(target: Path) -> Path:
    """The files of this tree git does not ignore, links kept as links: what a fresh clone builds from (a
    build in place would read the file list an earlier build left in gkeml.egg-info)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, copy = ROOT / name, target / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted, not yet committed
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)
    return target


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel of this tree (python -m build; the wheel is built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    tree = source_copy(tmp_path_factory.mktemp("source"))
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_build_uses_the_setuptools_pyproject_pins():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    pinned = [
        line
        for line in (ROOT / "requirements" / "test.txt").read_text().splitlines()
        if line.startswith("setuptools==")
    ]
    assert pinned == requires


def test_the_wheel_holds_every_module_and_data_file_of_the_package_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        info = f"gkeml-{__version__}.dist-info"
        assert {n for n in names if not n.startswith(f"{info}/")} == set(package_files())
        for name, path in package_files().items():
            assert wheel.read(name) == path.read_bytes(), name  # a linked file ships with its content
        metadata = wheel.read(f"{info}/METADATA").decode()
        assert re.search(rf"^Version: {re.escape(__version__)}$", metadata, re.M)
        assert "gkeml = gkeml.cli:main" in wheel.read(f"{info}/entry_points.txt").decode()
    data = [n for n in package_files() if not n.endswith(".py")]
    for needed in ("cost/prices.json", "iam/roles.json", "iam/resources.json", "charts/kueue-queues/Chart.yaml"):
        assert f"gkeml/{needed}" in data
    assert "gkeml/scaffold/files/schema/environment.schema.json" in data


def test_the_sdist_holds_the_package_and_the_release_notes(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "CHANGELOG.md"} <= names
    assert set(package_files()) <= names


def test_nothing_at_run_time_reads_files_outside_the_package():
    """Files are found next to the module that reads them (Path(__file__)...): a path that climbs out of the
    package works in a checkout and fails once installed."""
    climbing = re.compile(
        r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]|Path\(__file__\)(?:\.resolve\(\))?((?:\.parent)+)"
    )
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for match in climbing.finditer(path.read_text()):
            up = int(match[1]) + 1 if match[1] is not None else match[2].count(".parent")
            if not path.parents[up - 1].is_relative_to(PACKAGE):
                found[relative] = path.parents[up - 1]
    assert set(found) == set(CHECKOUT_READERS), found


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}: {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_installed_wheel_writes_a_platform_repository_that_synthesizes_and_passes_its_checks(dist, tmp_path):
    start = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the dependencies installed here (the framework, its providers, pydantic, ...), not the editable gkeml
    dependencies = Path(os.path.realpath(sysconfig.get_path("purelib")))
    Path(site, "_gkeml_dependencies.pth").write_text(f"{dependencies}\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "GKEML_ENVIRONMENTS", "CDKTF_OUTDIR", "VIRTUAL_ENV")
    }
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(dist["wheel"]),
        ],
        tmp_path,
        env,
    )

    workdir = tmp_path / "work"  # neither this repository nor inside it
    workdir.mkdir()
    where = run(
        [python, "-c", "import gkeml, json, sys; print(json.dumps([gkeml.__file__, gkeml.__version__, sys.path]))"],
        workdir,
        env,
    )
    module, version, path = json.loads(where.stdout)
    assert Path(module).is_relative_to(site) and version == __version__
    resolved = [Path(p).resolve() for p in path if p]
    # the source tree is out of reach: nothing of the checkout but the dependencies' site-packages
    # (a clean clone keeps its .venv inside the checkout)
    outside = (Path(site).resolve(), dependencies)
    assert all(not p.is_relative_to(ROOT) and p != ROOT for p in resolved if p not in outside), path
    assert [p for p in resolved if (p / "gkeml" / "__init__.py").exists()] == [Path(site).resolve()]

    cdk = framework()
    run([venv / "bin" / "gkeml", "init", "platform", "--cdk", cdk], workdir, env)
    repository = workdir / "platform"
    assert f"gkeml[{cdk}]=={__version__}" in (repository / "requirements" / "gkeml.txt").read_text()
    # `make install` is satisfied: this virtualenv holds the pinned gkeml (the stamp is newer than the pin)
    stamp = venv / ".stamp"
    stamp.touch()
    os.utime(stamp, (time.time() + 60, time.time() + 60))
    make = ["make", "--no-print-directory", f"VENV={venv}"]
    run([*make, "synth"], repository, env)
    assert sorted(p.name for p in (repository / "cdktf.out" / "stacks").iterdir()) == ["dev", "dev-k8s"]
    checkov = ROOT / ".venv-checkov" / "bin" / "checkov"  # a tool, as the repository's own .venv-checkov would be
    args = ["--format", "json"] if checkov.exists() else ["--no-checkov", "--format", "json"]
    check = run([venv / "bin" / "gkeml", "check", *args], repository, {**env, "GKEML_CHECKOV": str(checkov)})
    report = json.loads(check.stdout)
    # nothing but the example's notice (dev's one-replica service is best-effort on purpose: ENV002)
    assert {f["rule"] for f in report["findings"]} <= {"ENV002"} and report["objects_checked"] > 0
    assert "synthesized by" not in check.stderr  # cdktf.out is this release's
    run([*make, "test"], repository, env)
    print(f"wheel installed, init, make synth, gkeml check, make test: {time.monotonic() - start:.1f}s")
