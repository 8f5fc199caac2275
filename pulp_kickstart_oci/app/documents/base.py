"""What every generated document shares: the kind registry and what a document is rendered from.

A document kind is a subclass of ``DocumentKind`` in a module of this package:
subclassing registers it (as a source registers itself in ``sources/``), and the
package imports every module, so the content app, directory listings, exports and
the API's trees view all find it without naming it (docs/architecture.md, "Adding a
document kind"). Kinds render from a ``Context``: the distribution, the repository
version it serves and the URLs (``serving.root_url``), never a request, so a
document is a function of (repository version, distribution, settings). Rendering
itself is pure and lives in ``boot/``.
"""

from functools import cached_property

from ..boot import configs
from ..netboot import grammar, layout

ROOT = "root"  # <base_path>/<name>
TREE = "tree"  # <base_path>/<version>/<arch>/<name>
TEXT = "text/plain; charset=utf-8"

_KINDS = []


class DocumentKind:
    """One kind of generated document.

    A subclass sets ``names`` (its paths below the scope's directory: ``grub.cfg``,
    ``EFI/BOOT/grub.cfg``), ``scope`` (``ROOT`` or ``TREE``) and, if not text,
    ``content_type``; it implements ``render(context)`` and, for a document that
    only some trees have, ``applies(context)``. ``listed``: whether directory
    listings and exports show it.
    """

    names = ()
    scope = None
    content_type = TEXT
    listed = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.names:
            if cls.scope == TREE and not set(cls.names) <= set(layout.GENERATED_PATHS):
                # A tree document's path must be one no tree file can take (layout.check_paths).
                raise TypeError(
                    f"{cls.__name__}: add {cls.names} to netboot.layout.GENERATED_PATHS"
                )
            roots = {name.split("/")[0] for name in cls.names}
            if cls.scope == ROOT and not roots <= set(grammar.ROOT_DOCUMENTS):
                # A root document's first segment must be one no release can take.
                raise TypeError(
                    f"{cls.__name__}: add {sorted(roots)} to netboot.grammar.ROOT_DOCUMENTS"
                )
            _KINDS.append(cls())

    def applies(self, context):
        """Whether ``context`` (its tree, for a tree document) has this document."""
        return True

    def render(self, context):
        """The document's text or bytes for ``context``."""
        raise NotImplementedError


class BootConfig(DocumentKind):
    """A tree's boot config (iPXE, GRUB, PXELINUX): ``renderer`` (a ``boot.configs`` function)
    of the tree's BootTarget, absent when the tree cannot be booted. Not registered itself."""

    scope = TREE
    renderer = None

    def applies(self, context):
        return context.boot_target is not None

    def render(self, context):
        return type(self).renderer(context.boot_target)


def kinds(scope=None):
    """Every registered kind, or those of one scope."""
    return [kind for kind in _KINDS if scope is None or kind.scope == scope]


def _version_order(tree):
    """42 before 100, 9.4 before 10: numeric parts compare as numbers."""
    return (
        tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in tree.version.split(".")),
        tree.arch,
    )


class Context:
    """What a distribution's documents are rendered from, read once per render.

    ``distribution``: the KickstartDistribution (it reads its served version, trees,
    tags and signatures); ``version``: the repository version it serves (or None);
    ``root_url``: the absolute URL of ``<base_path>/`` (``serving.root_url``).
    ``for_tree(tree)`` gives the same context for one tree's documents.
    """

    def __init__(self, distribution, version, root_url, tree=None, tftp=None):
        self.distribution = distribution
        self.version = version
        self.root_url = root_url
        self.tree = tree
        self.tftp = tftp  # a configs.TftpForm: an export for TFTP clients; None over HTTP

    @cached_property
    def trees(self):
        """Every tree of the served version, in version order (numeric parts as numbers)."""
        return sorted(self.distribution.trees_of(self.version), key=_version_order)

    def find_tree(self, release, arch):
        """The served tree ``release``/``arch``, or None (one query)."""
        return self.distribution.trees_of(self.version).filter(version=release, arch=arch).first()

    def for_tree(self, tree):
        """This context bound to ``tree``, for its tree-scoped documents."""
        return Context(self.distribution, self.version, self.root_url, tree, self.tftp)

    def tree_url(self, tree=None):
        """The absolute URL of a tree's directory, ending in "/"."""
        tree = tree or self.tree
        return f"{self.root_url}{tree.version}/{tree.arch}/"

    def target(self, tree=None):
        """The tree's BootTarget (``boot.configs``), or None when it cannot be booted."""
        try:
            return self.checked_target(tree)
        except configs.NotBootable:
            return None

    def boot_problem(self, tree=None):
        """Why the tree gets no boot configs (``configs.NotBootable``'s words), or None."""
        try:
            self.checked_target(tree)
        except configs.NotBootable as exc:
            return str(exc)
        return None

    def checked_target(self, tree=None):
        """The tree's BootTarget, or ``configs.NotBootable`` saying why it has none."""
        tree = tree or self.tree
        target = configs.target_for(
            tree,
            self.tree_url(tree),
            self.distribution.kernel_args,
            self.distribution.kickstart_url,
            coreos={
                "boot": self.distribution.coreos_boot,
                "ignition_url": self.distribution.ignition_url,
                "install_device": self.distribution.install_device,
            },
            # inst.ks names the tree's bootc.ks only when the distribution has one.
            bootc_kickstart=self.distribution.bootc_kickstart
            and bool(self.distribution.bootc_image),
        )
        return self.tftp.apply(target, tree) if self.tftp is not None else target

    @cached_property
    def boot_target(self):
        """``target()`` of the bound tree, computed once for its documents."""
        return self.target()
