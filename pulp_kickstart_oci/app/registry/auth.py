"""Registry authentication state, one instance per remote.

Registries answer 401 with a ``WWW-Authenticate`` challenge. ``Bearer`` means:
ask the named realm for a token (anonymously, or with the remote's
credentials), then retry with it; tokens are cached per scope until they
expire. ``Basic`` means: retry with the remote's credentials. Credentials and
tokens are never logged and never put in error messages.
"""

import asyncio
import base64
import json
import re
import time
from gettext import gettext as _
from urllib.parse import urlencode, urlparse

import aiohttp
from django.conf import settings

from ..upstream_errors import SafeUpstreamError

_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
# Refresh a little early so a token does not expire between check and use.
_EXPIRY_MARGIN = 10
_DEFAULT_TOKEN_LIFETIME = 60


class RegistryAuthError(SafeUpstreamError):
    """Authentication with the registry failed; the message names the registry, never secrets."""


def parse_challenge(header):
    """Split ``Bearer realm="...",service="..."`` into ("bearer", {"realm": ..., ...})."""
    scheme, _space, rest = (header or "").strip().partition(" ")
    params = {}
    for match in _PARAM.finditer(rest):
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = value.replace('\\"', '"')
    return scheme.lower(), params


def origin_of(url):
    """scheme://host:port of a URL, with the default port made explicit."""
    parts = urlparse(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), port)


def _authority(url):
    """host[:port] of a URL for messages: an upstream's userinfo is never repeated."""
    parts = urlparse(url)
    netloc = parts.netloc.rpartition("@")[2]
    return netloc or parts.path


def _too_large(realm_host, host, limit):
    return RegistryAuthError(
        _(
            "token service {realm} for registry {host} sent more than "
            "KICKSTART_MAX_TOKEN_BYTES ({limit} bytes)"
        ).format(realm=realm_host, host=host, limit=limit)
    )


# RFC 6750 b64token: what may follow "Bearer " in an Authorization header.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_MAX_TOKEN_LIFETIME = 24 * 3600


def parse_token_response(body):
    """(token, lifetime in seconds) of a token service's JSON answer; ValueError says why.

    Pure and bounded: the token must be an RFC 6750 b64token (nothing that could
    break the Authorization header), the lifetime a number (clamped to a day).
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError(_("the answer is not JSON")) from None
    if not isinstance(document, dict):
        raise ValueError(_("the answer is not a JSON object"))
    token = document.get("token") or document.get("access_token")
    if not isinstance(token, str) or not _B64TOKEN.fullmatch(token):
        raise ValueError(_("no token, or a token with characters a bearer token cannot hold"))
    lifetime = document.get("expires_in") or _DEFAULT_TOKEN_LIFETIME
    if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
        raise ValueError(_("expires_in is not a number"))
    if lifetime != lifetime:  # NaN
        raise ValueError(_("expires_in is not a number"))
    return token, int(min(max(lifetime, 0), _MAX_TOKEN_LIFETIME))


PULL = "pull"
PUSH = "pull,push"  # a push also HEADs what is there already


def scope_for(url, actions=PULL):
    """The scope a registry URL needs: /v2/<name>/(manifests|blobs|tags|referrers)/... .

    ``actions``: ``pull`` for a sync, ``pull,push`` for a push (registry/push.py).
    """
    path = urlparse(url).path
    match = re.match(r"^/v2/(.+?)/(manifests|blobs|tags|referrers)/", path)
    return f"repository:{match.group(1)}:{actions}" if match else None


class RegistryAuth:
    """What a remote has learnt about a registry's authentication during its lifetime."""

    def __init__(self, username=None, password=None, origin=None, actions=PULL):
        self._actions = actions
        self._username = username
        self._password = password or ""
        # Credentials and tokens belong to this origin (the remote's URL) only.
        self._origin = origin_of(origin) if origin else None
        self._tokens = {}  # scope -> (token, expires_at)
        self._basic = False
        self._locks = {}

    @property
    def has_credentials(self):
        """True when the remote has a username: basic auth and token requests may use it."""
        return bool(self._username)

    def _basic_header(self):
        raw = f"{self._username}:{self._password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _ours(self, url):
        return self._origin is None or origin_of(url) == self._origin

    def header_for(self, url):
        """The Authorization header to send with a request, if one is known.

        Nothing is sent to another origin (a Link header or a redirect may
        point anywhere): credentials and tokens stay with the remote's registry.
        """
        if not self._ours(url):
            return None
        if self._basic and self.has_credentials:
            return self._basic_header()
        token, expires_at = self._tokens.get(scope_for(url, self._actions), (None, 0))
        if token and time.monotonic() < expires_at:
            return f"Bearer {token}"
        return None

    async def answer(self, challenge, url, session, proxy=None, proxy_auth=None):
        """Act on a 401 challenge so that a retry can succeed; raise if it cannot."""
        scheme, params = parse_challenge(challenge)
        host = _authority(url)
        if not self._ours(url):
            raise RegistryAuthError(
                _("{host} asked for authentication, but it is not the remote's registry").format(
                    host=host
                )
            )
        if scheme == "basic":
            if not self.has_credentials or self._basic:
                raise RegistryAuthError(
                    _("registry {host} requires basic authentication and ").format(host=host)
                    + (
                        _("refused the remote's credentials")
                        if self._basic
                        else _("the remote has none")
                    )
                )
            self._basic = True
            return
        if scheme != "bearer" or not params.get("realm"):
            raise RegistryAuthError(
                _("registry {host} sent an unsupported challenge ({scheme!r})").format(
                    host=host, scheme=scheme
                )
            )
        # Ask for the scope the registry names; keep the token under the scope of
        # the URL, which is what header_for() looks it up by.
        key = scope_for(url, self._actions)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            requested = (params.get("scope") or "").split() or [key]
            if self._actions != PULL and key and key not in requested:
                # A pusher's token covers pushing from its first request on (a HEAD is
                # challenged for pull only); a mount's challenge adds the source's pull.
                requested.insert(0, key)
            await self._fetch_token(params, requested, key, host, session, proxy, proxy_auth)

    async def _fetch_token(self, params, requested, key, host, session, proxy, proxy_auth):
        query = [("service", params["service"])] if params.get("service") else []
        # One scope parameter per scope, as the token protocol has it.
        query += [("scope", scope) for scope in requested if scope]
        realm = params["realm"]
        realm_parts = urlparse(realm)
        if realm_parts.scheme not in ("http", "https") or not realm_parts.netloc:
            raise RegistryAuthError(
                _("registry {host} named a token realm that is not an http(s) URL").format(
                    host=host
                )
            )
        token_url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        headers = {}
        if self.has_credentials:
            # Credentials go to the token service only over TLS or on the registry's own origin.
            if realm_parts.scheme != "https" and origin_of(realm) != self._origin:
                raise RegistryAuthError(
                    _(
                        "registry {host} sent its token realm to {realm} over plain "
                        "http; the remote's credentials are only sent to another origin over https"
                    ).format(host=host, realm=_authority(realm))
                )
            headers["Authorization"] = self._basic_header()
        limit = settings.KICKSTART_MAX_TOKEN_BYTES
        try:
            async with session.get(
                token_url, headers=headers, proxy=proxy, proxy_auth=proxy_auth
            ) as response:
                if response.status in (401, 403):
                    raise RegistryAuthError(
                        _("token service {realm} for registry {host} refused ").format(
                            realm=_authority(realm), host=host
                        )
                        + (
                            _("the remote's credentials")
                            if self.has_credentials
                            else _("anonymous access")
                        )
                        + _(" (HTTP {status})").format(status=response.status)
                    )
                if response.status >= 400:
                    raise RegistryAuthError(
                        _(
                            "token service {realm} for registry {host} answered HTTP {status}"
                        ).format(realm=_authority(realm), host=host, status=response.status)
                    )
                announced = response.headers.get("Content-Length", "")
                if announced.isdigit() and int(announced) > limit:
                    raise _too_large(_authority(realm), host, limit)
                body = b""
                while chunk := await response.content.read(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise _too_large(_authority(realm), host, limit)
        except aiohttp.ClientError as exc:
            # The fetch policy's refusals and redirect limits say why (no secret in them).
            reason = getattr(exc, "detail", None) or type(exc).__name__
            raise RegistryAuthError(
                _("cannot reach token service {realm} for registry {host}: {reason}").format(
                    realm=_authority(realm), host=host, reason=reason
                )
            ) from None
        try:
            token, lifetime = parse_token_response(body)
        except ValueError as exc:
            raise RegistryAuthError(
                _(
                    "token service {realm} for registry {host} sent no usable token: {reason}"
                ).format(realm=_authority(realm), host=host, reason=exc)
            ) from None
        expires_at = time.monotonic() + max(lifetime - _EXPIRY_MARGIN, 1)
        self._tokens[key] = (token, expires_at)
