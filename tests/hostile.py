"""Helpers of the hostile-input tests (tests/test_hostile_*.py): run a command as a user does,
and prove that nothing on disk changed.

Commands run in-process through ``gkeml.cli.main`` (every exception other than the exit code
escapes and fails the test: a traceback is a test failure), or in a subprocess where the
process itself matters (a closed pipe, ``python main.py``).
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import ENVIRONMENTS

LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): ")
# How an error not at a line of a file starts (gkeml.exitcodes): "gkeml COMMAND: error: " (or the program
# name of a module run with python -m)
ERROR = re.compile(r"^(gkeml( [a-z][a-z-]*)*|python -m [a-z._]+): error: ")
# the bootstrap file of the fixture environment mini
BOOTSTRAP = """\
name: mini
project: {id: fx-mini-ml, number: "200000000404", region: europe-west4}
state: {bucket: fx-mini-tfstate}
github: {repository: acme/ml-platform, repository_id: 700000001, repository_owner_id: "700000002"}
"""


@dataclass
class Result:
    """Exit code and output of one command."""

    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        return self.err.strip().splitlines()


def gkeml(*args: str | Path) -> Result:
    """``gkeml ARGS`` in this process; an exception escaping the CLI fails the calling test."""
    from gkeml.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


def check_config(envs: Path, tmp_path: Path, *extra: str) -> Result:
    """``gkeml check`` of the environment files in ``envs`` alone: no job specs, no checkov, and no synthesized
    output but a missing one of their own (the repository's ``cdktf.out`` holds other environments)."""
    return gkeml(
        "check",
        "--no-checkov",
        "--environments",
        envs,
        "--jobs",
        tmp_path / "none",
        "--synth-dir",
        tmp_path / "no-output",
        *extra,
    )


def environments(
    tmp_path: Path,
    edits: dict[str, list[tuple[str, str]]] | None = None,
    names: tuple[str, ...] = ("lab", "stage", "live", "mini"),
) -> Path:
    """A copy of the fixture environments in ``tmp_path/environments``, with text edits per file
    (each old text must be there, so an edit cannot silently miss)."""
    directory = tmp_path / "environments"
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = (ENVIRONMENTS / f"{name}.yaml").read_text()
        for old, new in (edits or {}).get(name, []):
            assert old in text, f"{old!r} not in {name}.yaml"
            text = text.replace(old, new, 1)
        (directory / f"{name}.yaml").write_text(text)
    return directory


def previous_output(path: Path) -> Path:
    """A directory that looks like a previous synth (cdktf's manifest and one stack)."""
    (path / "stacks" / "old").mkdir(parents=True)
    (path / "manifest.json").write_text('{"stacks": {"old": {}}, "version": "previous"}')
    (path / "stacks" / "old" / "cdk.tf.json").write_text('{"resource": {}}')
    return path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) under ``root``, by relative path."""
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def assert_usage_error(result: Result, file: Path | str, line: int | None, *fragments: str) -> None:
    """Exit 2, no traceback, and a first error line ``file:line: ...`` (after progress lines) containing
    every fragment; without a line, ``gkeml COMMAND: error: file: ...``."""
    assert result.code == 2, (result.code, result.err, result.out[:500])
    assert "Traceback" not in result.err
    first = next((e for e in result.errors if not e.startswith("gkeml: ")), "")  # after progress lines
    where = f"{file}:{line}: " if line else f"{file}: "
    if not line:
        assert ERROR.match(first), result.err
        first = ERROR.sub("", first)
    assert first.startswith(where), (where, result.err)
    for fragment in fragments:
        assert fragment in first, (fragment, first)


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target
