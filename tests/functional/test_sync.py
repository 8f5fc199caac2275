"""Sync from a real docker-registry into a live Pulp: the sync semantics of the plugin."""

import json

import pytest
import requests

from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import digest_of

from .conftest import progress, sha256


def test_index_and_arch_tags_make_one_tree_per_release_and_arch(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    tree_map,
    list_all,
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42")
    remote = kickstart_oci_remote_factory(upstream)
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, remote)

    version = latest_version(repository)
    assert version.endswith("/versions/1/")
    by_key = tree_map(version)
    assert set(by_key) == {("42", "x86_64"), ("42", "aarch64")}
    amd64 = by_key[("42", "x86_64")]
    assert amd64.oci_arch == "amd64"
    assert amd64.digest == published["manifests"]["amd64"]
    # The manifest is reached by `42` (index) and `42-amd64`: one tree, both tags.
    tags = list_all(
        kickstart_bindings.ContentTagsApi.list, repository_version=version, arch="x86_64"
    )
    assert sorted(t.name for t in tags) == ["42", "42-amd64"]
    assert {t.tree for t in tags} == {amd64.pulp_href}
    assert "tags" not in amd64.source
    assert amd64.source["index"]["digest"] == published["index"]
    assert amd64.annotations["org.pulpproject.netboot.version"] == "1"
    assert amd64.warnings == []
    expected = {title: data for title, data in published["files"]["amd64"]}
    assert {f.name: (f.size, f.sha256) for f in amd64.files} == {
        title: (len(data), sha256(data)) for title, data in expected.items()
    }
    paths = {f.name: (f.path, f.role) for f in amd64.files}
    assert paths["vmlinuz"] == ("images/pxeboot/vmlinuz", "kernel")
    assert paths["initrd.img"] == ("images/pxeboot/initrd.img", "initrd")
    assert paths["install.img"] == ("images/install.img", "stage2")
    assert paths["shimx64.efi"] == ("EFI/BOOT/shimx64.efi", "shim")
    assert paths["grubx64.efi"] == ("EFI/BOOT/grubx64.efi", "grub")
    assert paths["pxelinux.0"] == ("pxelinux.0", "pxelinux")

    # Every byte is what upstream published, served at <base>/<version>/<arch>/<path>.
    base = kickstart_distribution_factory(repository).base_url
    for item in amd64.files:
        served = requests.get(f"{base}42/x86_64/{item.path}")
        assert served.status_code == 200, item.path
        assert served.content == expected[item.name]

    # Trees are filterable by release, either arch name, digest and repository version.
    for params in ({"arch": "amd64"}, {"arch": "x86_64"}, {"digest": amd64.digest}):
        assert [t.pulp_href for t in trees(version, **params)] == [amd64.pulp_href], params
    assert len(trees(version, version="42")) == 2
    assert trees(version, version="41") == []

    reports = progress(task)
    assert reports["sync.listing.tags"].done == 3
    assert reports["sync.parsing.manifests"].done == 3  # the index and two manifests
    distinct_blobs = {digest_of(d) for files in published["files"].values() for _, d in files}
    assert reports["sync.downloading.artifacts"].done == len(distinct_blobs)


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({"architectures": ["aarch64"]}, {("42", "aarch64")}),
        ({"architectures": ["amd64"]}, {("42", "x86_64"), ("41", "x86_64")}),
        ({"include_tags": ["41*"]}, {("41", "x86_64")}),
        ({"exclude_tags": ["42", "*-arm64"]}, {("42", "x86_64"), ("41", "x86_64")}),
        ({"include_tags": ["42-*"], "exclude_tags": ["*-amd64"]}, {("42", "aarch64")}),
    ],
)
def test_filters_select_tags_and_architectures(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
    tree_map,
    filters,
    expected,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42")
    kickstart_publish_release(upstream, "41", archs=("amd64",))
    # Not of the form N or N-ARCH: ignored by default.
    upstream.netboot("latest", fedora.tree_files("99", "amd64"))
    remote, repository = remote_repo(upstream, **filters)

    kickstart_sync(repository, remote)

    assert set(tree_map(latest_version(repository))) == expected


def test_default_selection_skips_other_tags(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version, tree_map
):
    upstream = kickstart_upstream
    upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name))
    upstream.netboot("latest", fedora.tree_files("99", "amd64"))
    upstream.netboot("nightly-amd64", fedora.tree_files("98", "amd64"))
    remote, repository = remote_repo(upstream)
    kickstart_sync(repository, remote)
    assert set(tree_map(latest_version(repository))) == {("42", "x86_64")}


def test_two_titles_on_one_blob_keep_both_files_and_one_artifact(
    kickstart_upstream,
    remote_repo,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    artifacts_with,
):
    upstream = kickstart_upstream
    shared = fedora.stage2("dup-" + upstream.name)
    notes = f"kept under extra/ ({upstream.name})\n".encode()
    files = fedora.tree_files("42", "amd64", salt=upstream.name)[:2] + [
        ("install.img", shared),
        ("boot.iso", shared),
        ("extras/notes.txt", notes),
    ]
    upstream.netboot("42-amd64", files)
    remote, repository = remote_repo(upstream)

    task = kickstart_sync(repository, remote)

    (tree,) = trees(latest_version(repository))
    by_name = {f.name: f for f in tree.files}
    assert by_name["install.img"].path == "images/install.img"
    assert by_name["boot.iso"].path == "images/boot.iso"
    assert by_name["install.img"].sha256 == by_name["boot.iso"].sha256 == sha256(shared)
    assert by_name["extras/notes.txt"].path == "extra/extras/notes.txt"
    assert by_name["extras/notes.txt"].role == "other"
    # A squashfs named boot.iso is kept, and flagged.
    assert any(w.startswith("boot.iso:") for w in tree.warnings), tree.warnings
    assert artifacts_with(shared) == 1
    assert progress(task)["sync.downloading.artifacts"].done == 4  # five files, four blobs
    base = kickstart_distribution_factory(repository).base_url
    for path in ("images/install.img", "images/boot.iso"):
        assert requests.get(f"{base}42/x86_64/{path}").content == shared
    assert requests.get(f"{base}42/x86_64/extra/extras/notes.txt").content == notes


@pytest.mark.parametrize(
    "title",
    ["../../etc/passwd", "/etc/passwd", "images/../../x", "EFI\\BOOT\\x.efi", "bad\x07name", ""],
)
def test_unsafe_titles_fail_the_sync_and_store_nothing(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version, artifacts_with, title
):
    upstream = kickstart_upstream
    good = fedora.kernel("traversal-" + upstream.name)
    evil = b"not to be stored " + upstream.name.encode()
    digest, _ = upstream.netboot("42-amd64", [("vmlinuz", good), (title, evil)])
    remote, repository = remote_repo(upstream)

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    description = task.error["description"]
    assert "tag 42-amd64" in description and digest in description
    assert repr(title) in description or "empty title" in description
    assert latest_version(repository).endswith("/versions/0/")
    assert artifacts_with(evil) == 0
    assert artifacts_with(good) == 0


def test_corrupted_blob_fails_naming_the_file_and_creates_no_version(
    kickstart_registry,
    kickstart_upstream,
    remote_repo,
    kickstart_sync,
    latest_version,
    artifacts_with,
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    initrd = dict(files)["initrd.img"]
    blob = kickstart_registry.blob_file(digest_of(initrd))
    corrupted = bytes(b ^ 0xFF for b in initrd)  # same size, other bytes
    blob.write_bytes(corrupted)
    remote, repository = remote_repo(upstream, max_retries=1)

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    description = task.error["description"]
    assert digest_of(initrd) in description
    assert "initrd.img of 42/x86_64" in description
    assert latest_version(repository).endswith("/versions/0/")
    assert artifacts_with(corrupted) == 0
    assert artifacts_with(initrd) == 0


def test_corrupted_manifest_fails_naming_the_digest(
    kickstart_registry, kickstart_upstream, remote_repo, kickstart_sync, latest_version
):
    upstream = kickstart_upstream
    digest, size = upstream.netboot(
        "42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name)
    )
    upstream.index("42", [("amd64", digest, size)])
    stored = kickstart_registry.blob_file(digest)
    raw = stored.read_bytes()
    stored.write_bytes(raw.replace(b'"size":', b'"size" :', 1)[: len(raw)])
    remote, repository = remote_repo(upstream, include_tags=["42"])

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    assert digest in task.error["description"]
    assert latest_version(repository).endswith("/versions/0/")


def test_container_image_under_a_release_tag_is_rejected(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version
):
    upstream = kickstart_upstream
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    layer = b"\x1f\x8b" + b"not really a tarball"
    image = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": upstream.blob(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": upstream.blob(layer),
                "size": len(layer),
            }
        ],
    }
    upstream.manifest("42", image)
    remote, repository = remote_repo(upstream)

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    description = task.error["description"]
    assert "tag 42" in description and "container image" in description
    assert latest_version(repository).endswith("/versions/0/")


def test_older_pushes_without_artifact_type_are_accepted_with_warnings(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version, trees
):
    upstream = kickstart_upstream
    upstream.netboot(
        "40-amd64",
        fedora.tree_files("40", "amd64", salt=upstream.name),
        annotations={},
        artifact_type=None,
    )
    remote, repository = remote_repo(upstream)
    task = kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    assert any("no artifactType" in w for w in tree.warnings)
    assert any("org.pulpproject.netboot.version" in w for w in tree.warnings)
    flagged = [r for r in task.progress_reports if r.code == "sync.flagged"]
    assert len(flagged) == len(tree.warnings) == 2


def test_placeholder_files_are_kept_but_flagged(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version, trees
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name) + [("boot.iso", b"x" * 196)]
    files[0] = ("vmlinuz", b"\x00" * 4096)  # no bzImage header
    upstream.netboot("42-amd64", files)
    remote, repository = remote_repo(upstream)

    task = kickstart_sync(repository, remote)

    (tree,) = trees(latest_version(repository))
    assert {f.name for f in tree.files} >= {"boot.iso", "vmlinuz"}
    assert len(tree.warnings) == 2
    assert any(w.startswith("boot.iso: 196 bytes") for w in tree.warnings)
    assert any(w.startswith("vmlinuz: 4096 bytes, does not look like") for w in tree.warnings)
    messages = [r.message for r in task.progress_reports if r.code == "sync.flagged"]
    assert any("42/x86_64: boot.iso" in message for message in messages)


def test_resync_without_upstream_change_makes_no_version(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
    tree_map,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42")
    remote, repository = remote_repo(upstream)
    kickstart_sync(repository, remote)
    first = latest_version(repository)

    again = kickstart_sync(repository, remote)

    assert latest_version(repository) == first
    assert progress(again)["sync.was_skipped"].state == "completed"
    assert "sync.downloading.artifacts" not in progress(again)

    # A new upstream release is picked up by the next sync.
    kickstart_publish_release(upstream, "43", archs=("amd64",))
    kickstart_sync(repository, remote)
    assert set(tree_map(latest_version(repository))) == {
        ("42", "x86_64"),
        ("42", "aarch64"),
        ("43", "x86_64"),
    }


def test_newer_manifest_replaces_the_tree_for_its_release_and_arch(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version, trees
):
    upstream = kickstart_upstream
    old, _ = upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name))
    remote, repository = remote_repo(upstream)
    kickstart_sync(repository, remote)
    new, _ = upstream.netboot("42-amd64", fedora.tree_files("42.respin", "amd64"))

    kickstart_sync(repository, remote)

    (tree,) = trees(latest_version(repository))
    assert tree.digest == new != old


def test_additive_sync_keeps_trees_gone_upstream_and_mirror_drops_them(
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
    tree_map,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "41", archs=("amd64",))
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(upstream)
    kickstart_sync(repository, remote)
    assert set(tree_map(latest_version(repository))) == {("41", "x86_64"), ("42", "x86_64")}
    # Upstream keeps only N and N-1: release 41 goes away.
    kickstart_registry.delete_tag(upstream.name, "41")
    kickstart_registry.delete_tag(upstream.name, "41-amd64")
    before = latest_version(repository)

    kickstart_sync(repository, remote)
    assert latest_version(repository) == before
    assert ("41", "x86_64") in tree_map(latest_version(repository))

    kickstart_sync(repository, remote, mirror=True)
    assert latest_version(repository) != before
    assert set(tree_map(latest_version(repository))) == {("42", "x86_64")}


def test_on_demand_stores_metadata_only_until_the_first_download(
    kickstart_upstream,
    remote_repo,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    artifacts_with,
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    kernel = dict(files)["vmlinuz"]
    remote, repository = remote_repo(upstream, policy="on_demand")

    task = kickstart_sync(repository, remote)

    downloading = progress(task).get("sync.downloading.artifacts")
    assert downloading is None or downloading.done == 0
    (tree,) = trees(latest_version(repository))
    assert {f.name for f in tree.files} == {name for name, _ in files}
    assert artifacts_with(kernel) == 0

    base = kickstart_distribution_factory(repository).base_url
    served = requests.get(f"{base}42/x86_64/images/pxeboot/vmlinuz")
    assert served.status_code == 200
    assert served.content == kernel
    assert artifacts_with(kernel) == 1


def test_on_demand_never_serves_a_corrupted_blob_whole(
    kickstart_registry,
    kickstart_upstream,
    remote_repo,
    kickstart_distribution_factory,
    kickstart_sync,
    artifacts_with,
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    stage2 = dict(files)["install.img"]
    remote, repository = remote_repo(upstream, policy="on_demand", max_retries=1)
    kickstart_sync(repository, remote)
    corrupted = bytes(b ^ 0x55 for b in stage2)
    kickstart_registry.blob_file(digest_of(stage2)).write_bytes(corrupted)

    base = kickstart_distribution_factory(repository).base_url
    try:
        served = requests.get(f"{base}42/x86_64/images/install.img", timeout=60)
        body = served.content
        status = served.status_code
    except requests.exceptions.RequestException:
        body, status = b"", None
    assert not (status == 200 and body == corrupted)
    assert artifacts_with(corrupted) == 0


def test_broken_upstream_references_fail_naming_what_is_missing(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version
):
    upstream = kickstart_upstream
    digest, size = upstream.netboot(
        "42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name)
    )
    upstream.index("42", [("amd64", digest, size)])
    # The per-arch manifest disappears; the index still points at it.
    upstream.session.delete(
        f"{upstream.base}/v2/{upstream.name}/manifests/{digest}"
    ).raise_for_status()
    remote, repository = remote_repo(upstream)

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    description = task.error["description"]
    assert digest in description and "tag 42" in description and "404" in description
    assert latest_version(repository).endswith("/versions/0/")


def test_unknown_repository_and_unreachable_registry_fail_clearly(
    kickstart_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    from pulp_kickstart_oci.testing.oci import Pusher
    from pulp_kickstart_oci.testing.registry import free_port

    repository = kickstart_repository_factory()
    missing = kickstart_oci_remote_factory(Pusher(kickstart_registry.url, "no/such-repository"))
    task = kickstart_sync(repository, missing, expect_failure=True)
    assert task.state == "failed"
    assert "no/such-repository" in task.error["description"]
    assert "404" in task.error["description"]

    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = kickstart_oci_remote_factory(Pusher(nowhere, "fedora/kickstart"), max_retries=1)
    task = kickstart_sync(repository, unreachable, expect_failure=True)
    assert task.state == "failed"
    assert nowhere.split("//")[1] in task.error["description"]
    assert "cannot reach" in task.error["description"]
    assert latest_version(repository).endswith("/versions/0/")


def test_tag_lists_are_followed_across_pages(
    kickstart_registry,
    kickstart_upstream,
    remote_repo,
    kickstart_sync,
    latest_version,
    tree_map,
):
    from pulp_kickstart_oci.testing.oci import Pusher
    from tests.support.paginating_proxy import PagingProxy

    upstream = kickstart_upstream
    for release in ("38", "39", "40", "41", "42"):
        upstream.netboot(
            f"{release}-amd64", fedora.tree_files(release, "amd64", salt=upstream.name)
        )
    with PagingProxy(kickstart_registry.url, page_size=2) as proxy:
        remote, repository = remote_repo(Pusher(proxy.url, upstream.name))
        task = kickstart_sync(repository, remote)
        assert proxy.pages_served == 3

    assert progress(task)["sync.listing.tags"].done == 5
    assert {v for v, _ in tree_map(latest_version(repository))} == {"38", "39", "40", "41", "42"}
