"""Streaming reader for RPM payloads, bounded against decompression bombs.

An RPM payload is a compressed cpio archive. A few kilobytes of zstd or xz can
decompress to gigabytes, so nothing here holds a member, a decompressed block
or a header's data in memory: the lead and headers are parsed just enough to
find where the payload starts and how it is compressed, the payload is
decompressed by ``decompress.Inflated`` (pieces of at most 1 MiB, the decoder's
memory capped, the total counted while it streams), and the cpio archive is
walked member by member. Wanted members go to disk in 1 MiB chunks; the others are read
through and dropped. Every cap (``KICKSTART_MAX_UNPACKED_FILE_BYTES``,
``KICKSTART_MAX_UNPACKED_TOTAL_BYTES``, ``KICKSTART_MAX_PAYLOAD_MEMBERS``) is
read from the settings at call time and checked while streaming.
"""

import hashlib
import os
import re
import shutil
import stat
import struct
import tempfile
from dataclasses import dataclass
from gettext import gettext as _

from django.conf import settings

from .. import decompress
from .errors import DnfError

CHUNK = decompress.CHUNK  # most decompressed bytes asked for, and written, at a time

# Header sanity limits. rpm refuses more than 0xffff tags too; the data area is
# never read into memory (only the two strings needed), so its cap only stops
# absurd offsets. The index is read whole: at most 1 MiB.
MAX_HEADER_ENTRIES = 0xFFFF
MAX_HEADER_DATA = 64 << 20
MAX_NAME = 4096  # bytes of one cpio member name, NUL included

_LEAD_MAGIC = b"\xed\xab\xee\xdb"
_HEADER_MAGIC = b"\x8e\xad\xe8\x01"
_PAYLOADFORMAT = 1124
_PAYLOADCOMPRESSOR = 1125
_STRING = 6

_NEWC = b"070701"
_CRC = b"070702"
_STRIPPED = b"07070X"  # rpm's own format for packages with files over 4 GiB
_TRAILER = "TRAILER!!!"
_CPIO_HEADER = 110
_HEX_FIELDS = re.compile(rb"[0-9a-fA-F]{104}")  # the 13 fields of a newc/crc header


@dataclass(frozen=True)
class Member:
    """One cpio entry's header: enough to decide whether to keep the data that follows."""

    name: str  # as stored, e.g. "./boot/efi/EFI/fedora/shimx64.efi"
    path: str  # the name without its leading "./"
    mode: int
    size: int
    nlink: int
    link_key: tuple  # (ino, devmajor, devminor): equal for hard links to one file
    check: int  # sum of the data bytes, in the "crc" format

    @property
    def is_file(self):
        """True for a regular file: only those are extracted (no links, devices or dirs)."""
        return stat.S_ISREG(self.mode)


@dataclass(frozen=True)
class Written:
    """A member written to disk, with the digest computed while it streamed."""

    member: Member
    local_path: str
    sha256: str
    size: int


def _unreadable(what, reason):
    return DnfError(
        _("{what}: the payload cannot be read: {reason}").format(what=what, reason=reason)
    )


def _exactly(fh, count, what, part):
    data = fh.read(count)
    if len(data) != count:
        raise _unreadable(what, _("the file ends inside the {part}").format(part=part))
    return data


def _header(fh, what, part):
    """Read one header's index; return (index bytes, data offset in the file, data size)."""
    intro = _exactly(fh, 16, what, part)
    if intro[:4] != _HEADER_MAGIC:
        raise _unreadable(what, _("the {part} has no header magic").format(part=part))
    entries, size = struct.unpack(">II", intro[8:])
    if entries > MAX_HEADER_ENTRIES or size > MAX_HEADER_DATA:
        raise _unreadable(
            what,
            _(
                "the {part} is too large ({entries} entries, {size} bytes of data; "
                "at most {max_entries} and {max_data})"
            ).format(
                part=part,
                entries=entries,
                size=size,
                max_entries=MAX_HEADER_ENTRIES,
                max_data=MAX_HEADER_DATA,
            ),
        )
    index = _exactly(fh, entries * 16, what, part)
    return index, fh.tell(), size


def _string_tag(fh, index, data_start, size, tag, what):
    """The value of a string tag of the main header, or None; reads at most 64 bytes."""
    for offset in range(0, len(index), 16):
        entry_tag, entry_type, where, _count = struct.unpack(">iiii", index[offset : offset + 16])
        if entry_tag != tag:
            continue
        if entry_type != _STRING or not 0 <= where < size:
            raise _unreadable(what, _("header tag {tag} is malformed").format(tag=tag))
        fh.seek(data_start + where)
        raw = fh.read(min(64, size - where))
        if b"\0" not in raw:
            raise _unreadable(what, _("header tag {tag} is malformed").format(tag=tag))
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")
    return None


def payload_compressor(fh, what):
    """Check the lead and headers; leave ``fh`` at the payload and return its compressor.

    Reads only the two header strings it needs, never a header's data area whole.
    """
    lead = _exactly(fh, 96, what, _("lead"))
    if lead[:4] != _LEAD_MAGIC:
        raise _unreadable(what, _("this is not an RPM package (no lead magic)"))
    _index, data_start, size = _header(fh, what, _("signature header"))
    fh.seek(data_start + size + (-size % 8))  # the signature header is padded to 8 bytes
    index, data_start, size = _header(fh, what, _("main header"))
    payload_format = _string_tag(fh, index, data_start, size, _PAYLOADFORMAT, what) or "cpio"
    compressor = _string_tag(fh, index, data_start, size, _PAYLOADCOMPRESSOR, what)
    if payload_format != "cpio":
        raise _unreadable(
            what,
            _("the payload format {format!r} is not supported").format(format=payload_format),
        )
    fh.seek(data_start + size)
    if compressor is None:
        # rpm reads an untagged payload as gzip, which zlib passes through when it is
        # not gzip: that is how uncompressed (w0.ufdio) packages come out.
        compressor = "identity" if fh.read(4) == b"0707" else "gzip"
        fh.seek(data_start + size)
    return compressor


# rpm's PAYLOADCOMPRESSOR values -> decompress.py's names
_COMPRESSIONS = {
    "gzip": "gzip",
    "xz": "xz",
    "lzma": "lzma",
    "zstd": "zstd",
    "bzip2": "bzip2",
    "identity": "identity",
    "none": "identity",
    "": "identity",
}


def _decoder(compressor, fh, what, limit):
    """The payload decompressed by decompress.py, capped at ``limit`` while it streams."""
    compression = _COMPRESSIONS.get(compressor)
    if compression is None:
        raise _unreadable(
            what,
            _("the payload compressor {compressor!r} is not supported").format(
                compressor=compressor
            ),
        )
    return decompress.Inflated(fh, compression, limit, "KICKSTART_MAX_UNPACKED_TOTAL_BYTES")


class _Source:
    """Exact reads of the decompressed payload; the stream counts them against the total cap."""

    def __init__(self, decoder, what):
        self.decoder = decoder
        self.what = what
        self.where = _("the first member header")  # for messages

    def _pull(self, count):
        try:
            return self.decoder.pull(min(count, CHUNK))
        except decompress.TooLarge as exc:
            raise DnfError(
                _(
                    "{what}: the payload decompresses to more than "
                    "KICKSTART_MAX_UNPACKED_TOTAL_BYTES ({limit} bytes), reached in {where}"
                ).format(what=self.what, limit=exc.limit, where=self.where)
            ) from None
        except decompress.Corrupt as exc:
            reason = _("{where}: {problem}").format(where=self.where, problem=exc)
            raise _unreadable(self.what, reason) from None

    def read(self, count):
        """Exactly ``count`` bytes of the payload; a shorter stream is a truncated package."""
        pieces = []
        missing = count
        while missing:
            piece = self._pull(missing)
            if not piece:
                raise _unreadable(
                    self.what, _("it is truncated: it ends in {where}").format(where=self.where)
                )
            pieces.append(piece)
            missing -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def drain(self):
        """Read to the end of the stream, so the codec checks its own checksum."""
        self.where = _("the data after the archive trailer")
        while self._pull(CHUNK):
            pass


def _relative_path(name, what):
    """The member's path without "./"; refuses names that could escape a directory."""
    path = name[2:] if name.startswith("./") else name
    if "\0" in name or path.startswith("/") or ".." in path.split("/"):
        raise DnfError(
            _("{what}: payload member {name!r} has an unsafe path").format(what=what, name=name)
        )
    return path


def _member(source, what):
    raw = source.read(_CPIO_HEADER)
    magic = raw[:6]
    if magic == _STRIPPED:
        raise _unreadable(what, _("rpm's stripped cpio format (files over 4 GiB) is not supported"))
    if magic not in (_NEWC, _CRC):
        raise _unreadable(what, _("{where}: not a cpio newc/crc header").format(where=source.where))
    if not _HEX_FIELDS.fullmatch(raw[6:]):
        # int(x, 16) alone would take "-0000001", "0x00001f" or "0000_001": a member of
        # -1 bytes made every later read unbounded.
        raise _unreadable(what, _("{where}: the cpio header is corrupt").format(where=source.where))
    fields = [int(raw[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
    ino, mode, _uid, _gid, nlink, _mtime, size, major, minor, _rmaj, _rmin, namesize, check = fields
    if not 1 < namesize <= MAX_NAME:
        raise _unreadable(
            what,
            _("{where}: a member name of {size} bytes").format(where=source.where, size=namesize),
        )
    raw_name = source.read(namesize + (-(_CPIO_HEADER + namesize) % 4))[:namesize]
    if raw_name[-1:] != b"\0":
        raise _unreadable(
            what, _("{where}: a member name is not NUL-terminated").format(where=source.where)
        )
    name = raw_name[:-1].decode("utf-8", "surrogateescape")
    if name == _TRAILER:
        return None
    path = _relative_path(name, what)
    if magic == _NEWC:
        check = None
    return Member(name, path, mode, size, nlink, (ino, major, minor), check)


def _copy(source, member, target, what, file_cap):
    """Stream the member's data into ``target``; return (sha256, size)."""
    digest = hashlib.sha256()
    crc = 0
    remaining = member.size
    written = 0
    with open(target, "wb") as out:
        while remaining:
            chunk = source.read(min(remaining, CHUNK))
            remaining -= len(chunk)
            written += len(chunk)
            if written > file_cap:
                raise DnfError(
                    _(
                        "{what}: member {name} is larger than "
                        "KICKSTART_MAX_UNPACKED_FILE_BYTES ({cap} bytes)"
                    ).format(what=what, name=member.name, cap=file_cap)
                )
            digest.update(chunk)
            if member.check is not None:
                crc += sum(chunk)
            out.write(chunk)
    if member.check is not None and crc & 0xFFFFFFFF != member.check:
        raise _unreadable(what, _("member {name} fails its cpio checksum").format(name=member.name))
    return digest.hexdigest(), written


def _skip(source, count):
    while count:
        count -= len(source.read(min(count, CHUNK)))


def extract(rpm_path, destination, what, wanted):
    """Write the regular-file members ``wanted(member)`` accepts to new files in ``destination``.

    Returns ``Written`` items in archive order, each under a temporary name the
    caller renames or removes. ``what`` names the package in error messages.
    Hard links get the data of their group (cpio stores it with the last link).
    """
    file_cap = settings.KICKSTART_MAX_UNPACKED_FILE_BYTES
    total_cap = settings.KICKSTART_MAX_UNPACKED_TOTAL_BYTES
    members_cap = settings.KICKSTART_MAX_PAYLOAD_MEMBERS
    results = []
    created = []
    waiting = {}  # hard link key -> wanted members stored without data so far

    def new_file():
        handle, path = tempfile.mkstemp(prefix=".payload-", suffix=".part", dir=destination)
        os.close(handle)
        created.append(path)
        return path

    try:
        with open(rpm_path, "rb") as fh:
            compressor = payload_compressor(fh, what)
            source = _Source(_decoder(compressor, fh, what, total_cap), what)
            count = 0
            while True:
                member = _member(source, what)
                if member is None:
                    source.drain()
                    break
                count += 1
                if count > members_cap:
                    raise DnfError(
                        _(
                            "{what}: the payload has more than KICKSTART_MAX_PAYLOAD_MEMBERS "
                            "({cap}) members; member {name} is number {count}"
                        ).format(what=what, cap=members_cap, name=member.name, count=count)
                    )
                if member.size > file_cap:
                    raise DnfError(
                        _(
                            "{what}: member {name} is larger than "
                            "KICKSTART_MAX_UNPACKED_FILE_BYTES ({cap} bytes): "
                            "it declares {size} bytes"
                        ).format(what=what, name=member.name, cap=file_cap, size=member.size)
                    )
                source.where = _("member {name}").format(name=member.name)
                linked = member.is_file and member.nlink > 1
                if linked and member.size == 0:
                    if wanted(member):
                        waiting.setdefault(member.link_key, []).append(member)
                    continue
                targets = [member] if member.is_file and wanted(member) else []
                if linked:
                    targets += waiting.pop(member.link_key, [])
                if targets:
                    first = new_file()
                    sha256, size = _copy(source, member, first, what, file_cap)
                    for number, target in enumerate(targets):
                        path = first
                        if number:
                            path = new_file()
                            shutil.copyfile(first, path)
                        results.append(Written(target, path, sha256, size))
                else:
                    _skip(source, member.size)
                _skip(source, -member.size % 4)
                source.where = _("the member header after {name}").format(name=member.name)
        empty = hashlib.sha256().hexdigest()
        for members in waiting.values():
            results += [Written(m, new_file(), empty, 0) for m in members]
    except BaseException:
        for path in created:
            _remove(path)
        raise
    return results


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
