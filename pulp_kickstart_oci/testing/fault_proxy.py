"""An HTTP proxy that injects faults in front of a real upstream (a registry or a dnf tree).

Tests add rules; each request takes the first rule whose method and path regex
match and that has firings left, and that rule's fault is served instead of
(or on top of) the upstream answer. Requests no rule claims pass through
unchanged. Every request is recorded, so a test can assert that a download was
retried, or which fault a client saw.

Faults:

``corrupt``   the upstream body with one byte flipped (same length, same headers)
``truncate``  the upstream headers (full Content-Length), half the body, then close
``500``/``503`` an error status with a short body
``429``       Too Many Requests with ``Retry-After: 1``
``stall``     send nothing, the headers, or the headers and ``stall_bytes`` bytes of
              the body, then hang until the client hangs up, the proxy stops, or
              ``stall_seconds`` pass (so the serving thread always ends by itself)
``redirect``  302 to the very same URL (a redirect loop while the rule fires)

The proxy listens on 127.0.0.1 only, on an ephemeral port, and closes every
connection after one response so no handler thread outlives a request.
"""

import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

FAULTS = ("corrupt", "truncate", "500", "503", "429", "stall", "redirect")
_FORWARDED_REQUEST = ("Accept", "Authorization", "Range", "If-None-Match")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Rule:
    """Serve ``fault`` for requests whose path matches ``path`` (a regex, searched).

    ``times`` is how many requests the rule claims; None claims every request.
    """

    fault: str
    path: str
    times: int | None = 1
    method: str = "GET"
    stall_after: str = "headers"  # "nothing", "headers" or "body" (stall_bytes sent)
    stall_bytes: int = 0
    stall_seconds: float = 30.0
    fired: int = 0

    def __post_init__(self):
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")
        if self.stall_after not in ("nothing", "headers", "body"):
            raise ValueError(f"stall_after must be nothing, headers or body: {self.stall_after!r}")
        self._pattern = re.compile(self.path)

    def claims(self, method, path):
        if self.method != method or not self._pattern.search(path):
            return False
        return self.times is None or self.fired < self.times


@dataclass
class Served:
    """One request as the proxy answered it."""

    method: str
    path: str
    fault: str | None  # None: passed through
    status: int | None = None  # None: no status line was sent (stall before headers)
    length: int | None = None  # the Content-Length announced
    sent: int = 0  # body bytes actually written
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None


class FaultProxy:
    def __init__(self, upstream_url, timeout=60):
        self.upstream = upstream_url.rstrip("/")
        self.timeout = timeout
        self.rules = []
        self.served = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.port = self._server.server_address[1]
        self._thread = None

    # -- what tests call ----------------------------------------------------

    def add(self, fault, path, times=1, **options):
        """Add a rule (see Rule); rules added first are tried first."""
        rule = Rule(fault=str(fault), path=path, times=times, **options)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self):
        """Drop every rule: from now on everything passes through."""
        with self._lock:
            self.rules.clear()

    def requests_to(self, pattern, method="GET"):
        """What was served for paths matching ``pattern``, in arrival order."""
        regex = re.compile(pattern)
        with self._lock:
            return [s for s in self.served if s.method == method and regex.search(s.path)]

    def wait_for(self, predicate, timeout=30):
        """Block until ``predicate(served list)`` is true; False when ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(list(self.served)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- internals ------------------------------------------------------------

    def _pick(self, method, path):
        with self._lock:
            for rule in self.rules:
                if rule.claims(method, path):
                    rule.fired += 1
                    return rule
        return None

    def _record(self, served):
        with self._changed:
            self.served.append(served)
            self._changed.notify_all()

    def _touch(self):
        with self._changed:
            self._changed.notify_all()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = proxy.timeout  # a silent client cannot keep a thread forever

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._serve("GET")

            def do_HEAD(self):
                self._serve("HEAD")

            def _serve(self, method):
                self.close_connection = True
                rule = proxy._pick(method, self.path)
                record = Served(method, self.path, rule.fault if rule else None)
                proxy._record(record)
                try:
                    self._answer(method, rule, record)
                except (BrokenPipeError, ConnectionResetError, socket.timeout):
                    pass  # the client gave up: that is what some faults are for
                finally:
                    record.finished = time.monotonic()
                    proxy._touch()

            def _fetch(self, method):
                headers = {k: self.headers[k] for k in _FORWARDED_REQUEST if self.headers.get(k)}
                return requests.request(
                    method,
                    proxy.upstream + self.path,
                    headers=headers,
                    allow_redirects=False,
                    timeout=proxy.timeout,
                )

            def _head(self, record, status, headers, length):
                record.status, record.length = status, length
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(length))
                self.send_header("Connection", "close")
                self.end_headers()

            def _body(self, record, data):
                self.wfile.write(data)
                self.wfile.flush()
                record.sent += len(data)

            def _plain(self, record, method, status, text, extra=()):
                body = text.encode()
                self._head(record, status, [("Content-Type", "text/plain"), *extra], len(body))
                if method != "HEAD":
                    self._body(record, body)

            def _answer(self, method, rule, record):
                fault = rule.fault if rule else None
                if fault in ("500", "503"):
                    return self._plain(record, method, int(fault), f"injected {fault}\n")
                if fault == "429":
                    return self._plain(
                        record, method, 429, "injected 429\n", [("Retry-After", "1")]
                    )
                if fault == "redirect":
                    location = proxy.url + self.path
                    return self._plain(record, method, 302, "", [("Location", location)])
                if fault == "stall" and rule.stall_after == "nothing":
                    return self._stall(rule)

                try:
                    upstream = self._fetch(method)
                except requests.RequestException as exc:
                    return self._plain(record, method, 502, f"upstream failed: {exc}\n")
                headers = [
                    (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
                ]
                if method == "HEAD":
                    length = int(upstream.headers.get("Content-Length", 0))
                    return self._head(record, upstream.status_code, headers, length)
                body = upstream.content
                if fault == "corrupt" and body:
                    flipped = bytearray(body)
                    flipped[len(flipped) // 2] ^= 0xFF
                    body = bytes(flipped)
                self._head(record, upstream.status_code, headers, len(body))
                if fault == "truncate":
                    self._body(record, body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_WR)
                    return None
                if fault == "stall":
                    if rule.stall_after == "body":
                        self._body(record, body[: min(rule.stall_bytes, max(len(body) - 1, 0))])
                    self.wfile.flush()
                    return self._stall(rule)
                self._body(record, body)
                return None

            def _stall(self, rule):
                """Hold the connection until the client leaves, the proxy stops, or time is up."""
                proxy._touch()
                deadline = time.monotonic() + rule.stall_seconds
                while not proxy._stopping.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.2))
                    if readable:
                        try:
                            data = self.connection.recv(65536)
                        except OSError:
                            return
                        if not data:
                            return  # the client closed its end

        return Handler
