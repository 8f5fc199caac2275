"""A CoreOS stream's release index and update policy, and the update graph Zincati reads.

Fedora CoreOS publishes every release of a stream in a release index
(``prod/streams/<stream>/releases.json``: each release's OSTree commit and OCI image per
architecture, oldest first) and its update policy (``updates/<stream>.json``: barriers,
dead ends, rollouts). Fedora's graph service (coreos/fedora-coreos-cincinnati: a graph
builder and a policy engine) turns them into a Cincinnati graph per stream,
architecture and payload scheme; ``graph()`` renders the same graph from a stored
record, so Zincati on a disconnected fleet can update from the site.

Both documents are upstream input: strict JSON, each value through a grammar where it
enters (``parse_release_index``, ``parse_updates``, joined by ``index_record``); a
stored record is checked again wherever it is read (``from_record``: it may come from
another Pulp's import), including a bound on the edges its rollouts would draw, so no
record makes a graph request expensive.

A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import bisect
import functools
import gettext
import hashlib
import json
import math
import re
from decimal import Decimal
from urllib.parse import urlsplit

from . import grammar, jsondoc

_ = functools.cache(gettext.gettext)

MAX_RELEASES = 10_000
MAX_ARCHITECTURES = 64
# Edges one graph may have (Fedora's stable stream draws a few hundred): a bound every
# record is checked against, so an update policy of rollouts everywhere is refused
# where it enters instead of drawing n² edges on each request.
MAX_EDGES = 100_000

# A CoreOS release: Fedora's 44.20260707.3.1, RHCOS's 9.8.20260428-0 or
# 410.84.202201251203-0; at most 64 characters, so it is also a tree's release name.
VERSION = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20}){0,7}(?:-[0-9]{1,20})?")
_MAX_VERSION = 64
# An image repository as a digest-ref names it: a registry host (a dotted name, a name
# with a port, or localhost; lower case; no IPv6 literal) and the OCI distribution
# spec's path components. The host rule keeps ``fedora/coreos`` (a Docker Hub
# shorthand) from being read as a registry named "fedora".
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PORT = r":[0-9]{1,5}"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})+(?:{_PORT})?|{_LABEL}{_PORT}|localhost)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"{_HOST}(?:/{_COMPONENT}){{1,16}}"
REPOSITORY = re.compile(_REPOSITORY)
DIGEST_REF = re.compile(rf"(?P<repository>{_REPOSITORY})@(?P<digest>sha256:[0-9a-f]{{64}})")
_MAX_REPOSITORY = 255  # the distribution spec's bound on a name, host included
_COMMIT = re.compile(r"[0-9a-f]{64}")
# What Rust's f64 parser takes (the policy engine reads rollout_wariness with it).
_RUST_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))"
)
_PREFIX = "org.fedoraproject.coreos."
_POLICY_KEYS = ("barrier", "deadend", "rollout")
_RELEASE_KEYS = frozenset(("version", "commits", "oci_images", *_POLICY_KEYS))
_ROLLOUT_KEYS = frozenset(("start_epoch", "start_percentage", "duration_minutes"))
_SHOWN = 80  # characters of a refused value a message quotes


class CincinnatiError(ValueError):
    """A release index, update policy or graph request that cannot be used; says why."""


class GraphQueryError(CincinnatiError):
    """A graph request's query that names no graph (a 400)."""

    def __init__(self, value, kind="invalid_params"):
        super().__init__(value)
        self.kind = kind

    def body(self):
        """Cincinnati's error shape, which Zincati reads and logs."""
        return {"kind": self.kind, "value": str(self)}


def _shown(value):
    """A refused value as a message quotes it: repr (no control character), cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


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


def _only(value, keys, what):
    """A stored record's object with no key but ``keys`` (its format is ours: one reading)."""
    extra = sorted(set(value) - keys, key=str)
    if extra:
        raise CincinnatiError(
            _("{what} has an unknown key {key}").format(what=what, key=_shown(extra[0]))
        )
    return value


def _matching(pattern, value, what, meaning, limit=None):
    if (
        not isinstance(value, str)
        or (limit is not None and len(value) > limit)
        or not pattern.fullmatch(value)
    ):
        raise CincinnatiError(
            _("{what} {value} is not {meaning}").format(
                what=what, value=_shown(value), meaning=meaning
            )
        )
    return value


def _version(value, what):
    return _matching(
        VERSION, value, what, _("a CoreOS release (e.g. 44.20260707.3.1)"), _MAX_VERSION
    )


def _stream(value, what):
    return _matching(grammar.TAG, value, what, _("a stream name (e.g. stable)"))


def _arch(value, what):
    return _matching(grammar.ARCH, value, what, _("an architecture (e.g. x86_64)"))


def _commit(value, what):
    return _matching(_COMMIT, value, what, _("an OSTree commit (64 lower-case hex digits)"))


def _port_in_range(repository):
    host = repository.split("/", 1)[0]
    return ":" not in host or 0 < int(host.rsplit(":", 1)[1]) < 65536


def _digest_ref(value, what):
    meaning = _("an image by digest (registry-host[:port]/path@sha256:<64 hex digits>)")
    _matching(DIGEST_REF, value, what, meaning, _MAX_REPOSITORY + 72)
    repository = value.split("@", 1)[0]
    if len(repository) > _MAX_REPOSITORY or not _port_in_range(repository):
        raise CincinnatiError(
            _("{what} {value} is not {meaning}").format(
                what=what, value=_shown(value), meaning=meaning
            )
        )
    return value


def _repository(value, what):
    meaning = _("a registry repository (registry-host[:port]/path, lower case)")
    _matching(REPOSITORY, value, what, meaning, _MAX_REPOSITORY)
    if not _port_in_range(value):
        raise CincinnatiError(
            _("{what} {value} is not {meaning}").format(
                what=what, value=_shown(value), meaning=meaning
            )
        )
    return value


def payload_repository(value, what=None):
    """``value`` if it is a registry repository (``host[:port]/path``) that may replace
    the repository of a graph's OCI payloads, else CincinnatiError."""
    return _repository(value, what or _("the payload repository"))


def _reason(value, what):
    """A barrier's or dead end's reason: an http(s) URL with a host, or "" (Fedora's
    graph then says "generic")."""
    if value == "":
        return value
    try:
        parts = urlsplit(value) if grammar.matches(grammar.REFERENCE, value) else None
    except ValueError:  # e.g. an unclosed [IPv6] host
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise CincinnatiError(
            _("{what} {value} is not an http(s) URL").format(what=what, value=_shown(value))
        )
    return value


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def _rollout(value, what):
    """A rollout's parameters, each optional: the policy engine's defaults apply."""
    value = _object(value, what)
    rollout = {}
    epoch = value.get("start_epoch")
    if epoch is not None:
        if not _whole(epoch, -(2**63), 2**63):
            raise CincinnatiError(
                _("{what}: start_epoch {value} is not a Unix time in seconds").format(
                    what=what, value=_shown(epoch)
                )
            )
        rollout["start_epoch"] = epoch
    percentage = value.get("start_percentage")
    if percentage is not None:
        if not (
            _whole(percentage, 0, 2)
            or (isinstance(percentage, float) and math.isfinite(percentage))
        ) or not (0 <= percentage <= 1):
            raise CincinnatiError(
                _("{what}: start_percentage {value} is not a number from 0 to 1").format(
                    what=what, value=_shown(percentage)
                )
            )
        rollout["start_percentage"] = float(percentage)
    minutes = value.get("duration_minutes")
    if minutes is not None:
        if not _whole(minutes, 0, 2**63):
            raise CincinnatiError(
                _("{what}: duration_minutes {value} is not a whole number of minutes").format(
                    what=what, value=_shown(minutes)
                )
            )
        rollout["duration_minutes"] = minutes
    return rollout


def _load(raw, where):
    try:
        return jsondoc.load_object(raw)
    except jsondoc.NotJson as exc:
        raise CincinnatiError(_("{where}: {problem}").format(where=where, problem=exc)) from None


def _by_arch(entries, what, value_key, check):
    """{arch: value} of a release's ``commits`` or ``oci-images`` list (absent: none)."""
    found = {}
    for entry in _list([] if entries is None else entries, what, MAX_ARCHITECTURES):
        entry = _object(entry, what)
        arch = _arch(entry.get("architecture"), f"{what}: architecture")
        if arch in found:
            raise CincinnatiError(_("{what}: {arch} is listed twice").format(what=what, arch=arch))
        found[arch] = check(entry.get(value_key), f"{what} {arch}: {value_key}")
    return found


def parse_release_index(raw, where):
    """The record (see ``from_record``) of a release index ``raw`` (bytes), without
    update policy; CincinnatiError naming ``where``, the entry and the value.

    Per release: ``version``, ``commits`` (OSTree commit per architecture) and
    ``oci-images`` (the ``digest-ref`` per architecture), both optional (recent Fedora
    releases have no commits, old ones no OCI images). Other keys (``note``,
    ``metadata``, an image's floating ``image`` tag) are not read. Order is kept: it is
    each release's age.
    """
    document = _load(raw, where)
    stream = _stream(document.get("stream"), _("{where}: stream").format(where=where))
    entries = _list(
        document.get("releases"), _("{where}: releases").format(where=where), MAX_RELEASES
    )
    releases = []
    seen = set()
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
        releases.append(
            {
                "version": version,
                "commits": _by_arch(entry.get("commits"), f"{what}: commits", "checksum", _commit),
                "oci_images": _by_arch(
                    entry.get("oci-images"), f"{what}: oci-images", "digest-ref", _digest_ref
                ),
                "barrier": None,
                "deadend": None,
                "rollout": None,
            }
        )
    return {"stream": stream, "releases": releases}


def parse_updates(raw, where, stream):
    """``{version: {"barrier": reason|None, "deadend": reason|None, "rollout": {...}|None}}``
    of an update policy document ``raw`` (bytes) of ``stream``; CincinnatiError.

    Only releases with a policy are listed upstream. A reason is an http(s) URL (or "");
    a rollout's ``start_epoch``, ``start_percentage`` (0 to 1) and ``duration_minutes``
    are each optional.
    """
    document = _load(raw, where)
    if document.get("stream") != stream:
        raise CincinnatiError(
            _("{where}: the update policy is of stream {found}, not {stream!r}").format(
                where=where, found=_shown(document.get("stream")), stream=stream
            )
        )
    entries = _list(
        document.get("releases"), _("{where}: releases").format(where=where), MAX_RELEASES
    )
    found = {}
    for number, entry in enumerate(entries):
        what = _("{where}: update policy entry {number}").format(where=where, number=number)
        entry = _object(entry, what)
        version = _version(entry.get("version"), f"{what}: version")
        if version in found:
            raise CincinnatiError(
                _("{where}: release {version} is listed twice").format(where=where, version=version)
            )
        what = f"{what} ({version})"
        metadata = _object(entry.get("metadata"), f"{what}: metadata")
        policy = dict.fromkeys(_POLICY_KEYS)
        for name in ("barrier", "deadend"):
            if metadata.get(name) is not None:
                marked = _object(metadata[name], f"{what}: {name}")
                policy[name] = _reason(marked.get("reason"), f"{what}: {name} reason")
        if metadata.get("rollout") is not None:
            policy["rollout"] = _rollout(metadata["rollout"], f"{what}: rollout")
        found[version] = policy
    return found


def index_record(raw_index, raw_updates, where, stream, url=None, updates_url=None):
    """The record stored for a stream (a JSON-able dict, see ``from_record``): its release
    index ``raw_index`` (bytes) joined with its update policy ``raw_updates`` (bytes, or
    None: no policy, so no edges). ``stream``: the stream the stream metadata names; both
    documents must be that stream's. ``url``, ``updates_url``: where each came from, for
    messages."""
    index = parse_release_index(raw_index, f"{where}: {url}" if url else where)
    if index["stream"] != stream:
        raise CincinnatiError(
            _("{where}: the release index is of stream {found}, not {stream!r}").format(
                where=f"{where}: {url}" if url else where,
                found=_shown(index["stream"]),
                stream=stream,
            )
        )
    if raw_updates is not None:
        policies = parse_updates(
            raw_updates, f"{where}: {updates_url}" if updates_url else where, stream
        )
        for release in index["releases"]:
            release.update(policies.get(release["version"], {}))
    return from_record(index)


def identity(record):
    """A record's unit key (KickstartReleaseIndex.identity): the sha256 of its canonical JSON,
    so the same index synced twice, or carried from another Pulp, is one unit."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def carried(stream, claimed_identity, record, what):
    """A release index another Pulp carried here (an import archive's row, a replica's
    trees.json entry): its record checked again, of ``stream``, with ``claimed_identity``
    its own. Returns the checked record; CincinnatiError naming ``what`` otherwise."""
    checked = from_record(record, what)
    if checked["stream"] != stream:
        raise CincinnatiError(_("{what}: its record is another stream's").format(what=what))
    if claimed_identity != identity(checked):
        raise CincinnatiError(
            _("{what}: its identity is not its record's sha256").format(what=what)
        )
    return checked


def _edge_bound(releases):
    """At most how many edges a graph of ``releases`` draws, whatever is filtered out: a
    rollout at position i gets at most i, the barriers n in all."""
    return len(releases) + sum(
        number for number, release in enumerate(releases) if release["rollout"] is not None
    )


def from_record(record, what=None):
    """A stored record checked again (it may come from another Pulp); CincinnatiError.

    The record: ``{"stream": str, "releases": [{"version": str, "commits": {arch:
    checksum}, "oci_images": {arch: digest_ref}, "barrier": reason|None, "deadend":
    reason|None, "rollout": {"start_epoch"?: int, "start_percentage"?: float,
    "duration_minutes"?: int}|None}, ...]}``, oldest release first. Returns a copy.
    """
    what = what or _("release index record")
    record = _only(_object(record, what), {"stream", "releases"}, what)
    stream = _stream(record.get("stream"), _("{what}: stream").format(what=what))
    releases = []
    seen = set()
    for number, entry in enumerate(_list(record.get("releases"), what, MAX_RELEASES)):
        where = _("{what}: release {number}").format(what=what, number=number)
        entry = _only(_object(entry, where), _RELEASE_KEYS, where)
        version = _version(entry.get("version"), f"{where}: version")
        if version in seen:
            raise CincinnatiError(
                _("{where}: release {version} is listed twice").format(where=where, version=version)
            )
        seen.add(version)
        where = f"{where} ({version})"
        commits = _object(entry.get("commits"), f"{where}: commits")
        images = _object(entry.get("oci_images"), f"{where}: oci_images")
        for name, found in (("commits", commits), ("oci_images", images)):
            if len(found) > MAX_ARCHITECTURES:
                raise CincinnatiError(
                    _("{what} has more than {limit} entries").format(
                        what=f"{where}: {name}", limit=MAX_ARCHITECTURES
                    )
                )
        release = {
            "version": version,
            "commits": {
                _arch(arch, f"{where}: commits"): _commit(value, f"{where}: commits {arch}")
                for arch, value in commits.items()
            },
            "oci_images": {
                _arch(arch, f"{where}: oci_images"): _digest_ref(
                    value, f"{where}: oci_images {arch}"
                )
                for arch, value in images.items()
            },
        }
        for name in ("barrier", "deadend"):
            value = entry.get(name)
            release[name] = None if value is None else _reason(value, f"{where}: {name}")
        rollout = entry.get("rollout")
        if rollout is not None:
            _only(_object(rollout, f"{where}: rollout"), _ROLLOUT_KEYS, f"{where}: rollout")
            rollout = _rollout(rollout, f"{where}: rollout")
        release["rollout"] = rollout
        releases.append(release)
    if _edge_bound(releases) > MAX_EDGES:
        raise CincinnatiError(
            _("{what}: its rollouts could draw more than {limit} update edges").format(
                what=what, limit=MAX_EDGES
            )
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


def _rust_float(value):
    """A float as Rust's ``f64::to_string`` writes it: shortest digits that read back,
    never an exponent (1.0 -> "1", 1e-05 -> "0.00001")."""
    text = format(Decimal(repr(float(value))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _metadata(release, age, oci):
    """A node's metadata, every value a string, as Fedora's graph builder writes it."""
    metadata = {
        _PREFIX + "releases.age_index": str(age),
        _PREFIX + "scheme": "oci" if oci else "checksum",
    }
    for name in ("deadend", "barrier"):
        if release[name] is not None:
            metadata[f"{_PREFIX}updates.{name}"] = "true"
            metadata[f"{_PREFIX}updates.{name}_reason"] = release[name] or "generic"
    rollout = release["rollout"]
    if rollout is not None:
        metadata[_PREFIX + "updates.rollout"] = "true"
        if "start_epoch" in rollout:
            metadata[_PREFIX + "updates.start_epoch"] = str(rollout["start_epoch"])
        if "start_percentage" in rollout:
            metadata[_PREFIX + "updates.start_value"] = _rust_float(rollout["start_percentage"])
        if "duration_minutes" in rollout:
            metadata[_PREFIX + "updates.duration_minutes"] = str(rollout["duration_minutes"])
    return metadata


def _edges(releases):
    """The graph builder's edges between nodes (by node index): to each rollout from the
    nearest barrier before it (else the first node) on, newest rollout first; then to
    each barrier that is no rollout from the previous barrier (else the first node) on."""
    barriers = [index for index, release in enumerate(releases) if release["barrier"] is not None]
    edges = []
    for target in reversed(range(len(releases))):
        if releases[target]["rollout"] is None:
            continue
        before = bisect.bisect_left(barriers, target)
        start = barriers[before - 1] if before else 0
        edges.extend([source, target] for source in range(start, target))
    start = 0
    for target in barriers:
        if releases[target]["rollout"] is None:
            edges.extend([source, target] for source in range(start, target))
        start = target
    return edges


def _throttling(rollout, now):
    """How far a rollout has progressed at ``now`` (0 to 1), as the policy engine computes
    it: the start value (0 before the start), rising linearly to 1 over the duration."""
    start = rollout.get("start_epoch", 0)
    value = rollout.get("start_percentage", 0.0)
    if now < start:
        return 0.0
    minutes = rollout.get("duration_minutes")
    if minutes is None:
        return value  # without a duration a rollout stays at its start value
    end = start + max(minutes, 1) * 60
    if now > end:
        return 1.0
    return value + (1.0 - value) / float(end - start) * float(now - start)


def graph(record, basearch, oci, payload_repository=None, *, now=None, wariness=None):
    """The Cincinnati graph of ``record`` (checked by ``from_record``) for ``basearch``, as
    Fedora's service serves it: ``{"nodes": [...], "edges": [[from, to], ...]}``.

    Nodes: the releases with a payload of the scheme (an OCI digest pullspec when
    ``oci``, else the OSTree commit), oldest first; ``age_index`` is a release's position
    in the whole index. Edges: the graph builder's, to rollouts and barriers only, none
    leaving a dead end. With ``now`` (Unix seconds) and ``wariness`` (0 to 1, see
    ``wariness()``), the policy engine's throttling too: a rollout whose progress at
    ``now`` is below the client's wariness loses its incoming edges. Without them: the
    builder's graph (Fedora's raw-updates service), every rollout complete. Fedora's
    even-minute digest patch for tracker#2066 is operations data of its own, not
    reproduced.

    ``payload_repository`` replaces the ``host/path`` of every OCI payload. Off by
    default: Zincati finds its booted release by the exact payload string, so a host
    booted from quay.io finds itself only in a graph naming quay.io; mirror the pulls
    with registries.conf instead, or rebase the hosts onto the site's registry first.
    """
    if (now is None) != (wariness is None):
        raise TypeError("graph() throttles rollouts with both now and wariness, or neither")
    if payload_repository is not None:
        _repository(payload_repository, _("the payload repository"))
    releases = []
    nodes = []
    for age, release in enumerate(record["releases"]):
        payload = (release["oci_images"] if oci else release["commits"]).get(basearch)
        if not payload:
            continue
        if oci and payload_repository:
            payload = payload_repository + payload[payload.index("@") :]
        releases.append(release)
        nodes.append(
            {
                "version": release["version"],
                "metadata": _metadata(release, age, oci),
                "payload": payload,
            }
        )
    edges = [edge for edge in _edges(releases) if releases[edge[0]]["deadend"] is None]
    if now is not None:
        now = math.floor(now)
        hidden = {
            index
            for index, release in enumerate(releases)
            if release["rollout"] is not None and wariness > _throttling(release["rollout"], now)
        }
        edges = [edge for edge in edges if edge[1] not in hidden]
    return {"nodes": nodes, "edges": edges}


def _siphash13(data):
    """SipHash-1-3 with a zero key: what Rust's ``DefaultHasher::new()`` computes."""
    mask = (1 << 64) - 1

    def rotl(value, bits):
        return ((value << bits) | (value >> (64 - bits))) & mask

    v0, v1, v2, v3 = 0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573

    def rounds(count):
        nonlocal v0, v1, v2, v3
        for _round in range(count):
            v0 = (v0 + v1) & mask
            v1 = rotl(v1, 13) ^ v0
            v0 = rotl(v0, 32)
            v2 = (v2 + v3) & mask
            v3 = rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & mask
            v3 = rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & mask
            v1 = rotl(v1, 17) ^ v2
            v2 = rotl(v2, 32)

    tail = len(data) % 8
    for offset in range(0, len(data) - tail, 8):
        block = int.from_bytes(data[offset : offset + 8], "little")
        v3 ^= block
        rounds(1)
        v0 ^= block
    block = ((len(data) & 0xFF) << 56) | int.from_bytes(data[len(data) - tail :], "little")
    v3 ^= block
    rounds(1)
    v0 ^= block
    v2 ^= 0xFF
    rounds(3)
    return v0 ^ v1 ^ v2 ^ v3


def wariness(params):
    """A client's rollout wariness (0 to 1) as Fedora's policy engine computes it from a
    graph request's query: ``rollout_wariness`` when it reads as a number (clamped),
    else a hash of ``node_uuid`` (Rust's, as Fedora runs it) scaled into (0, 1], so a
    machine keeps its place in every rollout."""
    text = params.get("rollout_wariness") or ""
    if _RUST_FLOAT.fullmatch(text):
        value = float(text)
        return value if math.isnan(value) else min(max(value, 0.0), 1.0)
    digest = _siphash13((params.get("node_uuid") or "").encode() + b"\xff")
    return min(max(float(digest) / float((1 << 64) - 1), 0.000_001), 1.0)


# The query parameters a graph is a function of: each may be given once.
GRAPH_PARAMETERS = ("basearch", "stream", "oci", "rollout_wariness", "node_uuid")


def query(params):
    """``(basearch, stream, oci)`` of a graph request's query (Zincati's parameters; the
    others it sends are ignored), or GraphQueryError. ``params``: a multidict (aiohttp's
    ``request.query``) or a dict. A parameter given twice is refused: which one counts
    would depend on the reader."""
    getall = getattr(params, "getall", None)
    if getall is not None:
        for name in GRAPH_PARAMETERS:
            if len(getall(name, ())) > 1:
                raise GraphQueryError(_("{name} is given more than once").format(name=name))
    basearch = params.get("basearch") or ""
    stream = params.get("stream") or ""
    if not grammar.matches(grammar.ARCH, basearch):
        raise GraphQueryError(
            _("basearch {value} is not an architecture, e.g. x86_64").format(value=_shown(basearch))
        )
    if not grammar.matches(grammar.TAG, stream):
        raise GraphQueryError(
            _("stream {value} is not a stream name, e.g. stable").format(value=_shown(stream))
        )
    oci = params.get("oci", "false")
    if oci not in ("true", "false"):
        raise GraphQueryError(_("oci {value} is not true or false").format(value=_shown(oci)))
    return basearch, stream, oci == "true"
