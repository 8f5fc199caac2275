"""pulp_file's optimize idiom: a sync with nothing new is skipped; any change re-syncs fully.

And what a re-sync reads to decide it (issue 18): every tag is asked, a manifest whose
tree Pulp stores is not fetched again, a moved tag is noticed and its new manifest is
checked, an architecture nobody asked for is never requested.
"""

import re

import pytest

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from tests.support import database

from .conftest import progress


def _skipped(task):
    return "sync.was_skipped" in progress(task)


def test_nothing_new_is_skipped_and_optimize_false_syncs_anyway(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
):
    kickstart_publish_release(kickstart_upstream, "42")
    remote, repository = remote_repo(kickstart_upstream)
    first = kickstart_sync(repository, remote)
    assert not _skipped(first)
    version = latest_version(repository)

    assert _skipped(kickstart_sync(repository, remote))
    # optimize=false runs the whole pipeline: nothing new, so still no new version.
    forced = kickstart_sync(repository, remote, optimize=False)
    assert not _skipped(forced) and "sync.parsing.manifests" in progress(forced)
    assert latest_version(repository) == version


def test_new_upstream_content_is_synced_although_the_remote_is_unchanged(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
):
    kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(kickstart_upstream)
    kickstart_sync(repository, remote)
    before = latest_version(repository)

    kickstart_publish_release(kickstart_upstream, "43", archs=("amd64",))
    task = kickstart_sync(repository, remote)
    assert not _skipped(task)
    assert latest_version(repository) != before


def test_a_changed_remote_always_resyncs_fully(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    monitor_task,
    latest_version,
    trees,
):
    kickstart_publish_release(kickstart_upstream, "42")
    remote, repository = remote_repo(kickstart_upstream, architectures=["x86_64"])
    kickstart_sync(repository, remote)
    assert {tree.arch for tree in trees(latest_version(repository))} == {"x86_64"}

    # The same upstream, a wider filter: the remote changed, so this is no skip.
    update = kickstart_bindings.RemotesOciApi.partial_update(
        remote.pulp_href, {"architectures": ["x86_64", "aarch64"]}
    )
    monitor_task(update.task)
    task = kickstart_sync(repository, remote)
    assert not _skipped(task)
    assert {tree.arch for tree in trees(latest_version(repository))} == {"x86_64", "aarch64"}

    # A change that brings nothing new (the policy) is still a full sync, not a skip.
    monitor_task(
        kickstart_bindings.RemotesOciApi.partial_update(
            remote.pulp_href, {"policy": "on_demand"}
        ).task
    )
    assert not _skipped(kickstart_sync(repository, remote))
    assert _skipped(kickstart_sync(repository, remote))


def test_a_mirror_sync_after_an_additive_one_is_not_skipped(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
):
    kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(kickstart_upstream)
    kickstart_sync(repository, remote)
    assert not _skipped(kickstart_sync(repository, remote, mirror=True))
    assert _skipped(kickstart_sync(repository, remote, mirror=True))


# -- what a re-sync reads: the fast paths must notice every change -------------------------


def _manifest_reads(proxy, pusher, method="GET"):
    """Paths of the manifest requests (tags and digests) ``proxy`` served with ``method``."""
    pattern = rf"^/v2/{re.escape(pusher.name)}/manifests/"
    return [served.path.rsplit("/", 1)[1] for served in proxy.requests_to(pattern, method)]


@pytest.fixture
def proxied(
    kickstart_fault_proxy_factory, kickstart_oci_remote_factory, kickstart_repository_factory
):
    """``proxy, remote, repository = proxied(pusher, **remote_fields)``: a remote that reads
    ``pusher``'s repository through a FaultProxy (which records every request)."""

    def _make(pusher, **fields):
        proxy = kickstart_fault_proxy_factory(pusher.base)
        remote = kickstart_oci_remote_factory(pusher, url=proxy.url, **fields)
        return proxy, remote, kickstart_repository_factory()

    return _make


def test_each_manifest_is_read_once_and_a_noop_resync_reads_none_it_knows(
    kickstart_upstream, kickstart_publish_release, proxied, kickstart_sync, latest_version, trees
):
    upstream = kickstart_upstream
    published = [kickstart_publish_release(upstream, release) for release in ("42", "43")]
    proxy, remote, repository = proxied(upstream)

    kickstart_sync(repository, remote)

    # An index tag and its N-ARCH tags name the same manifests: each is read once, with
    # its tag (never again by digest), and the index tags are read once each.
    first = _manifest_reads(proxy, upstream)
    assert sorted(first) == sorted(["42", "42-amd64", "42-arm64", "43", "43-amd64", "43-arm64"])
    assert _manifest_reads(proxy, upstream, "HEAD") == []
    version = latest_version(repository)
    assert len(trees(version)) == 4
    proxy.served.clear()

    task = kickstart_sync(repository, remote)

    assert _skipped(task)
    # Nothing new: the index tags are read (they list what each release holds), the
    # N-ARCH tags are only asked for their digest, and no known manifest is fetched.
    assert sorted(_manifest_reads(proxy, upstream)) == ["42", "43"]
    assert sorted(_manifest_reads(proxy, upstream, "HEAD")) == [
        "42-amd64",
        "42-arm64",
        "43-amd64",
        "43-arm64",
    ]
    known = {digest for release in published for digest in release["manifests"].values()}
    assert not known & set(_manifest_reads(proxy, upstream))
    proxy.served.clear()

    # optimize=false reads and checks every manifest again (each once, with its tag).
    forced = kickstart_sync(repository, remote, optimize=False)
    assert not _skipped(forced)
    assert latest_version(repository) == version
    assert sorted(_manifest_reads(proxy, upstream)) == sorted(first)
    assert _manifest_reads(proxy, upstream, "HEAD") == []


@pytest.mark.parametrize("moved", ["both tags", "the N-ARCH tag only"])
def test_a_moved_tag_is_picked_up_and_its_manifest_checked(
    kickstart_upstream,
    kickstart_publish_release,
    proxied,
    kickstart_sync,
    latest_version,
    tree_map,
    moved,
):
    upstream = kickstart_upstream
    old = kickstart_publish_release(upstream, "42", archs=("amd64",))["manifests"]["amd64"]
    proxy, remote, repository = proxied(upstream)
    kickstart_sync(repository, remote)
    before = latest_version(repository)
    # Upstream respins 42 for amd64.
    new, size = upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("re")))
    if moved == "both tags":
        upstream.index("42", [("amd64", new, size)])

    # Its new manifest is fetched by digest and checked: bytes that do not match fail the
    # sync, whatever the registry announced.
    proxy.add("corrupt", rf"/manifests/{re.escape(new)}$", times=None)
    failed = kickstart_sync(repository, remote, expect_failure=True)
    message = failed.error["description"]
    assert f"manifest {new} (amd64) of tag 42" in message, message  # 42 or 42-amd64
    assert "the registry sent bytes whose digest is" in message, message
    assert latest_version(repository) == before
    proxy.clear()

    task = kickstart_sync(repository, remote)

    assert not _skipped(task)
    tree = tree_map(latest_version(repository))[("42", "x86_64")]
    assert tree.digest == new
    assert tree.digest != old
    if moved == "the N-ARCH tag only":
        # The index still names the old manifest: the per-arch tag is the newer claim.
        assert any(old in warning and new in warning for warning in tree.warnings)


def test_an_unwanted_architecture_is_never_requested(
    kickstart_upstream, kickstart_publish_release, proxied, kickstart_sync, tree_map, latest_version
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42", archs=("amd64", "arm64", "s390x"))
    proxy, remote, repository = proxied(upstream, architectures=["x86_64"])

    kickstart_sync(repository, remote)
    kickstart_sync(repository, remote, optimize=False)

    assert set(tree_map(latest_version(repository))) == {("42", "x86_64")}
    unwanted = {"42-arm64", "42-s390x", published["manifests"]["arm64"]}
    unwanted.add(published["manifests"]["s390x"])
    for method in ("GET", "HEAD"):
        assert not unwanted & set(_manifest_reads(proxy, upstream, method))
    assert "42-amd64" in _manifest_reads(proxy, upstream)


def test_only_a_registry_syncs_own_tree_stands_for_the_manifest_it_names(
    kickstart_upstream, kickstart_publish_release, proxied, kickstart_sync, latest_version, trees
):
    """A stored tree of another kind (an upload, source type "upload") with the release,
    arch and digest a tag names never stands for that manifest: the sync reads it by
    digest. An upload's digest is no manifest's, so only a registry announcing a false
    digest for a tag could name one; the synced tree, relabelled in the database as an
    upload, stands for such a tree here."""
    upstream = kickstart_upstream
    amd64 = kickstart_publish_release(upstream, "42", archs=("amd64",))["manifests"]["amd64"]
    proxy, remote, repository = proxied(upstream)
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))

    def relabel(kind):
        database.psql(
            "UPDATE kickstart_kickstarttree SET source = jsonb_set(source, '{type}',"
            f" '\"{kind}\"') WHERE identity = '{tree.identity}'"
        )

    proxy.served.clear()
    relabel("upload")
    try:
        kickstart_sync(repository, remote)
    finally:
        relabel("oci")

    # The N-ARCH tag named a stored tree, so it was only asked for its digest (HEAD); that
    # tree is not the registry's, so the manifest was then read by digest.
    assert _manifest_reads(proxy, upstream, "HEAD") == ["42-amd64"]
    assert sorted(_manifest_reads(proxy, upstream)) == sorted(["42", amd64])
