"""Output helpers shared by commands: plain-text tables for humans, JSON for machines."""

from __future__ import annotations

import json
import sys
from typing import Any, Sequence

from gkeml.text import table

__all__ = ["add_format_option", "print_json", "progress", "table"]


def add_format_option(parser, choices: Sequence[str] = ("table", "json")) -> None:
    parser.add_argument("--format", choices=choices, default=choices[0], help="output format (default: %(default)s)")


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")


def progress(message: str) -> None:
    """Progress on stderr, so stdout stays clean for --format json."""
    print(message, file=sys.stderr, flush=True)
