"""Peak memory and time of reading primary metadata: large trees and compressed bombs.

Fedora Everything's primary metadata lists about 75,000 packages. The dnf sync
streams it (pulp_kickstart_oci.app.dnf.repodata.newest_packages: decompressed by
app/decompress.py, parsed by a bounded expat parser) and keeps only the wanted
names, so its peak memory must not grow with the package count, nor with what a
bomb inflates to. This script runs each case in a fresh process and reports that
process's peak RSS (VmHWM) before and after the call, its wall and CPU time:

- N packages (default 7,000 and 100,000), gzip, each package with the shape of a
  Fedora one (8 provides, 14 requires, 3 files, a description): 100,000 of them
  inflate to about 280 MiB;
- the same 100,000 read by createrepo_c, the parser used before issue 18 (its
  memory grew with the text of a node and the dependencies of a package), for
  comparison;
- a bomb per compression (gz, xz, bz2, zstd): one package whose description is
  8 MiB more than KICKSTART_MAX_PRIMARY_INFLATED_BYTES of "A", the shape of the
  attack of issue 18 (pulp_kickstart_oci.testing.dnf.primary_bomb); it must be refused naming
  the setting.

Needs the Pulp settings environment:

    set -a; eval "$(dev/stack env)"; set +a
    .venv/bin/python bench/primary_memory.py [--packages 7000 100000]

Pass criterion (printed, exit 1 if broken): the parse of the largest tree adds
less than 64 MiB over the import baseline, the growth from the smallest to the
largest tree is under 16 MiB, and every bomb is refused naming the setting
after adding less than 64 MiB.
"""

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pulp_kickstart_oci.testing import dnf  # noqa: E402

WANTED = ["shim-x64", "grub2-efi-x64", "syslinux-nonlinux"]
SETTING = "KICKSTART_MAX_PRIMARY_INFLATED_BYTES"

# A Fedora-like package: 8 provides, 14 requires, 3 files, a description. Fields:
# name, arch, ver, rel, checksum, index, size, first (bench/dnf_sync_memory.py pads with it too).
_PROVIDES = "".join(
    f'\n      <rpm:entry name="{{name}}-cap{n}" flags="EQ" epoch="0" ver="{{ver}}" rel="{{rel}}"/>'
    for n in range(8)
)
_REQUIRES = "".join(f'\n      <rpm:entry name="lib{n}.so.{n}()(64bit)"/>' for n in range(14))
_FILES = "".join(f"\n    <file>/usr/bin/{{name}}-{n}</file>" for n in range(3))
PACKAGE = (
    """<package type="rpm">
  <name>{name}</name>
  <arch>{arch}</arch>
  <version epoch="0" ver="{ver}" rel="{rel}"/>
  <checksum type="sha256" pkgid="YES">{checksum}</checksum>
  <summary>Generated package {index}</summary>
  <description>A generated package for the primary metadata benchmark, number {index}. """
    + "Lorem ipsum dolor sit amet. " * 8
    + """</description>
  <packager>Fedora Project</packager>
  <url>https://example.invalid/{name}</url>
  <time file="1700000000" build="1700000000"/>
  <size package="{size}" installed="{size}" archive="{size}"/>
  <location href="Packages/{first}/{name}-{ver}-{rel}.{arch}.rpm"/>
  <format>
    <rpm:license>MIT AND (GPL-2.0-or-later)</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildhw-x86-01.iad2.fedoraproject.org</rpm:buildhost>
    <rpm:sourcerpm>{name}-{ver}-{rel}.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="19000"/>
    <rpm:provides>"""
    + _PROVIDES
    + """
    </rpm:provides>
    <rpm:requires>"""
    + _REQUIRES
    + """
    </rpm:requires>"""
    + _FILES
    + """
  </format>
</package>
"""
)


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
import os, sys, time
import django
django.setup()
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
from pulp_kickstart_oci.app.dnf import repodata
from pulp_kickstart_oci.app.dnf.errors import DnfError
import createrepo_c
path, parser = sys.argv[1], sys.argv[2]
before = hwm()
started, cpu = time.monotonic(), time.process_time()
if parser == "createrepo_c":
    found = []
    def keep(package):
        if package.name in sys.argv[3].split(","):
            found.append(package.nevra())
        return True
    createrepo_c.xml_parse_primary(path, pkgcb=keep, do_files=False)
    result = f"{len(found)} builds of the wanted names seen"
else:
    try:
        wanted, arches = sys.argv[3].split(","), {"x86_64", "noarch"}
        found = repodata.newest_packages(path, wanted, arches, "bench")
        result = ";".join(sorted(p.nevra for p in found.values()))
    except DnfError as exc:
        result = "refused: " + str(exc)
elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
print(before, hwm(), f"{elapsed:.2f}", f"{cpu:.2f}", result, sep="\\t")
"""


def measure(path, parser="plugin"):
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.setdefault("DJANGO_SETTINGS_MODULE", "pulpcore.app.settings")
    output = (
        subprocess.run(
            [sys.executable, "-c", MEASURE, path, parser, ",".join(WANTED)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        .stdout.strip()
        .split("\t")
    )
    return int(output[0]), int(output[1]), float(output[2]), float(output[3]), output[4]


def row(label, size, before, after, elapsed, cpu, result):
    print(
        f"{label:<34} {size / 2**20:7.1f} MiB  {elapsed:6.2f}s ({cpu:6.2f}s CPU)  "
        f"peak RSS {before / 1024:6.1f} -> {after / 1024:6.1f} MiB (+{(after - before) / 1024:.1f})"
        f"  {result[:110]}"
    )


def limit():
    """KICKSTART_MAX_PRIMARY_INFLATED_BYTES as the plugin reads it."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.setdefault("DJANGO_SETTINGS_MODULE", "pulpcore.app.settings")
    code = "import django; django.setup(); from django.conf import settings; "
    code += f"print(settings.{SETTING})"
    return int(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
        ).stdout
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[7000, 100000])
    parser.add_argument("--no-bombs", action="store_true", help="only the trees")
    args = parser.parse_args()
    ok = True
    rows = []
    with tempfile.TemporaryDirectory(prefix="primary-bench-") as directory:
        print(f"{'case':<34} {'on disk':>11}  {'time':>20}  peak RSS")
        for count in args.packages:
            path = os.path.join(directory, f"primary-{count}.xml.gz")
            write_primary(path, count)
            before, after, elapsed, cpu, found = measure(path)
            rows.append((count, before, after))
            row(f"{count} packages", os.path.getsize(path), before, after, elapsed, cpu, found)
            ok &= found.count(";") == len(WANTED) - 1
        largest_path = os.path.join(directory, f"primary-{args.packages[-1]}.xml.gz")
        reference = measure(largest_path, "createrepo_c")
        row(
            f"{args.packages[-1]} packages, createrepo_c", os.path.getsize(largest_path), *reference
        )
        largest, smallest = rows[-1], rows[0]
        added = (largest[2] - largest[1]) / 1024
        growth = (largest[2] - smallest[2]) / 1024
        flat = added < 64 and growth < 16
        ok &= flat
        if not args.no_bombs:
            cap = limit()
            for compression in dnf.REPODATA_COMPRESSIONS:
                started = time.monotonic()
                bomb, suffix = dnf.primary_bomb(compression, cap + 8 * 2**20)
                built = time.monotonic() - started
                path = os.path.join(directory, f"bomb{suffix}")
                with open(path, "wb") as out:
                    out.write(bomb)
                before, after, elapsed, cpu, result = measure(path)
                label = f"bomb {compression} (built in {built:.2f}s)"
                row(label, len(bomb), before, after, elapsed, cpu, result)
                refused = result.startswith("refused") and SETTING in result
                ok &= refused and (after - before) / 1024 < 64
        print(
            f"parse of {largest[0]} packages adds {added:.1f} MiB; "
            f"{smallest[0]} -> {largest[0]} packages grows peak by {growth:.1f} MiB: "
            + ("flat" if flat else "NOT FLAT")
        )
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
