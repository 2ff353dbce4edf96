"""Exit codes of every gkeml entry point, and the one form every error is printed in.

The entry points: the CLI commands, ``python main.py`` and the bootstrap synth.

Errors: a problem at a line of a file is ``FILE:LINE: FIELD: MESSAGE``, the form editors and CI
problem matchers read; every other error is ``gkeml COMMAND: error: MESSAGE``, the form argparse
gives a usage error, so a command line, a missing output, a cluster or an API that fails reads the
same. :class:`CommandError` (and :class:`gkeml.config.ConfigError`, one of them) carries the message
and the exit code; ``gkeml.cli.main`` is the one place that prints it (with ``--format json``, also as
a JSON object on stdout, :meth:`CommandError.to_dict`) and exits with its code.
"""

from __future__ import annotations

import signal
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """0 success or clean; 1 findings, drift or a failed step; 2 usage, configuration,
    credentials or API error (nothing was changed); 141 the reader of the output went away
    (``gkeml ... | head``: what a shell reports for a process ended by SIGPIPE, 128 + 13).
    130 and 143 (SIGINT, SIGTERM) come from :mod:`gkeml.interrupts`."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    OUTPUT_CLOSED = 128 + signal.SIGPIPE


class CommandError(Exception):
    """What ends a command early: a message (one line per problem) and the exit code it ends with
    (default 2: usage, configuration, credentials or API; nothing was changed).

    ``reported``: the command's own output already holds the error (doctor's report, a job's state
    after ``--timeout``), so no JSON error object is added to it."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, exit_code: int | None = None, *, reported: bool = False):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.reported = reported

    def lines(self, command: str) -> list[str]:
        """What stderr says: ``COMMAND: error: MESSAGE``, one line per line of the message."""
        return [f"{command}: error: {line}" for line in str(self).splitlines() or [""]]

    def to_dict(self, command: str) -> dict[str, Any]:
        """The JSON object ``--format json`` prints on stdout when the command fails."""
        return {"command": command, "error": str(self), "exit_code": int(self.exit_code), "problems": []}
