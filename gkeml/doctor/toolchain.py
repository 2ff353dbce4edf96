"""``gkeml doctor``'s checks of the local toolchain: terraform, node and the project's cdktf CLI, present and new
enough for what the stacks use.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from gkeml import platform
from gkeml.doctor.api import DRIFT, OK, Check

# At least the Terraform every synthesized stack declares (platform.TERRAFORM_MIN_VERSION:
# ephemeral resources and write-only arguments need >= 1.11); jsii 1.142
# (requirements/cdktf.txt) supports Node >= 20. The cdktf CLI must be the version
# package.json pins.
MIN_NODE = (20, 0, 0)
CDKTF_CLI_PACKAGE = "cdktf-cli"
TOOL_TIMEOUT_SECONDS = 60


def _version(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(g) for g in match.groups()) if match else None


def _dotted(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


def _run(argv: list[str], cwd: Path) -> str | None:
    """stdout of a tool, or None when it cannot be run."""
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _tool_row(name: str, need: str, found: tuple[int, ...] | None, ok: bool, advice: str) -> Check:
    live = _dotted(found) if found else "not found"
    return Check("toolchain", name, OK if ok else DRIFT, need, live, "" if ok else advice)


def check_toolchain(root: Path) -> list[Check]:
    """terraform, node and the project's cdktf CLI: present and new enough."""
    rows: list[Check] = []
    terraform = shutil.which("terraform")
    out = _run([terraform, "version", "-json"], root) if terraform else None
    found = None
    if out:
        try:
            found = _version(json.loads(out).get("terraform_version", ""))
        except ValueError:
            found = _version(out)
    need = _min_terraform()
    rows.append(
        _tool_row(
            "terraform",
            f">= {_dotted(need)}",
            found,
            bool(found and found >= need),
            f"install Terraform >= {_dotted(need)} (the stacks use ephemeral resources and write-only arguments)",
        )
    )
    node = shutil.which("node")
    found = _version(_run([node, "--version"], root) or "") if node else None
    rows.append(
        _tool_row(
            "node",
            f">= {_dotted(MIN_NODE)}",
            found,
            bool(found and found >= MIN_NODE),
            f"install Node.js >= {MIN_NODE[0]}",
        )
    )
    pinned = _pinned_cdktf(root)
    cli = root / "node_modules" / ".bin" / "cdktf"
    found = None
    if cli.exists():
        out = _run([str(cli), "--version"], root) or ""
        # The CLI also prints terraform configuration warnings; the version is a line of its own.
        found = next((_version(line) for line in out.splitlines() if re.fullmatch(r"\s*\d+\.\d+\.\d+\s*", line)), None)
    rows.append(
        _tool_row(
            "cdktf CLI",
            f"== {pinned}" if pinned else "installed",
            found,
            bool(found and (pinned is None or _dotted(found) == pinned)),
            "run `make install` (npm ci installs the pinned cdktf CLI into node_modules)",
        )
    )
    return rows


def _min_terraform() -> tuple[int, ...]:
    """The Terraform version the synthesized stacks declare (``terraform.required_version``)."""
    return _version(platform.TERRAFORM_MIN_VERSION) or (0, 0, 0)


def _pinned_cdktf(root: Path) -> str | None:
    try:
        package = json.loads((root / "package.json").read_text())
    except (OSError, ValueError):
        return None
    deps = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return deps.get(CDKTF_CLI_PACKAGE)
