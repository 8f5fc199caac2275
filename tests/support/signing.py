"""Signatures built straight from the published formats, for the verifier's tests.

Written from the formats, never from the verifier's code (nothing here imports
``pulp_kickstart_oci``), so a misreading of a format shows up as a failing test
rather than being shared by both sides:

- cosign: the simple-signing payload cosign writes, signed over its exact bytes,
  the signature in base64 (the ``dev.cosignproject.cosign/signature`` annotation).
- sigstore bundles (protobuf JSON): ``messageSignature`` over the artifact, or a
  DSSE envelope holding an in-toto statement, signed over the DSSE PAE.
- containers/image OpenPGP: ``gpg --sign`` of the payload in a throwaway
  GNUPGHOME, the same kind of signed message ``skopeo copy --sign-by`` writes.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

COSIGN_TYPE = "cosign container image signature"
ATOMIC_TYPE = "atomic container signature"
BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO = "application/vnd.in-toto+json"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"


def generate_key(kind):
    """A private key: "p256", "p384", "p521", "rsa" (3072), "rsa1024" or "ed25519"."""
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "p521":
        return ec.generate_private_key(ec.SECP521R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def public_pem(private_key):
    """The public key as cosign.pub holds it: PEM SubjectPublicKeyInfo."""
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(private_key):
    """sha256 of the DER SubjectPublicKeyInfo, as the plugin names a PEM key."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "sha256:" + hashlib.sha256(der).hexdigest()


def sign(private_key, message, *, hash_class=None):
    """A raw signature over ``message`` as sigstore tools make it with this key.

    ECDSA with the curve's hash (``hash_class`` overrides, e.g. SHA-256 on P-384 as
    cosign before 2.5 did), RSA PKCS#1 v1.5 with SHA-256, Ed25519 pure.
    """
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        default = {256: hashes.SHA256, 384: hashes.SHA384, 521: hashes.SHA512}[
            private_key.curve.key_size
        ]
        return private_key.sign(message, ec.ECDSA((hash_class or default)()))
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, padding.PKCS1v15(), (hash_class or hashes.SHA256)())
    return private_key.sign(message)


def simplesigning_payload(digest, reference, type=COSIGN_TYPE, optional=None):
    """A simple-signing payload, compact JSON in the field order cosign writes."""
    document = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": type,
        },
        "optional": optional,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def cosign_signature(private_key, payload_bytes, *, hash_class=None):
    """The base64 value of the ``dev.cosignproject.cosign/signature`` annotation."""
    return base64.b64encode(sign(private_key, payload_bytes, hash_class=hash_class)).decode()


def _b64(data):
    return base64.b64encode(data).decode()


def pae(payload_type, payload):
    """DSSE v1 pre-authentication encoding, from the DSSE protocol document."""
    kind = payload_type.encode()
    return b" ".join(
        [b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(), payload]
    )


def intoto_statement(digest, predicate_type=COSIGN_SIGN, name="registry.example/tree"):
    """An in-toto v1 statement about one manifest digest, as cosign 3 signs an image."""
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": digest.split(":", 1)[1]}}],
            "predicateType": predicate_type,
            "predicate": {},
        }
    ).encode()


def sigstore_bundle(
    private_key,
    manifest,
    *,
    dsse=False,
    statement=None,
    media_type=BUNDLE_V03,
    verification_material=None,
):
    """A key-based sigstore bundle (JSON bytes) over the manifest's bytes.

    ``messageSignature``: the signature over the manifest and its sha256 digest.
    ``dsse``: an envelope over ``statement`` (default: a cosign sign statement
    about the manifest's digest).
    """
    material = verification_material or {"publicKey": {"hint": key_id(private_key)}}
    bundle = {"mediaType": media_type, "verificationMaterial": material}
    if dsse:
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        payload = statement if statement is not None else intoto_statement(digest)
        signature = sign(private_key, pae(INTOTO, payload))
        bundle["dsseEnvelope"] = {
            "payload": _b64(payload),
            "payloadType": INTOTO,
            "signatures": [{"sig": _b64(signature), "keyid": ""}],
        }
    else:
        bundle["messageSignature"] = {
            "messageDigest": {
                "algorithm": "SHA2_256",
                "digest": _b64(hashlib.sha256(manifest).digest()),
            },
            "signature": _b64(sign(private_key, manifest, hash_class=hashes.SHA256)),
        }
    return json.dumps(bundle).encode()


class GpgKey:
    """A throwaway gpg home with one signing key, as a publisher using skopeo has.

    ``faked_time`` (e.g. "20200101T000000") creates the key and its signatures in
    the past, for an expired key; ``expire`` is gpg's expiry ("never", "1d").
    """

    def __init__(self, uid="Test <t@example.org>", *, expire="never", faked_time=None):
        self.home = tempfile.mkdtemp(prefix="gnupg-")
        self.faked_time = faked_time
        self.gpg("--passphrase", "", "--quick-gen-key", uid, "rsa3072", "sign", expire)
        listing = self.gpg("--list-keys", "--with-colons").stdout.decode()
        self.fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )

    def gpg(self, *args, input=None):
        """Run gpg in this home, batch mode, and return the completed process."""
        command = ["gpg", "--batch", "--pinentry-mode", "loopback", "--no-tty"]
        if self.faked_time:
            command += ["--faked-system-time", self.faked_time + "!"]
        return subprocess.run(
            command + list(args),
            input=input,
            capture_output=True,
            check=True,
            env={**os.environ, "GNUPGHOME": self.home, "LC_ALL": "C"},
        )

    def public_key(self):
        """The ASCII-armoured public key, as an admin pastes it into ``signature_keys``."""
        return self.gpg("--armor", "--export", self.fingerprint).stdout.decode()

    def sign(self, data):
        """A binary OpenPGP signed message holding ``data`` (``gpg --sign``)."""
        return self.gpg(
            "--passphrase",
            "",
            "--local-user",
            self.fingerprint,
            "--sign",
            "--output",
            "-",
            input=data,
        ).stdout

    def revoke(self):
        """Apply the revocation certificate gpg made at key generation."""
        path = os.path.join(self.home, "openpgp-revocs.d", self.fingerprint + ".rev")
        with open(path) as revocation:
            text = revocation.read().replace(":-----BEGIN", "-----BEGIN")
        self.gpg("--import", input=text.encode())

    def close(self):
        """Remove the gpg home (and stop its agent)."""
        subprocess.run(
            ["gpgconf", "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": self.home},
            capture_output=True,
        )
        shutil.rmtree(self.home, ignore_errors=True)


def gpg_sign_simplesigning(key, digest, reference, type=ATOMIC_TYPE):
    """What ``skopeo copy --sign-by`` stores as ``signature-1``: a signed simple-signing payload."""
    payload = simplesigning_payload(digest, reference, type=type)
    return key.sign(payload)
