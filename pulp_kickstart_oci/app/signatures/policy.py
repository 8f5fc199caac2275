"""A remote's signature policy: the one place that decides whether what was found vouches.

Pure and offline like the rest of this package. Every source asks ``Trust``
(the remote's keys and policy, parsed once per sync) to ``decide`` about each
item it checks: a tree's manifest and index (registry source, through
``PublisherCheck``, which fetches from a ``fetcher``: the registry client's
cosign ``.sig`` tags, OCI referrers and a lookaside store), or one RPM (dnf
source, checked by rpmkeys). Policies:

* ``none``: nothing is looked at.
* ``if_present``: every signature found must verify under the admin's keys; one
  that does not fails the sync (an upstream that carries signatures nobody here
  trusts is refused, not silently accepted). An item without any signature is
  accepted (the dnf source warns on its tree).
* ``required``: every item needs at least one signature that verifies (a tree:
  on its manifest or on the index that lists it).
"""

from dataclasses import dataclass, replace
from gettext import gettext as _

from .bundle import verify_bundle
from .cosign import verify_cosign
from .errors import NotASignature, SignatureError
from .keys import KINDS, TrustedKeys, parse_keys
from .openpgp import verify_openpgp
from .simplesigning import repository_of

NONE = "none"
IF_PRESENT = "if_present"
REQUIRED = "required"
POLICIES = (NONE, IF_PRESENT, REQUIRED)


def checks(policy):
    """Whether ``policy`` looks at signatures at all (and so needs keys)."""
    return policy in (IF_PRESENT, REQUIRED)


def missing_keys(policy, keys_text):
    """Why ``policy`` cannot work with ``keys_text`` (no key in it), or None."""
    if checks(policy) and not (keys_text or "").strip():
        return _("signature_policy '{policy}' needs at least one key in signature_keys.").format(
            policy=policy
        )
    return None


def holds_kept(policy):
    """Whether a tree a sync keeps (in the repository, not offered again) must still be
    vouched for: under ``required`` only (``if_present`` accepts what carries no signature)."""
    return policy == REQUIRED


def decide(policy, what, verified, failed, missing=None):
    """What ``policy`` says of one item: the verifications that vouch for it, or SignatureError.

    ``verified``: the signatures found that verify with the remote's keys;
    ``failed``: why each other signature found does not; ``what`` names the item
    in the error; ``missing`` says why nothing was found (default: no signature
    was found). Under ``if_present`` any failure is an error and an item without
    signatures gives ``[]``; under ``required`` an item nothing verifies is an error
    (a failure next to a verification is not); under ``none`` everything passes.
    """
    if policy == IF_PRESENT and failed:
        raise SignatureError(_("{what}: {reason}").format(what=what, reason="; ".join(failed)))
    if policy == REQUIRED and not verified:
        reason = "; ".join(failed) or missing or _("no signature was found")
        raise SignatureError(
            _(
                "{what}: signature_policy 'required' and no signature by signature_keys "
                "verifies ({reason})"
            ).format(what=what, reason=reason)
        )
    return list(verified) if checks(policy) else []


@dataclass(frozen=True)
class Trust:
    """A remote's keys (parsed by the key module) and policy, as a sync applies them."""

    policy: str
    keys: TrustedKeys

    @classmethod
    def of(cls, policy, keys_text, kinds=KINDS, use=None):
        """The trust of a remote's stored fields; SignatureError names ``signature_keys``
        when the keys cannot be used (e.g. a key type this Pulp no longer supports)."""
        if not checks(policy):
            return cls(NONE, TrustedKeys())
        try:
            keys = parse_keys(keys_text, kinds, use)
        except SignatureError as exc:
            raise SignatureError(_("signature_keys: {problem}").format(problem=exc)) from None
        if not len(keys):
            raise SignatureError(missing_keys(policy, ""))
        return cls(policy, keys)

    @property
    def active(self):
        """False under policy ``none``: the sync does not look at signatures at all."""
        return checks(self.policy)

    def decide(self, what, verified, failed, missing=None):
        """``decide`` under this remote's policy."""
        return decide(self.policy, what, verified, failed, missing)


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
        return checks(self.policy)

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
                lambda found=found: replace(
                    verify_cosign(
                        found.payload,
                        found.signature,
                        self.keys,
                        digest,
                        self.repository,
                        match_identity=self.match_identity,
                    ),
                    carrier=found.carrier,
                ),
            )
        for found in await self.fetcher.referrers(digest):
            attempt(
                "sigstore bundle",
                found.manifest_digest,
                lambda found=found: replace(
                    verify_bundle(found.data, self.keys, digest, manifest=manifest),
                    carrier=found.carrier,
                ),
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
        what = _("{what}, manifest {digest}").format(what=what, digest=digest)
        return decide(self.policy, what, verified, failed)

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
