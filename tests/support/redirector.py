"""An HTTP(S) origin that redirects some paths and forwards or serves the rest, recording all.

For the fetch-policy tests: a mirror or registry front whose answers send Pulp
to other origins (a CDN, an attacker), and those other origins, each recording
exactly what reached it (method, path, headers, whether a TLS client
certificate was presented).

``Redirector(upstream=None, files=None, ssl_context=None)``:
- ``redirect(path_regex, location, status=302, times=None)``: answer matching GET/HEAD
  requests with ``location`` (a string, or a callable of the request path);
- other requests are forwarded to ``upstream`` (a base URL; Accept, Authorization and
  Range pass through, the answer comes back unchanged), or served from ``files``
  ({path: bytes}), or 404.
"""

import re
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

_PASSED = ("Accept", "Authorization", "Range")
_DROPPED = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    client_cert: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, ssl_context):
        self.ssl_context = ssl_context
        super().__init__(address, handler)

    def get_request(self):
        sock, address = super().get_request()
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True)
        return sock, address

    def handle_error(self, request, client_address):
        pass  # a client that refuses the certificate is not an error of the test server


class Redirector:
    def __init__(self, upstream=None, files=None, ssl_context=None, extra_headers=None):
        self.upstream = upstream.rstrip("/") if upstream else None
        # Headers added to every forwarded or served answer (a hostile upstream's).
        self.extra_headers = dict(extra_headers or {})
        self.files = dict(files or {})
        self.ssl_context = ssl_context
        self.rules = []
        self.seen = []
        self.url = None
        self._server = None
        self._thread = None
        self._lock = threading.Lock()

    def redirect(self, path, location, status=302, times=None):
        self.rules.append([re.compile(path), location, status, times])
        return self

    def paths(self):
        return [s.path for s in self.seen]

    def start(self):
        self._server = _Server(("127.0.0.1", 0), self._handler(), self.ssl_context)
        scheme = "https" if self.ssl_context else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _rule_for(self, path):
        with self._lock:
            for rule in self.rules:
                pattern, location, status, times = rule
                if pattern.search(path) and (times is None or times > 0):
                    if times is not None:
                        rule[3] = times - 1
                    return location, status
        return None

    def _handler(self):
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._serve("GET")

            def do_HEAD(self):
                self._serve("HEAD")

            def _serve(self, method):
                cert = False
                if state.ssl_context is not None:
                    cert = bool(self.connection.getpeercert())
                with state._lock:
                    state.seen.append(Seen(method, self.path, dict(self.headers), cert))
                rule = state._rule_for(self.path)
                if rule is not None:
                    location, status = rule
                    if callable(location):
                        location = location(self.path)
                    self._answer(status, {"Location": location}, b"")
                elif state.upstream is not None:
                    headers = {k: self.headers[k] for k in _PASSED if k in self.headers}
                    answer = requests.request(
                        method,
                        state.upstream + self.path,
                        headers=headers,
                        allow_redirects=False,
                        timeout=60,
                    )
                    passed = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
                    passed.update(state.extra_headers)
                    self._answer(answer.status_code, passed, answer.content, method)
                elif self.path in state.files:
                    self._answer(200, dict(state.extra_headers), state.files[self.path], method)
                else:
                    self._answer(404, {}, b"not here")

            def _answer(self, status, headers, body, method="GET"):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)
                self.close_connection = True

        return Handler


def optional_client_cert_context(ca, client_ca):
    """An https context of ``ca`` that asks for (but does not require) a client certificate."""
    context = ca.server_context()
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cafile=client_ca.path)
    return context
