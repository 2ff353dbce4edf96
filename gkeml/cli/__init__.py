"""The ``gkeml`` command line.

Every module in this package that defines ``register(subparsers)`` is a
subcommand (discovered, so commands are added without touching this file).
``register`` adds its parser and sets ``func(args) -> int`` as the default.

Exit codes (all commands): 0 success / clean, 1 findings or drift,
2 usage or configuration error; 130 interrupted (SIGINT, Ctrl-C), 143 terminated
(SIGTERM), after cleaning up (:mod:`gkeml.interrupts`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import sys

from gkeml import __version__
from gkeml.config import ConfigError
from gkeml.config.loader import read_budget
from gkeml.exitcodes import ExitCode
from gkeml.interrupts import Terminated, stoppable, stopped
from gkeml.text import output_closed

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = ExitCode.OK, ExitCode.FINDINGS, ExitCode.USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gkeml",
        description="GKE Autopilot platform for ML workloads: synth, check, cost, jobs and more.",
        epilog="Exit codes: 0 success, 1 findings or drift, 2 usage or configuration error, "
        "130 interrupted (Ctrl-C), 143 terminated (SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"gkeml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ runs the CLI on import
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (a ConfigError is printed and exits 2; SIGINT and SIGTERM end it
    cleanly with one line and 130 or 143)."""
    parser = build_parser()
    command = "gkeml"
    with stoppable():
        try:
            args = parser.parse_args(argv)
            words = (args.command, getattr(args, f"{args.command}_command", None))  # e.g. gkeml job wait
            command = " ".join(["gkeml", *[w for w in words if w]])
            if not getattr(args, "func", None):
                parser.print_help()
                return EXIT_USAGE
            with read_budget():  # what every file the command reads adds up to is bounded too
                return int(args.func(args) or 0)
        except ConfigError as exc:
            _error(str(exc))
            return EXIT_USAGE
        except BrokenPipeError:
            return output_closed()
        except (KeyboardInterrupt, Terminated) as exc:
            return stopped(exc, command)


def _error(text: str) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):  # stderr is gone too: the exit code says it
        print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
