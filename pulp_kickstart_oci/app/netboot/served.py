"""trees.json of another Pulp's kickstart distribution, as a replica reads it (sources/pulp.py).

Everything in it is upstream input. Each tree is held to the rules a Pulp import archive
is held to (netboot/stored.py: one checker of a tree as a Pulp stores it, with its tags
and verification records); what does not pass is an error naming the tree and the value.
Here only what is trees.json's own: the document's shape, a release and arch served once,
a tag naming one tree per arch, and the URLs the document names (``base_url``, ``url``,
``treeinfo``, ``boot``, each file's ``url``), which are never read: a replica fetches each
file below its own remote's URL, at ``<version>/<arch>/<path>``, so an upstream cannot send
it elsewhere. Other keys of a tree entry are ignored.

A tree without a kernel or an initrd is replicated as its upstream stores it (an OCI
sync keeps one, without boot configs): whether a tree boots is the upstream's to say, not
a replica's to refuse (netboot/stored.py).

A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import functools
import gettext
from dataclasses import dataclass, field

from . import cincinnati, grammar, jsondoc, stored
from .stored import REPLICATED_FROM  # noqa: F401  (sources/pulp.py adds a hop)

# Each message translated once per process: gettext looks for catalogs on every call.
_ = functools.cache(gettext.gettext)

# What trees.json adds to a stored file record: where the upstream serves it (never read).
DOCUMENT_FILE_KEYS = ("url",)


_OLDER = _(
    "it has no 'identity' or no 'source': the upstream Pulp's plugin is older than "
    "replication (upgrade it), or its content cache still holds a trees.json of an older "
    "version (it is renewed with the distribution's next repository version or change)"
)


class ServedTreesError(ValueError):
    """trees.json that a replica does not store; the message names where, the tree and why."""


@dataclass
class ServedTree(stored.StoredTree):
    """One tree as the upstream Pulp serves it, every value checked, with its tags and
    verification records (as served)."""

    tags: list = field(default_factory=list)
    signatures: list = field(default_factory=list)


def parse(raw, where, signature_kinds):
    """The trees of trees.json ``raw`` (bytes, or what ``load`` gave), or ServedTreesError
    naming the tree and value.

    ``signature_kinds``: the verification kinds this Pulp knows (a record of another kind is
    refused). A release and arch served twice or a tag naming two trees of one arch is
    refused too.
    """
    document = _document(raw, where)
    trees = document.get("trees")
    if not isinstance(trees, list):
        raise ServedTreesError(_("{where}: trees.json has no 'trees' list").format(where=where))
    parsed = []
    slots = {}
    tags = {}
    for position, entry in enumerate(trees):
        tree = _tree(entry, where, position, signature_kinds)
        other = slots.setdefault((tree.version, tree.arch), tree)
        if other is not tree:
            raise ServedTreesError(
                _("{where}: tree {name} is listed twice").format(where=where, name=tree.name)
            )
        for tag in tree.tags:
            named = tags.setdefault((tag, tree.arch), tree)
            if named is not tree:
                raise ServedTreesError(
                    _("{where}: tag {tag} names both {name} and {other}").format(
                        where=where, tag=tag, name=named.name, other=tree.name
                    )
                )
        parsed.append(tree)
    return parsed


# At most this many CoreOS streams' release indexes in one trees.json.
MAX_RELEASE_INDEXES = 64


@dataclass(frozen=True)
class ServedReleaseIndex:
    """A CoreOS stream's release index as the upstream Pulp serves it, checked again."""

    stream: str
    identity: str
    record: dict


def release_indexes(raw, where):
    """The release indexes of trees.json ``raw`` (bytes, or what ``load`` gave:
    ``release_indexes``; none from an upstream older than them), each record checked as an
    import's is (cincinnati.carried), at most one per stream; ServedTreesError naming the
    stream otherwise."""

    def check(entry, what):
        if not isinstance(entry, dict) or set(entry) != {"stream", "identity", "record"}:
            raise ServedTreesError(
                _("{what}: not an object of stream, identity and record").format(what=what)
            )
        stream = entry["stream"]
        try:
            record = cincinnati.carried(stream, entry["identity"], entry["record"], what)
        except cincinnati.CincinnatiError as exc:
            raise ServedTreesError(str(exc)) from None
        return stream, ServedReleaseIndex(stream, entry["identity"], record)

    return _keyed(raw, where, "release_indexes", "stream", MAX_RELEASE_INDEXES, check)


# At most this many upstream indexes (one per tag) in one trees.json.
MAX_INDEXES = 10_000


def indexes(raw, where):
    """The upstream indexes of trees.json ``raw`` (``indexes``; none from an upstream older
    than them), each checked as an import's is (stored.check_index), one per tag;
    ServedTreesError naming the tag otherwise."""

    def check(entry, what):
        try:
            index = stored.check_index(entry)
        except ValueError as exc:
            raise ServedTreesError(f"{what}: {exc}") from None
        return index["tag"], index

    return _keyed(raw, where, "indexes", "tag", MAX_INDEXES, check)


_KEYED_WHAT = {
    "release_indexes": _("{where}: release index of stream {name}"),
    "indexes": _("{where}: index {name}"),
}


def _keyed(raw, where, key, name_key, limit, check):
    """The entries of list ``key`` of trees.json (at most ``limit``), each through
    ``check(entry, what)`` -> (its key, what is kept), one per key."""
    entries = _document(raw, where).get(key, [])
    if not isinstance(entries, list) or len(entries) > limit:
        raise ServedTreesError(
            _("{where}: {key} is not a list of at most {limit}").format(
                where=where, key=key, limit=limit
            )
        )
    parsed = {}
    for position, entry in enumerate(entries):
        name = entry.get(name_key) if isinstance(entry, dict) else None
        what = _KEYED_WHAT[key].format(
            where=where, name=name if grammar.matches(grammar.TAG, name) else position
        )
        unique, kept = check(entry, what)
        if unique in parsed:
            raise ServedTreesError(_("{what}: listed twice").format(what=what))
        parsed[unique] = kept
    return list(parsed.values())


def load(raw, where):
    """trees.json ``raw`` (bytes) as a strict JSON object, read once for ``parse`` and
    ``release_indexes``; ServedTreesError otherwise."""
    return _load(raw, where)


def _document(raw, where):
    """``raw`` bytes loaded, or a document ``load`` gave already (not read again)."""
    return raw if isinstance(raw, dict) else _load(raw, where)


def _load(raw, where):
    try:
        return jsondoc.load_object(raw)
    except jsondoc.NotJson as exc:
        raise ServedTreesError(
            _("{where}: trees.json is {problem}").format(where=where, problem=exc)
        ) from None


def _tree(entry, where, position, signature_kinds):
    name = stored.name_of(entry) or _("{position}").format(position=position)
    try:
        entry = stored.check_object(entry, _("the tree"))
        if "identity" not in entry or "source" not in entry:
            raise ValueError(_OLDER)
        files = stored.check_list(entry.get("files"), _("files"))
        records = [_stored_record(record) for record in files]
        tree = stored.check_tree({**entry, "files": records})
        tags = stored.check_tags(entry.get("tags", []), tree.version)
        signatures = [
            stored.check_signature(record, signature_kinds)
            for record in stored.check_list(entry.get("signatures", []), _("signatures"))
        ]
    except (ValueError, TypeError) as exc:
        raise ServedTreesError(
            _("{where}: tree {name}: {problem}").format(where=where, name=name, problem=exc)
        ) from None
    return ServedTree(**vars(tree), tags=tags, signatures=signatures)


def _stored_record(record):
    """A file entry of trees.json without the keys the document adds (its URL)."""
    if not isinstance(record, dict):
        return record
    return {key: value for key, value in record.items() if key not in DOCUMENT_FILE_KEYS}
