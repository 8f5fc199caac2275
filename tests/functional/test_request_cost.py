"""A content-app request of a kickstart distribution costs bounded work and cache space.

Whatever its path, Host, forwarded headers, Range or other headers: a request no
kickstart distribution serves gets a 4xx (never a 5xx) and stores nothing, and the
Redis content cache holds at most one entry per document and method: a document is a
function of the distribution, never of a request header (docs/serving.md, "HTTP
behaviour" and "Caching"). Requests go out over raw sockets: aiohttp and requests
would normalise the very bytes under test.
"""

import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import redis

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import Pusher
from tests.functional.test_cache import stack_redis_url


class Raw:
    """One request of exactly the given bytes to a content app; the parsed answer."""

    def __init__(self, base_url):
        parts = urlsplit(base_url)
        self.address = (parts.hostname, parts.port)
        self.host = parts.netloc.encode()
        self.root = parts.path.encode()  # /pulp/content/<base_path>/

    def send(self, data, timeout=30):
        """(status, headers, body) of the answer to ``data``, sent as it is."""
        with socket.create_connection(self.address, timeout=timeout) as connection:
            connection.sendall(data)
            method = data.split(b" ", 1)[0].decode("latin-1")
            answer = http.client.HTTPResponse(connection, method=method)
            answer.begin()
            return answer.status, dict(answer.getheaders()), answer.read()

    def get(self, path, headers=b"", method=b"GET", host=None):
        """``path`` (bytes, below the distribution unless it starts with "/"), as it is."""
        target = path if path.startswith(b"/") else self.root + path
        host = self.host if host is None else host
        return self.send(
            method
            + b" "
            + target
            + b" HTTP/1.1\r\nHost: "
            + host
            + b"\r\n"
            + headers
            + b"Connection: close\r\n\r\n"
        )


@pytest.fixture(scope="class")
def tree(
    kickstart_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """One tree (42 x86_64) synced and distributed once for the class."""
    pusher = Pusher(kickstart_registry.url, unique("fedora/cost"))
    files = fedora.tree_files("42", "amd64", salt=pusher.name)
    pusher.netboot("42-amd64", files)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(pusher))
    distribution = kickstart_distribution_factory(repository)
    return {
        "base_path": distribution.base_path,
        "base_url": distribution.base_url,
        "kernel": dict(files)["vmlinuz"],
        "repository": repository,
    }


@pytest.fixture(scope="module")
def cache():
    """The stack's Redis, where pulpcore and the plugin keep content-app answers."""
    client = redis.Redis.from_url(stack_redis_url())
    yield client
    client.close()


def _entries(cache, base_path):
    """The cache entries (hash fields) stored for a distribution, guard flag left out."""
    return {f.decode() for f in cache.hkeys(base_path)} - {"DISTRO#GUARD#PRESENT"}


KERNEL = b"42/x86_64/images/pxeboot/vmlinuz"
DOCUMENTS = [b"boot.ipxe", b"trees.json", b"42/x86_64/boot.ipxe", b"42/x86_64/.treeinfo"]

# Paths no kickstart distribution serves (what follows <base_path>/), each once in front
# of a document and a file.
HOSTILE_PATHS = {
    "empty segment": (b"42//x86_64/", 400),
    "empty segment after the base path": (b"/42/x86_64/", 400),
    "dot segment": (b"42/./x86_64/", 400),
    "dot-dot segment": (b"42/../42/x86_64/", 400),
    "encoded dot-dot": (b"42/%2e%2e/42/x86_64/", 400),
    "encoded slash": (b"42%2Fx86_64%2F", 400),
    "percent-encoding of no UTF-8": (b"42/%ff%fe/x86_64/", 400),
    "encoded NUL": (b"42/%00/x86_64/", 400),
    "encoded space": (b"42/a%20b/x86_64/", 400),
    "encoded UTF-8": (b"42/%C3%A9/x86_64/", 400),
    "thousands of segments": (b"a/" * 2000, 414),
    "overlong segment": (b"a" * 2100 + b"/", 414),
}


class TestHostileRequests:
    """A class, so the tree is synced once for every test (the factories are class-scoped)."""

    @pytest.mark.parametrize("name", HOSTILE_PATHS)
    @pytest.mark.parametrize("target", [b"boot.ipxe", b"images/pxeboot/vmlinuz"])
    def test_a_path_no_distribution_serves_gets_a_4xx_and_stores_nothing(
        self, tree, cache, name, target
    ):
        raw = Raw(tree["base_url"])
        middle, expected = HOSTILE_PATHS[name]
        before = _entries(cache, tree["base_path"])
        status, _, body = raw.get(raw.root + middle + target)
        assert status == expected, (name, body)
        assert _entries(cache, tree["base_path"]) <= before

    @pytest.mark.parametrize(
        "raw_bytes",
        [
            b"42/x86_64/\xff/boot.ipxe",  # a raw byte that is no token character
            b"42/x86_64/" + b"a" * 9000,  # a request line beyond aiohttp's 8190 bytes
            b"42/x86_64/a b",
            b"42/x86_64/%0aboot.ipxe",  # a decoded newline: no route matches it
        ],
    )
    def test_bytes_the_http_parser_or_router_refuses_get_a_4xx(self, tree, raw_bytes):
        status, _, _ = Raw(tree["base_url"]).get(raw_bytes)
        assert 400 <= status < 500

    @pytest.mark.parametrize(
        "host",
        [
            b"a b",
            b"10.0.2.2:24816;reboot",
            b"evil.example/x",
            b"\xff\xfe",  # bytes that are no UTF-8: pulpcore's cache answered 500
            b"pulp.example:99999",  # a port beyond 65535: pulpcore's cache answered 500
            b"pulp.example:",
            b"[zz]",
            b"a" * 64 + b".example",  # a label longer than DNS allows
            b"a." * 200,  # a name longer than 253 characters
        ],
    )
    @pytest.mark.parametrize("path", [b"boot.ipxe", KERNEL, b"42/x86_64/"])
    def test_a_host_header_that_is_no_host_name_gets_400(self, tree, cache, host, path):
        before = _entries(cache, tree["base_path"])
        status, _, body = Raw(tree["base_url"]).get(path, host=host)
        assert status == 400 and b"Host" in body, (host, path)
        assert _entries(cache, tree["base_path"]) <= before

    @pytest.mark.parametrize(
        "value",
        [
            b"bytes=0-0",
            b"bytes=10-19",
            b"bytes=-7",
            b"bytes=5-",
            b"bytes=5-2",
            b"bytes=-",
            b"bytes=abc-def",
            b"items=0-1",
            b"bytes=0-0,2-3",
            b",".join(b"%d-%d" % (n, n) for n in range(1000)).join([b"bytes=", b""]),
            b"bytes=99999999999999999999999999-",
            b"bytes=\xff-\xfe",
            b"bytes=" + b"9" * 8000,
        ],
    )
    def test_range_headers_of_every_shape_never_get_a_5xx(self, tree, value):
        raw = Raw(tree["base_url"])
        headers = b"Range: " + value + b"\r\n"
        status, answer, body = raw.get(KERNEL, headers)
        assert status in (200, 206, 416), value
        if status == 200:
            assert body == tree["kernel"]
        whole = raw.get(b"42/x86_64/boot.ipxe")[2]
        status, answer, body = raw.get(b"42/x86_64/boot.ipxe", headers)
        # Documents ignore Range (RFC 9110 allows it): a part is never cached as the whole.
        assert status == 200 and body == whole and answer["Accept-Ranges"] == "none"

    @pytest.mark.parametrize(
        "headers, expected",
        [
            (b"".join(b"X-Header-%d: a\r\n" % n for n in range(200)), 400),  # > 128 headers
            (b"X-Big: " + b"a" * 17_000 + b"\r\n", 400),  # > pulpcore's 16 KiB field limit
            (b"X-Big: " + b"a" * 16_000 + b"\r\n", 200),  # within it: served, nothing kept
            (b"Cookie: " + b"a=b; " * 3000 + b"\r\n", 200),
            (b"X-Forwarded-Host: " + b"a," * 5000 + b"\r\n", 200),
            (b"Content-Length: 5\r\n\r\nhello", 200),  # a body on a GET is never read
        ],
    )
    def test_huge_or_many_headers_get_a_4xx_or_the_plain_answer(
        self, tree, cache, headers, expected
    ):
        raw = Raw(tree["base_url"])
        if headers.endswith(b"hello"):  # the body follows the blank line Raw.get adds
            status, _, body = raw.send(
                b"GET " + raw.root + b"boot.ipxe HTTP/1.1\r\nHost: " + raw.host + b"\r\n"
                b"Connection: close\r\n" + headers
            )
        else:
            status, _, body = raw.get(b"boot.ipxe", headers)
        assert status == expected
        if expected == 200:
            assert body.startswith(b"#!ipxe\n")
            key = f"/pulp/content/{tree['base_path']}/boot.ipxe:GET"
            stored = {e for e in _entries(cache, tree["base_path"]) if e.startswith(key)}
            assert stored <= {key}

    @pytest.mark.parametrize(
        "method, expected",
        [(m, 405) for m in (b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"TRACE")]
        + [(b"FOO", 400), (b"G\xffT", 400)],  # no method llhttp knows: its parser refuses it
    )
    def test_methods_other_than_get_and_head_get_a_4xx(self, tree, method, expected):
        for path in (b"boot.ipxe", KERNEL):
            status, _, _ = Raw(tree["base_url"]).get(path, b"Content-Length: 0\r\n", method=method)
            assert status == expected, (method, path)

    def test_cache_entries_are_one_per_document_and_method_whatever_the_headers(self, tree, cache):
        raw = Raw(tree["base_url"])
        cache.delete(tree["base_path"])
        for n in range(60):
            for path in DOCUMENTS:
                assert raw.get(path, host=b"h%d.example:%d" % (n, n + 1))[0] == 200
                forwarded = b"X-Forwarded-Host: x%d.example\r\nX-Forwarded-Proto: https\r\n" % n
                status, _, body = raw.get(path, forwarded)
                assert status == 200 and b"x%d.example" % n not in body
            # A made-up release: 404, never stored (one entry per name would fill Redis).
            assert raw.get(b"r%d/x86_64/boot.ipxe" % n)[0] == 404
        # pulpcore's own route stores a 404 per made-up path (docs/serving.md says so).
        assert raw.get(b"42/x86_64/made-up")[0] == 404
        for path in DOCUMENTS:
            assert raw.get(path, host=b"10.0.2.2:24816")[0] == 200
            assert raw.get(path, method=b"HEAD")[0] == 200
        prefix = f"/pulp/content/{tree['base_path']}/"
        # One entry per document and method: none holds a host or a forwarded header.
        assert _entries(cache, tree["base_path"]) == {
            f"{prefix}{path.decode()}:{method}" for path in DOCUMENTS for method in ("GET", "HEAD")
        } | {f"{prefix}42/x86_64/made-up:GET"}

    def test_an_entry_lives_as_long_as_the_docs_say(self, tree, cache, pulp_settings):
        """docs/serving.md "Caching": pulpcore's EXPIRES_TTL, 600 s unless the admin changes it."""
        ttl = pulp_settings.CACHE_SETTINGS["EXPIRES_TTL"]
        assert ttl == 600  # the stack runs pulpcore's default, the value the docs name
        cache.delete(tree["base_path"])
        raw = Raw(tree["base_url"])
        written = time.time()
        assert raw.get(b"42/x86_64/grub.cfg")[0] == 200
        assert ttl - 60 < cache.ttl(tree["base_path"]) <= ttl
        key = f"/pulp/content/{tree['base_path']}/42/x86_64/grub.cfg:GET"
        entry = json.loads(cache.hget(tree["base_path"], key))
        assert written + ttl - 60 < entry["expires"] <= time.time() + ttl
        status, headers, _ = raw.get(b"42/x86_64/grub.cfg")
        assert status == 200 and headers["X-PULP-CACHE"] == "HIT"

    def test_a_path_of_thousands_of_segments_is_refused_before_pulpcore_matches_it(
        self, tree, cache
    ):
        """pulpcore's base-path match is cubic in the segments: 4,000 of them held a worker
        past gunicorn's timeout (it was killed). A kickstart distribution's path that long
        is refused before that match; the worker keeps answering."""
        raw = Raw(tree["base_url"])
        for tail in (b"boot.ipxe", b"x"):
            status, _, body = raw.get(b"a/" * 4000 + tail)
            assert status == 414, body
        status, _, body = raw.get(KERNEL)
        assert status == 200 and body == tree["kernel"]

    def test_the_cache_keeps_answering_the_plain_path_after_hostile_variants(self, tree, cache):
        """Variants that decode to a plain path (an encoded "/") once stored pulpcore's 404
        under that path's entry, so every later client got 404: refused now, stored never."""
        raw = Raw(tree["base_url"])
        cache.delete(tree["base_path"])
        for variant in (b"42%2Fx86_64%2Fboot.ipxe", b"42/x86_64/images%2Fpxeboot%2Fvmlinuz"):
            assert raw.get(variant)[0] == 400
        assert _entries(cache, tree["base_path"]) == set()
        assert raw.get(b"42/x86_64/boot.ipxe")[0] == 200
        assert raw.get(KERNEL)[2] == tree["kernel"]
