"""How a gkeml process ends when it is told to stop (SIGINT, SIGTERM).

Ctrl-C sends SIGINT; ``kill``, a CI runner's cancel and ``timeout`` send SIGTERM.

Inside :func:`stoppable` both signals raise an exception in the main thread (KeyboardInterrupt,
:class:`Terminated`), so every ``finally`` and ``with`` block runs on the way out: synth's staging
directory is removed and the previous output is left as it was, a checkov scratch directory goes
too. Further signals are ignored from then on, so the cleanup is not cut short. The entry point
catches the exception and :func:`stopped` says what happened in one line and returns the
conventional exit code, 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM. From the
signal on, that line is all stderr carries: what child processes print while they die (the
framework's node runtime gets the same Ctrl-C, and the stack of its broken pipe is no news) goes
to /dev/null. A signal ignored when the process started (a background job) stays ignored.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, as KeyboardInterrupt is, so ``except Exception`` does not swallow it."""


_stopping = False
_stderr: int | None = None  # a duplicate of stderr once it is silenced, for the one line


def _stop(signum: int, frame: FrameType | None) -> None:
    global _stopping, _stderr
    _stopping = True
    for each in SIGNALS:
        signal.signal(each, signal.SIG_IGN)  # the cleanup on the way out runs to its end
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):  # not a real file: left as it is
        sys.stderr.flush()
        descriptor = sys.stderr.fileno()
        _stderr = os.dup(descriptor)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, descriptor)
        os.close(devnull)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt and :class:`Terminated` in this block (main thread only);
    the previous handlers come back after it, unless a signal arrived (the process is ending)."""
    try:
        previous = {each: signal.getsignal(each) for each in SIGNALS}
        for each, handler in previous.items():
            if handler is not signal.SIG_IGN:
                signal.signal(each, _stop)
    except ValueError:  # not the main thread: signals are the main thread's business
        yield
        return
    try:
        yield
    finally:
        if not _stopping:
            for each, handler in previous.items():
                signal.signal(each, handler)


def stopped(exc: BaseException, command: str = "gkeml") -> int:
    """Say in one line on stderr that ``command`` was interrupted or terminated; the exit code (130, 143)."""
    signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
    line = f"{command}: {'terminated (SIGTERM)' if signum == signal.SIGTERM else 'interrupted (SIGINT)'}"
    with contextlib.suppress(OSError, ValueError):  # stderr is gone: the exit code says it
        if _stderr is None:
            print(line, file=sys.stderr, flush=True)
        else:
            os.write(_stderr, f"{line}\n".encode())
    return 128 + signum
