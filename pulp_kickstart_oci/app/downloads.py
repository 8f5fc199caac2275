"""Downloads with a byte cap enforced while the body streams.

Upstreams are untrusted: a tag page, a manifest or a .treeinfo that never ends
must not fill the worker's disk or memory. Every read a sync makes names its
cap (a setting); a file with an expected size is capped at that size, so a
lying upstream is cut off at the first extra chunk, not after the whole body.
"""

import asyncio
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from gettext import gettext as _
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from django.conf import settings

from pulpcore.plugin.download import DownloadResult, HttpDownloader
from pulpcore.plugin.exceptions import (
    DigestValidationError,
    SizeValidationError,
    TimeoutException,
)
from pulpcore.plugin.models import Artifact

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


def _shown(url):
    """A URL without userinfo or query, safe for task errors."""
    parts = urlsplit(url or "")
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


def cap(setting):
    """The ``max_bytes`` downloader options for a named cap setting."""
    return {"max_bytes": getattr(settings, setting), "max_bytes_setting": setting}


class DigestMismatch(DigestValidationError):
    """pulpcore's digest error, saying which algorithm did not match."""

    def __init__(self, algorithm, actual, expected, url=None):
        super().__init__(actual, expected, url=url)
        self.algorithm = algorithm


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

    def __init__(self, url, *args, expected_digests=None, **kwargs):
        for algorithm in expected_digests or {}:
            hashlib.new(algorithm)  # ValueError now for a name hashlib does not know
        super().__init__(url, *args, **kwargs)
        self.expected_digests = expected_digests
        self._file = None
        self._hashers = {}
        self._written = 0
        self._in_flight = None

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
        await self._settled()
        loop = asyncio.get_running_loop()
        self._in_flight = loop.run_in_executor(_WRITERS, self._absorb, data)

    async def finalize(self):
        """Wait for the last chunk, close the file, then check digests and size."""
        await self._settled()
        await asyncio.get_running_loop().run_in_executor(_WRITERS, self._close)
        self.validate_digests()
        self.validate_size()

    async def _handle_response(self, response):
        """A retry starts over with a new file (what pulpcore's own retry does)."""
        await self._settled()
        if self._file is not None:
            self._file.close()
            os.unlink(self._file.name)
            self._file = None
        return await super()._handle_response(response)

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


class CappedDownloadMixin(OverlappedWriteMixin):
    """Stops a download as soon as it passes ``max_bytes`` or, without one, ``expected_size``."""

    def __init__(self, url, max_bytes=None, max_bytes_setting=None, **kwargs):
        self.max_bytes = max_bytes
        self.max_bytes_setting = max_bytes_setting or _("the download limit")
        self._received = 0
        super().__init__(url, **kwargs)

    async def run(self, extra_data=None):
        """Download as pulpcore does; a failure that keeps no URL becomes DownloadFailed."""
        try:
            return await super().run(extra_data=extra_data)
        except aiohttp.TooManyRedirects:
            raise DownloadFailed(self.url, _("the server redirects in a loop")) from None
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

    async def _handle_response(self, response):
        self._received = 0  # a retry starts over
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit():
            self._check(int(announced))
        return await super()._handle_response(response)

    async def handle_data(self, data):
        """Count each chunk against the cap before it is written."""
        self._received += len(data)
        self._check(self._received)
        await super().handle_data(data)

    def _check(self, size):
        if self.max_bytes is not None and size > self.max_bytes:
            raise DownloadTooLarge(self.url, self.max_bytes, self.max_bytes_setting)
        if self.max_bytes is None and self.expected_size is not None and size > self.expected_size:
            raise SizeValidationError(size, self.expected_size, url=self.url)


class CappedHttpDownloader(CappedDownloadMixin, HttpDownloader):
    """pulpcore's HttpDownloader (auth, proxy, TLS, retries) with the byte cap."""

    async def content_length(self):
        """The size upstream announces for the URL (HEAD), or None if it announces none.

        Runs through ``run()``, so a HEAD gets the same concurrency limit, retries,
        proxy, TLS and auth as a download; only the method differs.
        """
        result = await self.run(extra_data={"head": True})
        return result.artifact_attributes.get("size")

    async def _run(self, extra_data=None):
        if not (extra_data or {}).get("head"):
            return await super()._run(extra_data=extra_data)
        if self.download_throttler:
            await self.download_throttler.acquire()
        async with self.session.head(
            self.url, auth=self.auth, proxy=self.proxy, proxy_auth=self.proxy_auth
        ) as response:
            self.raise_for_status(response)
            announced = response.headers.get("Content-Length", "")
            size = int(announced) if announced.isdigit() else None
            result = DownloadResult(
                url=self.url,
                artifact_attributes={"size": size} if size is not None else {},
                path=None,
                headers=response.headers,
            )
        if self._close_session_on_finalize:
            await self.session.close()
        return result
