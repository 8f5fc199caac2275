"""Peak memory of finding bootloader packages in large primary metadata.

Fedora Everything's primary.xml lists about 70,000 packages. The dnf sync
streams it (pulp_kickstart_oci.app.dnf.repodata.newest_packages) and keeps
only the wanted names, so its peak memory must not grow with the package
count. This script generates primary metadata of N packages (default 7,000
and 70,000), parses each in a fresh process, and reports that process's
peak RSS (VmHWM) before and after the parse.

    .venv/bin/python bench/primary_memory.py [--packages 7000 70000]

Pass criterion (printed, exit 1 if broken): the parse of the largest file
adds less than 64 MiB over the import baseline, and the growth from the
smallest to the largest file is under 16 MiB.
"""

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WANTED = ["shim-x64", "grub2-efi-x64", "syslinux-nonlinux"]

PACKAGE = """<package type="rpm">
  <name>{name}</name>
  <arch>{arch}</arch>
  <version epoch="0" ver="{ver}" rel="{rel}"/>
  <checksum type="sha256" pkgid="YES">{checksum}</checksum>
  <summary>Generated package {index}</summary>
  <description>A generated package for the primary metadata benchmark, number {index}.</description>
  <packager>bench</packager>
  <url>https://example.invalid/{name}</url>
  <time file="1700000000" build="1700000000"/>
  <size package="{size}" installed="{size}" archive="{size}"/>
  <location href="Packages/{first}/{name}-{ver}-{rel}.{arch}.rpm"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:vendor>bench</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>bench</rpm:buildhost>
    <rpm:sourcerpm>{name}-{ver}-{rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="9000"/>
    <rpm:provides>
      <rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}"/>
    </rpm:provides>
    <rpm:requires><rpm:entry name="glibc"/><rpm:entry name="bash"/></rpm:requires>
    <file>/usr/bin/{name}</file>
  </format>
</package>
"""


def write_primary(path, count):
    """Primary metadata with ``count`` packages; the wanted ones appear in several versions."""
    with gzip.open(path, "wt", compresslevel=1) as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            '<metadata xmlns="http://linux.duke.edu/metadata/common" '
            f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{count}">\n'
        )
        for index in range(count):
            if index % 10000 < len(WANTED):
                name = WANTED[index % 10000]
                ver, rel = f"{1 + index // 10000}.0", "1.fc42"
            else:
                name, ver, rel = f"package-{index:06d}", "1.0", "1.fc42"
            out.write(
                PACKAGE.format(
                    name=name,
                    arch="noarch" if name == "syslinux-nonlinux" else "x86_64",
                    ver=ver,
                    rel=rel,
                    checksum=f"{index:064x}",
                    index=index,
                    size=1000 + index,
                    first=name[0],
                )
            )
        out.write("</metadata>\n")


MEASURE = """
import sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from pulp_kickstart_oci.app.dnf import repodata
before = hwm()
started = time.monotonic()
found = repodata.newest_packages(sys.argv[1], sys.argv[2].split(","), {"x86_64", "noarch"}, "bench")
elapsed = time.monotonic() - started
print(before, hwm(), f"{elapsed:.2f}", ";".join(sorted(p.nevra for p in found.values())))
"""


def measure(path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    output = subprocess.run(
        [sys.executable, "-c", MEASURE, path, ",".join(WANTED)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.split()
    return int(output[0]), int(output[1]), float(output[2]), output[3]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[7000, 70000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="primary-bench-") as directory:
        for count in args.packages:
            path = os.path.join(directory, f"primary-{count}.xml.gz")
            started = time.monotonic()
            write_primary(path, count)
            generated = time.monotonic() - started
            before, after, elapsed, found = measure(path)
            rows.append((count, os.path.getsize(path), before, after, elapsed))
            print(
                f"{count:>7} packages  {os.path.getsize(path) / 2**20:6.1f} MiB gz  "
                f"generated {generated:5.1f}s  parsed {elapsed:5.2f}s  "
                f"peak RSS {before / 1024:6.1f} -> {after / 1024:6.1f} MiB "
                f"(+{(after - before) / 1024:.1f})  found {found}"
            )
    largest, smallest = rows[-1], rows[0]
    added = (largest[3] - largest[2]) / 1024
    growth = (largest[3] - smallest[3]) / 1024
    ok = added < 64 and growth < 16
    print(
        f"parse of {largest[0]} packages adds {added:.1f} MiB; "
        f"{smallest[0]} -> {largest[0]} packages grows peak by {growth:.1f} MiB: "
        + ("flat" if ok else "NOT FLAT")
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
