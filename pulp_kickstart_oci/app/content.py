"""The content app's request rules for kickstart distributions (loaded by pulpcore-content).

Generated documents are served by pulpcore's own handler, through
``KickstartDistribution.content_handler`` and ``content_handler_list_directory``,
behind pulpcore's content cache, content guards and domains. What this module adds
is one middleware on pulpcore's public ``app``: a request of a kickstart
distribution whose path or Host no kickstart distribution could serve gets a 4xx
before pulpcore's cache or its base-path match sees it, so what one request costs
is bounded by the caps in settings (docs/serving.md, "HTTP behaviour").
"""

from gettext import gettext as _

from aiohttp import web
from asgiref.sync import sync_to_async
from django.conf import settings

from pulpcore.plugin.content import app
from pulpcore.plugin.util import get_domain

from .models import KickstartDistribution
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
