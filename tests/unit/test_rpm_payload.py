"""Streaming RPM payload extraction: real packages still unpack, bombs and forgeries fail.

Normal packages come from rpmbuild (pulp_kickstart_oci.testing.dnf). Bombs and malformed
archives are hand-made here: a lead, a signature header, a main header naming
the payload format and compressor, and a cpio archive compressed on the fly,
so a 300 MiB member costs a few KiB on disk.
"""

import bz2
import hashlib
import lzma
import os
import re
import struct
import zlib

import pytest
import zstandard
from django.conf import settings
from django.test import override_settings

from pulp_kickstart_oci.app.dnf import payload, rpm
from pulp_kickstart_oci.app.dnf.errors import DnfError
from pulp_kickstart_oci.testing import dnf

MiB = 1 << 20
BOMB = 300 * MiB
SHIM = "./boot/efi/EFI/fedora/shimx64.efi"
WHAT = "package shim-x64-15.8-3.x86_64 (Packages/s/shim.rpm)"


@pytest.fixture(autouse=True, scope="module")
def plugin_settings():
    """Load Pulp's settings (plugin defaults included) before override_settings wraps them."""
    assert settings.KICKSTART_MAX_UNPACKED_FILE_BYTES == 256 * MiB


# --- hand-made RPMs ----------------------------------------------------------


def _header(entries):
    """An RPM header structure from [(tag, type, value bytes)]."""
    index = b""
    data = b""
    for tag, kind, value in entries:
        index += struct.pack(">iiii", tag, kind, len(data), 1)
        data += value
    return b"\x8e\xad\xe8\x01\0\0\0\0" + struct.pack(">II", len(entries), len(data)) + index + data


def rpm_head(compressor="zstd", payload_format="cpio"):
    """Lead, signature header (with padding) and main header of a hand-made package."""
    lead = b"\xed\xab\xee\xdb\x03\x00" + bytes(90)
    # 13 bytes of signature data: the signature header needs 3 bytes of padding.
    signature = _header([(1004, 7, b"fake-md5-sum!")])
    signature += bytes(-len(signature) % 8)
    tags = [(1000, 6, b"bomb\0"), (1124, 6, payload_format.encode() + b"\0")]
    if compressor is not None:
        tags.append((1125, 6, compressor.encode() + b"\0"))
    return lead + signature + _header(tags)


def cpio_header(name, size, mode=0o100644, nlink=1, ino=1, magic=b"070701", check=0):
    raw_name = name.encode() + b"\0" if isinstance(name, str) else name
    fields = [ino, mode, 0, 0, nlink, 0, size, 8, 1, 0, 0, len(raw_name), check]
    header = magic + b"".join(b"%08x" % value for value in fields) + raw_name
    return header + bytes(-len(header) % 4)


def _zeros(size):
    while size:
        step = min(size, 4 * MiB)
        yield bytes(step)
        size -= step


def cpio_chunks(members, magic=b"070701"):
    """Byte chunks of a cpio archive; a member's data is bytes or an int (that many zeros)."""
    for ino, member in enumerate(members, 1):
        name, data = member[0], member[1]
        options = member[2] if len(member) > 2 else {}
        size = data if isinstance(data, int) else len(data)
        check = options.pop("check", 0)
        if magic == b"070702" and not isinstance(data, int) and not check:
            check = sum(data)
        yield cpio_header(
            name, size, ino=options.pop("ino", ino), magic=magic, check=check, **options
        )
        if isinstance(data, int):
            yield from _zeros(data)
        else:
            yield data
        yield bytes(-size % 4)
    yield cpio_header("TRAILER!!!", 0, mode=0, ino=0, magic=magic)


def _compressor(name):
    if name == "zstd":
        return zstandard.ZstdCompressor(level=1).compressobj()
    if name == "xz":
        return lzma.LZMACompressor(preset=0)
    if name == "lzma":
        return lzma.LZMACompressor(format=lzma.FORMAT_ALONE, preset=0)
    if name == "gzip":
        return zlib.compressobj(6, wbits=31)
    if name == "bzip2":
        return bz2.BZ2Compressor(1)
    raise ValueError(name)


def make_rpm(path, members, compressor="zstd", magic=b"070701", head=None):
    """Write a package with ``members`` (see cpio_chunks) as payload, streamed through the codec."""
    with open(path, "wb") as out:
        out.write(head if head is not None else rpm_head(compressor))
        if compressor in ("identity", None):
            for chunk in cpio_chunks(members, magic):
                out.write(chunk)
        else:
            codec = _compressor(compressor)
            for chunk in cpio_chunks(members, magic):
                out.write(codec.compress(chunk))
            out.write(codec.flush())
    return str(path)


def extract(path, tmp_path, what=WHAT):
    destination = tmp_path / "out"
    destination.mkdir(exist_ok=True)
    return rpm.extract_boot_files(str(path), str(destination), what), destination


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# --- real packages -----------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("payload")


@pytest.fixture(scope="module")
def tree(workdir):
    return dnf.fedora_tree(workdir)


@pytest.fixture(scope="module")
def tree_f44(workdir):
    return dnf.fedora_tree(workdir, release="44", arch="aarch64", f44_layout=True)


def _unpack_tree(tree, tmp_path):
    found = {}
    for name, paths in tree.rpms.items():
        for number, relative in enumerate(paths):
            destination = tmp_path / f"{name}-{number}"
            destination.mkdir()
            extracted = rpm.extract_boot_files(str(tree.root / relative), str(destination), name)
            assert sorted(os.listdir(destination)) == sorted(item.name for item in extracted)
            for item in extracted:
                data = open(item.local_path, "rb").read()
                assert (item.sha256, item.size) == (sha256(data), len(data))
                found[item.name] = (data, item.source_path)
    return found


def test_fedora_packages_extract_the_same_files(tree, tmp_path):
    found = _unpack_tree(tree, tmp_path)
    assert {name: data for name, (data, _) in found.items()} == {
        name: data for name, (data, _nevra) in tree.expected.items()
    }
    assert found["shimx64.efi"][1] == "boot/efi/EFI/fedora/shimx64.efi"
    assert found["BOOTX64.EFI"][1] == "boot/efi/EFI/BOOT/BOOTX64.EFI"
    assert found["pxelinux.0"][1] == "usr/share/syslinux/pxelinux.0"


def test_fedora_44_layout_extracts_the_same_files(tree_f44, tmp_path):
    found = _unpack_tree(tree_f44, tmp_path)
    assert {name: data for name, (data, _) in found.items()} == {
        name: data for name, (data, _nevra) in tree_f44.expected.items()
    }
    assert found["shimaa64.efi"][1] == "usr/lib/efi/shim/16.1-5/EFI/fedora/shimaa64.efi"
    assert found["grubaa64.efi"][1] == "usr/lib/efi/grub2/2.12-1/EFI/fedora/grubaa64.efi"


@pytest.mark.parametrize(
    "codec, macro",
    [
        ("zstd", "w19.zstdio"),
        ("zstd", "w19T0L.zstdio"),  # long mode
        ("xz", "w2.xzdio"),
        ("gzip", "w9.gzdio"),
        ("bzip2", "w9.bzdio"),
        ("lzma", "w6.lzdio"),
        ("(none)", "w0.ufdio"),
    ],
)
def test_every_rpmbuild_compressor(codec, macro, workdir, tmp_path, monkeypatch):
    monkeypatch.setitem(dnf.PAYLOADS, codec, macro)
    data = b"\x4d\x5a" + os.urandom(300_000)  # incompressible, several decoder reads
    files = {
        "/boot/efi/EFI/fedora/grubx64.efi": data,
        "/usr/share/doc/grub2/README": b"not a boot file\n" * 1000,
    }
    slug = macro.replace(".", "-")
    built = dnf.build_rpm(workdir, f"grub-{slug}", "1", "1", "x86_64", files, payload=codec)
    assert dnf._run("rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", str(built)) == codec
    extracted, destination = extract(built, tmp_path)
    assert [(item.name, item.source_path, item.size) for item in extracted] == [
        ("grubx64.efi", "boot/efi/EFI/fedora/grubx64.efi", len(data))
    ]
    assert (destination / "grubx64.efi").read_bytes() == data
    assert extracted[0].sha256 == sha256(data)


# --- choice between members of one file name ---------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_preferred_member_wins_in_either_archive_order(reverse, tmp_path):
    members = [
        ("./usr/lib/efi/shim/16-1/EFI/BOOT/shimx64.efi", b"usr-boot"),
        ("./boot/efi/EFI/BOOT/shimx64.efi", b"boot-boot"),
        ("./usr/lib/efi/shim/16-1/EFI/fedora/shimx64.efi", b"usr-vendor"),
        ("./boot/efi/EFI/fedora/shimx64.efi", b"boot-vendor"),
        ("./usr/lib/efi/shim/16-1/EFI/fedora/mmx64.efi", b"mm-usr"),
        ("./boot/efi/EFI/BOOT/mmx64.efi", b"mm-boot"),
    ]
    if reverse:
        members.reverse()
    built = make_rpm(tmp_path / "shim.rpm", members)
    extracted, destination = extract(built, tmp_path)
    assert {item.name: item.source_path for item in extracted} == {
        "mmx64.efi": "usr/lib/efi/shim/16-1/EFI/fedora/mmx64.efi",
        "shimx64.efi": "boot/efi/EFI/fedora/shimx64.efi",
    }
    assert (destination / "shimx64.efi").read_bytes() == b"boot-vendor"
    assert (destination / "mmx64.efi").read_bytes() == b"mm-usr"
    assert sorted(os.listdir(destination)) == ["mmx64.efi", "shimx64.efi"]  # losers removed


def test_only_regular_files_are_extracted(tmp_path):
    members = [
        ("./boot/efi/EFI/fedora", b"", {"mode": 0o040755}),
        ("./boot/efi/EFI/fedora/shimx64.efi", b"../BOOT/BOOTX64.EFI", {"mode": 0o120777}),
        ("./boot/efi/EFI/fedora/grubx64.efi", b"grub"),
    ]
    extracted, destination = extract(make_rpm(tmp_path / "p.rpm", members), tmp_path)
    assert [item.name for item in extracted] == ["grubx64.efi"]
    assert os.listdir(destination) == ["grubx64.efi"]


def test_hard_links_get_the_data_stored_with_the_last_link(tmp_path):
    link = {"nlink": 2, "ino": 77}
    members = [
        ("./boot/efi/EFI/BOOT/BOOTX64.EFI", b"", dict(link)),
        ("./boot/efi/EFI/fedora/shimx64.efi", b"shim data", dict(link)),
        ("./boot/efi/EFI/fedora/mmx64.efi", b"", {"nlink": 2, "ino": 78}),
    ]
    extracted, destination = extract(make_rpm(tmp_path / "p.rpm", members, "gzip"), tmp_path)
    assert {item.name: item.size for item in extracted} == {
        "BOOTX64.EFI": 9,
        "mmx64.efi": 0,
        "shimx64.efi": 9,
    }
    assert (destination / "BOOTX64.EFI").read_bytes() == b"shim data"
    assert (destination / "mmx64.efi").read_bytes() == b""


def test_crc_format_is_read_and_its_checksum_checked(tmp_path):
    members = [("./usr/share/syslinux/pxelinux.0", b"pxe" * 1000)]
    built = make_rpm(tmp_path / "ok.rpm", members, "xz", magic=b"070702")
    extracted, destination = extract(built, tmp_path)
    assert (destination / "pxelinux.0").read_bytes() == b"pxe" * 1000

    bad = [("./usr/share/syslinux/pxelinux.0", b"pxe" * 1000, {"check": 12345})]
    with pytest.raises(DnfError, match="pxelinux.0 fails its cpio checksum"):
        extract(make_rpm(tmp_path / "bad.rpm", bad, "xz", magic=b"070702"), tmp_path)


def test_untagged_payload_is_gzip(tmp_path):
    members = [("./usr/share/syslinux/ldlinux.c32", b"ldlinux")]
    built = make_rpm(tmp_path / "p.rpm", members, "gzip", head=rpm_head(compressor=None))
    extracted, _ = extract(built, tmp_path)
    assert [(item.name, item.size) for item in extracted] == [("ldlinux.c32", 7)]


# --- bombs -------------------------------------------------------------------


@pytest.fixture(scope="module", params=["zstd", "xz", "gzip"])
def bomb(request, workdir):
    """300 MiB of zeros in a wanted member, then a real boot file."""
    members = [(SHIM, BOMB), ("./boot/efi/EFI/fedora/mmx64.efi", b"mm")]
    path = make_rpm(workdir / f"bomb-{request.param}.rpm", members, request.param)
    assert os.path.getsize(path) < 2 * MiB
    return path


@pytest.fixture(scope="module", params=["zstd", "xz", "gzip"])
def hidden_bomb(request, workdir):
    """300 MiB of zeros in a member nobody wants: only the total cap can stop it."""
    members = [("./usr/share/doc/zeros", BOMB), (SHIM, b"shim")]
    path = make_rpm(workdir / f"hidden-{request.param}.rpm", members, request.param)
    assert os.path.getsize(path) < 2 * MiB
    return path


@pytest.fixture
def pulled(monkeypatch):
    """Count the bytes the decoders hand out, to prove a refusal came while streaming."""
    counter = {"bytes": 0}
    real = payload._decoder

    class Counting:
        def __init__(self, decoder):
            self.decoder = decoder

        def pull(self, n):
            try:
                return self.decoder.pull(n)
            finally:  # the piece that went past the cap counts too
                counter["bytes"] = self.decoder.total

    monkeypatch.setattr(payload, "_decoder", lambda *args: Counting(real(*args)))
    return counter


def test_bomb_refused_by_default_file_cap(bomb, tmp_path, pulled):
    with pytest.raises(DnfError) as failure:
        extract(bomb, tmp_path)
    assert str(failure.value) == (
        f"{WHAT}: member {SHIM} is larger than KICKSTART_MAX_UNPACKED_FILE_BYTES "
        f"({256 * MiB} bytes): it declares {BOMB} bytes"
    )
    assert pulled["bytes"] < MiB  # refused from its header, before any of its data
    assert os.listdir(tmp_path / "out") == []


def test_bomb_refused_by_small_file_cap(bomb, tmp_path, pulled):
    with override_settings(KICKSTART_MAX_UNPACKED_FILE_BYTES=MiB):
        with pytest.raises(DnfError, match=f"member {SHIM} is larger than") as failure:
            extract(bomb, tmp_path)
    assert f"KICKSTART_MAX_UNPACKED_FILE_BYTES ({MiB} bytes)" in str(failure.value)
    assert str(failure.value).startswith(WHAT)
    assert pulled["bytes"] < MiB


def test_bomb_refused_by_total_cap_while_streaming(bomb, tmp_path, pulled):
    cap = 8 * MiB
    with override_settings(
        KICKSTART_MAX_UNPACKED_FILE_BYTES=BOMB, KICKSTART_MAX_UNPACKED_TOTAL_BYTES=cap
    ):
        with pytest.raises(DnfError) as failure:
            extract(bomb, tmp_path)
    assert str(failure.value) == (
        f"{WHAT}: the payload decompresses to more than KICKSTART_MAX_UNPACKED_TOTAL_BYTES "
        f"({cap} bytes), reached in member {SHIM}"
    )
    assert cap < pulled["bytes"] <= cap + payload.CHUNK
    assert os.listdir(tmp_path / "out") == []  # the partial file is removed


def test_skipped_bomb_counts_against_total_cap(hidden_bomb, tmp_path, pulled):
    cap = 16 * MiB
    with override_settings(
        KICKSTART_MAX_UNPACKED_FILE_BYTES=BOMB, KICKSTART_MAX_UNPACKED_TOTAL_BYTES=cap
    ):
        with pytest.raises(DnfError, match="reached in member ./usr/share/doc/zeros"):
            extract(hidden_bomb, tmp_path)
    assert pulled["bytes"] <= cap + payload.CHUNK


def test_bomb_within_raised_caps_is_extracted(hidden_bomb, tmp_path):
    with override_settings(KICKSTART_MAX_UNPACKED_FILE_BYTES=BOMB):
        extracted, destination = extract(hidden_bomb, tmp_path)
    assert [(item.name, item.size) for item in extracted] == [("shimx64.efi", 4)]
    assert os.listdir(destination) == ["shimx64.efi"]


def test_too_many_members(tmp_path):
    members = [(f"./usr/share/doc/file{number}", b"x") for number in range(1, 30)]
    built = make_rpm(tmp_path / "many.rpm", members + [(SHIM, b"shim")], "gzip")
    with override_settings(KICKSTART_MAX_PAYLOAD_MEMBERS=30):
        extracted, _ = extract(built, tmp_path)
    assert [item.name for item in extracted] == ["shimx64.efi"]
    with override_settings(KICKSTART_MAX_PAYLOAD_MEMBERS=10):
        with pytest.raises(DnfError) as failure:
            extract(built, tmp_path)
    assert str(failure.value) == (
        f"{WHAT}: the payload has more than KICKSTART_MAX_PAYLOAD_MEMBERS (10) members; "
        "member ./usr/share/doc/file11 is number 11"
    )


# --- malformed packages --------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "./../../etc/cron.d/evil",
        "./boot/efi/EFI/fedora/../../../../../tmp/shimx64.efi",
        "/boot/efi/EFI/fedora/shimx64.efi",
        ".//boot/efi/EFI/fedora/shimx64.efi",
        "..",
        b"./boot/efi/EFI/fedora/shimx64.efi\0.txt\0",
    ],
)
def test_unsafe_member_names_are_refused(name, tmp_path):
    built = make_rpm(tmp_path / "evil.rpm", [(name, b"MZ")])
    with pytest.raises(DnfError, match="has an unsafe path") as failure:
        extract(built, tmp_path)
    assert str(failure.value).startswith(f"{WHAT}: payload member ")
    assert os.listdir(tmp_path / "out") == []


@pytest.fixture(scope="module", params=["zstd", "xz", "gzip", "bzip2"])
def real_package(request, workdir):
    files = {"/boot/efi/EFI/fedora/shimx64.efi": b"MZ" + os.urandom(200_000)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(dnf.PAYLOADS, "bzip2", "w9.bzdio")
        built = dnf.build_rpm(
            workdir, f"cut-{request.param}", "1", "1", "x86_64", files, payload=request.param
        )
    return built.read_bytes()


@pytest.mark.parametrize("keep", [50, 100, 2000, -5000, -100])
def test_truncated_package_is_a_clear_error(real_package, keep, tmp_path):
    cut = tmp_path / "cut.rpm"
    cut.write_bytes(real_package[:keep])
    with pytest.raises(DnfError, match=f"^{re.escape(WHAT)}: the payload cannot be read: "):
        extract(cut, tmp_path)
    assert os.listdir(tmp_path / "out") == []


def test_corrupt_payload_is_a_clear_error(real_package, tmp_path):
    path = tmp_path / "damaged.rpm"
    path.write_bytes(real_package)
    with open(path, "rb") as fh:
        payload.payload_compressor(fh, WHAT)
        start = fh.tell()
    damaged = bytearray(real_package)
    for offset in range(start, start + 16):  # the codec's own stream header
        damaged[offset] ^= 0x55
    path.write_bytes(bytes(damaged))
    with pytest.raises(DnfError, match=f"^{re.escape(WHAT)}: the payload cannot be read: "):
        extract(path, tmp_path)


def test_codec_checksum_is_checked(tmp_path):
    """Reading on after the trailer lets gzip verify the CRC32 of the whole stream."""
    built = make_rpm(tmp_path / "p.rpm", [(SHIM, b"MZ" + os.urandom(300_000))], "gzip")
    damaged = bytearray(open(built, "rb").read())
    damaged[-8] ^= 0xFF  # the CRC32 of the gzip member
    open(built, "wb").write(bytes(damaged))
    with pytest.raises(DnfError, match="cannot be read: .*: error: .*incorrect data check"):
        extract(built, tmp_path)
    assert os.listdir(tmp_path / "out") == []


def test_not_a_cpio_archive(tmp_path):
    path = tmp_path / "tar.rpm"
    path.write_bytes(rpm_head("gzip") + zlib.compress(b"ustar" + bytes(600)))
    with pytest.raises(DnfError, match="the first member header: not a cpio newc/crc header"):
        extract(path, tmp_path)


@pytest.mark.parametrize(
    "head, message",
    [
        (b"\x7fELF" + bytes(200), "this is not an RPM package"),
        (rpm_head()[:96] + b"nope" + bytes(100), "the signature header has no header magic"),
        (rpm_head(payload_format="drpm"), "the payload format 'drpm' is not supported"),
        (rpm_head(compressor="brotli"), "the payload compressor 'brotli' is not supported"),
        (
            rpm_head()[:96] + b"\x8e\xad\xe8\x01\0\0\0\0" + struct.pack(">II", 1 << 28, 1 << 30),
            "the signature header is too large",
        ),
    ],
)
def test_forged_headers_are_refused(head, message, tmp_path):
    path = tmp_path / "forged.rpm"
    path.write_bytes(head + zstandard.ZstdCompressor().compress(b"".join(cpio_chunks([]))))
    with pytest.raises(DnfError, match=message):
        extract(path, tmp_path)


def test_stripped_cpio_is_refused(tmp_path):
    built = make_rpm(tmp_path / "big.rpm", [(SHIM, b"MZ")], magic=b"07070X")
    with pytest.raises(DnfError, match="stripped cpio format"):
        extract(built, tmp_path)


def test_oversized_member_name_is_refused(tmp_path):
    built = make_rpm(tmp_path / "long.rpm", [("./" + "a" * 5000, b"x")])
    with pytest.raises(DnfError, match="a member name of 5003 bytes"):
        extract(built, tmp_path)


def test_decoder_memory_a_stream_asks_for_is_capped(tmp_path):
    """A forged stream header cannot make the decoder allocate a huge window."""
    members = [(SHIM, b"MZ" * 100)]
    zstd_path = make_rpm(tmp_path / "zstd.rpm", members, "zstd")
    data = bytearray(open(zstd_path, "rb").read())
    start = len(rpm_head("zstd"))
    assert data[start : start + 4] == b"\x28\xb5\x2f\xfd" and not data[start + 4] & 0x20
    data[start + 5] = 18 << 3  # window descriptor: 2**(10 + 18) bytes, over ZSTD_MAX_WINDOW
    open(zstd_path, "wb").write(bytes(data))
    with pytest.raises(DnfError, match="cannot be read: .*ZstdError: .*memory"):
        extract(zstd_path, tmp_path)

    lzma_path = make_rpm(tmp_path / "lzma.rpm", members, "lzma")
    data = bytearray(open(lzma_path, "rb").read())
    start = len(rpm_head("lzma"))
    data[start + 1 : start + 5] = struct.pack("<I", 1 << 30)  # .lzma dictionary size: 1 GiB
    open(lzma_path, "wb").write(bytes(data))
    with pytest.raises(DnfError, match="cannot be read: .*LZMAError: Memory usage limit"):
        extract(lzma_path, tmp_path)


@pytest.mark.parametrize("size", ["-0000001", "0x00001f", " 0000001", "+0000001", "0000_001"])
@pytest.mark.parametrize("compressor", ["xz", "identity"])
def test_a_cpio_field_that_is_not_eight_hex_digits_is_corrupt(size, compressor, tmp_path):
    """int(field, 16) alone takes all of these: a member of -1 bytes made reads unbounded."""
    header = bytearray(cpio_header(SHIM, 2))
    header[6 + 8 * 6 : 14 + 8 * 6] = size.encode()  # the file size field
    path = tmp_path / "p.rpm"
    with open(path, "wb") as out:
        out.write(rpm_head(compressor))
        archive = bytes(header) + b"MZ\0\0" + b"".join(cpio_chunks([]))
        out.write(archive if compressor == "identity" else lzma.compress(archive))
    with pytest.raises(DnfError) as failure:
        extract(path, tmp_path)
    assert str(failure.value) == (
        f"{WHAT}: the payload cannot be read: the first member header: the cpio header is corrupt"
    )


def test_a_boot_file_whose_name_is_not_plain_is_refused(tmp_path):
    name = "./boot/efi/EFI/fedora/shim x64;$(reboot).efi"
    built = make_rpm(tmp_path / "p.rpm", [(name, b"MZ"), (SHIM, b"MZ")])
    with pytest.raises(DnfError) as failure:
        extract(built, tmp_path)
    assert str(failure.value) == (
        f"{WHAT}: payload member {name!r} is in a boot file directory, but its file name "
        "is not a plain one (letters, digits, . _ + ~ -)"
    )
    assert os.listdir(tmp_path / "out") == []
    assert rpm.boot_file_name(name) is None
