"""Fault injection on the live stack: an upstream that errs, lies, stalls or loops.

A FaultProxy sits between Pulp and a real upstream (the docker-registry, or a
dnf tree over HTTP). A transient fault (one 500, 503, 429, corrupt or
truncated answer) must end in a completed sync after pulpcore's downloader
retried it (pulpcore/download/http.py retries 5xx, 429, payload, timeout,
digest and size errors, ``max_retries`` times with exponential backoff). A
lasting fault must fail the task with an error naming the file, tag or
digest, leave the latest version as it was, and leave the content app serving
the bytes that were pushed, never the faulty ones.

The last test kills the process running a sync: it disturbs the shared stack
and must stay last in this file.
"""

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.support import dnf, fedora
from tests.support.fault_proxy import FaultProxy
from tests.support.oci import Pusher, digest_of
from tests.support.pulp import CONTENT, unique

from .conftest import REPO_ROOT, artifact_count, latest, reports, sha256

KERNEL_PATH = "images/pxeboot/vmlinuz"
# Fast failure: one retry, and stalls detected within seconds.
FATAL = {"max_retries": 1}
STALL = {"max_retries": 1, "sock_read_timeout": 1.0, "total_timeout": 10.0}
TRANSIENT = {"max_retries": 2}


# -- fixtures and helpers -------------------------------------------------------------


@pytest.fixture
def proxy_for():
    """Start a FaultProxy in front of an upstream URL; stopped after the test."""
    started = []

    def _start(upstream_url):
        proxy = FaultProxy(upstream_url).start()
        started.append(proxy)
        return proxy

    yield _start
    for proxy in started:
        proxy.stop()


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="kickstart-faults-") as directory:
        yield directory


@pytest.fixture
def make_repository(api, cleanup):
    def _make():
        repo = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
        cleanup(repo["pulp_href"])
        return repo

    return _make


def blob_path(pusher, data):
    return rf"^/v2/{re.escape(pusher.name)}/blobs/{re.escape(digest_of(data))}$"


def tag_path(pusher, tag):
    return rf"^/v2/{re.escape(pusher.name)}/manifests/{re.escape(tag)}$"


def version_hrefs(api, repo):
    return sorted(v["pulp_href"] for v in api.list(f"{repo['pulp_href']}versions/"))


def dispatch(api, repo, remote):
    """Start a sync without waiting for it; returns the task href."""
    return api.post(f"{repo['pulp_href']}sync/", {"remote": remote["pulp_href"]})["task"]


def served(url):
    response = requests.get(url, timeout=60)
    return response.status_code, sha256(response.content)


def the_tree(api, repo, release="42", arch="x86_64"):
    trees = [
        t for t in api.trees(latest(api, repo)) if (t["version"], t["arch"]) == (release, arch)
    ]
    assert len(trees) == 1, f"{len(trees)} trees for {release}/{arch} in {latest(api, repo)}"
    return trees[0]


def assert_serves_exactly(api, repo, base, expected, release="42", arch="x86_64"):
    """The latest version's tree holds ``expected`` ({file name: bytes}) and serves it."""
    tree = the_tree(api, repo, release, arch)
    by_name = {f["name"]: f for f in tree["files"]}
    assert set(by_name) == set(expected)
    for name, data in expected.items():
        assert by_name[name]["sha256"] == sha256(data), name
        assert served(f"{base}/{release}/{arch}/{by_name[name]['path']}") == (200, sha256(data)), (
            name
        )
    return tree


def assert_retried(proxy, pattern, fault):
    """The first request for ``pattern`` got ``fault``, a later one was passed through whole."""
    seen = proxy.requests_to(pattern)
    assert len(seen) >= 2, [(s.fault, s.status) for s in seen]
    assert seen[0].fault == fault
    assert seen[-1].fault is None and seen[-1].status == 200
    assert seen[-1].sent == seen[-1].length


def assert_failed_cleanly(api, repo, task, before_versions):
    assert task["state"] == "failed", task["state"]
    assert latest(api, repo) == max(
        before_versions, key=lambda h: int(h.rstrip("/").split("/")[-1])
    )
    assert version_hrefs(api, repo) == before_versions


# -- shared sites for the lasting-fault tests ------------------------------------------


class Site:
    """An upstream behind a FaultProxy, synced into a served repository.

    ``current`` holds the bytes last pushed and synced ({file name: bytes}):
    what the distribution must serve whatever goes wrong later.
    """

    def __init__(self, api, proxy):
        self.api = api
        self.proxy = proxy
        self.hrefs = []
        self.remotes = {}
        self.current = None

    def create(self, path, body):
        made = self.api.create(path, {"name": unique("faults"), **body})
        self.hrefs.append(made["pulp_href"])
        return made

    def serve(self):
        base_path = unique("faults")
        self.create(
            "distributions/kickstart/kickstart/",
            {"base_path": base_path, "repository": self.repo["pulp_href"]},
        )
        self.base = f"{CONTENT}/pulp/content/{base_path}"

    def close(self):
        self.proxy.stop()
        for href in reversed(self.hrefs):
            self.api.delete(href)


@pytest.fixture(scope="module")
def registry_site(api, registry):
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    site = Site(api, FaultProxy(registry.url).start())
    try:
        site.pusher = pusher
        for kind, fields in (("fatal", FATAL), ("stall", STALL)):
            site.remotes[kind] = site.create(
                "remotes/kickstart/oci/",
                {"url": site.proxy.url, "upstream_name": pusher.name, **fields},
            )
        site.repo = site.create("repositories/kickstart/kickstart/", {})
        first = fedora.tree_files("42", "amd64", salt=unique("first"))
        pusher.netboot("42-amd64", first)
        site.current = dict(first)
        api.sync(site.repo, site.remotes["fatal"])
        site.serve()
        yield site
    finally:
        site.close()


@pytest.fixture(scope="module")
def dnf_site(api, workdir):
    tree = dnf.fedora_tree(workdir, salt=unique("faults"))
    with dnf.StaticServer(tree.root) as server:
        site = Site(api, FaultProxy(server.url).start())
        try:
            site.tree = tree
            for kind, fields in (("fatal", FATAL), ("stall", STALL)):
                site.remotes[kind] = site.create(
                    "remotes/kickstart/dnf/", {"url": site.proxy.url + "/", **fields}
                )
            site.repo = site.create("repositories/kickstart/kickstart/", {})
            site.current = dnf_expected(tree)
            api.sync(site.repo, site.remotes["fatal"])
            site.serve()
            yield site
        finally:
            site.close()


def dnf_expected(tree):
    """{file name: bytes} of the tree a dnf sync makes."""
    expected = {path.rsplit("/", 1)[-1]: data for path, data in tree.images.items()}
    expected.update({name: data for name, (data, _) in tree.expected.items()})
    return expected


def newest_rpm(tree, name):
    return "^/" + re.escape(tree.rpms[name][-1]) + "$"


def _param_id(value):
    """Parameter ids: the stall mode for option dicts (e.g. ``blob-stall-body``)."""
    if isinstance(value, dict):
        return value.get("stall_after", "whole")
    return None


def check_lasting_fault(api, site, fault, pattern, options, kernel):
    """Sync through a fault that never stops: a failed task, and nothing changed or served wrong.

    Returns the failed task, for the test to check what its error names.
    """
    before = version_hrefs(api, site.repo)
    site.proxy.clear()
    site.proxy.add(fault, pattern, times=None, stall_seconds=20, **options)
    remote = site.remotes["stall" if fault == "stall" else "fatal"]

    task = api.sync(site.repo, remote, raise_on_failure=False)

    assert_failed_cleanly(api, site.repo, task, before)
    assert site.proxy.requests_to(pattern), f"the fault on {pattern} never fired"
    assert_serves_exactly(api, site.repo, site.base, site.current)
    assert artifact_count(api, kernel) == 0
    if fault == "corrupt":
        flipped = bytearray(kernel)
        flipped[len(flipped) // 2] ^= 0xFF
        assert artifact_count(api, bytes(flipped)) == 0
    if fault == "redirect":
        # The reason must say what happened: a redirect loop, not a made-up status.
        assert "redirect" in task["error"]["description"].lower(), task["error"]["description"]
    return task


def check_recovery(api, site, expected):
    """Once the fault is lifted the same remote brings the new bytes: nothing half-done sticks."""
    site.proxy.clear()
    api.sync(site.repo, site.remotes["fatal"])
    site.current = expected
    assert_serves_exactly(api, site.repo, site.base, site.current)


# -- registry source ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["blobs", "manifests and tags"])
def test_registry_transient_faults_are_retried_and_the_sync_completes(
    api, upstream, proxy_for, make_remote, repository, distribute, publish_release, target
):
    published = publish_release(upstream, "42", archs=("amd64",))
    files = dict(published["files"]["amd64"])
    proxy = proxy_for(upstream.base)
    name = re.escape(upstream.name)
    if target == "blobs":
        faults = {
            blob_path(upstream, files["vmlinuz"]): "500",
            blob_path(upstream, files["initrd.img"]): "503",
            blob_path(upstream, files["install.img"]): "429",
            blob_path(upstream, files["shimx64.efi"]): "corrupt",
            blob_path(upstream, files["grubx64.efi"]): "truncate",
        }
    else:
        amd64 = published["manifests"]["amd64"]
        faults = {
            rf"^/v2/{name}/tags/list": "500",
            tag_path(upstream, "42"): "503",
            tag_path(upstream, amd64): "429",
            tag_path(upstream, "42-amd64"): "truncate",
        }
    for pattern, fault in faults.items():
        proxy.add(fault, pattern, times=1)

    task = api.sync(repository, make_remote(upstream, url=proxy.url, **TRANSIENT))

    assert task["state"] == "completed"
    for pattern, fault in faults.items():
        assert_retried(proxy, pattern, fault)
    assert latest(api, repository).endswith("/versions/1/")
    tree = assert_serves_exactly(api, repository, distribute(repository), files)
    assert tree["digest"] == published["manifests"]["amd64"]


@pytest.mark.parametrize(
    "target, fault, options",
    [
        ("blob", "corrupt", {}),
        ("blob", "truncate", {}),
        ("blob", "500", {}),
        ("blob", "stall", {"stall_after": "body", "stall_bytes": 1000}),
        ("blob", "redirect", {}),
        ("manifest", "corrupt", {}),
        ("manifest", "503", {}),
        ("manifest", "stall", {"stall_after": "nothing"}),
        ("manifest", "redirect", {}),
    ],
    ids=_param_id,
)
def test_registry_lasting_fault_fails_naming_it_and_keeps_the_served_bytes(
    api, registry_site, target, fault, options
):
    site = registry_site
    # Upstream respins 42 for amd64; fetching it goes wrong every time.
    new = fedora.tree_files("42", "amd64", salt=unique("respin"))
    site.pusher.netboot("42-amd64", new)
    kernel = dict(new)["vmlinuz"]
    if target == "blob":
        pattern = blob_path(site.pusher, kernel)
        # The blob, and which file of which tree it is (timeouts name the blob URL).
        named = [digest_of(kernel)] + ([] if fault == "stall" else ["vmlinuz of 42/x86_64"])
    else:
        pattern, named = tag_path(site.pusher, "42-amd64"), ["tag 42-amd64"]

    task = check_lasting_fault(api, site, fault, pattern, options, kernel)

    for name in named:
        assert name in task["error"]["description"], task["error"]["description"]
    check_recovery(api, site, dict(new))


# -- dnf source -------------------------------------------------------------------------


def test_dnf_transient_faults_are_retried_and_the_sync_completes(
    api, workdir, proxy_for, make_dnf_remote, repository, distribute
):
    tree = dnf.fedora_tree(workdir, salt=unique("transient"))
    faults = {
        r"^/\.treeinfo$": "500",
        r"^/repodata/repomd\.xml$": "429",
        r"^/repodata/[^/]*-primary\.xml": "truncate",
        "^/" + re.escape(KERNEL_PATH) + "$": "503",
        r"^/images/pxeboot/initrd\.img$": "corrupt",
        r"^/images/install\.img$": "truncate",
        r"^/images/boot\.iso$": "429",
        newest_rpm(tree, "shim-x64"): "503",
        newest_rpm(tree, "grub2-efi-x64"): "corrupt",
        newest_rpm(tree, "syslinux-nonlinux"): "truncate",
    }
    with dnf.StaticServer(tree.root) as server:
        proxy = proxy_for(server.url)
        for pattern, fault in faults.items():
            proxy.add(fault, pattern, times=1)

        task = api.sync(repository, make_dnf_remote(proxy, **TRANSIENT))

    assert task["state"] == "completed"
    for pattern, fault in faults.items():
        assert_retried(proxy, pattern, fault)
    assert latest(api, repository).endswith("/versions/1/")
    assert_serves_exactly(api, repository, distribute(repository), dnf_expected(tree))
    assert reports(task)["sync.unpacking.packages"]["done"] == 3


@pytest.mark.parametrize(
    "target, fault, options",
    [
        ("kernel", "corrupt", {}),
        ("kernel", "truncate", {}),
        ("kernel", "503", {}),
        ("kernel", "stall", {"stall_after": "headers"}),
        ("kernel", "redirect", {}),
        ("rpm", "corrupt", {}),
        ("rpm", "stall", {"stall_after": "body", "stall_bytes": 100}),
        ("treeinfo", "500", {}),
    ],
    ids=_param_id,
)
def test_dnf_lasting_fault_fails_naming_it_and_keeps_the_served_bytes(
    api, dnf_site, target, fault, options
):
    site = dnf_site
    # The mirror gets a new kernel, and a new .treeinfo naming its checksum.
    kernel = fedora.kernel(unique("respin"), size=4096)
    site.tree.add_image(KERNEL_PATH, kernel)
    site.tree.write_treeinfo()
    pattern, named = {
        "kernel": ("^/" + re.escape(KERNEL_PATH) + "$", "vmlinuz"),
        "rpm": (newest_rpm(site.tree, "shim-x64"), "shim-x64-15.8-3.x86_64"),
        "treeinfo": (r"^/\.treeinfo$", ".treeinfo"),
    }[target]

    task = check_lasting_fault(api, site, fault, pattern, options, kernel)

    assert named in task["error"]["description"], task["error"]["description"]
    check_recovery(api, site, dnf_expected(site.tree))


# -- concurrent syncs ---------------------------------------------------------------------


def test_two_syncs_of_one_repository_at_once_make_consistent_versions(
    api, registry, make_remote, repository, publish_release
):
    first = Pusher(registry.url, unique("fedora/kickstart"))
    second = Pusher(registry.url, unique("fedora/kickstart"))
    a = {"41": publish_release(first, "41", archs=("amd64",))}
    a["42"] = publish_release(first, "42", archs=("amd64",))
    b = {"42": publish_release(second, "42", archs=("amd64",))}
    b["43"] = publish_release(second, "43", archs=("amd64",))
    remotes = {"a": make_remote(first), "b": make_remote(second)}
    published = {"a": a, "b": b}

    hrefs = {name: dispatch(api, repository, remote) for name, remote in remotes.items()}
    tasks = {name: api.wait(href) for name, href in hrefs.items()}

    assert {t["state"] for t in tasks.values()} == {"completed"}
    order = sorted(tasks, key=lambda name: tasks[name]["started_at"])
    # The repository is an exclusive resource: the syncs ran one after the other.
    assert tasks[order[0]]["finished_at"] <= tasks[order[1]]["started_at"]
    versions = version_hrefs(api, repository)
    assert [v.rstrip("/").rsplit("/", 1)[-1] for v in versions] == ["0", "1", "2"]
    v1 = next(v for v in versions if v.endswith("/versions/1/"))
    v2 = latest(api, repository)
    assert v2.endswith("/versions/2/")
    assert v1 in tasks[order[0]]["created_resources"]
    assert v2 in tasks[order[1]]["created_resources"]

    def digests(version):
        trees = api.trees(version)
        keys = [(t["version"], t["arch"]) for t in trees]
        assert len(keys) == len(set(keys)), f"duplicate release/arch in {version}: {keys}"
        return {t["version"]: t["digest"] for t in trees}

    earlier, later = published[order[0]], published[order[1]]
    assert digests(v1) == {r: p["manifests"]["amd64"] for r, p in earlier.items()}
    # Later wins for the release both bring (42); the other releases stay.
    expected = {r: p["manifests"]["amd64"] for r, p in earlier.items()}
    expected.update({r: p["manifests"]["amd64"] for r, p in later.items()})
    assert digests(v2) == expected


def test_the_same_sync_dispatched_twice_at_once_makes_one_version(
    api, upstream, make_remote, repository, publish_release
):
    published = publish_release(upstream, "42")
    remote = make_remote(upstream)

    hrefs = [dispatch(api, repository, remote), dispatch(api, repository, remote)]
    tasks = [api.wait(href) for href in hrefs]

    assert [t["state"] for t in tasks] == ["completed", "completed"]
    assert len(version_hrefs(api, repository)) == 2
    skipped = [t for t in tasks if "sync.was_skipped" in reports(t)]
    assert len(skipped) == 1
    trees = api.trees(latest(api, repository))
    assert sorted((t["version"], t["arch"]) for t in trees) == [
        ("42", "aarch64"),
        ("42", "x86_64"),
    ]
    assert {t["digest"] for t in trees} == set(published["manifests"].values())


def test_one_upstream_synced_into_two_repositories_at_once(
    api, upstream, make_remote, make_repository, publish_release, distribute
):
    published = publish_release(upstream, "42")
    remote = make_remote(upstream)
    repos = [make_repository(), make_repository()]

    hrefs = [dispatch(api, repo, remote) for repo in repos]
    tasks = [api.wait(href) for href in hrefs]

    assert [t["state"] for t in tasks] == ["completed", "completed"]
    trees = [{(t["version"], t["arch"]): t for t in api.trees(latest(api, r))} for r in repos]
    assert set(trees[0]) == set(trees[1]) == {("42", "x86_64"), ("42", "aarch64")}
    for key in trees[0]:
        # One content unit per manifest, shared by both repositories.
        assert trees[0][key]["pulp_href"] == trees[1][key]["pulp_href"]
    assert {t["digest"] for t in trees[0].values()} == set(published["manifests"].values())
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    for repo in repos:
        assert served(f"{distribute(repo)}/42/x86_64/{KERNEL_PATH}") == (200, sha256(kernel))


# -- a worker dies mid-sync (disturbs the stack: keep this test last) --------------------

PID_FILE = REPO_ROOT / ".run" / "pid" / "worker.pid"


def _children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _sockets_to_port(pid, port):
    """Inodes of the TCP sockets process ``pid`` holds towards 127.0.0.1:``port``."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    towards = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                towards.add(fields[9])
    return towards


def task_process(proxy):
    """The pulpcore-worker child whose download is hanging in ``proxy``."""
    leader = int(PID_FILE.read_text().strip())
    cmdline = Path(f"/proc/{leader}/cmdline").read_bytes().split(b"\0")
    assert any(part.endswith(b"pulpcore-worker") for part in cmdline), cmdline
    holders = [child for child in _children(leader) if _sockets_to_port(child, proxy.port)]
    assert len(holders) == 1, f"worker {leader}: children downloading from the proxy: {holders}"
    return leader, holders[0]


def test_worker_killed_mid_sync_fails_the_task_and_a_resync_completes(
    api, upstream, proxy_for, make_remote, repository, distribute
):
    """Runs last: it SIGKILLs the process running a sync on the shared stack.

    pulpcore-worker (the pid in .run/pid/worker.pid) runs each task in a forked
    child; that child, found by its connection to the stalled proxy, is killed.
    (Killing the supervising worker as well would leave the task "running"
    until another worker's missing-worker cleanup, 10 to 100 heartbeats of
    WORKER_TTL/3 seconds away in pulpcore 3.123: far too slow for a test.)
    """
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    kernel = dict(files)["vmlinuz"]
    proxy = proxy_for(upstream.base)
    pattern = blob_path(upstream, kernel)
    # Part of the kernel, then nothing: the task is surely mid-download when killed.
    proxy.add("stall", pattern, times=1, stall_after="body", stall_bytes=4096, stall_seconds=90)
    remote = make_remote(upstream, url=proxy.url, max_retries=1, sock_read_timeout=120)

    href = dispatch(api, repository, remote)
    assert proxy.wait_for(lambda s: any(x.fault == "stall" and x.sent for x in s), timeout=120)
    assert api.get(href)["state"] == "running"
    worker, victim = task_process(proxy)
    os.kill(victim, signal.SIGKILL)

    # The download ends as soon as its process is gone, long before the stall deadline.
    assert proxy.wait_for(lambda s: all(x.finished for x in s), timeout=30)
    started = subprocess.run(
        [str(REPO_ROOT / "dev" / "stack"), "start"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    task = api.wait(href, timeout=180, raise_on_failure=False)
    assert task["state"] in ("failed", "canceled"), task["state"]
    assert latest(api, repository).endswith("/versions/0/")
    assert len(version_hrefs(api, repository)) == 1
    assert artifact_count(api, kernel) == 0
    deadline = time.monotonic() + 120
    while not api.get("/pulp/api/v3/status/")["online_workers"]:
        assert time.monotonic() < deadline, "no worker came back online"
        time.sleep(0.5)

    again = api.sync(repository, remote)

    assert again["state"] == "completed"
    assert the_tree(api, repository)["digest"] == digest
    assert_serves_exactly(api, repository, distribute(repository), dict(files))
    assert len(proxy.requests_to(pattern)) == 2
    assert worker != victim
