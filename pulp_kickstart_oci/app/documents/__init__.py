"""Generated documents: what a kickstart distribution serves beside its files.

One module per document kind; every module of this package is imported here, so
a kind registers itself by subclassing ``base.DocumentKind`` and this is the only
list (docs/architecture.md, "Adding a document kind"). The content app
(``KickstartDistribution.content_handler``), directory listings, exports and the
API's trees view go through the functions below.
"""

import importlib
import pkgutil
from dataclasses import dataclass

from ..boot import configs
from ..netboot import grammar
from ..netboot.layout import ANACONDA, COREOS
from ..serving import root_url
from .base import ROOT, TREE, Context, DocumentKind, kinds

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .trees_json import TreesIndex  # noqa: E402  (registered by the loop above)


class TreeNotServed(LookupError):
    """The path names a tree's document, and the served version has no such tree."""


class Document:
    """A rendered document: its bytes and media type. The whole body, always."""

    def __init__(self, body, content_type):
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type


class Redirect:
    """Where an alias path's file is: the newest tree's own URL (a 302, cached like a
    document until the served version changes)."""

    def __init__(self, location):
        self.location = location


# Alias directories: the newest Anaconda tree of an arch, the newest release of a CoreOS
# stream and arch (docs/serving.md, "Stable paths"). The release grammar refuses their
# names, so no tree is shadowed by one.
LATEST = grammar.LATEST
COREOS_ALIAS = grammar.COREOS_ALIAS


@dataclass(frozen=True)
class Alias:
    """``latest/<arch>/<rest>`` or ``coreos/<stream>/<arch>/<rest>``: a path naming whichever
    tree is newest in the served version."""

    arch: str
    rest: str
    stream: str | None = None  # None: the newest Anaconda tree

    def pick(self, trees):
        """The newest of ``trees`` (in version order) this alias names, or None."""
        chosen = None
        for tree in trees:
            if self.stream is None:
                wanted = tree.kind == ANACONDA
            else:
                wanted = tree.kind == COREOS and (tree.source or {}).get("stream") == self.stream
            if wanted and tree.arch == self.arch:
                chosen = tree
        return chosen


def _alias(rel_path):
    parts = rel_path.split("/")
    if parts[0] == LATEST and len(parts) >= 3:
        arch, rest = parts[1], "/".join(parts[2:])
        stream = None
    elif parts[0] == COREOS_ALIAS and len(parts) >= 4:
        stream, arch, rest = parts[1], parts[2], "/".join(parts[3:])
    else:
        return None
    if not grammar.matches(grammar.ARCH, arch) or (
        stream is not None and not grammar.matches(grammar.TAG, stream)
    ):
        return None
    return Alias(arch=arch, rest=rest, stream=stream)


def locate(rel_path):
    """``(kind, release, arch)`` when ``rel_path`` (below the base path) names a document kind,
    an ``Alias`` when it is below an alias directory, else None. Reads the path only: no
    query, so every other path costs nothing here."""
    alias = _alias(rel_path)
    if alias is not None:
        return alias
    for kind in kinds(ROOT):
        if rel_path in kind.names:
            return kind, None, None
    parts = rel_path.split("/", 2)
    if len(parts) == 3:
        for kind in kinds(TREE):
            if parts[2] in kind.names:
                return kind, parts[0], parts[1]
    return None


_NOW = object()


def context_for(distribution, origin=None, version=_NOW, tftp=None):
    """The Context of ``version`` (default: what ``distribution`` serves now), with URLs at
    ``origin`` (default: the distribution's own); ``tftp``: a ``configs.TftpForm``."""
    if version is _NOW:
        version = distribution.served_version()
    return Context(distribution, version, root_url(distribution, origin), tftp=tftp)


def _rendered(kind, context):
    """The kind's Document for ``context``, or None when this tree has none."""
    if not kind.applies(context):
        return None
    body = kind.render(context)
    return None if body is None else Document(body, kind.content_type)


def render(distribution, located):
    """The Document ``locate()`` found, for the version ``distribution`` serves now.

    None when the tree has no such document (pulpcore then serves a file of that name
    or answers 404); TreeNotServed when the served version has no such tree.
    """
    if isinstance(located, Alias):
        return _through_alias(distribution, located)
    kind, release, arch = located
    context = context_for(distribution)
    if kind.scope == TREE:
        tree = context.find_tree(release, arch) if context.version is not None else None
        if tree is None:
            raise TreeNotServed(f"{release}/{arch}")
        context = context.for_tree(tree)
    return _rendered(kind, context)


def _through_alias(distribution, alias):
    """The newest tree's document, or a Redirect to its file; TreeNotServed otherwise.

    A boot config read through an alias names the tree's own URLs: a machine that
    started booting one release fetches the rest of that release, whatever a new
    version serves meanwhile (a CoreOS initramfs only takes its own release's rootfs).
    """
    context = context_for(distribution)
    tree = alias.pick(context.trees) if context.version is not None else None
    if tree is None:
        raise TreeNotServed(alias.rest)
    for kind in kinds(TREE):
        if alias.rest in kind.names:
            document = _rendered(kind, context.for_tree(tree))
            if document is None:
                raise TreeNotServed(alias.rest)
            return document
    if alias.rest in {item["path"] for item in tree.files}:
        return Redirect(context.tree_url(tree) + alias.rest)
    raise TreeNotServed(alias.rest)


def listing(distribution, rel_path):
    """The generated names to add to the directory listing of ``rel_path`` ("" or "a/b/")."""
    parts = [part for part in rel_path.split("/") if part]
    context = context_for(distribution)
    if not parts:
        scope, below = ROOT, ""
    elif len(parts) >= 2 and context.version is not None:
        tree = context.find_tree(parts[0], parts[1])
        if tree is None:
            return set()
        context = context.for_tree(tree)
        scope, below = TREE, "/".join(parts[2:])
    else:
        return set()
    entries = set()
    for kind in kinds(scope):
        if not kind.listed or not kind.applies(context):
            continue
        for name in kind.names:
            if below:
                if not name.startswith(below + "/"):
                    continue
                name = name[len(below) + 1 :]
            first, slash, _rest = name.partition("/")
            entries.add(first + slash)
    return entries


def every_document(distribution, origin=None, version=_NOW, tftp=None):
    """{relative path: Document} of every listed document of ``version`` (default: what
    ``distribution`` serves now), with URLs at ``origin`` (default: the distribution's):
    what an export writes. With ``tftp`` (a ``configs.TftpForm``) the GRUB and PXELINUX
    configs name kernel and initrd over TFTP, and the Foreman layout adds each tree's GRUB
    config to its bootloader-universe directory."""
    context = context_for(distribution, origin, version, tftp)
    documents = {}
    for kind in kinds(ROOT):
        document = _rendered(kind, context) if kind.listed else None
        if document is not None:
            for name in kind.names:
                documents[name] = document
    for tree in context.trees:
        bound = context.for_tree(tree)
        for kind in kinds(TREE):
            document = _rendered(kind, bound) if kind.listed else None
            if document is not None:
                for name in kind.names:
                    documents[f"{tree.version}/{tree.arch}/{name}"] = document
        if tftp is not None and tftp.layout == configs.FOREMAN_LAYOUT:
            grub = documents.get(f"{tree.version}/{tree.arch}/EFI/BOOT/grub.cfg")
            if grub is not None:  # GRUB reads the grub.cfg beside itself
                documents[f"{tftp.universe(tree)}/grub.cfg"] = grub
    return documents


def command_line_problems(distribution):
    """Why a served tree's kernel command line would be longer than Linux keeps, for each
    tree where it would (``distribution`` may be unsaved: the values a change asks for).

    The distribution API refuses such a change; a tree synced later that is too long for
    the distribution's values gets no boot configs, and trees.json says why."""
    context = context_for(distribution)
    problems = []
    for tree in context.trees:
        try:
            context.checked_target(tree)
        except configs.CommandLineTooLong as exc:
            problems.append(str(exc))
        except configs.NotBootable:
            pass  # a tree without a kernel has no command line to measure
    return problems


def index(distribution):
    """trees.json as data, for the API's trees view: the same document, the same URLs."""
    return TreesIndex.data(context_for(distribution))


__all__ = [
    "Alias",
    "Redirect",
    "Context",
    "Document",
    "DocumentKind",
    "ROOT",
    "TREE",
    "TreeNotServed",
    "command_line_problems",
    "context_for",
    "every_document",
    "index",
    "kinds",
    "listing",
    "locate",
    "render",
]
