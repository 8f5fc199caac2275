from pulp_cli.generic import (
    href_option,
    list_command,
    pulp_group,
    pulp_option,
    show_command,
    type_option,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartIndexContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group(name="index")
@type_option(choices={"index": PulpKickstartIndexContext}, default="index")
def index() -> None:
    """Upstream image indexes exactly as a registry sent them under a tag, per repository
    version: what a push writes back byte for byte. Created by sync only."""


filter_options = [
    pulp_option("--tag", help=_("The tag that named it, e.g. 42.")),
    pulp_option("--digest", help=_("Its sha256 digest.")),
    pulp_option("--repository-version", help=_("Only the indexes of this version (href).")),
]

index.add_command(list_command(decorators=filter_options))
index.add_command(show_command(decorators=[href_option]))
