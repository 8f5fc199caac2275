"""Sync benchmark: the plugin's sync next to skopeo copy, oras pull, pulp_container and pulp_rpm.

On the same local registry (the sample registry, :24818) and the same bytes, in
one run: a generated Fedora-shaped artifact (~1 GiB by default, ``--size``;
install.img takes ~80 %) is pushed once, then the cases take turns, ``--runs``
rounds (default 3) of one run each, so that the load of a shared machine drifts
alike for all; each reports wall time (min .. max), MB/s of payload and the
ratio of its fastest run to skopeo's fastest:

- ``skopeo``: ``skopeo copy docker://REF dir:DIR`` (Debian's skopeo);
- ``oras``: ``oras.client.OrasClient().pull()`` (the oras package, PyPI);
- ``curl-big``: curl of the big file's blob (the floor of a first on_demand fetch);
- ``kickstart-immediate``: this plugin's OCI sync, policy immediate;
- ``kickstart-on_demand+fetch``: on_demand sync, then the first GET of install.img
  through the content app;
- ``pulp_container``: pulp_container syncing tag 42-amd64 (immediate);
- ``pulp_rpm-dnf`` / ``kickstart-dnf``: pulp_rpm's sync of a dnf tree holding the same
  images (distribution tree + RPMs) and this plugin's dnf source syncing that tree,
  served by nginx (dev/bench-packages) or, without nginx, Python's http.server.

The Pulp cases run in Pulps of their own (bench/sync_pulp.py: a venv with
pulp_container and pulp_rpm, and per ALLOWED_CONTENT_CHECKSUMS value in
``--checksums`` a database, media, api/content/worker; default: the stack's
setting and pulpcore's default of four digests, side by side; stopped on exit).
Every Pulp run starts from an empty artifact store (the previous run's
repositories are deleted and orphans cleaned up), so each sync downloads every
byte; the bytes each run stored are recorded (``stored_bytes``) and checked.

``--rss`` (default 1GB 5GB; ``--rss`` alone: off) samples the worker's RSS (worker
+ task process, every 0.1 s) during an immediate sync of each size; ``--profile``
(default on) records py-spy profiles of one more immediate sync (the task process)
and of one more first on_demand GET (the content app) per checksum setting and
summarises where the time goes.

    .venv/bin/python bench/sync.py [--size 1GiB] [--runs 3] [--cases ...] [--rss] [--no-profile]
    .venv/bin/python bench/sync.py --markdown .run/bench/sync.json   # the docs' table

Prints one line per case and writes .run/bench/sync.json. Needs the dev stack
(its PostgreSQL and settings), skopeo and curl (make bench-packages), and rpmbuild
and createrepo_c for the dnf tree (make test-packages).
"""

import argparse
import atexit
import collections
import json
import linecache
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
import sync_data  # noqa: E402
import sync_pulp  # noqa: E402
from procs import RssSampler  # noqa: E402

from pulp_kickstart_oci.testing import dnf  # noqa: E402
from tests.support.pulp import PulpAPI  # noqa: E402

RUN = ROOT / ".run"
OUT = RUN / "bench" / "sync.json"
SCRATCH = RUN / "bench" / "scratch"
PREFIX = "bench-sync"
MB, GB, MIB, GIB = 10**6, 10**9, 2**20, 2**30
CLIENT_CASES = ["skopeo", "oras", "curl-big"]
PULP_CASES = [
    "kickstart-immediate",
    "kickstart-on_demand+fetch",
    "pulp_container",
    "kickstart-dnf",
    "pulp_rpm-dnf",
]


def parse_size(text):
    match = re.fullmatch(r"(?i)\s*([\d.]+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    unit = (match.group(2) or "b").lower()
    scale = {"b": 1, "kb": 10**3, "kib": 2**10, "mb": MB, "mib": MIB, "gb": GB, "gib": GIB}
    return int(float(match.group(1)) * scale[unit])


def log(message):
    print(f"[bench-sync] {message}", flush=True)


def load():
    return round(os.getloadavg()[0], 2)


# --- clients --------------------------------------------------------------------------------

ORAS_PULL = """
import sys
import oras.client
oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])
"""


def timed(argv):
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}: {result.stderr[-2000:]}")
    return seconds


def check_dir(directory, upstream, by_title):
    """The client wrote every byte: files named by digest (skopeo) or by title (oras)."""
    names = {p.name: p.stat().st_size for p in Path(directory).rglob("*") if p.is_file()}
    for item in upstream.files:
        key = item["title"] if by_title else item["sha256"]
        if names.get(key) != item["size"]:
            raise RuntimeError(f"{directory}: {key} missing or short ({names.get(key)})")


def run_skopeo(upstream):
    out = Path(tempfile.mkdtemp(prefix="skopeo-", dir=SCRATCH))
    try:
        seconds = timed(
            ["skopeo", "copy", "--src-tls-verify=false", "--quiet"]
            + [f"docker://{upstream.reference()}", f"dir:{out}"]
        )
        check_dir(out, upstream, by_title=False)
        return {"seconds": seconds}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run_oras(upstream):
    out = Path(tempfile.mkdtemp(prefix="oras-", dir=SCRATCH))
    try:
        python = str(sync_pulp.VENV / "bin" / "python")
        seconds = timed([python, "-c", ORAS_PULL, upstream.reference(), str(out)])
        check_dir(out, upstream, by_title=True)
        return {"seconds": seconds}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run_curl_big(upstream):
    big = upstream.big
    started = time.monotonic()
    got = subprocess.run(
        ["curl", "-sSfL", "-o", "/dev/null", "-w", "%{size_download}", upstream.blob_url(big)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    seconds = time.monotonic() - started
    if int(got) != big["size"]:
        raise RuntimeError(f"curl got {got} bytes of {big['size']}")
    return {"seconds": seconds, "bytes": big["size"]}


# --- the bench Pulp's cases -----------------------------------------------------------------


class Bench:
    """A client of the bench Pulp: create, sync, clean up."""

    def __init__(self, pulp):
        self.pulp = pulp
        self.api = PulpAPI(base=pulp.api)

    def wait(self, task_href, timeout=3600):
        deadline = time.monotonic() + timeout
        while True:
            task = self.api.get(task_href)
            if task["state"] in ("completed", "failed", "canceled"):
                if task["state"] != "completed":
                    raise RuntimeError(f"task {task_href} {task['state']}: {task.get('error')}")
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(task_href)
            time.sleep(0.05)

    def create(self, endpoint, body):
        response = self.api.request("POST", endpoint, json=body)
        data = response.json()
        if response.status_code == 202:
            task = self.wait(data["task"])
            return self.api.get(task["created_resources"][0])
        return data

    def sync(self, repository, body):
        """Returns (wall seconds from the POST to the task's end, the task)."""
        started = time.monotonic()
        task = self.api.post(f"{repository['pulp_href']}sync/", body)
        task = self.wait(task["task"])
        return time.monotonic() - started, task

    def clean(self):
        """Delete every bench object, then orphans: the next sync starts with no artifacts."""
        for endpoint in (
            "distributions/kickstart/kickstart/",
            "repositories/kickstart/kickstart/",
            "remotes/kickstart/oci/",
            "remotes/kickstart/dnf/",
            "repositories/container/container/",
            "remotes/container/container/",
            "repositories/rpm/rpm/",
            "remotes/rpm/rpm/",
        ):
            for item in self.api.list(endpoint, name__startswith=PREFIX):
                response = self.api.request("DELETE", item["pulp_href"], expect=(202, 204, 404))
                if response.status_code == 202:
                    self.wait(response.json()["task"])
        task = self.api.post("orphans/cleanup/", {"orphan_protection_time": 0})
        self.wait(task["task"])
        left = self.api.get("artifacts/", limit=1)["count"]
        if left:
            raise RuntimeError(f"{left} artifacts left after the orphan cleanup")


def task_seconds(task):
    from datetime import datetime

    start = datetime.fromisoformat(task["started_at"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(task["finished_at"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def case_kickstart(bench, upstream, policy="immediate"):
    remote = bench.create(
        "remotes/kickstart/oci/",
        {
            "name": f"{PREFIX}-oci",
            "url": sync_data.sample.REGISTRY_URL,
            "upstream_name": upstream.name,
            "include_tags": ["42", "42-amd64"],
            "policy": policy,
        },
    )
    repository = bench.create("repositories/kickstart/kickstart/", {"name": f"{PREFIX}-oci"})
    seconds, task = bench.sync(repository, {"remote": remote["pulp_href"]})
    return {"seconds": seconds, "task_seconds": task_seconds(task)}, repository


def case_on_demand(bench, upstream):
    result, url = on_demand_sync(bench, upstream)
    fetch_seconds = first_get(url, upstream)
    return {
        "seconds": result["seconds"] + fetch_seconds,
        "sync_seconds": result["seconds"],
        "fetch_seconds": fetch_seconds,
        "task_seconds": result["task_seconds"],
    }


def on_demand_sync(bench, upstream):
    """An on_demand sync, distributed; returns (its result, the content app URL of BIG)."""
    result, repository = case_kickstart(bench, upstream, policy="on_demand")
    base_path = f"{PREFIX}/on-demand-{bench.pulp.tag}"
    bench.create(
        "distributions/kickstart/kickstart/",
        {"name": f"{PREFIX}-od", "base_path": base_path, "repository": repository["pulp_href"]},
    )
    latest = bench.api.get(repository["pulp_href"])["latest_version_href"]
    trees = bench.api.list("content/kickstart/trees/", repository_version=latest)
    tree = next(t for t in trees if t["arch"] == "x86_64")
    path = next(f["path"] for f in tree["files"] if f["path"].endswith(sync_data.BIG))
    url = f"{bench.pulp.content}/pulp/content/{base_path}/{tree['version']}/{tree['arch']}/{path}"
    return result, url


def first_get(url, upstream):
    """Seconds to GET the whole big file (read and dropped in 1 MiB pieces)."""
    started = time.monotonic()
    got = 0
    with requests.get(url, stream=True, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            got += len(chunk)
    seconds = time.monotonic() - started
    if got != upstream.big["size"]:
        raise RuntimeError(f"on_demand fetch got {got} bytes of {upstream.big['size']}")
    return seconds


def case_container(bench, upstream):
    remote = bench.create(
        "remotes/container/container/",
        {
            "name": f"{PREFIX}-container",
            "url": sync_data.sample.REGISTRY_URL,
            "upstream_name": upstream.name,
            "include_tags": ["42-amd64"],
            "policy": "immediate",
        },
    )
    repository = bench.create("repositories/container/container/", {"name": f"{PREFIX}-container"})
    seconds, task = bench.sync(repository, {"remote": remote["pulp_href"]})
    return {"seconds": seconds, "task_seconds": task_seconds(task)}


def case_kickstart_dnf(bench, tree_url):
    remote = bench.create(
        "remotes/kickstart/dnf/",
        {"name": f"{PREFIX}-dnf", "url": tree_url, "policy": "immediate"},
    )
    repository = bench.create("repositories/kickstart/kickstart/", {"name": f"{PREFIX}-dnf"})
    seconds, task = bench.sync(repository, {"remote": remote["pulp_href"]})
    return {"seconds": seconds, "task_seconds": task_seconds(task)}


def case_rpm(bench, tree_url):
    remote = bench.create(
        "remotes/rpm/rpm/", {"name": f"{PREFIX}-rpm", "url": tree_url, "policy": "immediate"}
    )
    repository = bench.create("repositories/rpm/rpm/", {"name": f"{PREFIX}-rpm"})
    seconds, task = bench.sync(repository, {"remote": remote["pulp_href"]})
    latest = bench.api.get(repository["pulp_href"])["latest_version_href"]
    trees = bench.api.get("content/rpm/distribution_trees/", repository_version=latest)["count"]
    if trees != 1:
        raise RuntimeError(f"pulp_rpm synced {trees} distribution trees, not 1")
    return {"seconds": seconds, "task_seconds": task_seconds(task)}


def run_pulp_case(case, bench, upstream, tree_url):
    result = _run_pulp_case(case, bench, upstream, tree_url)
    # What the sync stored: every byte of the payload for the immediate OCI cases, the
    # tree's images (and RPMs) for the dnf cases, the big file after a first GET.
    result["stored_bytes"] = sum(a["size"] for a in bench.api.list("artifacts/"))
    if case == "kickstart-on_demand+fetch":
        expected = upstream.big["size"]
    elif case.endswith("-dnf"):
        expected = sum(i["size"] for i in upstream.files if i["title"] in sync_data.DNF_PATHS)
    else:
        expected = upstream.payload
    if result["stored_bytes"] < expected:
        raise RuntimeError(f"{case} stored {result['stored_bytes']} bytes, < {expected}")
    return result


def _run_pulp_case(case, bench, upstream, tree_url):
    if case == "kickstart-immediate":
        return case_kickstart(bench, upstream)[0]
    if case == "kickstart-on_demand+fetch":
        return case_on_demand(bench, upstream)
    if case == "pulp_container":
        return case_container(bench, upstream)
    if case == "kickstart-dnf":
        return case_kickstart_dnf(bench, tree_url)
    if case == "pulp_rpm-dnf":
        return case_rpm(bench, tree_url)
    raise ValueError(case)


# --- profile ----------------------------------------------------------------------------

# Where a sample's time goes. pulpcore 3.123 computes the digests of each downloaded chunk in
# a thread pool (concurrent.futures) while the event loop waits for them
# (BaseDownloader._record_size_and_digests_for_data): a sample whose stack holds that
# function, or a pool thread running C code (hashlib's update: the leaf is
# _WorkItem.run), is digest time. Otherwise the first rule matching a frame from the leaf
# up (function, file or source line) decides. Without --native, py-spy charges time in C
# code (a write, fsync, a socket read) to the Python line that called it.
CATEGORIES = [
    (
        "idle/waiting",
        re.compile(r"work_queue\.get|Condition\.wait|selectors\.py|Event\.wait|sleep", re.I),
    ),
    ("digest", re.compile(r"\.update\(|hexdigest|hashlib", re.I)),
    (
        "file write/fsync/copy",
        re.compile(
            r"\.write\(|fsync|flush\(|shutil|copyfile|os\.link|aiofiles|tempfile|"
            r"core/files|storage|\.close\(",
            re.I,
        ),
    ),
    ("database", re.compile(r"django/db|psycopg", re.I)),
    ("download/read", re.compile(r"aiohttp|_read_ready|selector_events|\.recv|ssl\.py", re.I)),
]
# Frames that every sample has (the worker, click, the process): left out of "total".
BOILERPLATE = re.compile(
    r"^process |click/|multiprocessing/|pulpcore/tasking/|threading\.py|concurrent/|"
    r"asyncio/(base_events|runners|events)\.py|pulpcore-worker|<module>|gunicorn/|"
    r"aiohttp/worker\.py|pulpcore/content/entrypoint\.py"
)


def frame_text(frame):
    source = linecache.getline(frame.get("file", ""), frame.get("line", 0) or 0).strip()
    return f"{frame.get('name')} {frame.get('file')} {source}"


def categorise(stack, frames):
    """The category of one sample ("other" if no rule matches)."""
    names = [frames[index]["name"] for index in stack]
    if names[-1] == "_WorkItem.run" or any("_digests_for_data" in name for name in names):
        return "digest"
    for index in reversed(stack):
        text = frame_text(frames[index])
        for name, pattern in CATEGORIES:
            if pattern.search(text):
                return name
    return "other"


def summarise_profile(path, worker_pid, top=15):
    """Where the task's time goes, from py-spy's speedscope file (recorded with --idle).

    Only the busiest process other than ``worker_pid`` counts (the task process, not the
    worker's supervising loop; the content app worker that served). "main" is its
    main thread (the event loop: with --idle its samples are wall time); "pool" the
    busy (non-idle) samples of its other threads (the digest pool, Django's executor).
    Self and total per function are of the main thread's samples.
    """
    data = json.loads(Path(path).read_text())
    frames = data["shared"]["frames"]
    self_w, total_w = collections.Counter(), collections.Counter()
    main, pool = collections.Counter(), collections.Counter()
    # The busiest process other than worker_pid: the task process (or the content app's
    # worker that served the GET, not its idle sibling).
    busy = collections.Counter()
    for profile in data["profiles"]:
        pid = profile["name"].split()[1]
        if pid != str(worker_pid):
            for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
                if stack and categorise(stack, frames) != "idle/waiting":
                    busy[pid] += weight
    if not busy:
        return {"samples": 0}
    chosen = busy.most_common(1)[0][0]
    for profile in data["profiles"]:
        if profile["name"].split()[1] != chosen:
            continue
        is_main = "MainThread" in profile["name"]
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack:
                continue
            category = categorise(stack, frames)
            if not is_main:
                if category != "idle/waiting":
                    pool[category] += weight
                continue
            main[category] += weight
            leaf = frames[stack[-1]]
            self_w[f"{leaf['name']} ({short(leaf.get('file'))}:{leaf.get('line')})"] += weight
            names = {f"{frames[i]['name']} ({short(frames[i].get('file'))})" for i in stack}
            for name in names:
                if not BOILERPLATE.search(name):
                    total_w[name] += weight
    main_w = sum(main.values())
    if not main_w:
        return {"samples": 0}

    def pct(counter, limit=top):
        return [(name, round(100 * w / main_w, 1)) for name, w in counter.most_common(limit)]

    return {
        "main_thread_seconds": round(main_w, 2),
        "main_thread": pct(main, None),
        "other_threads_busy_seconds": {k: round(v, 2) for k, v in pool.most_common()},
        "self": pct(self_w),
        "total": pct(total_w),
    }


def short(file):
    file = file or "?"
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --- running ----------------------------------------------------------------------------


class TreeServer:
    """The dnf tree over HTTP: nginx if installed (a free port), else Python's http.server."""

    def __init__(self, root):
        self.root = root
        self.workdir = Path(tempfile.mkdtemp(prefix="nginx-", dir=SCRATCH))
        self.nginx = None
        self.static = None

    def __enter__(self):
        if shutil.which("nginx"):
            import serving  # bench/serving.py's nginx runner

            self.nginx = serving.Nginx(self.workdir, self.root, workers=os.cpu_count())
            self.nginx.__enter__()
            self.url, self.kind = self.nginx.url + "/", "nginx"
        else:
            self.static = dnf.StaticServer(self.root).__enter__()
            self.url, self.kind = self.static.url + "/", "http.server"
        return self

    def __exit__(self, *exc_info):
        if self.nginx:
            self.nginx.__exit__()
        if self.static:
            self.static.__exit__()
        shutil.rmtree(self.workdir, ignore_errors=True)


def summarise(label, runs, payload, group):
    seconds = [run["seconds"] for run in runs]
    row = {
        "case": label,
        "group": group,
        "runs": runs,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "bytes": runs[0].get("bytes", payload),
        "load": [run["load"] for run in runs],
    }
    row["MB_s_best"] = row["bytes"] / row["min_s"] / MB
    row["MB_s_worst"] = row["bytes"] / row["max_s"] / MB
    return row


def print_row(row, skopeo):
    ratio = row["min_s"] / skopeo["min_s"] if skopeo else None
    row["ratio_to_skopeo"] = ratio
    row["ratio_to_skopeo_max"] = row["max_s"] / skopeo["max_s"] if skopeo else None
    extra = ""
    if "fetch_seconds" in row["runs"][0]:
        extra = " (sync {} s + fetch {} s)".format(
            "/".join(f"{r['sync_seconds']:.1f}" for r in row["runs"]),
            "/".join(f"{r['fetch_seconds']:.1f}" for r in row["runs"]),
        )
    print(
        f"{row['case']:48} {row['min_s']:7.1f} .. {row['max_s']:7.1f} s  "
        f"{row['MB_s_best']:7.0f} .. {row['MB_s_worst']:5.0f} MB/s  "
        f"x{ratio:.2f} skopeo  load {'/'.join(f'{x:.1f}' for x in row['load'])}{extra}"
        if ratio
        else f"{row['case']:48} {row['min_s']:7.1f} .. {row['max_s']:7.1f} s  "
        f"{row['MB_s_best']:7.0f} .. {row['MB_s_worst']:5.0f} MB/s  "
        f"load {'/'.join(f'{x:.1f}' for x in row['load'])}",
        flush=True,
    )


def label_of(checksums):
    return "sha256" if checksums == ["sha256"] else "+".join(checksums)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=parse_size, default=GIB, help="payload (default 1GiB)")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per case, taking turns (min and max)"
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=CLIENT_CASES + PULP_CASES,
        choices=CLIENT_CASES + PULP_CASES,
    )
    parser.add_argument(
        "--checksums",
        nargs="+",
        default=["stack", "default"],
        choices=["stack", "default", "sha256"],
        help="ALLOWED_CONTENT_CHECKSUMS values, one bench Pulp each (side by side): 'stack' "
        "(the stack's .run/settings.py), 'default' (pulpcore's: sha224 sha256 sha384 sha512)",
    )
    parser.add_argument(
        "--all-cases-per-checksums",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run every Pulp case under each --checksums value (else only "
        "kickstart-immediate after the first)",
    )
    parser.add_argument(
        "--rss",
        nargs="*",
        type=parse_size,
        default=[GB, 5 * GB],
        help="payload sizes for the worker's peak RSS (immediate sync); --rss with no "
        "value turns it off",
    )
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument(
        "--markdown",
        metavar="JSON",
        help="print the table of a finished run (its sync.json) as markdown and exit",
    )
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return

    for tool in ("skopeo", "curl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: make bench-packages")
    SCRATCH.mkdir(parents=True, exist_ok=True)
    sync_pulp.ensure_venv()
    stack_sums = sync_pulp.stack_checksums()
    variants = []
    for name in args.checksums:
        value = {
            "stack": stack_sums,
            "default": sync_pulp.PULPCORE_DEFAULT_CHECKSUMS,
            "sha256": ["sha256"],
        }[name]
        if value not in variants:
            variants.append(value)

    # Stop the bench Pulps on any exit: SIGTERM and SIGHUP unwind like Ctrl-C.
    def leave(signum, _frame):
        sys.exit(f"stopped by signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, leave)
    pulps = [sync_pulp.BenchPulp(value, redis_db=1 + n) for n, value in enumerate(variants)]
    atexit.register(lambda: [pulp.stop() for pulp in pulps])

    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()},
        "size": args.size,
        "runs": args.runs,
        "stack_checksums": stack_sums,
        "versions": {},
        "rows": [],
        "rss": [],
        "profile": {},
    }
    started = time.monotonic()
    upstream = sync_data.Upstream(args.size).generate()
    upstream.push()
    payload = upstream.payload
    report["files"] = {item["title"]: item["size"] for item in upstream.files}
    log(
        f"payload {payload / MB:,.1f} MB in {len(upstream.files)} files "
        f"({upstream.big['size'] / MB:,.1f} MB install.img), pushed to "
        f"{upstream.reference()} in {time.monotonic() - started:.1f}s"
    )
    tree_root = None
    if {"kickstart-dnf", "pulp_rpm-dnf"} & set(args.cases):
        tree_root = upstream.dnf_tree()
        report["dnf_tree_bytes"] = sync_data.tree_bytes(tree_root)

    client_cases = [case for case in CLIENT_CASES if case in args.cases]
    pulp_cases = [case for case in PULP_CASES if case in args.cases]
    runners = {"skopeo": run_skopeo, "oras": run_oras, "curl-big": run_curl_big}
    tree_server = TreeServer(tree_root).__enter__() if tree_root else None
    tree_url = tree_server.url if tree_server else None
    results = collections.defaultdict(list)  # (case, pulp index or None) -> runs
    try:
        benches = []
        for pulp in pulps if pulp_cases else []:
            pulp.start()
            benches.append(Bench(pulp))
        if benches:
            report["versions"] = {
                v["component"]: v["version"] for v in benches[0].api.get("status/")["versions"]
            }
        if tree_server:
            report["dnf_server"] = tree_server.kind
        # Round-robin: run 1 of every case, then run 2, ...: the machine's load (shared,
        # noisy) drifts alike for all cases.
        for round_ in range(1, args.runs + 1):
            log(f"round {round_} of {args.runs}")
            for case in client_cases:
                row_load = load()
                result = runners[case](upstream)
                result["load"] = row_load
                results[case, None].append(result)
                log(f"  {case}: {result['seconds']:.1f} s (load {row_load:.1f})")
            for number, bench in enumerate(benches):
                cases = pulp_cases
                if number and not args.all_cases_per_checksums:
                    cases = [c for c in cases if c == "kickstart-immediate"]
                for case in cases:
                    bench.clean()
                    row_load = load()
                    result = run_pulp_case(case, bench, upstream, tree_url)
                    result["load"] = row_load
                    results[case, number].append(result)
                    label = label_of(bench.pulp.checksums)
                    log(f"  {case} [{label}]: {result['seconds']:.1f} s (load {row_load:.1f})")
        rows = report["rows"]
        skopeo = None
        for (case, number), runs in results.items():
            if number is None:
                row = summarise(case, runs, payload, "client")
            else:
                checksums = pulps[number].checksums
                row = summarise(f"{case} [{label_of(checksums)}]", runs, payload, "pulp")
                row["checksums"] = checksums
            if case == "skopeo":
                skopeo = row
            print_row(row, skopeo)
            rows.append(row)
        for number, bench in enumerate(benches):
            if number == 0 and args.rss:
                for size in args.rss:
                    report["rss"].append(measure_rss(bench, bench.pulp, size, upstream))
            if args.profile:
                label = label_of(bench.pulp.checksums)
                report["profile"][label] = profile(bench, bench.pulp, upstream)
            bench.clean()
    finally:
        for pulp in pulps:
            pulp.stop()
        if tree_server:
            tree_server.__exit__()
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        report["seconds"] = time.monotonic() - started
        out.write_text(json.dumps(report, indent=2))
        log(f"wrote {out}")


def markdown(report):
    """The rows of a sync.json as a markdown table (what docs/performance.md shows)."""
    lines = [
        "| case | ALLOWED_CONTENT_CHECKSUMS | runs | wall time min .. max "
        "| MB/s best .. worst | ratio to skopeo: min/min (median/median) | 1-min load |",
        "|---|---|---|---|---|---|---|",
    ]
    medians = {
        row["case"]: statistics.median(run["seconds"] for run in row["runs"])
        for row in report["rows"]
    }
    for row in report["rows"]:
        case = row["case"].split(" [", 1)[0]
        sums = label_of(row["checksums"]) if row.get("checksums") else "-"
        times = f"{row['min_s']:.1f} .. {row['max_s']:.1f} s (median {medians[row['case']]:.1f})"
        first = row["runs"][0]
        if "fetch_seconds" in first:
            times += "; sync {} s, first GET {} s".format(
                " / ".join(f"{r['sync_seconds']:.1f}" for r in row["runs"]),
                " / ".join(f"{r['fetch_seconds']:.1f}" for r in row["runs"]),
            )
        ratio = "-"
        if row.get("ratio_to_skopeo") is not None:
            by_median = medians[row["case"]] / medians["skopeo"]
            ratio = f"{row['ratio_to_skopeo']:.2f} ({by_median:.2f})"
        lines.append(
            f"| {case} | {sums} | {len(row['runs'])} | {times} | "
            f"{row['MB_s_best']:.0f} .. {row['MB_s_worst']:.0f} | {ratio} | "
            f"{' / '.join(f'{x:.1f}' for x in row['load'])} |"
        )
    return "\n".join(lines)


def measure_rss(bench, pulp, size, base_upstream):
    upstream = base_upstream
    if size != base_upstream.total:
        upstream = sync_data.Upstream(size)
        if not (upstream.index_file.exists() and sync_data.registry_has(upstream.name, "42")):
            upstream.generate().push()
            # Only the registry needs the bytes: do not keep another copy on disk.
            shutil.rmtree(upstream.dir / "files", ignore_errors=True)
        else:
            upstream.files = json.loads(upstream.index_file.read_text())
    bench.clean()
    sampler = RssSampler(pulp.worker_pid)
    row_load = load()
    sampler.start()
    try:
        result, _ = case_kickstart(bench, upstream)
    finally:
        sampler.halt.set()
        sampler.join()
    bench.clean()
    row = {
        "payload": upstream.payload,
        "seconds": result["seconds"],
        "load": row_load,
        "rss_before_mib": sampler.before_kb / 1024,
        "peak_rss_mib": sampler.peak_kb / 1024,
        "processes_at_peak": sampler.peak_processes,
        "samples": sampler.samples,
        "checksums": pulp.checksums,
    }
    print(
        f"worker RSS, immediate sync of {upstream.payload / GB:.2f} GB: "
        f"{row['rss_before_mib']:.0f} MiB before, peak {row['peak_rss_mib']:.0f} MiB "
        f"(worker + task process, {row['samples']} samples), {result['seconds']:.1f} s, "
        f"load {row_load:.1f}",
        flush=True,
    )
    return row


class Recording:
    """py-spy record (speedscope, --idle, --subprocesses) of ``pid`` while the block runs."""

    def __init__(self, pid, out):
        self.pid = pid
        self.out = out
        self.errors = ""

    def __enter__(self):
        self.out.unlink(missing_ok=True)
        self.spy = subprocess.Popen(
            [str(sync_pulp.VENV / "bin" / "py-spy"), "record", "--pid", str(self.pid)]
            + ["--subprocesses", "--idle", "--rate", "100", "--format", "speedscope"]
            + ["-o", str(self.out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # py-spy says "Sampling process ..." once it is attached; EOF means it gave up.
        for line in self.spy.stdout:
            self.errors += line
            if "Sampling process" in line:
                break
        return self

    def __exit__(self, *exc_info):
        self.spy.send_signal(signal.SIGINT)
        try:
            rest, _ = self.spy.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.spy.kill()
            rest, _ = self.spy.communicate()
        self.errors += rest or ""

    def summary(self, leave_out_pid, what, seconds):
        if not self.out.exists():
            log(f"py-spy wrote no profile: {self.errors[-1000:]}")
            return {"error": self.errors[-1000:]}
        summary = summarise_profile(self.out, leave_out_pid)
        summary["seconds"] = seconds
        summary["file"] = str(self.out.relative_to(ROOT))
        log(
            f"profile of {what}, {seconds:.1f} s (py-spy attached): main thread "
            f"{summary.get('main_thread')}; other threads busy "
            f"{summary.get('other_threads_busy_seconds')} s"
        )
        for name, pct in summary.get("self", [])[:12]:
            print(f"    self  {pct:5.1f}%  {name}", flush=True)
        for name, pct in summary.get("total", [])[:12]:
            print(f"    total {pct:5.1f}%  {name}", flush=True)
        return summary


def profile(bench, pulp, upstream):
    """py-spy on the worker's task process during one immediate sync, and on the content
    app's worker processes during one first on_demand GET of the big file."""
    label = label_of(pulp.checksums)
    bench.clean()
    with Recording(pulp.worker_pid, SCRATCH / f"profile-sync-{label}.speedscope.json") as rec:
        result, _ = case_kickstart(bench, upstream)
    out = {"sync": rec.summary(pulp.worker_pid, f"an immediate sync [{label}]", result["seconds"])}
    bench.clean()
    _, url = on_demand_sync(bench, upstream)
    content_pid = pulp.processes["content"].pid  # gunicorn's master: left out
    with Recording(content_pid, SCRATCH / f"profile-get-{label}.speedscope.json") as rec:
        seconds = first_get(url, upstream)
    out["first_get"] = rec.summary(content_pid, f"a first on_demand GET [{label}]", seconds)
    bench.clean()
    return out


if __name__ == "__main__":
    main()
