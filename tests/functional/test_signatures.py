"""Publisher signatures on OCI trees: verified offline against the admin's keys, fail closed."""

from urllib.parse import urlsplit

from tests.support import signing
from tests.support.oci import cosign_payload


def _reference(pusher):
    return f"{urlsplit(pusher.base).netloc}/{pusher.name}"


def _cosign_sign(pusher, digest, key, reference=None):
    payload = cosign_payload(reference or _reference(pusher), digest)
    pusher.cosign_signatures(digest, [(payload, signing.cosign_signature(key, payload), None)])


def test_required_syncs_signed_trees_and_records_who_signed(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    key = signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    _cosign_sign(kickstart_upstream, published["manifests"]["amd64"], key)
    remote = kickstart_oci_remote_factory(
        kickstart_upstream,
        signature_keys=signing.public_pem(key),
        signature_policy="required",
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    (record,) = tree.signatures
    assert record.kind == "cosign" and record.key == signing.key_id(key)
    assert record.signed_digest == published["manifests"]["amd64"]


def test_required_refuses_an_unsigned_tree_and_creates_no_version(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    key = signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote = kickstart_oci_remote_factory(
        kickstart_upstream,
        signature_keys=signing.public_pem(key),
        signature_policy="required",
    )
    repository = kickstart_repository_factory()
    before = latest_version(repository)
    task = kickstart_sync(repository, remote, expect_failure=True)
    error = task.error["description"]
    assert published["manifests"]["amd64"] in error and "42-amd64" in error
    assert "no signature was found" in error
    assert latest_version(repository) == before
