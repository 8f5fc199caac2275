"""Property-based tests of the publisher-signature parsers (issue 18, section 5).

Simple-signing payloads, docker references, cosign layers, sigstore bundles,
OpenPGP signed messages and the admin's key text: for near-valid documents with
hostile values and for random bytes, each raises nothing but ``SignatureError``
(``KeyBlockError`` and ``NotASignature`` are kinds of it), which the registry
source turns into a failed sync naming the tag and the serializer into HTTP 400.
Hostile payloads are signed with a trusted key here, so the parsers behind the
signature check are reached too. Deterministic (``derandomize``, no database);
each crash found is pinned as an ``@example``.
"""

import base64
import hashlib
import json
import os
import tracemalloc
import warnings

import pysequoia
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app import signatures
from pulp_kickstart_oci.app.signatures import bundle, simplesigning

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("KICKSTART_PROPERTY_EXAMPLES", 200)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MANIFEST = b'{"schemaVersion": 2}'
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
REPOSITORY = "registry.example:5000/fedora/netboot"

EC_KEY = ec.generate_private_key(ec.SECP256R1())
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    PGP_CERT = pysequoia.Cert.generate("Publisher <publisher@example.invalid>")
    PGP_SIGNER = PGP_CERT.secrets.signer()
PEM_TEXT = (
    EC_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
KEYS = signatures.parse_keys(PEM_TEXT + str(PGP_CERT))
assert len(KEYS.pem) == 1 and len(KEYS.openpgp) == 1


def ec_sign(data):
    return EC_KEY.sign(data, ec.ECDSA(hashes.SHA256()))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


def maybe(valid):
    return st.one_of(valid, valid, JSON)


DIGESTS = st.sampled_from([DIGEST, "sha256:" + "A" * 64, DIGEST + "\n", "sha512:" + "a" * 128, ""])
REFERENCES = st.sampled_from(
    [
        REPOSITORY,
        REPOSITORY + ":42",
        REPOSITORY + "@" + DIGEST,
        "fedora",
        "docker.io/library/fedora",
        "REGISTRY.example/x",
        "registry.example/Upper",
        "[::1]:5000/x",
        "a" * 300,
        "x/" * 200 + "y",
        "registry.example/x:" + "t" * 200,
        "registry.example/x\n",
        "",
    ]
) | st.text(max_size=30)
PAYLOAD_DOCUMENTS = st.fixed_dictionaries(
    {
        "critical": maybe(
            st.fixed_dictionaries(
                {
                    "type": maybe(st.sampled_from(simplesigning.TYPES)),
                    "image": maybe(
                        st.fixed_dictionaries({"docker-manifest-digest": maybe(DIGESTS)})
                    ),
                    "identity": maybe(
                        st.fixed_dictionaries({"docker-reference": maybe(REFERENCES)})
                    ),
                },
                optional={"extra": JSON},
            )
        )
    },
    optional={
        "optional": maybe(st.none() | st.dictionaries(st.text(max_size=8), JSON, max_size=3))
    },
)
PAYLOADS = st.one_of(
    PAYLOAD_DOCUMENTS.map(lambda d: json.dumps(d).encode()),
    PAYLOAD_DOCUMENTS.map(lambda d: json.dumps(d).encode()),
    st.binary(max_size=120),
)
DEEP = b"[" * 100_000
DUPLICATE = (
    b'{"critical": {"type": "cosign container image signature", "type": "x",'
    b' "image": {"docker-manifest-digest": "' + DIGEST.encode() + b'"},'
    b' "identity": {"docker-reference": "x"}}}'
)


@PROPERTY
@given(PAYLOADS)
@example(DEEP)
@example(DUPLICATE)
@example(b"\xff\xfe{\x00}\x00")
def test_parse_payload_raises_only_signature_error(data):
    try:
        payload = simplesigning.parse_payload(data)
    except signatures.SignatureError:
        return
    assert payload.type in simplesigning.TYPES
    assert simplesigning.DIGEST.fullmatch(payload.manifest_digest)
    assert isinstance(payload.reference, str)
    assert payload.optional is None or isinstance(payload.optional, dict)


@PROPERTY
@given(REFERENCES)
@example("a" * 200_000 + "!")
@example("a." * 50_000 + "-/x")
@example("registry.example/" + "a-" * 50_000 + "!")
def test_repository_of_raises_only_signature_error(reference):
    try:
        repository = simplesigning.repository_of(reference)
    except signatures.SignatureError:
        return
    assert repository == repository.strip() and "\n" not in repository
    assert simplesigning.repository_of(repository) == repository  # normal form is stable


@PROPERTY
@given(PAYLOADS, st.booleans(), st.booleans())
def test_a_signed_hostile_cosign_payload_raises_only_signature_error(data, signed, match):
    signature = base64.b64encode(ec_sign(data) if signed else b"not a signature").decode()
    try:
        verification = signatures.verify_cosign(
            data, signature, KEYS, DIGEST, REPOSITORY, match_identity=match
        )
    except signatures.SignatureError:
        return
    assert signed and verification.signed_digest == DIGEST


@PROPERTY
@given(st.text(max_size=40) | st.none() | st.integers(), st.binary(max_size=40))
@example("=" * 20_000, b"")
def test_cosign_signature_text_raises_only_signature_error(signature, payload):
    try:
        signatures.verify_payload_signature(payload, signature, KEYS)
    except signatures.SignatureError:
        return
    raise AssertionError("a random signature verified")


def b64(data):
    return base64.b64encode(data).decode()


STATEMENTS = st.fixed_dictionaries(
    {
        "_type": maybe(st.sampled_from(bundle.STATEMENT_TYPES)),
        "subject": maybe(
            st.lists(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "digest": maybe(
                                st.fixed_dictionaries(
                                    {"sha256": maybe(st.sampled_from([DIGEST[7:], "XYZ", 5]))}
                                )
                            )
                        }
                    )
                ),
                max_size=3,
            )
        ),
        "predicateType": maybe(st.sampled_from([bundle.COSIGN_SIGN_PREDICATE, "x"])),
    }
)


@st.composite
def bundles(draw):
    kind = draw(st.sampled_from(["messageSignature", "dsseEnvelope", "both", "none"]))
    document = {
        "mediaType": draw(maybe(st.sampled_from(bundle.MEDIA_TYPES))),
        "verificationMaterial": draw(
            maybe(
                st.sampled_from(
                    [{"publicKey": {"hint": "k"}}, {"certificate": {}}, {}, {"publicKey": None}]
                )
            )
        ),
    }
    if kind in ("messageSignature", "both"):
        signed = hashlib.sha256(MANIFEST).digest()
        document["messageSignature"] = draw(
            maybe(
                st.fixed_dictionaries(
                    {
                        "messageDigest": maybe(
                            st.fixed_dictionaries(
                                {
                                    "algorithm": maybe(
                                        st.sampled_from(["SHA2_256", "SHA2_384", "MD5"])
                                    ),
                                    "digest": maybe(st.sampled_from([b64(signed), "!!", ""])),
                                }
                            )
                        ),
                        "signature": maybe(
                            st.sampled_from([b64(ec_sign(MANIFEST)), b64(b"x"), "-_", ""])
                        ),
                    }
                )
            )
        )
    if kind in ("dsseEnvelope", "both"):
        payload_type = draw(maybe(st.just(bundle.INTOTO_PAYLOAD_TYPE)))
        statement = json.dumps(draw(STATEMENTS)).encode()
        if draw(st.booleans()):
            statement = draw(st.binary(max_size=40))
        signature = b"nope"
        if isinstance(payload_type, str) and draw(st.booleans()):
            signature = ec_sign(bundle.pae(payload_type, statement))
        document["dsseEnvelope"] = draw(
            maybe(
                st.fixed_dictionaries(
                    {
                        "payloadType": st.just(payload_type),
                        "payload": maybe(st.just(b64(statement))),
                        "signatures": maybe(
                            st.lists(maybe(st.fixed_dictionaries({"sig": st.just(b64(signature))})))
                        ),
                    }
                )
            )
        )
    return json.dumps(document).encode()


UNHASHABLE_ALGORITHM = json.dumps(
    {
        "mediaType": bundle.MEDIA_TYPES[-1],
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "messageSignature": {
            "messageDigest": {"algorithm": [], "digest": ""},
            "signature": b64(b"x"),
        },
    }
).encode()


@PROPERTY
@given(bundles() | st.binary(max_size=100), st.sampled_from([None, MANIFEST]))
@example(DEEP, None)
@example(UNHASHABLE_ALGORITHM, None)  # {"algorithm": []} raised TypeError (unhashable)
def test_a_sigstore_bundle_raises_only_signature_error(document, manifest):
    try:
        verification = signatures.verify_bundle(document, KEYS, DIGEST, manifest=manifest)
    except signatures.SignatureError:
        return
    assert verification.signed_digest == DIGEST


@PROPERTY
@given(PAYLOADS, st.sampled_from(["signed", "armored", "random", "cut"]), st.booleans())
def test_an_openpgp_signature_raises_only_signature_error(data, form, match):
    if form == "random":
        message = data
    else:
        message = pysequoia.sign(PGP_SIGNER, data, armor=form == "armored")
        if form == "cut":
            message = message[: len(message) // 2]
    try:
        verification = signatures.verify_openpgp(
            message, KEYS, DIGEST, REPOSITORY, match_identity=match
        )
    except signatures.SignatureError:
        return
    assert form in ("signed", "armored") and verification.signed_digest == DIGEST


BLOCK_LABELS = st.sampled_from(
    [
        "PUBLIC KEY",
        "PGP PUBLIC KEY BLOCK",
        "PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
        "CERTIFICATE",
        "X",
    ]
)


@st.composite
def key_texts(draw):
    parts = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        choice = draw(st.sampled_from(["pem", "pgp", "made", "stray"]))
        if choice == "pem":
            parts.append(PEM_TEXT)
        elif choice == "pgp":
            parts.append(str(PGP_CERT))
        elif choice == "stray":
            parts.append(draw(st.text(max_size=20)))
        else:
            label = draw(BLOCK_LABELS)
            body = draw(
                st.sampled_from([b64(os.urandom(40)), PEM_TEXT[27:-26], "", "é"])
                | st.text(max_size=30)
            )
            end = draw(st.sampled_from([label, label, "OTHER"]))
            parts.append(f"-----BEGIN {label}-----\n{body}\n-----END {end}-----\n")
    return "\n".join(parts)


@PROPERTY
@given(key_texts() | st.text(max_size=100) | st.none())
@example("-----BEGIN PUBLIC KEY-----\né\n-----END PUBLIC KEY-----")
def test_key_text_raises_only_key_block_error(text):
    try:
        keys = signatures.parse_keys(text)
    except signatures.KeyBlockError as exc:
        assert str(exc)
        return
    assert len(keys) == len(set(keys.ids))
    for key in keys.describe():
        assert key["kind"] in ("PEM", "OpenPGP")


def test_signature_documents_at_their_caps_cost_a_bounded_multiple_of_them():
    """A payload at its 256 KiB cap and a bundle at its 1 MiB cap: JSON of many values."""
    payload = b'{"critical": {"type": "x", "extra": [' + b"0," * 120_000 + b"0]}}"
    document = b'{"mediaType": "x", "junk": [' + b"0," * 500_000 + b"0]}"
    assert len(payload) <= simplesigning.MAX_PAYLOAD_BYTES
    assert len(document) <= bundle.MAX_BUNDLE_BYTES
    tracemalloc.start()
    try:
        for parse in (
            lambda: simplesigning.parse_payload(payload),
            lambda: signatures.verify_bundle(document, KEYS, DIGEST),
        ):
            try:
                parse()
            except signatures.SignatureError:
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * len(document), peak
