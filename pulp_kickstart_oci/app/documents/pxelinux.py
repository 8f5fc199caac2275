"""``<version>/<arch>/pxelinux.cfg/default``: legacy BIOS PXE (lpxelinux) installs the tree."""

from ..boot import configs
from .base import TREE, DocumentKind


class PxelinuxDefault(DocumentKind):
    names = ("pxelinux.cfg/default",)
    scope = TREE

    def applies(self, context):
        return context.boot_target is not None

    def render(self, context):
        return configs.pxelinux(context.boot_target)
