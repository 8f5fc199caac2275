from pulp_cli.generic import list_command, pulp_group, pulp_option, type_option
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartTagContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group()
@type_option(choices={"tag": PulpKickstartTagContext}, default="tag")
def tag() -> None:
    """Upstream tags and the trees they named, per repository version (tags move upstream)."""


filter_options = [
    pulp_option("--name", help=_("Tag, e.g. 42 or 42-amd64.")),
    pulp_option("--arch", help=_("Fedora architecture of the tree it names, e.g. x86_64.")),
    pulp_option("--repository-version", help=_("Only tags in this repository version (href).")),
]

tag.add_command(list_command(decorators=filter_options))
