"""bootc.ks (issue 22, section 3): the image reference grammar, the kickstart per release, and
pykickstart (Anaconda's own parser) accepting what is served, with the handler of each
release the tests serve.

pykickstart is a test dependency (functest_requirements.txt).
"""

import http.server
import threading
import warnings

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pykickstart.constants import KS_REBOOT, KS_SHUTDOWN
from pykickstart.errors import KickstartError
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

from pulp_kickstart_oci.app import documents
from pulp_kickstart_oci.app.boot import bootc, configs
from pulp_kickstart_oci.app.netboot import imageref, layout
from tests.unit.test_serving import _Distribution, _tree

# Every release the tests serve, on both sides of the switch from ostreecontainer to bootc.
RELEASES = ("41", "42", "43", "44")
DIGEST = "sha256:" + "0123456789abcdef" * 4
PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def parse(text, release, follow_includes=False):
    """The kickstart as Anaconda of ``release`` reads it: pykickstart's handler of that
    Fedora release; every warning is an error."""
    handler = makeVersion(f"F{release}")
    parser = KickstartParser(handler, followIncludes=follow_includes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parser.readKickstartFromString(text)
    return handler


@pytest.mark.parametrize(
    "value",
    [
        "quay.io/fedora/fedora-bootc:42",
        "quay.io/fedora/fedora-bootc",
        f"quay.io/fedora/fedora-bootc@{DIGEST}",
        f"registry.example.com:5000/os/fedora-bootc:42-x86_64@{DIGEST}",
        "localhost:24818/a/b__c/d-e/f.g/h---i:latest",
        "10.0.2.2:24818/bootc:v1.0_rc",
        "my-registry:5000/x",
    ],
)
def test_registry_references_of_the_distribution_grammar_are_accepted(value):
    assert imageref.check(value, imageref.REGISTRY) == value


@pytest.mark.parametrize(
    "value",
    [
        "fedora-bootc:42",  # no registry host: short names are the installer's to resolve
        "fedora/fedora-bootc:42",  # a short name too: "fedora" is no registry host
        "my-registry/x",
        "quay.io/Fedora/fedora-bootc:42",  # upper-case path component
        "quay.io:99999/fedora/fedora-bootc",  # no such TCP port
        "quay.io:0/fedora/fedora-bootc",
        "quay.io/fedora//bootc",
        "quay.io/fedora/bootc-:42",
        "quay.io/fedora/bootc:",
        "quay.io/fedora/bootc:-x",
        "quay.io/fedora/bootc:" + "a" * 129,
        "quay.io/fedora/bootc@sha256:" + "A" * 64,
        "quay.io/fedora/bootc@sha512:" + "a" * 128,
        "quay.io/fedora/bootc@" + DIGEST[:-1],
        "-quay.io/fedora/bootc",
        "quay.io:/fedora/bootc",
        "quay.io:123456/fedora/bootc",
        "quay.io/fedora/bootc:42 --no-signature-verification",
        "quay.io/fedora/bootc:42\n%pre",
        "quay.io/fedora/bootc:$(reboot)",
        "quay.io/fedora/bootc;reboot",
        "quay.io/fedora/bootc:42'",
        "quay.io/fedora/bootc:４２",
        "quаy.io/fedora/bootc",  # a Cyrillic a
        "docker://quay.io/fedora/bootc",
        "registry:quay.io/fedora/bootc",
        "q.io/" + "a" * 251,  # a name of 256 characters
        "",
    ],
)
def test_malformed_registry_references_are_refused_naming_the_grammar(value):
    with pytest.raises(imageref.ImageReferenceError, match="registry image reference"):
        imageref.check(value, imageref.REGISTRY)


@pytest.mark.parametrize(
    "value, ok",
    [
        ("/run/install/repo/bootc", True),
        ("/run/install/repo/bootc:42", True),
        ("/mnt/.layout/fedora-bootc_42+x~y", True),
        ("run/install/repo/bootc", False),  # relative
        ("/run/install/../etc", False),
        ("/run/./x", False),
        ("/run//x", False),
        ("/", False),
        ("/run/install repo", False),
        ("/run/x:42:43", False),
        ("/run/x:", False),
        ("/run/x;reboot", False),
        ("/run/$x", False),
        ("/run/x\n", False),
        ("/run/é", False),
        ("quay.io/fedora/bootc:42", False),
        ("/" + "/".join(["a"] * 17), False),  # more segments than a tree path has
    ],
)
def test_oci_references_are_absolute_paths_of_plain_segments(value, ok):
    assert imageref.matches(value, imageref.OCI) is ok
    if not ok:
        with pytest.raises(imageref.ImageReferenceError, match="oci image reference"):
            imageref.check(value, imageref.OCI)


def test_an_unknown_transport_is_refused():
    with pytest.raises(imageref.ImageReferenceError, match="transport 'docker'"):
        imageref.check("quay.io/fedora/bootc", "docker")


_FORBIDDEN = set(" \t\r\n\"'`$;&|<>{}\\#%()*!?=,") | {"\x00", "\x7f"}


@PROPERTY
@given(st.text(max_size=300), st.sampled_from(imageref.TRANSPORTS))
def test_what_the_grammar_accepts_is_printable_ascii_without_syntax(value, transport):
    """Property: whatever the grammar lets through is safe to write into a kickstart."""
    if imageref.matches(value, transport):
        assert value.isascii() and value.isprintable()
        assert not _FORBIDDEN & set(value)
        assert len(value) <= imageref.MAX_REFERENCE


@PROPERTY
@given(
    st.from_regex(imageref.REGISTRY_REFERENCE, fullmatch=True).filter(
        lambda v: len(v.split(":")[0].split("@")[0]) < 200
    ),
    st.sampled_from(RELEASES),
    st.booleans(),
)
def test_every_registry_reference_of_the_grammar_makes_a_kickstart_pykickstart_accepts(
    reference, release, verify
):
    """Property: the grammar and the kickstart agree; pykickstart of the release reads the
    reference back as written."""
    if not imageref.matches(reference, imageref.REGISTRY):
        return  # a name past 255 characters: refused, not written
    image = bootc.BootcImage(reference, imageref.REGISTRY, verify)
    handler = parse(bootc.kickstart(release, "x86_64", image), release)
    if bootc.uses_bootc_command(release):
        assert handler.bootc.sourceImgRef == f"registry:{reference}"
        assert handler.bootc.targetImgRef == reference
    else:
        assert handler.ostreecontainer.url == reference


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("transport", imageref.TRANSPORTS)
@pytest.mark.parametrize("verify", [True, False])
def test_the_kickstart_of_each_release_is_what_its_pykickstart_accepts(release, transport, verify):
    reference = (
        "/run/install/repo/bootc:42" if transport == imageref.OCI else "quay.io/fedora/bootc:42"
    )
    image = bootc.BootcImage(reference, transport, verify)
    text = bootc.kickstart(release, "aarch64", image)
    handler = parse(text, release)
    # The disk defaults, the text installer, the reboot.
    assert handler.zerombr.zerombr and handler.clearpart.initAll
    assert handler.clearpart.disklabel == "gpt"
    assert handler.reqpart.addBoot
    assert [(p.mountpoint, p.grow, p.fstype) for p in handler.partition.partitions] == [
        ("/", True, "xfs")
    ]
    assert handler.displaymode.displayMode is not None
    assert handler.reboot.action == KS_REBOOT
    if int(release) >= 43:
        assert "ostreecontainer" not in text
        assert handler.bootc.seen and not handler.ostreecontainer.seen
        assert handler.bootc.sourceImgRef == f"{transport}:{reference}"
        if transport == imageref.REGISTRY:
            assert handler.bootc.targetImgRef == reference
    else:
        assert "\nbootc " not in text
        assert handler.ostreecontainer.seen
        assert handler.ostreecontainer.url == reference
        assert handler.ostreecontainer.transport == ("oci" if transport == imageref.OCI else None)
        assert handler.ostreecontainer.noSignatureVerification is (not verify)


def test_the_two_commands_conflict_so_one_kickstart_cannot_serve_both_sides_of_43():
    """Why the command is picked by release: pykickstart of 43 refuses both at once."""
    both = (
        "ostreecontainer --url=quay.io/fedora/bootc:43\n"
        "bootc --source-imgref=registry:quay.io/fedora/bootc:43\n"
    )
    with pytest.raises(KickstartError):
        parse(both, "43")
    with pytest.raises(KickstartError):
        parse("bootc --source-imgref=registry:quay.io/fedora/bootc:42\n", "42")


@pytest.mark.parametrize(
    "release, bootc_command",
    [("9.4", False), ("10", False), ("42", False), ("42-beta", False), ("43", True)]
    + [("44", True), ("100", True), ("rawhide", True)],
)
def test_the_command_is_picked_by_the_release_number(release, bootc_command):
    assert bootc.uses_bootc_command(release) is bootc_command


class _SiteKickstart(http.server.BaseHTTPRequestHandler):
    BODY = (
        b"lang en_US.UTF-8\nkeyboard us\ntimezone UTC --utc\nrootpw --lock\n"
        b"clearpart --all --initlabel --disklabel=msdos\npoweroff\n"
        b"%post\necho site > /etc/site\n%end\n"
    )

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, *args):
        pass


@pytest.fixture
def site_kickstart_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SiteKickstart)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/site.ks"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("release", RELEASES)
def test_the_site_kickstart_is_included_last_and_wins_over_the_defaults(
    release, site_kickstart_url
):
    """pykickstart fetches the %include as Anaconda does: the site's commands are there, and
    its single-valued ones (clearpart, poweroff) replace the defaults."""
    image = bootc.BootcImage("quay.io/fedora/bootc:42")
    text = bootc.kickstart(release, "x86_64", image, site_kickstart_url)
    assert text.endswith(f"%include {site_kickstart_url}\n")
    handler = parse(text, release, follow_includes=True)
    assert handler.timezone.timezone == "UTC" and handler.rootpw.lock
    assert handler.clearpart.disklabel == "msdos"
    assert handler.reboot.action == KS_SHUTDOWN  # the site's poweroff, not the default reboot
    assert [s.script.strip() for s in handler.scripts] == ["echo site > /etc/site"]
    assert (handler.bootc if int(release) >= 43 else handler.ostreecontainer).seen


@pytest.mark.parametrize(
    "site",
    [
        "nfs:server:/ks.cfg",
        "http://example.com/ks.cfg'",
        "http://example.com/a b",
        "http://example.com/$x",
        "http://example.com/é",
    ],
)
def test_a_site_kickstart_that_cannot_be_included_is_refused(site):
    with pytest.raises(bootc.UnsafeKickstart, match="kickstart_url"):
        bootc.kickstart("42", "x86_64", bootc.BootcImage("quay.io/a/b"), site)


@pytest.mark.parametrize(
    "reference", ["quay.io/a/b\n%pre\nreboot\n%end", "quay.io/a/b --url=evil.io/x", "a/b"]
)
def test_the_renderer_checks_the_reference_again(reference):
    with pytest.raises(bootc.UnsafeKickstart):
        bootc.kickstart("43", "x86_64", bootc.BootcImage(reference))


@pytest.mark.parametrize("release, arch", [("42\n", "x86_64"), ("42", "x86 64"), ("latest", "a")])
def test_the_renderer_refuses_a_release_or_arch_out_of_grammar(release, arch):
    with pytest.raises(bootc.UnsafeKickstart):
        bootc.kickstart(release, arch, bootc.BootcImage("quay.io/a/b"))


def _with_bootc(trees, **fields):
    distribution = _Distribution(trees)
    distribution.bootc_image = "quay.io/fedora/fedora-bootc:42"
    for name, value in fields.items():
        setattr(distribution, name, value)
    return distribution


ORIGIN = "https://pulp.example.com"
ROOT = f"{ORIGIN}/pulp/content/sample/fedora/"


def _settings():
    return override_settings(CONTENT_ORIGIN=ORIGIN, DOMAIN_ENABLED=False, KICKSTART_BOOT_HOSTS=[])


def _coreos_tree():
    tree = _tree("41.20250101.3.0", pk=2)
    tree.kind = layout.COREOS
    tree.source = {"stream": "stable"}
    tree.files.append({"role": "rootfs", "path": "rootfs.img", "sha256": "f" * 64})
    return tree


def test_bootc_ks_is_a_document_of_anaconda_trees_listed_exported_and_in_trees_json():
    distribution = _with_bootc([_tree("42"), _tree("43", pk=3), _coreos_tree()])
    with _settings():
        written = documents.every_document(distribution)
        assert "bootc.ks" in documents.listing(distribution, "42/x86_64/")
        assert "bootc.ks" not in documents.listing(distribution, "41.20250101.3.0/x86_64/")
        index = documents.index(distribution)
    assert "ostreecontainer --url=quay.io/fedora/fedora-bootc:42" in (
        written["42/x86_64/bootc.ks"].body.decode()
    )
    assert "bootc --source-imgref=registry:quay.io/fedora/fedora-bootc:42" in (
        written["43/x86_64/bootc.ks"].body.decode()
    )
    assert "41.20250101.3.0/x86_64/bootc.ks" not in written
    assert written["42/x86_64/bootc.ks"].content_type.startswith("text/plain")
    bootc_urls = {tree["version"]: tree["bootc"] for tree in index["trees"]}
    assert bootc_urls == {
        "42": f"{ROOT}42/x86_64/bootc.ks",
        "43": f"{ROOT}43/x86_64/bootc.ks",
        "41.20250101.3.0": None,
    }


def test_without_an_image_there_is_no_bootc_ks():
    distribution = _Distribution([_tree("42")])
    with _settings():
        assert "bootc.ks" not in documents.listing(distribution, "42/x86_64/")
        assert "42/x86_64/bootc.ks" not in documents.every_document(distribution)
        assert documents.index(distribution)["trees"][0]["bootc"] is None
        located = documents.locate("42/x86_64/bootc.ks")
        assert documents.render(distribution, located) is None


@pytest.mark.parametrize("bootc_kickstart", [True, False])
def test_boot_configs_point_inst_ks_at_bootc_ks_when_asked(bootc_kickstart):
    distribution = _with_bootc(
        [_tree("42"), _coreos_tree()],
        bootc_kickstart=bootc_kickstart,
        kickstart_url="http://ks.example/site.ks",
    )
    with _settings():
        written = documents.every_document(distribution)
    wanted = (
        f"inst.ks={ROOT}42/x86_64/bootc.ks" if bootc_kickstart else "inst.ks=http://ks.example/"
    )
    for name in ("boot.ipxe", "grub.cfg", "pxelinux.cfg/default"):
        body = written[f"42/x86_64/{name}"].body.decode()
        assert wanted in body and body.count("inst.ks=") == 1
        # A CoreOS tree has no inst.ks at all.
        assert "inst.ks" not in written[f"41.20250101.3.0/x86_64/{name}"].body.decode()
    if bootc_kickstart:
        assert "%include http://ks.example/site.ks\n" in written["42/x86_64/bootc.ks"].body.decode()


def test_the_bootc_ks_url_counts_in_the_command_line_check():
    """inst.ks=<tree URL>bootc.ks is measured with the rest of the line (2,048 bytes)."""
    tree = _tree("42")
    url = "https://pulp.example.com/" + "a" * 900 + "/"
    args = "x" * 600  # about 1,550 bytes without inst.ks, about 2,500 with it
    without = configs.target_for(tree, url, args)
    assert len(f"initrd=initrd.img {without.cmdline}") <= configs.MAX_COMMAND_LINE
    with pytest.raises(configs.NotBootable, match="2048"):
        configs.target_for(tree, url, args, bootc_kickstart=True)


def test_a_tree_file_named_bootc_ks_is_refused():
    with pytest.raises(layout.InvalidTitle, match="bootc.ks"):
        layout.check_paths([("bootc.ks", layout.OTHER)])


def test_the_served_document_parses_with_the_release_handler():
    """What documents render for a stand-in distribution is what pykickstart accepts."""
    distribution = _with_bootc([_tree(r, pk=i) for i, r in enumerate(RELEASES)])
    distribution.bootc_transport, distribution.bootc_image = "oci", "/run/install/repo/b:42"
    distribution.bootc_verify_signature = False
    with _settings():
        written = documents.every_document(distribution)
    for release in RELEASES:
        handler = parse(written[f"{release}/x86_64/bootc.ks"].body.decode(), release)
        if int(release) < 43:
            assert handler.ostreecontainer.transport == "oci"
            assert handler.ostreecontainer.noSignatureVerification


def test_a_stored_value_the_serializer_would_refuse_gives_no_document():
    """The second wall: a reference that reached the database out of grammar is not written."""
    distribution = _with_bootc([_tree("42")], bootc_image="quay.io/a/b\nreboot")
    with _settings():
        assert "42/x86_64/bootc.ks" not in documents.every_document(distribution)
