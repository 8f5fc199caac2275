"""Where a kickstart distribution's URLs point, and which content-app requests it refuses.

``root_url(distribution)`` is the one place a distribution's URL is built: every
generated document (``documents/``), the API's trees view and exports use it. It
is ``<origin><CONTENT_PATH_PREFIX>[<domain>/]<base_path>/``, where the origin is the
distribution's ``boot_origin`` when the admin still allows it, else CONTENT_ORIGIN:
a function of the distribution and settings, never of a request. The request rules
(``path_problem``, ``is_host_name``, ``base_path_candidates``) bound what one
content-app request of a kickstart distribution costs (``content.py``).
"""

import ipaddress
import re
from gettext import gettext as _
from urllib.parse import urlsplit

from django.conf import settings

from .netboot import grammar

# host[:port] or [IPv6][:port]: what a Host header may hold (RFC 9110), as a DNS name
# (labels of at most 63 characters, 253 in all) or an IP address, so that every value
# that passes also passes yarl and pulpcore's cache (a port above 65535 is refused below).
_HOST = re.compile(
    r"(?P<name>(?=[A-Za-z0-9_.-]{1,254}(?::|\Z))[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?"
    r"|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
)
# What a path (after CONTENT_PATH_PREFIX) of anything a kickstart distribution serves
# looks like: a base path, a release, an architecture and a tree path (each of plain
# segments, see netboot/grammar.py), a generated document or a listing ("/" at the end).
# No empty segment, no "." or "..", no percent sign (so no encoded "/" either).
_PLAIN_SEGMENT = r"(?:[A-Za-z0-9_+~-]|\.[A-Za-z0-9_+~-])[A-Za-z0-9._+~-]*"
SERVED_PATH = re.compile(rf"{_PLAIN_SEGMENT}(?:/{_PLAIN_SEGMENT})*/?")


def is_host_name(host):
    """True when a Host header holds a host name (and port), nothing else."""
    match = _HOST.fullmatch(host) if host else None
    return match is not None and int(match["port"] or 0) <= 65535


def path_problem(path):
    """Why no kickstart distribution serves ``path`` (the part after CONTENT_PATH_PREFIX,
    percent-encoded slashes and percent signs still encoded): ``(status, reason)``, or None.

    Linear in the capped length, and decided before any lookup: a request of a
    kickstart distribution whose path fails here never reaches a cache or a query
    beyond the one telling whose path it is (content.py).
    """
    if len(path) > settings.KICKSTART_CONTENT_MAX_PATH_LENGTH:
        return 414, _("The path is longer than KICKSTART_CONTENT_MAX_PATH_LENGTH.\n")
    if path.rstrip("/").count("/") >= settings.KICKSTART_CONTENT_MAX_PATH_SEGMENTS:
        return 414, _("The path has more segments than KICKSTART_CONTENT_MAX_PATH_SEGMENTS.\n")
    if SERVED_PATH.fullmatch(path) is None:
        return 400, _(
            "The path is not made of plain segments (letters, digits, . _ + ~ -): no empty, "
            "'.' or '..' segment, no percent-encoding, no control character.\n"
        )
    return None


def base_path_candidates(path):
    """The base paths ``path`` could be served under, as pulpcore matches them (each
    prefix ending at a "/", and the whole path), capped and limited to the base-path
    grammar: at most KICKSTART_CONTENT_MAX_PATH_SEGMENTS names, whatever the path."""
    limit = settings.KICKSTART_CONTENT_MAX_PATH_LENGTH
    parts = path[: limit + 1].split("/")
    if len(path) > limit:
        parts.pop()  # cut inside a segment: not a name the path holds
    parts = parts[: settings.KICKSTART_CONTENT_MAX_PATH_SEGMENTS]
    names = ("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return [name for name in names if grammar.matches(grammar.BASE_PATH, name)]


# An origin a distribution or an export may point at: http(s), a DNS name (labels of
# letters, digits and '-'), an IPv4 address or a bracketed IPv6 address, an optional port;
# no userinfo, path, query or fragment (a trailing "/" is dropped).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?"
)
MAX_ORIGIN_LENGTH = 300


def parse_origin(value):
    """``scheme://host[:port]`` without a trailing "/", or None when ``value`` is no such origin.

    The host is a DNS name of at most 253 characters, an IPv4 address or an [IPv6]
    address, and the port from 1 to 65535: nothing a boot script reads as syntax.
    """
    match = ORIGIN.fullmatch(value or "") if len(value or "") <= MAX_ORIGIN_LENGTH else None
    if match is None or len(match["host"]) > 253:
        return None
    if match["port"] is not None and not 0 < int(match["port"]) < 65536:
        return None
    if match["host"].startswith("["):
        try:
            ipaddress.IPv6Address(match["host"][1:-1])
        except ValueError:
            return None
    return value.rstrip("/")


def origin_host(origin):
    """The ``host[:port]`` of an origin, lower-cased: what the admin's lists hold."""
    return urlsplit(origin).netloc.lower()


def content_origin():
    """CONTENT_ORIGIN without a trailing "/" ("" when unset: relative URLs)."""
    return (settings.CONTENT_ORIGIN or "").rstrip("/")


def allowed_boot_hosts():
    """The ``host[:port]`` a distribution's boot_origin may name: CONTENT_ORIGIN's and
    those the admin lists in KICKSTART_BOOT_HOSTS (case-insensitive, port included)."""
    hosts = {host.lower() for host in settings.KICKSTART_BOOT_HOSTS}
    if content_origin():
        hosts.add(origin_host(content_origin()))
    return hosts


def boot_origin(distribution):
    """Where the distribution's documents send machines: its ``boot_origin`` while the admin
    allows that host (an entry removed from KICKSTART_BOOT_HOSTS stops counting at once),
    else CONTENT_ORIGIN."""
    chosen = distribution.boot_origin
    if chosen and origin_host(chosen) in allowed_boot_hosts():
        return chosen
    return content_origin()


def root_url(distribution, origin=None):
    """The absolute URL of the distribution's root, ending in "/".

    ``<origin><CONTENT_PATH_PREFIX>[<domain>/]<base_path>/``, with the domain segment when
    DOMAIN_ENABLED, as in pulpcore's own ``base_url``. ``origin``: an export's (checked by
    its serializer); by default ``boot_origin(distribution)``.
    """
    origin = boot_origin(distribution) if origin is None else origin
    domain = f"{distribution.pulp_domain.name}/" if settings.DOMAIN_ENABLED else ""
    return f"{origin}{settings.CONTENT_PATH_PREFIX}{domain}{distribution.base_path}/"
