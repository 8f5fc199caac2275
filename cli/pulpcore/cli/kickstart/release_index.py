from pulp_cli.generic import (
    href_option,
    list_command,
    pulp_group,
    pulp_option,
    show_command,
    type_option,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartReleaseIndexContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group(name="release-index")
@type_option(choices={"release_index": PulpKickstartReleaseIndexContext}, default="release_index")
def release_index() -> None:
    """CoreOS release histories and update policies, per repository version: what a
    distribution's update graph (<base_url>v1/graph) serves. Created by sync only (a CoreOS
    remote with --release-index-url)."""


filter_options = [
    pulp_option("--stream", help=_("CoreOS stream, e.g. stable.")),
    pulp_option("--repository-version", help=_("Only the index in this version (href).")),
]

release_index.add_command(list_command(decorators=filter_options))
release_index.add_command(show_command(decorators=[href_option]))
