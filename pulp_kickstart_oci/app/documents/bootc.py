"""``<version>/<arch>/bootc.ks``: the kickstart that installs the distribution's bootc image.

Served for every Anaconda tree of a distribution that names a ``bootc_image``; the text
is ``boot.bootc.kickstart`` of the tree's release (which picks ``ostreecontainer`` or
``bootc``) with the site's ``kickstart_url`` %included (docs/bootc.md).
"""

from ..boot import bootc, kinds
from ..netboot import grammar, layout
from .base import TREE, DocumentKind


class BootcKickstart(DocumentKind):
    names = (layout.BOOTC_KICKSTART,)
    scope = TREE

    def applies(self, context):
        """Anaconda trees of a distribution with a bootc image, whose release and arch are
        of their grammars (what the renderer checks again)."""
        return (
            bool(context.distribution.bootc_image)
            and kinds.of(context.tree).name == kinds.ANACONDA
            and grammar.matches(grammar.RELEASE, context.tree.version)
            and grammar.matches(grammar.ARCH, context.tree.arch)
        )

    def render(self, context):
        distribution = context.distribution
        image = bootc.BootcImage(
            reference=distribution.bootc_image,
            transport=distribution.bootc_transport,
            verify_signature=distribution.bootc_verify_signature,
        )
        try:
            return bootc.kickstart(
                context.tree.version, context.tree.arch, image, distribution.kickstart_url
            )
        except bootc.UnsafeKickstart:
            return None  # a value the serializer would refuse: no document (404)
