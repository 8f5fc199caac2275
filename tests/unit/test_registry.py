"""Registry protocol helpers: challenges, scopes, pagination links, token caching."""

import asyncio
import base64
import json

import aiohttp
import pytest
from aiohttp import web

from pulp_kickstart_oci.app.registry import auth, client


def test_challenges_are_parsed_with_quoted_commas():
    scheme, params = auth.parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:fedora/ks:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:fedora/ks:pull,push",
    }
    assert auth.parse_challenge('Basic realm="Registry Realm"') == (
        "basic",
        {"realm": "Registry Realm"},
    )


@pytest.mark.parametrize(
    "url, scope",
    [
        ("https://r.example/v2/fedora/ks/manifests/42", "repository:fedora/ks:pull"),
        ("https://r.example/v2/a/b/c/blobs/sha256:abc", "repository:a/b/c:pull"),
        ("https://r.example/v2/ks/tags/list?n=10", "repository:ks:pull"),
        ("https://r.example/v2/fedora/ks/referrers/sha256:abc", "repository:fedora/ks:pull"),
        ("https://r.example/v2/", None),
    ],
)
def test_scope_follows_the_repository_in_the_url(url, scope):
    assert auth.scope_for(url) == scope


def test_next_page_link_is_resolved_against_the_current_url():
    current = "https://r.example/v2/ks/tags/list?n=2"
    assert (
        client._next_link('</v2/ks/tags/list?n=2&last=42>; rel="next"', current)
        == "https://r.example/v2/ks/tags/list?n=2&last=42"
    )
    assert client._next_link(None, current) is None


def _token_service(tokens, require=None):
    async def token(request):
        if require and request.headers.get("Authorization") != require:
            return web.Response(status=401)
        tokens.append(request.query.get("scope"))
        body = {"token": f"t{len(tokens)}", "expires_in": 300}
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_get("/token", token)
    return app


async def _with_service(app, body):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            return await body(f"http://127.0.0.1:{port}", session)
    finally:
        await runner.cleanup()


def test_bearer_tokens_are_fetched_once_per_scope_and_reused():
    tokens = []

    async def body(base, session):
        state = auth.RegistryAuth()
        url = "http://registry.example/v2/fedora/ks/manifests/42"
        # The registry may name a wider scope than the URL needs; the token still applies.
        challenge = (
            f'Bearer realm="{base}/token",service="svc",scope="repository:fedora/ks:pull,push"'
        )
        assert state.header_for(url) is None
        await state.answer(challenge, url, session)
        first = state.header_for(url)
        same_scope = state.header_for("http://registry.example/v2/fedora/ks/blobs/sha256:1")
        other_scope = state.header_for("http://registry.example/v2/other/manifests/1")
        return first, same_scope, other_scope

    first, same_scope, other_scope = asyncio.run(_with_service(_token_service(tokens), body))
    assert first == same_scope == "Bearer t1"
    assert other_scope is None
    assert tokens == ["repository:fedora/ks:pull,push"]


def test_refused_token_requests_say_so_without_secrets():
    async def body(base, session):
        # The token service on the registry's own origin may get credentials over http.
        state = auth.RegistryAuth("someone", "very-secret", origin=base)
        with pytest.raises(auth.RegistryAuthError) as error:
            await state.answer(
                f'Bearer realm="{base}/token",service="svc"', f"{base}/v2/ks/tags/list", session
            )
        return str(error.value)

    message = asyncio.run(_with_service(_token_service([], require="Basic nope"), body))
    assert "refused the remote's credentials" in message and "401" in message
    assert "very-secret" not in message and "someone" not in message


def test_basic_challenges_use_credentials_once_then_give_up():
    async def body(base, session):
        state = auth.RegistryAuth("someone", "pw")
        url = "http://registry.example/v2/ks/tags/list"
        await state.answer('Basic realm="r"', url, session)
        header = state.header_for(url)
        with pytest.raises(auth.RegistryAuthError, match="refused"):
            await state.answer('Basic realm="r"', url, session)
        anonymous = auth.RegistryAuth()
        with pytest.raises(auth.RegistryAuthError, match="has none"):
            await anonymous.answer('Basic realm="r"', url, session)
        return header

    assert asyncio.run(_with_service(web.Application(), body)) == "Basic c29tZW9uZTpwdw=="


def test_credentials_never_go_to_a_plain_http_realm_on_another_origin():
    requests_seen = []

    async def body(base, session):
        state = auth.RegistryAuth("someone", "very-secret", origin="http://registry.example")
        with pytest.raises(auth.RegistryAuthError, match="over plain http") as error:
            await state.answer(
                f'Bearer realm="{base}/token",service="svc"',
                "http://registry.example/v2/ks/tags/list",
                session,
            )
        return str(error.value)

    message = asyncio.run(_with_service(_token_service(requests_seen), body))
    assert requests_seen == []  # not even asked
    assert "very-secret" not in message


def test_nothing_is_sent_to_another_origin():
    async def body(base, session):
        state = auth.RegistryAuth("someone", "pw", origin="http://registry.example")
        await state.answer('Basic realm="r"', "http://registry.example/v2/ks/tags/list", session)
        assert state.header_for("http://registry.example/v2/ks/tags/list")
        assert state.header_for("http://registry.example:80/v2/ks/tags/list")
        assert state.header_for("http://evil.example/v2/ks/tags/list") is None
        assert state.header_for("https://registry.example/v2/ks/tags/list") is None
        with pytest.raises(auth.RegistryAuthError, match="not the remote's registry"):
            await state.answer('Basic realm="r"', "http://evil.example/v2/ks/x", session)

    asyncio.run(_with_service(web.Application(), body))


def test_an_endless_token_response_is_cut_at_the_cap():
    from django.test import override_settings

    async def endless(request):
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"token": "')
        for _ in range(64):
            await response.write(b"x" * 4096)
        return response

    app = web.Application()
    app.router.add_get("/token", endless)

    async def body(base, session):
        state = auth.RegistryAuth(origin=base)
        with pytest.raises(auth.RegistryAuthError, match="KICKSTART_MAX_TOKEN_BYTES"):
            await state.answer(f'Bearer realm="{base}/token"', f"{base}/v2/ks/tags/list", session)

    with override_settings(KICKSTART_MAX_TOKEN_BYTES=32 * 1024):
        asyncio.run(_with_service(app, body))


# -- publisher signatures: names, filtering, and where the lookaside requests go -------------

DIGEST = "sha256:" + "ab" * 32


def test_signature_tags_and_lookaside_urls_follow_the_published_layouts():
    assert client.cosign_tag(DIGEST) == "sha256-" + "ab" * 32 + ".sig"
    assert client.referrers_tag(DIGEST) == "sha256-" + "ab" * 32
    assert (
        client.lookaside_url("https://sigs.example/store/", "/fedora/ks/", DIGEST, 2)
        == "https://sigs.example/store/fedora/ks@sha256=" + "ab" * 32 + "/signature-2"
    )
    for bad in ("sha512:" + "ab" * 64, "sha256:AB" + "ab" * 31, "sha256:../x", None):
        with pytest.raises(ValueError):
            client.cosign_tag(bad)


def test_referrers_are_filtered_by_artifact_type_and_need_a_sha256_digest():
    bundle = client.SIGSTORE_BUNDLE_V03
    index = {
        "manifests": [
            {"digest": "sha256:" + "1" * 64, "artifactType": bundle},
            {"digest": "sha256:" + "2" * 64, "artifactType": "application/spdx+json"},
            {"digest": "sha512:" + "3" * 128, "artifactType": bundle},
            {"digest": "sha256:" + "4" * 64},
            "not a descriptor",
        ]
    }
    assert [d["digest"][7] for d in client.matching_referrers(index, (bundle,))] == ["1"]
    assert [d["digest"][7] for d in client.matching_referrers(index, None)] == ["1", "2", "4"]
    assert client.matching_referrers({"manifests": "nope"}, (bundle,)) == []
    assert client.matching_referrers([], (bundle,)) == []
    assert client.artifact_type_of({"artifactType": bundle, "config": {"mediaType": "x"}}) == bundle
    assert client.artifact_type_of({"config": {"mediaType": "application/x"}}) == "application/x"
    assert client.artifact_type_of({}) == ""


class _Store:
    """An aiohttp server that records every request's headers; ``routes`` path -> handler."""

    def __init__(self):
        self.seen = []  # (path, headers)
        self.app = web.Application(middlewares=[self._record])

    @web.middleware
    async def _record(self, request, handler):
        self.seen.append((request.path, dict(request.headers)))
        return await handler(request)

    def authorizations(self):
        return [h.get("Authorization") for _p, h in self.seen]


async def _serving(*apps):
    runners, urls = [], []
    for app in apps:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}")
    return runners, urls


def _remote(url, **fields):
    """An unsaved remote (its domain given, so nothing asks the database)."""
    import uuid

    from pulp_kickstart_oci.app.models import KickstartOciRemote

    return KickstartOciRemote(
        name="unit", url=url, upstream_name="fedora/ks", pulp_domain_id=uuid.uuid4(), **fields
    )


async def _close(registry_client):
    """Close the aiohttp sessions the remote's factory opened (pulpcore closes them at exit)."""
    await registry_client.remote.download_factory.aclose()


BASIC = "Basic " + base64.b64encode(b"someone:very-secret").decode()
SIGNATURE_PATH = "/store/fedora/ks@sha256=" + "ab" * 32 + "/signature-{n}"


def _signatures(count, require=None):
    """Handlers serving signature-1..count (404 after); ``require``: an Authorization to ask."""

    async def handler(request):
        if require and request.headers.get("Authorization") != require:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        number = int(request.match_info["n"])
        if number > count:
            return web.Response(status=404)
        return web.Response(body=f"signature {number}".encode())

    return handler


def test_a_lookaside_store_on_another_origin_gets_no_credentials():
    registry, store = _Store(), _Store()

    async def tags(request):
        if request.headers.get("Authorization") != BASIC:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return web.json_response({"tags": ["42"]})

    registry.app.router.add_get("/v2/fedora/ks/tags/list", tags)
    registry.app.router.add_get(SIGNATURE_PATH, _signatures(1, require=BASIC))
    store.app.router.add_get(SIGNATURE_PATH, _signatures(2))

    async def body():
        runners, (registry_url, store_url) = await _serving(registry.app, store.app)
        remote = _remote(
            registry_url,
            username="someone",
            password="very-secret",
            headers=[{"X-Api-Key": "also-secret"}],
        )
        registry_client = client.RegistryClient(remote)
        try:
            assert await registry_client.list_tags() == ["42"]  # the remote learns: basic
            own = await registry_client.lookaside_signatures(registry_url + "/store", DIGEST)
            other = await registry_client.lookaside_signatures(store_url + "/store/", DIGEST)
            return own, other, store_url
        finally:
            await _close(registry_client)
            for runner in runners:
                await runner.cleanup()

    own, other, store_url = asyncio.run(body())
    assert [s.data for s in own] == [b"signature 1"]
    assert [(s.number, s.data) for s in other] == [(1, b"signature 1"), (2, b"signature 2")]
    assert other[0].url == store_url + SIGNATURE_PATH.format(n=1)
    # The remote's origin got the credentials (and its custom header) for its own store...
    assert registry.seen[-1][0].endswith("/signature-2")
    assert registry.seen[-2][1].get("Authorization") == BASIC
    assert registry.seen[-2][1].get("X-Api-Key") == "also-secret"
    # ... the other origin nothing: no Authorization, no custom headers; read up to the 404.
    assert [p.rsplit("-", 1)[1] for p, _h in store.seen] == ["1", "2", "3"]
    assert store.authorizations() == [None, None, None]
    assert all("X-Api-Key" not in h for _p, h in store.seen)


def test_a_lookaside_store_on_another_origin_asking_for_credentials_gets_none():
    store = _Store()
    store.app.router.add_get(SIGNATURE_PATH, _signatures(1, require=BASIC))

    async def body():
        runners, (store_url,) = await _serving(store.app)
        registry_client = client.RegistryClient(
            _remote("http://registry.invalid", username="someone", password="very-secret")
        )
        try:
            with pytest.raises(client.RegistryError) as error:
                await registry_client.lookaside_signatures(store_url + "/store", DIGEST)
            return str(error.value)
        finally:
            await _close(registry_client)
            for runner in runners:
                await runner.cleanup()

    message = asyncio.run(body())
    assert "not the remote's registry" in message and "signature-1" in message
    assert "very-secret" not in message and "someone" not in message
    assert store.authorizations() == [None]


def test_lookaside_reads_are_capped_in_size_and_count_and_only_http():
    from django.test import override_settings

    store = _Store()
    store.app.router.add_get(SIGNATURE_PATH, _signatures(100))

    async def body():
        runners, (store_url,) = await _serving(store.app)
        registry_client = client.RegistryClient(_remote(store_url))
        try:
            errors = []
            for base in ("file:///etc", "ftp://x.example/s", "http://u:p@x.example/s"):
                with pytest.raises(client.RegistryError) as error:
                    await registry_client.lookaside_signatures(base, DIGEST)
                errors.append(str(error.value))
            with pytest.raises(client.RegistryError, match="more than 16 signatures"):
                await registry_client.lookaside_signatures(store_url + "/store", DIGEST)
            with override_settings(KICKSTART_MAX_SIGNATURE_BYTES=5):
                with pytest.raises(client.RegistryError) as error:
                    await registry_client.lookaside_signatures(store_url + "/store", DIGEST)
                errors.append(str(error.value))
            return errors
        finally:
            await _close(registry_client)
            for runner in runners:
                await runner.cleanup()

    file_url, ftp_url, userinfo, too_large = asyncio.run(body())
    assert "only http(s)" in file_url and "only http(s)" in ftp_url
    assert "credentials in the URL" in userinfo and "u:p" not in userinfo
    assert "KICKSTART_MAX_SIGNATURE_BYTES" in too_large and "signature-1" in too_large
    assert len(store.seen) == 17 + 1  # 17 for the count cap, then one cut off at the cap


def test_referrers_api_results_are_fetched_and_checked():
    """A registry with the referrers API: filtered by artifactType, subject and digests checked."""
    import hashlib

    bundle_type = client.SIGSTORE_BUNDLE_V03
    blobs, manifests = {}, {}

    def put_blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": bundle_type, "digest": digest, "size": len(data)}

    def put_manifest(document):
        raw = json.dumps(document).encode()
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        manifests[digest] = raw
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest}

    def referrer(subject, data, artifact_type=bundle_type):
        return put_manifest(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": artifact_type,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json"},
                "layers": [put_blob(data)],
                "subject": {"digest": subject},
            }
        ) | {"artifactType": artifact_type}

    good = referrer(DIGEST, b'{"bundle": 1}')
    other_type = referrer(DIGEST, b"sbom", artifact_type="application/spdx+json")
    other_subject = referrer("sha256:" + "cd" * 32, b'{"bundle": 2}')
    # ef..'s list names a referrer whose subject is another manifest (cd..).
    lists = {DIGEST: [good, other_type], "sha256:" + "ef" * 32: [other_subject]}
    registry = _Store()

    async def list_referrers(request):
        found = lists.get(request.match_info["digest"])
        if found is None:
            return web.Response(status=404)
        document = {"schemaVersion": 2, "mediaType": client.artifact.OCI_INDEX, "manifests": found}
        return web.json_response(document, content_type=client.artifact.OCI_INDEX)

    async def get_manifest(request):
        raw = manifests.get(request.match_info["reference"])
        if raw is None:
            return web.Response(status=404)
        return web.Response(body=raw, content_type="application/vnd.oci.image.manifest.v1+json")

    async def get_blob(request):
        return web.Response(body=blobs[request.match_info["digest"]])

    registry.app.router.add_get("/v2/fedora/ks/referrers/{digest}", list_referrers)
    registry.app.router.add_get("/v2/fedora/ks/manifests/{reference}", get_manifest)
    registry.app.router.add_get("/v2/fedora/ks/blobs/{digest}", get_blob)

    async def body():
        runners, (registry_url,) = await _serving(registry.app)
        registry_client = client.RegistryClient(_remote(registry_url))
        try:
            found = await registry_client.referrers(DIGEST)
            everything = await registry_client.referrers(DIGEST, artifact_types=None)
            with pytest.raises(client.RegistryError) as error:
                await registry_client.referrers("sha256:" + "ef" * 32)
            # No referrers API answer for this one and no tag either: nothing.
            none = await registry_client.referrers("sha256:" + "01" * 32)
            # The registry now sends other bytes for the bundle layer.
            blobs[found[0].layer_digest] = b"swapped"
            with pytest.raises(client.RegistryError) as tampered:
                await registry_client.referrers(DIGEST)
            return found, everything, str(error.value), none, str(tampered.value)
        finally:
            await _close(registry_client)
            for runner in runners:
                await runner.cleanup()

    found, everything, wrong_subject, none, tampered = asyncio.run(body())
    assert [(r.manifest_digest, r.data, r.via) for r in found] == [
        (good["digest"], b'{"bundle": 1}', "api")
    ]
    assert found[0].artifact_type == found[0].media_type == bundle_type
    assert sorted(r.data for r in everything) == [b"sbom", b'{"bundle": 1}']
    assert "its subject is sha256:" + "cd" * 32 in wrong_subject
    assert none == []
    assert "sent bytes whose digest is" in tampered and found[0].layer_digest in tampered
    asked = [p for p, _h in registry.seen if "/referrers/" in p]
    assert asked[0].endswith(DIGEST)


def test_a_realm_with_userinfo_is_named_without_it():
    async def body(base, session):
        state = auth.RegistryAuth("someone", "pw", origin="http://registry.example")
        realm = "http://evil:stolen@evil.example/token"
        with pytest.raises(auth.RegistryAuthError) as error:
            await state.answer(
                f'Bearer realm="{realm}"', "http://registry.example/v2/ks/tags/list", session
            )
        return str(error.value)

    message = asyncio.run(_with_service(web.Application(), body))
    assert "evil.example" in message and "stolen" not in message
