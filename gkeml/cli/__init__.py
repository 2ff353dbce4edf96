"""The ``gkeml`` command line.

Every module in this package that defines ``register(subparsers)`` is a subcommand (discovered, so
commands are added without touching this file). ``register`` adds its parser and sets
``func(args) -> int`` as the default.

:func:`main` is the one place that turns what ends a command into what the user sees and the exit
code: a :class:`gkeml.exitcodes.CommandError` (a configuration problem, a missing output, a cluster
or an API that refuses, a usage error) is printed on stderr in one form (``gkeml COMMAND: error:
...``; a problem at a line of a file as ``file:line: field: ...``) and, with ``--format json``, as a
JSON object on stdout; its exit code is the command's.

Exit codes (all commands): 0 success / clean, 1 findings or drift, 2 usage or configuration error;
130 interrupted (SIGINT, Ctrl-C), 143 terminated (SIGTERM), after cleaning up
(:mod:`gkeml.interrupts`); 141 the reader of the output went away (``gkeml ... | head``), quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import os
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from gkeml import __version__
from gkeml.cli.output import command_name
from gkeml.exitcodes import CommandError, ExitCode
from gkeml.interrupts import Terminated, stoppable, stopped
from gkeml.text import one_line, output_closed

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE

EPILOG = """\
exit codes (every command):
  0    success or clean
  1    findings, drift or a failed job
  2    usage or configuration error (nothing was changed)
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM), after cleaning up
  141  the reader of the output went away (gkeml ... | head): quietly, as a shell
       reports a process SIGPIPE ended

errors: on stderr, `gkeml COMMAND: error: MESSAGE`, or `FILE:LINE: FIELD: MESSAGE` for a
problem at a line of a file; with --format json, also a JSON object on stdout:
{"command", "error", "exit_code", "problems": [{"file", "line", "field", "message"}]}.
warnings: on stderr, `gkeml COMMAND: warning: MESSAGE`; they leave the exit code alone.

completion: eval "$(gkeml completion bash)" (zsh alike; fish: gkeml completion fish | source)
"""


class UsageError(CommandError):
    """A command line argparse refuses: printed with the usage of the (sub)command it was for."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """gkeml's argument parser (every subcommand's too): an option is written in full (no prefix
    abbreviations: ``--form`` is not ``--format``, so a script keeps its meaning when an option is
    added), and a usage error is raised as :class:`UsageError` for :func:`main` to print, with a
    "did you mean" for a misspelt command."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message + _did_you_mean(message))


INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)$")


def _did_you_mean(message: str) -> str:
    match = INVALID_CHOICE.search(message)
    if not match:
        return ""
    choices = re.findall(r"'([^']*)'", match["choices"]) or [c.strip() for c in match["choices"].split(",")]
    close = difflib.get_close_matches(match["given"], choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gkeml",
        description="GKE Autopilot platform for ML workloads: synth, check, cost, jobs and more.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gkeml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ runs the CLI on import
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    add_completers(parser)
    return parser


# -- shell completion (argcomplete: `gkeml completion SHELL` prints the shell's part) ---------------

# Arguments that name an environment (by their dest): ENV of cost, doctor, destroy, diagram and
# wait-kinds, --env of check, job and launch, --from of env new.
ENVIRONMENT_ARGUMENTS = ("env", "source")


def environment_names(prefix: str, parsed_args: argparse.Namespace, **_: Any) -> list[str]:
    """The environments of ``--environments`` (default environments/) starting with ``prefix``."""
    directory = Path(getattr(parsed_args, "environments", None) or "environments")
    with contextlib.suppress(OSError):
        return sorted(p.stem for p in directory.glob("*.yaml") if p.stem.startswith(prefix))
    return []


def add_completers(parser: argparse.ArgumentParser) -> None:
    """Complete every environment argument of every (sub)command from the environment files."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for each in set(action.choices.values()):
                add_completers(each)
        elif action.dest in ENVIRONMENT_ARGUMENTS and action.choices is None:
            action.completer = environment_names  # type: ignore[attr-defined]


def _complete(parser: argparse.ArgumentParser) -> None:
    """Print the completions the shell asked for (``_ARGCOMPLETE`` is set) and exit."""
    import argcomplete

    argcomplete.autocomplete(parser)


# -- running a command ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code. What ends it early is printed here, in one form (module docstring);
    SIGINT and SIGTERM end it cleanly with one line and 130 or 143; a closed output quietly with 141."""
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:
        _complete(parser)
    argv = sys.argv[1:] if argv is None else list(argv)
    command = "gkeml"
    wants_json = _json_requested(argv)
    with stoppable():
        try:
            args, unknown = parser.parse_known_args(argv)
            if unknown:  # said by the (sub)command they were given to, with its usage
                _chosen(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
            command = command_name(args)  # e.g. gkeml job wait
            wants_json = getattr(args, "format", None) == "json"
            if not getattr(args, "func", None):
                parser.print_help(sys.stderr)
                return EXIT_USAGE
            from gkeml.config.loader import read_budget

            with read_budget():  # what every file the command reads adds up to is bounded too
                code = int(args.func(args) or 0)
            sys.stdout.flush()  # a reader gone before the buffered output is seen here, not at exit
            return code
        except UsageError as exc:
            with contextlib.suppress(BrokenPipeError, ValueError, OSError):
                exc.parser.print_usage(sys.stderr)
            return failed(exc.parser.prog, exc, wants_json)
        except CommandError as exc:
            return failed(command, exc, wants_json)
        except BrokenPipeError:
            return output_closed()
        except (KeyboardInterrupt, Terminated) as exc:
            return stopped(exc, command)


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub)command the command line chose (``gkeml job wait``: job's wait)."""
    words = [args.command, getattr(args, f"{args.command}_command", None)]
    for word in words:
        actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not word or not actions or word not in actions[0].choices:
            break
        parser = actions[0].choices[word]
    return parser


def failed(command: str, exc: CommandError, wants_json: bool) -> int:
    """Print what ended ``command`` (stderr; and a JSON object on stdout with ``--format json``); its exit code."""
    if wants_json and not exc.reported:
        from gkeml.cli.output import print_json

        try:
            print_json(exc.to_dict(command))
            sys.stdout.flush()
        except BrokenPipeError:  # stdout is gone: stderr and the exit code say it
            output_closed()
    for line in exc.lines(command):
        _error(one_line(line))
    return int(exc.exit_code)


def _json_requested(argv: list[str]) -> bool:
    """``--format json`` on a command line argparse refused (options are never abbreviated)."""
    return any(
        word == "--format=json" or (word == "--format" and following == "json")
        for word, following in zip(argv, [*argv[1:], ""])
    )


def _error(text: str) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError, OSError):  # stderr is gone too: the exit code says it
        print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
