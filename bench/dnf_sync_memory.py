"""Peak memory of a real dnf sync whose primary metadata lists 70,000 packages.

Builds a small signed-RPM install tree (pulp_kickstart_oci.testing.dnf), pads its primary
metadata with generated packages, serves it on 127.0.0.1, and syncs it
through the running Pulp stack (`make stack`). While the task runs, the peak
RSS (VmHWM) of the worker's task processes is sampled from /proc. Run it for
two sizes to see that memory does not grow with the package count:

    .venv/bin/python bench/dnf_sync_memory.py --packages 7000 70000
"""

import argparse
import gzip
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import createrepo_c  # noqa: E402
import zstandard  # noqa: E402

from bench.primary_memory import PACKAGE  # noqa: E402
from pulp_kickstart_oci.testing import dnf  # noqa: E402
from tests.support.pulp import PulpAPI, unique  # noqa: E402

PID_DIR = ROOT / ".run" / "pid"  # worker.pid, worker-2.pid, ...: a task runs on any of them


def pad_primary(tree, count):
    """Add ``count`` generated packages to the tree's primary metadata and fix repomd.xml."""
    repodata = tree.root / "repodata"
    repomd_path = repodata / "repomd.xml"
    repomd = createrepo_c.Repomd(str(repomd_path))
    record = next(r for r in repomd.records if r.type == "primary")
    old = tree.root / record.location_href
    raw = old.read_bytes()
    if old.suffix == ".zst":
        text = zstandard.ZstdDecompressor().decompressobj().decompress(raw).decode()
    else:
        text = gzip.decompress(raw).decode()
    real = int(re.search(r'packages="(\d+)"', text).group(1))
    padding = "".join(
        PACKAGE.format(
            name=f"padding-{i:06d}",
            arch="x86_64",
            ver="1.0",
            rel="1",
            checksum=f"{i:064x}",
            index=i,
            size=1000 + i,
            first="p",
        )
        for i in range(count)
    )
    text = text.replace(f'packages="{real}"', f'packages="{real + count}"', 1)
    text = text.replace("</metadata>", padding + "</metadata>")
    old.unlink()
    new = repodata / "primary.xml.gz"
    new.write_bytes(gzip.compress(text.encode(), compresslevel=1))
    fresh = createrepo_c.RepomdRecord("primary", str(new))
    fresh.fill(createrepo_c.SHA256)
    repomd.set_record(fresh)
    repomd_path.write_text(repomd.xml_dump())
    return new.stat().st_size


def task_processes(worker_pids):
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) in worker_pids:
                children.append(entry)
    return children


def sample_peak(worker_pids, stop, result):
    while not stop.is_set():
        for process in task_processes(worker_pids):
            try:
                for line in (process / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        result["peak_kib"] = max(result.get("peak_kib", 0), int(line.split()[1]))
            except OSError:
                pass
        time.sleep(0.02)


def run(count, workdir, api):
    tree = dnf.fedora_tree(workdir, salt=unique("bench"))
    size = pad_primary(tree, count)
    worker_pids = {int(path.read_text()) for path in PID_DIR.glob("worker*.pid")}
    with dnf.StaticServer(tree.root) as server:
        remote = api.create("remotes/kickstart/dnf/", {"name": unique("bench"), "url": server.url})
        repo = api.create("repositories/kickstart/kickstart/", {"name": unique("bench")})
        stop, result = threading.Event(), {}
        sampler = threading.Thread(target=sample_peak, args=(worker_pids, stop, result))
        sampler.start()
        started = time.monotonic()
        try:
            task = api.sync(repo, remote)
        finally:
            stop.set()
            sampler.join()
        elapsed = time.monotonic() - started
        api.delete(repo["pulp_href"])
        api.delete(remote["pulp_href"])
    print(
        f"{count:>7} padded packages  primary {size / 2**20:5.1f} MiB gz  sync {task['state']} "
        f"in {elapsed:5.1f}s  peak task RSS {result.get('peak_kib', 0) / 1024:6.1f} MiB"
    )
    if not result.get("peak_kib"):
        raise SystemExit("no task process of any worker was seen: the peak measures nothing")
    return result.get("peak_kib", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[7000, 70000])
    args = parser.parse_args()
    api = PulpAPI()
    with tempfile.TemporaryDirectory(prefix="dnf-bench-") as workdir:
        peaks = [run(count, workdir, api) for count in args.packages]
    growth = (peaks[-1] - peaks[0]) / 1024
    print(f"peak grows by {growth:.1f} MiB from {args.packages[0]} to {args.packages[-1]} packages")
    sys.exit(0 if growth < 32 else 1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    main()
