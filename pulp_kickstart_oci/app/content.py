"""Routes of the content app for a kickstart distribution's generated documents.

Loaded by pulpcore-content before its catch-all route, as pulp_container adds
its registry routes: a request for ``.../boot.ipxe``, ``.../grub.cfg``,
``.../.treeinfo``, ``.../pxelinux.cfg/default`` or ``.../trees.json`` comes
here with the request as a parameter. Anything that is not a kickstart
distribution's generated document goes on to pulpcore's own handler.

Every request of a kickstart distribution, on either route, first passes
``refuse_what_no_distribution_serves``: a path or Host no kickstart distribution
could serve gets a 4xx before any cache or handler sees it, so what one request
costs is bounded by the caps in settings (docs/serving.md, "HTTP behaviour").
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
from .serving import (
    DOCUMENT_PATH,
    TreeServer,
    base_path_candidates,
    boot_hosts,
    boot_origin,
    is_host_name,
    path_problem,
)

# pulpcore's content cache records under this key whether a distribution has a content guard.
GUARD_KEY = "DISTRO#GUARD#PRESENT"


class DocumentCache(AsyncContentCache):
    """pulpcore's content cache, keyed also on the origin documents point at when that counts.

    With KICKSTART_BOOT_HOSTS set, a document's URLs depend on the origin
    ``boot_origin`` resolves (CONTENT_ORIGIN or a listed name): each such answer
    is cached apart, keyed on that origin, never on the Host or X-Forwarded-*
    text a client sent, so a client can neither add an entry per made-up name nor
    reach another origin's entry. With the list empty, one entry serves all.
    """

    def make_key(self, request):
        """path:method, plus the resolved origin when boot hosts are configured."""
        key = f"{request.path}:{request.method}"
        if boot_hosts():
            key = f"{key}:{boot_origin(request)}"
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
    Bounded by bytes, each entry counted with ENTRY_OVERHEAD for its key and
    bookkeeping. Makes a document cheap when the Redis content cache is off, and
    on every cache miss.
    """

    # What an entry costs beyond its body: the key tuple (its path is a rendered
    # document's: a release, an arch and a name), the Document and the dict's node.
    ENTRY_OVERHEAD = 1024

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._entries = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size(self):
        """Bytes counted against ``max_bytes`` now."""
        return self._bytes

    def _cost(self, document):
        return len(document.body) + self.ENTRY_OVERHEAD

    def get(self, key):
        """The document stored under ``key``, or None."""
        with self._lock:
            document = self._entries.get(key)
            if document is not None:
                self._entries.move_to_end(key)
            return document

    def put(self, key, document):
        """Keep ``document``, dropping the least recently used ones beyond the byte bound."""
        size = self._cost(document)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= self._cost(old)
            self._entries[key] = document
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= self._cost(dropped)


MEMO = DocumentMemo(max_bytes=settings.KICKSTART_DOCUMENT_MEMO_BYTES)


def _refusal(status, reason):
    error = web.HTTPRequestURITooLong if status == 414 else web.HTTPBadRequest
    return error(text=reason)


def request_problem(request):
    """The 4xx a request gets if it is a kickstart distribution's, or None when it may go on.

    Reads only the request line's path and the Host header, in time linear in
    their capped length: no cache, no query.
    """
    prefix = settings.CONTENT_PATH_PREFIX
    raw = request.rel_url.path_safe
    if "path" not in request.match_info or not raw.startswith(prefix):
        return None  # the content app's root listing
    problem = path_problem(raw[len(prefix) :])
    if problem is None and request.host and not is_host_name(request.host):
        problem = 400, _("The Host header is not a host name.\n")
    return problem and _refusal(*problem)


def _serves_kickstart(path):
    """True when a kickstart distribution is at one of ``path``'s base paths (one query)."""
    candidates = base_path_candidates(path)
    return bool(candidates) and (
        KickstartDistribution.objects.filter(
            pulp_domain=get_domain(), base_path__in=candidates
        ).exists()
    )


@web.middleware
async def refuse_what_no_distribution_serves(request, handler):
    """Refuse a kickstart distribution's request whose path or Host no distribution serves.

    Cheap for every request: only a request that fails ``request_problem`` costs
    one bounded query, to tell whether it is a kickstart distribution's (other
    plugins' distributions keep pulpcore's behaviour). Runs before the route's
    handler and its cache: a refused request stores nothing and reaches no
    lookup that grows with the path (pulpcore's base-path match is cubic in the
    number of segments).
    """
    refusal = request_problem(request)
    if refusal is not None and await sync_to_async(_serves_kickstart)(request.match_info["path"]):
        raise refusal
    return await handler(request)


class TreeDocuments(Handler):
    """Serves generated documents; hands every other request to pulpcore's Handler."""

    async def serve(self, request):
        """Route handler: refuse a Host that is no host name or an overlong path, then answer.

        This route's own costs (the cache's base-path lookups) grow with the path,
        and pulpcore's cache would parse the Host into its key and answer 500: both
        are refused here for any distribution's path, not only a kickstart one's.
        """
        refusal = request_problem(request)
        if refusal is not None and (
            refusal.status == 414 or request.host and not is_host_name(request.host)
        ):
            raise refusal
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
            try:
                return await self._match_and_stream(path, request)
            except web.HTTPNotFound as missing:
                # Never cached: one entry per made-up release or name would let any
                # client fill Redis (a 404 costs a query or two instead).
                missing.cacheable = False
                raise
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


app.middlewares.append(refuse_what_no_distribution_serves)
app.add_routes(
    [web.get(f"{settings.CONTENT_PATH_PREFIX}{{path:{DOCUMENT_PATH}}}", TreeDocuments().serve)]
)
