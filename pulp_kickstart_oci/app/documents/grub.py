"""``<version>/<arch>/grub.cfg``, and ``EFI/BOOT/grub.cfg`` beside a tree's GRUB binary.

GRUB loaded over UEFI HTTP boot from ``EFI/BOOT/`` reads the config beside itself.
"""

from ..boot import configs
from ..netboot import layout
from .base import BootConfig


class GrubConfig(BootConfig):
    names = ("grub.cfg",)
    renderer = configs.grub


class EfiGrubConfig(GrubConfig):
    names = ("EFI/BOOT/grub.cfg",)

    def applies(self, context):
        return super().applies(context) and layout.GRUB in configs.roles(context.tree)
