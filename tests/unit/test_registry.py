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
        state = auth.RegistryAuth("someone", "very-secret")
        with pytest.raises(auth.RegistryAuthError) as error:
            await state.answer(
                f'Bearer realm="{base}/token",service="svc"',
                "http://registry.example/v2/ks/tags/list",
                session,
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
