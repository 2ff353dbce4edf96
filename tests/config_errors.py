"""One edit of the fixture environment lab and the error it loads with: the config tests' way to show that a
bad value is refused with its file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ENVIRONMENTS

from gkeml.config import ConfigError
from gkeml.environments import load_environment

DEV = (ENVIRONMENTS / "lab.yaml").read_text()


def error_for(tmp_path: Path, old: str, new: str, name: str = "lab") -> str:
    """Write lab.yaml with one edit; return the error (one line per problem, each 'file:line: ...')."""
    assert old in DEV, old
    path = tmp_path / f"{name}.yaml"
    path.write_text(DEV.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_environment(path)
    message = str(info.value)
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", line) for line in message.splitlines()), message
    return message
