import click
from pulp_cli.generic import (
    href_option,
    list_command,
    lookup_callback,
    pulp_group,
    pulp_option,
    show_command,
    type_option,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartTreeContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group()
@type_option(choices={"tree": PulpKickstartTreeContext}, default="tree")
def tree() -> None:
    """Synced trees: one release and architecture each, with its files' paths, sizes, sha256.

    What Pulp verified on a tree is in `pulp kickstart signature list --tree <href>`.
    """


filter_options = [
    pulp_option("--version", help=_("Release, e.g. 42.")),
    pulp_option("--arch", help=_("Architecture, Fedora (x86_64) or OCI (amd64) name.")),
    pulp_option("--digest", help=_("Upstream manifest digest (or computed digest of a dnf tree).")),
    pulp_option("--identity", help=_("The tree's identity (release, arch, digest and files).")),
    pulp_option("--repository-version", help=_("Only trees in this repository version (href).")),
]

tree.add_command(list_command(decorators=filter_options))
digest_lookup_option = click.option(
    "--digest", expose_value=False, callback=lookup_callback("digest"), help=_("Tree digest.")
)
identity_lookup_option = click.option(
    "--identity", expose_value=False, callback=lookup_callback("identity"), help=_("Tree identity.")
)
tree.add_command(
    show_command(decorators=[href_option, digest_lookup_option, identity_lookup_option])
)
