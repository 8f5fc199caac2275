"""``<base_path>/v1/graph``: a CoreOS update graph (Cincinnati), for Zincati on a site's fleet.

Not a DocumentKind: its body depends on the request's query (``basearch``, ``stream``,
``oci``), so the content app serves it from its own route (content.py) and never
caches it. It is still a function of the served repository version: the release index
of the asked stream that the version holds (a KickstartReleaseIndex a CoreOS sync
stored), rendered by netboot/cincinnati.py as Fedora's graph service does (rollouts
throttled by time and by the asking machine's wariness), with OCI payloads
in the distribution's ``graph_payload_repository`` when the admin names one.
"""

import time
from gettext import gettext as _

from ..netboot import cincinnati

# Checked records by (unit, identity): a content unit never changes, so a record checked
# once need not be checked on every request (Zincati asks every few minutes per machine).
_CHECKED = {}
_CHECKED_KEPT = 32


def _checked(index):
    key = (index.pk, index.identity)
    record = _CHECKED.get(key)
    if record is None:
        record = cincinnati.from_record(index.record)
        while len(_CHECKED) >= _CHECKED_KEPT:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = record
    return record


def _error(kind, value):
    """Cincinnati's error body, which Zincati reads and logs."""
    return {"kind": kind, "value": value}


def respond(distribution, query):
    """``(status, body)`` of the graph ``query`` asks ``distribution`` for."""
    try:
        basearch, stream, oci = cincinnati.query(query)
    except cincinnati.GraphQueryError as exc:
        return 400, exc.body()
    index = distribution.served_release_index(stream)
    if index is None:
        return 404, _error(
            "unknown_stream",
            _("this distribution serves no release index of stream {stream!r}").format(
                stream=stream
            ),
        )
    try:
        record = _checked(index)
    except cincinnati.CincinnatiError as exc:
        return 500, _error("invalid_release_index", str(exc))
    # Rollouts throttled as Fedora's policy engine does: by time and the machine's wariness.
    return 200, cincinnati.graph(
        record,
        basearch,
        oci,
        payload_repository=distribution.graph_payload_repository,
        now=time.time(),
        wariness=cincinnati.wariness(query),
    )
