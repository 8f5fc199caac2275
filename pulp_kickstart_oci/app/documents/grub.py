"""``<version>/<arch>/grub.cfg``, and ``EFI/BOOT/grub.cfg`` beside a tree's GRUB binary.

GRUB loaded over UEFI HTTP boot from ``EFI/BOOT/`` reads the config beside itself.
"""

from ..boot import configs
from ..netboot import layout
from .base import TREE, DocumentKind


class GrubConfig(DocumentKind):
    names = ("grub.cfg",)
    scope = TREE

    def applies(self, context):
        return context.boot_target is not None

    def render(self, context):
        return configs.grub(context.boot_target)


class EfiGrubConfig(GrubConfig):
    names = ("EFI/BOOT/grub.cfg",)

    def applies(self, context):
        return super().applies(context) and layout.GRUB in configs.roles(context.tree)
