"""Registry protocol helpers: challenges, scopes, pagination links, token caching."""

import asyncio
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
