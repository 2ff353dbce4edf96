"""Plain-text output shared by reports (rules, cost, doctor) and the CLI, and what to do when its reader goes away.

What a file or a server wrote reaches the terminal only through :func:`one_line` (messages, table
cells: every character that is not printable is written as its escape) or :class:`TerminalText`
(logs: lines, tabs, carriage returns and colours kept, every other control escaped), so a name or a
message cannot break a line, move the cursor, retitle the window or write to the clipboard.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from gkeml.exitcodes import ExitCode


def one_line(text: str) -> str:
    """``text`` with every character that is not printable (a newline, a tab, a control character,
    the ESC of a terminal escape sequence) written as its escape, so a message quoting any value
    stays on one line and cannot drive the terminal."""
    return _escaped(text, "")


def _escaped(text: str, keep: str) -> str:
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else c.encode("unicode_escape").decode() for c in text)


# Select Graphic Rendition (colours, bold): ESC [ parameters m (ECMA-48 8.3.117). It only styles the
# text that follows, so it is kept in logs; every other sequence (cursor moves, OSC window titles,
# hyperlinks and clipboard writes, DCS) is escaped.
_COLOUR = re.compile(r"\x1b\[[0-9;:]{0,32}m")
_PARTIAL_COLOUR = re.compile(r"\x1b(\[[0-9;:]{0,32})?\Z")  # a colour sequence cut by the end of a chunk


class TerminalText:
    """Bytes of a log, as text safe for a terminal, fed chunk by chunk: UTF-8 decoded (invalid
    bytes replaced), newlines, tabs, carriage returns (progress bars) and colours kept, every other
    character that is not printable written as its escape. A multi-byte character or a colour
    sequence split between two chunks is held back until the next one."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._held = ""

    def feed(self, data: bytes, final: bool = False) -> str:
        """The printable text of ``data`` (``final`` when no more follows)."""
        text = self._held + self._decoder.decode(data, final)
        held = None if final else _PARTIAL_COLOUR.search(text)
        self._held = held.group() if held else ""
        if held:
            text = text[: held.start()]
        parts = _COLOUR.split(text)
        colours = _COLOUR.findall(text)
        out = [_escaped(parts[0], "\n\t\r")]
        for colour, part in zip(colours, parts[1:]):
            out += [colour, _escaped(part, "\n\t\r")]
        return "".join(out)


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str], align: str = "") -> str:
    """A column-aligned text table; ``align`` gives 'l' or 'r' per column (default left). Every cell is
    one line (:func:`one_line`)."""
    cells = [[str(h) for h in headers]] + [[("" if c is None else one_line(str(c))) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" * len(headers)

    def fmt(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, widths, align)).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def output_closed() -> int:
    """The reader of our output went away (``gkeml check | head``): end quietly with exit code 141, what a
    shell reports for a process SIGPIPE ended (so ``set -o pipefail`` and ``${PIPESTATUS[@]}`` read it as
    they read any other command's), after the ``finally`` blocks on the way out have cleaned up. The
    interpreter is kept from failing again when it flushes stdout at exit.

    Not SIGPIPE's default action instead: it would end the process at once, cleanup and all, and on a
    socket too (Python's signal module documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    return ExitCode.OUTPUT_CLOSED
