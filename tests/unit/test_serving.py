"""Where generated documents point, what a request may be, and the document kinds.

Documents are a function of (repository version, distribution, settings): the
tests below give the registry a stand-in distribution (no database) and check
the URLs, the listing and the export set it derives, with domains on and off.
"""

import datetime
import json
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import make_mocked_request
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from pulp_kickstart_oci.app import documents
from pulp_kickstart_oci.app.content import served_path
from pulp_kickstart_oci.app.models import KickstartDistribution
from pulp_kickstart_oci.app.netboot import layout
from pulp_kickstart_oci.app.serving import (
    base_path_candidates,
    boot_origin,
    is_host_name,
    parse_origin,
    path_problem,
    root_url,
)

ORIGIN = "https://pulp.example.com"


class _Trees(list):
    """What the registry reads of a queryset of trees."""

    def filter(self, version, arch):
        return _Trees(t for t in self if (t.version, t.arch) == (version, arch))

    def first(self):
        return self[0] if self else None


def _tree(version="42", arch="x86_64", grub=True, pk=1):
    files = [
        {"role": "kernel", "path": "images/pxeboot/vmlinuz", "sha256": "a" * 64},
        {"role": "initrd", "path": "images/pxeboot/initrd.img", "sha256": "b" * 64},
    ]
    if grub:
        files.append({"role": "grub", "path": "EFI/BOOT/grubx64.efi", "sha256": "c" * 64})
    return SimpleNamespace(
        pk=pk,
        version=version,
        arch=arch,
        oci_arch="amd64",
        digest="sha256:" + "d" * 64,
        identity="sha256:" + "e" * 64,
        files=files,
        warnings=[],
        source={},
        annotations={},
    )


class _Distribution:
    """A stand-in KickstartDistribution: what the document registry reads of one."""

    def __init__(self, trees=(), boot_origin=None, domain="default"):
        self.base_path = "sample/fedora"
        self.kernel_args = "console=ttyS0"
        self.kickstart_url = None
        self.boot_origin = boot_origin
        self.coreos_boot, self.ignition_url, self.install_device = "live", None, None
        self.bootc_image, self.bootc_transport = None, "registry"
        self.bootc_verify_signature, self.bootc_kickstart = True, False
        self.pulp_domain = SimpleNamespace(name=domain)
        self._trees = list(trees)
        self.version = SimpleNamespace(pulp_created=datetime.datetime(2026, 1, 1))

    def served_version(self):
        return self.version

    def trees_of(self, version):
        return _Trees(self._trees if version is not None else [])

    def served_tags(self, version):
        return {}

    def served_signatures(self, version):
        return {}

    def served_release_indexes(self, version):
        return []

    def served_manifests(self, version):
        return {}

    def served_indexes(self, version):
        return []


def _settings(**extra):
    """The tests' settings; domains off unless a test turns them on (the unit suite also
    runs with PULP_DOMAIN_ENABLED=true, see the Makefile's unit-domains)."""
    extra.setdefault("DOMAIN_ENABLED", False)
    return override_settings(
        CONTENT_ORIGIN=ORIGIN, KICKSTART_BOOT_HOSTS=["10.0.2.2:24816"], **extra
    )


@pytest.mark.parametrize(
    "chosen, expected",
    [
        (None, ORIGIN),
        ("http://10.0.2.2:24816", "http://10.0.2.2:24816"),
        ("https://PULP.example.com", "https://PULP.example.com"),  # CONTENT_ORIGIN's host
        # Stored while listed, then the admin removed it: CONTENT_ORIGIN at once.
        ("http://10.0.2.2:8080", ORIGIN),
        ("http://evil.example", ORIGIN),
    ],
)
def test_boot_origin_is_the_distributions_while_the_admin_allows_it(chosen, expected):
    with _settings():
        assert boot_origin(_Distribution(boot_origin=chosen)) == expected


@pytest.mark.parametrize("domains, expected", [(False, ""), (True, "tenant/")])
def test_every_url_has_the_domain_segment_exactly_when_domains_are_on(domains, expected):
    root = f"http://10.0.2.2:24816/pulp/content/{expected}sample/fedora/"
    distribution = _Distribution([_tree()], boot_origin="http://10.0.2.2:24816", domain="tenant")
    with _settings(DOMAIN_ENABLED=domains):
        assert root_url(distribution) == root
        assert root_url(distribution, "http://export.example:8080") == (
            f"http://export.example:8080/pulp/content/{expected}sample/fedora/"
        )
        written = documents.every_document(distribution)
        index = json.loads(written["trees.json"].body)
        assert index["base_url"] == root and index["trees"][0]["url"] == root + "42/x86_64/"
        assert f"chain {root}42/x86_64/boot.ipxe" in written["boot.ipxe"].body.decode()
        ipxe = written["42/x86_64/boot.ipxe"].body.decode()
        assert f"kernel {root}42/x86_64/images/pxeboot/vmlinuz " in ipxe
        assert f"inst.stage2={root}42/x86_64/ console=ttyS0" in ipxe
        grub_root = f"(http,10.0.2.2:24816)/pulp/content/{expected}sample/fedora/42/x86_64/"
        assert (
            f"linux {grub_root}images/pxeboot/vmlinuz"
            in written["42/x86_64/grub.cfg"].body.decode()
        )
        assert documents.index(distribution) == index


@pytest.mark.parametrize(
    "value, expected",
    [
        ("http://10.0.2.2:24816", "http://10.0.2.2:24816"),
        ("https://boot.example/", "https://boot.example"),
        ("http://[fd00::1]:8080", "http://[fd00::1]:8080"),
        ("http://boot.example.:1", "http://boot.example.:1"),
        ("ftp://boot.example", None),
        ("http://user@boot.example", None),
        ("http://boot.example/pulp", None),
        ("http://boot.example?x=1", None),
        ("http://boot.example#x", None),
        ("http://boot.example:0", None),
        ("http://boot.example:65536", None),
        ("http://[zz::1]", None),
        ("http://a;reboot", None),
        ("http://boot.example\n", None),
        ("http://" + "a" * 64 + ".example", None),
        ("http://" + ".".join(["a" * 60] * 5), None),  # a name of more than 253 characters
        ("http://" + "a." * 200, None),
        ("", None),
    ],
)
def test_origins_follow_a_strict_grammar(value, expected):
    assert parse_origin(value) == expected


@pytest.mark.parametrize(
    "path, kind, release, arch",
    [
        ("boot.ipxe", "IpxeMenu", None, None),
        ("trees.json", "TreesIndex", None, None),
        ("42/x86_64/.treeinfo", "TreeInfo", "42", "x86_64"),
        ("42/x86_64/boot.ipxe", "TreeIpxe", "42", "x86_64"),
        ("42/x86_64/grub.cfg", "GrubConfig", "42", "x86_64"),
        ("42/x86_64/EFI/BOOT/grub.cfg", "EfiGrubConfig", "42", "x86_64"),
        ("42/x86_64/pxelinux.cfg/default", "PxelinuxDefault", "42", "x86_64"),
    ],
)
def test_document_paths_are_located_by_their_names(path, kind, release, arch):
    found, found_release, found_arch = documents.locate(path)
    assert (type(found).__name__, found_release, found_arch) == (kind, release, arch)


class _NoQuery:
    """A distribution that fails the test if the handler reads anything of it."""

    def __getattr__(self, name):
        raise AssertionError(f"read {name} for a path that names no document")


@pytest.mark.parametrize(
    "path",
    [
        "42/x86_64/images/pxeboot/vmlinuz",
        "42/x86_64/",
        "",
        "42/boot.ipxe",  # a tree document's name one level too high
        "42/x86_64/images/boot.ipxe",  # and one level too low
        "42/x86_64/pxelinux.cfg/",
        "x/trees.json",
    ],
)
def test_a_path_that_names_no_document_costs_no_query(path):
    assert documents.locate(path) is None
    assert KickstartDistribution.content_handler(_NoQuery(), path) is None


def test_a_document_of_a_tree_not_served_is_a_404_pulpcore_does_not_cache():
    from aiohttp import web

    with _settings():
        with pytest.raises(web.HTTPNotFound) as raised:
            KickstartDistribution.content_handler(_Distribution([_tree()]), "41/x86_64/grub.cfg")
    assert not getattr(raised.value, "cacheable", False)  # AsyncContentCache.make_entry


def test_documents_answer_whole_with_their_media_type():
    with _settings():
        distribution = _Distribution([_tree()])
        answer = KickstartDistribution.content_handler(distribution, "trees.json")
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.headers["Accept-Ranges"] == "none"
        answer = KickstartDistribution.content_handler(distribution, "42/x86_64/.treeinfo")
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert b"[tree]" in answer.body


def test_a_tree_without_grub_has_no_efi_config_and_one_without_a_kernel_no_boot_configs():
    bare = _tree(version="41", grub=False, pk=2)
    broken = _tree(version="40", pk=3)
    broken.files = [item for item in broken.files if item["role"] != "kernel"]
    distribution = _Distribution([_tree(), bare, broken])
    with _settings():
        written = set(documents.every_document(distribution))
        # The pxelinux.cfg/ listing holds "default" only for a bootable tree.
        assert documents.listing(distribution, "41/x86_64/pxelinux.cfg/") == {"default"}
        assert documents.listing(distribution, "40/x86_64/pxelinux.cfg/") == set()
        assert documents.listing(distribution, "42/x86_64/EFI/BOOT/") == {"grub.cfg"}
        assert documents.listing(distribution, "41/x86_64/EFI/BOOT/") == set()
        assert documents.listing(distribution, "42/x86_64/") == {
            ".treeinfo",
            "boot.ipxe",
            "grub.cfg",
            "pxelinux.cfg/",
            "EFI/",
        }
        assert documents.listing(distribution, "40/x86_64/") == {".treeinfo"}
        assert documents.listing(distribution, "") == {"boot.ipxe", "trees.json"}
        assert documents.listing(distribution, "39/x86_64/") == set()
        assert documents.listing(distribution, "42/") == set()
        assert (
            KickstartDistribution.content_handler(distribution, "41/x86_64/EFI/BOOT/grub.cfg")
            is None
        )
        assert KickstartDistribution.content_handler(distribution, "40/x86_64/grub.cfg") is None
    assert written == {
        "boot.ipxe",
        "trees.json",
        "42/x86_64/.treeinfo",
        "42/x86_64/boot.ipxe",
        "42/x86_64/grub.cfg",
        "42/x86_64/EFI/BOOT/grub.cfg",
        "42/x86_64/pxelinux.cfg/default",
        "41/x86_64/.treeinfo",
        "41/x86_64/boot.ipxe",
        "41/x86_64/grub.cfg",
        "41/x86_64/pxelinux.cfg/default",
        "40/x86_64/.treeinfo",
    }


def test_a_tree_document_must_take_a_path_no_tree_file_can_take(monkeypatch):
    with pytest.raises(TypeError, match="GENERATED_PATHS"):

        class Unreserved(documents.DocumentKind):
            names = ("hello.txt",)
            scope = documents.TREE

    assert not any(type(kind).__name__ == "Unreserved" for kind in documents.kinds())
    with pytest.raises(TypeError, match="ROOT_DOCUMENTS"):

        class UnreservedRoot(documents.DocumentKind):
            names = ("index.html",)
            scope = documents.ROOT

    assert not any(type(kind).__name__ == "UnreservedRoot" for kind in documents.kinds())
    monkeypatch.setattr(layout, "GENERATED_PATHS", (*layout.GENERATED_PATHS, "hello.txt"))
    with pytest.raises(layout.InvalidTitle, match="hello.txt would shadow the generated"):
        layout.check_paths([("hello.txt", layout.OTHER)])


def test_a_new_kind_is_registered_by_subclassing_and_listed_everywhere(monkeypatch):
    monkeypatch.setattr(layout, "GENERATED_PATHS", (*layout.GENERATED_PATHS, "hello.txt"))

    class Hello(documents.DocumentKind):
        names = ("hello.txt",)
        scope = documents.TREE

        def render(self, context):
            return f"hello from {context.tree_url()}\n"

    try:
        distribution = _Distribution([_tree()])
        with _settings():
            assert "hello.txt" in documents.listing(distribution, "42/x86_64/")
            body = documents.every_document(distribution)["42/x86_64/hello.txt"].body
            assert body == f"hello from {ORIGIN}/pulp/content/sample/fedora/42/x86_64/\n".encode()
            answer = KickstartDistribution.content_handler(distribution, "42/x86_64/hello.txt")
            assert answer.body == body
    finally:
        documents.base._KINDS.remove(next(k for k in documents.kinds() if type(k) is Hello))


@pytest.mark.parametrize(
    "domains, url, match_info, expected",
    [
        (
            False,
            "/pulp/content/fedora/42/boot.ipxe",
            {"path": "fedora/42/boot.ipxe"},
            "fedora/42/boot.ipxe",
        ),
        (
            True,
            "/pulp/content/tenant/fedora/42%2Fboot.ipxe",
            {"pulp_domain": "tenant", "path": "fedora/42/boot.ipxe"},
            "fedora/42%2Fboot.ipxe",
        ),
        (True, "/pulp/content/tenant/", {"pulp_domain": "tenant"}, None),  # pulpcore's listing
    ],
)
def test_the_request_rules_read_the_path_below_the_domain(domains, url, match_info, expected):
    """With domains on, pulpcore's route is <prefix>{pulp_domain}/{path}: the rules read
    the path after the domain segment, percent-encoding kept."""
    with override_settings(DOMAIN_ENABLED=domains):
        assert served_path(make_mocked_request("GET", url, match_info=match_info)) == expected


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
