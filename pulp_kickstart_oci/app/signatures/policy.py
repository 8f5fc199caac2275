"""A remote's signature policy applied to the trees of a sync: which are vouched for.

Pure and offline like the rest of this package: the signatures themselves come
from a ``fetcher`` (the registry client: cosign ``.sig`` tags, OCI referrers and
a lookaside store), the keys from the admin. Policies:

* ``none``: nothing is looked at.
* ``if_present``: every signature found must verify under the admin's keys; one
  that does not fails the sync (an upstream that carries signatures nobody here
  trusts is refused, not silently accepted).
* ``required``: every tree needs at least one signature that verifies, on its
  manifest or on the index that lists it.
"""

from gettext import gettext as _

from .bundle import verify_bundle
from .cosign import verify_cosign
from .errors import NotASignature, SignatureError
from .openpgp import verify_openpgp
from .simplesigning import repository_of

NONE = "none"
IF_PRESENT = "if_present"
REQUIRED = "required"


class PublisherCheck:
    """Verifies the signatures of manifest and index digests once each, for one sync."""

    def __init__(self, fetcher, keys, policy, repository, *, lookaside=None, match_identity=True):
        self.fetcher = fetcher
        self.keys = keys
        self.policy = policy
        self.repository = repository
        self.lookaside = lookaside
        self.match_identity = match_identity
        self._found = {}  # digest -> (verifications, failures)

    @property
    def active(self):
        """False under policy ``none``: the sync does not look at signatures at all."""
        return self.policy in (IF_PRESENT, REQUIRED)

    async def _signatures_of(self, digest, manifest):
        """Every signature stored for ``digest``, verified: (verifications, failure reasons)."""
        if digest in self._found:
            return self._found[digest]
        verified, failed = [], []

        def attempt(kind, where, verify):
            try:
                verified.append(verify())
            except NotASignature:
                pass  # an attestation (SBOM, provenance) about the digest: not a signature
            except SignatureError as exc:
                failed.append(
                    _("{kind} signature {where}: {reason}").format(
                        kind=kind, where=where, reason=exc
                    )
                )

        for found in await self.fetcher.cosign_signatures(digest):
            attempt(
                "cosign",
                found.layer_digest,
                lambda found=found: verify_cosign(
                    found.payload,
                    found.signature,
                    self.keys,
                    digest,
                    self.repository,
                    match_identity=self.match_identity,
                ),
            )
        for found in await self.fetcher.referrers(digest):
            attempt(
                "sigstore bundle",
                found.manifest_digest,
                lambda found=found: verify_bundle(found.data, self.keys, digest, manifest=manifest),
            )
        if self.lookaside:
            for found in await self.fetcher.lookaside_signatures(self.lookaside, digest):
                attempt(
                    "OpenPGP",
                    "signature-{number}".format(number=found.number),
                    lambda found=found: verify_openpgp(
                        found.data,
                        self.keys,
                        digest,
                        self.repository,
                        match_identity=self.match_identity,
                    ),
                )
        self._found[digest] = (verified, failed)
        return verified, failed

    async def check(self, what, digest, index_digest=None, manifest=None):
        """The verifications that vouch for a tree, or SignatureError naming it and why.

        ``what`` names the tree (tags, release/arch); ``digest`` is its manifest
        digest, ``index_digest`` the index that lists it (a signature on the index
        covers every manifest it lists), ``manifest`` the manifest bytes if known.
        """
        if not self.active:
            return []
        verified, failed = await self._signatures_of(digest, manifest)
        if index_digest:
            on_index, index_failed = await self._signatures_of(index_digest, None)
            verified, failed = verified + on_index, failed + index_failed
        if failed and self.policy == IF_PRESENT:
            raise SignatureError(
                _("{what}, manifest {digest}: {reason}").format(
                    what=what, digest=digest, reason="; ".join(failed)
                )
            )
        if not verified and self.policy == REQUIRED:
            reason = "; ".join(failed) or _("no signature was found")
            raise SignatureError(
                _(
                    "{what}, manifest {digest}: signature_policy 'required' and no signature "
                    "by signature_keys verifies ({reason})"
                ).format(what=what, digest=digest, reason=reason)
            )
        return verified

    def vouches(self, records):
        """True when a tree's stored verifications hold for this remote as it is now.

        A record counts when its key is one the remote trusts and, unless the
        identity check is off, the reference it signed (if the format has one)
        names this remote's repository: a verification made for another remote
        with other rules is not reused.
        """
        trusted = set(self.keys.usable_ids())
        for record in records or []:
            if record.get("key") not in trusted:
                continue
            reference = record.get("reference")
            if self.match_identity and reference:
                try:
                    if repository_of(reference) != self.repository:
                        continue
                except SignatureError:
                    continue
            return True
        return False
