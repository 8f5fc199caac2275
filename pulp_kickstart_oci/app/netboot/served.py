"""trees.json of another Pulp's kickstart distribution, as a replica reads it (sources/pulp.py).

Everything in it is upstream input. Each value a replica keeps passes its grammar here
(release, arch, digests, tags, tree paths and roles, sha256, sizes, media types,
provenance, annotations, warnings, verification records); what does not is an error
naming the tree and the value. The URLs the document names (``base_url``, ``url``,
``treeinfo``, ``boot``, each file's ``url``) are never read: a replica fetches each file
below its own remote's URL, at ``<version>/<arch>/<path>``, so an upstream cannot send it
elsewhere. Keys a replica does not keep are ignored.

A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import functools
import gettext
import json
import re
from dataclasses import dataclass, field

from . import arch as archs
from . import grammar, layout
from .treefile import TreeFile

# Each message translated once per process: gettext looks for catalogs on every call
# (four stats), and a document of 10,000 trees names hundreds of thousands of values.
_ = functools.cache(gettext.gettext)

MAX_TEXT = 4096  # a name, media type, warning, annotation or provenance string
MAX_KEY = 256  # a key of an annotation or of the provenance
MAX_ITEMS = 10_000  # entries of one list or object inside a tree (files, tags, warnings...)
MAX_SOURCE_DEPTH = 4  # nesting of a tree's provenance (``source``)
MAX_SIZE = 2**53  # bytes: what a JSON number holds exactly
SOURCE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Where the provenance says another Pulp replicated the tree from (sources/pulp.py adds one).
REPLICATED_FROM = "replicated_from"
# One required file per role: what a replica boots.
BOOT_ROLES = (layout.KERNEL, layout.INITRD)


_OLDER = _(
    "it has no 'identity' or no 'source': the upstream Pulp's plugin is older than "
    "replication (upgrade it), or its content cache still holds a trees.json of an older "
    "version (it is renewed with the distribution's next repository version or change)"
)


class ServedTreesError(ValueError):
    """trees.json that a replica does not store; the message names where, the tree and why."""


@dataclass
class ServedTree:
    """One tree as the upstream Pulp serves it, every value checked."""

    version: str
    arch: str
    oci_arch: str
    digest: str
    identity: str
    source: dict
    annotations: dict
    files: list  # of TreeFile, not located
    warnings: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    signatures: list = field(default_factory=list)  # verification records, as served

    @property
    def name(self):
        return f"{self.version}/{self.arch}"


def parse(raw, where, signature_kinds):
    """The trees of trees.json ``raw`` (bytes), or ServedTreesError naming the tree and value.

    ``signature_kinds``: the verification kinds this Pulp knows (a record of another kind is
    refused). A release and arch served twice, a tag naming two trees of one arch, a tree
    without one kernel and one initrd, or a file path listed twice is refused too.
    """
    document = _load(raw, where)
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


def _refuse_constant(name):
    raise ValueError(_("{name} is not a JSON number").format(name=name))


def _unique_keys(pairs):
    """An object whose keys are unique (two values for one key: which one counts?)."""
    found = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(_("key {key!r} appears twice in an object").format(key=key))
        found[key] = value
    return found


def _load(raw, where):
    try:
        document = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
        )
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ServedTreesError(
            _("{where}: trees.json is not valid JSON: {problem}").format(where=where, problem=exc)
        ) from None
    if not isinstance(document, dict):
        raise ServedTreesError(_("{where}: trees.json is not a JSON object").format(where=where))
    return document


def _text(value, what, empty=False, limit=MAX_TEXT):
    """A printable string (no line break or control character) of at most ``limit``."""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise ValueError(
            _("{what} is not text of at most {limit} printable characters").format(
                what=what, limit=limit
            )
        )
    if not empty and not value:
        raise ValueError(_("{what} is empty").format(what=what))
    return value


def _list(value, what):
    if not isinstance(value, list):
        raise ValueError(_("{what} is not a list").format(what=what))
    if len(value) > MAX_ITEMS:
        raise ValueError(_("{what} has more than {limit} items").format(what=what, limit=MAX_ITEMS))
    return value


def _object(value, what):
    if not isinstance(value, dict):
        raise ValueError(_("{what} is not an object").format(what=what))
    if len(value) > MAX_ITEMS:
        raise ValueError(_("{what} has more than {limit} keys").format(what=what, limit=MAX_ITEMS))
    return value


def _size(value, what):
    """A size in bytes (None: the upstream Pulp does not know it yet)."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise ValueError(_("{what} is not a number of bytes").format(what=what))
    return value


def _tree(entry, where, position, signature_kinds):
    name = _("tree {position}").format(position=position)
    try:
        entry = _object(entry, name)
        version = grammar.check(grammar.RELEASE, entry.get("version"), _("release"))
        arch = grammar.check(grammar.ARCH, entry.get("arch"), _("architecture"))
        name = f"{version}/{arch}"
        oci_arch = grammar.check(grammar.ARCH, entry.get("oci_arch"), _("OCI architecture"))
        if archs.oci_name(arch) != oci_arch:
            raise ValueError(
                _("OCI architecture {oci_arch!r} is not the one of {arch}").format(
                    oci_arch=oci_arch, arch=arch
                )
            )
        if "identity" not in entry or "source" not in entry:
            raise ValueError(_OLDER)
        tree = ServedTree(
            version=version,
            arch=arch,
            oci_arch=oci_arch,
            digest=grammar.check(grammar.DIGEST, entry.get("digest"), _("digest")),
            identity=grammar.check(grammar.DIGEST, entry.get("identity"), _("identity")),
            source=_source(entry.get("source")),
            annotations=_annotations(entry.get("annotations", {})),
            files=_files(entry.get("files")),
            warnings=[
                _text(warning, _("a warning"))
                for warning in _list(entry.get("warnings", []), _("warnings"))
            ],
            tags=_tags(entry.get("tags", [])),
            signatures=[
                _signature(record, signature_kinds)
                for record in _list(entry.get("signatures", []), _("signatures"))
            ],
        )
    except (ValueError, TypeError) as exc:
        raise ServedTreesError(
            _("{where}: tree {name}: {problem}").format(where=where, name=name, problem=exc)
        ) from None
    return tree


def _source(value):
    """The provenance: required (what a replica says its tree came from), bounded, plain.

    Keys are plain words, strings printable; ``family`` and ``index`` (which .treeinfo
    writes) pass their own grammars.
    """
    source = _object(value, _("source"))
    _plain(source, _("source"), 0)
    if "family" in source:
        grammar.check(grammar.FAMILY, source["family"], _("source family"))
    index = source.get("index")
    if index is not None:
        index = _object(index, _("source index"))
        if "digest" in index:
            grammar.check(grammar.DIGEST, index["digest"], _("source index digest"))
        if "os_version" in index:
            grammar.check(grammar.TAG, index["os_version"], _("source index os_version"))
    for hop in _list(source.get(REPLICATED_FROM, []), _("source replicated_from")):
        _object(hop, _("source replicated_from"))
    return source


def _plain(value, what, depth):
    """JSON of plain keys and printable strings, numbers, booleans and null, not too deep."""
    if depth > MAX_SOURCE_DEPTH:
        raise ValueError(_("{what} is nested too deep").format(what=what))
    if isinstance(value, dict):
        for key, item in _object(value, what).items():
            if not grammar.matches(SOURCE_KEY, key):
                raise ValueError(_("{what} has a key {key!r}").format(what=what, key=key[:80]))
            _plain(item, f"{what}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in _list(value, what):
            _plain(item, what, depth + 1)
    elif isinstance(value, str):
        _text(value, what, empty=True)
    elif isinstance(value, float) or (type(value) is int and abs(value) > MAX_SIZE):
        raise ValueError(_("{what} holds a number that is not a plain integer").format(what=what))
    elif value is not None and not isinstance(value, (int, bool)):
        raise ValueError(_("{what} holds a value of no JSON type").format(what=what))


def _annotations(value):
    """OCI annotations: strings to strings; a value may span lines, never hold a control
    character other than a tab or a line break."""
    annotations = _object(value, _("annotations"))
    for key, item in annotations.items():
        _text(key, _("an annotation key"), limit=MAX_KEY)
        if not isinstance(item, str) or len(item) > MAX_TEXT:
            raise ValueError(
                _("annotation {key!r} is not text of at most {limit} characters").format(
                    key=key, limit=MAX_TEXT
                )
            )
        if not item.replace("\n", "").replace("\t", "").replace("\r", "").isprintable():
            raise ValueError(_("annotation {key!r} holds a control character").format(key=key))
    return annotations


def _tags(value):
    tags = [grammar.check(grammar.TAG, tag, _("tag")) for tag in _list(value, _("tags"))]
    if len(set(tags)) != len(tags):
        raise ValueError(_("a tag is listed twice"))
    return tags


def _files(value):
    """The files, as TreeFiles (not located): paths of the tree grammar, each once; roles of
    netboot/layout.py; one kernel and one initrd."""
    files = []
    paths = set()
    for record in _list(value, _("files")):
        record = _object(record, _("a file"))
        path = grammar.tree_path(record.get("path"), _("file path"))
        what = _("file {path}").format(path=path)
        if path in paths:
            raise ValueError(_("{what} is listed twice").format(what=what))
        paths.add(path)
        role = record.get("role")
        if role not in layout.ROLES:
            raise ValueError(
                _("{what}: role {role!r} is not one of {roles}").format(
                    what=what, role=role, roles=", ".join(layout.ROLES)
                )
            )
        media_type = _text(record.get("media_type") or "", f"{what}: media_type", empty=True)
        if media_type:
            grammar.check(grammar.MEDIA_TYPE, media_type, f"{what}: media_type")
        rpm_sha256 = record.get("rpm_sha256")
        if rpm_sha256 is not None:
            grammar.check(grammar.SHA256_HEX, rpm_sha256, f"{what}: rpm_sha256")
        files.append(
            TreeFile(
                name=_text(record.get("name"), f"{what}: name"),
                path=path,
                role=role,
                sha256=grammar.check(grammar.SHA256_HEX, record.get("sha256"), f"{what}: sha256"),
                size=_size(record.get("size"), f"{what}: size"),
                media_type=media_type,
                package=_optional_text(record.get("package"), f"{what}: package"),
                rpm_sha256=rpm_sha256,
                source_path=_optional_text(record.get("source_path"), f"{what}: source_path"),
            )
        )
    for role in BOOT_ROLES:
        count = sum(1 for item in files if item.role == role)
        if count != 1:
            raise ValueError(
                _("it has {count} files of role {role}, not one: a replica boots its trees").format(
                    count=count, role=role
                )
            )
    return files


def _optional_text(value, what):
    return None if value is None else _text(value, what)


def _signature(record, kinds):
    """A verification record as the upstream Pulp serves it; kept as another Pulp's check
    (``checked_here`` is the replica's to set, ``verified_at`` its own)."""
    record = _object(record, _("a signature record"))
    kind = record.get("kind")
    if kind not in kinds:
        raise ValueError(
            _("signature kind {kind!r} is not one of {kinds}").format(
                kind=kind, kinds=", ".join(kinds)
            )
        )
    reference = record.get("reference")
    if reference is not None and reference != "":
        grammar.check(grammar.REFERENCE, reference, _("signature reference"))
    tlog_checked = record.get("tlog_checked", False)
    if not isinstance(tlog_checked, bool):
        raise ValueError(_("signature tlog_checked is not true or false"))
    return {
        "kind": kind,
        "key": grammar.check(grammar.SIGNATURE_KEY, record.get("key"), _("signature key")),
        "signed_digest": grammar.check(
            grammar.DIGEST, record.get("signed_digest"), _("signed digest")
        ),
        "reference": reference or None,
        "tlog_checked": tlog_checked,
    }
