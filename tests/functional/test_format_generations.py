"""Both generations of the netboot format, synced from a real docker-registry (issue 22).

A manifest of the March 2024 draft (zstd layers declaring the uncompressed file, release
and architecture in annotations, entrypoints naming the bootloaders) becomes a tree
that serves the uncompressed files, byte for byte, whether synced immediately or
on_demand. Every lie a draft can tell fails the sync naming the file, with no new
repository version; a bad blob fetched on_demand for the first time is never served
whole nor stored.
"""

import pytest
import requests

from pulp_kickstart_oci.testing import draft, fedora

TAG = "fedora-40-x86_64"
FATAL = {"max_retries": 0}


def _files(upstream, release="40"):
    return fedora.tree_files(release, "amd64", salt=upstream.name)


def _publish(upstream, files, lie=None, release="40"):
    """Push ``files`` as a draft manifest of ``release`` (tag fedora-<release>-x86_64);
    ``lie`` changes the kernel's layer."""
    layers = []
    for title, data in files:
        options = (lie or {}) if title == "vmlinuz" else {}
        layers.append(draft.layer(upstream, title, data, **options))
    return draft.publish(
        upstream,
        f"fedora-{release}-x86_64",
        layers,
        os_version=release,
        os_arch="x86_64",
        entrypoint="shimx64.efi",
        altentrypoint="grubx64.efi",
        legacyentrypoint="pxelinux.0",
    )


def test_a_draft_manifest_is_served_uncompressed_immediate_and_on_demand(
    kickstart_upstream,
    remote_repo,
    kickstart_sync,
    kickstart_distribution_factory,
    latest_version,
    trees,
    artifacts_with,
):
    upstream = kickstart_upstream
    for policy, release in (("on_demand", "40"), ("immediate", "41")):
        files = _files(upstream, release)
        digest, _size = _publish(upstream, files, release=release)
        remote, repository = remote_repo(
            upstream, policy=policy, include_tags=[f"fedora-{release}-*"]
        )
        kickstart_sync(repository, remote)
        (tree,) = trees(latest_version(repository))
        assert (tree.version, tree.arch, tree.digest) == (release, "x86_64", digest)
        roles = {item.name: item.role for item in tree.files}
        assert roles["shimx64.efi"] == "shim" and roles["grubx64.efi"] == "grub"
        assert roles["pxelinux.0"] == "pxelinux"
        assert {layer["compression"] for layer in tree.source["compressed_layers"]} == {"zstd"}
        kernel = dict(files)["vmlinuz"]
        assert artifacts_with(kernel) == (0 if policy == "on_demand" else 1)
        base = kickstart_distribution_factory(repository).base_url
        served = {item.name: item.path for item in tree.files}
        for title, data in files:
            response = requests.get(f"{base}{release}/x86_64/{served[title]}", timeout=60)
            assert response.status_code == 200, (policy, title)
            assert response.content == data, (policy, title)
        assert artifacts_with(kernel) == 1  # on_demand: inflated, checked and stored


def _lies(upstream, files):
    kernel = dict(files)["vmlinuz"]
    corrupted = bytearray(draft.compress(kernel))
    corrupted[len(corrupted) // 2] ^= 0xFF
    return {
        "corrupted blob": {"blob": bytes(corrupted)},
        "wrong src.digest": {"src_digest": "sha256:" + "0" * 64},
        "wrong src.size": {"src_size": len(kernel) - 1},
        "unknown compression": {"media_type": "application/x-netboot-file+gzip"},
        "bomb": {"blob": draft.zstd_bomb(1 << 32)},  # 4 GiB of zeros, declared as the kernel
        "declared past the cap": {"src_size": 9 << 30},  # KICKSTART_MAX_IMAGE_BYTES: 8 GiB
    }


@pytest.mark.parametrize(
    "lie",
    [
        "corrupted blob",
        "wrong src.digest",
        "wrong src.size",
        "unknown compression",
        "bomb",
        "declared past the cap",
    ],
)
def test_a_draft_that_lies_fails_naming_the_file_and_keeps_the_version(
    lie, kickstart_upstream, remote_repo, kickstart_sync, latest_version
):
    upstream = kickstart_upstream
    files = _files(upstream)
    options = _lies(upstream, files)[lie]
    _digest, _size = _publish(upstream, files, options)
    remote, repository = remote_repo(upstream, include_tags=["fedora-*"], **FATAL)

    task = kickstart_sync(repository, remote, expect_failure=True)

    description = task.error["description"]
    assert "vmlinuz" in description, description
    if lie == "unknown compression":
        assert f"tag {TAG}" in description and "+gzip" in description
    elif lie == "declared past the cap":  # refused before any download
        assert f"tag {TAG}" in description and "KICKSTART_MAX_IMAGE_BYTES" in description
    else:
        assert "40/x86_64" in description
    assert "bomb" != lie or "bytes, not the" in description  # stopped at the declared size
    assert latest_version(repository).endswith("/versions/0/")


def test_a_size_that_is_not_the_stored_bytes_fails_though_nothing_is_downloaded(
    kickstart_upstream, remote_repo, kickstart_sync, latest_version
):
    """on_demand downloads nothing when Pulp holds the bytes of a sha256 already: the size
    upstream declares must still be theirs (tasks/synchronizing.CheckTreeFiles), or trees.json
    would publish a size the served file does not have."""
    upstream = kickstart_upstream
    files = _files(upstream)
    _publish(upstream, files)
    remote, repository = remote_repo(upstream, include_tags=["fedora-*"], **FATAL)
    kickstart_sync(repository, remote)  # immediate: Pulp stores the kernel
    kernel = dict(files)["vmlinuz"]
    _publish(upstream, files, {"src_size": len(kernel) - 1})
    lazy, other = remote_repo(upstream, policy="on_demand", include_tags=["fedora-*"], **FATAL)
    task = kickstart_sync(other, lazy, expect_failure=True)
    description = task.error["description"]
    assert f"vmlinuz: upstream says {len(kernel) - 1} bytes" in description, description
    assert latest_version(other).endswith("/versions/0/")


def test_a_bad_draft_blob_fetched_on_demand_is_refused(
    kickstart_registry,
    kickstart_upstream,
    remote_repo,
    kickstart_sync,
    kickstart_distribution_factory,
    artifacts_with,
):
    upstream = kickstart_upstream
    files = _files(upstream)
    kernel = dict(files)["vmlinuz"]
    _publish(upstream, files)
    remote, repository = remote_repo(
        upstream, policy="on_demand", include_tags=["fedora-*"], **FATAL
    )
    kickstart_sync(repository, remote)
    # The blob now inflates to another kernel of the same size: only the digests tell.
    other = bytes(b ^ 0x55 for b in kernel)
    blob = kickstart_registry.blob_file(draft.digest_of(draft.compress(kernel)))
    blob.write_bytes(draft.compress(other))

    base = kickstart_distribution_factory(repository).base_url
    try:
        served = requests.get(f"{base}40/x86_64/images/pxeboot/vmlinuz", timeout=60)
        body, status = served.content, served.status_code
    except requests.exceptions.RequestException:
        body, status = b"", None
    assert not (status == 200 and body == other)
    assert artifacts_with(other) == 0 and artifacts_with(kernel) == 0
