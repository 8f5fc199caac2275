"""Property-based tests of every parser of upstream registry documents (issue 18, section 5).

For arbitrary bytes and for near-valid documents with hostile values (wrong JSON
types, bad digests, hostile titles, deep nesting, truncation), each parser raises
nothing but the error its callers catch, and what it returns obeys the grammars.
dnf documents are in test_parser_properties_dnf.py, signature payloads and keys in
test_parser_properties_signatures.py.

Runs are deterministic (``derandomize``, no example database) so CI never flakes;
every crash found is pinned as an ``@example``.

Parsers and the error their callers catch:

| parser | may raise | caller |
| --- | --- | --- |
| ``artifact.parse_index``, ``parse_manifest`` | ``InvalidArtifact`` | ``sources/registry.py`` |
| ``artifact.media_type_of`` | nothing | ``registry/client.py`` |
| ``tags.select`` / ``invalid`` / ``split`` | nothing | ``sources/registry.py`` |
| ``grammar.matches`` / ``check`` | ``GrammarError`` (check) | everywhere values enter |
| ``client.matching_referrers``, ``artifact_type_of``, ``_next_link`` | nothing | the client |
| ``auth.parse_challenge``, the token response | ``RegistryAuthError`` | the downloader |
"""

import asyncio
import json
import os
import tracemalloc

import pytest
from aiohttp import ClientSession, web
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app.netboot import artifact, grammar, layout, tags
from pulp_kickstart_oci.app.registry import auth, client

MiB = 1 << 20

# Deterministic, database-less, no timing checks: the same examples on every run.
PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("KICKSTART_PROPERTY_EXAMPLES", 300)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- strategies -----------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
HEX = "0123456789abcdef"
GOOD_DIGEST = st.text(HEX, min_size=64, max_size=64).map(lambda h: f"sha256:{h}")
DIGESTS = GOOD_DIGEST | st.sampled_from(
    [
        "sha256:" + "A" * 64,
        "sha512:" + "a" * 128,
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 64 + "\n",
        "sha256:../../etc",
        "",
    ]
)
TITLES = st.sampled_from(
    [
        "vmlinuz",
        "initrd.img",
        "install.img",
        "boot.iso",
        "shimx64.efi",
        "grubx64.efi",
        "pxelinux.0",
        "ldlinux.c32",
        "images/pxeboot/vmlinuz",
        "../vmlinuz",
        "/etc/passwd",
        "a//b",
        "./x",
        "vmlinuz inst.ks=http://evil",
        "vmlinuz\ninitrd evil",
        "${x}",
        "a" * 300,
        "VMLINUZ",
    ]
) | st.text(max_size=30)
LAYER_TYPES = st.sampled_from(
    [
        artifact.NETBOOT_FILE,
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/x-netboot-file+zstd",
        "",
    ]
)


def maybe(valid):
    """The valid value most of the time, anything JSON sometimes."""
    return st.one_of(valid, valid, JSON)


def _descriptor(media_types, extra=None):
    return st.fixed_dictionaries(
        {"digest": maybe(DIGESTS), "size": maybe(st.integers(min_value=0, max_value=2**40))},
        optional={
            "mediaType": maybe(media_types),
            "annotations": maybe(
                st.dictionaries(
                    st.sampled_from([artifact.TITLE, artifact.DRAFT_OS_ARCH]) | st.text(max_size=8),
                    maybe(TITLES),
                    max_size=3,
                )
            ),
            **(extra or {}),
        },
    )


LAYERS = _descriptor(LAYER_TYPES)
MANIFESTS = st.fixed_dictionaries(
    {},
    optional={
        "schemaVersion": maybe(st.just(2)),
        "mediaType": maybe(st.sampled_from(artifact.MANIFEST_TYPES + artifact.INDEX_TYPES)),
        "artifactType": maybe(st.sampled_from([artifact.NETBOOT_ARTIFACT_TYPE, "x/y"])),
        "config": maybe(
            st.fixed_dictionaries(
                {"mediaType": maybe(st.sampled_from([artifact.NETBOOT_ARTIFACT_TYPE, "a/b"]))}
            )
        ),
        "layers": maybe(st.lists(maybe(LAYERS), max_size=6)),
        "annotations": maybe(st.dictionaries(st.text(max_size=8), st.text(max_size=8))),
    },
)
PLATFORMS = st.fixed_dictionaries(
    {},
    optional={
        "architecture": maybe(st.sampled_from(["amd64", "arm64", "unknown", "x86_64", ""])),
        "os": maybe(st.just("linux")),
        "os.version": maybe(st.sampled_from(["42", "42\nevil", ""])),
    },
)
ENTRIES = _descriptor(
    st.sampled_from(artifact.MANIFEST_TYPES + artifact.INDEX_TYPES), {"platform": maybe(PLATFORMS)}
)
INDEXES = st.fixed_dictionaries(
    {},
    optional={
        "mediaType": maybe(st.sampled_from(artifact.INDEX_TYPES)),
        "manifests": maybe(st.lists(maybe(ENTRIES), max_size=6)),
        "annotations": maybe(st.dictionaries(st.text(max_size=8), st.text(max_size=8))),
    },
)


def raw(documents):
    """JSON bytes of the documents, and some damaged on the way: cut, padded, not JSON at all."""
    encoded = documents.map(lambda document: json.dumps(document).encode())
    return st.one_of(
        encoded,
        encoded,
        st.tuples(encoded, st.integers(min_value=0, max_value=200)).map(lambda t: t[0][: t[1]]),
        encoded.map(lambda data: b"\xef\xbb\xbf" + data),
        st.binary(max_size=200),
    )


DEEP = b"[" * 100_000 + b"]" * 100_000  # json's C decoder recurses once per level


# --- OCI indexes and manifests ---------------------------------------------------------------


@PROPERTY
@given(raw(MANIFESTS))
@example(DEEP)
@example(b'{"layers": 5}')
@example(  # "$" let a trailing newline through the digest check: the tree got "<hex>\n"
    json.dumps(
        {
            "layers": [
                {
                    "digest": "sha256:" + "a" * 64 + "\n",
                    "size": 1,
                    "annotations": {artifact.TITLE: "vmlinuz"},
                }
            ]
        }
    ).encode()
)
@example(b'{"layers": [{"digest": "sha256:' + b"a" * 64 + b'", "size": 1, "mediaType": []}]}')
def test_parse_manifest_raises_only_invalid_artifact(data):
    try:
        manifest = artifact.parse_manifest(data, "sha256:" + "0" * 64)
    except artifact.InvalidArtifact:
        return
    assert manifest.files
    for item in manifest.files:
        assert grammar.matches(grammar.PATH, item.path), item.path
        assert item.role in layout.ROLES
        assert len(item.sha256) == 64 and set(item.sha256) <= set(HEX)
        assert isinstance(item.size, int) and not isinstance(item.size, bool) and item.size >= 0
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in manifest.annotations.items())


@PROPERTY
@given(raw(INDEXES))
@example(DEEP)
@example(b'{"manifests": 7}')
@example(
    json.dumps(
        {
            "manifests": [
                {
                    "digest": "sha256:" + "b" * 64 + "\n",
                    "size": 1,
                    "mediaType": artifact.OCI_MANIFEST,
                    "platform": {"architecture": "amd64"},
                }
            ]
        }
    ).encode()
)
@example(b'{"manifests": true}')
def test_parse_index_raises_only_invalid_artifact(data):
    try:
        entries, annotations = artifact.parse_index(data, "sha256:" + "0" * 64)
    except artifact.InvalidArtifact:
        return
    for entry in entries:
        assert entry.digest.startswith("sha256:") and len(entry.digest) == 71
        assert isinstance(entry.oci_arch, str) and entry.oci_arch not in ("", "unknown")
        assert isinstance(entry.os_version, str)
    assert all(isinstance(v, str) for v in annotations.values())


@PROPERTY
@given(raw(MANIFESTS | INDEXES | JSON), st.none() | st.text(max_size=40))
@example(DEEP, None)
@example(b"[]", "application/vnd.oci.image.index.v1+json")
def test_media_type_of_never_raises(data, content_type):
    assert isinstance(artifact.media_type_of(data, content_type), str)


@pytest.mark.parametrize(
    "document",
    [
        b'{"layers": ['
        + b",".join([b'{"digest": "sha256:' + b"a" * 64 + b'", "size": 1}'] * 40_000)
        + b"]}",
        b'{"manifests": [' + b",".join([b"1"] * 1_500_000) + b"]}",
        b'{"annotations": {"a": "' + b"x" * (4 * MiB - 40) + b'"}}',
    ],
    ids=["40,000 layers", "1.5 million entries", "one 4 MiB string"],
)
def test_a_document_at_the_manifest_cap_costs_a_bounded_multiple_of_it(document):
    """KICKSTART_MAX_MANIFEST_BYTES (4 MiB) bounds a manifest; json turns it into objects
    worth a bounded multiple of that, then the parser refuses or returns."""
    assert len(document) <= 4 * MiB
    tracemalloc.start()
    try:
        for parse in (artifact.parse_manifest, artifact.parse_index):
            try:
                parse(document, "sha256:" + "0" * 64)
            except artifact.InvalidArtifact:
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * len(document), peak


# --- tags and grammars ------------------------------------------------------------------------

TAG_TEXT = st.sampled_from(
    ["42", "42-amd64", "9.4-arm64", "rawhide", "42-beta", "-42", "42-", "4" * 200, "42\n", "42 x"]
) | st.text(max_size=40)
GLOBS = st.none() | st.lists(
    st.sampled_from(["*", "4?", "[", "[!", "**", "42-*"]) | st.text(max_size=10), max_size=3
)


@PROPERTY
@given(st.lists(TAG_TEXT, max_size=20), GLOBS, GLOBS)
def test_tag_selection_never_raises_and_keeps_to_the_grammar(upstream, include, exclude):
    chosen = tags.select(upstream, include, exclude)
    refused = tags.invalid(upstream)
    for tag in chosen:
        assert grammar.matches(grammar.TAG, tag)
        assert grammar.matches(grammar.RELEASE, tags.split(tag)[0])
        assert tag not in refused
    for tag in upstream:
        release, oci_arch = tags.split(tag)
        assert isinstance(release, str) and oci_arch in (
            None,
            "amd64",
            "arm64",
            "ppc64le",
            "s390x",
            "386",
            "riscv64",
        )


@PROPERTY
@given(JSON | st.text(max_size=2000) | st.binary(max_size=50))
@example("a/" * 600)
@example("x" * 1025)
def test_grammar_checks_raise_only_grammar_error(value):
    for pattern in (grammar.TAG, grammar.RELEASE, grammar.ARCH, grammar.PATH, grammar.FAMILY):
        matched = grammar.matches(pattern, value)
        assert matched in (True, False)
        try:
            assert grammar.check(pattern, value, "value") == value
            assert matched
        except grammar.GrammarError:
            assert not matched
        if matched:  # nothing that could end a line or split a word of a boot script
            assert value.isprintable() and value == value.strip()
            assert " " not in value or pattern is grammar.FAMILY


# --- registry client: referrers, tag pages, Link headers ---------------------------------------

REFERRER_INDEXES = st.fixed_dictionaries(
    {},
    optional={
        "manifests": maybe(
            st.lists(
                maybe(
                    _descriptor(
                        st.just(artifact.OCI_MANIFEST),
                        {"artifactType": maybe(st.sampled_from(client.SIGSTORE_BUNDLE_TYPES))},
                    )
                ),
                max_size=6,
            )
        )
    },
)


@PROPERTY
@given(REFERRER_INDEXES | JSON, st.none() | st.just(()) | st.just(client.SIGSTORE_BUNDLE_TYPES))
def test_matching_referrers_never_raises(index, artifact_types):
    for descriptor in client.matching_referrers(index, artifact_types):
        assert isinstance(descriptor, dict) and isinstance(descriptor["digest"], str)
        if artifact_types:
            assert descriptor.get("artifactType") in artifact_types


def test_matching_referrers_keeps_only_sha256_digests():
    digest = "sha256:" + "a" * 64
    index = {"manifests": [{"digest": digest + "\n"}, {"digest": digest}]}
    assert [d["digest"] for d in client.matching_referrers(index)] == [digest]


@PROPERTY
@given(MANIFESTS | st.dictionaries(st.text(max_size=10), JSON, max_size=4))
def test_artifact_type_of_is_always_a_string(document):
    assert isinstance(client.artifact_type_of(document), str)


LINKS = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.tuples(
        st.sampled_from(
            ["", "/v2/x/tags/list?n=2&last=b", "http://[::1]:5000/v2/x", "//other/v2", "http://[x"]
        )
        | st.text(max_size=30),
        st.sampled_from(['rel="next"', "rel=next", 'rel="prev"', ""]),
    ).map(lambda t: f"<{t[0]}>; {t[1]}"),
)


@PROPERTY
@given(LINKS)
@example('<http://[x>; rel="next"')
def test_next_link_is_none_or_a_url(header):
    found = client._next_link(header, "http://registry.example:5000/v2/x/tags/list?n=100")
    assert found is None or isinstance(found, str)


# --- auth: challenges and token responses ---------------------------------------------------


@PROPERTY
@given(
    st.none()
    | st.text(max_size=120)
    | st.lists(
        st.tuples(
            st.sampled_from(["realm", "service", "scope", "error", "REALM", "x-y"])
            | st.text(max_size=6),
            st.text(max_size=20),
        ),
        max_size=5,
    ).map(lambda pairs: "Bearer " + ",".join(f'{k}="{v}"' for k, v in pairs))
)
@example('Bearer realm="a\\"b",service=x,,scope')
def test_parse_challenge_never_raises(header):
    scheme, params = auth.parse_challenge(header)
    assert isinstance(scheme, str) and scheme == scheme.lower()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


def _answer(body):
    """What RegistryAuth.answer makes of a token service that answers ``body`` (a real server)."""

    async def scenario():
        async def token(_request):
            return web.Response(body=body, content_type="application/json")

        app = web.Application()
        app.router.add_get("/token", token)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        origin = f"http://127.0.0.1:{port}"
        state = auth.RegistryAuth(origin=origin)
        url = f"{origin}/v2/repo/manifests/42"
        try:
            async with ClientSession() as session:
                await state.answer(f'Bearer realm="{origin}/token",service="reg"', url, session)
            return state.header_for(url)
        finally:
            await runner.cleanup()

    return asyncio.run(scenario())


TOKEN_BODIES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "token": maybe(st.sampled_from(["abc.def.ghi", "a b", "x\r\nInjected: 1", ""])),
            "access_token": maybe(st.just("t0ken")),
            "expires_in": maybe(
                st.integers(min_value=-10, max_value=10**6) | st.sampled_from([1e400, "60", "soon"])
            ),
        },
    ).map(lambda document: json.dumps(document).encode()),
    st.binary(max_size=100),
)


@settings(PROPERTY, max_examples=60)
@given(TOKEN_BODIES)
@example(b"[" * 60_000)
@example(b'{"token": "t", "expires_in": 1e400}')
@example(b'{"token": ["not", "a", "string"]}')
@example(b'{"token": "x\\r\\nInjected: 1"}')
def test_a_token_response_gives_a_plain_bearer_token_or_a_registry_auth_error(body):
    try:
        header = _answer(body)
    except auth.RegistryAuthError:
        return
    assert header.startswith("Bearer ")
    token = header[len("Bearer ") :]
    assert token and token.isprintable() and " " not in token
