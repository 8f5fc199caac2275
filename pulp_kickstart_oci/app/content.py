"""Routes of the content app for a kickstart distribution's generated documents.

Loaded by pulpcore-content before its catch-all route, as pulp_container adds
its registry routes: a request for ``.../boot.ipxe``, ``.../grub.cfg``,
``.../.treeinfo``, ``.../pxelinux.cfg/default`` or ``.../trees.json`` comes
here with the request as a parameter. Anything that is not a kickstart
distribution's generated document goes on to pulpcore's own handler.
"""

import json
import threading
import time
from collections import OrderedDict
from gettext import gettext as _

from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings
from redis.exceptions import RedisError

from pulpcore.plugin.cache import AsyncContentCache
from pulpcore.plugin.content import Handler, app
from pulpcore.plugin.util import cache_key, get_domain

from .models import KickstartDistribution
from .serving import DOCUMENT_PATH, TreeServer, boot_hosts, boot_origin, client_host, is_host_name

# pulpcore's content cache records under this key whether a distribution has a content guard.
GUARD_KEY = "DISTRO#GUARD#PRESENT"


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

    def __call__(self, func):
        """pulpcore's cached handler, with a one-round-trip hit in front of it.

        pulpcore's hit asks Redis three times (which base path, is it guarded,
        the entry). A boot storm asks for the same few documents: one pipelined
        read of every candidate base path's guard flag and entry answers an
        unguarded hit; anything else takes pulpcore's way, unchanged.
        """
        cached = super().__call__(func)
        if not settings.CACHE_ENABLED:
            return func

        async def answer(handler, request):
            return await self.hit(request) or await cached(handler, request)

        return answer

    async def hit(self, request):
        """A cached document for an unguarded distribution, or None (then pulpcore decides)."""
        base_keys = cache_key(Handler._base_paths(request.match_info["path"]))
        key = self.make_key(request)
        try:
            pipeline = self.redis.pipeline(transaction=False)
            for base_key in base_keys:
                pipeline.hmget(base_key, [GUARD_KEY, key])
            found = await pipeline.execute()
        except (RedisError, OSError, TypeError, AttributeError):
            return None  # no Redis: pulpcore's path swallows it the same way
        for guard, entry in found:
            if guard is None and entry is None:
                continue  # not this base path
            if guard != b"False" or entry is None:
                return None  # a content guard decides, or not cached yet
            return self._document_response(entry)
        return None

    def _document_response(self, raw):
        """The response a cached document entry holds; None for any other kind of entry."""
        entry = json.loads(raw)
        headers = entry.get("headers", {})
        expires = entry.get("expires", -1)
        if (
            entry.get("type") != "Response"
            or "body" not in entry
            or (expires is not None and expires < time.time())
            or "ETag" in headers
            or "Last-Modified" in headers
        ):
            return None  # pulpcore's make_response handles it (and deletes it if stale)
        response = web.Response(
            body=bytes.fromhex(entry["body"]), status=entry.get("status", 200), headers=headers
        )
        response.headers["X-PULP-CACHE"] = "HIT"
        return response


class DocumentMemo:
    """Rendered documents kept in this process, for as long as what they were made from.

    The key holds everything a document depends on (the distribution and when
    it last changed, the version it serves, the origin, the path), so an entry
    is never stale: a change makes a new key and the old entry ages out.
    Bounded by bytes. Makes a document cheap when the Redis content cache is
    off, and on every cache miss.
    """

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        """The document stored under ``key``, or None."""
        with self._lock:
            document = self._entries.get(key)
            if document is not None:
                self._entries.move_to_end(key)
            return document

    def put(self, key, document):
        """Keep ``document``, dropping the least recently used ones beyond the byte bound."""
        size = len(document.body)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[key] = document
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)


MEMO = DocumentMemo(max_bytes=32 * 1024 * 1024)


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
        document = await sync_to_async(self._document)(request, path, boot_origin(request))
        if document is None:
            # Not a kickstart distribution's document: a file of that name, or 404.
            return await self._match_and_stream(path, request)
        # Range is ignored (RFC 9110 allows it): a part must never be cached as the document.
        headers = {"Content-Type": document.content_type, "Accept-Ranges": "none"}
        if boot_hosts():
            headers["Vary"] = "Host, X-Forwarded-Host, X-Forwarded-Proto"
        return web.Response(body=document.body, headers=headers)

    def _document(self, request, path, origin):
        """The document at ``path`` (None if none): one query when it was rendered before."""
        state = KickstartDistribution.serving_state(self._base_paths(f"{path}/"), get_domain())
        if state is None:
            return None
        distribution = None
        if state["content_guard_id"] is not None:
            distribution = KickstartDistribution.objects.get(pk=state["pk"])
            self._permit(request, distribution)
        relative = path.lstrip("/")[len(state["base_path"]) :].lstrip("/")
        key = (state["pk"], state["pulp_last_updated"], state["served_version"], origin, relative)
        document = MEMO.get(key)
        if document is None:
            distribution = distribution or KickstartDistribution.objects.get(pk=state["pk"])
            server = TreeServer(distribution, origin, version_pk=state["served_version"])
            document = server.handle(relative)
            if document is not None:
                MEMO.put(key, document)
        return document


app.add_routes(
    [web.get(f"{settings.CONTENT_PATH_PREFIX}{{path:{DOCUMENT_PATH}}}", TreeDocuments().serve)]
)
