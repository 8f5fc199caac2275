"""Which tag names which tree is a fact of a repository version (tags are content)."""

import pytest
import requests

from pulp_kickstart_oci.testing import fedora


@pytest.fixture
def tags_of(kickstart_bindings, list_all, trees):
    """``tags_of(version_href)``: {(tag, arch): tree digest} in a repository version."""

    def _tags(version_href):
        by_href = {t.pulp_href: t for t in trees(version_href)}
        return {
            (tag.name, tag.arch): by_href[tag.tree].digest
            for tag in list_all(
                kickstart_bindings.ContentTagsApi.list, repository_version=version_href
            )
        }

    return _tags


def _index_tags(base_url):
    index = requests.get(f"{base_url}trees.json", timeout=30).json()
    return {(t["version"], t["arch"]): t["tags"] for t in index["trees"]}


def test_each_repository_version_knows_its_own_tags(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tags_of,
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "45")
    amd64 = published["manifests"]["amd64"]
    narrow = kickstart_repository_factory()
    wide = kickstart_repository_factory()

    kickstart_sync(narrow, kickstart_oci_remote_factory(upstream, include_tags=["45-amd64"]))
    kickstart_sync(wide, kickstart_oci_remote_factory(upstream, include_tags=["45", "45-amd64"]))

    # The same tree, two repositories, each with the tags its own sync saw.
    assert tags_of(latest_version(narrow)) == {("45-amd64", "x86_64"): amd64}
    assert tags_of(latest_version(wide)) == {
        ("45", "x86_64"): amd64,
        ("45-amd64", "x86_64"): amd64,
        ("45", "aarch64"): published["manifests"]["arm64"],
    }
    assert _index_tags(kickstart_distribution_factory(narrow).base_url) == {
        ("45", "x86_64"): ["45-amd64"]
    }
    wide_url = kickstart_distribution_factory(wide).base_url
    assert _index_tags(wide_url) == {
        ("45", "x86_64"): ["45", "45-amd64"],
        ("45", "aarch64"): ["45"],
    }

    # Upstream re-points 45 and 45-amd64 (a respin): a new version, and each version
    # still tells what the tags named then.
    remote = kickstart_oci_remote_factory(upstream, include_tags=["45", "45-amd64"])
    first = latest_version(wide)
    entries = []
    for arch in ("amd64", "arm64"):
        respin = fedora.tree_files("45", arch, salt=upstream.name + "-respin")
        digest, size = upstream.netboot(f"45-{arch}", respin)
        entries.append((arch, digest, size))
    upstream.index("45", entries)
    new_amd64, new_arm64 = entries[0][1], entries[1][1]
    kickstart_sync(wide, remote)
    second = latest_version(wide)
    assert second != first
    assert tags_of(first)[("45", "x86_64")] == amd64
    assert tags_of(second) == {
        ("45", "x86_64"): new_amd64,
        ("45-amd64", "x86_64"): new_amd64,
        ("45", "aarch64"): new_arm64,
    }
    assert _index_tags(wide_url) == {
        ("45", "x86_64"): ["45", "45-amd64"],
        ("45", "aarch64"): ["45"],
    }

    # Nothing moved since: no new version.
    kickstart_sync(wide, remote)
    assert latest_version(wide) == second
