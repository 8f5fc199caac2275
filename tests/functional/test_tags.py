"""Which tag names which tree is a fact of a repository version (tags are content)."""

import requests

from tests.support import fedora
from tests.support.pulp import unique

from .conftest import latest


def _tags(api, version_href):
    """{(tag, arch): tree digest} in a repository version."""
    trees = {t["pulp_href"]: t for t in api.trees(version_href)}
    return {
        (tag["name"], tag["arch"]): trees[tag["tree"]]["digest"]
        for tag in api.list("content/kickstart/tags/", repository_version=version_href)
    }


def _index_tags(base_url):
    index = requests.get(f"{base_url}/trees.json", timeout=30).json()
    return {(t["version"], t["arch"]): t["tags"] for t in index["trees"]}


def test_each_repository_version_knows_its_own_tags(
    api, upstream, make_remote, repository, distribute, publish_release, cleanup
):
    published = publish_release(upstream, "45")
    amd64 = published["manifests"]["amd64"]
    narrow = repository
    wide = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
    cleanup(wide["pulp_href"])

    api.sync(narrow, make_remote(upstream, include_tags=["45-amd64"]))
    api.sync(wide, make_remote(upstream, include_tags=["45", "45-amd64"]))

    # The same tree, two repositories, each with the tags its own sync saw.
    assert _tags(api, latest(api, narrow)) == {("45-amd64", "x86_64"): amd64}
    assert _tags(api, latest(api, wide)) == {
        ("45", "x86_64"): amd64,
        ("45-amd64", "x86_64"): amd64,
        ("45", "aarch64"): published["manifests"]["arm64"],
    }
    assert _index_tags(distribute(narrow)) == {("45", "x86_64"): ["45-amd64"]}
    wide_url = distribute(wide)
    assert _index_tags(wide_url) == {
        ("45", "x86_64"): ["45", "45-amd64"],
        ("45", "aarch64"): ["45"],
    }

    # Upstream re-points 45 and 45-amd64 (a respin): a new version, and each version
    # still tells what the tags named then.
    remote = make_remote(upstream, include_tags=["45", "45-amd64"])
    first = latest(api, wide)
    entries = []
    for arch in ("amd64", "arm64"):
        respin = fedora.tree_files("45", arch, salt=upstream.name + "-respin")
        digest, size = upstream.netboot(f"45-{arch}", respin)
        entries.append((arch, digest, size))
    upstream.index("45", entries)
    new_amd64, new_arm64 = entries[0][1], entries[1][1]
    api.sync(wide, remote)
    second = latest(api, wide)
    assert second != first
    assert _tags(api, first)[("45", "x86_64")] == amd64
    assert _tags(api, second) == {
        ("45", "x86_64"): new_amd64,
        ("45-amd64", "x86_64"): new_amd64,
        ("45", "aarch64"): new_arm64,
    }
    assert _index_tags(wide_url) == {
        ("45", "x86_64"): ["45", "45-amd64"],
        ("45", "aarch64"): ["45"],
    }

    # Nothing moved since: no new version.
    api.sync(wide, remote)
    assert latest(api, wide) == second
