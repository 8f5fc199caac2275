"""Routes of the content app for a kickstart distribution's generated documents.

Loaded by pulpcore-content before its catch-all route, as pulp_container adds
its registry routes: a request for ``.../boot.ipxe``, ``.../grub.cfg``,
``.../.treeinfo``, ``.../pxelinux.cfg/default`` or ``.../trees.json`` comes
here with the request as a parameter. Anything that is not a kickstart
distribution's generated document goes on to pulpcore's own handler.
"""

from gettext import gettext as _

from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings

from pulpcore.plugin.cache import AsyncContentCache
from pulpcore.plugin.content import Handler, app

from .models import KickstartDistribution
from .serving import DOCUMENT_PATH, TreeServer, boot_hosts, boot_origin, client_host, is_host_name


class DocumentCache(AsyncContentCache):
    """pulpcore's content cache, keyed also on the name a client asked under when that counts.

    With KICKSTART_BOOT_HOSTS set, a document's URLs depend on the host (and,
    if trusted, forwarded headers): each such answer is cached apart. With the
    list empty, every client gets the same bytes and one entry serves all.
    """

    def make_key(self, request):
        """path:method, plus scheme and host[:port] when boot hosts are configured."""
        key = super().make_key(request)
        if boot_hosts():
            scheme, host = client_host(request)
            key = f"{key}:{scheme}://{host}"
        return key


class TreeDocuments(Handler):
    """Serves generated documents; hands every other request to pulpcore's Handler."""

    async def serve(self, request):
        """Route handler: refuse a Host that is no host name, then answer (from the cache)."""
        if request.host and not is_host_name(request.host):
            # pulpcore's cache would parse it into its key and answer 500.
            raise web.HTTPBadRequest(text=_("The Host header is not a host name.\n"))
        return await self.answer(request)

    @DocumentCache(
        base_key=lambda request, cache: Handler.find_base_path_cached(request, cache),
        auth=lambda request, cache, base_key: Handler.auth_cached(request, cache, base_key),
    )
    async def answer(self, request):
        """A kickstart distribution's document, or pulpcore's answer for any other path.

        Behind the cache: a hit costs no database query (a boot storm asks the same
        few documents over and over); the distribution is matched on a miss only.
        """
        path = request.match_info["path"]
        distribution = await sync_to_async(self._match_distribution)(path)
        if not isinstance(distribution, KickstartDistribution):
            return await self._match_and_stream(path, request)
        await sync_to_async(self._permit)(request, distribution)
        relative = path.lstrip("/")[len(distribution.base_path) :]
        server = TreeServer(distribution, boot_origin(request))
        document = await sync_to_async(server.handle)(relative.lstrip("/"))
        if document is None:
            return await self._match_and_stream(path, request)  # a file of that name, or 404
        # Range is ignored (RFC 9110 allows it): a part must never be cached as the document.
        headers = {"Content-Type": document.content_type, "Accept-Ranges": "none"}
        if boot_hosts():
            headers["Vary"] = "Host, X-Forwarded-Host, X-Forwarded-Proto"
        return web.Response(body=document.body, headers=headers)


app.add_routes(
    [web.get(f"{settings.CONTENT_PATH_PREFIX}{{path:{DOCUMENT_PATH}}}", TreeDocuments().serve)]
)
