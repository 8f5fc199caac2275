"""Where generated documents point, what a request may be, what the caches key on and hold."""

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from pulp_kickstart_oci.app.content import DocumentCache, DocumentMemo
from pulp_kickstart_oci.app.serving import (
    base_path_candidates,
    boot_origin,
    is_host_name,
    path_problem,
)


class _Request:
    """What boot_origin reads of an aiohttp request."""

    def __init__(self, host, scheme="http", headers=None):
        self.host = host
        self.scheme = scheme
        self.headers = headers or {}


ORIGIN = "https://pulp.example.com"


@pytest.mark.parametrize(
    "allowed,host,expected",
    [
        (["10.0.2.2:24816"], "10.0.2.2:24816", "http://10.0.2.2:24816"),
        # GRUB's HTTP client sends Host without the port it connected to.
        (["10.0.2.2:24816"], "10.0.2.2", "http://10.0.2.2:24816"),
        (["[fd00::1]:8080"], "[fd00::1]", "http://[fd00::1]:8080"),
        (["boot.lab:8080"], "BOOT.lab", "http://boot.lab:8080"),
        # A name listed with two ports is ambiguous: CONTENT_ORIGIN.
        (["10.0.2.2:24816", "10.0.2.2:8080"], "10.0.2.2", ORIGIN),
        # The name listed bare is an exact match, whatever else is listed.
        (["10.0.2.2", "10.0.2.2:8080"], "10.0.2.2", "http://10.0.2.2"),
        # Another port than the listed one is not the listed entry.
        (["10.0.2.2:24816"], "10.0.2.2:1", ORIGIN),
        (["10.0.2.2:24816"], "evil.example", ORIGIN),
        (["10.0.2.2:24816"], "10.0.2.20", ORIGIN),
        (["10.0.2.2:24816"], "10.0.2.2:24816@evil", ORIGIN),
        ([], "10.0.2.2", ORIGIN),
    ],
)
def test_boot_origin(allowed, host, expected):
    with override_settings(
        CONTENT_ORIGIN=ORIGIN,
        KICKSTART_BOOT_HOSTS=allowed,
        KICKSTART_TRUST_FORWARDED_HEADERS=False,
    ):
        assert boot_origin(_Request(host)) == expected


def test_forwarded_headers_count_only_when_trusted_and_listed():
    headers = {"X-Forwarded-Host": "boot.lab", "X-Forwarded-Proto": "https"}
    request = _Request("10.0.0.5:24816", headers=headers)
    with override_settings(CONTENT_ORIGIN=ORIGIN, KICKSTART_BOOT_HOSTS=["boot.lab:443"]):
        with override_settings(KICKSTART_TRUST_FORWARDED_HEADERS=False):
            assert boot_origin(request) == ORIGIN
        with override_settings(KICKSTART_TRUST_FORWARDED_HEADERS=True):
            assert boot_origin(request) == "https://boot.lab:443"


# What one content-app request may be (serving.path_problem, is_host_name): the grammar
# and caps docs/serving.md "HTTP behaviour" states.


@pytest.mark.parametrize(
    "path",
    [
        "fedora/boot.ipxe",
        "sample/fedora/42/x86_64/.treeinfo",
        "sample/fedora/42/x86_64/pxelinux.cfg/default",
        "sample/fedora/42/x86_64/EFI/BOOT/grubx64.efi",
        "sample/fedora/42-beta/aarch64/images/pxeboot/vmlinuz",
        "a_b~c+d/9.4/x86_64/",
        "fedora/",
    ],
)
def test_paths_a_distribution_serves_pass(path):
    assert path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    [
        "fedora//boot.ipxe",  # an empty segment
        "/fedora/boot.ipxe",
        "fedora/./boot.ipxe",
        "fedora/../fedora/boot.ipxe",
        "fedora/..",
        "fedora/42%2Fx86_64/boot.ipxe",  # an encoded "/" (path_safe keeps it encoded)
        "fedora/%ff/boot.ipxe",  # a percent-encoding that is no UTF-8
        "fedora/a\x00b",
        "fedora/a\nb",
        "fedora/a b",
        "fedora/é",
        "fedora/a;b",
        "fedora//",
    ],
)
def test_paths_no_distribution_serves_are_a_bad_request(path):
    assert path_problem(path)[0] == 400


def test_overlong_paths_are_refused_whatever_they_hold():
    with override_settings(
        KICKSTART_CONTENT_MAX_PATH_LENGTH=64, KICKSTART_CONTENT_MAX_PATH_SEGMENTS=4
    ):
        assert path_problem("a/b/c/" + "d" * 58) is None  # 64 characters, 4 segments
        assert path_problem("a/b/c/" + "d" * 59)[0] == 414
        assert path_problem("a/b/c/d/") is None  # a listing: the "/" at the end adds none
        assert path_problem("a/b/c/d/e")[0] == 414
        # Checked before the grammar: an overlong path of bad bytes is a 414 too.
        assert path_problem("\x00" * 65)[0] == 414


def test_base_path_candidates_are_bounded_and_grammatical():
    with override_settings(
        KICKSTART_CONTENT_MAX_PATH_LENGTH=64, KICKSTART_CONTENT_MAX_PATH_SEGMENTS=4
    ):
        assert base_path_candidates("sample/fedora/42/x") == [
            "sample",
            "sample/fedora",
            "sample/fedora/42",
            "sample/fedora/42/x",
        ]
        assert base_path_candidates("a/" * 10_000) == ["a", "a/a", "a/a/a", "a/a/a/a"]
        # Never a name that holds what no base path may hold (a query would choke on NUL).
        assert base_path_candidates("sample/\x00/x") == ["sample"]
        assert base_path_candidates("sample//fedora/x") == ["sample"]
        # Cut inside a segment: the cut segment is no name.
        assert base_path_candidates("ab/" + "c" * 100) == ["ab"]


@pytest.mark.parametrize(
    "host",
    ["pulp.example", "pulp.example:24816", "10.0.2.2:24816", "[fd00::1]:8080", "a.", "_boot"],
)
def test_host_names_pass(host):
    assert is_host_name(host)


@pytest.mark.parametrize(
    "host",
    [
        "a b",
        "a:99999",  # no port above 65535 (pulpcore's cache would answer 500)
        "a:",
        "a..b",
        "[zz]",
        "\udcff\udcfe",  # bytes that are no UTF-8, as aiohttp hands them on
        "é.example",
        "a" * 64,  # a label longer than DNS allows
        ".".join(["a" * 63] * 4) + ".b",  # a name longer than 253 characters
        "10.0.2.2:24816;reboot",
        "evil.example/x",
    ],
)
def test_what_is_no_host_name_is_refused(host):
    assert not is_host_name(host)


@given(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
        st.text(alphabet="aZ09f-_.:[]", max_size=300),
    )
)
@settings(max_examples=1000, deadline=None)
def test_every_host_name_that_passes_also_passes_yarl(host):
    """pulpcore builds request.url from the Host: what passes here never makes it fail (a 500)."""
    if is_host_name(host):
        URL.build(scheme="http", authority=host)


def test_cache_keys_hold_the_resolved_origin_never_the_host_text():
    keys = set()
    with override_settings(
        CONTENT_ORIGIN=ORIGIN,
        KICKSTART_BOOT_HOSTS=["10.0.2.2:24816"],
        KICKSTART_TRUST_FORWARDED_HEADERS=True,
    ):
        cache = DocumentCache()
        for n in range(200):
            for headers in (
                {},
                {"X-Forwarded-Host": f"x{n}.example"},
                {"X-Forwarded-Proto": "gopher"},
            ):
                request = _Request(f"h{n}.example:{n}", headers=headers)
                request.path, request.method = "/pulp/content/d/boot.ipxe", "GET"
                keys.add(cache.make_key(request))
        request = _Request("10.0.2.2:24816")
        request.path, request.method = "/pulp/content/d/boot.ipxe", "GET"
        keys.add(cache.make_key(request))
    assert keys == {
        f"/pulp/content/d/boot.ipxe:GET:{ORIGIN}",
        "/pulp/content/d/boot.ipxe:GET:http://10.0.2.2:24816",
    }


class _Body:
    def __init__(self, size):
        self.body = b"x" * size


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5000)), max_size=300))
@settings(max_examples=200, deadline=None)
def test_the_document_memo_stays_within_its_bytes(puts):
    memo = DocumentMemo(max_bytes=20_000)
    for key, size in puts:
        memo.put(key, _Body(size))
        kept = [memo._entries[k] for k in memo._entries]
        assert memo.size == sum(len(d.body) + DocumentMemo.ENTRY_OVERHEAD for d in kept)
        assert memo.size <= memo.max_bytes
    if puts:
        key, size = puts[-1]
        # The newest entry is kept unless it alone is larger than the bound.
        fits = size + DocumentMemo.ENTRY_OVERHEAD <= memo.max_bytes
        assert (memo.get(key) is not None) == fits
