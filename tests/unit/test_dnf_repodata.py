"""Repodata: RPM version order (rpm-rs) as dnf applies it, repomd.xml and primary metadata
of every compression, bombs stopped at the inflated cap, parser memory bounded whatever
upstream sends, packages spent from the sync's budget, and the errors users see."""

import gzip
import hashlib
import os
import tracemalloc

import pytest
from django.conf import settings
from django.test import override_settings

from pulp_kickstart_oci.app.budget import BudgetExceeded, SyncBudget
from pulp_kickstart_oci.app.dnf import repodata
from pulp_kickstart_oci.app.dnf.errors import DnfError
from pulp_kickstart_oci.testing import dnf


@pytest.mark.parametrize(
    "older, newer",
    [
        (("0", "1.0", "1"), ("0", "1.0", "2")),
        (("0", "1.9", "1"), ("0", "1.10", "1")),  # numeric runs by value
        (("0", "1.0~rc1", "1"), ("0", "1.0", "1")),  # ~ sorts before everything
        (("0", "1.0", "1"), ("0", "1.0^git1", "1")),  # ^ after the base version
        (("0", "1.0^git1", "1"), ("0", "1.0.1", "1")),  # ... and before the next one
        (("0", "1.a", "1"), ("0", "1.1", "1")),  # letters before digits
        (("0", "2.0", "1"), ("1", "1.0", "1")),  # the epoch first
        (("9", "1", "1"), ("10", "1", "1")),  # epochs by value
        (("0", "15.6", "2"), ("0", "15.8", "3")),
        (("0", "6.04", "0.27"), ("0", "6.04", "0.27.fc42")),
    ],
)
def test_compare_evr_orders_as_rpm_does(older, newer):
    assert repodata.compare_evr(older, newer) == -1
    assert repodata.compare_evr(newer, older) == 1


@pytest.mark.parametrize(
    "a, b",
    [
        (("0", "1.0", "1"), ("0", "1.0", "1")),
        (("", "1.0", "1"), ("0", "1.0", "1")),  # no epoch is epoch 0
        (("00", "1.0", "1"), ("0", "1.0", "1")),
        (("0", "2.02", "1"), ("0", "2.2", "1")),  # leading zeros do not count
        (("0", "1_0", "1"), ("0", "1.0", "1")),  # separators are only separators
    ],
)
def test_compare_evr_equal(a, b):
    assert repodata.compare_evr(a, b) == 0


def test_package_ref_nevra_omits_a_zero_epoch():
    ref = repodata.PackageRef("shim-x64", "0", "15.8", "3", "x86_64", "P/s.rpm", "sha256", "a", 1)
    assert ref.nevra == "shim-x64-15.8-3.x86_64"
    assert ref.evr == ("0", "15.8", "3")
    epoch = repodata.PackageRef("g", "1", "2", "3", "noarch", "", "", "", 0)
    assert epoch.nevra == "g-1:2-3.noarch"


def test_an_unreadable_repomd_names_the_tree(tmp_path):
    repomd = tmp_path / "repomd.xml"
    repomd.write_text("<html>not repodata</html>")
    with pytest.raises(DnfError, match=r"^tree: repodata/repomd.xml"):
        repodata.primary_location(str(repomd), "tree")


def test_unreadable_primary_metadata_names_the_tree(tmp_path):
    primary = tmp_path / "primary.xml"
    primary.write_text("<metadata><package type='rpm'><name>x")
    with pytest.raises(DnfError, match="^tree: the primary metadata cannot be parsed"):
        repodata.newest_packages(str(primary), ["x"], {"noarch"}, "tree")


# --- reading real repodata in every compression ----------------------------------------

MiB = 1 << 20
INFLATED = "KICKSTART_MAX_PRIMARY_INFLATED_BYTES"


@pytest.fixture(scope="module")
def rpms(tmp_path_factory):
    """Two shim builds and a noarch syslinux, built by rpmbuild (cheap: no signing)."""
    workdir = tmp_path_factory.mktemp("repodata")
    efi = {"/boot/efi/EFI/fedora/shimx64.efi": b"MZ shim"}
    return [
        dnf.build_rpm(workdir, "shim-x64", "15.6", "2", "x86_64", efi, payload="gzip"),
        dnf.build_rpm(workdir, "shim-x64", "15.8", "3", "x86_64", efi, payload="gzip"),
        dnf.build_rpm(
            workdir,
            "syslinux-nonlinux",
            "6.04",
            "0.27",
            "noarch",
            {"/usr/share/syslinux/pxelinux.0": b"pxe"},
            payload="gzip",
        ),
    ]


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zstd", None])
def test_createrepo_c_repodata_of_every_compression_is_read(compression, rpms, tmp_path):
    tree = dnf.DnfTree(tmp_path / "tree")
    for built in rpms:
        tree.add_rpm(built)
    tree.createrepo(compression=compression or "gz")
    repomd = tree.root / "repodata" / "repomd.xml"
    href, checksum_type, checksum = repodata.primary_location(str(repomd), "tree")
    primary = tree.root / href
    if compression is None:  # createrepo_c always compresses: an uncompressed one by hand
        plain = tmp_path / "primary.xml"
        plain.write_bytes(gzip.decompress(primary.read_bytes()))
        primary = plain
    else:
        assert href.endswith({"gz": ".gz", "xz": ".xz", "bz2": ".bz2", "zstd": ".zst"}[compression])
        assert checksum_type == "sha256"
        assert checksum == hashlib.sha256(primary.read_bytes()).hexdigest()
    found = repodata.newest_packages(
        str(primary), ["shim-x64", "syslinux-nonlinux", "absent"], {"x86_64", "noarch"}, "tree"
    )
    assert {name: ref.nevra for name, ref in found.items()} == {
        "shim-x64": "shim-x64-15.8-3.x86_64",
        "syslinux-nonlinux": "syslinux-nonlinux-6.04-0.27.noarch",
    }
    shim = found["shim-x64"]
    assert shim.location == "Packages/s/shim-x64-15.8-3.x86_64.rpm"
    assert shim.checksum_type == "sha256"
    assert shim.checksum == hashlib.sha256((tree.root / shim.location).read_bytes()).hexdigest()
    assert shim.size == (tree.root / shim.location).stat().st_size


# --- hand-made primary metadata --------------------------------------------------------

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<metadata xmlns="http://linux.duke.edu/metadata/common" '
    'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="0">\n'
)


def package_xml(name, ver="1", rel="1", arch="x86_64", epoch="0", size="10", extra="", **over):
    fields = {
        "checksum": "ab" * 32,
        "href": f"Packages/{name[0]}/{name}-{ver}-{rel}.{arch}.rpm",
        **over,
    }
    return (
        f'<package type="rpm"><name>{name}</name><arch>{arch}</arch>'
        f'<version epoch="{epoch}" ver="{ver}" rel="{rel}"/>'
        f'<checksum type="sha256" pkgid="YES">{fields["checksum"]}</checksum>'
        f"<summary>s</summary><description>d</description>"
        f'<size package="{size}" installed="1" archive="1"/>'
        f'<location href="{fields["href"]}"/>'
        f'<format><rpm:provides><rpm:entry name="{name}"/></rpm:provides>{extra}</format>'
        "</package>\n"
    )


def write_primary(path, *chunks):
    with open(path, "wb") as out:
        out.write(HEAD.encode())
        for chunk in chunks:
            out.write(chunk.encode() if isinstance(chunk, str) else chunk)
        out.write(b"</metadata>\n")
    return str(path)


def newest(path, names=("shim-x64",), arches=("x86_64", "noarch"), **kwargs):
    return repodata.newest_packages(str(path), list(names), set(arches), "tree", **kwargs)


def test_the_newest_build_of_each_wanted_name_and_arch_wins(tmp_path):
    path = write_primary(
        tmp_path / "primary.xml",
        package_xml("shim-x64", "15.8", "3"),
        package_xml("shim-x64", "15.10", "1"),
        package_xml("shim-x64", "99", "1", arch="aarch64"),  # not an arch asked for
        package_xml("shim-x64", "1.0", "1", epoch="1"),  # the epoch first
        package_xml("grub2-efi-x64", "2.12", "1"),
    )
    found = newest(path, ["shim-x64", "grub2-efi-x64"])
    assert {name: ref.nevra for name, ref in found.items()} == {
        "shim-x64": "shim-x64-1:1.0-1.x86_64",
        "grub2-efi-x64": "grub2-efi-x64-2.12-1.x86_64",
    }


@pytest.mark.parametrize(
    "over, field",
    [
        ({"epoch": "one"}, "epoch"),
        ({"epoch": "9" * 11}, "epoch"),
        ({"size": "-1"}, "size"),
        ({"size": ""}, "size"),
        ({"size": "12" * 20}, "size"),
        ({"checksum": "not hex"}, "checksum"),
        ({"checksum": ""}, "checksum"),
        ({"href": ""}, "location"),
        ({"ver": ""}, "version ver"),
    ],
)
def test_a_wanted_package_with_a_malformed_field_is_named(over, field, tmp_path):
    path = write_primary(tmp_path / "p.xml", package_xml("shim-x64", **over))
    with pytest.raises(DnfError) as failure:
        newest(path)
    assert str(failure.value) == (
        f"tree: the primary metadata: package shim-x64.x86_64 has a missing or malformed {field}"
    )
    # The same package under a name nobody asked for is not looked at.
    assert newest(write_primary(tmp_path / "q.xml", package_xml("other", **over))) == {}


def test_errors_name_the_file_when_the_caller_gives_it(tmp_path):
    path = write_primary(tmp_path / "p.xml", package_xml("shim-x64", size="x"))
    with pytest.raises(DnfError, match="^tree: repodata/abc-primary.xml: package shim-x64"):
        newest(path, href="repodata/abc-primary.xml")


@pytest.mark.parametrize(
    "document, problem",
    [
        ("<html><body>Not found</body></html>", "its root element is <html>, not <metadata>"),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><metadata/>',
            "it has a DOCTYPE; repodata never declares one",
        ),
        (HEAD + "<a>" * 20, "elements nest more than 16 deep"),
        (HEAD + "<package><name>" + "n" * 5000, "<name> holds more than 4096 characters"),
        (HEAD + '<package><location href="' + "h" * 5000 + '"/>', "attribute href is longer"),
        (HEAD + "<package><x" + ' a="1"' * 60_000, "one tag, comment or declaration"),
        (HEAD + "<!--" + "c" * 300_000, "one tag, comment or declaration"),
        (HEAD + "<" + "n" * 300 + "/>", "a name is longer than 256 characters"),
        (
            HEAD + "".join(f"<e{n}/>" for n in range(2000)),
            "it uses more than 1024 distinct element and attribute names",
        ),
        (
            HEAD + "".join(f'<e a{n}=""/>' for n in range(2000)),
            "it uses more than 1024 distinct element and attribute names",
        ),
    ],
    ids=[
        "html",
        "doctype",
        "nesting",
        "long text",
        "long attribute",
        "long tag",
        "long comment",
        "long name",
        "element names",
        "attribute names",
    ],
)
def test_what_the_parser_will_not_hold_is_refused(document, problem, tmp_path):
    path = tmp_path / "p.xml"
    path.write_text(document)
    with pytest.raises(DnfError) as failure:
        newest(path)
    assert str(failure.value).startswith(f"tree: the primary metadata cannot be parsed: {problem}")


# --- bombs ------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zstd", None])
def test_a_primary_bomb_of_every_compression_stops_at_the_inflated_cap(compression, tmp_path):
    if compression is None:
        bomb = (dnf.PRIMARY_HEAD + "A" * (16 * MiB) + dnf.PRIMARY_TAIL).encode()
    else:
        bomb, _suffix = dnf.primary_bomb(compression, 16 * MiB)
        assert len(bomb) < 256 * 1024
    path = tmp_path / "primary"
    path.write_bytes(bomb)
    with override_settings(KICKSTART_MAX_PRIMARY_INFLATED_BYTES=4 * MiB):
        with pytest.raises(DnfError) as failure:
            newest(path, href="repodata/x-primary.xml.gz")
    verb = "is larger than" if compression is None else "decompresses to more than"
    assert str(failure.value) == (
        f"tree: repodata/x-primary.xml.gz {verb} {INFLATED} ({4 * MiB} bytes)"
    )
    # Under a cap that admits it, the same file is valid metadata: the cap refused it.
    with override_settings(KICKSTART_MAX_PRIMARY_INFLATED_BYTES=32 * MiB):
        assert newest(path)["shim-x64"].nevra == "shim-x64-99-1.x86_64"


def test_the_default_cap_admits_what_a_large_real_primary_inflates_to():
    assert settings.KICKSTART_MAX_PRIMARY_INFLATED_BYTES == 1024 * MiB


def _peak(function):
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


SHAPES = {
    # the attack of issue 18: a 300 MiB description (createrepo_c held it twice)
    "one huge text node": lambda: (
        [package_xml("x", extra=""), "<package><description>"]
        + ["A" * MiB] * 48
        + ["</description></package>"]
    ),
    # createrepo_c kept every dependency of the package in memory
    "one package with 250,000 dependencies": lambda: [
        "<package><name>x</name><format><rpm:provides>",
        *['<rpm:entry name="a" flags="EQ" ver="1"/>' * 25_000] * 10,
        "</rpm:provides></format></package>",
    ],
    "many packages": lambda: [package_xml(f"p{n}") for n in range(20_000)],
    # expat keeps every name it meets: up to MAX_NAMES of them, each MAX_NAME long at most
    "the longest names, as many as accepted": lambda: [
        "<package>",
        *[f'<{"e" * 250}{n:04} {"a" * 250}{n:04}="v"/>' for n in range(500)],
        *['<rpm:entry name="x"/>' * 10_000] * 20,
        "</package>",
    ],
    "whitespace": lambda: [" " * MiB] * 48,
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_parser_memory_does_not_grow_with_what_upstream_sends(shape, tmp_path):
    path = write_primary(tmp_path / "p.xml", *SHAPES[shape](), package_xml("shim-x64"))
    assert os.path.getsize(path) > 4 * MiB  # several times the bound below
    found, peak = _peak(lambda: newest(path))
    assert found["shim-x64"].nevra == "shim-x64-1-1.x86_64"
    assert peak < MiB, f"{shape}: {peak} bytes"


# --- the per-sync budget ----------------------------------------------------------------


def test_packages_read_are_spent_from_the_sync_budget(tmp_path):
    path = write_primary(tmp_path / "p.xml", *[package_xml(f"p{n}") for n in range(2500)])
    with SyncBudget.opened(repodata_entries=10_000) as budget:
        newest(path)
        newest(path)
    assert budget.spent["repodata_entries"] == 5000
    with SyncBudget.opened(repodata_entries=4000):
        newest(path)
        with pytest.raises(BudgetExceeded) as failure:
            newest(path)
    assert str(failure.value) == (
        "tree: the primary metadata: the sync went past KICKSTART_SYNC_MAX_REPODATA_ENTRIES (4000)"
    )
    assert newest(path) == {}  # outside a sync there is no budget to spend


# --- repomd.xml -------------------------------------------------------------------------

REPOMD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>{records}</repomd>'
)


def record(kind, href, checksum='<checksum type="sha256">' + "ab" * 32 + "</checksum>"):
    return f'<data type="{kind}">{checksum}<location href="{href}"/><size>1</size></data>'


def locate(tmp_path, records):
    path = tmp_path / "repomd.xml"
    path.write_text(REPOMD.format(records=records))
    return repodata.primary_location(str(path), "tree")


def test_the_first_primary_record_is_the_one(tmp_path):
    records = record("filelists", "f.xml.gz") + record("primary", "p.xml.zst")
    records += record("primary", "second.xml.gz")
    assert locate(tmp_path, records) == ("p.xml.zst", "sha256", "ab" * 32)
    assert locate(tmp_path, record("primary", "p.xml", checksum="")) == ("p.xml", None, None)


@pytest.mark.parametrize(
    "records, message",
    [
        (record("filelists", "f.xml.gz"), "tree: repodata/repomd.xml lists no primary metadata"),
        (
            '<data type="primary"><location/></data>',
            "tree: repodata/repomd.xml names no location for the primary metadata",
        ),
        (
            record("primary", "p.xml", checksum="<checksum type='sha256'>zz</checksum>"),
            "tree: repodata/repomd.xml gives the primary metadata a malformed checksum",
        ),
        (
            record("primary", "p.xml", checksum="<checksum>abcd</checksum>"),
            "tree: repodata/repomd.xml gives the primary metadata a malformed checksum",
        ),
    ],
)
def test_an_unusable_repomd_is_named(records, message, tmp_path):
    with pytest.raises(DnfError) as failure:
        locate(tmp_path, records)
    assert str(failure.value) == message


def test_repomd_is_read_up_to_its_cap_only(tmp_path):
    padding = "<revision>" + " " * (2 * MiB) + "</revision>"
    with override_settings(KICKSTART_MAX_REPOMD_BYTES=MiB):
        with pytest.raises(DnfError) as failure:
            locate(tmp_path, padding + record("primary", "p.xml"))
    assert str(failure.value) == (
        f"tree: repodata/repomd.xml is larger than KICKSTART_MAX_REPOMD_BYTES ({MiB} bytes)"
    )
