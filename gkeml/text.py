"""Plain-text output shared by reports (rules, cost, doctor) and the CLI, and what to do when its reader goes away."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from gkeml.exitcodes import ExitCode


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], align: str = "") -> str:
    """A column-aligned text table; ``align`` gives 'l' or 'r' per column (default left)."""
    cells = [[str(h) for h in headers]] + [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" * len(headers)

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, widths, align)).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def output_closed() -> int:
    """The reader of our output went away (``gkeml check | head``): say so in one line on stderr,
    keep the interpreter from failing again when it flushes stdout at exit, and return exit code 2."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    with contextlib.suppress(OSError, ValueError):  # stderr is gone too: the exit code says it
        print("gkeml: output closed early (broken pipe)", file=sys.stderr, flush=True)
    return ExitCode.USAGE
