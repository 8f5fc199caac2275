"""Publisher signatures: keys, simple-signing payloads, cosign, sigstore bundles, OpenPGP.

Signatures come from ``tests/support/signing.py``, built from the published
formats without the verifier's code.
"""

import ast
import base64
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

from pulp_kickstart_oci.app import signatures
from pulp_kickstart_oci.app.signatures import (
    KeyBlockError,
    SignatureError,
    Verification,
    bundle,
    cosign,
    keys,
    openpgp,
    simplesigning,
)
from tests.support import signing

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
OTHER = "sha256:" + "b" * 64
REPOSITORY = "registry.example.org:5000/fedora/kickstart"
REFERENCE = REPOSITORY + ":42"


@pytest.fixture(scope="module")
def private_keys():
    return {kind: signing.generate_key(kind) for kind in ("p256", "p384", "rsa", "ed25519")}


@pytest.fixture(scope="module")
def gpg_key():
    key = signing.GpgKey()
    yield key
    key.close()


@pytest.fixture(scope="module")
def other_gpg_key():
    key = signing.GpgKey("Other <o@example.org>")
    yield key
    key.close()


def trusted(*private_keys, text=""):
    return keys.parse_keys(text + "\n".join(signing.public_pem(key) for key in private_keys))


# --- the layer -----------------------------------------------------------------------------


def test_the_layer_imports_no_django_pulpcore_or_plugin_layer():
    package = Path(signatures.__file__).resolve().parent
    here = "pulp_kickstart_oci.app.signatures"
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [
                    importlib.util.resolve_name("." * node.level + (node.module or ""), here)
                ]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top not in ("django", "pulpcore", "rest_framework"), (source.name, module)
                if top == "pulp_kickstart_oci":
                    assert module == here or module.startswith(here + "."), (source.name, module)


def test_user_facing_messages_go_through_gettext(monkeypatch):
    monkeypatch.setattr(keys, "_", lambda text: "T:" + text)
    monkeypatch.setattr(simplesigning, "_", lambda text: "T:" + text)
    with pytest.raises(KeyBlockError, match="^T:key block 1 \\(PEM\\): T:not a public key"):
        keys.parse_keys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(SignatureError, match="^T:the signature is for manifest"):
        simplesigning.check_payload(
            simplesigning.Payload(simplesigning.COSIGN_TYPE, OTHER, REFERENCE), DIGEST, REPOSITORY
        )


def test_the_verification_record_is_the_json_a_tree_stores():
    record = Verification("cosign", "sha256:" + "c" * 64, DIGEST, REFERENCE).record()
    assert record == {
        "kind": "cosign",
        "key": "sha256:" + "c" * 64,
        "signed_digest": DIGEST,
        "reference": REFERENCE,
        "tlog_checked": False,
    }
    assert json.loads(json.dumps(record)) == record


# --- keys ----------------------------------------------------------------------------------


def test_empty_key_text_trusts_nothing():
    for text in ("", None, "  \n\n"):
        parsed = keys.parse_keys(text)
        assert len(parsed) == 0 and parsed.ids == ()


def test_pem_and_openpgp_keys_are_parsed_with_stable_ids(private_keys, gpg_key):
    text = "\n".join(signing.public_pem(key) for key in private_keys.values())
    text += "\n" + gpg_key.public_key()
    parsed = keys.TrustedKeys.parse(text)
    assert [key.algorithm for key in parsed.pem] == [
        "ecdsa-p256",
        "ecdsa-p384",
        "rsa-3072",
        "ed25519",
    ]
    assert [key.id for key in parsed.pem] == [signing.key_id(k) for k in private_keys.values()]
    assert [key.id for key in parsed.openpgp] == [gpg_key.fingerprint]
    assert parsed.ids == tuple(sorted([gpg_key.fingerprint] + [k.id for k in parsed.pem]))
    assert {entry["kind"] for entry in parsed.describe()} == {"PEM", "OpenPGP"}


def test_a_key_given_twice_is_kept_once(private_keys):
    pem = signing.public_pem(private_keys["p256"])
    # Another line width gives another PEM text of the same key: still one key.
    body = "".join(pem.splitlines()[1:-1])
    rewrapped = "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n".format(
        "\n".join(body[i : i + 40] for i in range(0, len(body), 40))
    )
    assert len(keys.parse_keys(pem + rewrapped).pem) == 1


def _pem(label, body="AAAA"):
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


@pytest.mark.parametrize(
    "second, message",
    [
        (_pem("PUBLIC KEY", "bm90IGEga2V5"), r"key block 2 \(PEM\): not a public key: "),
        (_pem("CERTIFICATE"), r"key block 2 \(PEM\): not a public key: a CERTIFICATE block"),
        (_pem("EC PRIVATE KEY"), r"key block 2 \(PEM\): EC PRIVATE KEY is a private key"),
        (_pem("ENCRYPTED SIGSTORE PRIVATE KEY"), r"key block 2 \(PEM\): .* is a private key"),
        (_pem("PGP PUBLIC KEY BLOCK", "garbage"), r"key block 2 \(OpenPGP\): not a public key"),
        (_pem("PGP PRIVATE KEY BLOCK"), r"key block 2 \(OpenPGP\): a private key"),
        (_pem("PGP SIGNATURE"), r"key block 2 \(OpenPGP\): not a public key: a PGP SIGNATURE"),
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n", r"key block 2 \(PEM\): no '-----END PUBLIC KEY"),
        ("cosign.pub:\n", r"text outside the key blocks \(line \d+\): 'cosign.pub:'"),
    ],
)
def test_a_bad_block_is_named_by_number_and_kind(private_keys, second, message):
    text = signing.public_pem(private_keys["p256"]) + second
    with pytest.raises(KeyBlockError, match=message) as failure:
        keys.parse_keys(text)
    assert isinstance(failure.value, SignatureError) and isinstance(failure.value, ValueError)


def test_text_before_the_first_block_is_refused(private_keys):
    with pytest.raises(KeyBlockError, match=r"\(line 1\): 'trust me'"):
        keys.parse_keys("trust me\n" + signing.public_pem(private_keys["p256"]))


@pytest.mark.parametrize(
    "kind, reason",
    [("p521", "ECDSA curve secp521r1 is not supported"), ("rsa1024", "RSA key of 1024 bits")],
)
def test_unsupported_curves_and_sizes_are_refused(kind, reason):
    with pytest.raises(KeyBlockError, match=r"key block 1 \(PEM\): .*" + reason):
        keys.parse_keys(signing.public_pem(signing.generate_key(kind)))


def test_an_openpgp_secret_key_is_refused_even_under_a_public_header(gpg_key):
    secret = gpg_key.gpg("--armor", "--export-secret-keys", "--passphrase", "", gpg_key.fingerprint)
    body = secret.stdout.decode().replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK")
    with pytest.raises(KeyBlockError, match=r"key block 1 \(OpenPGP\)"):
        keys.parse_keys(body)


# --- simple-signing payloads -----------------------------------------------------------------


def test_a_cosign_payload_is_read():
    payload = simplesigning.parse_payload(signing.simplesigning_payload(DIGEST, REFERENCE))
    assert payload == simplesigning.Payload(simplesigning.COSIGN_TYPE, DIGEST, REFERENCE, None)


def _document(**critical):
    base = {
        "identity": {"docker-reference": REFERENCE},
        "image": {"docker-manifest-digest": DIGEST},
        "type": simplesigning.COSIGN_TYPE,
    }
    base.update(critical)
    return json.dumps({"critical": base, "optional": None}).encode()


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"{", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"optional": null}', "critical is not a JSON object"),
        (b'{"critical": {}, "extra": 1}', "unknown fields: extra"),
        (_document(extra=1), "critical has unknown fields: extra"),
        (_document(type="something else"), "critical.type 'something else' is not one of"),
        (_document(type=None), "critical.type is missing"),
        (_document(image={"docker-manifest-digest": "sha256:ABC"}), "is not sha256:<64"),
        (_document(image={"docker-manifest-digest": "sha512:" + "a" * 128}), "not sha256"),
        (_document(image={"docker-manifest-digest": DIGEST + "\n"}), "not sha256"),
        (_document(image={"docker-manifest-digest": 1}), "missing or not a string"),
        (_document(image={"docker-manifest-digest": DIGEST, "x": 1}), "image has unknown"),
        (_document(identity={"docker-reference": 7}), "docker-reference is missing"),
        (_document(identity=[]), "critical.identity is not a JSON object"),
        (
            _document().replace(b'"optional": null', b'"optional": "x"'),
            "optional is not a JSON object",
        ),
        (
            _document().replace(b'"critical": {', b'"critical": {"type": "x", '),
            "'type' appears twice",
        ),
        (b'{"critical":' + b" " * 300_000 + b"{}}", "more than the limit of 262144"),
    ],
)
def test_payloads_are_read_strictly(data, reason):
    with pytest.raises(SignatureError, match=reason):
        simplesigning.parse_payload(data)


def test_the_size_cap_is_an_argument():
    data = signing.simplesigning_payload(DIGEST, REFERENCE)
    with pytest.raises(SignatureError, match="more than the limit of 10"):
        simplesigning.parse_payload(data, max_bytes=10)


@pytest.mark.parametrize(
    "reference, repository",
    [
        ("registry.example.org:5000/fedora/kickstart:42", REPOSITORY),
        ("registry.example.org:5000/fedora/kickstart", REPOSITORY),
        ("registry.example.org:5000/fedora/kickstart@" + DIGEST, REPOSITORY),
        ("registry.example.org:5000/fedora/kickstart:42@" + DIGEST, REPOSITORY),
        ("Registry.Example.org:5000/fedora/kickstart", REPOSITORY),
        ("quay.io/fedora/fedora", "quay.io/fedora/fedora"),
        ("localhost/tree", "localhost/tree"),
        ("fedora", "docker.io/library/fedora"),
        ("fedora/fedora:42", "docker.io/fedora/fedora"),
        ("index.docker.io/library/fedora", "docker.io/library/fedora"),
        ("[::1]:5000/tree", "[::1]:5000/tree"),
    ],
)
def test_references_name_their_repository(reference, repository):
    assert simplesigning.repository_of(reference) == repository


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "upper/Case",
        "quay.io/Fedora",
        "quay.io/fedora/",
        "quay.io//x",
        "x:tag with space",
        "quay.io/x@sha256:zz",
        "quay.io/x\n",
        "a/b:" + "t" * 200,
    ],
)
def test_invalid_references_are_refused(reference):
    with pytest.raises(SignatureError, match="is not a valid image reference"):
        simplesigning.repository_of(reference)


@pytest.mark.parametrize(
    "url, name, repository",
    [
        ("https://registry.example.org:5000", "fedora/kickstart", REPOSITORY),
        ("https://quay.io:443/", "/fedora/fedora/", "quay.io/fedora/fedora"),
        ("http://user:pw@localhost:80", "tree", "localhost/tree"),
        ("https://registry-1.docker.io", "fedora", "docker.io/library/fedora"),
    ],
)
def test_a_remote_names_the_repository_a_signature_must_name(url, name, repository):
    assert simplesigning.remote_repository(url, name) == repository


def test_a_payload_must_be_about_this_manifest_and_repository():
    payload = simplesigning.parse_payload(signing.simplesigning_payload(DIGEST, REFERENCE))
    simplesigning.check_payload(payload, DIGEST, REPOSITORY)
    simplesigning.check_payload(payload, DIGEST, REPOSITORY + ":other-tag")
    with pytest.raises(SignatureError, match=f"for manifest {DIGEST}, not {OTHER}"):
        simplesigning.check_payload(payload, OTHER, REPOSITORY)
    with pytest.raises(SignatureError, match="not this remote's repository 'quay.io/x/y'"):
        simplesigning.check_payload(payload, DIGEST, "quay.io/x/y")
    # A repository that merely starts like the signed one is another repository.
    with pytest.raises(SignatureError, match="not this remote's repository"):
        simplesigning.check_payload(payload, DIGEST, REPOSITORY + "-evil")
    simplesigning.check_payload(payload, DIGEST, "quay.io/x/y", match_identity=False)


# --- cosign ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa", "ed25519"])
def test_cosign_signatures_verify_with_each_kind_of_key(private_keys, kind):
    key = private_keys[kind]
    payload = signing.simplesigning_payload(DIGEST, REFERENCE)
    signature = signing.cosign_signature(key, payload)
    verification = cosign.verify_cosign(
        payload, signature, trusted(*private_keys.values()), DIGEST, REPOSITORY
    )
    assert verification == Verification("cosign", signing.key_id(key), DIGEST, REFERENCE)


def test_a_p384_signature_over_sha256_verifies_as_older_cosign_makes_it(private_keys):
    from cryptography.hazmat.primitives import hashes

    payload = signing.simplesigning_payload(DIGEST, REFERENCE)
    signature = signing.cosign_signature(private_keys["p384"], payload, hash_class=hashes.SHA256)
    key_id = cosign.verify_payload_signature(payload, signature, trusted(private_keys["p384"]))
    assert key_id == signing.key_id(private_keys["p384"])


def test_a_cosign_signature_by_another_key_fails(private_keys):
    payload = signing.simplesigning_payload(DIGEST, REFERENCE)
    signature = signing.cosign_signature(signing.generate_key("p256"), payload)
    with pytest.raises(SignatureError, match="does not verify with any of the 4 trusted PEM keys"):
        cosign.verify_cosign(
            payload, signature, trusted(*private_keys.values()), DIGEST, REPOSITORY
        )


def test_a_cosign_signature_for_another_digest_fails(private_keys):
    payload = signing.simplesigning_payload(OTHER, REFERENCE)
    signature = signing.cosign_signature(private_keys["p256"], payload)
    with pytest.raises(SignatureError, match=f"the signature is for manifest {OTHER}"):
        cosign.verify_cosign(payload, signature, trusted(private_keys["p256"]), DIGEST, REPOSITORY)


def test_a_tampered_cosign_payload_fails(private_keys):
    payload = signing.simplesigning_payload(OTHER, REFERENCE)
    signature = signing.cosign_signature(private_keys["p256"], payload)
    tampered = payload.replace(OTHER.encode(), DIGEST.encode())
    with pytest.raises(SignatureError, match="does not verify"):
        cosign.verify_cosign(tampered, signature, trusted(private_keys["p256"]), DIGEST, REPOSITORY)
    # The same JSON with other whitespace is other bytes: the signature is over bytes.
    reformatted = json.dumps(json.loads(payload), indent=1).encode()
    with pytest.raises(SignatureError, match="does not verify"):
        cosign.verify_cosign(
            reformatted, signature, trusted(private_keys["p256"]), OTHER, REPOSITORY
        )


def test_a_cosign_identity_mismatch_fails_unless_relaxed(private_keys):
    payload = signing.simplesigning_payload(DIGEST, "quay.io/someone/else:42")
    signature = signing.cosign_signature(private_keys["p256"], payload)
    keyring = trusted(private_keys["p256"])
    with pytest.raises(SignatureError, match="names 'quay.io/someone/else:42', not this remote"):
        cosign.verify_cosign(payload, signature, keyring, DIGEST, REPOSITORY)
    verification = cosign.verify_cosign(
        payload, signature, keyring, DIGEST, REPOSITORY, match_identity=False
    )
    assert verification.reference == "quay.io/someone/else:42"


@pytest.mark.parametrize("signature", ["not base64!", "", None, "QUJD\n", "QUJ"])
def test_a_cosign_signature_that_is_not_base64_fails(private_keys, signature):
    payload = signing.simplesigning_payload(DIGEST, REFERENCE)
    with pytest.raises(SignatureError, match="annotation is (not valid base64|missing)"):
        cosign.verify_cosign(payload, signature, trusted(private_keys["p256"]), DIGEST, REPOSITORY)


def test_cosign_needs_a_pem_key_and_a_cosign_payload(private_keys, gpg_key):
    payload = signing.simplesigning_payload(DIGEST, REFERENCE)
    signature = signing.cosign_signature(private_keys["p256"], payload)
    with pytest.raises(SignatureError, match="no PEM public key is trusted"):
        cosign.verify_cosign(
            payload, signature, keys.parse_keys(gpg_key.public_key()), DIGEST, REPOSITORY
        )
    atomic = signing.simplesigning_payload(DIGEST, REFERENCE, type=signing.ATOMIC_TYPE)
    signature = signing.cosign_signature(private_keys["p256"], atomic)
    with pytest.raises(SignatureError, match="'atomic container signature' is not one of"):
        cosign.verify_cosign(atomic, signature, trusted(private_keys["p256"]), DIGEST, REPOSITORY)


# --- containers/image OpenPGP ----------------------------------------------------------------


def test_an_openpgp_signature_verifies(gpg_key, private_keys):
    signature = signing.gpg_sign_simplesigning(gpg_key, DIGEST, REFERENCE)
    keyring = keys.parse_keys(gpg_key.public_key() + signing.public_pem(private_keys["p256"]))
    verification = openpgp.verify_openpgp(signature, keyring, DIGEST, REPOSITORY)
    assert verification == Verification("openpgp", gpg_key.fingerprint, DIGEST, REFERENCE)
    payload, signer = openpgp.verify_message(signature, keyring)
    assert signer == gpg_key.fingerprint
    assert simplesigning.parse_payload(payload).type == simplesigning.ATOMIC_TYPE


def test_an_openpgp_signature_by_another_key_fails(gpg_key, other_gpg_key, private_keys):
    signature = signing.gpg_sign_simplesigning(other_gpg_key, DIGEST, REFERENCE)
    with pytest.raises(SignatureError, match="does not verify with any trusted key"):
        openpgp.verify_openpgp(signature, keys.parse_keys(gpg_key.public_key()), DIGEST, REPOSITORY)
    with pytest.raises(SignatureError, match="no OpenPGP public key is trusted"):
        openpgp.verify_openpgp(signature, trusted(private_keys["p256"]), DIGEST, REPOSITORY)


def test_an_openpgp_signature_for_another_digest_or_name_fails(gpg_key):
    keyring = keys.parse_keys(gpg_key.public_key())
    signature = signing.gpg_sign_simplesigning(gpg_key, OTHER, REFERENCE)
    with pytest.raises(SignatureError, match=f"the signature is for manifest {OTHER}"):
        openpgp.verify_openpgp(signature, keyring, DIGEST, REPOSITORY)
    signature = signing.gpg_sign_simplesigning(gpg_key, DIGEST, "quay.io/else/where:1")
    with pytest.raises(SignatureError, match="names 'quay.io/else/where:1'"):
        openpgp.verify_openpgp(signature, keyring, DIGEST, REPOSITORY)
    relaxed = openpgp.verify_openpgp(signature, keyring, DIGEST, REPOSITORY, match_identity=False)
    assert relaxed.key == gpg_key.fingerprint


def test_an_openpgp_signature_must_hold_an_atomic_payload(gpg_key):
    signature = signing.gpg_sign_simplesigning(gpg_key, DIGEST, REFERENCE, type=signing.COSIGN_TYPE)
    with pytest.raises(SignatureError, match="'cosign container image signature' is not one of"):
        openpgp.verify_openpgp(signature, keys.parse_keys(gpg_key.public_key()), DIGEST, REPOSITORY)


def test_a_tampered_or_broken_openpgp_message_fails(gpg_key):
    keyring = keys.parse_keys(gpg_key.public_key())
    signature = bytearray(signing.gpg_sign_simplesigning(gpg_key, DIGEST, REFERENCE))
    signature[-40] ^= 0x01
    for message in (bytes(signature), b"not openpgp", b""):
        with pytest.raises(SignatureError, match="does not verify") as failure:
            openpgp.verify_openpgp(message, keyring, DIGEST, REPOSITORY)
        assert "Stack backtrace" not in str(failure.value)


def test_an_expired_openpgp_key_verifies_nothing():
    old = signing.GpgKey("Old <old@example.org>", expire="1d", faked_time="20200101T000000")
    try:
        signature = signing.gpg_sign_simplesigning(old, DIGEST, REFERENCE)
        with pytest.raises(SignatureError, match="which expired on 2020-01-02"):
            openpgp.verify_openpgp(signature, keys.parse_keys(old.public_key()), DIGEST, REPOSITORY)
    finally:
        old.close()


def test_a_revoked_openpgp_key_verifies_nothing():
    key = signing.GpgKey("Revoked <r@example.org>")
    try:
        signature = signing.gpg_sign_simplesigning(key, DIGEST, REFERENCE)
        openpgp.verify_openpgp(signature, keys.parse_keys(key.public_key()), DIGEST, REPOSITORY)
        key.revoke()
        with pytest.raises(SignatureError, match="does not verify"):
            openpgp.verify_openpgp(signature, keys.parse_keys(key.public_key()), DIGEST, REPOSITORY)
    finally:
        key.close()


# --- sigstore bundles ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa"])
def test_a_message_signature_bundle_verifies(private_keys, kind):
    document = signing.sigstore_bundle(private_keys[kind], MANIFEST)
    verification = bundle.verify_bundle(document, trusted(*private_keys.values()), DIGEST)
    assert verification == Verification(
        "sigstore-bundle", signing.key_id(private_keys[kind]), DIGEST
    )
    assert verification.record()["tlog_checked"] is False


def test_an_ed25519_message_signature_needs_the_manifest(private_keys):
    document = signing.sigstore_bundle(private_keys["ed25519"], MANIFEST)
    keyring = trusted(private_keys["ed25519"])
    with pytest.raises(SignatureError, match="does not verify"):
        bundle.verify_bundle(document, keyring, DIGEST)
    verification = bundle.verify_bundle(document, keyring, DIGEST, manifest=MANIFEST)
    assert verification.key == signing.key_id(private_keys["ed25519"])
    with pytest.raises(SignatureError, match="does not have the digest"):
        bundle.verify_bundle(document, keyring, DIGEST, manifest=MANIFEST + b" ")


def test_a_message_signature_bundle_by_another_key_or_for_another_manifest_fails(private_keys):
    keyring = trusted(private_keys["p256"])
    document = signing.sigstore_bundle(signing.generate_key("p256"), MANIFEST)
    with pytest.raises(SignatureError, match="does not verify with any of the 1 trusted"):
        bundle.verify_bundle(document, keyring, DIGEST)
    document = signing.sigstore_bundle(private_keys["p256"], MANIFEST + b"\n")
    with pytest.raises(SignatureError, match="not that of manifest"):
        bundle.verify_bundle(document, keyring, DIGEST)
    # The digest claimed to match, the signature over another manifest.
    forged = json.loads(document)
    forged["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(
        hashlib.sha256(MANIFEST).digest()
    ).decode()
    with pytest.raises(SignatureError, match="does not verify"):
        bundle.verify_bundle(json.dumps(forged).encode(), keyring, DIGEST)


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa", "ed25519"])
def test_a_dsse_bundle_verifies(private_keys, kind):
    document = signing.sigstore_bundle(private_keys[kind], MANIFEST, dsse=True)
    verification = bundle.verify_bundle(document, trusted(*private_keys.values()), DIGEST)
    assert verification == Verification(
        "sigstore-bundle", signing.key_id(private_keys[kind]), DIGEST
    )


@pytest.mark.parametrize(
    "media_type",
    [
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    ],
)
def test_older_bundle_media_types_are_read(private_keys, media_type):
    document = signing.sigstore_bundle(
        private_keys["p256"], MANIFEST, dsse=True, media_type=media_type
    )
    assert (
        bundle.verify_bundle(document, trusted(private_keys["p256"]), DIGEST).signed_digest
        == DIGEST
    )


def test_a_dsse_bundle_that_is_wrong_fails(private_keys):
    keyring = trusted(private_keys["p256"])
    document = signing.sigstore_bundle(signing.generate_key("p256"), MANIFEST, dsse=True)
    with pytest.raises(SignatureError, match="DSSE signature does not verify"):
        bundle.verify_bundle(document, keyring, DIGEST)
    other = signing.sigstore_bundle(
        private_keys["p256"], MANIFEST, dsse=True, statement=signing.intoto_statement(OTHER)
    )
    with pytest.raises(SignatureError, match=f"is about {OTHER}, not {DIGEST}"):
        bundle.verify_bundle(other, keyring, DIGEST)
    sbom = signing.sigstore_bundle(
        private_keys["p256"],
        MANIFEST,
        dsse=True,
        statement=signing.intoto_statement(DIGEST, predicate_type="https://cyclonedx.org/bom"),
    )
    with pytest.raises(SignatureError, match="predicate type 'https://cyclonedx.org/bom' is not"):
        bundle.verify_bundle(sbom, keyring, DIGEST)
    assert bundle.verify_bundle(sbom, keyring, DIGEST, predicate_types=None).key
    # Tampered: the statement swapped for one about this digest, the signature kept.
    tampered = json.loads(other)
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(
        signing.intoto_statement(DIGEST)
    ).decode()
    with pytest.raises(SignatureError, match="DSSE signature does not verify"):
        bundle.verify_bundle(json.dumps(tampered).encode(), keyring, DIGEST)


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda b: b.update(mediaType="application/json"), "media type 'application/json'"),
        (
            lambda b: b.update(verificationMaterial={"certificate": {"rawBytes": "AAAA"}}),
            "keyless",
        ),
        (lambda b: b.update(verificationMaterial={}), "has no publicKey"),
        (lambda b: b.update(dsseEnvelope={}), "holds 2 of messageSignature and dsseEnvelope"),
        (lambda b: b.pop("messageSignature"), "holds 0 of"),
        (
            lambda b: b["messageSignature"]["messageDigest"].update(algorithm="MD5"),
            "digest algorithm 'MD5' is not supported",
        ),
        (lambda b: b["messageSignature"].update(signature="%%%"), "not valid base64"),
    ],
)
def test_malformed_or_keyless_bundles_are_refused(private_keys, change, reason):
    document = json.loads(signing.sigstore_bundle(private_keys["p256"], MANIFEST))
    change(document)
    with pytest.raises(SignatureError, match=reason):
        bundle.verify_bundle(json.dumps(document).encode(), trusted(private_keys["p256"]), DIGEST)


def test_bundles_are_capped_and_need_json(private_keys):
    keyring = trusted(private_keys["p256"])
    with pytest.raises(SignatureError, match="not valid JSON"):
        bundle.verify_bundle(b"{", keyring, DIGEST)
    with pytest.raises(SignatureError, match="more than the limit of 10"):
        bundle.verify_bundle(
            signing.sigstore_bundle(private_keys["p256"], MANIFEST), keyring, DIGEST, max_bytes=10
        )


def test_a_stored_verification_counts_only_for_a_trusted_key_and_this_repository():
    from pulp_kickstart_oci.app.signatures import parse_keys
    from pulp_kickstart_oci.app.signatures.policy import PublisherCheck

    trusted = signing.generate_key("p256")
    keys = parse_keys(signing.public_pem(trusted))
    here = "registry.example/fedora/kickstart"
    check = PublisherCheck(None, keys, "required", here)
    mine = {"key": signing.key_id(trusted), "reference": here + ":42"}
    assert check.vouches([mine])
    assert not check.vouches([{**mine, "key": "sha256:" + "0" * 64}])
    assert not check.vouches([{**mine, "reference": "registry.example/other:42"}])
    assert check.vouches([{**mine, "reference": None}])  # bundles name no reference
    relaxed = PublisherCheck(None, keys, "required", here, match_identity=False)
    assert relaxed.vouches([{**mine, "reference": "registry.example/other:42"}])
    assert not check.vouches([])


# --- review fixes: lapsed keys, attestations, hostile JSON --------------------------------


def test_a_stored_verification_by_a_lapsed_openpgp_key_vouches_for_nothing():
    from pulp_kickstart_oci.app.signatures.policy import PublisherCheck

    alive = signing.GpgKey("Alive <a@example.org>")
    old = signing.GpgKey("Old <old@example.org>", expire="1d", faked_time="20200101T000000")
    revoked = signing.GpgKey("Revoked <r@example.org>")
    try:
        revoked.revoke()
        trusted = keys.parse_keys(alive.public_key() + old.public_key() + revoked.public_key())
        assert trusted.usable_ids() == (alive.fingerprint,)
        check = PublisherCheck(None, trusted, "required", REPOSITORY)
        for key in (old, revoked):
            assert not check.vouches([{"key": key.fingerprint, "reference": REFERENCE}])
        assert check.vouches([{"key": alive.fingerprint, "reference": REFERENCE}])
    finally:
        for key in (alive, old, revoked):
            key.close()


class _Fetcher:
    """Stands in for the registry client: serves prepared referrers, nothing else."""

    def __init__(self, bundles):
        self.bundles = bundles

    async def cosign_signatures(self, digest):
        return []

    async def referrers(self, digest):
        from types import SimpleNamespace

        return [
            SimpleNamespace(manifest_digest=f"sha256:{n:064x}", data=data, carrier=None)
            for n, data in enumerate(self.bundles)
        ]


def _check(policy, bundles, private_key):
    import asyncio

    from pulp_kickstart_oci.app.signatures.policy import PublisherCheck

    trusted = keys.parse_keys(signing.public_pem(private_key))
    check = PublisherCheck(_Fetcher(bundles), trusted, policy, REPOSITORY)
    return asyncio.run(check.check("tag 42-amd64", DIGEST, manifest=MANIFEST))


def test_an_attestation_is_no_signature_and_no_failure_under_if_present(private_keys):
    key = private_keys["p256"]
    sbom = signing.sigstore_bundle(
        key,
        MANIFEST,
        dsse=True,
        statement=signing.intoto_statement(DIGEST, predicate_type="https://spdx.dev/Document"),
    )
    assert _check("if_present", [sbom], key) == []
    with pytest.raises(SignatureError, match="no signature was found"):
        _check("required", [sbom], key)
    signed = signing.sigstore_bundle(key, MANIFEST, dsse=True)
    (verified,) = _check("required", [sbom, signed], key)
    assert verified.signed_digest == DIGEST


def test_if_present_fails_on_a_bad_signature_next_to_a_good_one(private_keys):
    key, other = private_keys["p256"], private_keys["p384"]
    good = signing.sigstore_bundle(key, MANIFEST)
    bad = signing.sigstore_bundle(other, MANIFEST)
    assert len(_check("required", [good, bad], key)) == 1
    with pytest.raises(SignatureError, match="sigstore bundle signature"):
        _check("if_present", [good, bad], key)


@pytest.mark.parametrize("depth", [200_000])
def test_deeply_nested_json_is_a_signature_error_not_a_crash(private_keys, depth):
    nested = b"[" * depth + b"]" * depth
    trusted = keys.parse_keys(signing.public_pem(private_keys["p256"]))
    with pytest.raises(SignatureError):
        bundle.verify_bundle(nested, trusted, DIGEST)
    with pytest.raises(SignatureError):
        simplesigning.parse_payload(b'{"critical":' + nested + b"}", max_bytes=10 * depth)
