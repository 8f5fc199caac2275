"""Registry reads a sync needs: list tags, fetch manifests, and name blob URLs.

Every failure is turned into a RegistryError whose message names the registry,
repository and the tag or digest involved, so a failed task says what to fix.
"""

import hashlib
import json
from dataclasses import dataclass
from gettext import gettext as _
from urllib.parse import urljoin, urlparse

import aiohttp

from pulpcore.plugin.exceptions import TimeoutException

from ..downloads import PROXY_REFUSED, DownloadFailed, cap
from ..netboot import artifact
from .auth import RegistryAuthError, origin_of

TAGS_PAGE_SIZE = 1000
MAX_TAG_PAGES = 1000


class RegistryError(Exception):
    """A registry read failed; the message is safe to show (no credentials)."""


@dataclass(frozen=True)
class Fetched:
    """A manifest or index as the registry sent it, with the digest of its raw bytes."""

    raw: bytes
    media_type: str
    digest: str


def _next_link(link_header, current_url):
    """The URL of the next page from an RFC 5988 ``Link: <...>; rel="next"`` header."""
    for part in (link_header or "").split(","):
        if 'rel="next"' in part or "rel=next" in part:
            target = part.split(";")[0].strip().strip("<>")
            return urljoin(current_url, target)
    return None


class RegistryClient:
    """Reads one upstream repository through a remote (its auth, proxy, TLS and limits)."""

    def __init__(self, remote):
        self.remote = remote
        self.base = remote.url.rstrip("/")
        self.name = remote.upstream_name.strip("/")
        self.where = _("registry {host} repository {name}").format(
            host=urlparse(self.base).netloc, name=self.name
        )

    def url(self, kind, reference):
        """The registry API URL of a manifest, blob or tag list of this repository."""
        return f"{self.base}/v2/{self.name}/{kind}/{reference}"

    def blob_url(self, digest):
        """Where a tree's file is fetched from (now or on demand) by its digest."""
        return self.url("blobs", digest)

    async def _download(self, url, what, limit, headers=None):
        downloader = self.remote.get_downloader(url=url, **cap(limit))
        try:
            return await downloader.run(extra_data={"headers": headers or {}})
        except aiohttp.ClientResponseError as exc:
            if exc.status == 401:
                reason = _("refused access (HTTP 401): check the remote's credentials")
            elif exc.status == 403:
                reason = _("denied access (HTTP 403)")
            elif exc.status == 404:
                reason = _("does not have it (HTTP 404)")
            elif exc.status == 407:
                reason = PROXY_REFUSED
            else:
                reason = _("answered HTTP {status}").format(status=exc.status)
            raise RegistryError(
                _("{where}: {what}: {reason}").format(where=self.where, what=what, reason=reason)
            ) from None
        except RegistryAuthError as exc:
            raise RegistryError(
                _("{where}: {what}: {reason}").format(where=self.where, what=what, reason=exc)
            ) from None
        except DownloadFailed as exc:
            raise RegistryError(
                _("{where}: {what}: {reason}").format(
                    where=self.where, what=what, reason=exc.detail
                )
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutException, TimeoutError) as exc:
            raise RegistryError(
                _("{where}: {what}: cannot reach the registry ({kind}: {reason})").format(
                    where=self.where, what=what, kind=type(exc).__name__, reason=exc
                )
            ) from None

    async def list_tags(self):
        """All tags of the repository, following ``Link`` pagination."""
        tags = []
        url = f"{self.url('tags', 'list')}?n={TAGS_PAGE_SIZE}"
        for _page in range(MAX_TAG_PAGES):
            result = await self._download(url, _("listing tags"), "KICKSTART_MAX_TAG_PAGE_BYTES")
            try:
                with open(result.path, "rb") as page:
                    document = json.load(page)
                page_tags = document.get("tags") or []
            except (ValueError, AttributeError) as exc:
                raise RegistryError(
                    _("{where}: the tag list is not valid JSON: {reason}").format(
                        where=self.where, reason=exc
                    )
                ) from None
            tags.extend(str(tag) for tag in page_tags)
            url = _next_link(result.headers.get("Link"), url)
            if not url:
                return tags
            if origin_of(url) != origin_of(self.base):
                raise RegistryError(
                    _(
                        "{where}: the tag list continues on another origin "
                        "({host}); only the remote's registry is followed"
                    ).format(where=self.where, host=urlparse(url).netloc)
                )
        raise RegistryError(
            _("{where}: the tag list has more than {pages} pages").format(
                where=self.where, pages=MAX_TAG_PAGES
            )
        )

    async def get_manifest(self, reference, expected_digest=None, what=None):
        """Fetch a manifest or index by tag or digest and check its digest over the raw bytes."""
        what = what or (
            _("tag {reference}").format(reference=reference)
            if expected_digest is None
            else _("manifest {reference}").format(reference=reference)
        )
        result = await self._download(
            self.url("manifests", reference),
            what,
            "KICKSTART_MAX_MANIFEST_BYTES",
            headers={"Accept": artifact.ACCEPT},
        )
        with open(result.path, "rb") as fetched:
            raw = fetched.read()
        actual = "sha256:" + hashlib.sha256(raw).hexdigest()
        announced = result.headers.get("Docker-Content-Digest")
        if expected_digest and actual != expected_digest:
            raise RegistryError(
                _(
                    "{where}: {what}: the registry sent bytes whose digest is {actual}, "
                    "not {expected}"
                ).format(where=self.where, what=what, actual=actual, expected=expected_digest)
            )
        if announced and announced.startswith("sha256:") and announced != actual:
            raise RegistryError(
                _(
                    "{where}: {what}: the registry announced digest {announced} "
                    "but sent bytes whose digest is {actual}"
                ).format(where=self.where, what=what, announced=announced, actual=actual)
            )
        media_type = artifact.media_type_of(raw, result.headers.get("Content-Type"))
        return Fetched(raw=raw, media_type=media_type, digest=actual)
