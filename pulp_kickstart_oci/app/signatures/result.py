"""What a verified signature proved, as the tree records it."""

from dataclasses import dataclass, field

COSIGN = "cosign"
SIGSTORE_BUNDLE = "sigstore-bundle"
OPENPGP = "openpgp"
KINDS = (COSIGN, SIGSTORE_BUNDLE, OPENPGP)
# A dnf tree's RPMs checked against a keyring (sources/dnf.py): recorded, not a signature format.
RPM = "rpm"
# Every file of a CoreOS tree checked against its detached OpenPGP signature (sources/coreos.py).
DETACHED = "openpgp-detached"
RECORDED_KINDS = KINDS + (RPM, DETACHED)  # every kind of verification a Pulp records


@dataclass(frozen=True)
class Verification:
    """One signature that verified: its kind, the trusted key, what it signed.

    ``kind`` is one of ``KINDS``; ``key`` the key id (``sha256:<hex>`` of a PEM key's
    SubjectPublicKeyInfo, or an OpenPGP primary fingerprint); ``signed_digest`` the
    manifest or index digest the signature covers; ``reference`` the
    ``docker-reference`` the publisher signed, when the format carries one.
    ``tlog_checked`` is always False: verification is offline, against the
    admin's keys only, and no transparency log (Rekor) entry, Fulcio certificate
    or timestamp is looked at, whatever the signature carries.
    """

    kind: str
    key: str
    signed_digest: str
    reference: str | None = None
    tlog_checked: bool = False
    # The registry manifest that carried it (netboot/carrier.py), when a push may copy it.
    carrier: dict | None = field(default=None, compare=False)

    def record(self):
        """The JSON a tree stores for this verification (the caller adds ``verified_at``)."""
        record = {
            "kind": self.kind,
            "key": self.key,
            "signed_digest": self.signed_digest,
            "reference": self.reference,
            "tlog_checked": self.tlog_checked,
        }
        if self.carrier is not None:
            record["carrier"] = self.carrier
        return record
