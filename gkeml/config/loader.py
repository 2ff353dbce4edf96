"""Read YAML config files into typed models, reporting every mistake as ``file:line: field: what to do``.

One reader serves every YAML file gkeml takes (environments, bootstrap files, job specs,
price tables, and the Kubernetes manifests ``gkeml check`` reads): it reads at most the
bytes its :class:`Limits` allow from a regular file (a FIFO, a device such as /dev/zero or a
process substitution is refused before it is read: it has no size to check and may never
end), decodes them (UTF-8, or UTF-8/16/32 with a byte-order mark), and refuses a document
larger, deeper or more alias-expanded than its :class:`Limits` allow BEFORE anything is
built from it: the parser's events are counted first, with the expanded size of every
anchor, so a "billion laughs" file is refused after reading its few lines (docs/speed.md
has the figures). A command reads within one :func:`read_budget` as well: the bytes and
values of ALL the files it reads with the same limits together are bounded, so naming a
large file many times costs no more than the budget. YAML merge keys are resolved, and every key and list item
is mapped to its line. Validation errors of the model, and the checks a caller adds, are
reported together, all at once, with a "did you mean" where a close spelling exists.
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml as pyyaml
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from gkeml.config.base import PATTERN_HELP, Problem, one_line
from gkeml.exitcodes import CommandError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Limits:
    """Bounds on what a YAML file may make the reader do, and on what all the files a command reads
    with the same limits may add up to (``max_total_*``, within one :func:`read_budget`)."""

    max_bytes: int = 1024 * 1024  # the largest shipped config file is ~12 KiB (the price table)
    max_depth: int = 64  # nesting of mappings and lists, aliases expanded
    max_values: int = 100_000  # scalars, mappings and lists after alias expansion
    max_total_bytes: int = 4 * 1024 * 1024  # a thousand environments of 4 KiB
    max_total_values: int = 400_000


LIMITS = Limits()
# A plain scalar that is an integer of more digits than this is refused while reading: no setting
# takes one, and Python refuses to convert integers of more than 4,300 digits (int_max_str_digits).
MAX_INTEGER_DIGITS = 100
_INTEGER = re.compile(r"[-+]?(?:0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_:]*)")
# Kubernetes manifests (``gkeml check FILE``): bundles of CRDs run to megabytes and their
# OpenAPI schemas nest deeply, so the bounds are wider; alias expansion is still bounded. All the
# manifests of one command together may hold what one may: a file named twenty times costs no more.
MANIFEST_LIMITS = Limits(
    max_bytes=16 * 1024 * 1024,
    max_depth=128,
    max_values=2_000_000,
    max_total_bytes=16 * 1024 * 1024,
    max_total_values=2_000_000,
)
# Standard input where a command takes it (``gkeml check -``), and its name in messages.
STDIN, STDIN_NAME = "-", "<stdin>"


class ConfigError(CommandError):
    """One or more problems in a config file; ``str()`` gives one line per problem. A command ends
    with exit code 2; each problem at a line of a file is printed ``file:line: field: message`` (what
    editors read), any other ``gkeml COMMAND: error: ...`` (:class:`gkeml.exitcodes.CommandError`)."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def lines(self, command: str) -> list[str]:
        return [str(p) if p.line else f"{command}: error: {p}" for p in self.problems]

    def to_dict(self, command: str) -> dict[str, Any]:
        return {
            **super().to_dict(command),
            "problems": [
                {"file": p.file, "line": p.line or None, "field": p.field or None, "message": p.message}
                for p in self.problems
            ],
        }


class ConfigProblem:
    """A single problem: the file, the 1-based line (0: no line), the dotted field and the message."""

    def __init__(self, file: str, line: int, field: str, message: str):
        # one line per problem, whatever a value quoted in the message holds (a name with a newline)
        self.file, self.line, self.field, self.message = file, line, field, one_line(message)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigProblem({str(self)!r})"


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _too_big(size: int | None, file: str, max_bytes: int) -> ConfigError:
    """``size`` None: only known to be larger (a file that grew while it was read, standard input)."""
    what = f"{size:,} bytes is larger" if size is not None else "is larger"
    return ConfigError(
        [
            ConfigProblem(
                file, 0, "", f"{what} than the {max_bytes:,} bytes such a file may have; is this the right file?"
            )
        ]
    )


def decode(data: bytes, file: str, limits: Limits = LIMITS) -> str:
    """Text of a YAML file: UTF-8, or UTF-8/16/32 with a byte-order mark; ConfigError otherwise."""
    if len(data) > limits.max_bytes:
        raise _too_big(len(data), file, limits.max_bytes)
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in data:  # valid UTF-8, but no YAML file has NUL characters
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    "not UTF-8 text (NUL bytes: UTF-16 or UTF-32 without a byte-order mark?); save the file as UTF-8",
                )
            ]
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    f"not valid {encoding.upper()} text (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
                )
            ]
        ) from None


# --- bounded reading ---------------------------------------------------------------------

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a pipe (a FIFO or a process substitution such as <(...))"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int, file: str, hint: str) -> ConfigError:
    kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
    return ConfigError(
        [ConfigProblem(file, 0, "", f"is {kind}, not a regular file; {hint or 'save its content to a file first'}")]
    )


def read_bounded(path: str | Path, limits: Limits, hint: str = "") -> bytes:
    """The bytes of the regular file at ``path``, at most ``limits.max_bytes`` of them (a larger file
    is a ConfigError, whatever its size said when it was opened). Anything but a regular file (a FIFO,
    which may have no writer and block forever; /dev/zero, which never ends; a directory) is
    refused before a byte is read, with ``hint`` as the fix. Every read is charged to the
    :func:`read_budget` of the command (``limits.max_total_bytes``)."""
    file, max_bytes = str(path), limits.max_bytes

    def cannot(exc: OSError | ValueError) -> ConfigError:  # ValueError: a NUL byte in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ConfigError([ConfigProblem(file, 0, "", f"cannot read: {reason}")])

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        raise cannot(exc) from None
    if not stat.S_ISREG(mode):
        raise _not_regular(mode, file, hint)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: a FIFO swapped in after the stat cannot block the open
    except (OSError, ValueError) as exc:
        raise cannot(exc) from None
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())  # what was opened, not what was looked at
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(opened.st_mode, file, hint)
        if opened.st_size > max_bytes:  # refused before it is read into memory
            raise _too_big(opened.st_size, file, max_bytes)
        _charge_bytes(opened.st_size, file, limits, dry_run=True)  # the command's total too, before reading
        try:
            data = handle.read(max_bytes + 1)  # it may have grown since
        except OSError as exc:
            raise cannot(exc) from None
    if len(data) > max_bytes:
        raise _too_big(None, file, max_bytes)
    _charge_bytes(len(data), file, limits)
    return data


def read_stdin(limits: Limits) -> bytes:
    """At most ``limits.max_bytes`` of standard input (ConfigError beyond), charged to the read budget."""
    data = sys.stdin.buffer.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise _too_big(None, STDIN_NAME, limits.max_bytes)
    _charge_bytes(len(data), STDIN_NAME, limits)
    return data


@dataclass
class ReadBudget:
    """What one command has read so far: bytes, and values after alias expansion, per :class:`Limits`."""

    spent: dict[Limits, list[int]] = field(default_factory=dict)  # limits -> [bytes, values]

    def of(self, limits: Limits) -> list[int]:
        return self.spent.setdefault(limits, [0, 0])


_BUDGET: ContextVar[ReadBudget | None] = ContextVar("gkeml_read_budget", default=None)


@contextlib.contextmanager
def read_budget() -> Iterator[ReadBudget]:
    """Bound what the files read inside the block add up to: all the files read with one
    :class:`Limits` together at most its ``max_total_bytes`` and ``max_total_values``. Every command
    line entry point runs in one budget."""
    budget = ReadBudget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _charge_bytes(count: int, file: str, limits: Limits, dry_run: bool = False) -> None:
    """Add ``count`` bytes read from ``file`` to the command's budget (``dry_run``: only check that
    they would fit); ConfigError when the files read with ``limits`` would then be beyond its total."""
    budget = _BUDGET.get()
    if budget is None:
        return
    spent = budget.of(limits)
    if dry_run:
        if spent[0] + count > limits.max_total_bytes:
            raise _beyond_total(file, limits)
        return
    spent[0] += count
    if spent[0] > limits.max_total_bytes:
        raise _beyond_total(file, limits)


def _beyond_total(file: str, limits: Limits) -> ConfigError:
    return ConfigError(
        [
            ConfigProblem(
                file,
                0,
                "",
                f"with the files read before it, more than the {limits.max_total_bytes:,} bytes one command "
                "reads of such files; name fewer or smaller files",
            )
        ]
    )


# What an environment (or stack) name given on the command line may be: the names' own pattern
# (gkeml.config.base.DNS_LABEL), so that `--env ../x` or a name ending in a newline names no file
# outside the directory.
_FILE_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def named_file(directory: str | Path, name: str, field: str) -> Path:
    """``directory/name.yaml`` for an environment (or bootstrap) name given as ``field``; ConfigError
    when ``name`` is not a name (a path such as ../x, or a name with a newline)."""
    if not _FILE_NAME.fullmatch(name):
        raise ConfigError(
            [
                ConfigProblem(
                    str(directory),
                    0,
                    field,
                    f"{name!r} is not an environment name (lowercase letters, digits and '-', starting with a "
                    "letter; no paths)",
                )
            ]
        )
    return Path(directory) / f"{name}.yaml"


def read_config_text(path: str | Path, limits: Limits = LIMITS, hint: str = "") -> str:
    """Decoded text of a YAML file (``-``: standard input); ConfigError naming the file when it cannot
    be read, is not a regular file (``hint``: the fix), or is larger than ``limits`` allow."""
    if str(path) == STDIN:
        return decode(read_stdin(limits), STDIN_NAME, limits)
    return decode(read_bounded(path, limits, hint), str(path), limits)


class _Beyond(Exception):
    """The document goes beyond its :class:`Limits` (raised while reading the parser's events)."""

    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


def _check_bounds(events: Iterable[Any], limits: Limits) -> None:
    """Count the values and nesting of a YAML event stream, aliases expanded, without building
    anything: an alias adds the expanded size and height its anchor had. Raises :class:`_Beyond`
    at the first event past ``limits`` (or past what the :func:`read_budget` has left). Works on
    the events of ruamel.yaml and PyYAML alike."""
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (values, height) of the node it names
    open_: list[list] = []  # per open mapping/list: [values inside it, height of its content, anchor]
    budget = _BUDGET.get()
    spent = budget.of(limits) if budget is not None else [0, 0]
    left = limits.max_total_values - spent[1]
    total = 0

    def node(values: int, height: int, line: int) -> None:
        """A complete node of ``values`` values and ``height`` levels inside the innermost open one."""
        nonlocal total
        total += values
        if total > left and total <= limits.max_values:
            raise _Beyond(
                line,
                f"with the files read before it, more than the {limits.max_total_values:,} values one command "
                "reads of such files; name fewer or smaller files",
            )
        if total > limits.max_values:
            raise _Beyond(
                line,
                f"the document expands to more than {limits.max_values:,} values (YAML aliases "
                "repeating anchors?); write the values out or shorten the file",
            )
        if len(open_) + height > limits.max_depth:
            raise _Beyond(line, f"nested deeper than {limits.max_depth} levels")
        if open_:
            open_[-1][0] += values
            open_[-1][1] = max(open_[-1][1], height)

    for event in events:
        kind = type(event).__name__
        line = event.start_mark.line + 1 if getattr(event, "start_mark", None) else 0
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            node(1, 0, line)  # the mapping or list itself
            open_.append([0, 0, event.anchor])
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            values, height, anchor = open_.pop()
            if anchor is not None:
                anchors[str(anchor)] = (values + 1, height + 1)
            if open_:  # its content was counted in total as it came; its height is known now
                open_[-1][0] += values
                open_[-1][1] = max(open_[-1][1], height + 1)
        elif kind == "ScalarEvent":
            value = event.value
            if len(value) > MAX_INTEGER_DIGITS and not event.style and _INTEGER.fullmatch(value):
                raise _Beyond(line, f"a number of {len(value):,} digits; no setting takes a number that large")
            if event.anchor is not None:
                anchors[str(event.anchor)] = (1, 0)
            node(1, 0, line)
        elif kind == "AliasEvent":
            name = str(event.anchor)
            if any(frame[2] is not None and str(frame[2]) == name for frame in open_):
                raise _Beyond(line, f"alias *{name} refers to a mapping or list that contains it (a loop)")
            values, height = anchors.get(name, (1, 0))  # an undefined alias: the parser reports it
            node(values, height, line)
    spent[1] += total


def _line_of(node: Any, key: Any, index: bool) -> int | None:
    try:
        return (node.lc.item(key) if index else node.lc.key(key))[0] + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return None  # a key merged in from an anchor (<<: *x) has no position of its own


class _Converter:
    """ruamel nodes -> plain Python, recording the line of every key and list item (the size was
    bounded by :func:`_check_bounds` before)."""

    def __init__(self) -> None:
        self.lines: dict[tuple, int] = {}

    def convert(self, node: Any, path: tuple, line: int) -> Any:
        if isinstance(node, CommentedMap):
            out = {}
            for key, value in node.items():
                key_line = _line_of(node, key, False) or line
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise _Beyond(key_line, "a mapping key must be a plain value, not a mapping or list")
                self.lines[path + (key,)] = key_line
                out[key] = self.convert(value, path + (key,), key_line)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for i, value in enumerate(node):
                item_line = _line_of(node, i, True) or line
                self.lines[path + (i,)] = item_line
                items.append(self.convert(value, path + (i,), item_line))
            return items
        if isinstance(node, str):
            return str(node)
        if isinstance(node, (bool, int, float)) or node is None:
            return node
        return str(node)  # timestamps and other tagged scalars: the model parses strings


def load_yaml(text: str, file: str, limits: Limits = LIMITS) -> tuple[Any, dict[tuple, int]]:
    """The plain data of one YAML document and the line of every key; ConfigError on bad YAML or
    a document beyond ``limits``."""
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _too_big(len(text.encode("utf-8", "surrogatepass")), file, limits.max_bytes)
    try:
        _check_bounds(YAML(typ="rt").parse(io.StringIO(text)), limits)
        try:
            raw = YAML(typ="rt").load(io.StringIO(text))
        except (ValueError, IndexError):
            # ruamel.yaml 0.19 resolves plain scalars such as `-_`, `0x_` or `._` as numbers and then fails
            # to convert them: name the scalar rather than raise
            line, value = _unreadable_scalar(text)
            message = f"invalid YAML: {value!r} reads as a number but is not one; quote it"
            raise ConfigError([ConfigProblem(file, line, "", message)]) from None
        converter = _Converter()
        return converter.convert(raw, (), 1), converter.lines
    except _Beyond as exc:
        raise ConfigError([ConfigProblem(file, exc.line, "", exc.message)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {exc.problem or exc.context}")]) from None
    except YAMLError as exc:  # e.g. a control character the reader refuses, or two documents
        line = text.count("\n", 0, getattr(exc, "position", 0) or 0) + 1
        reason = " ".join(str(exc).split())
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {reason}")]) from None


def _unreadable_scalar(text: str) -> tuple[int, str]:
    """The line and text of the first plain scalar ruamel.yaml cannot construct ((1, text) if none)."""
    yaml = YAML(typ="rt")
    nodes, bad = [yaml.compose(io.StringIO(text))], []
    while nodes:
        node = nodes.pop()
        if isinstance(node, ScalarNode):
            try:
                yaml.constructor.construct_object(node)
            except (ValueError, IndexError):
                bad.append((node.start_mark.line + 1, str(node.value)))
        elif isinstance(node, MappingNode):
            nodes.extend(n for pair in node.value for n in pair)
        elif isinstance(node, SequenceNode):
            nodes.extend(node.value)
    return min(bad, default=(1, text[:40]))


# PyYAML's safe loader on libyaml when PyYAML was built with it (the wheels are): the same YAML 1.1,
# an order of magnitude faster on the megabytes of manifests `gkeml check` reads (docs/speed.md).
_SafeLoader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)


def load_yaml_documents(text: str, file: str, limits: Limits = MANIFEST_LIMITS) -> list[tuple[int, Any]]:
    """(line, data) of every document of a multi-document YAML stream, read as Kubernetes reads
    manifests (YAML 1.1, PyYAML's safe loader); ConfigError with the line on bad YAML or a stream
    beyond ``limits``."""
    if len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise _too_big(len(text.encode("utf-8", "surrogatepass")), file, limits.max_bytes)
    documents = []
    try:
        _check_bounds(pyyaml.parse(text, Loader=_SafeLoader), limits)
        loader = _SafeLoader(text)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    break
                documents.append((node.start_mark.line + 1, loader.construct_document(node)))
        finally:
            loader.dispose()
    except _Beyond as exc:
        raise ConfigError([ConfigProblem(file, exc.line, "", exc.message)]) from None
    except pyyaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = f"invalid YAML: {exc.problem or exc.context}"
        if "maximum nesting depth" in reason:  # libyaml's scanner stops deeper than ours, reading ahead
            reason = f"nested deeper than {limits.max_depth} levels"
        raise ConfigError([ConfigProblem(file, mark.line + 1 if mark else 1, "", reason)]) from None
    except pyyaml.YAMLError as exc:  # e.g. a control character the reader refuses
        line = text.count("\n", 0, getattr(exc, "position", 0) or 0) + 1
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {' '.join(str(exc).split())}")]) from None
    return documents


def field_name(path: tuple) -> str:
    """``("launch", "queues", 0, "name")`` -> ``launch.queues[0].name``."""
    out = ""
    for part in path:
        if not isinstance(part, int):  # a key with a newline must not break the one-line message
            part = one_line(str(part))
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def line_of(path: tuple, lines: dict[tuple, int]) -> int:
    """Line of ``path``, or of its closest parent that has one (1 when none does)."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return 1


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found:
            return found
    return None


def _allowed_keys(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at ``path`` (for 'unknown key' messages)."""
    current: type[BaseModel] | None = model
    for part in path:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if current is not None else None
        if info is None:
            return []
        current = _model_in(info.annotation)
        if current is None:
            return []
    return list(current.model_fields) if current else []


def file_line(path: str | Path, field: tuple) -> int:
    """1-based line of ``field`` (or of its closest parent key) in a YAML config file; 0 when the
    file cannot be read."""
    try:
        _, lines = load_yaml(read_config_text(path), str(path))
    except ConfigError:
        return 0
    return line_of(field, lines)


def did_you_mean(value: Any, allowed: Iterable[Any]) -> str:
    """`` (did you mean 'x'?)`` when ``value`` is a near miss of one of ``allowed``, else ''."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _message(err: Any, model: type[BaseModel]) -> str:
    kind = err["type"]
    loc = tuple(err["loc"])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, _strip_union(loc[:-1]))
        return f"unknown key {loc[-1]!r}{did_you_mean(loc[-1], allowed)}; allowed: {', '.join(allowed)}"
    if kind == "missing":
        return "required; add it"
    if kind == "string_pattern_mismatch":
        pattern = err["ctx"]["pattern"]
        return f"{err['input']!r} is not allowed; use {PATTERN_HELP.get(pattern, 'a value matching ' + pattern)}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "literal_error":
        expected = [e.strip(" '") for e in err["ctx"]["expected"].replace(" or ", ", ").split(",")]
        return f"{msg} (got {err['input']!r}){did_you_mean(err['input'], expected)}"
    if kind.endswith("_type") or kind in ("bool_parsing", "int_parsing"):
        shown = repr(err["input"])
        msg = f"{msg} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return msg


def _strip_union(loc: tuple) -> tuple:
    # pydantic puts validator/union names like 'function-after[...]' or 'str' in loc; drop them
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in p and p not in ("str", "int", "float")))


def parse(
    text: str,
    file: str,
    model: type[M],
    checks: Callable[[M], list[Problem]] | None = None,
    raw_checks: Callable[[Any], list[Problem]] | None = None,
) -> M:
    """Parse YAML ``text`` into ``model``; raise ConfigError naming file, line and field of EVERY problem.

    ``raw_checks`` run on the plain data whether or not the model validates (e.g. references
    between sections), so a type error and a dangling reference are reported in one pass;
    ``checks`` run on the validated model.
    """
    data, lines = load_yaml(text, file)
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ConfigError([ConfigProblem(file, 1, "", f"expected a mapping of keys at the top, got {got}")])
    problems: list[ConfigProblem] = []
    obj: M | None = None
    resolved_from: dict[tuple, tuple] = getattr(model, "RESOLVED_FROM", {})
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            base = _strip_union(tuple(err["loc"]))
            message = _message(err, model)
            # model-level checks name their fields (base.at, base.at_each): "@field: message" lines
            parts = message[1:].split("\n@") if message.startswith("@") else [message]
            for part in parts:
                loc = base
                if message.startswith("@"):
                    field, part = part.split(": ", 1)
                    loc += tuple(int(p) if p.isdigit() else p for p in field.split("."))
                where = loc
                source = resolved_from.get(loc)
                if loc not in lines and source is not None:  # a default filled in from another key
                    where, part = source, f"(from {field_name(source)}) {part}"
                problems.append(ConfigProblem(file, line_of(where, lines), field_name(loc), part))
    except RecursionError:
        problems.append(ConfigProblem(file, 0, "", f"nested deeper than {LIMITS.max_depth} levels"))
    found: list[Problem] = list(raw_checks(data)) if raw_checks else []
    if obj is not None and checks:
        found += checks(obj)
    seen = {(p.line, p.field, p.message) for p in problems}
    for path, message in found:
        problem = ConfigProblem(file, line_of(path, lines), field_name(path), message)
        if (problem.line, problem.field, problem.message) not in seen:
            seen.add((problem.line, problem.field, problem.message))
            problems.append(problem)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise ConfigError(problems)
    assert obj is not None
    return obj


def load_config_file(
    path: str | Path,
    model: type[M],
    checks: Callable[[M], list[Problem]] | None = None,
    raw_checks: Callable[[Any], list[Problem]] | None = None,
    *,
    name_matches_file: bool = False,
) -> M:
    """Read, decode and parse one config file. With ``name_matches_file``, its top-level ``name``
    must equal the file name without ``.yaml`` (environments and bootstrap files)."""
    path = Path(path)
    text = read_config_text(path)

    def name_check(data: Any) -> list[Problem]:
        found = list(raw_checks(data)) if raw_checks else []
        name = data.get("name") if isinstance(data, dict) else None
        if name_matches_file and isinstance(name, str) and name != path.stem:
            found.append((("name",), f"{name!r} must equal the file name {path.stem!r}; rename one of them"))
        return found

    return parse(text, str(path), model, checks, name_check)
