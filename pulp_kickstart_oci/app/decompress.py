"""Decompression capped on what it produces, while it streams: the one place the plugin inflates.

A few kilobytes of gzip, xz, bzip2 or zstd can inflate to gigabytes, and a
stream header chooses how much memory its decoder asks for. Everything the
plugin decompresses (repodata, RPM payloads, any future compressed layer) is
read through ``Inflated``: at most ``CHUNK`` bytes come out per ``pull``, the
total is counted against a limit the caller names by its setting and stops the
read at the first byte past it, the decoder's own memory is capped (xz
dictionary, zstd window) whatever the stream asks for, and a stream that ends
early is an error rather than a short file.

Nothing here knows about Django or the callers' errors: callers catch
``TooLarge`` and ``Corrupt`` and say which file it was.
"""

import bz2
import lzma
import zlib
from gettext import gettext as _

import zstandard

CHUNK = 1 << 20  # most decompressed bytes handed out per pull
READ = 64 * 1024  # compressed bytes read from the file at a time

# Decoder memory, which a forged stream header chooses: xz dictionary (preset 9
# needs 65 MiB) and zstd window (libzstd's own default limit, 128 MiB).
XZ_MEMLIMIT = 128 << 20
ZSTD_MAX_WINDOW = 1 << 27

# Compression names as rpm's PAYLOADCOMPRESSOR spells them; "lzma" is the legacy
# .lzma (LZMA-alone) format, "identity" is no compression.
FORMATS = ("gzip", "xz", "lzma", "bzip2", "zstd", "identity")
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_DECODER_ERRORS = (zlib.error, lzma.LZMAError, zstandard.ZstdError, EOFError, OSError, ValueError)


class DecompressionError(Exception):
    """A compressed stream could not be read to its end; the message says why, not which file."""


class Corrupt(DecompressionError):
    """The stream is damaged, truncated or asks its decoder for too much memory."""


class TooLarge(DecompressionError):
    """The stream decompresses to more than the caller's limit."""

    def __init__(self, limit, setting):
        self.limit = limit
        self.setting = setting
        super().__init__(
            _("it decompresses to more than {setting} ({limit} bytes)").format(
                setting=setting, limit=limit
            )
        )


def sniff(head):
    """The compression of a file by its first bytes (6 are enough); "identity" when none matches.

    createrepo_c and dnf tell repodata compressions apart the same way, whatever the file name.
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "identity"


def _truncated():
    return Corrupt(_("the compressed data ends early"))


class _Inflate:
    """gzip (concatenated members too)."""

    def __init__(self, fh):
        self.fh = fh
        self.decoder = zlib.decompressobj(47)  # gzip or zlib header, detected
        self.tail = b""

    def pull(self, n):
        while True:
            if self.decoder.eof:
                rest = self.decoder.unused_data or self.fh.read(READ)
                if not rest:
                    return b""
                self.decoder = zlib.decompressobj(47)
                self.tail = rest
            out = self.decoder.decompress(self.tail, n)
            self.tail = self.decoder.unconsumed_tail
            if out:
                return out
            if not self.tail and not self.decoder.eof:
                self.tail = self.fh.read(READ)
                if not self.tail:
                    raise _truncated()


class _Buffered:
    """lzma and bz2 decoders (``needs_input``), concatenated streams too."""

    def __init__(self, fh, make, padding=False):
        self.fh = fh
        self.make = make
        self.padding = padding  # xz allows NUL padding in 4-byte groups between streams
        self.decoder = make()

    def _next_stream(self):
        rest = self.decoder.unused_data or self.fh.read(READ)
        while self.padding and rest[:4] == b"\0\0\0\0":
            rest = rest[4:] or self.fh.read(READ)
        return rest

    def pull(self, n):
        while True:
            if self.decoder.eof:
                rest = self._next_stream()
                if not rest:
                    return b""
                self.decoder = self.make()
                out = self.decoder.decompress(rest, n)
            elif self.decoder.needs_input:
                data = self.fh.read(READ)
                if not data:
                    raise _truncated()
                out = self.decoder.decompress(data, n)
            else:
                out = self.decoder.decompress(b"", n)
            if out:
                return out


class _ZstdFrames:
    """Follows zstd frame and block headers in the compressed bytes as they are read.

    python-zstandard's reader ends quietly when the input ends inside a frame;
    this says whether the input stopped between frames (``complete``). It reads
    headers only: block contents are skipped over.
    """

    def __init__(self):
        self.state, self.need, self.field, self.skip = "magic", 4, b"", 0
        self.checksum = False
        self.frames = 0

    @property
    def complete(self):
        return self.frames > 0 and self.state == "magic" and not self.field and not self.skip

    def feed(self, data):
        at, end = 0, len(data)
        while at < end:
            if self.skip:
                step = min(self.skip, end - at)
                self.skip -= step
                at += step
                continue
            take = min(self.need - len(self.field), end - at)
            self.field += data[at : at + take]
            at += take
            if len(self.field) == self.need:
                field, self.field = self.field, b""
                self._read(field)

    def _read(self, field):
        value = int.from_bytes(field, "little")
        if self.state == "magic":
            if value == 0xFD2FB528:
                self.state, self.need = "descriptor", 1
            elif value & 0xFFFFFFF0 == 0x184D2A50:
                self.state, self.need = "skippable", 4
            else:
                raise Corrupt(_("not a zstd frame"))
        elif self.state == "descriptor":
            single_segment = value >> 5 & 1
            self.checksum = bool(value >> 2 & 1)
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[value & 3]
            rest += (single_segment, 2, 4, 8)[value >> 6]
            self.state, self.need = "header", rest
        elif self.state == "header":
            self.state, self.need = "block", 3
        elif self.state == "block":
            kind, size = value >> 1 & 3, value >> 3
            self.skip = 1 if kind == 1 else size  # an RLE block stores one byte
            if not value & 1:
                self.state, self.need = "block", 3
            elif self.checksum:
                self.state, self.need = "checksum", 4
            else:
                self._frame_done()
        elif self.state == "checksum":
            self._frame_done()
        elif self.state == "skippable":
            self.skip = value
            self.state, self.need = "magic", 4

    def _frame_done(self):
        self.frames += 1
        self.state, self.need = "magic", 4


class _Tracked:
    """The compressed file as the zstd reader reads it, shown to a ``_ZstdFrames`` on the way."""

    def __init__(self, fh, frames):
        self.fh = fh
        self.frames = frames

    def read(self, size=-1):
        data = self.fh.read(size)
        self.frames.feed(data)
        return data


class _Zstd:
    def __init__(self, fh):
        self.frames = _ZstdFrames()
        decoder = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self.reader = decoder.stream_reader(
            _Tracked(fh, self.frames), read_size=READ, read_across_frames=True
        )

    def pull(self, n):
        out = self.reader.read(n)
        if not out and not self.frames.complete:
            raise _truncated()
        return out


class _Plain:
    def __init__(self, fh):
        self.fh = fh

    def pull(self, n):
        return self.fh.read(n)


def _decoder(fh, compression):
    if compression == "gzip":
        return _Inflate(fh)
    if compression in ("xz", "lzma"):  # liblzma's auto format reads .xz and .lzma
        return _Buffered(fh, lambda: lzma.LZMADecompressor(memlimit=XZ_MEMLIMIT), padding=True)
    if compression == "bzip2":
        return _Buffered(fh, bz2.BZ2Decompressor)
    if compression == "zstd":
        return _Zstd(fh)
    if compression == "identity":
        return _Plain(fh)
    raise ValueError(f"unknown compression {compression!r}; known: {', '.join(FORMATS)}")


class Inflated:
    """The decompressed bytes of ``fh``, pulled in pieces, at most ``limit`` in all.

    ``setting`` names the limit in the ``TooLarge`` error. ``total`` is what the
    decoder has produced so far, the piece that went past the limit included.
    """

    def __init__(self, fh, compression, limit, setting):
        self.compression = compression
        self.limit = limit
        self.setting = setting
        self.total = 0
        self._decoder = _decoder(fh, compression)

    def pull(self, n=CHUNK):
        """Up to ``min(n, CHUNK)`` decompressed bytes; b"" once the stream has ended."""
        if n < 1:
            # A decoder reads max_length -1 (or 0) as "no limit": never ask for that.
            raise ValueError(f"pull({n}): ask for at least one byte")
        try:
            piece = self._decoder.pull(min(n, CHUNK))
        except DecompressionError:
            raise
        except _DECODER_ERRORS as exc:
            raise Corrupt(
                _("{kind}: {problem}").format(kind=type(exc).__name__, problem=exc)
            ) from None
        self.total += len(piece)
        if self.total > self.limit:
            raise TooLarge(self.limit, self.setting)
        return piece
