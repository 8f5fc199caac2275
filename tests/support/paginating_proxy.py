"""A pass-through proxy that pages tag lists the way large registries do.

docker-registry 2.8 answers `tags/list` in one page whatever `n` says; quay.io
and Docker Hub page with `n`/`last` and an RFC 5988 `Link: <...>; rel="next"`
header. This proxy adds that paging in front of a real registry so a sync has
to follow the links; every other request is forwarded unchanged.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import requests

_FORWARDED = ("Authorization", "Accept", "Range")


class PagingProxy:
    """``extra_tags`` are added to the tag list (tags a registry would refuse on push),
    ``link_base`` makes the next-page links absolute on another origin, and
    ``pad_bytes`` pads each page with whitespace (a tag list that never ends)."""

    def __init__(self, upstream_url, page_size=2, extra_tags=(), link_base=None, pad_bytes=0):
        self.upstream = upstream_url.rstrip("/")
        self.page_size = page_size
        self.extra_tags = list(extra_tags)
        self.link_base = link_base
        self.pad_bytes = pad_bytes
        self.pages_served = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self, method):
                headers = {k: self.headers[k] for k in _FORWARDED if self.headers.get(k)}
                upstream = requests.request(
                    method,
                    proxy.upstream + self.path,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                )
                parsed = urlparse(self.path)
                if method == "GET" and parsed.path.endswith("/tags/list") and upstream.ok:
                    return self._page(parsed, upstream.json())
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.end_headers()
                if method == "GET":
                    for chunk in upstream.iter_content(65536):
                        self.wfile.write(chunk)

            def _page(self, parsed, document):
                query = parse_qs(parsed.query)
                size = min(int(query.get("n", [proxy.page_size])[0]), proxy.page_size)
                tags = sorted((document.get("tags") or []) + proxy.extra_tags)
                last = query.get("last", [None])[0]
                if last is not None:
                    tags = [t for t in tags if t > last]
                page, rest = tags[:size], tags[size:]
                body = json.dumps({"name": document.get("name"), "tags": page}).encode()
                body += b" " * proxy.pad_bytes
                proxy.pages_served += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if rest:
                    link = parsed.path + "?" + urlencode({"n": size, "last": page[-1]})
                    link = (proxy.link_base or "") + link
                    self.send_header("Link", f'<{link}>; rel="next"')
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._forward("GET")

            def do_HEAD(self):
                self._forward("HEAD")

        return Handler

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
