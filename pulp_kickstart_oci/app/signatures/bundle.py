"""sigstore bundles made with a key, as OCI 1.1 referrers carry them; verified offline.

A bundle (``application/vnd.dev.sigstore.bundle...``) holds either a
``messageSignature`` (a signature over the artifact, here the manifest, and its
digest) or a ``dsseEnvelope`` (an in-toto statement whose subject is the
manifest, signed over the DSSE pre-authentication encoding). cosign 3 signs
images the second way, with the predicate type ``https://sigstore.dev/cosign/sign/v1``.

Only key-based bundles are verified, and only against the admin's PEM keys:
no Fulcio certificate, Rekor transparency log entry, inclusion proof or
timestamp is checked or needed (``Verification.tlog_checked`` is False). A
bundle carrying a certificate instead of a public key hint is refused.
"""

import hashlib
import json
from gettext import gettext as _

from cryptography.hazmat.primitives import hashes

from .encoding import decode_base64
from .errors import NotASignature, SignatureError
from .result import SIGSTORE_BUNDLE, Verification
from .simplesigning import DIGEST

MEDIA_TYPES = (
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
)
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1")
# What cosign 3 writes for `cosign sign`; an attestation (SBOM, provenance) about the
# same digest is not a signature of it, so other predicates are refused by default.
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
SIGNATURE_PREDICATES = (COSIGN_SIGN_PREDICATE,)
MAX_BUNDLE_BYTES = 1024 * 1024
_DIGESTS = {
    "SHA2_256": (hashlib.sha256, hashes.SHA256),
    "SHA2_384": (hashlib.sha384, hashes.SHA384),
    "SHA2_512": (hashlib.sha512, hashes.SHA512),
}
_CERTIFICATE_FIELDS = ("x509CertificateChain", "certificate")


def _object(value, what):
    if not isinstance(value, dict):
        raise SignatureError(_("sigstore bundle: {what} is not a JSON object").format(what=what))
    return value


def pae(payload_type, payload):
    """The DSSE pre-authentication encoding: the bytes a DSSE signature is over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _load(document, max_bytes):
    if len(document) > max_bytes:
        raise SignatureError(
            _("sigstore bundle: {size} bytes is more than the limit of {limit}").format(
                size=len(document), limit=max_bytes
            )
        )
    try:
        bundle = json.loads(document)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SignatureError(
            _("sigstore bundle: not valid JSON: {problem}").format(problem=exc)
        ) from None
    bundle = _object(bundle, _("the document"))
    media_type = bundle.get("mediaType")
    if media_type not in MEDIA_TYPES:
        raise SignatureError(
            _("sigstore bundle: media type {media_type!r} is not one of {known}").format(
                media_type=media_type, known=", ".join(MEDIA_TYPES)
            )
        )
    material = _object(bundle.get("verificationMaterial"), "verificationMaterial")
    if any(name in material for name in _CERTIFICATE_FIELDS):
        raise SignatureError(
            _(
                "sigstore bundle: signed with a certificate (keyless); only bundles signed "
                "with one of the trusted public keys are accepted"
            )
        )
    if "publicKey" not in material:
        raise SignatureError(_("sigstore bundle: verificationMaterial has no publicKey"))
    kinds = [name for name in ("messageSignature", "dsseEnvelope") if name in bundle]
    if len(kinds) != 1:
        raise SignatureError(
            _(
                "sigstore bundle: holds {count} of messageSignature and dsseEnvelope, not one"
            ).format(count=len(kinds))
        )
    return kinds[0], _object(bundle[kinds[0]], kinds[0])


def _message_signature(content, keys, digest, manifest):
    signature = decode_base64(content.get("signature"), "messageSignature.signature", protobuf=True)
    message_digest = _object(content.get("messageDigest"), "messageSignature.messageDigest")
    algorithm = message_digest.get("algorithm")
    if not isinstance(algorithm, str) or algorithm not in _DIGESTS:  # a list is unhashable
        raise SignatureError(
            _("sigstore bundle: digest algorithm {algorithm!r} is not supported").format(
                algorithm=algorithm
            )
        )
    signed = decode_base64(
        message_digest.get("digest"), "messageSignature.messageDigest.digest", protobuf=True
    )
    hash_function, hash_class = _DIGESTS[algorithm]
    if algorithm == "SHA2_256":
        expected = bytes.fromhex(digest.split(":", 1)[1])
    elif manifest is not None:
        expected = hash_function(manifest).digest()
    else:
        raise SignatureError(
            _("sigstore bundle: a {algorithm} message digest needs the manifest's bytes").format(
                algorithm=algorithm
            )
        )
    if signed != expected:
        raise SignatureError(
            _("sigstore bundle: the signed message digest is not that of manifest {digest}").format(
                digest=digest
            )
        )
    for key in keys.pem:
        if key.algorithm == "ed25519":
            # Ed25519 signs the artifact itself, never its digest.
            if manifest is not None and key.verify(signature, manifest):
                return key.id
        elif key.verify_digest(signature, signed, hash_class):
            return key.id
    if manifest is None and any(key.algorithm == "ed25519" for key in keys.pem):
        raise SignatureError(
            _(
                "sigstore bundle: the signature does not verify with any of the {count} "
                "trusted PEM keys (Ed25519 keys need the manifest's bytes)"
            ).format(count=len(keys.pem))
        )
    raise SignatureError(
        _(
            "sigstore bundle: the signature does not verify with any of the {count} "
            "trusted PEM keys"
        ).format(count=len(keys.pem))
    )


def _subject_digests(payload):
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SignatureError(
            _("sigstore bundle: the in-toto statement is not valid JSON: {problem}").format(
                problem=exc
            )
        ) from None
    statement = _object(statement, _("the in-toto statement"))
    if statement.get("_type") not in STATEMENT_TYPES:
        raise SignatureError(
            _("sigstore bundle: {kind!r} is not an in-toto statement type").format(
                kind=statement.get("_type")
            )
        )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        raise SignatureError(_("sigstore bundle: the in-toto statement has no subject"))
    found = []
    for subject in subjects:
        digests = _object(_object(subject, "subject").get("digest"), "subject.digest")
        value = digests.get("sha256")
        if value is not None:
            candidate = "sha256:{hex}".format(hex=value)
            if not isinstance(value, str) or not DIGEST.fullmatch(candidate):
                raise SignatureError(
                    _("sigstore bundle: subject digest {value!r} is not 64 hex digits").format(
                        value=value
                    )
                )
            found.append(candidate)
    return statement.get("predicateType"), found


def _dsse(content, keys, digest, predicate_types):
    payload_type = content.get("payloadType")
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise SignatureError(
            _("sigstore bundle: DSSE payload type {kind!r} is not {expected!r}").format(
                kind=payload_type, expected=INTOTO_PAYLOAD_TYPE
            )
        )
    payload = decode_base64(content.get("payload"), "dsseEnvelope.payload", protobuf=True)
    signatures = content.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise SignatureError(_("sigstore bundle: the DSSE envelope has no signature"))
    message = pae(payload_type, payload)
    key_id = None
    for entry in signatures:
        raw = decode_base64(
            _object(entry, "dsseEnvelope.signatures[]").get("sig"),
            "dsseEnvelope.signatures[].sig",
            protobuf=True,
        )
        key_id = next((key.id for key in keys.pem if key.verify(raw, message)), None)
        if key_id:
            break
    if key_id is None:
        raise SignatureError(
            _(
                "sigstore bundle: the DSSE signature does not verify with any of the {count} "
                "trusted PEM keys"
            ).format(count=len(keys.pem))
        )
    predicate_type, subjects = _subject_digests(payload)
    if predicate_types is not None and predicate_type not in predicate_types:
        raise NotASignature(
            _("sigstore bundle: predicate type {kind!r} is not a signature ({expected})").format(
                kind=predicate_type, expected=", ".join(predicate_types)
            )
        )
    if digest not in subjects:
        raise SignatureError(
            _("sigstore bundle: the statement is about {subjects}, not {digest}").format(
                subjects=", ".join(subjects) or _("no sha256 digest"), digest=digest
            )
        )
    return key_id


def verify_bundle(
    document,
    keys,
    digest,
    *,
    manifest=None,
    max_bytes=MAX_BUNDLE_BYTES,
    predicate_types=SIGNATURE_PREDICATES,
):
    """Verify a key-based sigstore bundle over manifest ``digest``, offline.

    ``document`` is the bundle's bytes; ``manifest`` the manifest's bytes, if the
    caller has them (needed only for Ed25519 keys and SHA-384/512 message digests
    of a messageSignature; their sha256 must be ``digest``). A DSSE statement must
    name ``digest`` among its subjects and have one of ``predicate_types`` (None:
    any). No transparency log or certificate is consulted. Returns a
    ``Verification`` (kind "sigstore-bundle", no reference), or raises
    ``SignatureError`` saying why not.
    """
    if not DIGEST.fullmatch(digest or ""):
        raise SignatureError(_("{digest!r} is not a sha256 digest").format(digest=digest))
    if manifest is not None and "sha256:" + hashlib.sha256(manifest).hexdigest() != digest:
        raise SignatureError(
            _("the manifest given does not have the digest {digest}").format(digest=digest)
        )
    kind, content = _load(document, max_bytes)
    if not keys.pem:
        raise SignatureError(_("no PEM public key is trusted, so no sigstore bundle can verify"))
    if kind == "messageSignature":
        key_id = _message_signature(content, keys, digest, manifest)
    else:
        key_id = _dsse(content, keys, digest, predicate_types)
    return Verification(SIGSTORE_BUNDLE, key_id, digest)
