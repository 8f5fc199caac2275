"""An HttpDownloader that speaks registry authentication.

Used for everything a kickstart remote downloads: tag lists, manifests, and the
blobs themselves, both during sync and when the content app fetches an
on-demand file.
"""

import logging

from pulpcore.plugin.download import DownloadResult, HttpDownloader

from ..downloads import CappedDownloadMixin
from .auth import RegistryAuth

log = logging.getLogger(__name__)


class RegistryDownloader(CappedDownloadMixin, HttpDownloader):
    """Answers 401 challenges (bearer token or basic) once per request, then retries.

    Reads are capped (see downloads.py); credentials only ever go to the
    remote's own origin (see RegistryAuth).

    ``extra_data={"missing_ok": True}``: a 404 is an answer, not a failure (a
    manifest with no signature tag): the result then has ``path`` None, and
    nothing is retried or logged as an error.
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

    async def _run(self, extra_data=None):
        if self.download_throttler:
            await self.download_throttler.acquire()
        extra_data = extra_data or {}
        base_headers = dict(extra_data.get("headers") or {})
        for attempt in (1, 2):
            headers = dict(base_headers)
            authorization = self.registry_auth.header_for(self.url)
            if authorization:
                headers["Authorization"] = authorization
            async with self.session.get(
                self.url, headers=headers, proxy=self.proxy, proxy_auth=self.proxy_auth
            ) as response:
                if response.status == 401 and attempt == 1:
                    challenge = response.headers.get("WWW-Authenticate", "")
                    await response.release()
                    await self.registry_auth.answer(
                        challenge, self.url, self.session, self.proxy, self.proxy_auth
                    )
                    continue
                if response.status == 404 and extra_data.get("missing_ok"):
                    result = DownloadResult(
                        url=self.url, artifact_attributes={}, path=None, headers=response.headers
                    )
                    await response.release()
                    break
                self.raise_for_status(response)
                result = await self._handle_response(response)
                await response.release()
                break
        if self._close_session_on_finalize:
            await self.session.close()
        return result
