"""What a sync would store, as the optimize idiom compares it (sources/base.py fingerprint)."""

from types import SimpleNamespace

from pulp_kickstart_oci.app.sources.base import TreeFirstStage, TreePlan

COSIGN = {
    "kind": "cosign",
    "key": "sha256:" + "1" * 64,
    "signed_digest": "sha256:" + "a" * 64,
    "reference": "quay.io/fedora/kickstart",
    "tlog_checked": False,
}


def _fingerprint(signatures=(), kept=()):
    stage = TreeFirstStage(SimpleNamespace(url="https://quay.io"))
    plan = TreePlan("42", "x86_64", "amd64", "sha256:" + "a" * 64, {}, {}, [], tags=["42"])
    plan.signatures = [dict(record) for record in signatures]
    stage.plans = [plan]
    stage.kept_verifications = [
        (SimpleNamespace(identity="sha256:" + "b" * 64), dict(record)) for record in kept
    ]
    return stage.fingerprint()


def test_the_same_verifications_give_the_same_fingerprint():
    assert _fingerprint([COSIGN]) == _fingerprint([COSIGN])
    # When it was verified is not part of what is stored.
    assert _fingerprint([COSIGN]) == _fingerprint([{**COSIGN, "verified_at": "now"}])


def test_a_new_verification_changes_the_fingerprint():
    assert _fingerprint([]) != _fingerprint([COSIGN])
    other_key = {**COSIGN, "key": "sha256:" + "2" * 64}
    assert _fingerprint([COSIGN]) != _fingerprint([COSIGN, other_key])
    # The reference is part of the unit's key: another one is another verification.
    assert _fingerprint([COSIGN]) != _fingerprint([{**COSIGN, "reference": "elsewhere/x"}])


def test_what_vouches_for_a_kept_tree_is_part_of_the_fingerprint():
    assert _fingerprint() != _fingerprint(kept=[COSIGN])
    assert _fingerprint(kept=[COSIGN]) == _fingerprint(kept=[COSIGN])
