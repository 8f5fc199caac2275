"""Peak memory of unpacking RPM payload bombs (pulp_kickstart_oci.app.dnf.rpm).

A payload of a few hundred KiB of zstd or xz can decompress to gigabytes.
extract_boot_files streams it (app/dnf/payload.py), so its peak memory must not
grow with the decompressed size. This script writes hand-made RPMs whose
payload holds 1 GiB or 5 GiB of zeros, runs extract_boot_files on each in a
fresh process, and reports that process's peak RSS (VmHWM) before and after
the call:

- "extract": the 1 GiB member is a wanted boot file, caps raised to 2 GiB;
- "refuse (file cap)": the same, default caps (refused from the member header);
- "refuse (total cap)": 5 GiB in members nobody wants (1 GiB each: a newc
  member holds under 4 GiB), file cap raised, default total cap: refused
  after streaming 1 GiB;
- "stream through": the same with caps raised: 5 GiB read through, the small
  wanted member after them extracted;
- worst case rows: the largest decoder window a stream may ask for
  (zstd window 128 MiB, xz dictionary 64 MiB), bounded by payload.py.

To stay fast, a bomb's zeros are one compressed block of 256 MiB repeated
(concatenated zstd frames / xz streams, both valid for the decoders).
Needs the Pulp settings environment:

    set -a; eval "$(dev/stack env)"; set +a
    .venv/bin/python bench/rpm_unpack_memory.py

Pass criterion (printed, exit 1 if broken): every row with the default
decoder window adds less than 100 MiB over the baseline; worst-case rows add
less than 100 MiB more than their window.
"""

import json
import lzma
import os
import struct
import subprocess
import sys
import tempfile
import time

import zstandard

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20
GiB = 1 << 30
BLOCK = 256 * MiB
WANTED = "./boot/efi/EFI/fedora/shimx64.efi"
SKIPPED = "./usr/share/doc/bomb/zeros"


def _header(entries):
    index = data = b""
    for tag, value in entries:
        index += struct.pack(">iiii", tag, 6, len(data), 1)
        data += value.encode() + b"\0"
    return b"\x8e\xad\xe8\x01\0\0\0\0" + struct.pack(">II", len(entries), len(data)) + index + data


def _cpio(name, size):
    raw = name.encode() + b"\0"
    fields = [1, 0o100644, 0, 0, 1, 0, size, 0, 0, 0, 0, len(raw), 0]
    head = b"070701" + b"".join(b"%08x" % value for value in fields) + raw
    return head + bytes(-len(head) % 4)


def _codec(kind):
    if kind == "zstd":
        return zstandard.ZstdCompressor(level=1).compressobj()
    if kind == "zstd-window-128MiB":
        params = zstandard.ZstdCompressionParameters.from_level(1, window_log=27)
        return zstandard.ZstdCompressor(compression_params=params).compressobj()
    if kind == "xz":
        return lzma.LZMACompressor(preset=0)
    filters = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 64 * MiB}]
    return lzma.LZMACompressor(filters=filters)


def _compressed(kind, data):
    codec = _codec(kind)
    return codec.compress(data) + codec.flush()


def _zeros(kind):
    """One compressed stream of BLOCK zeros."""
    codec = _codec(kind)
    out = [codec.compress(bytes(16 * MiB)) for _ in range(BLOCK // (16 * MiB))]
    return b"".join(out) + codec.flush()


def write_bomb(path, kind, gib, wanted, zeros):
    """An RPM with ``gib`` GiB of zeros: one wanted member, or 1 GiB skipped members + a shim.

    A newc member holds under 4 GiB, so bigger bombs are several members.
    """
    compressor = "zstd" if kind.startswith("zstd") else "xz"
    names = [WANTED] if wanted else [f"{SKIPPED}{number}" for number in range(gib)]
    size = gib * GiB if wanted else GiB
    with open(path, "wb") as out:
        out.write(b"\xed\xab\xee\xdb\x03\x00" + bytes(90) + _header([]))
        out.write(_header([(1124, "cpio"), (1125, compressor)]))
        for name in names:
            out.write(_compressed(kind, _cpio(name, size)))
            for _ in range(size // BLOCK):
                out.write(zeros)
        tail = b"" if wanted else _cpio(WANTED, 2) + b"MZ" + bytes(2)
        out.write(_compressed(kind, tail + _cpio("TRAILER!!!", 0)))
    return os.path.getsize(path)


MEASURE = """
import json, os, sys, tempfile, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from django.conf import settings
from django.test import override_settings
from pulp_kickstart_oci.app.dnf import rpm
from pulp_kickstart_oci.app.dnf.errors import DnfError
caps = json.loads(sys.argv[3])
settings.KICKSTART_MAX_UNPACKED_FILE_BYTES  # load the settings before the baseline
before = hwm()
started = time.monotonic()
with override_settings(**caps):
    try:
        found = rpm.extract_boot_files(sys.argv[1], sys.argv[2], "bench package")
        outcome = "extracted " + ",".join(f"{e.name}={e.size}" for e in found)
        for item in found:
            os.unlink(item.local_path)
    except DnfError as exc:
        outcome = "refused: " + str(exc).removeprefix("bench package: ")
print(json.dumps([before, hwm(), time.monotonic() - started, outcome]))
"""


def measure(path, caps, workdir):
    destination = tempfile.mkdtemp(dir=workdir)
    env = {**os.environ, "PYTHONPATH": ROOT}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, path, destination, json.dumps(caps)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


RAISED = {
    "KICKSTART_MAX_UNPACKED_FILE_BYTES": 2 * GiB,
    "KICKSTART_MAX_UNPACKED_TOTAL_BYTES": 2 * GiB,
}
FILE_RAISED = {"KICKSTART_MAX_UNPACKED_FILE_BYTES": 8 * GiB}

ALL_RAISED = {
    "KICKSTART_MAX_UNPACKED_FILE_BYTES": 8 * GiB,
    "KICKSTART_MAX_UNPACKED_TOTAL_BYTES": 8 * GiB,
}

# (codec, GiB of zeros, in the wanted member?, caps, label, allowed growth in MiB)
CASES = [
    ("zstd", 1, True, RAISED, "extract", 100),
    ("zstd", 1, True, {}, "refuse (file cap)", 100),
    ("zstd", 5, False, FILE_RAISED, "refuse (total cap)", 100),
    ("zstd", 5, False, ALL_RAISED, "stream through", 100),
    ("xz", 1, True, RAISED, "extract", 100),
    ("xz", 1, True, {}, "refuse (file cap)", 100),
    ("xz", 5, False, FILE_RAISED, "refuse (total cap)", 100),
    ("xz", 5, False, ALL_RAISED, "stream through", 100),
    ("zstd-window-128MiB", 1, True, RAISED, "extract", 228),
    ("xz-dict-64MiB", 1, True, RAISED, "extract", 164),
]


def main():
    if "DJANGO_SETTINGS_MODULE" not in os.environ:
        sys.exit('set the Pulp environment first: set -a; eval "$(dev/stack env)"; set +a')
    ok = True
    started = time.monotonic()
    zeros = {}
    print(
        f"{'codec':<19} {'zeros':>6} {'rpm size':>9} {'case':<19} "
        f"{'seconds':>7} {'peak RSS MiB':>18}  outcome"
    )
    with tempfile.TemporaryDirectory(prefix="rpm-bench-", dir=ROOT) as workdir:
        for kind, gib, wanted, caps, label, allowed in CASES:
            if kind not in zeros:
                zeros[kind] = _zeros(kind)
            path = os.path.join(workdir, f"{kind}-{gib}g.rpm")
            rpm_size = write_bomb(path, kind, gib, wanted, zeros[kind])
            before, after, elapsed, outcome = measure(path, caps, workdir)
            growth = (after - before) / 1024
            ok = ok and growth < allowed
            print(
                f"{kind:<19} {gib:>4}Gi {rpm_size / 1024:>6.0f}KiB {label:<19} "
                f"{elapsed:>7.1f} {before / 1024:>6.1f} -> {after / 1024:>6.1f} "
                f"(+{growth:>5.1f})  {outcome[:110]}"
            )
            os.unlink(path)
    print(
        f"total {time.monotonic() - started:.0f}s; "
        + ("peak RSS stays flat" if ok else "peak RSS NOT FLAT")
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
