"""An HttpDownloader that speaks registry authentication.

Used for everything a kickstart OCI remote downloads: tag lists, manifests, and
the blobs themselves, both during sync and when the content app fetches an
on-demand file. Requests, redirects and token requests all go through the
remote's FetchPolicy (downloads.py, fetch_policy.py).
"""

import logging

from ..downloads import CappedHttpDownloader
from ..fetch_policy import TOKEN
from .auth import RegistryAuth

log = logging.getLogger(__name__)


class _TokenRoute:
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

    def authorization(self, hop):
        """The bearer token (or basic credentials) learnt for this URL's scope, on our origin."""
        return self.registry_auth.header_for(str(hop.url))

    async def unauthorized(self, response, hop):
        """Answer the registry's challenge (a token, or basic credentials), then retry."""
        challenge = response.headers.get("WWW-Authenticate", "")
        await self.registry_auth.answer(challenge, str(hop.url), _TokenRoute(self))
        return True
