"""Real HTTP servers on 127.0.0.1 for the tests of gkeml's API clients (the kubernetes client of the job
verbs, the google clients of ``gkeml doctor``): one thread each, nothing in a client mocked.

:class:`LoopbackServer` records every request (``received``) and answers it with what its ``respond(request)``
returns (by default its ``reply``), an :class:`Answer`. Besides JSON, text and bytes, an answer can be hostile, each the way a
broken proxy or a malicious server behaves (:data:`HOSTILE`):

- ``silent``: reads the request and never answers (until the server stops);
- ``drip``: announces a body and sends it one byte per second;
- ``huge``: a 100 MiB JSON body, generated as it is sent;
- ``deep``: JSON arrays nested 10,000 deep;
- ``html``: a proxy's login page instead of JSON;
- ``shape``: JSON of the wrong shape (an array where an object belongs);
- ``escapes``: an error (500) whose message, in the Kubernetes and the Google shape, is full of
  terminal escape sequences (colour, window title, clipboard write, screen clear) and a newline.

``serving(server)`` runs one for a test. The fakes of the Kubernetes API (tests/kube_api.py) and of the GKE,
Resource Manager and Compute Engine REST APIs (tests/google_apis.py) are LoopbackServers; tests/conftest.py
runs one of each for a test (the ``kube`` and ``gke`` fixtures).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

ESCAPES = "\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b]52;c;cm0gLXJmIH4=\x07 \x1b[2J\x1b[H\nsecond line \u202eevil"
MIB = 2**20


@dataclass
class Request:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    """What to answer: ``body`` is JSON (dict or list), text (str) or bytes; ``chunks`` a body sent piece by
    piece (with ``Content-Length`` when ``length`` is given, else chunked), ``pause`` seconds apart;
    ``silent`` never answers."""

    status: int = 200
    body: Any = None
    content_type: str | None = None
    chunks: Iterable[bytes] | None = None
    length: int | None = None
    pause: float = 0.0
    silent: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def data(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), self.content_type or "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/plain"
        return bytes(self.body or b""), self.content_type or "application/json"


def _huge(size: int) -> Iterator[bytes]:
    yield b'{"items": ["'
    for _ in range(size // MIB):
        yield b"x" * MIB
    yield b'"]}'


HOSTILE: dict[str, Callable[[], Answer]] = {
    "silent": lambda: Answer(silent=True),
    "drip": lambda: Answer(chunks=(bytes([b]) for b in b'{"kind": "Job"}'), length=15, pause=1.0),
    "huge": lambda: Answer(chunks=_huge(100 * MIB), length=100 * MIB + 15),
    "deep": lambda: Answer(body=b"[" * 10_000 + b"]" * 10_000),
    "html": lambda: Answer(body="<html><body>Proxy login\x1b[2J</body></html>", content_type="text/html"),
    "shape": lambda: Answer(body=[{"metadata": "not an object"}, 7, None]),
    "escapes": lambda: Answer(
        status=500,
        body={"kind": "Status", "status": "Failure", "code": 500, "message": ESCAPES, "error": {"message": ESCAPES}},
    ),
}


class LoopbackServer:
    """An HTTP/1.1 server on 127.0.0.1 answering with ``respond(request)`` (override it, or set
    ``self.reply``: an Answer, or a function of the Request returning one)."""

    def __init__(self, reply: Answer | Callable[[Request], Answer] | None = None) -> None:
        self.reply = reply if reply is not None else Answer(404, {"error": "no answer set"})
        self.received: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    self.command,
                    url.path,
                    {k: v[0] for k, v in parse_qs(url.query).items()},
                    dict(self.headers),
                    self.rfile.read(length) if length else b"",
                )
                with server.lock:
                    server.received.append(request)
                    answer = server.respond(request)
                with contextlib.suppress(OSError):  # the client gave up (a limit it enforces): fine
                    server._send(self, answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def respond(self, request: Request) -> Answer:
        """The answer to ``request`` (called with ``self.lock`` held)."""
        return self.reply(request) if callable(self.reply) else self.reply

    def _send(self, handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        if answer.silent:
            self.stopping.wait()
            handler.close_connection = True
            return
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        if answer.chunks is None:
            data, content_type = answer.data()
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            return
        handler.send_header("Content-Type", answer.content_type or "application/json")
        if answer.length is not None:
            handler.send_header("Content-Length", str(answer.length))
        else:
            handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for i, chunk in enumerate(answer.chunks):
            if self.stopping.is_set():
                handler.close_connection = True
                return
            if i and answer.pause:
                time.sleep(answer.pause)
            handler.wfile.write(chunk if answer.length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.flush()
        if answer.length is None:
            handler.wfile.write(b"0\r\n\r\n")

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=10)


class Server(Protocol):
    """Anything a test runs for a while: a LoopbackServer, tests/test_doctor_services.py's DNS server."""

    def start(self) -> Any: ...

    def stop(self) -> None: ...


S = TypeVar("S", bound=Server)


@contextlib.contextmanager
def serving(server: S) -> Iterator[S]:
    """``server`` running for the block, stopped after it."""
    server.start()
    try:
        yield server
    finally:
        server.stop()
