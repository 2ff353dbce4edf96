"""Exit codes of every gkeml entry point (CLI commands, ``python main.py``, bootstrap synth)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """0 success or clean; 1 findings, drift or a failed step; 2 usage, configuration,
    credentials or API error (nothing was changed)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
