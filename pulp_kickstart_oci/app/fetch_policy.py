"""One fetch policy per remote: where each hop of a request may go, and what goes with it.

Every request a sync or the content app makes for a remote (metadata, files,
HEADs, tokens, signatures, pages) and every redirect hop of it is checked here,
on the URL exactly as the HTTP client will send it: yarl's normalisation
(percent-decoding of unreserved characters, dot segments, default ports, IDNA)
is applied first, and the normalised URL object is what goes on the wire. So a
``..%2e/`` path, an ``:80`` or an internationalised host cannot look like one
URL here and be another one there.

The rules (docs/security.md, "Where requests go"):

- A request may go under the remote's URL (same origin, path below it), or under
  another base the admin configured for that read (a lookaside signature store).
- A read whose bytes are pinned by a strong digest known before the request (a
  blob, a manifest by digest, an RPM, repodata named by repomd, an image with a
  sha256) may also be redirected to an origin in the remote's ``redirect_origins``
  (a registry's blob CDN, a mirror network): whatever comes back is verified.
  A read without such a digest is never taken from another origin.
- A token request may go to the remote's origin or to one of its ``token_origins``.
- Credentials, tokens, custom headers and the client certificate go only to the
  remote's own origin (``Hop.credentialed``); an admin-allowed token service
  receives the username and password, nothing else.
- Redirects are followed hop by hop under the same rules, at most
  ``KICKSTART_MAX_REDIRECTS`` hops.
"""

import re
from dataclasses import dataclass
from gettext import gettext as _

import aiohttp
import yarl
from django.conf import settings

# Digests strong enough that bytes from another origin can be trusted once they match.
STRONG_DIGESTS = frozenset({"sha224", "sha256", "sha384", "sha512"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

FETCH = "fetch"
TOKEN = "token"

# An origin as an admin writes it: scheme://host[:port], host may start with "*."
# (any subdomain, e.g. a CDN's bucket hosts); nothing after the authority.
_ORIGIN = re.compile(
    r"(?P<scheme>https?)://(?P<host>(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])"
    r"(:(?P<port>[0-9]{1,5}))?/?",
    re.IGNORECASE,
)
# Percent-encodings a server may decode into a path separator, a NUL or a backslash.
_ENCODED_SEPARATORS = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


class FetchRefused(aiohttp.ClientError):
    """The policy refused a request or a redirect hop; never retried. No secret in the text."""

    def __init__(self, url, detail):
        self.url = str(url)
        self.detail = detail
        super().__init__(_("{url}: {detail}").format(url=shown(url), detail=detail))


def shown(url):
    """A URL without userinfo, query or fragment: safe for task errors and logs."""
    try:
        parsed = yarl.URL(str(url or ""))
    except (ValueError, TypeError):
        return _("(an unparseable URL)")
    if not parsed.scheme:
        return parsed.path
    host = parsed.raw_host or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if parsed.explicit_port:
        host = f"{host}:{parsed.explicit_port}"
    return f"{parsed.scheme}://{host}{parsed.raw_path}"


def normalized(url):
    """The URL as aiohttp will send it, or FetchRefused when it is not a plain http(s) URL.

    Its text has no whitespace and no invisible character: a URL parser drops tabs and
    line breaks and encodes spaces, so the URL stored (and shown, and copied by a
    replication) would not be the URL fetched, and a bidirectional override shows one
    URL and names another. (A host in another script is fine: IDNA spells it one way.)
    """
    text = str(url)
    if not text.isprintable() or any(character.isspace() for character in text):
        raise FetchRefused(
            url,
            _("a URL holds no spaces, line breaks or invisible characters: percent-encode them"),
        )
    try:
        parsed = yarl.URL(text)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise FetchRefused(url, _("not a valid URL ({reason})").format(reason=exc)) from None
    if parsed.scheme not in DEFAULT_PORTS or not parsed.raw_host:
        raise FetchRefused(url, _("only http(s) URLs with a host are fetched"))
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise FetchRefused(url, _("a URL with credentials in it is not fetched"))
    if _ENCODED_SEPARATORS.search(parsed.raw_path) or "\\" in parsed.path:
        raise FetchRefused(url, _("the path holds an encoded '/', '\\' or NUL"))
    if any(segment in (".", "..") for segment in parsed.path.split("/")):
        raise FetchRefused(url, _("the path leaves its directory ('..')"))
    return parsed.with_fragment(None)


def origin_of(url):
    """(scheme, host, port) of a normalised URL: what "the same origin" compares."""
    return (url.scheme, (url.raw_host or "").lower(), url.port)


@dataclass(frozen=True)
class OriginPattern:
    """An origin an admin allowed: ``https://cdn.example`` or ``https://*.cloudfront.net``."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, text):
        """Parse an admin's origin; ValueError (with the reason) when it is not one."""
        match = _ORIGIN.fullmatch(text or "")
        if not match:
            raise ValueError(
                _(
                    "{text!r} is not an origin: give scheme://host[:port], e.g. "
                    "'https://cdn.example.com' or 'https://*.cloudfront.net'"
                ).format(text=text)
            )
        scheme = match.group("scheme").lower()
        # As yarl spells hosts: lower case, IPv6 without brackets.
        host = match.group("host").lower().strip("[]")
        port = int(match.group("port")) if match.group("port") else DEFAULT_PORTS[scheme]
        if not 0 < port < 65536:
            raise ValueError(_("{text!r}: the port is out of range").format(text=text))
        return cls(scheme, host, port)

    def matches(self, origin):
        """True when (scheme, host, port) is this origin, or a subdomain of a ``*.`` one."""
        scheme, host, port = origin
        if scheme != self.scheme or port != self.port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:]) and len(host) > len(self.host) - 1
        return host == self.host

    def __str__(self):
        return _origin_text((self.scheme, self.host, self.port))


def parse_origins(values):
    """Admin-given origins as OriginPatterns (ValueError names the first bad one)."""
    return tuple(OriginPattern.parse(value) for value in values or ())


@dataclass(frozen=True)
class Hop:
    """One request the policy admitted: the URL to send, and whether it is the remote's origin."""

    url: yarl.URL
    credentialed: bool


def _under(url, base):
    """True when ``url`` is on ``base``'s origin with a path at or below ``base``'s."""
    if origin_of(url) != origin_of(base):
        return False
    prefix = base.path if base.path.endswith("/") else base.path + "/"
    return url.path == base.path or url.path.startswith(prefix)


class FetchPolicy:
    """The rules of one remote; pure (no I/O), so every caller and test asks the same object."""

    def __init__(self, base_url, redirect_origins=(), token_origins=(), max_redirects=None):
        self.base = normalized(base_url)
        self.origin = origin_of(self.base)
        self.redirect_origins = parse_origins(redirect_origins)
        self.token_origins = parse_origins(token_origins)
        self.max_redirects = (
            settings.KICKSTART_MAX_REDIRECTS if max_redirects is None else max_redirects
        )

    @classmethod
    def for_remote(cls, remote):
        """The policy of a kickstart remote (its URL, or the wider ``fetch_base`` a remote
        type declares, and the origins its admin allowed)."""
        return cls(
            getattr(remote, "fetch_base", None) or remote.url,
            redirect_origins=getattr(remote, "redirect_origins", None) or (),
            token_origins=getattr(remote, "token_origins", None) or (),
        )

    def admit(self, url, pinned=False, scope=None, purpose=FETCH):
        """The Hop for ``url``, or FetchRefused saying which rule it breaks.

        ``pinned``: the bytes will be checked against a strong digest known now.
        ``scope``: another base URL the admin configured for this read (a lookaside store).
        """
        target = normalized(url)
        origin = origin_of(target)
        credentialed = origin == self.origin
        if purpose == TOKEN:
            if credentialed or any(allowed.matches(origin) for allowed in self.token_origins):
                return Hop(target, credentialed)
            raise FetchRefused(
                url,
                _(
                    "the registry sends Pulp to a token service on another origin; "
                    "add {origin} to the remote's token_origins if you trust it"
                ).format(origin=_origin_text(origin)),
            )
        base = normalized(scope) if scope else self.base
        if _under(target, base):
            return Hop(target, credentialed)
        if pinned and any(allowed.matches(origin) for allowed in self.redirect_origins):
            return Hop(target, credentialed)
        if pinned:
            reason = _(
                "not under the remote's URL, and {origin} is not in the remote's redirect_origins"
            ).format(origin=_origin_text(origin))
        else:
            reason = _(
                "not under the remote's URL; a file without a digest known in advance is "
                "only taken from the remote's own URL"
            )
        raise FetchRefused(url, reason)

    def redirect(self, hop, location, pinned=False, scope=None, purpose=FETCH):
        """The next Hop for a ``Location`` answered at ``hop`` (relative to it), or FetchRefused."""
        if not location:
            raise FetchRefused(hop.url, _("a redirect without a Location"))
        try:
            target = hop.url.join(yarl.URL(location))
        except (ValueError, TypeError, UnicodeError):
            raise FetchRefused(hop.url, _("a redirect to an invalid URL")) from None
        return self.admit(target, pinned=pinned, scope=scope, purpose=purpose)


def _origin_text(origin):
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")


def is_pinned(expected_digests):
    """True when ``expected_digests`` holds a digest strong enough to trust any origin's bytes."""
    return any(name in STRONG_DIGESTS for name in expected_digests or {})
