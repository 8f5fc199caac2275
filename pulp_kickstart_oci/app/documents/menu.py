"""``<base_path>/boot.ipxe``: an iPXE menu of every bootable tree, each chaining its boot.ipxe."""

from ..boot import configs
from .base import ROOT, DocumentKind


class IpxeMenu(DocumentKind):
    names = ("boot.ipxe",)
    scope = ROOT

    def render(self, context):
        targets = (context.target(tree) for tree in context.trees)
        return configs.ipxe_menu([target for target in targets if target is not None])
