"""What a tree boots into: one class per kind of tree, and the kernel command line it needs.

An Anaconda tree boots the installer (``inst.stage2`` names the tree, ``inst.ks`` the
site's kickstart) and is described by a ``.treeinfo``. A Fedora CoreOS tree boots the
live system from its kernel and initramfs and fetches its root filesystem from
``coreos.live.rootfs_url``; it has no ``.treeinfo``. Boot configs, the menu, exports
and ``trees.json`` ask the tree's kind rather than assume an installer.
"""

from gettext import gettext as _

from ..netboot import layout

ANACONDA = layout.ANACONDA
COREOS = layout.COREOS


class TreeKind:
    """One kind of tree: which roles it boots from and what its kernel is told."""

    name = None
    has_treeinfo = False
    boot_roles = (layout.KERNEL, layout.INITRD)
    optional_roles = ()  # roles the command line names when the tree has them
    action = _("Boot")

    def action_of(self, target):
        """What a menu entry for ``target`` does."""
        return self.action

    def title(self, tree):
        """How menus and boot configs name the tree."""
        return f"{tree.version} {tree.arch}"

    def arguments(self, target):
        """The kind's own kernel arguments, before the distribution's ``kernel_args``."""
        return []

    def trailing(self, target):
        """Arguments after the distribution's ``kernel_args`` (the site's config URL)."""
        return []


class Anaconda(TreeKind):
    name = ANACONDA
    has_treeinfo = True
    action = _("Install")

    def arguments(self, target):
        return [f"inst.stage2={target.tree_url}"]

    def trailing(self, target):
        """The kickstart: the tree's bootc.ks when the distribution asks (it %includes the
        site's kickstart_url), else kickstart_url itself."""
        if target.bootc_kickstart:
            return [f"inst.ks={target.tree_url}{layout.BOOTC_KICKSTART}"]
        return [f"inst.ks={target.kickstart_url}"] if target.kickstart_url else []


class CoreOS(TreeKind):
    """A live PXE boot (docs.fedoraproject.org, Fedora CoreOS "Live reference"): kernel,
    initramfs and a root filesystem of the same release, Ignition on first boot. Or, as
    the distribution chooses (``coreos_boot`` "install"), the same live system running
    coreos-installer (its ``coreos.inst.*`` arguments) to write the release to a disk:
    from the tree's metal image when it holds one (its ``.sig`` beside it, which
    coreos-installer checks with the keys it embeds; without one the install must say
    ``coreos.inst.insecure``), else from the live system's own copy."""

    name = COREOS
    boot_roles = (layout.KERNEL, layout.INITRD, layout.ROOTFS)
    optional_roles = (layout.DISK,)
    INSTALL = "install"

    def action_of(self, target):
        return _("Install") if target.coreos_boot == self.INSTALL else self.action

    def title(self, tree):
        """``CoreOS <stream> <release> <arch>``: Fedora's, RHCOS's and SCOS's streams alike."""
        stream = (tree.source or {}).get("stream")
        name = f"CoreOS {stream}" if isinstance(stream, str) and stream else "CoreOS"
        return f"{name} {tree.version} {tree.arch}"

    def arguments(self, target):
        rootfs = f"coreos.live.rootfs_url={target.tree_url}{target.paths[layout.ROOTFS]}"
        if target.coreos_boot != self.INSTALL:
            return [rootfs, "ignition.firstboot", "ignition.platform.id=metal"]
        parts = [rootfs, f"coreos.inst.install_dev={target.install_device}"]
        disk = target.paths.get(layout.DISK)
        if disk:
            parts.append(f"coreos.inst.image_url={target.tree_url}{disk}")
            if disk not in target.signed:
                parts.append("coreos.inst.insecure")  # upstream signs nothing (RHCOS, SCOS)
        return parts

    def trailing(self, target):
        """The site's Ignition config: the live system's, or the installed system's."""
        if not target.ignition_url:
            return []
        if target.coreos_boot == self.INSTALL:
            return [f"coreos.inst.ignition_url={target.ignition_url}"]
        return [f"ignition.config.url={target.ignition_url}"]


KINDS = {kind.name: kind for kind in (Anaconda(), CoreOS())}
assert tuple(KINDS) == layout.TREE_KINDS  # one list of kinds: netboot/layout.py's


def of(tree):
    """The kind of a stored tree (trees stored before kinds existed are Anaconda trees)."""
    return KINDS[getattr(tree, "kind", None) or ANACONDA]
