"""Fault injection on the live stack: an upstream that errs, lies, stalls or loops.

A FaultProxy sits between Pulp and a real upstream (the docker-registry, or a
dnf tree over HTTP). A transient fault (one 500, 503, 429, corrupt or
truncated answer) must end in a completed sync after pulpcore's downloader
retried it (pulpcore/download/http.py retries 5xx, 429, payload, timeout,
digest and size errors, ``max_retries`` times with exponential backoff). A
lasting fault must fail the task with an error naming the file, tag or
digest, leave the latest version as it was, and leave the content app serving
the bytes that were pushed, never the faulty ones.

The last test kills the process running a sync: it disturbs the shared stack, so it
is marked serial and runs alone, while the stack has a single worker.
"""

import functools
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import dnf, fedora
from pulp_kickstart_oci.testing.fault_proxy import FaultProxy
from pulp_kickstart_oci.testing.oci import Pusher, digest_of

from .conftest import REPO_ROOT, all_results, progress, sha256

KERNEL_PATH = "images/pxeboot/vmlinuz"
# Fast failure: one retry, and stalls detected within seconds.
FATAL = {"max_retries": 1}
STALL = {"max_retries": 1, "sock_read_timeout": 1.0, "total_timeout": 10.0}
TRANSIENT = {"max_retries": 2}


# -- fixtures and helpers -------------------------------------------------------------


class Pulp:
    """Reads of the repository state the fault tests check, over the bindings."""

    def __init__(self, kickstart_bindings, pulpcore_bindings, monitor_task):
        self.bindings = kickstart_bindings
        self.core = pulpcore_bindings
        self.monitor_task = monitor_task

    def latest(self, repo):
        return self.bindings.RepositoriesKickstartApi.read(repo.pulp_href).latest_version_href

    def version_hrefs(self, repo):
        versions = functools.partial(
            self.bindings.RepositoriesKickstartVersionsApi.list, repo.pulp_href
        )
        return sorted(v.pulp_href for v in all_results(versions))

    def trees(self, version_href):
        return all_results(self.bindings.ContentTreesApi.list, repository_version=version_href)

    def artifact_count(self, data):
        return self.core.ArtifactsApi.list(sha256=sha256(data)).count

    def dispatch(self, repo, remote):
        """Start a sync without waiting for it; returns the task href."""
        body = {"remote": remote.pulp_href}
        return self.bindings.RepositoriesKickstartApi.sync(repo.pulp_href, body).task

    def wait(self, task_href, timeout=600):
        """The task once it ended, failed or not."""
        try:
            return self.monitor_task(task_href, timeout=timeout)
        except PulpTaskError as error:
            return error.task

    def the_tree(self, repo, release="42", arch="x86_64"):
        version = self.latest(repo)
        trees = [t for t in self.trees(version) if (t.version, t.arch) == (release, arch)]
        assert len(trees) == 1, f"{len(trees)} trees for {release}/{arch} in {version}"
        return trees[0]

    def assert_serves_exactly(self, repo, base, expected, release="42", arch="x86_64"):
        """The latest version's tree holds ``expected`` ({file name: bytes}) and serves it."""
        tree = self.the_tree(repo, release, arch)
        by_name = {f.name: f for f in tree.files}
        assert set(by_name) == set(expected)
        base = base.rstrip("/")
        for name, data in expected.items():
            assert by_name[name].sha256 == sha256(data), name
            url = f"{base}/{release}/{arch}/{by_name[name].path}"
            assert served(url) == (200, sha256(data)), name
        return tree

    def assert_failed_cleanly(self, repo, task, before_versions):
        assert task.state == "failed", task.state
        assert self.latest(repo) == max(
            before_versions, key=lambda h: int(h.rstrip("/").split("/")[-1])
        )
        assert self.version_hrefs(repo) == before_versions


@pytest.fixture(scope="session")
def pulp(kickstart_bindings, pulpcore_bindings, monitor_task):
    return Pulp(kickstart_bindings, pulpcore_bindings, monitor_task)


def blob_path(pusher, data):
    return rf"^/v2/{re.escape(pusher.name)}/blobs/{re.escape(digest_of(data))}$"


def tag_path(pusher, tag):
    return rf"^/v2/{re.escape(pusher.name)}/manifests/{re.escape(tag)}$"


def served(url):
    response = requests.get(url, timeout=60)
    return response.status_code, sha256(response.content)


def assert_retried(proxy, pattern, fault):
    """The first request for ``pattern`` got ``fault``, a later one was passed through whole."""
    seen = proxy.requests_to(pattern)
    assert len(seen) >= 2, [(s.fault, s.status) for s in seen]
    assert seen[0].fault == fault
    assert seen[-1].fault is None and seen[-1].status == 200
    assert seen[-1].sent == seen[-1].length


# -- shared sites for the lasting-fault tests ------------------------------------------


class Site:
    """An upstream behind a FaultProxy, synced into a served repository.

    Module-scoped (one per xdist process that runs these tests), so it creates and
    deletes its Pulp objects itself: the plugin's factories are class-scoped.
    ``current`` holds the bytes last pushed and synced ({file name: bytes}):
    what the distribution must serve whatever goes wrong later.
    """

    def __init__(self, pulp, distribution_base_url, proxy):
        self.pulp = pulp
        self.distribution_base_url = distribution_base_url
        self.proxy = proxy
        self.created = []
        self.remotes = {}
        self.current = None

    def create(self, endpoint, body):
        made = endpoint.create({"name": unique("faults"), **body})
        if getattr(made, "pulp_href", None) is None:  # a task: asynchronous creation
            task = self.pulp.monitor_task(made.task)
            made = endpoint.read(task.created_resources[0])
        self.created.append((endpoint, made.pulp_href))
        return made

    def serve(self):
        distribution = self.create(
            self.pulp.bindings.DistributionsKickstartApi,
            {"base_path": unique("faults"), "repository": self.repo.pulp_href},
        )
        self.base = self.distribution_base_url(distribution.base_url)

    def close(self):
        self.proxy.stop()
        for endpoint, href in reversed(self.created):
            response = endpoint.delete(href)
            if getattr(response, "task", None):
                self.pulp.monitor_task(response.task)


@pytest.fixture(scope="module")
def registry_site(pulp, kickstart_sync, kickstart_registry, distribution_base_url):
    registry = kickstart_registry
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    site = Site(pulp, distribution_base_url, FaultProxy(registry.url).start())
    try:
        site.pusher = pusher
        for kind, fields in (("fatal", FATAL), ("stall", STALL)):
            site.remotes[kind] = site.create(
                pulp.bindings.RemotesOciApi,
                {"url": site.proxy.url, "upstream_name": pusher.name, **fields},
            )
        site.repo = site.create(pulp.bindings.RepositoriesKickstartApi, {})
        first = fedora.tree_files("42", "amd64", salt=unique("first"))
        pusher.netboot("42-amd64", first)
        site.current = dict(first)
        kickstart_sync(site.repo, site.remotes["fatal"])
        site.serve()
        yield site
    finally:
        site.close()


@pytest.fixture(scope="module")
def dnf_site(pulp, kickstart_sync, kickstart_workdir, distribution_base_url):
    tree = dnf.fedora_tree(kickstart_workdir, salt=unique("faults"))
    with dnf.StaticServer(tree.root) as server:
        site = Site(pulp, distribution_base_url, FaultProxy(server.url).start())
        try:
            site.tree = tree
            for kind, fields in (("fatal", FATAL), ("stall", STALL)):
                site.remotes[kind] = site.create(
                    pulp.bindings.RemotesDnfApi, {"url": site.proxy.url + "/", **fields}
                )
            site.repo = site.create(pulp.bindings.RepositoriesKickstartApi, {})
            site.current = dnf_expected(tree)
            kickstart_sync(site.repo, site.remotes["fatal"])
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


def check_lasting_fault(pulp, kickstart_sync, site, fault, pattern, options, kernel):
    """Sync through a fault that never stops: a failed task, and nothing changed or served wrong.

    Returns the failed task, for the test to check what its error names.
    """
    before = pulp.version_hrefs(site.repo)
    site.proxy.clear()
    site.proxy.add(fault, pattern, times=None, stall_seconds=20, **options)
    remote = site.remotes["stall" if fault == "stall" else "fatal"]

    task = kickstart_sync(site.repo, remote, expect_failure=True)

    pulp.assert_failed_cleanly(site.repo, task, before)
    assert site.proxy.requests_to(pattern), f"the fault on {pattern} never fired"
    pulp.assert_serves_exactly(site.repo, site.base, site.current)
    assert pulp.artifact_count(kernel) == 0
    if fault == "corrupt":
        flipped = bytearray(kernel)
        flipped[len(flipped) // 2] ^= 0xFF
        assert pulp.artifact_count(bytes(flipped)) == 0
    if fault == "redirect":
        # The reason must say what happened: a redirect loop, not a made-up status.
        assert "redirect" in task.error["description"].lower(), task.error["description"]
    return task


def check_recovery(pulp, kickstart_sync, site, expected):
    """Once the fault is lifted the same remote brings the new bytes: nothing half-done sticks."""
    site.proxy.clear()
    kickstart_sync(site.repo, site.remotes["fatal"])
    site.current = expected
    pulp.assert_serves_exactly(site.repo, site.base, site.current)


# -- registry source ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["blobs", "manifests and tags"])
def test_registry_transient_faults_are_retried_and_the_sync_completes(
    pulp,
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    target,
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42", archs=("amd64",))
    files = dict(published["files"]["amd64"])
    # Release 43 has an index tag only: its manifest is read by digest (42's is not: its
    # 42-amd64 tag already brought that manifest).
    index_only = kickstart_publish_release(upstream, "43", archs=("amd64",))
    kickstart_registry.delete_tag(upstream.name, "43-amd64")
    proxy = kickstart_fault_proxy_factory(upstream.base)
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
        faults = {
            rf"^/v2/{name}/tags/list": "500",
            tag_path(upstream, "42"): "503",
            tag_path(upstream, index_only["manifests"]["amd64"]): "429",
            tag_path(upstream, "42-amd64"): "truncate",
        }
    for pattern, fault in faults.items():
        proxy.add(fault, pattern, times=1)
    repository = kickstart_repository_factory()
    remote = kickstart_oci_remote_factory(upstream, url=proxy.url, **TRANSIENT)

    task = kickstart_sync(repository, remote)

    assert task.state == "completed"
    for pattern, fault in faults.items():
        assert_retried(proxy, pattern, fault)
    assert pulp.latest(repository).endswith("/versions/1/")
    base = kickstart_distribution_factory(repository).base_url
    tree = pulp.assert_serves_exactly(repository, base, files)
    assert tree.digest == published["manifests"]["amd64"]


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
    pulp, kickstart_sync, registry_site, target, fault, options
):
    site = registry_site
    # Upstream respins 42 for amd64; fetching it goes wrong every time.
    new = fedora.tree_files("42", "amd64", salt=unique("respin"))
    respun, _size = site.pusher.netboot("42-amd64", new)
    kernel = dict(new)["vmlinuz"]
    if target == "blob":
        pattern = blob_path(site.pusher, kernel)
        # The blob, and which file of which tree it is (timeouts name the blob URL).
        named = [digest_of(kernel)] + ([] if fault == "stall" else ["vmlinuz of 42/x86_64"])
    else:
        # A tag synced before is asked for its digest (HEAD), then its new manifest is read
        # by digest: the fault hits that read (or the tag's, for a registry without HEAD).
        name = re.escape(site.pusher.name)
        pattern = rf"^/v2/{name}/manifests/(42-amd64|{re.escape(respun)})$"
        named = ["tag 42-amd64"]

    task = check_lasting_fault(pulp, kickstart_sync, site, fault, pattern, options, kernel)

    for name in named:
        assert name in task.error["description"], task.error["description"]
    check_recovery(pulp, kickstart_sync, site, dict(new))


# -- dnf source -------------------------------------------------------------------------


def test_dnf_transient_faults_are_retried_and_the_sync_completes(
    pulp,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_fault_proxy_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    tree = kickstart_dnf_tree_factory(salt=unique("transient"))
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
    server = kickstart_tree_server_factory(tree)
    proxy = kickstart_fault_proxy_factory(server.url)
    for pattern, fault in faults.items():
        proxy.add(fault, pattern, times=1)
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, kickstart_dnf_remote_factory(proxy, **TRANSIENT))

    assert task.state == "completed"
    for pattern, fault in faults.items():
        assert_retried(proxy, pattern, fault)
    assert pulp.latest(repository).endswith("/versions/1/")
    base = kickstart_distribution_factory(repository).base_url
    pulp.assert_serves_exactly(repository, base, dnf_expected(tree))
    assert progress(task)["sync.unpacking.packages"].done == 3


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
    pulp, kickstart_sync, dnf_site, target, fault, options
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

    task = check_lasting_fault(pulp, kickstart_sync, site, fault, pattern, options, kernel)

    assert named in task.error["description"], task.error["description"]
    check_recovery(pulp, kickstart_sync, site, dnf_expected(site.tree))


# -- concurrent syncs ---------------------------------------------------------------------


def test_two_syncs_of_one_repository_at_once_make_consistent_versions(
    pulp,
    kickstart_registry,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
):
    publish = kickstart_publish_release
    first = Pusher(kickstart_registry.url, unique("fedora/kickstart"))
    second = Pusher(kickstart_registry.url, unique("fedora/kickstart"))
    a = {"41": publish(first, "41", archs=("amd64",))}
    a["42"] = publish(first, "42", archs=("amd64",))
    b = {"42": publish(second, "42", archs=("amd64",))}
    b["43"] = publish(second, "43", archs=("amd64",))
    remotes = {"a": kickstart_oci_remote_factory(first), "b": kickstart_oci_remote_factory(second)}
    published = {"a": a, "b": b}
    repository = kickstart_repository_factory()

    hrefs = {name: pulp.dispatch(repository, remote) for name, remote in remotes.items()}
    tasks = {name: pulp.wait(href) for name, href in hrefs.items()}

    assert {t.state for t in tasks.values()} == {"completed"}
    order = sorted(tasks, key=lambda name: tasks[name].started_at)
    # The repository is an exclusive resource: the syncs ran one after the other.
    assert tasks[order[0]].finished_at <= tasks[order[1]].started_at
    versions = pulp.version_hrefs(repository)
    assert [v.rstrip("/").rsplit("/", 1)[-1] for v in versions] == ["0", "1", "2"]
    v1 = next(v for v in versions if v.endswith("/versions/1/"))
    v2 = pulp.latest(repository)
    assert v2.endswith("/versions/2/")
    assert v1 in tasks[order[0]].created_resources
    assert v2 in tasks[order[1]].created_resources

    def digests(version):
        trees = pulp.trees(version)
        keys = [(t.version, t.arch) for t in trees]
        assert len(keys) == len(set(keys)), f"duplicate release/arch in {version}: {keys}"
        return {t.version: t.digest for t in trees}

    earlier, later = published[order[0]], published[order[1]]
    assert digests(v1) == {r: p["manifests"]["amd64"] for r, p in earlier.items()}
    # Later wins for the release both bring (42); the other releases stay.
    expected = {r: p["manifests"]["amd64"] for r, p in earlier.items()}
    expected.update({r: p["manifests"]["amd64"] for r, p in later.items()})
    assert digests(v2) == expected


def test_the_same_sync_dispatched_twice_at_once_makes_one_version(
    pulp,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
):
    published = kickstart_publish_release(kickstart_upstream, "42")
    remote = kickstart_oci_remote_factory(kickstart_upstream)
    repository = kickstart_repository_factory()

    hrefs = [pulp.dispatch(repository, remote), pulp.dispatch(repository, remote)]
    tasks = [pulp.wait(href) for href in hrefs]

    assert [t.state for t in tasks] == ["completed", "completed"]
    assert len(pulp.version_hrefs(repository)) == 2
    skipped = [t for t in tasks if "sync.was_skipped" in progress(t)]
    assert len(skipped) == 1
    trees = pulp.trees(pulp.latest(repository))
    assert sorted((t.version, t.arch) for t in trees) == [
        ("42", "aarch64"),
        ("42", "x86_64"),
    ]
    assert {t.digest for t in trees} == set(published["manifests"].values())


def test_one_upstream_synced_into_two_repositories_at_once(
    pulp,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
):
    published = kickstart_publish_release(kickstart_upstream, "42")
    remote = kickstart_oci_remote_factory(kickstart_upstream)
    repos = [kickstart_repository_factory(), kickstart_repository_factory()]

    hrefs = [pulp.dispatch(repo, remote) for repo in repos]
    tasks = [pulp.wait(href) for href in hrefs]

    assert [t.state for t in tasks] == ["completed", "completed"]
    trees = [{(t.version, t.arch): t for t in pulp.trees(pulp.latest(r))} for r in repos]
    assert set(trees[0]) == set(trees[1]) == {("42", "x86_64"), ("42", "aarch64")}
    for key in trees[0]:
        # One content unit per manifest, shared by both repositories.
        assert trees[0][key].pulp_href == trees[1][key].pulp_href
    assert {t.digest for t in trees[0].values()} == set(published["manifests"].values())
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    for repo in repos:
        base = kickstart_distribution_factory(repo).base_url
        assert served(f"{base}42/x86_64/{KERNEL_PATH}") == (200, sha256(kernel))


# -- a worker dies mid-sync (disturbs the stack: serial, on a single worker) --------------

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


@pytest.mark.serial
@pytest.mark.usefixtures("single_worker")
def test_worker_killed_mid_sync_fails_the_task_and_a_resync_completes(
    pulp,
    kickstart_upstream,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """Serial, with a single worker: it SIGKILLs the process running a sync on the stack.

    pulpcore-worker (the pid in .run/pid/worker.pid, the only worker while
    ``single_worker`` holds) runs each task in a forked child; that child, found by
    its connection to the stalled proxy, is killed. (Killing the supervising worker
    as well would leave the task "running" until another worker's missing-worker
    cleanup, 10 to 100 heartbeats of WORKER_TTL/3 seconds away in pulpcore 3.123:
    far too slow for a test.)
    """
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    kernel = dict(files)["vmlinuz"]
    proxy = kickstart_fault_proxy_factory(upstream.base)
    pattern = blob_path(upstream, kernel)
    # Part of the kernel, then nothing: the task is surely mid-download when killed.
    proxy.add("stall", pattern, times=1, stall_after="body", stall_bytes=4096, stall_seconds=90)
    remote = kickstart_oci_remote_factory(
        upstream, url=proxy.url, max_retries=1, sock_read_timeout=120
    )
    repository = kickstart_repository_factory()

    href = pulp.dispatch(repository, remote)
    assert proxy.wait_for(lambda s: any(x.fault == "stall" and x.sent for x in s), timeout=120)
    assert pulp.core.TasksApi.read(href).state == "running"
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
    task = pulp.wait(href, timeout=180)
    assert task.state in ("failed", "canceled"), task.state
    assert pulp.latest(repository).endswith("/versions/0/")
    assert len(pulp.version_hrefs(repository)) == 1
    assert pulp.artifact_count(kernel) == 0
    deadline = time.monotonic() + 120
    while not pulp.core.StatusApi.status_read().online_workers:
        assert time.monotonic() < deadline, "no worker came back online"
        time.sleep(0.5)

    again = kickstart_sync(repository, remote)

    assert again.state == "completed"
    assert pulp.the_tree(repository).digest == digest
    base = kickstart_distribution_factory(repository).base_url
    pulp.assert_serves_exactly(repository, base, dict(files))
    assert len(proxy.requests_to(pattern)) == 2
    assert worker != victim
