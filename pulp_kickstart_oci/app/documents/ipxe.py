"""``<version>/<arch>/boot.ipxe``: iPXE firmware (or the root menu's chain) installs the tree."""

from ..boot import configs
from .base import TREE, DocumentKind


class TreeIpxe(DocumentKind):
    names = ("boot.ipxe",)
    scope = TREE

    def applies(self, context):
        return context.boot_target is not None

    def render(self, context):
        return configs.ipxe(context.boot_target)
