"""Output helpers shared by commands: plain-text tables for humans, JSON for machines."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from gkeml.text import one_line, table

__all__ = [
    "add_format_option",
    "add_request_timeout_option",
    "command_name",
    "add_command",
    "add_endpoint_option",
    "add_environment_arguments",
    "output_width",
    "print_json",
    "progress",
    "table",
    "warn",
]

# Tables are never wider than this when stdout is not a terminal (CI logs, files, pipes).
PIPE_WIDTH = 100


def add_format_option(parser, choices: Sequence[str] = ("table", "json")) -> None:
    parser.add_argument("--format", choices=choices, default=choices[0], help="output format (default: %(default)s)")


def add_command(sub, name: str, help_text: str, description: str, epilog: str) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (``help_text``: its line in the parent's help); its description and
    epilog (examples, exit codes) print as written."""
    return sub.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_environment_arguments(parser) -> None:
    """ENV and ``--environments DIR``: the one environment file a command reads."""
    parser.add_argument("env", metavar="ENV", help="environment name (environments/ENV.yaml)")
    parser.add_argument(
        "--environments", default="environments", help="directory of <env>.yaml files (default: %(default)s)"
    )


def add_endpoint_option(parser, flag: str = "--endpoint", api: str = "GKE") -> None:
    """``flag URL``: where a Google API is asked (gkeml.doctor.api.endpoint_credentials), e.g. a local server."""
    parser.add_argument(
        flag,
        metavar="URL",
        help=f"{api} API base URL (default: Google's). http:// only to loopback, and then without credentials",
    )


def add_request_timeout_option(parser) -> None:
    """``--request-timeout SECONDS`` of the commands that ask an API (gkeml.answers.Limits.within)."""
    from gkeml.answers import ANSWER_SECONDS

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
        return value

    parser.add_argument(
        "--request-timeout",
        type=seconds,
        metavar="SECONDS",
        help=f"longest wait for one answer of an API, from connecting to its last byte (default: {ANSWER_SECONDS:g})",
    )


def output_width() -> int:
    """Columns human output may use: the terminal's width; at most :data:`PIPE_WIDTH` when
    stdout is not a terminal (``$COLUMNS`` cannot widen a log)."""
    columns = shutil.get_terminal_size(fallback=(PIPE_WIDTH, 24)).columns
    return columns if sys.stdout.isatty() else min(columns, PIPE_WIDTH)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def progress(message: str) -> None:
    """Progress on stderr, so stdout stays clean for --format json; one line, whatever it quotes."""
    print(one_line(message), file=sys.stderr, flush=True)


def command_name(args: argparse.Namespace) -> str:
    """The command the line chose, as errors and warnings name it: ``gkeml job render``, ``gkeml cost``."""
    command = getattr(args, "command", None)
    words = (command, getattr(args, f"{command}_command", None) if command else None)
    return " ".join(["gkeml", *[w for w in words if w]])


def warn(args: argparse.Namespace, message: str) -> None:
    """A warning on stderr in the one form of every command: ``gkeml COMMAND: warning: MESSAGE``, one line."""
    text = message.removeprefix("warning: ")
    print(one_line(f"{command_name(args)}: warning: {text}"), file=sys.stderr, flush=True)
