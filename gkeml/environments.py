"""Load and check environment files: the config model's own checks plus the checks of the
names derived from it (:mod:`gkeml.naming`). Every command that takes environments loads them
here, so a file is judged the same way everywhere."""

from __future__ import annotations

from pathlib import Path

from gkeml.config import ConfigError, ConfigProblem, Environment, parse
from gkeml.config.checks import model_problems, reference_problems
from gkeml.config.loader import load_config_file
from gkeml.naming import name_problems


def _checks(env: Environment) -> list:
    return model_problems(env) + name_problems(env)


def parse_environment(text: str, label: str) -> Environment:
    """An environment from YAML text (``label`` names it in errors, e.g. ``REF:dev.yaml``)."""
    return parse(text, label, Environment, _checks, reference_problems)


def load_environment(path: str | Path) -> Environment:
    """Load and check one environment file; its ``name`` must match the file name."""
    return load_config_file(path, Environment, _checks, reference_problems, name_matches_file=True)


def environment_file(directory: str | Path, name: str, field: str = "ENV") -> Path:
    """``<directory>/<name>.yaml``; a ConfigError naming the defined environments when missing."""
    path = Path(directory) / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(directory).glob("*.yaml"))
        raise ConfigError([ConfigProblem(str(directory), 0, field,
                                         f"no environment {name!r}; defined: {', '.join(known) or 'none'}")])
    return path


def load_named_environment(directory: str | Path, name: str, field: str = "ENV") -> Environment:
    """Load the environment called ``name`` from ``directory`` (for commands taking ENV)."""
    return load_environment(environment_file(directory, name, field))


def load_environments(directory: str | Path) -> list[Environment]:
    """Every ``*.yaml`` in ``directory`` (sorted); all problems of all files are reported."""
    problems: list[ConfigProblem] = []
    envs = []
    if not Path(directory).is_dir():
        raise ConfigError([ConfigProblem(str(directory), 0, "", "no such directory")])
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigError([ConfigProblem(str(directory), 0, "", "no environment files (*.yaml) found")])
    for f in files:
        try:
            envs.append(load_environment(f))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return envs
