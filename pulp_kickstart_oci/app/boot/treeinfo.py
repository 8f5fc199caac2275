""".treeinfo (productmd treeinfo 1.2) for a tree, the file Anaconda's dracut reads first."""

import io
import re
from gettext import gettext as _

import productmd.common
import productmd.treeinfo

from ..netboot import grammar, layout


class UnsafeTree(ValueError):
    """A stored value that would not be a single INI value in .treeinfo."""


# Paths that go into [images-<arch>] under the key Anaconda and productmd use.
_IMAGE_KEYS = {
    "images/pxeboot/vmlinuz": "kernel",
    "images/pxeboot/initrd.img": "initrd",
    "images/boot.iso": "boot.iso",
    "images/efiboot.img": "efiboot.img",
}


def release_name(tree):
    """Name the release in .treeinfo, which Anaconda shows and productmd requires.

    A dnf tree's family, else the index's os.version family (fedora-42), else "Fedora".
    """
    source = tree.source or {}
    if source.get("family"):
        return source["family"]
    os_version = source.get("index", {}).get("os_version", "")
    family = os_version.rsplit("-", 1)[0] if "-" in os_version else ""
    return family.capitalize() if family.isalpha() else "Fedora"


def productmd_version(release):
    """The [release] version productmd accepts for a release the plugin accepts.

    productmd takes ``42``, ``9.4`` or a name starting with a letter (``rawhide``).
    A pre-release such as ``42-beta`` is written as ``42``, as Fedora's composes
    write their Beta trees; the full release stays in the tree's path and in
    ``[general] name``.
    """
    if productmd.common.is_valid_release_version(release):
        return release
    return re.match(r"[0-9]+(?:\.[0-9]+)*", release).group(0)


def render(tree, build_timestamp):
    """Return the .treeinfo text for ``tree`` (a KickstartTree).

    Values were checked where they entered; they are checked again here (the
    second wall), so no stored value can add a line or a section to the file.
    """
    name = release_name(tree)
    if not grammar.plain_tree(tree) or not grammar.matches(grammar.FAMILY, name):
        raise UnsafeTree(
            _("{version!r}/{arch!r} holds a value unfit for .treeinfo").format(
                version=tree.version, arch=tree.arch
            )
        )
    info = productmd.treeinfo.TreeInfo()
    info.release.name = name
    info.release.short = name
    info.release.version = productmd_version(tree.version)
    info.tree.arch = tree.arch
    info.tree.build_timestamp = int(build_timestamp)
    info.tree.platforms.add(tree.arch)
    images = {}
    for item in tree.files:
        key = _IMAGE_KEYS.get(item["path"])
        if key:
            images[key] = item["path"]
        if item["role"] == layout.STAGE2:
            info.stage2.mainimage = item["path"]
        if item["path"].startswith("images/"):
            info.checksums.checksums[item["path"]] = ("sha256", item["sha256"])
    if images:
        info.images.images[tree.arch] = images
    # productmd requires a variant; this tree has no package repository, so none is named.
    variant = productmd.treeinfo.Variant(info)
    variant.id = variant.uid = variant.name = "Everything"
    variant.type = "variant"
    info.variants.add(variant)
    out = io.StringIO()
    info.dump(out)
    text = out.getvalue()
    if info.release.version != tree.version:
        # The compatibility section names the release in full: "Fedora 42-beta".
        written = f"\nname = {name} {info.release.version}\n"
        text = text.replace(written, f"\nname = {name} {tree.version}\n", 1)
    return text
