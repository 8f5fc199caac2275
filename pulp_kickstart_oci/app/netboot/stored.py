"""A tree as a Pulp stores it, when it comes from another Pulp: one set of rules.

A tree reaches this Pulp from another one by two paths: a Pulp import archive's rows
(modelresource.py) and a distribution's trees.json read by a replica (served.py,
sources/pulp.py). Both carry the same thing, a stored tree with its tags and
verification records, so both call these checks: one place per concept, and an
upstream value passes a strict grammar where it enters, whichever door it takes. The
rules are what every source of this Pulp stores (an OCI sync, a dnf sync, an upload,
a replica), so a tree any of them stored passes both paths:

- release, architecture, digests and the OCI name of the architecture (the one
  ``netboot/arch.py`` gives, as every source stores it); the identity's grammar (the
  callers recompute it with ``models.tree_identity``, the unit key's one formula);
- file records with exactly the fields ``TreeFile.record()`` writes (trees.json's
  ``url`` is the document's, dropped before), paths of the tree grammar listed once,
  roles of ``netboot/layout.py``, sha256, sizes, media types (``type/subtype``) and
  provenance; at least one file, and at most one kernel and one initrd (boot configs
  name one of each);
- provenance: plain keys, printable strings, bounded depth; annotations, warnings,
  tags and verification records, each with its grammar and bounds.

A tree need not have a kernel and an initrd: an OCI sync stores one whose manifest
lacks them (it is served, without boot configs), so another Pulp carries it too. That
a tree boots is asked where a tree is made: an upload requires both
(``BOOT_ROLES``, serializers.py); a replica or an import holds what its upstream holds.

Every error is a ValueError (StoredTreeError, grammar.GrammarError) whose message names
the value (``file images/pxeboot/vmlinuz: sha256 ...``); the callers name the tree and
the input (the archive, the upstream distribution).
A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import functools
import gettext
import hashlib
import re
from dataclasses import dataclass, field

from . import arch as archs
from . import carrier, grammar, jsondoc, layout
from . import tags as tag_names
from .treefile import PROVENANCE_FIELDS, RECORD_FIELDS, TreeFile

# Each message translated once per process: gettext looks for catalogs on every call
# (four stats), and a document of 10,000 trees names hundreds of thousands of values.
_ = functools.cache(gettext.gettext)

MAX_TEXT = 4096  # a name, media type, warning, annotation, key or provenance string
MAX_KEY = 256  # a key of an annotation
MAX_ITEMS = 10_000  # entries of one list or object inside a tree (files, tags, warnings...)
MAX_SOURCE_DEPTH = 4  # nesting of a tree's provenance (``source``)
MAX_SIZE = 2**53  # bytes: what a JSON number holds exactly
SOURCE_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Where the provenance says another Pulp replicated the tree from (sources/pulp.py adds one).
REPLICATED_FROM = "replicated_from"
# The files a tree boots from: at most one of each stored, both required of an upload.
BOOT_ROLES = (layout.KERNEL, layout.INITRD)
FILE_FIELDS = frozenset(RECORD_FIELDS + PROVENANCE_FIELDS)


class StoredTreeError(ValueError):
    """A value of a tree from another Pulp that this Pulp does not store; names the value."""


@dataclass
class StoredTree:
    """One tree's stored facts, every value checked (tags and signatures: see check_tag,
    check_signature; they are units of their own in an archive)."""

    version: str
    arch: str
    oci_arch: str
    digest: str
    identity: str
    source: dict
    annotations: dict
    files: list  # of TreeFile, not located
    warnings: list = field(default_factory=list)
    kind: str = layout.ANACONDA  # layout.TREE_KINDS
    manifest: str | None = None  # the registry's manifest as sent, when kept (its digest's)

    @property
    def name(self):
        return f"{self.version}/{self.arch}"

    def records(self):
        """The files as the tree stores them (``KickstartTree.files``)."""
        return [item.record() for item in self.files]


def name_of(entry):
    """``<release>/<arch>`` of an entry when both pass their grammars, else None."""
    if not isinstance(entry, dict):
        return None
    version, arch = entry.get("version"), entry.get("arch")
    if grammar.matches(grammar.RELEASE, version) and grammar.matches(grammar.ARCH, arch):
        return f"{version}/{arch}"
    return None


def check_tree(entry):
    """The StoredTree of ``entry`` (a dict of a tree's stored fields, JSON values parsed).

    ``annotations`` and ``warnings`` may be absent (none); every other field is required.
    """
    entry = check_object(entry, _("the tree"))
    version = grammar.check(grammar.RELEASE, entry.get("version"), _("release"))
    arch = grammar.check(grammar.ARCH, entry.get("arch"), _("architecture"))
    oci_arch = grammar.check(grammar.ARCH, entry.get("oci_arch"), _("OCI architecture"))
    if archs.oci_name(arch) != oci_arch:
        raise StoredTreeError(
            _("OCI architecture {oci_arch!r} is not the one of {arch}").format(
                oci_arch=oci_arch, arch=arch
            )
        )
    kind = entry.get("kind", layout.ANACONDA)  # trees.json before kinds: an Anaconda tree
    if kind not in layout.TREE_KINDS:
        raise StoredTreeError(
            _("kind {kind!r} is not one of {kinds}").format(
                kind=kind if isinstance(kind, str) else None, kinds=", ".join(layout.TREE_KINDS)
            )
        )
    digest = grammar.check(grammar.DIGEST, entry.get("digest"), _("digest"))
    return StoredTree(
        version=version,
        arch=arch,
        oci_arch=oci_arch,
        kind=kind,
        manifest=check_manifest(entry.get("manifest"), digest),
        digest=digest,
        identity=grammar.check(grammar.DIGEST, entry.get("identity"), _("identity")),
        source=check_source(entry.get("source")),
        annotations=check_annotations(entry.get("annotations", {})),
        files=check_files(entry.get("files")),
        warnings=check_warnings(entry.get("warnings", [])),
    )


def text(value, what, *, empty=False, limit=MAX_TEXT):
    """A printable string (no line break or control character) of at most ``limit``."""
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise StoredTreeError(
            _("{what} is not text of at most {limit} printable characters").format(
                what=what, limit=limit
            )
        )
    if not empty and not value:
        raise StoredTreeError(_("{what} is empty").format(what=what))
    return value


def check_list(value, what):
    if not isinstance(value, list):
        raise StoredTreeError(_("{what} is not a list").format(what=what))
    if len(value) > MAX_ITEMS:
        raise StoredTreeError(
            _("{what} has more than {limit} items").format(what=what, limit=MAX_ITEMS)
        )
    return value


def check_object(value, what):
    if not isinstance(value, dict):
        raise StoredTreeError(_("{what} is not an object").format(what=what))
    if len(value) > MAX_ITEMS:
        raise StoredTreeError(
            _("{what} has more than {limit} keys").format(what=what, limit=MAX_ITEMS)
        )
    return value


def _size(value, what):
    """A size in bytes (None: the storing Pulp does not know it yet, on_demand)."""
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_SIZE:
        raise StoredTreeError(_("{what} is not a number of bytes").format(what=what))
    return value


def check_warnings(value):
    return [text(warning, _("a warning")) for warning in check_list(value, _("warnings"))]


def check_source(value):
    """The provenance: required (what the tree says it came from), bounded, plain.

    Keys are plain words, strings printable; ``family`` and ``index`` (which .treeinfo
    and an OCI index give) pass their own grammars.
    """
    source = check_object(value, _("source"))
    _plain(source, _("source"), 0)
    if "family" in source:
        grammar.check(grammar.FAMILY, source["family"], _("source family"))
    index = source.get("index")
    if index is not None:
        index = check_object(index, _("source index"))
        if "digest" in index:
            grammar.check(grammar.DIGEST, index["digest"], _("source index digest"))
        if "os_version" in index:
            grammar.check(grammar.TAG, index["os_version"], _("source index os_version"))
    for hop in check_list(source.get(REPLICATED_FROM, []), _("source replicated_from")):
        check_object(hop, _("source replicated_from"))
    return source


def _plain(value, what, depth):
    """JSON of plain keys and printable strings, numbers, booleans and null, not too deep."""
    if depth > MAX_SOURCE_DEPTH:
        raise StoredTreeError(_("{what} is nested too deep").format(what=what))
    if isinstance(value, dict):
        for key, item in check_object(value, what).items():
            if not grammar.matches(SOURCE_KEY, key):
                raise StoredTreeError(_("{what} has a key {key!r}").format(what=what, key=key[:80]))
            _plain(item, f"{what}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in check_list(value, what):
            _plain(item, what, depth + 1)
    elif isinstance(value, str):
        text(value, what, empty=True)
    elif isinstance(value, float) or (type(value) is int and abs(value) > MAX_SIZE):
        raise StoredTreeError(
            _("{what} holds a number that is not a plain integer").format(what=what)
        )
    elif value is not None and not isinstance(value, (int, bool)):
        raise StoredTreeError(_("{what} holds a value of no JSON type").format(what=what))


def check_annotations(value):
    """OCI annotations: strings to strings; a value may span lines, never hold a control
    character other than a tab or a line break."""
    annotations = check_object(value, _("annotations"))
    for key, item in annotations.items():
        text(key, _("an annotation key"), limit=MAX_KEY)
        if not isinstance(item, str) or len(item) > MAX_TEXT:
            raise StoredTreeError(
                _("annotation {key!r} is not text of at most {limit} characters").format(
                    key=key, limit=MAX_TEXT
                )
            )
        if not item.replace("\n", "").replace("\t", "").replace("\r", "").isprintable():
            raise StoredTreeError(_("annotation {key!r} holds a control character").format(key=key))
    return annotations


def check_files(value):
    """The file records, as TreeFiles (not located): the fields a tree stores, paths of the
    tree grammar, each once; roles of netboot/layout.py; at most one kernel and one initrd."""
    files = []
    paths = set()
    for record in check_list(value, _("files")):
        record = check_object(record, _("a file"))
        path = grammar.tree_path(record.get("path"), _("file path"))
        what = _("file {path}").format(path=path)
        if path in paths:
            raise StoredTreeError(_("{what} is listed twice").format(what=what))
        paths.add(path)
        unknown = sorted(set(record) - FILE_FIELDS)
        if unknown:
            raise StoredTreeError(
                _("{what}: {fields} is not a field a tree stores").format(
                    what=what, fields=", ".join(repr(name[:80]) for name in unknown[:3])
                )
            )
        role = record.get("role")
        if role not in layout.ROLES:
            raise StoredTreeError(
                _("{what}: role {role!r} is not one of {roles}").format(
                    what=what, role=role, roles=", ".join(layout.ROLES)
                )
            )
        media_type = text(record.get("media_type") or "", f"{what}: media_type", empty=True)
        if media_type:
            grammar.check(grammar.MEDIA_TYPE, media_type, f"{what}: media_type")
        rpm_sha256 = record.get("rpm_sha256")
        if rpm_sha256 is not None:
            grammar.check(grammar.SHA256_HEX, rpm_sha256, f"{what}: rpm_sha256")
        files.append(
            TreeFile(
                name=text(record.get("name"), f"{what}: name"),
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
    if not files:
        raise StoredTreeError(_("it has no files"))
    for role in BOOT_ROLES:
        count = sum(1 for item in files if item.role == role)
        if count > 1:
            raise StoredTreeError(
                _("it has {count} files of role {role}: a tree boots from one").format(
                    count=count, role=role
                )
            )
    return files


def _optional_text(value, what):
    return None if value is None else text(value, what)


def check_tags(value, version):
    """A tree's tags as trees.json lists them: each of the tag grammar, once, naming this
    tree's release."""
    tags = [check_tag_of(tag, version) for tag in check_list(value, _("tags"))]
    if len(set(tags)) != len(tags):
        raise StoredTreeError(_("a tag is listed twice"))
    return tags


def check_tag_of(name, version):
    """A tag of a tree of release ``version`` as a registry sync stores one: the release it
    names (``42`` of ``42`` or ``42-amd64``) is the tree's."""
    check_tag(name)
    release = tag_names.split(name)[0]
    if release != version:
        raise StoredTreeError(
            _("tag {name} names release {release}, not this tree's {version}").format(
                name=name, release=release, version=version
            )
        )
    return name


# An image index's media types (netboot/artifact.py reads them; this module is below it).
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


def _sha256_text(text):
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_manifest(manifest, digest):
    """A tree's kept manifest: None (not kept), or text whose sha256 is the tree's digest."""
    if manifest is None or manifest == "":
        return None
    if not isinstance(manifest, str) or len(manifest) > carrier.MAX_KEPT_BYTES:
        raise StoredTreeError(_("its manifest is not text of at most 4 MiB"))
    if _sha256_text(manifest) != digest:
        raise StoredTreeError(
            _("its manifest is not the bytes of its digest {digest}").format(digest=digest)
        )
    return manifest


def check_index(entry):
    """An upstream index as KickstartIndex keeps it (``tag``, ``digest``, ``media_type``,
    ``raw``): the bytes are their digest's and an image index."""
    entry = check_object(entry, _("an index"))
    if set(entry) - {"tag", "digest", "media_type", "raw"}:
        raise StoredTreeError(_("an index has only tag, digest, media_type and raw"))
    tag = check_tag(entry.get("tag"))
    digest = grammar.check(grammar.DIGEST, entry.get("digest"), _("digest"))
    media_type, raw = entry.get("media_type"), entry.get("raw")
    if media_type not in INDEX_TYPES:
        raise StoredTreeError(_("its media type is not an image index's"))
    if not isinstance(raw, str) or len(raw) > carrier.MAX_KEPT_BYTES:
        raise StoredTreeError(_("it is not text of at most 4 MiB"))
    if _sha256_text(raw) != digest:
        raise StoredTreeError(_("its bytes are not those of its digest"))
    try:
        document = jsondoc.load_object(raw.encode("utf-8"))
    except jsondoc.NotJson as exc:
        raise StoredTreeError(_("it is {problem}").format(problem=exc)) from None
    if not isinstance(document.get("manifests"), list):
        raise StoredTreeError(_("it is not an image index: it lists no manifests"))
    return {"tag": tag, "digest": digest, "media_type": media_type, "raw": raw}


def check_tag(name):
    return grammar.check(grammar.TAG, name, _("tag"))


def check_signature(record, kinds):
    """A verification record of a tree, kept as another Pulp's check: ``checked_here`` is
    the receiving Pulp's to set, ``verified_at`` its own. ``kinds``: those this Pulp knows.

    Returns ``{kind, key, signed_digest, reference, tlog_checked}``, ``tlog_checked``
    False whatever the record says: no transparency log was consulted here, and
    ``carrier`` when the record keeps one (netboot/carrier.py, checked).
    """
    record = check_object(record, _("a signature record"))
    kind = record.get("kind")
    if kind not in kinds:
        raise StoredTreeError(
            _("signature kind {kind!r} is not one of {kinds}").format(
                kind=kind if isinstance(kind, str) else None, kinds=", ".join(kinds)
            )
        )
    reference = record.get("reference")
    if reference is not None and reference != "":
        grammar.check(grammar.REFERENCE, reference, _("signature reference"))
    tlog_checked = record.get("tlog_checked", False)
    if not isinstance(tlog_checked, bool):
        raise StoredTreeError(_("signature tlog_checked is not true or false"))
    checked = {
        "kind": kind,
        "key": grammar.check(grammar.SIGNATURE_KEY, record.get("key"), _("signature key")),
        "signed_digest": grammar.check(
            grammar.DIGEST, record.get("signed_digest"), _("signed digest")
        ),
        "reference": reference or None,
        "tlog_checked": False,
    }
    kept = record.get("carrier")
    if kept is not None:
        try:
            carrier.check(kept, checked["signed_digest"])
        except ValueError as exc:
            raise StoredTreeError(_("signature carrier: {problem}").format(problem=exc)) from None
        checked["carrier"] = kept
    return checked
