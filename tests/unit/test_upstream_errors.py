"""HTTP failures become task errors in one place (app/upstream_errors.py).

Each exception a request may raise is mapped to a reason that names what went
wrong and never a credential, a URL's query (a signed CDN URL) or a worker path.
"""

import errno

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from pulpcore.plugin.exceptions import DigestValidationError, SizeValidationError, TimeoutException

from pulp_kickstart_oci.app import upstream_errors
from pulp_kickstart_oci.app.budget import BudgetExceeded
from pulp_kickstart_oci.app.downloads import DigestMismatch, DownloadFailed, DownloadTooLarge
from pulp_kickstart_oci.app.fetch_policy import FetchRefused
from pulp_kickstart_oci.app.registry.auth import RegistryAuthError

SIGNED = "https://user:secret@cdn.example/blobs/sha256/ab?X-Amz-Signature=s3cr3t&token=t0k"


def response_error(status, url=SIGNED):
    info = aiohttp.RequestInfo(URL(url), "GET", CIMultiDict(), URL(url))
    return aiohttp.ClientResponseError(info, (), status=status, message="nope")


@pytest.mark.parametrize(
    "status, reason",
    [
        (401, "refused access (HTTP 401): check the remote's credentials"),
        (403, "denied access (HTTP 403)"),
        (404, "not found (HTTP 404)"),
        (407, "the remote's HTTP proxy refused the request (HTTP 407)"),
        (500, "the registry answered HTTP 500"),
    ],
)
def test_http_statuses_are_said_in_words(status, reason):
    exc = response_error(status)
    assert upstream_errors.reason(exc, server="the registry").startswith(reason)
    assert upstream_errors.status_of(exc) == status


EXCEPTIONS = [
    (response_error(502), "the server answered HTTP 502"),
    (DownloadTooLarge(SIGNED, 10, "KICKSTART_MAX_MANIFEST_BYTES"), "KICKSTART_MAX_MANIFEST_BYTES"),
    (DownloadFailed(SIGNED, "the body ended early"), "the body ended early"),
    (FetchRefused(SIGNED, "not under the remote's URL"), "not under the remote's URL"),
    (
        DigestMismatch("sha256", "a" * 64, "b" * 64, url=SIGNED),
        f"the server sent bytes whose digest is sha256:{'a' * 64}, not sha256:{'b' * 64}",
    ),
    (
        DigestValidationError("a" * 64, "b" * 64, url=SIGNED),
        f"sent bytes whose digest is sha256:{'a' * 64}",
    ),
    (SizeValidationError(12, 10, url=SIGNED), "the server sent 12 bytes, not the 10 expected"),
    (TimeoutException(SIGNED), "no data arrived within the remote's timeouts"),
    (TimeoutError(), "no data arrived within the remote's timeouts"),
    (
        aiohttp.ClientConnectionError(f"cannot connect to {SIGNED}"),
        "cannot reach the server (ClientConnectionError: cannot connect to "
        "https://cdn.example/blobs/sha256/ab)",
    ),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "cannot reach the server"),
    (RegistryAuthError("token service auth.example refused"), "token service auth.example"),
    (BudgetExceeded("requests", 5, "tag 42"), "KICKSTART_SYNC_MAX_REQUESTS"),
    (
        OSError(errno.ENOSPC, "No space left on device"),
        "the worker could not read or write a file of the task (No space left on device)",
    ),
    (
        FileNotFoundError(errno.ENOENT, "No such file", "/var/lib/pulp/tmp/x/secret-path"),
        "the worker could not read or write a file of the task (No such file)",
    ),
]


@pytest.mark.parametrize("exc, expected", EXCEPTIONS, ids=lambda value: type(value).__name__)
def test_every_request_failure_has_one_safe_reason(exc, expected):
    reason = upstream_errors.reason(exc)
    assert expected in reason
    for secret in ("secret", "s3cr3t", "t0k", "X-Amz", "/var/lib/pulp", "user:"):
        assert secret not in reason, reason


def test_what_the_sources_catch_covers_every_request_failure():
    for exc, _expected in EXCEPTIONS:
        if isinstance(exc, BudgetExceeded):
            # The sync's own limit: not a request's failure, it ends the whole sync.
            assert not isinstance(exc, upstream_errors.REQUEST_ERRORS)
        else:
            assert isinstance(exc, upstream_errors.REQUEST_ERRORS), exc


def test_a_digest_published_elsewhere_is_named_with_its_source():
    exc = DigestMismatch("sha512", "a" * 128, "b" * 128)
    assert upstream_errors.reason(exc, checksums_from="the repodata") == (
        f"sha512 is {'a' * 128}, the repodata says {'b' * 128}"
    )


def test_the_message_names_where_and_what():
    message = upstream_errors.message("dnf tree http://m/", ".treeinfo", response_error(404))
    assert message == "dnf tree http://m/: .treeinfo: not found (HTTP 404)"


def test_the_url_of_a_failure_is_kept_for_naming_the_file():
    assert upstream_errors.url_of(DownloadFailed(SIGNED, "x")) == SIGNED
    assert upstream_errors.url_of(response_error(500)) == SIGNED
    assert upstream_errors.url_of(TimeoutException(SIGNED)) == SIGNED
    assert upstream_errors.url_of(RegistryAuthError("x")) is None
