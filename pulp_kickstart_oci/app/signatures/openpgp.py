"""containers "simple signing" OpenPGP signatures: what ``skopeo copy --sign-by`` writes.

A signature (``signature-1``, ``signature-2``... in a lookaside store) is an
OpenPGP signed message whose literal data is a simple-signing payload of type
"atomic container signature". pysequoia checks it against the remote's OpenPGP
certificates only, with sequoia's policy: a signature by a revoked key, by a key
not trusted, or with a weak algorithm does not verify; nor, as with
containers/image, one by a key that has expired since it signed.
"""

from datetime import datetime, timezone
from gettext import gettext as _

import pysequoia

from . import simplesigning
from .errors import SignatureError
from .result import OPENPGP, Verification

MAX_SIGNATURE_BYTES = 1024 * 1024


def _first_line(exc):
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def verify_message(signature, keys, *, max_bytes=MAX_SIGNATURE_BYTES):
    """The signed bytes and the signer's primary fingerprint (upper hex) of an OpenPGP message.

    Only the remote's OpenPGP certificates are offered to the verifier. Raises
    ``SignatureError`` when there is none, the message is too big or not an
    OpenPGP signed message, or no trusted key made a valid signature in it.
    """
    if not keys.openpgp:
        raise SignatureError(
            _("no OpenPGP public key is trusted, so no OpenPGP signature can verify")
        )
    if len(signature) > max_bytes:
        raise SignatureError(
            _("the OpenPGP signature is {size} bytes, more than the limit of {limit}").format(
                size=len(signature), limit=max_bytes
            )
        )
    certs = [key.cert for key in keys.openpgp]
    try:
        result = pysequoia.verify(bytes=bytes(signature), store=lambda _key_ids: certs)
    except Exception as exc:  # pysequoia raises RuntimeError and its own types
        raise SignatureError(
            _("the OpenPGP signature does not verify with any trusted key: {problem}").format(
                problem=_first_line(exc)
            )
        ) from None
    if result.bytes is None:
        raise SignatureError(_("the OpenPGP signature does not verify with any trusted key"))
    return result.bytes, _live_signer(result, keys)


def verify_detached(signature, path, keys, *, max_bytes=MAX_SIGNATURE_BYTES):
    """The signer's primary fingerprint (upper hex) of a detached OpenPGP ``signature``
    (binary or armoured bytes) over the file at ``path``, read as a stream.

    What a CoreOS release signs each file with (``<file>.sig``). The same rules as
    ``verify_message``: the remote's OpenPGP certificates only, sequoia's policy, and a
    key that has expired since it signed verifies nothing. Raises ``SignatureError``.
    """
    if not keys.openpgp:
        raise SignatureError(
            _("no OpenPGP public key is trusted, so no OpenPGP signature can verify")
        )
    if len(signature) > max_bytes:
        raise SignatureError(
            _("the OpenPGP signature is {size} bytes, more than the limit of {limit}").format(
                size=len(signature), limit=max_bytes
            )
        )
    certs = [key.cert for key in keys.openpgp]
    try:
        detached = pysequoia.Sig.from_bytes(bytes(signature))
        result = pysequoia.verify(file=str(path), store=lambda _key_ids: certs, signature=detached)
    except Exception as exc:  # pysequoia raises RuntimeError, ValueError and its own types
        raise SignatureError(
            _(
                "the detached OpenPGP signature does not verify with any trusted key: {problem}"
            ).format(problem=_first_line(exc))
        ) from None
    return _live_signer(result, keys)


def _live_signer(result, keys):
    """The fingerprint of a trusted key whose valid signature is in ``result``, if that key
    has not expired since; SignatureError otherwise."""
    trusted = {key.id: key.cert for key in keys.openpgp}
    signers = [str(valid.certificate).upper() for valid in result.valid_sigs]
    signers = [fingerprint for fingerprint in signers if fingerprint in trusted]
    if not signers:
        raise SignatureError(_("the OpenPGP signature does not verify with any trusted key"))
    now = datetime.now(timezone.utc)
    for fingerprint in signers:
        # sequoia accepts a signature made while its key was alive; like
        # containers/image with gpgme, a key that has expired since verifies nothing.
        expiration = trusted[fingerprint].expiration
        if expiration is None or _aware(expiration) > now:
            return fingerprint
    raise SignatureError(
        _("the OpenPGP signature was made by key {fingerprint}, which expired on {date}").format(
            fingerprint=signers[0], date=_aware(trusted[signers[0]].expiration).isoformat()
        )
    )


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def verify_openpgp(
    signature,
    keys,
    digest,
    repository,
    *,
    match_identity=True,
    max_bytes=simplesigning.MAX_PAYLOAD_BYTES,
):
    """Verify one containers/image OpenPGP signature for a manifest.

    The message is verified first, then its payload is read (type "atomic
    container signature") and held to ``digest`` and, unless ``match_identity``
    is False, to ``repository`` (``simplesigning.remote_repository``). Returns a
    ``Verification`` (kind "openpgp", key = the signer's primary fingerprint) or
    raises ``SignatureError``.
    """
    payload, signer = verify_message(signature, keys)
    claims = simplesigning.parse_payload(
        payload, max_bytes=max_bytes, types=(simplesigning.ATOMIC_TYPE,)
    )
    simplesigning.check_payload(claims, digest, repository, match_identity=match_identity)
    return Verification(OPENPGP, signer, claims.manifest_digest, claims.reference)
