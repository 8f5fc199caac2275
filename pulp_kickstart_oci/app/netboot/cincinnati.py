"""A CoreOS stream's release index and update policy, and the update graph Zincati reads.

Fedora CoreOS publishes every release of a stream in a release index
(``prod/streams/<stream>/releases.json``: each release's OSTree commit and OCI image per
architecture, oldest first) and its update policy (``updates/<stream>.json``: barriers,
dead ends, rollouts). Fedora's graph service (coreos/fedora-coreos-cincinnati) turns
them into a Cincinnati graph per stream, architecture and payload scheme; ``graph()``
renders the same graph from a stored record, so Zincati on a disconnected fleet can
update from the site.

Both documents are upstream input: strict JSON, each value through a grammar where it
enters (``index_record``); a stored record is checked again where it is read
(``from_record``: it may come from another Pulp's import). The graph is the graph
builder's, with the policy engine's dead-end filtering; rollouts are not throttled by
time or by a machine's wariness (every edge of a rollout is served at once:
docs/sync-from-coreos.md says so).

A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import functools
import gettext
import json
import math
import re

from . import grammar, jsondoc

_ = functools.cache(gettext.gettext)

MAX_RELEASES = 10_000
# A CoreOS release: Fedora's 44.20260707.3.1, RHCOS's 9.8.20260428-0.
VERSION = re.compile(r"[0-9]{1,10}(\.[0-9]{1,10}){0,7}(-[0-9]{1,10})?")
# An OCI payload: registry host[:port], repository path, and a sha256 digest.
_REPOSITORY = r"[a-z0-9]([a-z0-9.-]{0,252})(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]{0,127}))+"
REPOSITORY = re.compile(_REPOSITORY)
DIGEST_REF = re.compile(rf"(?P<repository>{_REPOSITORY})@(?P<digest>sha256:[0-9a-f]{{64}})")
_COMMIT = re.compile(r"[0-9a-f]{64}")
_PREFIX = "org.fedoraproject.coreos."
_ROLLOUT_FIELDS = ("start_epoch", "start_percentage", "duration_minutes")


class CincinnatiError(ValueError):
    """A release index, update policy or graph request that cannot be used; says why."""


class GraphQueryError(CincinnatiError):
    """A graph request's query that names no graph (a 400)."""

    def __init__(self, value, kind="invalid_params"):
        super().__init__(value)
        self.kind = kind

    def body(self):
        """Cincinnati's error shape, which Zincati reads."""
        return {"kind": self.kind, "value": str(self)}


def _object(value, what):
    if not isinstance(value, dict):
        raise CincinnatiError(_("{what} is not an object").format(what=what))
    return value


def _list(value, what, limit):
    if not isinstance(value, list):
        raise CincinnatiError(_("{what} is not a list").format(what=what))
    if len(value) > limit:
        raise CincinnatiError(
            _("{what} has more than {limit} entries").format(what=what, limit=limit)
        )
    return value


def _matching(pattern, value, what, meaning):
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise CincinnatiError(_("{what} is not {meaning}").format(what=what, meaning=meaning))
    return value


def _version(value, what):
    return _matching(VERSION, value, what, _("a CoreOS release (e.g. 44.20260707.3.1)"))


def _arch(value, what):
    return _matching(grammar.ARCH, value, what, _("an architecture"))


def _reason(value, what):
    """A barrier's or dead end's reason: an http(s) URL of URL characters ("" allowed)."""
    if value in (None, ""):
        return ""
    if not (
        isinstance(value, str)
        and grammar.matches(grammar.REFERENCE, value)
        and value.startswith(("https://", "http://"))
    ):
        raise CincinnatiError(_("{what} is not an http(s) URL").format(what=what))
    return value


def payload_repository(value, what=None):
    """``value`` if it is a registry repository (``host[:port]/path``), else CincinnatiError."""
    return _matching(
        REPOSITORY,
        value,
        what or _("the payload repository"),
        _("a registry repository (host[:port]/path, lower case)"),
    )


def _rollout(value, what):
    value = _object(value, what)
    rollout = {}
    epoch = value.get("start_epoch")
    if epoch is not None:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or abs(epoch) >= 2**63:
            raise CincinnatiError(_("{what}: start_epoch is not an integer").format(what=what))
        rollout["start_epoch"] = epoch
    percentage = value.get("start_percentage")
    if percentage is not None:
        if (
            isinstance(percentage, bool)
            or not isinstance(percentage, (int, float))
            or not math.isfinite(percentage)
            or not 0 <= percentage <= 1
        ):
            raise CincinnatiError(
                _("{what}: start_percentage is not a number from 0 to 1").format(what=what)
            )
        rollout["start_percentage"] = float(percentage)
    minutes = value.get("duration_minutes")
    if minutes is not None:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes < 2**63:
            raise CincinnatiError(
                _("{what}: duration_minutes is not a whole number of minutes").format(what=what)
            )
        rollout["duration_minutes"] = minutes
    return rollout


def _policies(raw, where, stream):
    """{version: {"barrier", "deadend", "rollout"}} of an update policy document."""
    try:
        document = jsondoc.load_object(raw)
    except jsondoc.NotJson as exc:
        raise CincinnatiError(_("{where}: {problem}").format(where=where, problem=exc)) from None
    if document.get("stream") != stream:
        raise CincinnatiError(
            _("{where}: the update policy is not stream {stream!r}'s").format(
                where=where, stream=stream
            )
        )
    found = {}
    entries = _list(document.get("releases"), f"{where}: releases", MAX_RELEASES)
    for number, entry in enumerate(entries):
        what = _("{where}: update policy entry {number}").format(where=where, number=number)
        entry = _object(entry, what)
        version = _version(entry.get("version"), f"{what}: version")
        metadata = _object(entry.get("metadata", {}), f"{what} {version}: metadata")
        policy = {"barrier": None, "deadend": None, "rollout": None}
        for name in ("barrier", "deadend"):
            if name in metadata:
                marked = _object(metadata[name], f"{what} {version}: {name}")
                policy[name] = _reason(marked.get("reason"), f"{what} {version}: {name} reason")
        if "rollout" in metadata:
            policy["rollout"] = _rollout(metadata["rollout"], f"{what} {version}: rollout")
        if version in found:
            raise CincinnatiError(
                _("{where}: release {version} is listed twice").format(where=where, version=version)
            )
        found[version] = policy
    return found


def _by_arch(entries, what, value_key, check):
    """{arch: value} of a release's ``commits`` or ``oci-images`` list."""
    found = {}
    for entry in _list(entries, what, 64):
        entry = _object(entry, what)
        arch = _arch(entry.get("architecture"), f"{what}: architecture")
        if arch in found:
            raise CincinnatiError(_("{what}: {arch} is listed twice").format(what=what, arch=arch))
        found[arch] = check(entry.get(value_key), f"{what} {arch}: {value_key}")
    return found


def _commit(value, what):
    return _matching(_COMMIT, value, what, _("an OSTree commit (64 lower-case hex digits)"))


def _digest_ref(value, what):
    return _matching(
        DIGEST_REF, value, what, _("an image pullspec by digest (host/path@sha256:<hex>)")
    )


def index_record(raw_index, raw_updates, where, stream, url=None):
    """The record stored for a stream (a JSON-able dict): its release index ``raw_index``
    (bytes) joined with its update policy ``raw_updates`` (bytes, or None). ``stream``: the
    stream the stream metadata names; both documents must be that stream's."""
    where = f"{where}: {url}" if url else where
    try:
        document = jsondoc.load_object(raw_index)
    except jsondoc.NotJson as exc:
        raise CincinnatiError(_("{where}: {problem}").format(where=where, problem=exc)) from None
    if document.get("stream") != stream:
        raise CincinnatiError(
            _("{where}: the release index is not stream {stream!r}'s").format(
                where=where, stream=stream
            )
        )
    policies = {} if raw_updates is None else _policies(raw_updates, where, stream)
    releases = []
    seen = set()
    entries = _list(document.get("releases"), f"{where}: releases", MAX_RELEASES)
    for number, entry in enumerate(entries):
        what = _("{where}: release entry {number}").format(where=where, number=number)
        entry = _object(entry, what)
        version = _version(entry.get("version"), f"{what}: version")
        if version in seen:
            raise CincinnatiError(
                _("{where}: release {version} is listed twice").format(where=where, version=version)
            )
        seen.add(version)
        what = f"{what} ({version})"
        policy = policies.get(version, {})
        releases.append(
            {
                "version": version,
                "commits": _by_arch(
                    entry.get("commits", []), f"{what}: commits", "checksum", _commit
                ),
                "oci_images": _by_arch(
                    entry.get("oci-images", []), f"{what}: oci-images", "digest-ref", _digest_ref
                ),
                "barrier": policy.get("barrier"),
                "deadend": policy.get("deadend"),
                "rollout": policy.get("rollout"),
            }
        )
    return from_record({"stream": stream, "releases": releases})


def from_record(record, what=None):
    """A stored record checked again (it may come from another Pulp); CincinnatiError."""
    what = what or _("release index record")
    record = _object(record, what)
    stream = record.get("stream")
    if not grammar.matches(grammar.TAG, stream):
        raise CincinnatiError(_("{what}: stream is not a stream name").format(what=what))
    releases = []
    seen = set()
    for number, entry in enumerate(_list(record.get("releases"), what, MAX_RELEASES)):
        where = f"{what}: release {number}"
        entry = _object(entry, where)
        version = _version(entry.get("version"), f"{where}: version")
        if version in seen:
            raise CincinnatiError(_("{where}: listed twice").format(where=where))
        seen.add(version)
        commits = _object(entry.get("commits"), f"{where}: commits")
        images = _object(entry.get("oci_images"), f"{where}: oci_images")
        rollout = entry.get("rollout")
        releases.append(
            {
                "version": version,
                "commits": {
                    _arch(arch, where): _commit(value, where) for arch, value in commits.items()
                },
                "oci_images": {
                    _arch(arch, where): _digest_ref(value, where) for arch, value in images.items()
                },
                "barrier": None
                if entry.get("barrier") is None
                else _reason(entry["barrier"], f"{where}: barrier"),
                "deadend": None
                if entry.get("deadend") is None
                else _reason(entry["deadend"], f"{where}: deadend"),
                "rollout": None if rollout is None else _rollout(rollout, f"{where}: rollout"),
            }
        )
    return {"stream": stream, "releases": releases}


def release_facts(record, version, arch):
    """What a tree's provenance adds from the record: its release's OCI image and commit."""
    for release in (record or {}).get("releases", ()):
        if release["version"] == version:
            facts = {}
            if arch in release["oci_images"]:
                facts["oci_image"] = release["oci_images"][arch]
            if arch in release["commits"]:
                facts["commit"] = release["commits"][arch]
            return facts
    return {}


def _number(value):
    """A float as Rust's ``f64::to_string`` writes it (1.0 -> "1", 0.3 -> "0.3")."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def graph(record, basearch, oci, payload_repository=None):
    """The Cincinnati graph of ``record`` for ``basearch``: nodes of the releases with a
    payload of the scheme (an OCI digest pullspec when ``oci``, else the OSTree commit),
    edges to each rollout and barrier as Fedora's graph builder draws them, none leaving
    a dead end.

    ``payload_repository`` replaces the ``host/path`` of every OCI payload. Off by
    default: Zincati finds its booted release by the exact payload string, so a host
    booted from quay.io finds itself only in a graph naming quay.io; mirror the pulls
    with registries.conf instead, or rebase the hosts onto the site's registry first.
    """
    nodes = []
    for age, release in enumerate(record["releases"]):
        if oci:
            payload = release["oci_images"].get(basearch)
            if payload and payload_repository:
                payload = payload_repository + payload[payload.index("@") :]
        else:
            payload = release["commits"].get(basearch)
        if not payload:
            continue
        metadata = {
            _PREFIX + "releases.age_index": str(age),
            _PREFIX + "scheme": "oci" if oci else "checksum",
        }
        if release["deadend"] is not None:
            metadata[_PREFIX + "updates.deadend"] = "true"
            metadata[_PREFIX + "updates.deadend_reason"] = release["deadend"] or "generic"
        if release["barrier"] is not None:
            metadata[_PREFIX + "updates.barrier"] = "true"
            metadata[_PREFIX + "updates.barrier_reason"] = release["barrier"]
        rollout = release["rollout"]
        if rollout is not None:
            metadata[_PREFIX + "updates.rollout"] = "true"
            if "start_epoch" in rollout:
                metadata[_PREFIX + "updates.start_epoch"] = str(rollout["start_epoch"])
            if "start_percentage" in rollout:
                metadata[_PREFIX + "updates.start_value"] = _number(rollout["start_percentage"])
            if "duration_minutes" in rollout:
                metadata[_PREFIX + "updates.duration_minutes"] = str(rollout["duration_minutes"])
        nodes.append(
            (release, {"version": release["version"], "metadata": metadata, "payload": payload})
        )
    edges = []
    barriers = [
        index for index, (release, _node) in enumerate(nodes) if release["barrier"] is not None
    ]
    for target in reversed(range(len(nodes))):
        if nodes[target][0]["rollout"] is None:
            continue
        start = max((index for index in barriers if index < target), default=0)
        edges.extend([source, target] for source in range(start, target))
    start = 0
    for target in barriers:
        if nodes[target][0]["rollout"] is None:
            edges.extend([source, target] for source in range(start, target))
        start = target
    edges = [edge for edge in edges if nodes[edge[0]][0]["deadend"] is None]
    return {"nodes": [node for _release, node in nodes], "edges": edges}


def query(params):
    """``(basearch, stream, oci)`` of a graph request's query (Zincati's parameters; the
    others it sends are ignored), or GraphQueryError."""
    basearch = params.get("basearch", "")
    stream = params.get("stream", "")
    if not basearch or not grammar.matches(grammar.ARCH, basearch):
        raise GraphQueryError(_("basearch must name an architecture, e.g. x86_64"))
    if not stream or not grammar.matches(grammar.TAG, stream):
        raise GraphQueryError(_("stream must name a stream, e.g. stable"))
    oci = params.get("oci", "false")
    if oci not in ("true", "false"):
        raise GraphQueryError(_("oci must be true or false"))
    return basearch, stream, oci == "true"


def dumps(document):
    """The graph as JSON text."""
    return json.dumps(document, indent=2)
