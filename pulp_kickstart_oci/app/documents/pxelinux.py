"""``<version>/<arch>/pxelinux.cfg/default``: legacy BIOS PXE (lpxelinux) installs the tree."""

from ..boot import configs
from .base import BootConfig


class PxelinuxDefault(BootConfig):
    names = ("pxelinux.cfg/default",)
    renderer = configs.pxelinux
