"""Scale benchmark (issue 18): 10, 100 and 1,000 small trees synced and served by the dev stack.

For each size N, N tiny trees are pushed to a registry of the bench's own (a Debian
docker-registry on a free port, storage under .run/bench/scale/, removed on exit) the
way Fedora publishes them: releases of four architectures, one ``R-ARCH`` manifest per
tree and an index ``R`` per release (N = 1,000: 250 releases x 4 arches, 1,250 tags).
The files are a handful of blobs shared by every tree of an arch (tiny, pushed once);
every manifest is unique (an annotation holds the run's salt), so each run's first sync
creates new trees. Pushing goes straight over HTTP, a thread pool of keep-alive sessions.
The registry keeps distribution's default in-memory blob descriptor cache (the tests
turn it off), as a production registry would.

Then, on the running dev stack (``make run``), per size:

- ``first sync``: a new remote (policy immediate) and repository, one sync; the task's
  own time (started -> finished) and the wall time from POST to "completed";
- ``no-op re-sync``: the same sync again, nothing new upstream (must be skipped);
- ``CPU``: CPU seconds of the worker that ran each sync (its task process included)
  and of the registry that answered, from /proc;
- ``peak worker RSS``: the largest summed RSS of the worker that ran the first sync and
  its task process, sampled every 0.1 s (bench/procs.py);
- ``trees list``: ``GET /pulp/api/v3/content/kickstart/trees/?repository_version=...
  &limit=N`` (the version's N trees in one page), median of 5;
- ``trees.json`` / ``boot.ipxe`` (the menu): a first GET from a fresh distribution
  (a new base path: nothing cached in Redis or the content app's memo, so this is the
  render) and a second GET (cached), medians over 3 fresh distributions.

``--profile`` records py-spy (``py-spy`` on PATH or in .run/bench/venv) on the worker
during the largest size's first sync and no-op re-sync and prints where the time goes.
The stack is shared: other syncs running at the same time slow every number here.

    .venv/bin/python bench/scale.py [--sizes 10 100 1000] [--profile]
    .venv/bin/python bench/scale.py --markdown .run/bench/scale.json   # the docs' table

Prints a table and writes .run/bench/scale.json.
"""

import argparse
import concurrent.futures
import contextlib
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from procs import RssSampler, process_tree  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402
from urllib3.util import Retry  # noqa: E402

from pulp_kickstart_oci.testing import fedora  # noqa: E402
from pulp_kickstart_oci.testing.oci import (  # noqa: E402
    EMPTY_CONFIG,
    NETBOOT,
    NETBOOT_FILE,
    OCI_INDEX,
    OCI_MANIFEST,
    digest_of,
)
from pulp_kickstart_oci.testing.registry import LocalRegistry  # noqa: E402
from tests.support.pulp import CONTENT, PulpAPI  # noqa: E402

RUN = ROOT / ".run"
OUT = RUN / "bench" / "scale.json"
SCRATCH = RUN / "bench" / "scale"
ARCHS = ("amd64", "arm64", "ppc64le", "s390x")
FIRST_RELEASE = 100
PUSH_THREADS = 8
LIST_RUNS = 5
RENDER_RUNS = 3


def log(message):
    print(f"[scale] {message}", file=sys.stderr, flush=True)


# --- upstream ---------------------------------------------------------------------------


class Upstream:
    """N trees in one registry repository: R-ARCH manifests and an index R per release."""

    def __init__(self, registry_url, count, salt):
        self.base = registry_url
        self.count = count
        self.salt = salt
        self.name = f"scale/trees-{count}"
        self._local = threading.local()

    def _session(self):
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def trees(self):
        """(release, arch) of each tree: consecutive releases of four arches."""
        return [
            (str(FIRST_RELEASE + number // len(ARCHS)), ARCHS[number % len(ARCHS)])
            for number in range(self.count)
        ]

    def _blob(self, data):
        digest = digest_of(data)
        url = f"{self.base}/v2/{self.name}"
        session = self._session()
        if session.head(f"{url}/blobs/{digest}").status_code == 200:
            return digest
        start = session.post(f"{url}/blobs/uploads/")
        start.raise_for_status()
        location = start.headers["Location"]
        location = self.base + location if location.startswith("/") else location
        separator = "&" if "?" in location else "?"
        session.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        ).raise_for_status()
        return digest

    def _put(self, reference, document):
        raw = json.dumps(document).encode()
        self._session().put(
            f"{self.base}/v2/{self.name}/manifests/{reference}",
            data=raw,
            headers={"Content-Type": document["mediaType"]},
        ).raise_for_status()
        return digest_of(raw), len(raw)

    def _manifest(self, release, arch, layers):
        return self._put(
            f"{release}-{arch}",
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": NETBOOT,
                "config": EMPTY_CONFIG,
                "layers": layers,
                "annotations": {
                    "org.pulpproject.netboot.version": "1",
                    "org.opencontainers.image.version": f"{release}+{self.salt}",
                },
            },
        )

    def _index(self, release, entries):
        return self._put(
            release,
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": digest,
                        "size": size,
                        "artifactType": NETBOOT,
                        "platform": {"architecture": arch, "os": "linux"},
                        "annotations": {"org.pulpproject.netboot.version": "1"},
                    }
                    for arch, digest, size in entries
                ],
                "annotations": {"org.pulpproject.netboot.version": "1"},
            },
        )

    def push(self):
        """Push every blob once, then the manifests, then the indexes (a thread pool each)."""
        started = time.monotonic()
        self._blob(b"{}")
        layers = {}
        for arch in ARCHS:
            layers[arch] = [
                {
                    "mediaType": NETBOOT_FILE,
                    "digest": self._blob(data),
                    "size": len(data),
                    "annotations": {"org.opencontainers.image.title": title},
                }
                for title, data in fedora.tree_files("scale", arch, salt="bench-scale")
            ]
        trees = self.trees()
        with concurrent.futures.ThreadPoolExecutor(PUSH_THREADS) as pool:
            pushed = list(pool.map(lambda tree: self._manifest(*tree, layers[tree[1]]), trees))
            releases = {}
            for (release, arch), (digest, size) in zip(trees, pushed, strict=True):
                releases.setdefault(release, []).append((arch, digest, size))
            list(pool.map(lambda item: self._index(*item), releases.items()))
        self.tags = len(trees) + len(releases)
        self.push_seconds = time.monotonic() - started
        log(
            f"pushed {self.count} manifests and {len(releases)} indexes to {self.name} "
            f"in {self.push_seconds:.1f} s"
        )
        return self


class BenchRegistry(LocalRegistry):
    """The tests' registry with distribution's default blob descriptor cache (in memory).

    The tests turn it off (they corrupt blobs on disk); without it every manifest
    request costs the registry several file reads, and on this 2-core machine the
    registry, not the worker, would set the pace of a no-op re-sync.
    """

    def _config(self):
        return super()._config().replace("blobdescriptor: ''", "blobdescriptor: inmemory")


# --- the stack --------------------------------------------------------------------------


def worker_pids():
    """The dev stack's pulpcore workers (.run/pid/worker*.pid)."""
    pids = []
    for path in sorted((RUN / "pid").glob("worker*.pid")):
        try:
            pids.append(int(path.read_text().strip()))
        except (OSError, ValueError):
            continue
    return pids


def cpu_with_children(top):
    """User + system CPU seconds of a process and everything below it: its running (or not
    yet reaped) task processes, and those it has reaped."""
    ticks = 0
    for pid in process_tree(top):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def task_seconds(task):
    return (parse_time(task["finished_at"]) - parse_time(task["started_at"])).total_seconds()


def median(values):
    return statistics.median(values) if values else None


class Bench:
    """Pulp objects of one run (deleted at the end) and the measurements on them."""

    def __init__(self, registry, run_id):
        self.pulp = PulpAPI()
        # Connection errors are retried: others restart the shared stack (dev/stack restart).
        retry = Retry(total=20, connect=20, read=20, status=0, backoff_factor=0.5)
        retry.allowed_methods = frozenset({"GET"})
        self.pulp.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.registry_url = registry.url
        self.registry_pid = registry.process.pid
        self.run_id = run_id
        self.created = []  # hrefs, deleted in reverse order

    def create(self, endpoint, body):
        obj = self.pulp.create(endpoint, body)
        self.created.append(obj["pulp_href"])
        return obj

    def clean(self):
        for href in reversed(self.created):
            try:
                self.pulp.delete(href)
            except Exception as exc:  # noqa: BLE001 - leave the rest deleted anyway
                log(f"could not delete {href}: {exc}")
        self.created.clear()

    def sync(self, repository, remote):
        """Sync and wait: (task, wall seconds from POST to the task's end, worker pid).

        The worker is the one whose ``current_task`` is the task while it runs (pulpcore
        does not keep it on the task), found while polling.
        """
        started = time.monotonic()
        href = self.pulp.post(f"{repository['pulp_href']}sync/", {"remote": remote["pulp_href"]})[
            "task"
        ]
        worker = None
        while True:
            task = self.pulp.get(href)
            if task["state"] in ("completed", "failed", "canceled"):
                break
            if worker is None and task["state"] == "running":
                for candidate in self.pulp.get("workers/", online=True)["results"]:
                    if candidate.get("current_task") == href:
                        worker = int(candidate["name"].split("@", 1)[0])
            time.sleep(0.05)
        wall = time.monotonic() - started
        if task["state"] != "completed":
            raise AssertionError(f"sync {href} {task['state']}: {task.get('error')}")
        return task, wall, worker

    def cpu(self):
        """CPU seconds so far of each worker (its task processes included) and the registry."""
        return {
            "registry": cpu_with_children(self.registry_pid),
            **{pid: cpu_with_children(pid) for pid in worker_pids()},
        }

    def cpu_since(self, before, worker, label):
        """CPU seconds a sync cost: the worker that ran it, and the registry that answered.

        A sync too quick to be seen running is charged to the busiest worker meanwhile.
        Returns (the row's values, the worker).
        """
        now = self.cpu()
        spent = {pid: now[pid] - before.get(pid, 0) for pid in now if pid != "registry"}
        if worker not in spent:
            worker = max(spent, key=spent.get, default=None)
        return {
            f"{label}_worker_cpu_s": spent.get(worker),
            f"{label}_registry_cpu_s": now["registry"] - before["registry"],
        }, worker

    def timed_get(self, url, **params):
        started = time.monotonic()
        response = self.pulp.session.get(url, params=params, timeout=120)
        seconds = time.monotonic() - started
        response.raise_for_status()
        return seconds, response

    def measure(self, upstream, spy=None):
        """Every measurement of one size (see the module's docstring)."""
        row = {"trees": upstream.count, "tags": upstream.tags, "push_s": upstream.push_seconds}
        label = f"{self.run_id}-{upstream.count}"
        remote = self.create(
            "remotes/kickstart/oci/",
            {
                "name": f"bench-scale-{label}",
                "url": self.registry_url,
                "upstream_name": upstream.name,
                "policy": "immediate",
            },
        )
        repository = self.create("repositories/kickstart/kickstart/", {"name": f"scale-{label}"})

        samplers = {pid: RssSampler(pid) for pid in worker_pids()}
        for sampler in samplers.values():
            sampler.start()
        cpu = self.cpu()
        with spy("first-sync") if spy else contextlib.nullcontext():
            task, wall, worker = self.sync(repository, remote)
        spent, worker = self.cpu_since(cpu, worker, "first_sync")
        row.update(spent)
        for sampler in samplers.values():
            sampler.halt.set()
            sampler.join()
        chosen = samplers.get(worker)
        row["first_sync_task_s"] = task_seconds(task)
        row["first_sync_wall_s"] = wall
        row["worker_peak_rss_mib"] = chosen.peak_kb / 1024 if chosen else None
        row["worker_rss_before_mib"] = chosen.before_kb / 1024 if chosen else None
        repository = self.pulp.get(repository["pulp_href"])
        version = repository["latest_version_href"]
        count = self.pulp.get("content/kickstart/trees/", repository_version=version, limit=1)[
            "count"
        ]
        if count != upstream.count:
            raise AssertionError(f"{version} holds {count} trees, not {upstream.count}")
        log(
            f"{upstream.count} trees: first sync {row['first_sync_task_s']:.2f} s "
            f"(wall {wall:.2f} s), worker peak RSS {row['worker_peak_rss_mib'] or 0:.0f} MiB"
        )

        cpu = self.cpu()
        with spy("no-op-sync") if spy else contextlib.nullcontext():
            task, wall, worker = self.sync(repository, remote)
        row.update(self.cpu_since(cpu, worker, "noop_sync")[0])
        codes = [report["code"] for report in task.get("progress_reports") or []]
        if "sync.was_skipped" not in codes:
            raise AssertionError(f"the re-sync of {upstream.count} trees was not skipped: {codes}")
        row["noop_sync_task_s"] = task_seconds(task)
        row["noop_sync_wall_s"] = wall
        log(
            f"{upstream.count} trees: no-op re-sync {row['noop_sync_task_s']:.2f} s "
            f"(wall {wall:.2f} s)"
        )

        list_url = self.pulp.url("content/kickstart/trees/")
        times = []
        for _run in range(LIST_RUNS):
            seconds, response = self.timed_get(
                list_url, repository_version=version, limit=upstream.count
            )
            if len(response.json()["results"]) != upstream.count:
                raise AssertionError("the trees list did not return every tree in one page")
            times.append(seconds)
        row["trees_list_s"] = median(times)
        row["trees_list_bytes"] = len(response.content)

        renders = {"trees.json": [], "boot.ipxe": []}
        cached = {"trees.json": [], "boot.ipxe": []}
        for number in range(RENDER_RUNS):
            base_path = f"bench-scale/{label}/{number}-{uuid.uuid4().hex[:6]}"
            self.create(
                "distributions/kickstart/kickstart/",
                {
                    "name": base_path.replace("/", "-"),
                    "base_path": base_path,
                    "repository": repository["pulp_href"],
                },
            )
            for document in renders:
                url = f"{CONTENT}/pulp/content/{base_path}/{document}"
                seconds, response = self.timed_get(url)
                renders[document].append(seconds)
                if document == "trees.json" and len(response.json()["trees"]) != upstream.count:
                    raise AssertionError(f"{url} does not list {upstream.count} trees")
                cached[document].append(self.timed_get(url)[0])
        for document in renders:
            row[f"{document}_render_s"] = median(renders[document])
            row[f"{document}_cached_s"] = median(cached[document])
        log(
            f"{upstream.count} trees: trees list {row['trees_list_s']:.3f} s, trees.json "
            f"{row['trees.json_render_s']:.3f} s, boot.ipxe {row['boot.ipxe_render_s']:.3f} s"
        )
        return row


# --- profile ----------------------------------------------------------------------------


def py_spy():
    for candidate in (
        shutil.which("py-spy"),
        RUN / "bench" / "venv" / "bin" / "py-spy",
        ROOT / ".venv" / "bin" / "py-spy",
    ):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise SystemExit("--profile needs py-spy (pip install py-spy==0.4.3, or make bench-sync)")


class Spy:
    """py-spy records on every worker (the task runs on one of them) while a block runs."""

    def __init__(self, binary):
        self.binary = binary
        self.summaries = {}

    @contextlib.contextmanager
    def __call__(self, what):
        import sync  # bench/sync.py: summarise_profile (the task process's profile)

        recordings = []
        for pid in worker_pids():
            out = SCRATCH / f"profile-{what}-{pid}.speedscope.json"
            out.unlink(missing_ok=True)
            process = subprocess.Popen(
                [
                    self.binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--subprocesses",
                    "--idle",
                    "--nonblocking",
                ]
                + ["--rate", "100", "--format", "speedscope", "-o", str(out)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for line in process.stdout:  # attached once it says so; EOF: it gave up
                if "Sampling process" in line:
                    break
            recordings.append((pid, out, process))
        try:
            yield
        finally:
            best = None
            for pid, out, process in recordings:
                process.send_signal(signal.SIGINT)
                try:
                    process.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.communicate()
                if not out.exists():
                    continue
                summary = sync.summarise_profile(out, pid)
                if summary.get("main_thread_seconds") and (
                    best is None or summary["main_thread_seconds"] > best["main_thread_seconds"]
                ):
                    best = {**summary, "file": str(out.relative_to(ROOT))}
            self.summaries[what] = best or {}
            log(f"profile of {what}: main thread {(best or {}).get('main_thread')}")
            for name, pct in (best or {}).get("self", [])[:15]:
                print(f"    self  {pct:5.1f}%  {name}", flush=True)
            for name, pct in (best or {}).get("total", [])[:15]:
                print(f"    total {pct:5.1f}%  {name}", flush=True)


# --- report -----------------------------------------------------------------------------

COLUMNS = [
    ("trees", "trees", "{:,}"),
    ("tags", "tags", "{:,}"),
    ("first_sync_task_s", "first sync (s)", "{:.2f}"),
    ("noop_sync_task_s", "no-op re-sync (s)", "{:.2f}"),
    ("first_sync_worker_cpu_s", "first sync CPU (s)", "{:.2f}"),
    ("noop_sync_worker_cpu_s", "no-op CPU (s)", "{:.2f}"),
    ("worker_peak_rss_mib", "worker peak RSS (MiB)", "{:.0f}"),
    ("trees_list_s", "API trees list (s)", "{:.3f}"),
    ("trees.json_render_s", "trees.json render (s)", "{:.3f}"),
    ("boot.ipxe_render_s", "menu render (s)", "{:.3f}"),
    ("trees.json_cached_s", "trees.json cached (s)", "{:.3f}"),
]


def table(rows, markdown=False):
    cells = [[title for _, title, _ in COLUMNS]]
    for row in rows:
        cells.append(
            ["-" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        )
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + " --- |" * len(COLUMNS)]
        lines += ["| " + " | ".join(line) + " |" for line in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(value.rjust(width) for value, width in zip(line, widths, strict=True))
        for line in cells
    )


def per_tree(rows):
    """How each cost grows: per-tree cost at each size (linear: about constant)."""
    lines = []
    for key, title, _ in COLUMNS[2:]:
        values = [
            f"{row['trees']}: {1000 * row[key] / row['trees']:.2f} ms"
            for row in rows
            if row.get(key) is not None and "rss" not in key
        ]
        if values:
            lines.append(f"  {title} per tree: " + ", ".join(values))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--profile", action="store_true", help="py-spy the largest size's syncs")
    parser.add_argument(
        "--no-registry-cache",
        action="store_true",
        help="the registry as the tests run it (no blob descriptor cache)",
    )
    parser.add_argument("--markdown", type=Path, help="print the docs' table of a saved run")
    args = parser.parse_args()
    if args.markdown:
        report = json.loads(args.markdown.read_text())
        print(table(report["rows"], markdown=True))
        return

    SCRATCH.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:8]
    spy = Spy(py_spy()) if args.profile else None
    kind = LocalRegistry if args.no_registry_cache else BenchRegistry
    registry = kind(root=SCRATCH / f"registry-{run_id}").start()
    bench = Bench(registry, run_id)
    rows = []
    try:
        for size in sorted(args.sizes):
            upstream = Upstream(registry.url, size, salt=run_id).push()
            profiling = spy if spy and size == max(args.sizes) else None
            rows.append(bench.measure(upstream, profiling))
    finally:
        bench.clean()
        registry.stop()
        shutil.rmtree(registry.root, ignore_errors=True)
    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "load": os.getloadavg(),
        "registry_cache": not args.no_registry_cache,
        "rows": rows,
        "profile": spy.summaries if spy else None,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=1))
    print(table(rows))
    print(per_tree(rows))
    log(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
