"""Sync from a real docker-registry into a live Pulp: the sync semantics of the plugin."""

import json

import pytest
import requests

from tests.support import fedora
from tests.support.oci import digest_of

from .conftest import artifact_count, latest, reports, sha256


def tree_map(api, version_href):
    return {(t["version"], t["arch"]): t for t in api.trees(version_href)}


def test_index_and_arch_tags_make_one_tree_per_release_and_arch(
    api, upstream, make_remote, repository, publish_release, distribute
):
    published = publish_release(upstream, "42")
    remote = make_remote(upstream)

    task = api.sync(repository, remote)

    version = latest(api, repository)
    assert version.endswith("/versions/1/")
    trees = tree_map(api, version)
    assert set(trees) == {("42", "x86_64"), ("42", "aarch64")}
    amd64 = trees[("42", "x86_64")]
    assert amd64["oci_arch"] == "amd64"
    assert amd64["digest"] == published["manifests"]["amd64"]
    # The manifest is reached by `42` (index) and `42-amd64`: one tree, both tags.
    tags = api.list("content/kickstart/tags/", repository_version=version, arch="x86_64")
    assert sorted(t["name"] for t in tags) == ["42", "42-amd64"]
    assert {t["tree"] for t in tags} == {amd64["pulp_href"]}
    assert "tags" not in amd64["source"]
    assert amd64["source"]["index"]["digest"] == published["index"]
    assert amd64["annotations"]["org.pulpproject.netboot.version"] == "1"
    assert amd64["warnings"] == []
    expected = {title: data for title, data in published["files"]["amd64"]}
    assert {f["name"]: (f["size"], f["sha256"]) for f in amd64["files"]} == {
        title: (len(data), sha256(data)) for title, data in expected.items()
    }
    paths = {f["name"]: (f["path"], f["role"]) for f in amd64["files"]}
    assert paths["vmlinuz"] == ("images/pxeboot/vmlinuz", "kernel")
    assert paths["initrd.img"] == ("images/pxeboot/initrd.img", "initrd")
    assert paths["install.img"] == ("images/install.img", "stage2")
    assert paths["shimx64.efi"] == ("EFI/BOOT/shimx64.efi", "shim")
    assert paths["grubx64.efi"] == ("EFI/BOOT/grubx64.efi", "grub")
    assert paths["pxelinux.0"] == ("pxelinux.0", "pxelinux")

    # Every byte is what upstream published, served at <base>/<version>/<arch>/<path>.
    base = distribute(repository)
    for item in amd64["files"]:
        served = requests.get(f"{base}/42/x86_64/{item['path']}")
        assert served.status_code == 200, item["path"]
        assert served.content == expected[item["name"]]

    # Trees are filterable by release, either arch name, digest and repository version.
    for params in ({"arch": "amd64"}, {"arch": "x86_64"}, {"digest": amd64["digest"]}):
        found = api.list("content/kickstart/trees/", repository_version=version, **params)
        assert [t["pulp_href"] for t in found] == [amd64["pulp_href"]], params
    assert len(api.list("content/kickstart/trees/", repository_version=version, version="42")) == 2
    assert api.list("content/kickstart/trees/", repository_version=version, version="41") == []

    progress = reports(task)
    assert progress["sync.listing.tags"]["done"] == 3
    assert progress["sync.parsing.manifests"]["done"] == 3  # the index and two manifests
    distinct_blobs = {digest_of(d) for files in published["files"].values() for _, d in files}
    assert progress["sync.downloading.artifacts"]["done"] == len(distinct_blobs)


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
    api, upstream, make_remote, repository, publish_release, filters, expected
):
    publish_release(upstream, "42")
    publish_release(upstream, "41", archs=("amd64",))
    # Not of the form N or N-ARCH: ignored by default.
    upstream.netboot("latest", fedora.tree_files("99", "amd64"))
    remote = make_remote(upstream, **filters)

    api.sync(repository, remote)

    assert set(tree_map(api, latest(api, repository))) == expected


def test_default_selection_skips_other_tags(api, upstream, make_remote, repository):
    upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name))
    upstream.netboot("latest", fedora.tree_files("99", "amd64"))
    upstream.netboot("nightly-amd64", fedora.tree_files("98", "amd64"))
    api.sync(repository, make_remote(upstream))
    assert set(tree_map(api, latest(api, repository))) == {("42", "x86_64")}


def test_two_titles_on_one_blob_keep_both_files_and_one_artifact(
    api, upstream, make_remote, repository, distribute
):
    shared = fedora.stage2("dup-" + upstream.name)
    notes = f"kept under extra/ ({upstream.name})\n".encode()
    files = fedora.tree_files("42", "amd64", salt=upstream.name)[:2] + [
        ("install.img", shared),
        ("boot.iso", shared),
        ("extras/notes.txt", notes),
    ]
    upstream.netboot("42-amd64", files)

    task = api.sync(repository, make_remote(upstream))

    (tree,) = api.trees(latest(api, repository))
    by_name = {f["name"]: f for f in tree["files"]}
    assert by_name["install.img"]["path"] == "images/install.img"
    assert by_name["boot.iso"]["path"] == "images/boot.iso"
    assert by_name["install.img"]["sha256"] == by_name["boot.iso"]["sha256"] == sha256(shared)
    assert by_name["extras/notes.txt"]["path"] == "extra/extras/notes.txt"
    assert by_name["extras/notes.txt"]["role"] == "other"
    # A squashfs named boot.iso is kept, and flagged.
    assert any(w.startswith("boot.iso:") for w in tree["warnings"]), tree["warnings"]
    assert artifact_count(api, shared) == 1
    assert reports(task)["sync.downloading.artifacts"]["done"] == 4  # five files, four blobs
    base = distribute(repository)
    for path in ("images/install.img", "images/boot.iso"):
        assert requests.get(f"{base}/42/x86_64/{path}").content == shared
    assert requests.get(f"{base}/42/x86_64/extra/extras/notes.txt").content == notes


@pytest.mark.parametrize(
    "title",
    ["../../etc/passwd", "/etc/passwd", "images/../../x", "EFI\\BOOT\\x.efi", "bad\x07name", ""],
)
def test_unsafe_titles_fail_the_sync_and_store_nothing(
    api, upstream, make_remote, repository, title
):
    good = fedora.kernel("traversal-" + upstream.name)
    evil = b"not to be stored " + upstream.name.encode()
    digest, _ = upstream.netboot("42-amd64", [("vmlinuz", good), (title, evil)])

    task = api.sync(repository, make_remote(upstream), raise_on_failure=False)

    assert task["state"] == "failed"
    description = task["error"]["description"]
    assert "tag 42-amd64" in description and digest in description
    assert repr(title) in description or "empty title" in description
    assert latest(api, repository).endswith("/versions/0/")
    assert artifact_count(api, evil) == 0
    assert artifact_count(api, good) == 0


def test_corrupted_blob_fails_naming_the_file_and_creates_no_version(
    api, registry, upstream, make_remote, repository
):
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    initrd = dict(files)["initrd.img"]
    blob = registry.blob_file(digest_of(initrd))
    corrupted = bytes(b ^ 0xFF for b in initrd)  # same size, other bytes
    blob.write_bytes(corrupted)

    remote = make_remote(upstream, max_retries=1)
    task = api.sync(repository, remote, raise_on_failure=False)

    assert task["state"] == "failed"
    description = task["error"]["description"]
    assert digest_of(initrd) in description
    assert "initrd.img of 42/x86_64" in description
    assert latest(api, repository).endswith("/versions/0/")
    assert artifact_count(api, corrupted) == 0
    assert artifact_count(api, initrd) == 0


def test_corrupted_manifest_fails_naming_the_digest(
    api, registry, upstream, make_remote, repository
):
    digest, size = upstream.netboot(
        "42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name)
    )
    upstream.index("42", [("amd64", digest, size)])
    stored = registry.blob_file(digest)
    raw = stored.read_bytes()
    stored.write_bytes(raw.replace(b'"size":', b'"size" :', 1)[: len(raw)])

    remote = make_remote(upstream, include_tags=["42"])
    task = api.sync(repository, remote, raise_on_failure=False)

    assert task["state"] == "failed"
    assert digest in task["error"]["description"]
    assert latest(api, repository).endswith("/versions/0/")


def test_container_image_under_a_release_tag_is_rejected(api, upstream, make_remote, repository):
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

    task = api.sync(repository, make_remote(upstream), raise_on_failure=False)

    assert task["state"] == "failed"
    description = task["error"]["description"]
    assert "tag 42" in description and "container image" in description
    assert latest(api, repository).endswith("/versions/0/")


def test_older_pushes_without_artifact_type_are_accepted_with_warnings(
    api, upstream, make_remote, repository
):
    upstream.netboot(
        "40-amd64",
        fedora.tree_files("40", "amd64", salt=upstream.name),
        annotations={},
        artifact_type=None,
    )
    task = api.sync(repository, make_remote(upstream))
    (tree,) = api.trees(latest(api, repository))
    assert any("no artifactType" in w for w in tree["warnings"])
    assert any("org.pulpproject.netboot.version" in w for w in tree["warnings"])
    flagged = [r for r in task["progress_reports"] if r["code"] == "sync.flagged"]
    assert len(flagged) == len(tree["warnings"]) == 2


def test_placeholder_files_are_kept_but_flagged(api, upstream, make_remote, repository):
    files = fedora.tree_files("42", "amd64", salt=upstream.name) + [("boot.iso", b"x" * 196)]
    files[0] = ("vmlinuz", b"\x00" * 4096)  # no bzImage header
    upstream.netboot("42-amd64", files)

    task = api.sync(repository, make_remote(upstream))

    (tree,) = api.trees(latest(api, repository))
    assert {f["name"] for f in tree["files"]} >= {"boot.iso", "vmlinuz"}
    assert len(tree["warnings"]) == 2
    assert any(w.startswith("boot.iso: 196 bytes") for w in tree["warnings"])
    assert any(w.startswith("vmlinuz: 4096 bytes, does not look like") for w in tree["warnings"])
    messages = [r["message"] for r in task["progress_reports"] if r["code"] == "sync.flagged"]
    assert any("42/x86_64: boot.iso" in message for message in messages)


def test_resync_without_upstream_change_makes_no_version(
    api, upstream, make_remote, repository, publish_release
):
    publish_release(upstream, "42")
    remote = make_remote(upstream)
    api.sync(repository, remote)
    first = latest(api, repository)

    again = api.sync(repository, remote)

    assert latest(api, repository) == first
    assert reports(again)["sync.was_skipped"]["state"] == "completed"
    assert "sync.downloading.artifacts" not in reports(again)

    # A new upstream release is picked up by the next sync.
    publish_release(upstream, "43", archs=("amd64",))
    api.sync(repository, remote)
    assert set(tree_map(api, latest(api, repository))) == {
        ("42", "x86_64"),
        ("42", "aarch64"),
        ("43", "x86_64"),
    }


def test_newer_manifest_replaces_the_tree_for_its_release_and_arch(
    api, upstream, make_remote, repository
):
    old, _ = upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name))
    remote = make_remote(upstream)
    api.sync(repository, remote)
    new, _ = upstream.netboot("42-amd64", fedora.tree_files("42.respin", "amd64"))

    api.sync(repository, remote)

    (tree,) = api.trees(latest(api, repository))
    assert tree["digest"] == new != old


def test_additive_sync_keeps_trees_gone_upstream_and_mirror_drops_them(
    api, registry, upstream, make_remote, repository, publish_release
):
    publish_release(upstream, "41", archs=("amd64",))
    publish_release(upstream, "42", archs=("amd64",))
    remote = make_remote(upstream)
    api.sync(repository, remote)
    assert set(tree_map(api, latest(api, repository))) == {("41", "x86_64"), ("42", "x86_64")}
    # Upstream keeps only N and N-1: release 41 goes away.
    registry.delete_tag(upstream.name, "41")
    registry.delete_tag(upstream.name, "41-amd64")
    before = latest(api, repository)

    api.sync(repository, remote)
    assert latest(api, repository) == before
    assert ("41", "x86_64") in tree_map(api, latest(api, repository))

    api.sync(repository, remote, mirror=True)
    assert latest(api, repository) != before
    assert set(tree_map(api, latest(api, repository))) == {("42", "x86_64")}


def test_on_demand_stores_metadata_only_until_the_first_download(
    api, upstream, make_remote, repository, distribute
):
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    kernel = dict(files)["vmlinuz"]
    remote = make_remote(upstream, policy="on_demand")

    task = api.sync(repository, remote)

    assert "sync.downloading.artifacts" not in reports(task) or (
        reports(task)["sync.downloading.artifacts"]["done"] == 0
    )
    (tree,) = api.trees(latest(api, repository))
    assert {f["name"] for f in tree["files"]} == {name for name, _ in files}
    assert artifact_count(api, kernel) == 0

    base = distribute(repository)
    served = requests.get(f"{base}/42/x86_64/images/pxeboot/vmlinuz")
    assert served.status_code == 200
    assert served.content == kernel
    assert artifact_count(api, kernel) == 1


def test_on_demand_never_serves_a_corrupted_blob_whole(
    api, registry, upstream, make_remote, repository, distribute
):
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    upstream.netboot("42-amd64", files)
    stage2 = dict(files)["install.img"]
    api.sync(repository, make_remote(upstream, policy="on_demand", max_retries=1))
    corrupted = bytes(b ^ 0x55 for b in stage2)
    registry.blob_file(digest_of(stage2)).write_bytes(corrupted)

    base = distribute(repository)
    try:
        served = requests.get(f"{base}/42/x86_64/images/install.img", timeout=60)
        body = served.content
        status = served.status_code
    except requests.exceptions.RequestException:
        body, status = b"", None
    assert not (status == 200 and body == corrupted)
    assert artifact_count(api, corrupted) == 0


def test_broken_upstream_references_fail_naming_what_is_missing(
    api, upstream, make_remote, repository
):
    digest, size = upstream.netboot(
        "42-amd64", fedora.tree_files("42", "amd64", salt=upstream.name)
    )
    upstream.index("42", [("amd64", digest, size)])
    # The per-arch manifest disappears; the index still points at it.
    upstream.session.delete(
        f"{upstream.base}/v2/{upstream.name}/manifests/{digest}"
    ).raise_for_status()

    task = api.sync(repository, make_remote(upstream), raise_on_failure=False)

    assert task["state"] == "failed"
    description = task["error"]["description"]
    assert digest in description and "tag 42" in description and "404" in description
    assert latest(api, repository).endswith("/versions/0/")


def test_unknown_repository_and_unreachable_registry_fail_clearly(
    api, registry, make_remote, repository
):
    from tests.support.oci import Pusher
    from tests.support.registry import free_port

    missing = make_remote(Pusher(registry.url, "no/such-repository"))
    task = api.sync(repository, missing, raise_on_failure=False)
    assert task["state"] == "failed"
    assert "no/such-repository" in task["error"]["description"]
    assert "404" in task["error"]["description"]

    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = make_remote(Pusher(nowhere, "fedora/kickstart"), max_retries=1)
    task = api.sync(repository, unreachable, raise_on_failure=False)
    assert task["state"] == "failed"
    assert nowhere.split("//")[1] in task["error"]["description"]
    assert "cannot reach" in task["error"]["description"]
    assert latest(api, repository).endswith("/versions/0/")


def test_tag_lists_are_followed_across_pages(api, registry, upstream, make_remote, repository):
    from tests.support.oci import Pusher
    from tests.support.paginating_proxy import PagingProxy

    for release in ("38", "39", "40", "41", "42"):
        upstream.netboot(
            f"{release}-amd64", fedora.tree_files(release, "amd64", salt=upstream.name)
        )
    with PagingProxy(registry.url, page_size=2) as proxy:
        task = api.sync(repository, make_remote(Pusher(proxy.url, upstream.name)))
        assert proxy.pages_served == 3

    assert reports(task)["sync.listing.tags"]["done"] == 5
    assert {v for v, _ in tree_map(api, latest(api, repository))} == {"38", "39", "40", "41", "42"}
