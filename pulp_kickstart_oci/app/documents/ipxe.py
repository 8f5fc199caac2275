"""``<version>/<arch>/boot.ipxe``: iPXE firmware (or the root menu's chain) installs the tree."""

from ..boot import configs
from .base import BootConfig


class TreeIpxe(BootConfig):
    names = ("boot.ipxe",)
    renderer = configs.ipxe
