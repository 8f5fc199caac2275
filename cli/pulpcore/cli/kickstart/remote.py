import click
from pulp_cli.generic import (
    common_remote_create_options,
    common_remote_update_options,
    create_command,
    destroy_command,
    href_option,
    label_command,
    list_command,
    load_json_callback,
    load_string_callback,
    name_option,
    pulp_group,
    pulp_option,
    remote_filter_options,
    remote_lookup_option,
    role_command,
    show_command,
    type_option,
    update_command,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import (
    PulpKickstartDnfRemoteContext,
    PulpKickstartOciRemoteContext,
)

translation = get_translation(__package__)
_ = translation.gettext


OCI = (PulpKickstartOciRemoteContext,)
DNF = (PulpKickstartDnfRemoteContext,)


@pulp_group()
@type_option(choices={"oci": PulpKickstartOciRemoteContext, "dnf": PulpKickstartDnfRemoteContext})
def remote() -> None:
    """Where trees come from: an OCI registry repository (--type oci) or a dnf tree (--type dnf)."""


lookup_options = [href_option, name_option, remote_lookup_option]
kickstart_remote_options = [
    pulp_option(
        "--policy",
        type=click.Choice(["immediate", "on_demand", "streamed"], case_sensitive=False),
        help=_("When files are downloaded: during sync (immediate) or on first request."),
    ),
    pulp_option(
        "--upstream-name",
        help=_("Repository in the registry, e.g. 'pulp/fedora-kickstart-artifacts'."),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--include-tags",
        callback=load_json_callback,
        help=_(
            "JSON list of tag globs to sync, e.g. '[\"4*\"]' (or @file). Default: N and N-ARCH."
        ),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--exclude-tags",
        callback=load_json_callback,
        help=_("JSON list of tag globs to leave out (or @file)."),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--architectures",
        callback=load_json_callback,
        help=_('JSON list of architectures, Fedora or OCI names, e.g. \'["x86_64", "arm64"]\'.'),
        allowed_with_contexts=OCI,
    ),
    pulp_option(
        "--skip-files",
        callback=load_json_callback,
        help=_("JSON list of file or package names not to sync, e.g. '[\"boot.iso\"]'."),
        allowed_with_contexts=DNF,
    ),
    pulp_option(
        "--gpg-keys",
        callback=load_string_callback,
        help=_("ASCII-armoured public keys every RPM must be signed with; '@file' reads a file."),
        allowed_with_contexts=DNF,
    ),
    pulp_option(
        "--bootloader-packages",
        callback=load_json_callback,
        help=_('JSON object of package names per arch, e.g. \'{{"x86_64": ["shim-x64"]}}\'.'),
        allowed_with_contexts=DNF,
    ),
]

remote.add_command(list_command(decorators=remote_filter_options))
remote.add_command(show_command(decorators=lookup_options))
remote.add_command(
    create_command(decorators=common_remote_create_options + kickstart_remote_options)
)
remote.add_command(
    update_command(
        decorators=lookup_options + common_remote_update_options + kickstart_remote_options
    )
)
remote.add_command(destroy_command(decorators=lookup_options))
remote.add_command(label_command(decorators=[remote_lookup_option]))
remote.add_command(role_command(decorators=lookup_options))
