"""cosign key-based signatures as the tag scheme carries them (``sha256-<hex>.sig``).

Each layer of the signature manifest is a simple-signing payload
(``application/vnd.dev.cosign.simplesigning.v1+json``) whose annotation
``dev.cosignproject.cosign/signature`` holds the base64 signature over the
layer's exact bytes. Verification is offline: the optional Rekor bundle and
certificate annotations are not read, and a key that is not in the remote's
``signature_keys`` verifies nothing.
"""

from gettext import gettext as _

from . import simplesigning
from .encoding import decode_base64
from .errors import SignatureError
from .result import COSIGN, Verification

PAYLOAD_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
MAX_SIGNATURE_CHARS = 16 * 1024


def verify_payload_signature(payload, signature, keys):
    """The id of the trusted PEM key whose signature ``signature`` (base64) is over ``payload``.

    ``payload`` is the layer's bytes as stored (never re-serialised). Raises
    ``SignatureError`` when there is no PEM key, the signature is not base64, or
    no key verifies it.
    """
    if not keys.pem:
        raise SignatureError(_("no PEM public key is trusted, so no cosign signature can verify"))
    if isinstance(signature, str) and len(signature) > MAX_SIGNATURE_CHARS:
        raise SignatureError(
            _("the cosign signature is longer than {limit} characters").format(
                limit=MAX_SIGNATURE_CHARS
            )
        )
    raw = decode_base64(
        signature, _("the {annotation} annotation").format(annotation=SIGNATURE_ANNOTATION)
    )
    for key in keys.pem:
        if key.verify(raw, payload):
            return key.id
    raise SignatureError(
        _("the cosign signature does not verify with any of the {count} trusted PEM keys").format(
            count=len(keys.pem)
        )
    )


def verify_cosign(
    payload,
    signature,
    keys,
    digest,
    repository,
    *,
    match_identity=True,
    max_bytes=simplesigning.MAX_PAYLOAD_BYTES,
):
    """Verify one cosign signature layer for a manifest; the ``Verification`` or ``SignatureError``.

    The signature is checked first, then the payload is read (a cosign
    payload) and held to ``digest`` and, unless ``match_identity`` is False, to
    ``repository`` (``simplesigning.remote_repository``).
    """
    if len(payload) > max_bytes:
        raise SignatureError(
            _("signature payload: {size} bytes is more than the limit of {limit}").format(
                size=len(payload), limit=max_bytes
            )
        )
    key_id = verify_payload_signature(payload, signature, keys)
    claims = simplesigning.parse_payload(
        payload, max_bytes=max_bytes, types=(simplesigning.COSIGN_TYPE,)
    )
    simplesigning.check_payload(claims, digest, repository, match_identity=match_identity)
    return Verification(COSIGN, key_id, claims.manifest_digest, claims.reference)
