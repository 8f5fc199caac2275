"""Why a request to an upstream failed, in the words a task error shows: one place for all.

The registry client, the dnf source and the sync task each catch what a request
raised (aiohttp's errors with their HTTP status, connection errors and timeouts,
pulpcore's digest, size and timeout errors, a capped download's DownloadFailed,
a registry's auth error, a sync budget) and say what was being fetched; this
module gives the reason. Its text never holds a credential, a URL's userinfo or
query (a signed CDN URL's signature), nor a path of the worker's: pulpcore's and
aiohttp's own messages, which carry whole URLs, are never shown as they are.

A low layer: no model, no database.
"""

import re
import socket
import ssl
from gettext import gettext as _

import aiohttp

from pulpcore.plugin.exceptions import DigestValidationError, SizeValidationError, TimeoutException

from .budget import BudgetExceeded
from .downloads import PROXY_REFUSED, DigestMismatch, DownloadFailed
from .fetch_policy import FetchRefused, shown


class SafeUpstreamError(Exception):
    """An upstream failure whose message is written to be shown as it is (no secret in it).

    Subclassed by the errors of modules below the sync (a registry's auth errors).
    """


# What a request to an upstream may raise: every source catches these around a fetch.
REQUEST_ERRORS = (
    aiohttp.ClientError,
    OSError,  # aiohttp's connection errors, ssl errors, TimeoutError; or a working file
    TimeoutException,
    DigestValidationError,
    SizeValidationError,
    SafeUpstreamError,
)
# ... and what a sync as a whole may end with besides.
SYNC_ERRORS = REQUEST_ERRORS + (BudgetExceeded,)

# OSErrors of the network that aiohttp may let through unwrapped; any other OSError is
# about the worker's own files (a full disk, a working file gone).
_NETWORK_OS_ERRORS = (aiohttp.ClientError, ConnectionError, ssl.SSLError, socket.gaierror)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def _scrubbed(text):
    """``text`` with every URL in it cut to scheme, host, port and path."""
    return _URL.sub(lambda match: shown(match.group(0)), str(text))


def status_of(exc):
    """The HTTP status an upstream answered with, or None when the request got no answer."""
    return exc.status if isinstance(exc, aiohttp.ClientResponseError) else None


def url_of(exc):
    """The URL the failed request was for, when the exception kept it (else None)."""
    if isinstance(exc, (DownloadFailed, FetchRefused)):
        return exc.url
    if isinstance(exc, aiohttp.ClientResponseError) and exc.request_info is not None:
        return str(exc.request_info.real_url)
    return getattr(exc, "url", None)


def _http_status(status, server):
    if status == 401:
        return _("refused access (HTTP 401): check the remote's credentials")
    if status == 403:
        return _("denied access (HTTP 403)")
    if status == 404:
        return _("not found (HTTP 404)")
    if status == 407:
        return PROXY_REFUSED
    return _("{server} answered HTTP {status}").format(server=server, status=status)


def _digest(value, algorithm):
    value = str(value)
    return value if ":" in value else f"{algorithm}:{value}"


def reason(exc, server=None, checksums_from=None):
    """Why the request that raised ``exc`` failed: a short phrase, safe to show.

    ``server`` names the upstream ("the registry"; default "the server");
    ``checksums_from`` names where the expected digest was published (".treeinfo",
    "the repodata"), for a digest that does not match.
    """
    server = server or _("the server")
    if isinstance(exc, (DownloadFailed, FetchRefused)):
        return exc.detail  # written for a task error (downloads.py, fetch_policy.py)
    if isinstance(exc, (SafeUpstreamError, BudgetExceeded)):
        return str(exc)
    if isinstance(exc, aiohttp.ClientResponseError):
        return _http_status(exc.status, server)
    if isinstance(exc, DigestValidationError):
        algorithm = exc.algorithm if isinstance(exc, DigestMismatch) else "sha256"
        if checksums_from:
            return _("{algorithm} is {actual}, {source} says {expected}").format(
                algorithm=algorithm, actual=exc.actual, source=checksums_from, expected=exc.expected
            )
        return _("{server} sent bytes whose digest is {actual}, not {expected}").format(
            server=server,
            actual=_digest(exc.actual, algorithm),
            expected=_digest(exc.expected, algorithm),
        )
    if isinstance(exc, SizeValidationError):
        return _("{server} sent {actual} bytes, not the {expected} expected").format(
            server=server, actual=exc.actual, expected=exc.expected
        )
    if isinstance(exc, (TimeoutException, TimeoutError)):
        return _("no data arrived within the remote's timeouts")
    if isinstance(exc, OSError) and not isinstance(exc, _NETWORK_OS_ERRORS):
        # A working file of the worker (a full disk): its reason, never its path.
        return _("the worker could not read or write a file of the task ({problem})").format(
            problem=exc.strerror or type(exc).__name__
        )
    if isinstance(exc, _NETWORK_OS_ERRORS):
        return _("cannot reach {server} ({kind}: {problem})").format(
            server=server, kind=type(exc).__name__, problem=_scrubbed(exc)
        )
    return _("{kind}: {problem}").format(kind=type(exc).__name__, problem=_scrubbed(exc))


def message(where, what, exc, server=None, checksums_from=None):
    """``<where>: <what>: <reason>``: a failed fetch as a task error names it."""
    return _("{where}: {what}: {reason}").format(
        where=where, what=what, reason=reason(exc, server, checksums_from)
    )
