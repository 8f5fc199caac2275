"""Downloads with a byte cap enforced while the body streams.

Upstreams are untrusted: a tag page, a manifest or a .treeinfo that never ends
must not fill the worker's disk or memory. Every read a sync makes names its
cap (a setting); a file with an expected size is capped at that size, so a
lying upstream is cut off at the first extra chunk, not after the whole body.
"""

import asyncio
import atexit
import contextlib
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from gettext import gettext as _
from pathlib import Path

import aiohttp
from django.conf import settings
from multidict import CIMultiDict

from pulpcore.plugin.download import DownloaderFactory, DownloadResult, HttpDownloader
from pulpcore.plugin.exceptions import (
    DigestValidationError,
    SizeValidationError,
    TimeoutException,
)
from pulpcore.plugin.models import Artifact

from .budget import in_time, spend
from .fetch_policy import (
    FETCH,
    REDIRECT_STATUSES,
    FetchPolicy,
    FetchRefused,
    is_pinned,
    normalized,
    origin_of,
)
from .fetch_policy import shown as _shown

# Threads that write and hash downloaded chunks (OverlappedWriteMixin); each
# download has at most one chunk there at a time, so a few serve many downloads.
_WRITERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kickstart-write")


class DownloadFailed(aiohttp.ClientError):
    """A download that failed for good (after pulpcore's retries), with its URL kept.

    aiohttp's payload, redirect and timeout errors do not say which URL they were
    for; a task error must name the file. ``detail`` says what went wrong.
    """

    def __init__(self, url, detail):
        self.url = url
        self.detail = detail
        super().__init__(_("{url}: {detail}").format(url=_shown(url), detail=detail))


class DownloadTooLarge(DownloadFailed):
    """An upstream body went past its cap; not retried (the next try would be as large)."""

    def __init__(self, url, limit, setting):
        super().__init__(
            url,
            _("larger than {setting} ({limit} bytes); the download was stopped").format(
                setting=setting, limit=limit
            ),
        )


PROXY_REFUSED = _(
    "the remote's HTTP proxy refused the request (HTTP 407): check proxy_username and "
    "proxy_password"
)


# Upstream response headers the content app may pass on to clients (pulpcore copies
# every one it is handed): the size and how it is encoded; never a type, a cookie, a
# cache lifetime, a link or a redirect of the upstream's choosing.
_CLIENT_HEADERS = frozenset({"content-length", "content-encoding", "last-modified"})


def _passing_only_safe_headers(callback):
    async def filtered(headers):
        return await callback(
            CIMultiDict((k, v) for k, v in headers.items() if k.lower() in _CLIENT_HEADERS)
        )

    return filtered


# Caps of files (not metadata): their bytes do not count against the metadata budget.
FILE_CAPS = frozenset({"KICKSTART_MAX_IMAGE_BYTES", "KICKSTART_MAX_PACKAGE_BYTES"})


def cap(setting):
    """The ``max_bytes`` downloader options for a named cap setting."""
    return {"max_bytes": getattr(settings, setting), "max_bytes_setting": setting}


class DigestMismatch(DigestValidationError):
    """pulpcore's digest error, saying which algorithm did not match."""

    def __init__(self, algorithm, actual, expected, url=None):
        super().__init__(actual, expected, url=url)
        self.algorithm = algorithm


class WrongSizeStreamed(DigestMismatch):
    """A body that is not its expected size while the content app streams it to a client.

    pulpcore's content app cuts the connection and marks the remote artifact failed for
    bytes that fail their digest, and retries nothing; a size error would end as an HTTP 500
    after several fetches. A body of another size is not the expected bytes either, so it is
    reported the way the content app handles: a digest mismatch (algorithm ``size``).
    """

    def __init__(self, actual, expected, url=None):
        super().__init__("size", actual, expected, url=url)


class OverlappedWriteMixin:
    """Writes and hashes each chunk on a thread while the event loop reads the next one.

    pulpcore's ``BaseDownloader.handle_data`` writes a chunk and then blocks the
    event loop until every digest of it is computed, so nothing is read from the
    socket meanwhile: a third of a sync's wall time, and of a first on_demand
    GET, in the benchmark (docs/performance.md). Here a chunk goes to a writer
    thread and the loop goes on; the next chunk waits only for the previous one,
    which keeps the order and at most two chunks in memory. The result is what
    pulpcore's downloader gives: ``path``, ``artifact_attributes`` (size and the
    digests in ALLOWED_CONTENT_CHECKSUMS), the same digest and size errors.

    Every expected digest is computed and checked, also one Pulp does not keep:
    pulpcore refuses a download whose expected digests are all outside
    ALLOWED_CONTENT_CHECKSUMS, but an upstream's sha512 or md5 must still be
    verified on a Pulp that keeps sha256 alone.
    """

    # Whether the finished file is flushed to disk (it may become an Artifact).
    durable = True

    def __init__(self, url, *args, expected_digests=None, **kwargs):
        for algorithm in expected_digests or {}:
            hashlib.new(algorithm)  # ValueError now for a name hashlib does not know
        super().__init__(url, *args, **kwargs)
        self.expected_digests = expected_digests
        self._file = None
        self._hashers = {}
        self._written = 0
        self._in_flight = None
        self._finalized = False
        self._handled = False

    def _open(self):
        """A new temporary file in Pulp's working directory, as pulpcore's downloader makes."""
        work_dir = str(settings.WORKING_DIRECTORY)
        directory = "." if Path.cwd().is_relative_to(work_dir) else work_dir
        self._file = tempfile.NamedTemporaryFile(dir=directory, delete=False)
        self.path = self._file.name
        names = set(Artifact.DIGEST_FIELDS) | set(self.expected_digests or {})
        self._hashers = {name: hashlib.new(name) for name in names}
        self._written = 0

    def _absorb(self, data):
        """Writer thread: append the chunk and feed the digests (hashlib drops the GIL)."""
        if self._file is None:
            self._open()
        self._file.write(data)
        for hasher in self._hashers.values():
            hasher.update(data)
        self._written += len(data)

    def _close(self):
        """Writer thread: the file is complete; flush it to disk as pulpcore does."""
        if self._file is None:
            self._open()  # an empty body is an empty file
        self._file.flush()
        if self.durable:
            os.fsync(self._file.fileno())
        self._file.close()
        self._file = None

    async def _settled(self):
        """Wait until the chunk on the writer thread (if any) is written and hashed."""
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            await in_flight

    async def handle_data(self, data):
        """Hand the chunk to the writer thread once the previous one is done."""
        self._handled = True  # these bytes are hashed here (_Watched need not)
        await self._settled()
        loop = asyncio.get_running_loop()
        self._in_flight = loop.run_in_executor(_WRITERS, self._absorb, data)

    async def finalize(self):
        """Wait for the last chunk, close the file, then check digests and size."""
        await self._settled()
        await asyncio.get_running_loop().run_in_executor(_WRITERS, self._close)
        self.validate_digests()
        self.validate_size()
        self._finalized = True

    async def _handle_response(self, response):
        """A retry starts over with a new file (what pulpcore's own retry does).

        When the content app streams the body to a client it replaces ``handle_data`` and
        ``finalize`` on this downloader, and under policy ``streamed`` calls neither of
        ours: pulpcore would then check nothing. So whenever they are replaced, the bytes
        are also checked as they pass (``_Watched``), and a body that is not its digest
        ends in DigestMismatch either way: the content app cuts the connection and marks
        the remote artifact failed, as for an ``on_demand`` first fetch.
        """
        await self._settled()
        if self._file is not None:
            self._file.close()
            os.unlink(self._file.name)
            self._file = None
        self._finalized = False
        self._handled = False
        if "finalize" not in vars(self):
            return await super()._handle_response(response)
        watched = _Watched(response, self)
        result = await super()._handle_response(watched)
        if not self._finalized:
            watched.verify()
        return result

    @property
    def artifact_attributes(self):
        """Size and the digests Pulp keeps for an Artifact."""
        attributes = {"size": self._written}
        for name in Artifact.DIGEST_FIELDS:
            if name in self._hashers:
                attributes[name] = self._hashers[name].hexdigest()
        return attributes

    def validate_digests(self):
        """Every expected digest must match (each was computed while writing)."""
        for algorithm, expected in (self.expected_digests or {}).items():
            actual = self._hashers[algorithm].hexdigest()
            if actual != expected.lower():
                raise DigestMismatch(algorithm, actual, expected, url=self.url)

    def validate_size(self):
        """The body must have the expected size, when one is expected."""
        if self.expected_size is not None and self._written != self.expected_size:
            raise SizeValidationError(self._written, self.expected_size, url=self.url)


class _Watched:
    """A response whose body is hashed and counted as it is read, for a downloader whose own
    ``handle_data`` and ``finalize`` the content app replaced (see
    ``OverlappedWriteMixin._handle_response``). Everything else is the response's."""

    def __init__(self, response, downloader):
        self._response = response
        self._downloader = downloader
        self._hashers = {name: hashlib.new(name) for name in downloader.expected_digests or {}}
        self._read = 0
        self.content = self

    def __getattr__(self, name):
        return getattr(self._response, name)

    async def read(self, n=-1):
        if self._hashers and self._downloader._handled:
            # on_demand: the content app hands the bytes to the downloader's own
            # handle_data too, which hashes them and finalize checks: no second hash.
            self._hashers = {}
        data = await self._response.content.read(n)
        self._read += len(data)
        expected = self._downloader.expected_size
        if expected is not None and self._read > expected:
            raise SizeValidationError(self._read, expected, url=self._downloader.url)
        for hasher in self._hashers.values():
            hasher.update(data)
        return data

    def verify(self):
        """The whole body passed, and the downloader did not check it (``streamed``): it
        must be what the downloader expected."""
        url = self._downloader.url
        for algorithm, expected in (self._downloader.expected_digests or {}).items():
            actual = self._hashers[algorithm].hexdigest()
            if actual != expected.lower():
                raise DigestMismatch(algorithm, actual, expected, url=url)
        expected = self._downloader.expected_size
        if expected is not None and self._read != expected:
            raise SizeValidationError(self._read, expected, url=url)


class CappedDownloadMixin(OverlappedWriteMixin):
    """Every request through the remote's FetchPolicy, hop by hop, and every body capped.

    Redirects are followed here, not by aiohttp: each hop is admitted by the
    policy (fetch_policy.py), goes out on the remote's own session (credentials,
    custom headers, client certificate) only on the remote's origin and on an
    anonymous one elsewhere, and counts against the sync's request budget. A
    body stops as soon as it passes ``max_bytes`` or, without one, ``expected_size``.

    ``fetch_scope``: another base URL the admin configured for this read (a
    lookaside store). ``routes``: the factory that built the downloader (its
    policy and sessions); a downloader built by hand stays on its URL's origin.
    """

    def __init__(
        self, url, max_bytes=None, max_bytes_setting=None, fetch_scope=None, routes=None, **kwargs
    ):
        self.max_bytes = max_bytes
        self.max_bytes_setting = max_bytes_setting or _("the download limit")
        self.fetch_scope = fetch_scope
        self.routes = routes
        # A metadata read is parsed and deleted within the sync: no fsync (1,250 of them
        # cost a 1,000-tree sync ~1 s). Files and RPMs, which may be kept, stay durable.
        self.durable = max_bytes is None or self.max_bytes_setting in FILE_CAPS
        self._received = 0
        super().__init__(url, **kwargs)
        if self.headers_ready_callback is not None:  # the content app streaming to a client
            self.headers_ready_callback = _passing_only_safe_headers(self.headers_ready_callback)

    @property
    def policy(self):
        """The remote's FetchPolicy, or one confined to the URL's origin without a remote."""
        if self.routes is not None:
            return self.routes.policy
        base = normalized(self.url)
        return FetchPolicy(str(base.origin()))

    @property
    def pinned(self):
        """Whether the body will be checked against a strong digest known now."""
        return is_pinned(self.expected_digests)

    async def run(self, extra_data=None):
        """Download as pulpcore does; a failure that keeps no URL becomes DownloadFailed.

        A metadata read (not ``durable``) must end within KICKSTART_MAX_METADATA_SECONDS,
        retries included: an upstream that trickles a tag list cannot hold a worker.
        A whole sync is bounded by KICKSTART_SYNC_MAX_SECONDS (budget.py).
        """
        try:
            if self.durable:
                return await super().run(extra_data=extra_data)
            limit = settings.KICKSTART_MAX_METADATA_SECONDS
            deadline = asyncio.timeout(limit)
            try:
                async with deadline:
                    return await super().run(extra_data=extra_data)
            except TimeoutError:
                if not deadline.expired():
                    raise  # a socket timeout of the remote's: said below
                raise DownloadFailed(
                    self.url,
                    _("took longer than KICKSTART_MAX_METADATA_SECONDS ({limit} s)").format(
                        limit=limit
                    ),
                ) from None
        except FetchRefused as exc:
            detail = exc.detail
            if exc.url != self.url:
                detail = _("upstream redirected to {hop}, which was not followed: {reason}").format(
                    hop=_shown(exc.url), reason=exc.detail
                )
            raise DownloadFailed(self.url, detail) from None
        except aiohttp.ClientPayloadError as exc:
            detail = _("the body ended early or was malformed ({kind})").format(
                kind=type(exc).__name__
            )
            raise DownloadFailed(self.url, detail) from None
        except (TimeoutException, asyncio.TimeoutError):
            detail = _("no data arrived within the remote's timeouts")
            raise DownloadFailed(self.url, detail) from None
        except aiohttp.ClientConnectionError as exc:
            detail = _("cannot reach the server ({kind}: {reason})").format(
                kind=type(exc).__name__, reason=exc
            )
            raise DownloadFailed(self.url, detail) from None

    def authorization(self, hop):
        """An Authorization header for a hop (registry tokens); basic auth goes as ``auth``."""
        return None

    async def unauthorized(self, response, hop):
        """A 401 on the first attempt: True when a retry may now succeed (registry auth).

        Called for any hop's 401; the registry's auth answers only its own origin's.
        """
        return False

    def _session_for(self, hop):
        if hop.credentialed or self.routes is None:
            return self.session
        return self.routes.anonymous_session()

    @contextlib.asynccontextmanager
    async def request(self, method="GET", headers=None, purpose=FETCH):
        """The final response to ``method`` on this downloader's URL, redirects followed by policy.

        Yields the response of the last hop (a 3xx only when it has no Location).
        """
        policy = self.policy
        for attempt in (1, 2):
            hop = policy.admit(self.url, self.pinned, self.fetch_scope, purpose)
            first_origin = origin_of(hop.url)
            for hops in range(policy.max_redirects + 1):
                spend("requests", 1, _shown(str(hop.url)))
                in_time(_shown(str(hop.url)))
                request_headers = dict(headers or {})
                if origin_of(hop.url) != first_origin:
                    # A header the caller set (a token service's basic credentials) is
                    # for the origin it asked, not for where that origin redirects.
                    request_headers.pop("Authorization", None)
                authorization = self.authorization(hop)
                if authorization:
                    request_headers["Authorization"] = authorization
                response = await self._session_for(hop).request(
                    method,
                    hop.url,
                    headers=request_headers,
                    auth=self.auth if hop.credentialed else None,
                    proxy=self.proxy,
                    proxy_auth=self.proxy_auth,
                    allow_redirects=False,
                )
                try:
                    location = response.headers.get("Location")
                    if response.status in REDIRECT_STATUSES and location is not None:
                        if hops == policy.max_redirects:
                            raise DownloadFailed(
                                self.url,
                                _("more than KICKSTART_MAX_REDIRECTS ({count}) redirects").format(
                                    count=policy.max_redirects
                                ),
                            )
                        hop = policy.redirect(hop, location, self.pinned, self.fetch_scope, purpose)
                        if response.status == 303:
                            method = "GET" if method != "HEAD" else method
                        continue
                    if (
                        response.status == 401
                        and attempt == 1
                        and await self.unauthorized(response, hop)
                    ):
                        break  # start over from the first hop, with what was learnt
                    yield response
                    return
                finally:
                    response.release()
        raise DownloadFailed(self.url, _("the server refused the credentials (HTTP 401)"))

    async def _run(self, extra_data=None):
        """GET (or HEAD, ``extra_data={"head": True}``) through the policy, capped."""
        if self.download_throttler:
            await self.download_throttler.acquire()
        extra_data = extra_data or {}
        head = extra_data.get("head")
        async with self.request("HEAD" if head else "GET", extra_data.get("headers")) as response:
            if response.status == 404 and extra_data.get("missing_ok"):
                result = DownloadResult(
                    url=self.url, artifact_attributes={}, path=None, headers=response.headers
                )
            elif head:
                self.raise_for_status(response)
                announced = response.headers.get("Content-Length", "")
                size = int(announced) if announced.isdigit() else None
                result = DownloadResult(
                    url=self.url,
                    artifact_attributes={"size": size} if size is not None else {},
                    path=None,
                    headers=response.headers,
                )
            else:
                self.raise_for_status(response)
                result = await self._handle_response(response)
        if self._close_session_on_finalize:
            await self.session.close()
        return result

    def readable(self, response):
        """The response whose body is the file (a subclass may read it through a decoder:
        registry/downloader.py inflates a packed blob); the response itself by default."""
        return response

    async def _handle_response(self, response):
        try:
            response = self.readable(response)
            self._received = 0  # a retry starts over
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit():
                self._check(int(announced))
            return await super()._handle_response(response)
        except SizeValidationError as exc:
            if "finalize" in vars(self):  # the content app streams it (see _Watched)
                raise WrongSizeStreamed(exc.actual, exc.expected, url=self.url) from None
            raise

    async def handle_data(self, data):
        """Count each chunk against the cap (and a metadata read against the budget)."""
        self._received += len(data)
        self._check(self._received)
        in_time(_shown(self.url))  # a slow file still ends with the sync's time
        if self.max_bytes is not None and self.max_bytes_setting not in FILE_CAPS:
            spend("metadata_bytes", len(data), _shown(self.url))
        await super().handle_data(data)

    def _check(self, size):
        if self.max_bytes is not None and size > self.max_bytes:
            raise DownloadTooLarge(self.url, self.max_bytes, self.max_bytes_setting)
        if self.max_bytes is None and self.expected_size is not None and size > self.expected_size:
            raise SizeValidationError(size, self.expected_size, url=self.url)


class CappedHttpDownloader(CappedDownloadMixin, HttpDownloader):
    """pulpcore's HttpDownloader (auth, proxy, TLS, retries) with the fetch policy and caps."""

    async def content_length(self):
        """The size upstream announces for the URL (HEAD), or None if it announces none.

        Runs through ``run()``, so a HEAD gets the same concurrency limit, retries,
        proxy, TLS, auth and fetch policy as a download; only the method differs.
        """
        result = await self.run(extra_data={"head": True})
        return result.artifact_attributes.get("size")


class _WithoutCredentials:
    """A remote's settings for requests to another origin: nothing that identifies it.

    Proxy (and its credentials: they are for the proxy), CA certificates, TLS
    validation, timeouts, retries and rate limit stay; the username, password,
    client certificate and custom headers of the remote are left out.
    """

    _DROPPED = frozenset({"username", "password", "client_cert", "client_key", "headers"})

    def __init__(self, remote):
        self._remote = remote

    def __getattr__(self, name):
        if name in self._DROPPED:
            return None
        return getattr(self._remote, name)


class PolicyDownloaderFactory(DownloaderFactory):
    """pulpcore's factory for one remote, handing each downloader the remote's FetchPolicy.

    Holds the remote's own session (pulpcore's: credentials, custom headers,
    client certificate) and, once a hop leaves the remote's origin, an anonymous
    one with the same proxy, CA and timeouts but nothing that identifies the remote.
    """

    def __init__(self, remote, downloader_class):
        overrides = {"http": downloader_class, "https": downloader_class}
        super().__init__(remote, downloader_overrides=overrides)
        self.policy = FetchPolicy.for_remote(remote)
        self._remote_settings = remote
        self._anonymous = None

    def build(self, url, **kwargs):
        """A downloader of ``url`` under this remote's policy."""
        kwargs.setdefault("routes", self)
        return super().build(url, **kwargs)

    def anonymous_session(self):
        """The session for hops to other origins (created on first use, in the running loop)."""
        if self._anonymous is None:
            self._anonymous = DownloaderFactory(_WithoutCredentials(self._remote_settings))
        return self._anonymous.build(self._remote_settings.url).session

    async def aclose(self):
        """Close both sessions now (pulpcore closes them at exit; tests close them early)."""
        for factory in filter(None, (self, self._anonymous)):
            session = factory.build(self._remote_settings.url).session
            await session.close()
            atexit.unregister(factory._session_cleanup)
