"""An environment file as it was at a git ref (``gkeml cost ENV --against REF``)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

from gkeml.config import ConfigError, Environment
from gkeml.config.loader import ConfigProblem, decode


def _git(cwd: Path, *args: str, text: bool = True) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=text, check=False)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(cwd), 0, "", "git is not installed; --against needs it")]) from None


def environment_at(env_file: str | Path, ref: str) -> Optional[Environment]:
    """Parse ``env_file`` as committed at ``ref`` with the normal loader; ``None`` when the file
    does not exist at that ref (a new environment). ConfigError for an unknown ref or a bad file."""
    env_file = Path(env_file).resolve()
    where = env_file.parent
    if not where.is_dir():
        raise ConfigError([ConfigProblem(str(where), 0, "", "no such directory")])
    if ref.startswith("-"):
        raise ConfigError([ConfigProblem(ref, 0, "--against", "a git ref cannot start with '-'")])
    inside = _git(where, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        raise ConfigError([ConfigProblem(str(where), 0, "--against", "not inside a git repository")])
    found = _git(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode != 0:
        raise ConfigError([ConfigProblem(str(where), 0, "--against",
                                         f"{ref!r} is not a commit, branch or tag in this git repository")])
    shown = _git(where, "show", f"{ref}:./{env_file.name}", text=False)  # bytes: decoded as a file is
    if shown.returncode != 0:
        return None
    label = f"{ref}:{env_file.name}"
    from gkeml.environments import parse_environment

    return parse_environment(decode(shown.stdout, label), label)
