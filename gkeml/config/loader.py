"""Load environment files, reporting every mistake as ``file:line: field: what to do``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from gkeml.config.model import PATTERN_HELP, Environment, Problem, cross_checks

M = TypeVar("M", bound=BaseModel)


class ConfigError(Exception):
    """One or more problems in a config file; ``str()`` gives one line per problem."""

    def __init__(self, problems: list["ConfigProblem"]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigProblem:
    """A single problem: the file, the 1-based line, the dotted field and the message."""

    def __init__(self, file: str, line: int, field: str, message: str):
        self.file, self.line, self.field, self.message = file, line, field, message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({str(self)!r})"


def _plain(node: Any, path: tuple, lines: dict[tuple, int]) -> Any:
    """ruamel nodes -> plain Python, recording the line of every key and list item."""
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            line = node.lc.key(key)[0] + 1
            lines[path + (key,)] = line
            out[key] = _plain(value, path + (key,), lines)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, value in enumerate(node):
            lines[path + (i,)] = node.lc.item(i)[0] + 1
            out_list.append(_plain(value, path + (i,), lines))
        return out_list
    if isinstance(node, str):
        return str(node)
    return node


def _field(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(path: tuple, lines: dict[tuple, int]) -> int:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


def _allowed_keys(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at ``path`` (for 'unknown key' messages)."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if isinstance(current, type) and issubclass(current, BaseModel) else None
        if info is None:
            return []
        current = _model_in(info.annotation)
        if current is None:
            return []
    return list(current.model_fields) if current else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found:
            return found
    return None


def _message(err: dict, model: type[BaseModel]) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key {loc[-1]!r}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required; add it"
    if kind == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        return f"{err['input']!r} is not allowed; use {PATTERN_HELP.get(pattern, 'a value matching ' + pattern)}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if kind.endswith("_type") or kind in ("literal_error", "bool_parsing", "int_parsing"):
        msg = f"{msg} (got {err['input']!r})"
    return msg


def _strip_union(loc: tuple) -> tuple:
    # pydantic puts validator/union names like 'function-after[...]' or 'str' in loc; drop them
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and p not in ("str", "int", "float")))


def parse(text: str, file: str, model: type[M], checks: Callable[[M], list[Problem]] | None = None) -> M:
    """Parse YAML ``text`` into ``model``; raise ConfigError naming file, line and field."""
    try:
        raw = YAML(typ="rt").load(io.StringIO(text))
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {exc.problem}")]) from None
    except YAMLError as exc:  # e.g. a control character the reader refuses
        line = text.count("\n", 0, getattr(exc, "position", 0)) + 1
        reason = " ".join(str(exc).split())
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {reason}")]) from None
    lines: dict[tuple, int] = {}
    data = _plain(raw, (), lines)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(file, 1, "", f"expected a mapping at the top, got {type(data).__name__}")])
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = _strip_union(tuple(err["loc"]))
            message = _message(err, model)
            if message.startswith("@"):  # a model-level check naming its field (model.at)
                field, message = message[1:].split(": ", 1)
                loc += (field,)
            problems.append(ConfigProblem(file, _line(loc, lines), _field(loc), message))
        raise ConfigError(problems) from None
    if checks:
        found = checks(obj)
        if found:
            raise ConfigError([ConfigProblem(file, _line(p, lines), _field(p), m) for p, m in found])
    return obj


def load_environment(path: str | Path) -> Environment:
    """Load and check one environment file; its ``name`` must match the file name."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(path), 0, "", f"cannot read: {exc.strerror}")]) from None
    env = parse(text, str(path), Environment, cross_checks)
    if env.name != path.stem:
        raw_lines = text.splitlines()
        line = next((i + 1 for i, t in enumerate(raw_lines) if t.startswith("name:")), 1)
        raise ConfigError([ConfigProblem(str(path), line, "name", f"{env.name!r} must equal the file name {path.stem!r}")])
    return env


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
    """Load every ``*.yaml`` in ``directory`` (sorted); all problems of all files are reported."""
    problems: list[ConfigProblem] = []
    envs = []
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
