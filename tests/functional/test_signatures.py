"""Publisher signatures on OCI trees: verified offline against the admin's keys, fail closed.

Real parts: the test's docker-registry (distribution 2.8, no referrers API, so
bundles travel by the referrers tag schema), Debian's ``skopeo copy --sign-by``
with a throwaway gpg key for OpenPGP signatures in a lookaside store served over
HTTP, and cosign signatures and sigstore bundles built by tests/support/signing.py
from the published formats (independent of the verifier's code).
"""

import json
from urllib.parse import urlsplit

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    SIGSTORE_BUNDLE,
    Pusher,
    cosign_payload,
)
from tests.support import signing
from tests.support.skopeo import SkopeoSigner


def _netloc(pusher):
    return urlsplit(pusher.base).netloc


def _reference(pusher):
    return f"{_netloc(pusher)}/{pusher.name}"


def _cosign_sign(pusher, digest, key, reference=None, optional=None):
    payload = cosign_payload(reference or _reference(pusher), digest, optional)
    pusher.cosign_signatures(digest, [(payload, signing.cosign_signature(key, payload), None)])
    return payload


def _raw_manifest(pusher, digest):
    response = pusher.session.get(
        f"{pusher.base}/v2/{pusher.name}/manifests/{digest}",
        headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"},
        timeout=60,
    )
    response.raise_for_status()
    return response.content


def _update_remote(kickstart_bindings, monitor_task, remote, **fields):
    monitor_task(kickstart_bindings.RemotesOciApi.partial_update(remote.pulp_href, fields).task)


def _error(task):
    return task.error["description"]


@pytest.fixture
def refused(kickstart_sync, latest_version):
    """``refused(repository, remote)``: a sync that must fail; no new version; its error."""

    def _refused(repository, remote):
        before = latest_version(repository)
        error = _error(kickstart_sync(repository, remote, expect_failure=True))
        assert latest_version(repository) == before
        return error

    return _refused


@pytest.fixture
def amd64_release(kickstart_upstream, kickstart_publish_release):
    """The digest of release 42's amd64 manifest, published on ``kickstart_upstream``."""
    return kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))["manifests"][
        "amd64"
    ]


@pytest.fixture
def trusting(kickstart_upstream, remote_repo):
    """``remote, repository = trusting(key, policy="required")``: a remote of
    ``kickstart_upstream`` that trusts ``key`` under ``policy``, and a new repository."""

    def _make(key, policy="required", **fields):
        return remote_repo(
            kickstart_upstream,
            signature_keys=signing.public_pem(key),
            signature_policy=policy,
            **fields,
        )

    return _make


def _trees_json(distribution):
    response = requests.get(f"{distribution.base_url}trees.json", timeout=60)
    response.raise_for_status()
    return response.json()


def _keys(units):
    return {unit.key for unit in units}


# -- OpenPGP: real skopeo, real gpg, a lookaside store over HTTP --------------------------


@pytest.fixture
def gpg_keys():
    """``gpg_keys()``: a throwaway tests.support.signing.GpgKey, removed after the test."""
    made = []

    def _make():
        key = signing.GpgKey(f"Publisher {unique('k')} <p@example.org>")
        made.append(key)
        return key

    yield _make
    for key in made:
        key.close()


@pytest.fixture
def skopeo_publisher(
    kickstart_registry, kickstart_workdir, gpg_keys, kickstart_tree_server_factory
):
    """``signer, store, destination = skopeo_publisher()``: skopeo signing with a fresh gpg
    key into a lookaside directory served over HTTP (``store.url``), and a fresh
    repository of the test registry (a Pusher) to copy into."""

    def _make():
        key = gpg_keys()
        signer = SkopeoSigner(kickstart_workdir / unique("skopeo"), key)
        # A str: a Path has a .root ("/") the factory would serve instead.
        store = kickstart_tree_server_factory(str(signer.store))
        destination = Pusher(kickstart_registry.url, unique("fedora/signed"))
        return signer, store, destination

    return _make


def _skopeo_copy(signer, source, destination, tag, sign=True):
    signer.copy(f"{_reference(source)}:{tag}", f"{_reference(destination)}:{tag}", sign=sign)


def test_openpgp_skopeo_signature_passes_required(
    kickstart_upstream,
    skopeo_publisher,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    amd64_release,
):
    digest = amd64_release
    signer, store, destination = skopeo_publisher()
    _skopeo_copy(signer, kickstart_upstream, destination, "42-amd64")
    assert signer.signature_path(destination.name, digest).is_file()

    remote = kickstart_oci_remote_factory(
        destination,
        signature_keys=signer.key.public_key(),
        signature_policy="required",
        signature_lookaside=store.url,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    (record,) = signatures(latest_version(repository), tree)
    assert record.tree == tree.pulp_href
    assert record.kind == "openpgp"
    assert record.key == signer.key.fingerprint
    assert record.signed_digest == digest
    assert record.reference == f"{_reference(destination)}:42-amd64"
    assert record.tlog_checked is False and record.pulp_created
    assert any(path.endswith("/signature-1") for path in store.requests)


def test_openpgp_signature_by_an_untrusted_key_fails_naming_tag_and_digest(
    refused,
    kickstart_upstream,
    skopeo_publisher,
    gpg_keys,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    amd64_release,
):
    digest = amd64_release
    signer, store, destination = skopeo_publisher()
    _skopeo_copy(signer, kickstart_upstream, destination, "42-amd64")
    trusted = gpg_keys()

    remote = kickstart_oci_remote_factory(
        destination,
        signature_keys=trusted.public_key(),
        signature_policy="required",
        signature_lookaside=store.url,
    )
    repository = kickstart_repository_factory()
    error = refused(repository, remote)
    assert "42-amd64" in error and digest in error
    assert "OpenPGP signature signature-1" in error and "does not verify" in error


def test_openpgp_signature_of_another_manifest_fails(
    refused,
    kickstart_upstream,
    kickstart_publish_release,
    skopeo_publisher,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64", "arm64"))
    amd64, arm64 = published["manifests"]["amd64"], published["manifests"]["arm64"]
    signer, store, destination = skopeo_publisher()
    for tag in ("42-amd64", "42-arm64"):
        _skopeo_copy(signer, kickstart_upstream, destination, tag)
    # arm64's place holds amd64's (valid, trusted) signature.
    signer.signature_path(destination.name, arm64).write_bytes(
        signer.signature_path(destination.name, amd64).read_bytes()
    )

    remote = kickstart_oci_remote_factory(
        destination,
        signature_keys=signer.key.public_key(),
        signature_policy="required",
        signature_lookaside=store.url,
    )
    repository = kickstart_repository_factory()
    error = refused(repository, remote)
    assert "42-arm64" in error and arm64 in error
    assert f"the signature is for manifest {amd64}, not {arm64}" in error


def test_openpgp_missing_signature_under_required_creates_and_serves_nothing_new(
    kickstart_upstream,
    kickstart_publish_release,
    skopeo_publisher,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    kickstart_publish_release(kickstart_upstream, "43", archs=("amd64",))
    signer, store, destination = skopeo_publisher()
    _skopeo_copy(signer, kickstart_upstream, destination, "42-amd64")

    remote = kickstart_oci_remote_factory(
        destination,
        signature_keys=signer.key.public_key(),
        signature_policy="required",
        signature_lookaside=store.url,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    distribution = kickstart_distribution_factory(repository)
    served = _trees_json(distribution)
    assert [(t["version"], t["arch"]) for t in served["trees"]] == [("42", "x86_64")]
    kernel_url = next(f["url"] for f in served["trees"][0]["files"] if f["role"] == "kernel")
    kernel = requests.get(kernel_url, timeout=60).content
    assert kernel in [data for _, data in published["files"]["amd64"]]

    # Release 43 arrives unsigned (copied without --sign-by): refused, nothing changes.
    _skopeo_copy(signer, kickstart_upstream, destination, "43-amd64", sign=False)
    version = latest_version(repository)
    task = kickstart_sync(repository, remote, expect_failure=True)
    assert "43-amd64" in _error(task) and "no signature was found" in _error(task)
    assert latest_version(repository) == version
    assert task.created_resources == []
    assert [t.version for t in trees(version)] == ["42"]
    again = _trees_json(distribution)
    assert again == served
    assert requests.get(kernel_url, timeout=60).content == kernel
    assert (
        requests.get(f"{distribution.base_url}43/x86_64/boot.ipxe", timeout=60).status_code == 404
    )


# -- cosign tag scheme: signatures built from the published format ------------------------


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa", "ed25519"])
def test_cosign_signature_passes_required(
    kind,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    amd64_release,
):
    key = signing.generate_key(kind)
    digest = amd64_release
    _cosign_sign(kickstart_upstream, digest, key)
    remote = kickstart_oci_remote_factory(
        kickstart_upstream, signature_keys=signing.public_pem(key), signature_policy="required"
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    (record,) = signatures(latest_version(repository), tree)
    assert (record.kind, record.key, record.signed_digest) == (
        "cosign",
        signing.key_id(key),
        digest,
    )
    assert record.reference == _reference(kickstart_upstream)

    # trees.json shows the same verification.
    (entry,) = _trees_json(kickstart_distribution_factory(repository))["trees"]
    (shown,) = entry["signatures"]
    assert shown["kind"] == "cosign" and shown["key"] == signing.key_id(key)
    assert shown["signed_digest"] == digest
    assert shown["verified_at"] == record.pulp_created.isoformat()


@pytest.mark.parametrize("policy", ["required", "if_present"])
def test_cosign_signature_by_another_key_fails_naming_tag_and_digest(
    policy,
    refused,
    kickstart_upstream,
    amd64_release,
    trusting,
):
    """A signature that does not verify fails the sync under either verifying policy."""
    trusted, other = signing.generate_key("p256"), signing.generate_key("p256")
    digest = amd64_release
    _cosign_sign(kickstart_upstream, digest, other)
    remote, repository = trusting(trusted, policy)
    error = refused(repository, remote)
    assert "42-amd64" in error and digest in error
    assert "cosign signature" in error and "does not verify" in error
    if policy == "if_present":
        assert "required" not in error


def test_cosign_payload_for_another_digest_fails(
    refused,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
    trusting,
):
    key = signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42")
    amd64, arm64 = published["manifests"]["amd64"], published["manifests"]["arm64"]
    _cosign_sign(kickstart_upstream, arm64, key)
    # amd64's .sig holds a valid signature of a payload naming arm64's manifest.
    payload = cosign_payload(_reference(kickstart_upstream), arm64)
    kickstart_upstream.cosign_signatures(
        amd64, [(payload, signing.cosign_signature(key, payload), None)]
    )
    remote, repository = trusting(key)
    error = refused(repository, remote)
    assert "42-amd64" in error and amd64 in error
    assert f"the signature is for manifest {arm64}, not {amd64}" in error


def test_cosign_tampered_payload_fails(
    kickstart_upstream,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    amd64_release,
    trusting,
):
    key = signing.generate_key("p256")
    digest = amd64_release
    payload = _cosign_sign(kickstart_upstream, digest, key, optional={"note": "a"})
    remote, repository = trusting(key)
    kickstart_sync(repository, remote)
    assert _keys(signatures(latest_version(repository))) == {signing.key_id(key)}

    # Re-pushed: one byte of the payload changed (still valid JSON), the old signature kept.
    tampered = payload.replace(b'"note": "a"', b'"note": "b"')
    assert tampered != payload and len(tampered) == len(payload)
    kickstart_upstream.cosign_signatures(
        digest, [(tampered, signing.cosign_signature(key, payload), None)]
    )
    # A new repository: no sync is skipped as unchanged.
    repository2 = kickstart_repository_factory()
    before = latest_version(repository2)
    error = _error(kickstart_sync(repository2, remote, expect_failure=True))
    assert "42-amd64" in error and digest in error
    assert "the cosign signature does not verify" in error
    assert latest_version(repository2) == before


def test_cosign_identity_of_another_repository_fails_unless_the_check_is_off(
    refused,
    kickstart_bindings,
    monitor_task,
    kickstart_upstream,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    amd64_release,
    trusting,
):
    key = signing.generate_key("p256")
    digest = amd64_release
    elsewhere = f"{_netloc(kickstart_upstream)}/{unique('other/repository')}"
    _cosign_sign(kickstart_upstream, digest, key, reference=elsewhere)
    remote, repository = trusting(key)
    assert remote.signature_identity_check is True
    error = refused(repository, remote)
    assert "42-amd64" in error and digest in error
    assert f"the signature names {elsewhere!r}, not this remote's repository" in error

    _update_remote(kickstart_bindings, monitor_task, remote, signature_identity_check=False)
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    (record,) = signatures(latest_version(repository), tree)
    assert record.key == signing.key_id(key) and record.reference == elsewhere


def test_a_signature_on_the_index_covers_every_arch(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    trusting,
):
    key = signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42")
    _cosign_sign(kickstart_upstream, published["index"], key)
    remote, repository = trusting(key)
    kickstart_sync(repository, remote)
    synced = trees(latest_version(repository))
    assert {tree.arch for tree in synced} == {"x86_64", "aarch64"}
    for tree in synced:
        (record,) = signatures(latest_version(repository), tree)
        assert record.signed_digest == published["index"] and record.key == signing.key_id(key)


# -- sigstore bundles by OCI referrers (the registry has no referrers API) -----------------


@pytest.mark.parametrize("dsse", [False, True], ids=["message-signature", "dsse"])
def test_sigstore_bundle_referrer_passes_required(
    dsse,
    kickstart_upstream,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    amd64_release,
    trusting,
):
    key = signing.generate_key("p256")
    digest = amd64_release
    manifest = _raw_manifest(kickstart_upstream, digest)
    bundle = signing.sigstore_bundle(key, manifest, dsse=dsse)
    kickstart_upstream.referrer(digest, len(manifest), [(SIGSTORE_BUNDLE, bundle)])
    # No referrers API here: only the tag schema's index carries it.
    api = kickstart_upstream.session.get(
        f"{kickstart_upstream.base}/v2/{kickstart_upstream.name}/referrers/{digest}", timeout=60
    )
    assert api.status_code == 404
    remote, repository = trusting(key)
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    (record,) = signatures(latest_version(repository), tree)
    assert record.reference is None  # a bundle names no repository
    assert (record.kind, record.key, record.signed_digest) == (
        "sigstore-bundle",
        signing.key_id(key),
        digest,
    )


def test_sigstore_bundle_by_another_key_fails(
    refused,
    kickstart_upstream,
    kickstart_sync,
    latest_version,
    amd64_release,
    trusting,
):
    trusted, other = signing.generate_key("p256"), signing.generate_key("p256")
    digest = amd64_release
    manifest = _raw_manifest(kickstart_upstream, digest)
    kickstart_upstream.referrer(
        digest, len(manifest), [(SIGSTORE_BUNDLE, signing.sigstore_bundle(other, manifest))]
    )
    remote, repository = trusting(trusted)
    error = refused(repository, remote)
    assert "42-amd64" in error and digest in error
    assert "sigstore bundle" in error and "does not verify" in error


# -- policies ------------------------------------------------------------------------------


def test_if_present_with_a_valid_signature_records_it(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    trusting,
):
    key = signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    _cosign_sign(kickstart_upstream, published["manifests"]["amd64"], key)
    remote, repository = trusting(key, "if_present")
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    assert _keys(signatures(latest_version(repository), tree)) == {signing.key_id(key)}


def test_if_present_without_any_signature_passes_unsigned(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    trusting,
):
    key = signing.generate_key("p256")
    kickstart_publish_release(kickstart_upstream, "42")
    remote, repository = trusting(key, "if_present")
    kickstart_sync(repository, remote)
    assert len(trees(latest_version(repository))) == 2
    assert signatures(latest_version(repository)) == []


def test_none_ignores_a_bad_signature_and_records_nothing(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    trusting,
):
    trusted, other = signing.generate_key("p256"), signing.generate_key("p256")
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    _cosign_sign(kickstart_upstream, published["manifests"]["amd64"], other)
    # A valid one is not looked at either.
    _cosign_sign(kickstart_upstream, published["index"], trusted)
    remote, repository = trusting(trusted, "none")
    task = kickstart_sync(repository, remote)
    assert "sync.verifying.signatures" not in {report.code for report in task.progress_reports}
    assert len(trees(latest_version(repository))) == 1
    assert signatures(latest_version(repository)) == []
    (entry,) = _trees_json(kickstart_distribution_factory(repository))["trees"]
    assert entry["signatures"] == []


# -- no reuse bypass: kept trees are verified under the remote's current keys --------------


@pytest.mark.parametrize("upstream", ["tag-removed", "still-upstream"])
def test_changed_keys_reverify_kept_trees(
    upstream,
    kickstart_bindings,
    monitor_task,
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
    tree_map,
    signatures,
    trusting,
):
    key_a, key_b = signing.generate_key("p256"), signing.generate_key("ed25519")
    old = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    old_digest = old["manifests"]["amd64"]
    _cosign_sign(kickstart_upstream, old_digest, key_a)
    remote, repository = trusting(key_a)
    kickstart_sync(repository, remote)
    first = latest_version(repository)
    assert _keys(signatures(first, tree_map(first)[("42", "x86_64")])) == {signing.key_id(key_a)}

    # Release 43 signed by both; 42 keeps only A's signature.
    new = kickstart_publish_release(kickstart_upstream, "43", archs=("amd64",))
    new_digest = new["manifests"]["amd64"]
    payload = cosign_payload(_reference(kickstart_upstream), new_digest)
    kickstart_upstream.cosign_signatures(
        new_digest,
        [
            (payload, signing.cosign_signature(key_a, payload), None),
            (payload, signing.cosign_signature(key_b, payload), None),
        ],
    )
    if upstream == "tag-removed":
        kickstart_registry.delete_tag(kickstart_upstream.name, "42-amd64")
        kickstart_registry.delete_tag(kickstart_upstream.name, "42")

    _update_remote(
        kickstart_bindings, monitor_task, remote, signature_keys=signing.public_pem(key_b)
    )
    version = latest_version(repository)
    error = _error(kickstart_sync(repository, remote, expect_failure=True))
    assert old_digest in error
    if upstream == "tag-removed":
        assert "kept tree 42/x86_64" in error
    else:
        assert "42-amd64" in error
    assert latest_version(repository) == version

    _cosign_sign(kickstart_upstream, old_digest, key_b)
    kickstart_sync(repository, remote)
    now = latest_version(repository)
    synced = tree_map(now)
    assert set(synced) == {("42", "x86_64"), ("43", "x86_64")}
    # Additive: A's verification of 42 stays in the version, B's joins it.
    assert _keys(signatures(now, synced[("42", "x86_64")])) == {
        signing.key_id(key_a),
        signing.key_id(key_b),
    }
    assert signing.key_id(key_b) in _keys(signatures(now, synced[("43", "x86_64")]))
    # The version that held A's verification alone still holds exactly that.
    assert _keys(signatures(first)) == {signing.key_id(key_a)}


def test_a_verification_learnt_later_is_a_new_version_and_the_old_one_never_changes(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_oci_remote_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
):
    """A sync that verifies a tree the version already holds makes a new version holding
    the verification; the version before it (and what it serves) stays as it was, and the
    same verification again makes no version."""
    key = signing.generate_key("p256")
    digest = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))["manifests"][
        "amd64"
    ]
    _cosign_sign(kickstart_upstream, digest, key)
    unverified, repository = remote_repo(kickstart_upstream)
    kickstart_sync(repository, unverified)
    version = latest_version(repository)
    (tree,) = trees(version)
    index = kickstart_distribution_factory(repository).base_url + "trees.json"
    pinned = kickstart_distribution_factory(repository_version=version).base_url + "trees.json"

    def served_signatures(url):
        (entry,) = requests.get(url, timeout=30).json()["trees"]
        return entry["signatures"]

    assert served_signatures(index) == []
    assert requests.get(index, timeout=30).headers.get("X-PULP-CACHE") == "HIT"

    verifying = kickstart_oci_remote_factory(
        kickstart_upstream, signature_keys=signing.public_pem(key), signature_policy="required"
    )
    kickstart_sync(repository, verifying)
    verified = latest_version(repository)
    assert verified != version
    assert [t.pulp_href for t in trees(verified)] == [tree.pulp_href]  # the same tree
    (unit,) = signatures(verified, tree)
    assert (unit.key, unit.signed_digest) == (signing.key_id(key), digest)
    changes = kickstart_bindings.RepositoriesKickstartVersionsApi.read(verified).content_summary
    assert set(changes.added) == {"kickstart.signature"} and not changes.removed
    assert [record["key"] for record in served_signatures(index)] == [signing.key_id(key)]
    # The version before still holds no verification, and serves none.
    assert signatures(version) == []
    assert served_signatures(pinned) == []

    # The same verification again: nothing new, the sync is skipped (optimize); with
    # optimize off it verifies again and still makes no version.
    skipped = kickstart_sync(repository, verifying)
    assert "sync.was_skipped" in {report.code for report in skipped.progress_reports}
    again = kickstart_sync(repository, verifying, optimize=False)
    assert "sync.verifying.signatures" in {report.code for report in again.progress_reports}
    assert again.created_resources == []
    assert latest_version(repository) == verified


def test_a_replaced_tree_takes_its_verifications_out_of_the_version(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_registry,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    trusting,
    amd64_release,
):
    """Release 42 is respun (a new manifest under 42-amd64): the new tree replaces the old
    one, and the old tree's verification leaves the version with it."""
    from pulp_kickstart_oci.testing import fedora

    key = signing.generate_key("p256")
    _cosign_sign(kickstart_upstream, amd64_release, key)
    remote, repository = trusting(key)
    kickstart_sync(repository, remote)
    first = latest_version(repository)
    (old,) = signatures(first)
    assert old.signed_digest == amd64_release

    kickstart_registry.delete_tag(kickstart_upstream.name, "42")
    respun, _size = kickstart_upstream.netboot(
        "42-amd64", fedora.tree_files("42", "amd64", salt=unique("respin"))
    )
    _cosign_sign(kickstart_upstream, respun, key)
    kickstart_sync(repository, remote)
    second = latest_version(repository)
    (tree,) = trees(second)
    assert tree.digest == respun
    (new,) = signatures(second)
    assert (new.tree, new.signed_digest) == (tree.pulp_href, respun)
    removed = kickstart_bindings.RepositoriesKickstartVersionsApi.read(second).content_summary
    assert removed.removed["kickstart.signature"]["count"] == 1
    assert [unit.pulp_href for unit in signatures(first)] == [old.pulp_href]


def test_a_kept_tree_is_vouched_for_by_a_verification_another_repository_made(
    kickstart_upstream,
    kickstart_registry,
    kickstart_publish_release,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    remote_repo,
    trusting,
    amd64_release,
):
    """A stored verification of the tree, made by another repository's sync in the domain,
    vouches for a kept tree when its key is one this remote trusts: nothing is fetched
    again for it, and that same unit joins the new version."""
    key = signing.generate_key("p256")
    _cosign_sign(kickstart_upstream, amd64_release, key)
    plain_remote, plain = remote_repo(kickstart_upstream)  # policy none: no verification
    kickstart_sync(plain, plain_remote)
    assert signatures(latest_version(plain)) == []
    verifying, verified = trusting(key)
    kickstart_sync(verified, verifying)
    (made,) = signatures(latest_version(verified))

    for tag in ("42", "42-amd64"):
        kickstart_registry.delete_tag(kickstart_upstream.name, tag)
    new = kickstart_publish_release(kickstart_upstream, "43", archs=("amd64",))
    _cosign_sign(kickstart_upstream, new["manifests"]["amd64"], key)
    proxy = kickstart_fault_proxy_factory(kickstart_upstream.base)
    through_proxy = kickstart_oci_remote_factory(
        kickstart_upstream,
        url=proxy.url,
        signature_keys=signing.public_pem(key),
        signature_policy="required",
        signature_identity_check=False,
    )
    kickstart_sync(plain, through_proxy)

    version = latest_version(plain)
    by_release = {tree.version: tree for tree in trees(version)}
    assert set(by_release) == {"42", "43"}
    (kept,) = signatures(version, by_release["42"])
    assert kept.pulp_href == made.pulp_href
    old_hex = amd64_release.split(":", 1)[1]
    assert proxy.requests_to(f"sha256-{old_hex}") == []  # 42's signatures not fetched
    new_hex = new["manifests"]["amd64"].split(":", 1)[1]
    assert proxy.requests_to(f"sha256-{new_hex}")


# -- API -----------------------------------------------------------------------------------


def _create_error(kickstart_bindings, body):
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.RemotesOciApi.create(
            {"name": unique("oci"), "url": "https://registry.example", **body}
        )
    assert raised.value.status == 400, raised.value.body
    return json.loads(raised.value.body)


def test_a_bad_key_block_is_refused_naming_it(kickstart_bindings):
    good = signing.public_pem(signing.generate_key("p256"))
    bad = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"
    body = _create_error(
        kickstart_bindings,
        {"upstream_name": "fedora/kickstart", "signature_keys": good + bad},
    )
    assert "key block 2" in " ".join(body["signature_keys"])


@pytest.mark.parametrize("policy", ["if_present", "required"])
def test_a_verifying_policy_needs_keys(
    policy, kickstart_bindings, monitor_task, kickstart_oci_remote_factory
):
    body = _create_error(
        kickstart_bindings, {"upstream_name": "fedora/kickstart", "signature_policy": policy}
    )
    assert "signature_keys" in body
    # Blank text is no key either.
    body = _create_error(
        kickstart_bindings,
        {
            "upstream_name": "fedora/kickstart",
            "signature_policy": policy,
            "signature_keys": "  \n",
        },
    )
    assert "signature_keys" in body
    # Nor can an existing remote without keys be switched to it.
    remote = kickstart_oci_remote_factory(
        url="https://registry.example", upstream_name="fedora/kickstart"
    )
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.RemotesOciApi.partial_update(
            remote.pulp_href, {"signature_policy": policy}
        )
    assert raised.value.status == 400 and "signature_keys" in json.loads(raised.value.body)


def test_keys_are_read_back_identical(kickstart_bindings, gpg_keys, kickstart_oci_remote_factory):
    keys = (
        signing.public_pem(signing.generate_key("p256"))
        + signing.public_pem(signing.generate_key("rsa"))
        + gpg_keys().public_key()
    )
    remote = kickstart_oci_remote_factory(
        url="https://registry.example",
        upstream_name="fedora/kickstart",
        signature_keys=keys,
        signature_policy="required",
        signature_lookaside="https://lookaside.example/sigs/",
    )
    again = kickstart_bindings.RemotesOciApi.read(remote.pulp_href)
    # Read back exactly as sent: public keys, nothing hidden or reformatted.
    assert again.signature_keys == keys
    assert again.signature_policy == "required"
    assert again.signature_lookaside == "https://lookaside.example/sigs"
    assert again.signature_identity_check is True


def test_the_signatures_endpoint_is_read_only_and_its_tree_filter_takes_a_tree(
    bindings_cfg,
    kickstart_bindings,
    kickstart_upstream,
    kickstart_sync,
    signatures,
    trusting,
    latest_version,
    trees,
    amd64_release,
):
    key = signing.generate_key("p256")
    _cosign_sign(kickstart_upstream, amd64_release, key)
    remote, repository = trusting(key)
    kickstart_sync(repository, remote)
    version = latest_version(repository)
    (tree,) = trees(version)
    (unit,) = signatures(version, tree)
    endpoint = f"{bindings_cfg.host}/pulp/api/v3/content/kickstart/signatures/"
    auth = (bindings_cfg.username, bindings_cfg.password)
    # A verification is what Pulp checked during a sync: no client creates one.
    created = requests.post(endpoint, json={"tree": tree.pulp_href}, auth=auth, timeout=60)
    assert created.status_code == 405, created.text
    shown = requests.get(f"{bindings_cfg.host}{unit.pulp_href}", auth=auth, timeout=60).json()
    assert shown["tree"] == tree.pulp_href and shown["kind"] == "cosign"
    # The tree filter takes a tree's href: another type's is a 400 naming it.
    tag_href = kickstart_bindings.ContentTagsApi.list(repository_version=version).results[0]
    refused = requests.get(endpoint, params={"tree": tag_href.pulp_href}, auth=auth, timeout=60)
    assert refused.status_code == 400 and "tree" in refused.text, refused.text
    by_key = signatures(version, key=signing.key_id(key), signed_digest=amd64_release)
    assert [u.pulp_href for u in by_key] == [unit.pulp_href]
    assert signatures(version, kind="openpgp") == []
