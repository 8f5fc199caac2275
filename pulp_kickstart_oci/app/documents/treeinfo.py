"""``<version>/<arch>/.treeinfo``: the tree described for Anaconda, Foreman and productmd."""

from ..boot import kinds, treeinfo
from .base import TREE, DocumentKind


class TreeInfo(DocumentKind):
    names = (".treeinfo",)
    scope = TREE

    def applies(self, context):
        """Anaconda trees only: a CoreOS tree is no install tree (boot/kinds.py)."""
        return kinds.of(context.tree).has_treeinfo

    def render(self, context):
        """productmd 1.2; None for a tree whose values do not fit the format."""
        try:
            return treeinfo.render(context.tree, context.version.pulp_created.timestamp())
        except treeinfo.UnsafeTree:
            return None
