"""The public keys an admin trusts: PEM keys (cosign, sigstore) and OpenPGP certificates.

A remote's ``signature_keys`` text holds any number of blocks, each either a PEM
``PUBLIC KEY`` (what ``cosign generate-key-pair`` writes to ``cosign.pub``) or an
ASCII-armoured ``PGP PUBLIC KEY BLOCK``. Anything else, text between the blocks
included, is refused with a message naming the block, so a key that was pasted
wrongly is noticed when the remote is saved rather than when a sync fails.

The one key module of every remote: OCI remotes use both kinds, dnf remotes
OpenPGP only (RPM signatures); ``parse_keys(text, kinds)`` refuses a block of a
kind the remote cannot use, the serializer and the sync alike.
"""

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from gettext import gettext as _

import pysequoia
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from .errors import KeyBlockError

PEM = "PEM"
OPENPGP = "OpenPGP"
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384
_CURVES = {"secp256r1": "ecdsa-p256", "secp384r1": "ecdsa-p384"}
# Hashes a signature may use with each kind of key. P-384: cosign before 2.5 hashed
# with SHA-256 for every key; sigstore's algorithm registry (cosign 2.5 and later)
# pairs P-384 with SHA-384.
_HASHES = {
    "ecdsa-p256": (hashes.SHA256,),
    "ecdsa-p384": (hashes.SHA384, hashes.SHA256),
}
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_SUPPORTED = "ECDSA P-256 or P-384, RSA of at least 2048 bits, Ed25519"
KINDS = (PEM, OPENPGP)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class PemKey:
    """One trusted PEM public key, the kind cosign and sigstore bundles are verified with.

    ``id`` is ``sha256:<hex>`` of the DER SubjectPublicKeyInfo: stable whatever the
    PEM's line breaks, and what a verification record names.
    """

    id: str
    algorithm: str
    public_key: object = field(repr=False, compare=False)

    def verify(self, signature, message):
        """True if ``signature`` is this key's signature over ``message``.

        ECDSA with the curve's hash (P-384 also SHA-256, as older cosign signs),
        RSA PKCS#1 v1.5 with SHA-256 (what cosign and sigstore use for RSA keys),
        Ed25519 over the message itself.
        """
        key = self.public_key
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, message)
                return True
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
                return True
            for hash_class in _HASHES[self.algorithm]:
                try:
                    key.verify(signature, message, ec.ECDSA(hash_class()))
                    return True
                except InvalidSignature:
                    continue
        except (InvalidSignature, ValueError):
            return False
        return False

    def verify_digest(self, signature, digest, hash_class=hashes.SHA256):
        """True if ``signature`` is this key's signature over a message whose hash is ``digest``.

        For sigstore ``messageSignature`` bundles, which sign the artifact while
        the verifier may only know its digest. Ed25519 signs the message itself,
        never a digest, so it never verifies here.
        """
        key = self.public_key
        algorithm = utils.Prehashed(hash_class())
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature, digest, padding.PKCS1v15(), algorithm)
                return True
            if isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature, digest, ec.ECDSA(algorithm))
                return True
        except (InvalidSignature, ValueError):
            return False
        return False


@dataclass(frozen=True)
class OpenPgpKey:
    """One trusted OpenPGP certificate: containers "simple signing" signatures, RPM signatures.

    ``id`` is the primary key's fingerprint in upper-case hex, as gpg prints it.
    """

    id: str
    cert: object = field(repr=False, compare=False)

    @property
    def armored(self):
        """The certificate alone, ASCII-armoured: what ``rpmkeys --import`` takes, one per file."""
        return str(self.cert)


@dataclass(frozen=True)
class TrustedKeys:
    """Every key a remote trusts, parsed once; verifiers take it whole.

    Empty when the remote trusts no key (then nothing verifies).
    """

    pem: tuple = ()
    openpgp: tuple = ()

    @classmethod
    def parse(cls, text):
        """Parse a remote's ``signature_keys``; see ``parse_keys``."""
        return parse_keys(text)

    @property
    def ids(self):
        """Every key id, sorted: what a tree's verification depended on."""
        return tuple(sorted(key.id for key in self.pem + self.openpgp))

    def usable_ids(self, now=None):
        """Ids of the keys that can vouch now: PEM keys, and OpenPGP keys neither expired
        nor revoked (a stored verification by a key that has lapsed since counts for nothing).
        """
        now = now or datetime.now(timezone.utc)
        usable = [key.id for key in self.pem]
        for key in self.openpgp:
            expiration = key.cert.expiration
            if expiration is not None and expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=timezone.utc)
            if key.cert.is_revoked or (expiration is not None and expiration <= now):
                continue
            usable.append(key.id)
        return tuple(sorted(usable))

    def describe(self):
        """One small dict per key (``id``, ``kind``, ``algorithm``), for the API and logs."""
        return [{"id": key.id, "kind": PEM, "algorithm": key.algorithm} for key in self.pem] + [
            {"id": key.id, "kind": OPENPGP, "algorithm": "openpgp"} for key in self.openpgp
        ]

    def __len__(self):
        return len(self.pem) + len(self.openpgp)


def _block_error(number, kind):
    """``fail(reason)``: the KeyBlockError naming key block ``number`` of ``kind``."""

    def fail(reason):
        return KeyBlockError(
            _("key block {number} ({kind}): {reason}").format(
                number=number, kind=kind, reason=reason
            ),
            number,
            kind,
        )

    return fail


def _pem_key(number, label, block):
    fail = _block_error(number, PEM)

    if "PRIVATE" in label:
        raise fail(_("{label} is a private key; give only the public key").format(label=label))
    if label != "PUBLIC KEY":
        raise fail(
            _("not a public key: a {label} block (expected BEGIN PUBLIC KEY)").format(label=label)
        )
    try:
        key = serialization.load_pem_public_key(block.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise fail(_("not a public key: {problem}").format(problem=_first_line(exc))) from None
    if isinstance(key, ec.EllipticCurvePublicKey):
        algorithm = _CURVES.get(key.curve.name)
        if algorithm is None:
            raise fail(
                _("ECDSA curve {curve} is not supported (supported: {supported})").format(
                    curve=key.curve.name, supported=_SUPPORTED
                )
            )
    elif isinstance(key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise fail(
                _("an RSA key of {bits} bits is not supported (at least {minimum})").format(
                    bits=key.key_size, minimum=MIN_RSA_BITS
                )
            )
        algorithm = "rsa-{bits}".format(bits=key.key_size)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "ed25519"
    else:
        raise fail(
            _("{kind} keys are not supported (supported: {supported})").format(
                kind=type(key).__name__, supported=_SUPPORTED
            )
        )
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_id = "sha256:" + hashlib.sha256(der).hexdigest()
    return [PemKey(key_id, algorithm, key)]


def _openpgp_keys(number, label, block):
    fail = _block_error(number, OPENPGP)

    if label != "PGP PUBLIC KEY BLOCK":
        if "PRIVATE" in label or "SECRET" in label:
            raise fail(_("a private key; give only the public key"))
        raise fail(
            _("not a public key: a {label} block (expected BEGIN PGP PUBLIC KEY BLOCK)").format(
                label=label
            )
        )
    try:
        certs = pysequoia.Cert.split_bytes(block.encode("ascii"))
    except Exception as exc:  # pysequoia raises its own and RuntimeError
        raise fail(_("not a public key: {problem}").format(problem=_first_line(exc))) from None
    if not certs:
        raise fail(_("not a public key: the block holds no certificate"))
    with warnings.catch_warnings():
        # pysequoia deprecates asking a Cert about secrets (use Tsk); a Cert still
        # parses secret key packets, and signature_keys is readable back.
        warnings.simplefilter("ignore", DeprecationWarning)
        secret = any(cert.has_secret_keys for cert in certs)
    if secret:
        raise fail(_("holds secret key material; give only the public key"))
    return [OpenPgpKey(str(cert.fingerprint).upper(), cert) for cert in certs]


def _outside(text, start, end):
    stray = text[start:end].strip()
    if not stray:
        return None
    line = text.count("\n", 0, start + text[start:end].index(stray[0])) + 1
    snippet = stray.splitlines()[0][:40]
    return KeyBlockError(
        _("text outside the key blocks (line {line}): {snippet!r}").format(
            line=line, snippet=snippet
        )
    )


def parse_keys(text, kinds=KINDS, use=None):
    """Parse a remote's ``signature_keys`` into ``TrustedKeys``.

    Blocks are numbered from 1 in the order they appear. A block that is not a
    supported public key, a block without its END line, or text outside the
    blocks raises ``KeyBlockError`` naming the block (or the line) and why.
    ``kinds``: the kinds of key the remote can use (``PEM``, ``OPENPGP``); a block
    of another kind is refused too, ``use`` saying what the remote verifies (for the
    message). Empty text gives no keys. A key given twice is kept once.
    """
    text = text or ""
    pem, openpgp, seen = [], [], set()
    position, number = 0, 0
    while True:
        begin = _BEGIN.search(text, position)
        if begin is None:
            error = _outside(text, position, len(text))
            if error:
                raise error
            break
        error = _outside(text, position, begin.start())
        if error:
            raise error
        number += 1
        label = begin.group(1)
        kind = OPENPGP if label.startswith("PGP ") else PEM
        if kind not in kinds:
            raise KeyBlockError(
                _("key block {number} ({kind}): {use} are verified with {kinds} keys only").format(
                    number=number,
                    kind=kind,
                    use=use or _("this remote's signatures"),
                    kinds=_(" or ").join(kinds),
                ),
                number,
                kind,
            )
        end_line = "-----END {label}-----".format(label=label)
        end = text.find(end_line, begin.end())
        if end < 0:
            raise KeyBlockError(
                _("key block {number} ({kind}): no '{end}' line").format(
                    number=number, kind=kind, end=end_line
                ),
                number,
                kind,
            )
        block = text[begin.start() : end + len(end_line)]
        position = end + len(end_line)
        parse = _openpgp_keys if kind == OPENPGP else _pem_key
        for key in parse(number, label, block):
            if key.id not in seen:
                seen.add(key.id)
                (openpgp if kind == OPENPGP else pem).append(key)
    return TrustedKeys(tuple(pem), tuple(openpgp))
