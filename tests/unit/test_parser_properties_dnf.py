"""Property-based tests of the parsers of dnf tree documents (issue 18, section 5).

``.treeinfo``, ``repodata/repomd.xml``, the primary metadata (every compression) and
RPM packages (lead, headers, payload): for near-valid documents with hostile values
and for damaged bytes, each raises nothing but ``DnfError`` (which the dnf source
turns into a failed sync naming the file), or the sync budget's ``BudgetExceeded``,
and what it returns obeys the grammars. Deterministic (``derandomize``, no example
database); each crash found is pinned as an ``@example``.
"""

import bz2
import gzip
import hashlib
import lzma
import os
import struct
import tempfile
import tracemalloc
from xml.sax.saxutils import escape, quoteattr

import zstandard
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app.budget import BudgetExceeded, SyncBudget
from pulp_kickstart_oci.app.dnf import repodata, rpm, treeinfo
from pulp_kickstart_oci.app.dnf.errors import DnfError
from pulp_kickstart_oci.app.netboot import grammar

MiB = 1 << 20
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("KICKSTART_PROPERTY_EXAMPLES", 200)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEX = "0123456789abcdef"
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "a\n b",
        "%(x)s",
        "[x]",
        "=",
        "x" * 5000,
        "images/../../etc/passwd",
        "/abs",
        "vmlinuz inst.ks=http://evil",
        "\x00",
        "\ud800",
        "é",
        "<b>",
        "&amp;",
        "]]>",
    ]
) | st.text(max_size=12)


def near(*valid):
    """One of the valid values most of the time, a hostile one sometimes."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), HOSTILE_TEXT)


# --- .treeinfo --------------------------------------------------------------------------------

SECTION_KEYS = {
    "header": {"type": near("productmd.treeinfo", "x"), "version": near("1.2", "1.0", "0.0", "9")},
    "release": {
        "name": near("Fedora", "CentOS Stream"),
        "short": near("Fedora"),
        "version": near("42", "9.4", "rawhide"),
        "type": near("ga"),
    },
    "general": {
        "family": near("Fedora"),
        "version": near("42"),
        "arch": near("x86_64"),
        "timestamp": near("1700000000"),
    },
    "tree": {
        "arch": near("x86_64", "aarch64"),
        "build_timestamp": near("1700000000", "1.5"),
        "platforms": near("x86_64", "x86_64,xen"),
        "variants": near("Everything", "Everything,Server", ""),
    },
    "images-x86_64": {
        "kernel": near("images/pxeboot/vmlinuz"),
        "initrd": near("images/pxeboot/initrd.img"),
        "boot.iso": near("images/boot.iso"),
    },
    "stage2": {"mainimage": near("images/install.img"), "instimage": near("images/x.img")},
    "checksums": {
        "images/pxeboot/vmlinuz": near(
            "sha256:" + "a" * 64, "md5:" + "b" * 32, "a" * 40, "crc32:1"
        ),
        "images/boot.iso": near("SHA256:" + "C" * 64),
    },
    "variant-Everything": {
        "id": near("Everything"),
        "uid": near("Everything"),
        "name": near("Everything"),
        "type": near("variant"),
        "packages": near("Packages"),
        "repository": near("."),
    },
    "media": {"discnum": near("1"), "totaldiscs": near("1")},
}
SECTIONS = st.lists(
    st.tuples(
        st.sampled_from(sorted(SECTION_KEYS)) | HOSTILE_TEXT,
        st.data(),
    ),
    max_size=9,
)


@st.composite
def treeinfo_texts(draw):
    lines = []
    for section, data in draw(SECTIONS):
        lines.append(f"[{section}]")
        known = SECTION_KEYS.get(section, {})
        keys = (
            data.draw(st.lists(st.sampled_from(sorted(known)) | HOSTILE_TEXT, max_size=6))
            if known
            else data.draw(st.lists(HOSTILE_TEXT, max_size=3))
        )
        for key in keys:
            value = data.draw(known.get(key, HOSTILE_TEXT))
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


GOOD_TREEINFO = """[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Fedora
short = Fedora
version = 42

[tree]
arch = x86_64
build_timestamp = 1700000000
platforms = x86_64
variants = Everything

[variant-Everything]
id = Everything
uid = Everything
name = Everything
type = variant
packages = Packages
repository = .

[images-x86_64]
kernel = images/pxeboot/vmlinuz
initrd = images/pxeboot/initrd.img

[stage2]
mainimage = images/install.img

[checksums]
images/pxeboot/vmlinuz = sha256:{digest}
""".format(digest="a" * 64)


@PROPERTY
@given(treeinfo_texts() | st.text(max_size=300))
@example(GOOD_TREEINFO)
@example(GOOD_TREEINFO.replace("kernel = images/pxeboot/vmlinuz", "kernel = images/a\n  inst.ks=x"))
@example("[release]\nversion = 42\n[tree]\narch = x86_64\n[checksums]\nx = sha256:\n")
def test_treeinfo_raises_only_dnf_error_and_returns_grammar_clean_facts(text):
    try:
        facts = treeinfo.parse(text, "tree/.treeinfo")
    except DnfError:
        return
    assert grammar.matches(grammar.RELEASE, facts.version)
    assert grammar.matches(grammar.ARCH, facts.arch)
    assert grammar.matches(grammar.FAMILY, facts.family)
    for path in list(facts.images.values()) + [facts.stage2 or "x"]:
        assert grammar.matches(grammar.PATH, path), path
    for path, (algorithm, digest) in facts.checksums.items():
        assert grammar.matches(grammar.PATH, path)
        assert algorithm in treeinfo.CHECKSUM_TYPES
        assert digest and set(digest) <= set(HEX)


def test_a_treeinfo_at_its_cap_costs_a_bounded_multiple_of_it():
    """KICKSTART_MAX_TREEINFO_BYTES (1 MiB) of checksum lines through configparser and productmd."""
    lines = [GOOD_TREEINFO]
    lines += [f"images/f{n} = sha256:{n:064x}" for n in range(12_000)]
    text = "\n".join(lines)
    assert MiB * 0.8 < len(text) <= MiB
    tracemalloc.start()
    try:
        facts = treeinfo.parse(text, "tree/.treeinfo")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(facts.checksums) == 12_001
    assert peak < 30 * len(text), peak


# --- repomd.xml and the primary metadata -----------------------------------------------------

WANTED = ["shim-x64", "grub2-efi-x64"]
ARCHES = {"x86_64", "noarch"}


def attribute(value):
    return quoteattr(value)


@st.composite
def packages(draw):
    fields = {
        "name": draw(near("shim-x64", "grub2-efi-x64", "other")),
        "arch": draw(near("x86_64", "noarch", "aarch64")),
        "epoch": draw(near("0", "1", "", "-1", "99999999999", "1e3")),
        "ver": draw(near("15.8", "1.0~rc1", "2^git")),
        "rel": draw(near("3", "1.fc42")),
        "ctype": draw(near("sha256", "sha", "md5")),
        "checksum": draw(near("a" * 64, "ABCDEF", "xyz")),
        "href": draw(near("Packages/s/shim.rpm", "../x.rpm", "http://evil/x.rpm")),
        "size": draw(near("100", "0", "-5", "1" * 30, "0x10")),
    }
    escaped = draw(st.booleans()) or draw(st.booleans())  # raw text sometimes: broken XML
    text = escape if escaped else (lambda value: value)
    attr = quoteattr if escaped else (lambda value: f'"{value}"')
    parts = [
        f"<name>{text(fields['name'])}</name>",
        f"<arch>{text(fields['arch'])}</arch>",
        f"<version epoch={attr(fields['epoch'])} ver={attr(fields['ver'])} "
        f"rel={attr(fields['rel'])}/>",
        f'<checksum type={attr(fields["ctype"])} pkgid="YES">{text(fields["checksum"])}</checksum>',
        f"<size package={attr(fields['size'])}/>",
        f"<location href={attr(fields['href'])}/>",
        '<format><rpm:provides><rpm:entry name="x"/></rpm:provides></format>',
    ]
    parts = draw(st.permutations(parts))
    drop = draw(st.integers(min_value=0, max_value=len(parts)))
    extra = draw(
        st.sampled_from(["", "<description>d</description>", "<a><b><c/></b></a>", "<!-- c -->"])
    )
    return (
        '<package type="rpm">' + "".join(parts[: len(parts) - drop // 3]) + extra + "</package>\n"
    )


@st.composite
def primaries(draw):
    head = draw(
        st.sampled_from(
            [
                '<?xml version="1.0" encoding="UTF-8"?>\n',
                "",
                '<?xml version="1.0" encoding="ISO-8859-1"?>',
                '<?xml version="1.0" encoding="EBCDIC"?>',
                '<!DOCTYPE m [<!ENTITY a "aaaa">]>',
            ]
        )
    )
    root = draw(st.sampled_from(["metadata", "metadata", "html", "repomd"]))
    body = "".join(draw(st.lists(packages(), max_size=5)))
    document = (
        f'{head}<{root} xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="x">{body}</{root}>'
    )
    data = document.encode("utf-8", "surrogatepass")
    cut = draw(st.none() | st.integers(min_value=0, max_value=len(data)))
    if cut is not None and draw(st.booleans()):
        data = data[:cut]
    compression = draw(st.sampled_from(["none", "gz", "xz", "bz2", "zst"]))
    data = {
        "none": lambda d: d,
        "gz": lambda d: gzip.compress(d),
        "xz": lambda d: lzma.compress(d),
        "bz2": lambda d: bz2.compress(d),
        "zst": lambda d: zstandard.ZstdCompressor(write_checksum=True).compress(d),
    }[compression](data)
    if compression != "none" and cut is not None and not draw(st.booleans()):
        data = data[: cut % (len(data) + 1)]  # a cut compressed stream
    return data


def _written(data, suffix=""):
    handle, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


@PROPERTY
@given(primaries() | st.binary(max_size=300), st.integers(min_value=0, max_value=8))
@example(b"<metadata><package><name>shim-x64</name><arch>x86_64</arch></package></metadata>", 8)
@example(gzip.compress(b"<metadata>" + b"<package/>" * 5 + b"</metadata>"), 3)
def test_primary_metadata_raises_only_dnf_error_or_the_budget(data, entries):
    path = _written(data)
    try:
        with SyncBudget.opened(repodata_entries=entries):
            found = repodata.newest_packages(path, WANTED, ARCHES, "tree")
    except (DnfError, BudgetExceeded):
        return
    finally:
        os.unlink(path)
    for name, ref in found.items():
        assert name in WANTED and ref.name == name and ref.arch in ARCHES
        assert ref.epoch.isdigit() and len(ref.epoch) <= 10
        assert isinstance(ref.size, int) and ref.size >= 0
        assert ref.checksum and set(ref.checksum.lower()) <= set(HEX)
        assert ref.location and ref.version and ref.release


@st.composite
def repomds(draw):
    records = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        kind = draw(near("primary", "filelists", "other"))
        checksum = draw(
            st.sampled_from(["", '<checksum type="sha256">' + "a" * 64 + "</checksum>"])
            | near("<checksum>zz</checksum>")
        )
        href = draw(near("repodata/p.xml.gz", ""))
        records.append(
            f"<data type={quoteattr(kind)}>{checksum}<location href={quoteattr(href)}/></data>"
        )
    return (
        f'<?xml version="1.0"?><repomd xmlns="r"><revision>1</revision>{"".join(records)}</repomd>'
    ).encode("utf-8", "surrogatepass")


@PROPERTY
@given(repomds() | st.binary(max_size=200))
@example(
    b"<repomd><data type='primary'><location href='x'/>"
    b"<checksum type='sha256'>ab</checksum></data></repomd>"
)
def test_repomd_raises_only_dnf_error(data):
    path = _written(data)
    try:
        href, checksum_type, checksum = repodata.primary_location(path, "tree")
    except DnfError:
        return
    finally:
        os.unlink(path)
    assert isinstance(href, str) and href
    assert checksum is None or (checksum_type and set(checksum.lower()) <= set(HEX))


# --- RPM packages: lead, headers, payload ---------------------------------------------------

EIGHT = st.one_of(
    st.integers(min_value=0, max_value=0xFFFFFFFF).map(lambda n: f"{n:08x}"),
    st.sampled_from(
        ["-0000001", "0x00000f", " 0000001", "+0000001", "0000_001", "zzzzzzzz", "FFFFFFFF"]
    ),
)
MEMBER_NAMES = st.sampled_from(
    [
        "./boot/efi/EFI/fedora/shimx64.efi",
        "./boot/efi/EFI/fedora/a b.efi",
        "./boot/efi/EFI/fedora/$(x).efi",
        "./boot/efi/EFI/fedora/;.efi",
        "./usr/share/syslinux/pxelinux.0",
        "./usr/lib/efi/shim/1-1/EFI/fedora/mmx64.efi",
        "./../../etc/cron.d/x",
        "/boot/efi/EFI/fedora/grubx64.efi",
        "TRAILER!!!",
        "",
    ]
) | st.text(max_size=20)


def _header(entries, data, count=None, size=None):
    index = b"".join(struct.pack(">iiii", *entry) for entry in entries)
    return (
        b"\x8e\xad\xe8\x01\0\0\0\0"
        + struct.pack(
            ">II", len(entries) if count is None else count, len(data) if size is None else size
        )
        + index
        + data
    )


@st.composite
def rpms(draw):
    lead = draw(st.sampled_from([b"\xed\xab\xee\xdb", b"\xed\xab\xee\xdc"])) + bytes(92)
    signature = _header(
        [(1004, 7, 0, 1)], b"x" * 13, count=draw(st.none() | st.integers(0, 2**32 - 1))
    )
    signature += bytes(-len(signature) % 8)
    payload_format = draw(near("cpio", "drpm"))
    compressor = draw(st.none() | near("gzip", "xz", "lzma", "zstd", "bzip2", "identity", "none"))
    strings = payload_format.encode("utf-8", "surrogatepass") + b"\0"
    entries = [(1124, draw(st.sampled_from([6, 6, 4])), 0, 1)]
    if compressor is not None:
        entries.append((1125, 6, draw(st.sampled_from([len(strings), len(strings), -1, 10**6])), 1))
        strings += compressor.encode("utf-8", "surrogatepass") + b"\0"
    main = _header(entries, strings, size=draw(st.none() | st.integers(0, 2**32 - 1)))
    archive = b""
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        name = draw(MEMBER_NAMES).encode("utf-8", "surrogatepass") + b"\0"
        data = draw(st.binary(max_size=64))
        fields = [draw(EIGHT) for _ in range(13)]
        fields[1] = draw(st.sampled_from(["000081a4", "000041ed", "0000a1ff"]) | EIGHT)  # mode
        fields[4] = draw(st.sampled_from(["00000001", "00000002"]) | EIGHT)  # nlink
        fields[6] = draw(st.just(f"{len(data):08x}") | EIGHT)  # file size
        fields[11] = draw(st.just(f"{len(name):08x}") | EIGHT)  # name size
        magic = draw(st.sampled_from([b"070701", b"070701", b"070702", b"07070X"]))
        header = magic + "".join(fields).encode("ascii") + name
        archive += header + bytes(-len(header) % 4) + data + bytes(-len(data) % 4)
    trailer = b"070701" + b"0" * 88 + b"0000000b" + b"0" * 8 + b"TRAILER!!!\0"
    archive += trailer + bytes(-len(trailer) % 4)
    codec = (
        compressor
        if compressor in ("gzip", "xz", "lzma", "zstd", "bzip2")
        else draw(st.sampled_from(["identity", "gzip"]))
    )
    packed = {
        "gzip": gzip.compress,
        "xz": lzma.compress,
        "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
        "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
        "bzip2": bz2.compress,
        "identity": lambda d: d,
    }[codec](archive)
    data = lead + signature + main + packed
    cut = draw(st.none() | st.integers(min_value=0, max_value=len(data)))
    return data if cut is None else data[:cut]


def _cpio_member(name, data, size=None):
    raw_name = name.encode() + b"\0"
    fields = [1, 0o100644, 0, 0, 1, 0, len(data), 8, 1, 0, 0, len(raw_name), 0]
    text = "".join(f"{value:08x}" for value in fields)
    if size is not None:
        text = text[:48] + size + text[56:]
    header = b"070701" + text.encode() + raw_name
    return header + bytes(-len(header) % 4) + data + bytes(-len(data) % 4)


def _identity_rpm(*members):
    strings = b"cpio\0"
    main = _header([(1124, 6, 0, 1)], strings)
    trailer = b"070701" + b"0" * 88 + b"0000000b" + b"0" * 8 + b"TRAILER!!!\0"
    archive = b"".join(members) + trailer + bytes(-len(trailer) % 4)
    signature = _header([], b"")
    return b"\xed\xab\xee\xdb" + bytes(92) + signature + main + archive


NEGATIVE_SIZE = _identity_rpm(_cpio_member("./boot/efi/EFI/fedora/shimx64.efi", b"MZ", "-0000001"))
HOSTILE_NAME = _identity_rpm(_cpio_member("./boot/efi/EFI/fedora/a b;$(reboot).efi", b"MZ"))


@PROPERTY
@given(rpms() | st.binary(max_size=300))
@example(NEGATIVE_SIZE)  # int("-0000001", 16) made a member of -1 bytes: reads without a bound
@example(HOSTILE_NAME)  # a boot file name outside the path grammar escaped as InvalidTitle
def test_rpm_payload_raises_only_dnf_error_and_leaves_nothing_behind(data):
    with tempfile.TemporaryDirectory() as directory:
        package = os.path.join(directory, "p.rpm")
        with open(package, "wb") as out:
            out.write(data)
        destination = os.path.join(directory, "out")
        os.mkdir(destination)
        with override_settings(
            KICKSTART_MAX_UNPACKED_FILE_BYTES=MiB, KICKSTART_MAX_UNPACKED_TOTAL_BYTES=4 * MiB
        ):
            try:
                extracted = rpm.extract_boot_files(package, destination, "package p")
            except DnfError:
                assert os.listdir(destination) == []
                return
        assert sorted(os.listdir(destination)) == sorted(item.name for item in extracted)
        for item in extracted:
            assert grammar.matches(grammar.PATH, item.name) and "/" not in item.name
            assert grammar.matches(grammar.PATH, item.path)
            with open(item.local_path, "rb") as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == item.sha256


@PROPERTY
@given(MEMBER_NAMES | st.text(max_size=80))
@example("boot/efi/EFI/fedora/a b.efi")
def test_boot_file_names_are_none_or_plain_file_names(member):
    name = rpm.boot_file_name(member)
    assert name is None or (grammar.matches(grammar.PATH, name) and "/" not in name), name
