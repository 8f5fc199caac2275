"""A failed sync leaves the database as it was, whatever stage it fails at (issue 19).

Each test stores content with verifications first (a signed registry tree, a dnf tree
checked against a keyring), serves it, then makes the next sync fail at one stage:
reading upstream, verifying signatures, checking the trees the sync keeps, downloading
a file. ``fails_and_changes_nothing`` (conftest) compares every row the sync could
write before and after: the repository and its versions, the upstream's trees (their
``source``, ``pulp_last_updated``), tags, signatures and files, the distributions.
Real parts: the test registry and dnf trees behind testing.fault_proxy.
"""

import re

import pytest
import requests

from pulp_kickstart_oci.testing import dnf
from pulp_kickstart_oci.testing.oci import cosign_payload, digest_of
from tests.support import database, signing

FATAL = {"max_retries": 0}


def _sign(pusher, digest, key):
    """A cosign signature of ``digest`` by ``key`` (the remotes here skip the identity check:
    they read the registry through a proxy, another host:port than the one signed)."""
    payload = cosign_payload(f"registry.example/{pusher.name}", digest)
    pusher.cosign_signatures(digest, [(payload, signing.cosign_signature(key, payload), None)])


def _blob(pusher, data):
    return rf"^/v2/{re.escape(pusher.name)}/blobs/{re.escape(digest_of(data))}$"


@pytest.fixture
def signed_repository(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    signatures,
):
    """Release 42 signed by key A, synced under 'required' through a fault proxy and served.

    Returns a namespace: upstream, proxy, key_a, release (the published dict), remote
    factory ``remote(*keys)``, repository, distribution, version.
    """
    key_a = signing.generate_key("p256")
    release = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    _sign(kickstart_upstream, release["manifests"]["amd64"], key_a)
    proxy = kickstart_fault_proxy_factory(kickstart_upstream.base)

    def remote(*keys, **fields):
        return kickstart_oci_remote_factory(
            kickstart_upstream,
            url=proxy.url,
            signature_keys="".join(signing.public_pem(key) for key in keys),
            signature_policy=fields.pop("signature_policy", "required"),
            signature_identity_check=False,
            **FATAL,
            **fields,
        )

    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote(key_a))
    version = latest_version(repository)
    assert len(signatures(version)) == 1
    distribution = kickstart_distribution_factory(repository)

    class Signed:
        pass

    signed = Signed()
    signed.__dict__.update(
        upstream=kickstart_upstream,
        proxy=proxy,
        key_a=key_a,
        release=release,
        remote=remote,
        repository=repository,
        distribution=distribution,
        version=version,
    )
    return signed


def _served(distribution):
    response = requests.get(f"{distribution.base_url}trees.json", timeout=60)
    response.raise_for_status()
    return response.json()


def test_failing_to_read_upstream_changes_nothing(signed_repository, fails_and_changes_nothing):
    signed = signed_repository
    served = _served(signed.distribution)
    signed.proxy.add("500", rf"^/v2/{re.escape(signed.upstream.name)}/tags/list", times=None)
    fails_and_changes_nothing(signed.repository, signed.remote(signed.key_a), "HTTP 500")
    assert _served(signed.distribution) == served


def test_a_mirror_sync_refused_for_emptying_the_repository_changes_nothing(
    kickstart_registry, signed_repository, fails_and_changes_nothing
):
    signed = signed_repository
    for tag in ("42", "42-amd64"):
        kickstart_registry.delete_tag(signed.upstream.name, tag)
    remote = signed.remote(signed.key_a)
    message = fails_and_changes_nothing(signed.repository, remote, "allow_empty", mirror=True)
    assert "upstream lists no tree" in message


def test_failing_signature_verification_changes_nothing(
    kickstart_publish_release, signed_repository, fails_and_changes_nothing
):
    """42 verifies again (with A, and with B now trusted too); 43 is signed by a stranger:
    under if_present the sync fails, and 42's new verification by B is stored nowhere."""
    signed = signed_repository
    key_b, stranger = signing.generate_key("p256"), signing.generate_key("p256")
    _sign(signed.upstream, signed.release["manifests"]["amd64"], key_b)
    new = kickstart_publish_release(signed.upstream, "43", archs=("amd64",))
    _sign(signed.upstream, new["manifests"]["amd64"], stranger)
    remote = signed.remote(signed.key_a, key_b, signature_policy="if_present")
    fails_and_changes_nothing(
        signed.repository, remote, "43-amd64", new["manifests"]["amd64"], "does not verify"
    )


def test_failing_the_kept_tree_check_changes_nothing(
    kickstart_registry, kickstart_publish_release, signed_repository, fails_and_changes_nothing
):
    """42 leaves upstream (kept by the additive sync); the remote now trusts only B, which
    signed 43 but not 42: the kept tree is not vouched for and the sync fails."""
    signed = signed_repository
    key_b = signing.generate_key("ed25519")
    new = kickstart_publish_release(signed.upstream, "43", archs=("amd64",))
    _sign(signed.upstream, new["manifests"]["amd64"], key_b)
    for tag in ("42", "42-amd64"):
        kickstart_registry.delete_tag(signed.upstream.name, tag)
    fails_and_changes_nothing(
        signed.repository, signed.remote(key_b), "kept tree 42/x86_64", "no signature"
    )


def test_failing_a_download_after_verifying_changes_nothing(
    kickstart_registry,
    kickstart_publish_release,
    signed_repository,
    fails_and_changes_nothing,
    kickstart_sync,
    latest_version,
    signatures,
    trees,
):
    """The remote now trusts B. The kept tree 42 (its tags gone upstream) is verified again
    from upstream with B, 43 (new, signed by B) verifies, then 43's kernel cannot be
    downloaded: no tree, tag or verification of this sync is stored, in any version or
    outside one. Once the registry answers, the same sync stores all of it."""
    signed = signed_repository
    key_b = signing.generate_key("ed25519")
    old_digest = signed.release["manifests"]["amd64"]
    _sign(signed.upstream, old_digest, key_b)
    new = kickstart_publish_release(signed.upstream, "43", archs=("amd64",))
    _sign(signed.upstream, new["manifests"]["amd64"], key_b)
    for tag in ("42", "42-amd64"):
        kickstart_registry.delete_tag(signed.upstream.name, tag)
    kernel = dict(new["files"]["amd64"])["vmlinuz"]
    signed.proxy.add("500", _blob(signed.upstream, kernel), times=None)
    remote = signed.remote(key_b)
    served = _served(signed.distribution)

    fails_and_changes_nothing(signed.repository, remote, "vmlinuz", "43/x86_64")
    assert _served(signed.distribution) == served

    signed.proxy.clear()
    kickstart_sync(signed.repository, remote)
    version = latest_version(signed.repository)
    by_tree = {
        tree.version: {unit.key for unit in signatures(version, tree)} for tree in trees(version)
    }
    assert by_tree == {
        "42": {signing.key_id(signed.key_a), signing.key_id(key_b)},
        "43": {signing.key_id(key_b)},
    }


def test_failing_a_dnf_download_after_checking_the_keyring_changes_nothing(
    kickstart_workdir,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_fault_proxy_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    fails_and_changes_nothing,
    latest_version,
    trees,
    signatures,
):
    """A dnf tree stored on_demand without keys is reused by a keyed immediate sync: its
    RPMs are checked against the keyring while planning (where the check used to be
    written onto the stored tree), then its kernel cannot be downloaded."""
    signer = dnf.make_key("Failed Sync Signer", kickstart_workdir)
    try:
        tree = kickstart_dnf_tree_factory(key=signer)
        proxy = kickstart_fault_proxy_factory(kickstart_tree_server_factory(tree).url)
        repository = kickstart_repository_factory()
        kickstart_sync(repository, kickstart_dnf_remote_factory(proxy, policy="on_demand"))
        kickstart_distribution_factory(repository)
        keyed = kickstart_dnf_remote_factory(
            proxy, gpg_keys=signer.public_armored, policy="immediate", **FATAL
        )
        proxy.add("500", r"^/images/pxeboot/vmlinuz$", times=None)

        fails_and_changes_nothing(repository, keyed, "vmlinuz")
        assert signatures(latest_version(repository)) == []

        proxy.clear()
        kickstart_sync(repository, keyed)
        (stored,) = trees(latest_version(repository))
        (check,) = signatures(latest_version(repository), stored)
        assert (check.kind, check.key) == ("rpm", signer.fingerprint.upper())
    finally:
        signer.close()


def test_a_download_failing_after_other_trees_were_saved_stores_no_tag_or_verification(
    kickstart_publish_release, signed_repository, kickstart_sync, latest_version
):
    """Two new releases, one of which cannot be downloaded. pulpcore may already have
    saved the other tree (an orphan: no version holds it; orphan cleanup removes it), but
    no tag or verification of this sync is stored, and every row that existed is as it
    was."""
    signed = signed_repository
    releases = [kickstart_publish_release(signed.upstream, r, archs=("amd64",)) for r in "34"]
    for release in releases:
        _sign(signed.upstream, release["manifests"]["amd64"], signed.key_a)
    kernel = dict(releases[1]["files"]["amd64"])["vmlinuz"]
    signed.proxy.add("500", _blob(signed.upstream, kernel), times=None)
    remote = signed.remote(signed.key_a)
    before = database.sync_footprint(signed.repository.pulp_href, signed.upstream.name)

    task = kickstart_sync(signed.repository, remote, expect_failure=True)

    assert "vmlinuz" in task.error["description"]
    assert latest_version(signed.repository) == signed.version
    after = database.sync_footprint(signed.repository.pulp_href, signed.upstream.name)
    for part in ("tags", "signatures", "versions", "repository_content", "distributions"):
        assert after[part] == before[part], database.differences(before, after)
    old = {row["pulp_id"] for row in before["content"]}
    assert [row for row in after["content"] if row["pulp_id"] in old] == before["content"]
    new = [row["pulp_id"] for row in after["content"] if row["pulp_id"] not in old]
    assert {row["pulp_type"] for row in after["content"] if row["pulp_id"] in new} <= {
        "kickstart.tree"
    }
    if new:
        held = database.psql(
            "SELECT count(*) FROM core_repositorycontent WHERE content_id IN ("
            + ", ".join(f"'{pk}'" for pk in new)
            + ")"
        )
        assert held == "0"
