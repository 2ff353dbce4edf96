"""Bounds on what an API server sends back, shared by the job verbs and ``gkeml doctor``.

Every answer gkeml reads is limited in time (connecting, silence between two reads, the whole
answer: a server that drips one byte a second ends at the deadline) and in size, and is parsed as
JSON no deeper than :data:`MAX_JSON_DEPTH`. A silent, slow, huge, malformed or absurdly nested
answer becomes :class:`BadAnswer`, one line, instead of a hang, a memory blow-up or a traceback.
What the server said is printed through :func:`gkeml.text.one_line`.

The job verbs read the kubernetes client's urllib3 responses with :func:`read_body`; the doctor
bounds its google-auth sessions (``requests``) with :func:`bound_session`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CONNECT_SECONDS = 10.0  # to open the connection
SILENCE_SECONDS = 30.0  # between two reads (and until the answer starts)
ANSWER_SECONDS = 60.0  # for a whole answer
MAX_ANSWER_BYTES = 32 * 2**20  # a list of a few thousand Jobs or pods is a few MiB
# Kubernetes and GKE objects nest about 20 levels (managedFields the deepest); protobuf's JSON parser
# stops at 100 (google.protobuf.json_format, max_recursion_depth), and so does gkeml.
MAX_JSON_DEPTH = 100
CHUNK_BYTES = 64 * 2**10

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BadAnswer(Exception):
    """An answer gkeml does not accept (too slow, too large, not JSON, nested too deep); ``str()`` is one line."""


@dataclass(frozen=True)
class Limits:
    """How long and how much one request may take."""

    connect: float = CONNECT_SECONDS
    silence: float = SILENCE_SECONDS
    answer: float = ANSWER_SECONDS
    size: int = MAX_ANSWER_BYTES

    @classmethod
    def within(cls, seconds: float | None) -> Limits:
        """The limits of ``--request-timeout SECONDS``: no request takes longer (None: the defaults)."""
        if seconds is None:
            return cls()
        return cls(connect=min(CONNECT_SECONDS, seconds), silence=seconds, answer=seconds)


def read_body(read1: Callable[[int], bytes], limits: Limits, cut: bool = False) -> tuple[bytes, bool]:
    """Read an answer's body with ``read1(n)`` (at most one network read, as urllib3's ``read1``) until it
    ends: (the body, whether it was cut at ``limits.size``). Larger than that is BadAnswer unless ``cut``
    (a log is shown up to the limit); so is an answer still arriving after ``limits.answer`` seconds or
    one that breaks off (a read stays silent for ``limits.silence``, the connection drops)."""
    from urllib3.exceptions import HTTPError, ReadTimeoutError

    deadline = time.monotonic() + limits.answer
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise BadAnswer(f"an answer still arriving after {limits.answer:g} s")
        try:
            chunk = read1(CHUNK_BYTES)
        except ReadTimeoutError:
            raise BadAnswer(f"an answer that stopped for {limits.silence:g} s") from None
        except (HTTPError, OSError) as exc:
            raise BadAnswer(f"an answer that broke off ({type(exc).__name__})") from None
        if not chunk:
            return b"".join(chunks), False
        if size + len(chunk) > limits.size:
            if cut:
                chunks.append(chunk[: limits.size - size])
                return b"".join(chunks), True
            raise BadAnswer(f"an answer larger than {limits.size // 2**20} MiB")
        size += len(chunk)
        chunks.append(chunk)


def json_depth_exceeds(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the JSON text ``data`` nests arrays and objects deeper than ``limit`` (strings do not
    count), or is not JSON and holds more than ``limit`` unpaired brackets. Strips the innermost pairs
    up to ``limit`` times, each pass at C speed."""
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:  # unpaired brackets: not JSON; "[[[[..." still recurses in a parser
            return len(brackets) > limit
        brackets = shorter
    return bool(brackets)


def parse_json(data: bytes) -> Any:
    """The JSON value of an answer's body; BadAnswer when it is not JSON or nests deeper than :data:`MAX_JSON_DEPTH`."""
    if json_depth_exceeds(data):
        raise BadAnswer(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise BadAnswer(f"a body that is not JSON ({describe(data)})") from None


def describe(data: bytes) -> str:
    """A short, printable hint of what a body holds (its start), for an error message."""
    if not data.strip():
        return "empty"
    head = data[:40].decode("utf-8", "replace")
    return repr(head + ("..." if len(data) > 40 else ""))


def bound_session(session: Any, limits: Limits | None = None) -> Any:
    """``session`` (a ``requests.Session``, e.g. google-auth's ``AuthorizedSession``, also the one inside a
    google-cloud client's REST transport) with every answer read within ``limits``: a response hook reads
    the body before the caller does (BadAnswer when it is too slow, too large or nested too deep for JSON)."""
    bounds = limits or Limits()

    def read_within_limits(response: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            return response  # the caller reads it
        try:
            body, _ = read_body(lambda n: response.raw.read1(n, decode_content=True), bounds)
            if json_depth_exceeds(body):  # whatever the content type says: clients parse error bodies as JSON
                raise BadAnswer(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        except BadAnswer:
            response.close()
            raise
        response._content = body  # what requests' Response.content returns from now on
        response._content_consumed = True
        response.raw.release_conn()
        return response

    session.hooks["response"].append(read_within_limits)
    return session
