"""An HttpDownloader that speaks registry authentication.

Used for everything a kickstart OCI remote downloads: tag lists, manifests, and
the blobs themselves, both during sync and when the content app fetches an
on-demand file. Requests, redirects and token requests all go through the
remote's FetchPolicy (downloads.py, fetch_policy.py).

A blob stored compressed upstream (a layer of the format's March 2024 draft) is
named by its blob URL with a fragment saying how: ``#compressed=zstd&size=N``
(``packed_url``). The URL is what a sync and a RemoteArtifact both hand the
downloader, so an immediate sync and the content app's first on_demand fetch go
through the same inflation: the body is decompressed while it streams (decompress.py,
capped at KICKSTART_MAX_IMAGE_BYTES and the file's expected size), the compressed
bytes must be the blob's digest and size, and the uncompressed file the expected
digest and size. The file stored and served is the uncompressed one.
"""

import asyncio
import hashlib
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from gettext import gettext as _

import yarl
from django.conf import settings
from multidict import CIMultiDict

from pulpcore.plugin.exceptions import SizeValidationError

from ..decompress import READ, Corrupt, Inflated, TooLarge
from ..downloads import CappedHttpDownloader, DigestMismatch, DownloadFailed, DownloadTooLarge
from ..fetch_policy import TOKEN
from .auth import RegistryAuth

log = logging.getLogger(__name__)

# Compressions a packed blob may have (what netboot/artifact.py accepts in a draft layer).
PACKED_COMPRESSIONS = ("zstd",)
_PACKED = re.compile(
    r"compressed=(?P<compression>[a-z0-9]{1,16})&size=(?P<size>0|[1-9][0-9]{0,15})"
)
_BLOB = re.compile(r"/blobs/(?P<digest>sha256:[0-9a-f]{64})")
# Threads that inflate packed blobs: a pull waits there for the next compressed chunk,
# which the event loop reads; at most one pull per download at a time.
_INFLATERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kickstart-inflate")
# How long an inflater thread waits for one compressed chunk (the event loop reads it under
# the remote's own timeouts): a backstop so that no thread waits forever.
_CHUNK_WAIT = 900
# Compressed bytes asked of the event loop at a time (the decoder reads 64 KiB pieces of it).
_COMPRESSED_CHUNK = 1 << 20
# Response headers that describe the compressed body, not the file handed on.
_COMPRESSED_HEADERS = frozenset({"content-length", "content-encoding", "content-range", "etag"})


@dataclass(frozen=True)
class Packing:
    """How a blob is stored upstream: ``compression`` of ``size`` bytes, digest ``digest``."""

    compression: str
    digest: str
    size: int


def packed_url(blob_url, compression, size):
    """The URL a sync and a RemoteArtifact keep for a compressed blob (see the module doc)."""
    return f"{blob_url}#compressed={compression}&size={size}"


def packing_of(url):
    """The Packing a URL names by its fragment, or None for a plain URL.

    Raises DownloadFailed for a fragment that is not ``packed_url``'s form, a compression
    this Pulp does not read, or a URL that is no blob URL.
    """
    text = str(url)
    if "#" not in text:
        return None
    fragment = text.split("#", 1)[1]
    match = _PACKED.fullmatch(fragment)
    blob = _BLOB.search(yarl.URL(text.split("#", 1)[0]).path)
    if match is None or blob is None or not yarl.URL(text).path.endswith(blob.group(0)):
        raise DownloadFailed(url, _("not a blob URL of a compressed layer this Pulp reads"))
    if match["compression"] not in PACKED_COMPRESSIONS:
        raise DownloadFailed(
            url,
            _("compressed with {compression}, which this Pulp does not read").format(
                compression=match["compression"]
            ),
        )
    return Packing(match["compression"], blob["digest"], int(match["size"]))


class TokenRoute:
    """How RegistryAuth asks a token service: one request under the remote's policy.

    The realm must be the remote's origin or one of its ``token_origins``; hops to
    another origin go out without the client certificate or custom headers.
    """

    def __init__(self, downloader):
        self._downloader = downloader

    def get(self, url, headers=None, **_proxy_settings):
        """An async context manager giving the token service's final response."""
        owner = self._downloader
        token = CappedHttpDownloader(
            url,
            session=owner.session,
            proxy=owner.proxy,
            proxy_auth=owner.proxy_auth,
            routes=owner.routes,
        )
        return token.request("GET", headers, purpose=TOKEN)


class RegistryDownloader(CappedHttpDownloader):
    """Answers 401 challenges (bearer token or basic) once per request, then retries.

    Reads are capped (see downloads.py); credentials and tokens only ever go to
    the remote's own origin (RegistryAuth, and the fetch policy hop by hop).

    ``extra_data={"missing_ok": True}``: a 404 is an answer, not a failure (a
    manifest with no signature tag): the result then has ``path`` None, and
    nothing is retried or logged as an error.

    A packed blob's URL (``packed_url``) is inflated while it streams: what
    ``handle_data`` gets, the content app streams and the file holds is uncompressed.
    """

    def __init__(self, url, registry_auth=None, **kwargs):
        # The factory hands the remote's credentials over as basic auth for every
        # request; a registry gets them only when it asks (see RegistryAuth).
        basic = kwargs.pop("auth", None)
        super().__init__(url, **kwargs)
        if registry_auth is None:
            registry_auth = RegistryAuth(
                basic.login if basic else None, basic.password if basic else None, origin=url
            )
        self.registry_auth = registry_auth
        self.packing = packing_of(url)

    def authorization(self, hop):
        """The bearer token (or basic credentials) learnt for this URL's scope, on our origin."""
        return self.registry_auth.header_for(str(hop.url))

    async def unauthorized(self, response, hop):
        """Answer the registry's challenge (a token, or basic credentials), then retry."""
        challenge = response.headers.get("WWW-Authenticate", "")
        await self.registry_auth.answer(challenge, str(hop.url), TokenRoute(self))
        return True

    def readable(self, response):
        """A packed blob's body is read through its inflation; any other as it is."""
        if self.packing is None:
            return response
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) != self.packing.size:
            # Not the layer: refused before a byte is inflated (or streamed to a client).
            raise SizeValidationError(int(announced), self.packing.size, url=self.url)
        return _Unpacking(response, self.url, self.packing)

    async def content_length(self):
        """A packed blob's announced size is the compressed one: not the file's."""
        if self.packing is not None:
            return None
        return await super().content_length()


class _CompressedBody:
    """The compressed body as ``Inflated`` reads it, on an inflater thread.

    Each read asks the event loop for the next chunk of the response, then counts it
    against the blob's size and hashes it; ``check`` says whether the whole body was
    the blob.
    """

    def __init__(self, content, loop, url, packing):
        self.content = content
        self.loop = loop
        self.url = url
        self.packing = packing
        self.hasher = hashlib.sha256()
        self.received = 0
        self.abandoned = False
        self._buffer = None  # the chunk being handed out, and how far
        self._at = 0

    def read(self, size=-1):
        """Up to ``size`` compressed bytes (the decoder asks for 64 KiB); b"" at the end.

        Chunks of up to 1 MiB are asked of the event loop (one round trip each) and
        handed out in the pieces the decoder asks for.
        """
        if self.abandoned:
            raise Corrupt(_("the download was abandoned"))
        if not self._buffer:
            chunk = asyncio.run_coroutine_threadsafe(
                self.content.read(_COMPRESSED_CHUNK), self.loop
            ).result(_CHUNK_WAIT)
            self.received += len(chunk)
            if self.received > self.packing.size:
                raise SizeValidationError(self.received, self.packing.size, url=self.url)
            self.hasher.update(chunk)
            self._buffer, self._at = memoryview(chunk), 0
        size = READ if size is None or size < 0 else size
        piece = self._buffer[self._at : self._at + size]
        self._at += len(piece)
        if self._at >= len(self._buffer):
            self._buffer = None
        return bytes(piece)

    def check(self):
        """The compressed bytes read must be the blob: its size, then its digest."""
        if self.received != self.packing.size:
            raise SizeValidationError(self.received, self.packing.size, url=self.url)
        expected = self.packing.digest.split(":", 1)[1]
        actual = self.hasher.hexdigest()
        if actual != expected:
            raise DigestMismatch("sha256", actual, expected, url=self.url)


class _Unpacking:
    """A response whose ``content.read`` gives the inflated body, and headers that fit it.

    pulpcore's ``_handle_response`` reads it as it reads any response: the decompressed
    pieces go to ``handle_data`` (capped, hashed, streamed to a client) and its end is
    the end of the compressed stream, once the compressed bytes proved to be the blob.
    """

    def __init__(self, response, url, packing):
        self.url = url
        self.packing = packing
        self.headers = CIMultiDict(
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in _COMPRESSED_HEADERS
        )
        self.content = self
        self._body = _CompressedBody(response.content, asyncio.get_running_loop(), url, packing)
        setting = "KICKSTART_MAX_IMAGE_BYTES"
        self._inflated = Inflated(
            self._body, packing.compression, getattr(settings, setting), setting
        )

    async def read(self, n=-1):
        """Up to ``n`` decompressed bytes (at most decompress.CHUNK); b"" at the verified end."""
        loop = asyncio.get_running_loop()
        try:
            piece = await loop.run_in_executor(_INFLATERS, self._inflated.pull, max(n, 1))
        except asyncio.CancelledError:
            self._body.abandoned = True
            raise
        except TooLarge as exc:
            raise DownloadTooLarge(self.url, exc.limit, exc.setting) from None
        except Corrupt as exc:
            raise DownloadFailed(
                self.url,
                _("the {compression} blob {digest} cannot be decompressed: {problem}").format(
                    compression=self.packing.compression, digest=self.packing.digest, problem=exc
                ),
            ) from None
        if not piece:
            self._body.check()
        return piece
