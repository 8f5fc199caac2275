"""decompress.Inflated: every format reads back, bombs stop at the cap while streaming,
damaged and truncated streams are errors, and decoder memory is capped."""

import bz2
import gzip
import io
import lzma
import os
import struct
import tracemalloc
import zlib

import pytest
import zstandard

from pulp_kickstart_oci.app import decompress

MiB = 1 << 20
SETTING = "KICKSTART_TEST_LIMIT"


def _zstd(data):
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def _zstd_streamed(data):
    """A frame without a content size: it carries a window descriptor instead."""
    codec = zstandard.ZstdCompressor(level=3).compressobj()
    return codec.compress(data) + codec.flush()


COMPRESS = {
    "gzip": lambda data: gzip.compress(data, 6),
    "xz": lambda data: lzma.compress(data, preset=0),
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE, preset=0),
    "bzip2": lambda data: bz2.compress(data, 1),
    "zstd": _zstd,
    "identity": lambda data: data,
}
COMPRESSED = [name for name in COMPRESS if name != "identity"]


def _streamed(compression, size, piece=b"\0" * (4 * MiB)):
    """``size`` bytes of zeros compressed as ONE stream, without holding them."""
    codec = {
        "gzip": lambda: zlib.compressobj(6, wbits=31),
        "xz": lambda: lzma.LZMACompressor(preset=0),
        "lzma": lambda: lzma.LZMACompressor(format=lzma.FORMAT_ALONE, preset=0),
        "bzip2": lambda: bz2.BZ2Compressor(1),
        "zstd": lambda: zstandard.ZstdCompressor(level=1).compressobj(),
    }[compression]()
    out = io.BytesIO()
    left = size
    while left:
        step = min(left, len(piece))
        out.write(codec.compress(piece[:step]))
        left -= step
    out.write(codec.flush())
    return out.getvalue()


def read_all(data, compression, limit=1 << 40):
    stream = decompress.Inflated(io.BytesIO(data), compression, limit, SETTING)
    pieces = []
    while True:
        piece = stream.pull()
        if not piece:
            return b"".join(pieces), stream
        assert len(piece) <= decompress.CHUNK
        pieces.append(piece)


@pytest.mark.parametrize("compression", list(COMPRESS))
def test_every_format_reads_back(compression):
    data = os.urandom(200_000) + b"repodata " * 300_000  # several reads and pulls
    out, stream = read_all(COMPRESS[compression](data), compression)
    assert out == data
    assert stream.total == len(data)


@pytest.mark.parametrize("compression", COMPRESSED)
def test_concatenated_streams_read_on(compression):
    """gzip members, xz/bz2 streams and zstd frames written one after another are one file."""
    parts = [b"first part\n" * 1000, b"", b"second part\n" * 5000]
    data = b"".join(COMPRESS[compression](part) for part in parts)
    assert read_all(data, compression)[0] == b"".join(parts)


def test_xz_stream_padding_between_streams_is_skipped():
    data = COMPRESS["xz"](b"one") + bytes(8) + COMPRESS["xz"](b"two") + bytes(4)
    assert read_all(data, "xz")[0] == b"onetwo"


@pytest.mark.parametrize(
    "head, compression",
    [
        (b"\x1f\x8b\x08\0", "gzip"),
        (b"\xfd7zXZ\0\0", "xz"),
        (b"BZh91AY", "bzip2"),
        (b"\x28\xb5\x2f\xfd\x00", "zstd"),
        (b"<?xml version", "identity"),
        (b"", "identity"),
        (b"\x5d\0\0\x80\0", "identity"),  # .lzma has no magic: never guessed
    ],
)
def test_sniff(head, compression):
    assert decompress.sniff(head) == compression


@pytest.mark.parametrize("compression", COMPRESSED)
def test_a_bomb_stops_at_the_limit_while_it_streams(compression):
    bomb = _streamed(compression, 64 * MiB)
    assert len(bomb) < MiB
    limit = 8 * MiB
    stream = decompress.Inflated(io.BytesIO(bomb), compression, limit, SETTING)
    with pytest.raises(decompress.TooLarge) as failure:
        while stream.pull():
            pass
    assert limit < stream.total <= limit + decompress.CHUNK
    assert str(failure.value) == f"it decompresses to more than {SETTING} ({limit} bytes)"
    assert (failure.value.limit, failure.value.setting) == (limit, SETTING)


def test_uncompressed_data_counts_too():
    with pytest.raises(decompress.TooLarge):
        read_all(b"x" * (3 * MiB), "identity", limit=2 * MiB)
    assert read_all(b"x" * (2 * MiB), "identity", limit=2 * MiB)[0] == b"x" * (2 * MiB)


@pytest.mark.parametrize("compression", COMPRESSED)
def test_memory_is_flat_while_a_bomb_inflates(compression):
    """Python-level allocations stay at a few pieces whatever the stream inflates to."""
    bomb = _streamed(compression, 64 * MiB)
    tracemalloc.start()
    try:
        stream = decompress.Inflated(io.BytesIO(bomb), compression, 1 << 40, SETTING)
        while stream.pull():
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stream.total == 64 * MiB
    assert peak < 8 * MiB, peak


@pytest.mark.parametrize("compression", COMPRESSED)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_a_truncated_stream_is_corrupt_not_short(compression, keep):
    data = COMPRESS[compression](os.urandom(100_000) + b"tail" * 50_000)
    cut = data[: int(len(data) * keep)] if keep > 0 else data[:keep]
    with pytest.raises(decompress.Corrupt):
        read_all(cut, compression)


@pytest.mark.parametrize("compression", COMPRESSED)
def test_an_empty_compressed_stream_is_corrupt(compression):
    with pytest.raises(decompress.Corrupt):
        read_all(b"", compression)


@pytest.mark.parametrize("compression", COMPRESSED)
def test_trailing_garbage_is_corrupt(compression):
    with pytest.raises(decompress.Corrupt):
        read_all(COMPRESS[compression](b"data" * 1000) + b"garbage!" * 10, compression)


@pytest.mark.parametrize("compression", COMPRESSED)
def test_damaged_data_is_corrupt_and_names_the_decoder_error(compression):
    data = bytearray(COMPRESS[compression](os.urandom(50_000)))
    for offset in range(len(data) // 2, len(data) // 2 + 32):
        data[offset] ^= 0x55
    with pytest.raises(decompress.Corrupt) as failure:
        read_all(bytes(data), compression)
    assert ": " in str(failure.value) or "ends early" in str(failure.value)


def test_zstd_window_a_frame_asks_for_is_capped():
    frame = bytearray(_zstd_streamed(b"MZ" * 100))
    assert frame[:4] == b"\x28\xb5\x2f\xfd" and not frame[4] & 0x20  # has a window descriptor
    frame[5] = 18 << 3  # 2**(10 + 18) bytes, over ZSTD_MAX_WINDOW
    with pytest.raises(decompress.Corrupt, match="ZstdError: .*memory"):
        read_all(bytes(frame), "zstd")


def test_xz_dictionary_a_stream_asks_for_is_capped():
    stream = bytearray(COMPRESS["lzma"](b"MZ" * 100))
    stream[1:5] = struct.pack("<I", 1 << 30)  # .lzma dictionary size: 1 GiB
    with pytest.raises(decompress.Corrupt, match="LZMAError: Memory usage limit"):
        read_all(bytes(stream), "lzma")


def test_zstd_skippable_frames_are_skipped():
    skippable = struct.pack("<II", 0x184D2A5A, 5) + b"hello"
    data = skippable + _zstd(b"payload") + skippable
    assert read_all(data, "zstd")[0] == b"payload"


def test_unknown_compression_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown compression 'brotli'"):
        decompress.Inflated(io.BytesIO(b""), "brotli", 1, SETTING)
