"""The content app's request rules for kickstart distributions (loaded by pulpcore-content).

Generated documents are served by pulpcore's own handler, through
``KickstartDistribution.content_handler`` and ``content_handler_list_directory``,
behind pulpcore's content cache, content guards and domains. What this module adds
is one middleware on pulpcore's public ``app``: a request of a kickstart
distribution whose path or Host no kickstart distribution could serve gets a 4xx
before pulpcore's cache or its base-path match sees it, so what one request costs
is bounded by the caps in settings (docs/serving.md, "HTTP behaviour").

One route reads the request's query: a CoreOS update graph (Cincinnati,
``<base_path>/v1/graph?basearch=&stream=&oci=``, what Zincati asks), rendered from the
release index the served version holds (documents/update_graph.py). It matches the
distribution by its exact base path, applies its content guard as pulpcore does, and is
never cached: the query decides the body, and pulpcore's cache keys ignore queries. A
path ending in ``/v1/graph`` that is no kickstart distribution's graph (another plugin's
file, say) goes on to pulpcore's own handler, as if this route were not there.
"""

from gettext import gettext as _

from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings

from pulpcore.plugin.content import Handler, app
from pulpcore.plugin.util import get_domain

from .documents import update_graph
from .models import PASSIVE_CONTENT, KickstartDistribution
from .serving import base_path_candidates, is_host_name, path_problem


def _refusal(status, reason):
    error = web.HTTPRequestURITooLong if status == 414 else web.HTTPBadRequest
    return error(text=reason)


def served_path(request):
    """The request's path below CONTENT_PATH_PREFIX and the domain segment (with domains on),
    percent-encoding kept; None for the content app's listings of distributions or domains."""
    prefix = settings.CONTENT_PATH_PREFIX
    raw = request.rel_url.path_safe
    if "path" not in request.match_info or not raw.startswith(prefix):
        return None
    raw = raw[len(prefix) :]
    if settings.DOMAIN_ENABLED:
        raw = raw.partition("/")[2]
    return raw


def request_problem(request):
    """The 4xx a request gets if it is a kickstart distribution's, or None when it may go on.

    Reads only the request line's path and the Host header, in time linear in
    their capped length: no cache, no query.
    """
    path = served_path(request)
    if path is None:
        return None
    problem = path_problem(path)
    if problem is None and request.host and not is_host_name(request.host):
        problem = 400, _("The Host header is not a host name.\n")
    return problem and _refusal(*problem)


def _serves_kickstart(path):
    """True when a kickstart distribution of the request's domain is at one of ``path``'s
    base paths (one query)."""
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
    plugins' distributions keep pulpcore's behaviour). Runs after pulpcore's
    authentication (which sets the domain) and before the handler and its cache: a
    refused request stores nothing and reaches no lookup that grows with the path
    (pulpcore's base-path match is cubic in the number of segments).
    """
    refusal = request_problem(request)
    if refusal is not None and await sync_to_async(_serves_kickstart)(request.match_info["path"]):
        raise refusal
    return await handler(request)


app.middlewares.append(refuse_what_no_distribution_serves)


def _distribution_at(base_path):
    """The kickstart distribution of the request's domain at exactly ``base_path``, or None."""
    return (
        KickstartDistribution.objects.filter(pulp_domain=get_domain(), base_path=base_path)
        .select_related("repository", "repository_version", "content_guard")
        .first()
    )


def _permit(request, distribution):
    """The distribution's content guard decides, as for its files (403 when it refuses)."""
    guard = distribution.content_guard
    if guard is not None:
        try:
            guard.cast().permit(request)
        except PermissionError as exc:
            raise web.HTTPForbidden(reason=str(exc)) from None


async def serve_update_graph(request):
    """``<base_path>/v1/graph``: the update graph of a kickstart distribution, as JSON.

    Errors have the shape Zincati reads (``{"kind": ..., "value": ...}``).
    """
    path = request.match_info["path"]
    distribution = await sync_to_async(_distribution_at)(path[: -len(GRAPH_SUFFIX)])
    if distribution is None:
        # Not a kickstart distribution's graph: whatever pulpcore serves at this path.
        return await Handler().stream_content(request)
    problem = path_problem(path)
    if problem is not None:
        raise _refusal(*problem)
    await sync_to_async(_permit)(request, distribution)
    status, body = await sync_to_async(update_graph.respond)(distribution, request.query)
    headers = {"Cache-Control": "no-store", **PASSIVE_CONTENT}
    return web.json_response(body, status=status, headers=headers)


_PREFIX = settings.CONTENT_PATH_PREFIX + ("{pulp_domain}/" if settings.DOMAIN_ENABLED else "")
GRAPH_SUFFIX = "/v1/graph"
# Added when pulpcore-content imports this module, before its catch-all file route (whose
# parameter is also ``path``, the whole path, so pulpcore's handler can take the request).
app.add_routes([web.get(_PREFIX + r"{path:[^?]+/v1/graph}", serve_update_graph)])
