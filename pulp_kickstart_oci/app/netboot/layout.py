"""Where each netboot file goes in an Anaconda install tree, and what it is for.

Layer titles are upstream input: they are validated here before they become
paths, and known names are mapped to the paths Anaconda, Foreman and firmware
expect. Unknown titles are kept under ``extra/`` rather than dropped.
"""

import fnmatch
from dataclasses import dataclass
from gettext import gettext as _

from . import grammar

KERNEL = "kernel"
INITRD = "initrd"
STAGE2 = "stage2"
ISO = "iso"
SHIM = "shim"
GRUB = "grub"
PXELINUX = "pxelinux"
ROOTFS = "rootfs"  # a CoreOS live system's root filesystem (coreos.live.rootfs_url)
DISK = "disk"  # a CoreOS metal disk image (coreos.inst.image_url)
SIGNATURE = "signature"  # a detached signature served beside its file (<file>.sig)
OTHER = "other"
ROLES = (KERNEL, INITRD, STAGE2, ISO, SHIM, GRUB, PXELINUX, ROOTFS, DISK, SIGNATURE, OTHER)

# Kinds of tree (boot/kinds.py says how each boots): an Anaconda install tree, a CoreOS
# live system. A tree stored before kinds existed is an Anaconda tree.
ANACONDA = "anaconda"
COREOS = "coreos"
TREE_KINDS = (ANACONDA, COREOS)
# Kinds whose clients fetch ``<file>.sig`` beside a file (coreos-installer): in their trees
# that path holds the file's detached signature or nothing.
SIGNED_BESIDE = (COREOS,)

EXTRA_DIR = "extra"

# Exact names (compared case-insensitively) -> (tree path, role).
_KNOWN = {
    "vmlinuz": ("images/pxeboot/vmlinuz", KERNEL),
    "initrd.img": ("images/pxeboot/initrd.img", INITRD),
    "install.img": ("images/install.img", STAGE2),
    "boot.iso": ("images/boot.iso", ISO),
    "efiboot.img": ("images/efiboot.img", OTHER),
    "updates.img": ("images/updates.img", OTHER),
    "product.img": ("images/product.img", OTHER),
    "pxelinux.0": ("pxelinux.0", PXELINUX),
    "lpxelinux.0": ("lpxelinux.0", PXELINUX),
}

# Name patterns (case-insensitive) -> (directory, role); the file keeps its title.
_PATTERNS = (
    ("shim*.efi", "EFI/BOOT", SHIM),
    ("boot*.efi", "EFI/BOOT", SHIM),
    ("grub*.efi", "EFI/BOOT", GRUB),
    ("mm*.efi", "EFI/BOOT", OTHER),
    ("fb*.efi", "EFI/BOOT", OTHER),
    ("grub*.0", "", GRUB),
    ("*.c32", "", PXELINUX),
)


# Paths in a tree that Pulp generates (documents/, whose tree kinds must each be listed
# here): no file of a tree may take one, or a directory above one.
BOOTC_KICKSTART = "bootc.ks"  # documents/bootc.py: installs the distribution's bootc_image
GENERATED_PATHS = (
    ".treeinfo",
    "boot.ipxe",
    "grub.cfg",
    "EFI/BOOT/grub.cfg",
    "pxelinux.cfg/default",
    BOOTC_KICKSTART,
)
SIGNATURE_SUFFIX = ".sig"


class InvalidTitle(ValueError):
    """A layer title that cannot safely become a path."""


def validate_title(title):
    """Refuse titles that are empty, absolute, escape the tree or are not plain paths.

    A title becomes a path in URLs and boot scripts: it must match the tree
    path grammar (no spaces, quotes, control characters or script syntax).
    """
    if not isinstance(title, str) or title == "":
        raise InvalidTitle(_("empty title"))
    if title.startswith("/"):
        raise InvalidTitle(_("title {title!r} is an absolute path").format(title=title))
    segments = title.split("/")
    if ".." in segments:
        raise InvalidTitle(_("title {title!r} contains a '..' segment").format(title=title))
    if "" in segments or "." in segments:
        raise InvalidTitle(
            _("title {title!r} is not a normalised relative path").format(title=title)
        )
    try:
        grammar.tree_path(title, _("title"))
    except grammar.GrammarError as exc:
        raise InvalidTitle(str(exc)) from None
    return title


@dataclass(frozen=True)
class Placement:
    """Where a layer lands in the tree and its role, which boot configs and checks key on."""

    path: str
    role: str


def place(title):
    """Map an upstream layer title to its tree path and role, validating it first.

    Known names go where Anaconda and firmware look; unknown ones under ``extra/``.
    """
    validate_title(title)
    if "/" not in title:
        lowered = title.lower()
        if lowered in _KNOWN:
            path, role = _KNOWN[lowered]
            return Placement(path, role)
        for pattern, directory, role in _PATTERNS:
            if fnmatch.fnmatchcase(lowered, pattern):
                return Placement(f"{directory}/{title}" if directory else title, role)
    return Placement(f"{EXTRA_DIR}/{title}", OTHER)


def locate(path):
    """``(title, placement)`` of a file named by its path in the tree (an uploaded tree).

    A path is in the layout when a sync would put a file there: a name placed at that
    path (``images/pxeboot/vmlinuz`` is where ``vmlinuz`` goes, so its role is a
    kernel's), or ``extra/<title>`` for a title a sync keeps under ``extra/``. The role
    is the one a sync gives; any other path raises InvalidTitle naming where the name
    belongs.
    """
    try:
        grammar.tree_path(path, _("path"))
    except grammar.GrammarError as exc:
        raise InvalidTitle(str(exc)) from None
    name = path.rsplit("/", 1)[-1]
    titles = [name]
    if path.startswith(EXTRA_DIR + "/"):
        titles.append(path[len(EXTRA_DIR) + 1 :])
    for title in titles:
        placement = place(title)
        if placement.path == path:
            return title, placement
    raise InvalidTitle(
        _(
            "{path} is not a path of the tree layout: a file named {name} is served at {where}"
        ).format(path=path, name=name, where=place(name).path)
    )


def _directories(path):
    parts = path.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts))]


def check_paths(files, kind=ANACONDA):
    """Refuse a tree whose files would shadow each other or a generated document.

    ``files``: (path, role) pairs. Every source's tree passes here (sources.base.TreePlan),
    so one rule holds for all of them: each path is in the tree grammar; no two paths are
    one (compared case-insensitively, as an export to a case-insensitive directory would
    meet them) and none is a directory of another or of a generated document
    (``GENERATED_PATHS``, or the document would be served in place of the file and a boot
    config would point at itself); a signature is served only at ``<file>.sig``, and in a
    tree of a kind whose clients look there (``SIGNED_BESIDE``) nothing else is. Raises
    InvalidTitle naming the file.
    """
    taken = {
        path.casefold(): _("the generated document {path}").format(path=path)
        for path in GENERATED_PATHS
    }
    directories = {}
    for path in GENERATED_PATHS:
        for directory in _directories(path):
            directories[directory.casefold()] = _("the generated document {path}").format(path=path)
    for path, _role in files:
        try:
            grammar.tree_path(path, _("file path"))
        except grammar.GrammarError as exc:
            raise InvalidTitle(str(exc)) from None
        if any(segment.endswith(".") for segment in path.split("/")):
            # Windows and Samba drop a trailing dot: an export there would merge two names.
            raise InvalidTitle(_("file path {path} has a segment ending in '.'").format(path=path))
    for path, _role in files:
        key = path.casefold()
        clash = taken.get(key) or directories.get(key)
        if clash is None:
            clash = next(
                (taken[d.casefold()] for d in _directories(path) if d.casefold() in taken), None
            )
        if clash is not None:
            raise InvalidTitle(_("file {path} would shadow {other}").format(path=path, other=clash))
        taken[key] = _("the file {path}").format(path=path)
        for directory in _directories(path):
            directories.setdefault(directory.casefold(), _("the file {path}").format(path=path))
    paths = {path.casefold() for path, _role in files}
    for path, role in files:
        signs = (
            path.casefold().endswith(SIGNATURE_SUFFIX)
            and path[: -len(SIGNATURE_SUFFIX)].casefold() in paths
        )
        if signs and role != SIGNATURE and kind in SIGNED_BESIDE:
            raise InvalidTitle(
                _("file {path} would be served as the signature of {signed}").format(
                    path=path, signed=path[: -len(SIGNATURE_SUFFIX)]
                )
            )
        if role == SIGNATURE and not signs:
            raise InvalidTitle(
                _("signature {path} is not <file>.sig of a file of the tree").format(path=path)
            )
