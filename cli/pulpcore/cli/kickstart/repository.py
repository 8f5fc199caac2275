import typing as t

import click
from pulp_cli.generic import (
    create_command,
    destroy_command,
    href_option,
    label_command,
    label_select_option,
    list_command,
    name_option,
    option_group,
    pass_repository_context,
    pulp_group,
    pulp_labels_option,
    repository_content_command,
    repository_href_option,
    repository_lookup_option,
    resource_option,
    retained_versions_option,
    role_command,
    show_command,
    type_option,
    update_command,
    version_command,
)
from pulp_glue.common.context import EntityFieldDefinition, PulpRemoteContext
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import (
    PulpKickstartCoreosRemoteContext,
    PulpKickstartDnfRemoteContext,
    PulpKickstartOciRemoteContext,
    PulpKickstartPulpRemoteContext,
    PulpKickstartRepositoryContext,
    PulpKickstartTreeContext,
)

from pulpcore.cli.core.generic import task_command

translation = get_translation(__package__)
_ = translation.gettext


remote_option = resource_option(
    "--remote",
    default_plugin="kickstart",
    default_type="oci",
    context_table={
        "kickstart:oci": PulpKickstartOciRemoteContext,
        "kickstart:dnf": PulpKickstartDnfRemoteContext,
        "kickstart:pulp": PulpKickstartPulpRemoteContext,
        "kickstart:coreos": PulpKickstartCoreosRemoteContext,
    },
    href_pattern=PulpRemoteContext.HREF_PATTERN,
    help=_(
        "Remote to sync from: '[[kickstart:]oci|dnf|pulp|coreos:]<name>' or an href "
        "(default type: oci)."
    ),
)


verify_remote_option = resource_option(
    "--remote",
    default_plugin="kickstart",
    default_type="oci",
    context_table={
        "kickstart:oci": PulpKickstartOciRemoteContext,
        "kickstart:dnf": PulpKickstartDnfRemoteContext,
        "kickstart:coreos": PulpKickstartCoreosRemoteContext,
    },
    href_pattern=PulpRemoteContext.HREF_PATTERN,
    help=_(
        "Remote whose signature_keys and signature_policy verify the trees, and whose "
        "upstream serves their signatures (CoreOS trees: the signatures kept beside their "
        "files): '[[kickstart:]oci|dnf|coreos:]<name>' or an href."
    ),
)


push_remote_option = resource_option(
    "--remote",
    default_plugin="kickstart",
    default_type="oci",
    context_table={"kickstart:oci": PulpKickstartOciRemoteContext},
    href_pattern=PulpRemoteContext.HREF_PATTERN,
    help=_(
        "OCI remote naming the destination registry and repository, with credentials that "
        "may push: '[[kickstart:]oci:]<name>' or an href."
    ),
)


@pulp_group()
@type_option(choices={"kickstart": PulpKickstartRepositoryContext}, default="kickstart")
def repository() -> None:
    """Versioned sets of trees; a version holds at most one tree per release and arch."""


def _tree_callback(ctx: click.Context, value: dict[str, t.Any]) -> None:
    if value:
        tree_ctx = ctx.find_object(PulpKickstartTreeContext)
        assert tree_ctx is not None
        tree_ctx.entity = value


lookup_options = [href_option, name_option, repository_lookup_option]
nested_lookup_options = [repository_href_option, repository_lookup_option]
update_options = [
    click.option("--description"),
    remote_option,
    retained_versions_option,
    pulp_labels_option,
]
create_options = update_options + [click.option("--name", required=True)]
tree_options = [
    click.option("--digest", help=_("Digest of the tree to add or remove.")),
    click.option(
        "--identity", help=_("Identity of the tree, when one digest names several (releases).")
    ),
    click.option(
        "--made-here/--carried",
        "made_here",
        default=None,
        help=_(
            "This Pulp's tree, or one an import or a replication carried, when an identity "
            "names both."
        ),
    ),
    option_group(
        "tree",
        ["digest", "identity", "made_here"],
        callback=_tree_callback,
        expose_value=False,
        require_all=False,
    ),
]

repository.add_command(list_command(decorators=[label_select_option]))
repository.add_command(show_command(decorators=lookup_options))
repository.add_command(create_command(decorators=create_options))
repository.add_command(update_command(decorators=lookup_options + update_options))
repository.add_command(destroy_command(decorators=lookup_options))
repository.add_command(task_command(decorators=nested_lookup_options))
repository.add_command(version_command(decorators=nested_lookup_options))
repository.add_command(label_command(decorators=nested_lookup_options))
repository.add_command(role_command(decorators=lookup_options))
repository.add_command(
    repository_content_command(
        contexts={"tree": PulpKickstartTreeContext},
        base_default_plugin="kickstart",
        base_default_type="kickstart",
        add_decorators=tree_options,
        remove_decorators=tree_options,
    )
)


@repository.command()
@name_option
@href_option
@repository_lookup_option
@remote_option
@click.option("--mirror/--no-mirror", default=None, help=_("Drop trees gone upstream (mirror)."))
@click.option(
    "--optimize/--no-optimize",
    default=None,
    help=_(
        "Skip the sync when the remote, the sync options and the upstream content are "
        "unchanged since the last sync (server default: optimize). A changed remote always "
        "re-syncs fully; --no-optimize forces a full sync."
    ),
)
@click.option(
    "--allow-empty",
    is_flag=True,
    default=False,
    help=_("With --mirror, let a sync that finds no tree upstream remove every tree."),
)
@pass_repository_context
def sync(
    repository_ctx: PulpKickstartRepositoryContext,
    /,
    remote: EntityFieldDefinition,
    mirror: bool | None,
    optimize: bool | None,
    allow_empty: bool,
) -> None:
    """Sync the repository from a remote (default: the repository's own remote)."""
    body: dict[str, t.Any] = {}
    if mirror is not None:
        body["mirror"] = mirror
    if optimize is not None:
        body["optimize"] = optimize
    if allow_empty:
        body["allow_empty"] = True
    if remote:
        body["remote"] = remote
    elif repository_ctx.entity["remote"] is None:
        raise click.ClickException(
            _("Repository '{name}' has no remote: give --remote.").format(
                name=repository_ctx.entity["name"]
            )
        )
    repository_ctx.sync(body=body)


@repository.command(name="verify-signatures")
@name_option
@href_option
@repository_lookup_option
@verify_remote_option
@pass_repository_context
def verify_signatures(
    repository_ctx: PulpKickstartRepositoryContext,
    /,
    remote: EntityFieldDefinition,
) -> None:
    """Check the latest version's trees again with a remote's keys and policy.

    Signature records an import or a replication carried (checked_here false) never count;
    the new verifications are added in a new version.
    """
    if not remote:
        raise click.ClickException(
            _("Give --remote: an OCI, dnf or CoreOS remote whose signature_keys apply.")
        )
    repository_ctx.verify_signatures(body={"remote": remote})


@repository.command()
@name_option
@href_option
@repository_lookup_option
@push_remote_option
@click.option("--version", type=int, default=None, help=_("Version to push (default: the latest)."))
@click.option(
    "--release",
    "releases",
    multiple=True,
    help=_("Push only the trees of this release (repeat for more; default: every tree)."),
)
@click.option(
    "--copy-signatures/--no-copy-signatures",
    default=False,
    help=_(
        "Also push the cosign signatures and sigstore-bundle referrers the version holds "
        "verifications of, as the sync read them (trees synced from a registry go back "
        "byte for byte, so they stay valid)."
    ),
)
@pass_repository_context
def push(
    repository_ctx: PulpKickstartRepositoryContext,
    /,
    remote: EntityFieldDefinition,
    version: int | None,
    releases: tuple[str, ...],
    copy_signatures: bool,
) -> None:
    """Push a version's trees to a registry: N-ARCH manifests and N indexes.

    Blobs the registry has are not sent again; see docs/push.md.
    """
    if not remote:
        raise click.ClickException(_("Give --remote: the OCI remote to push to."))
    body: dict[str, t.Any] = {"remote": remote}
    if version is not None:
        body["repository_version"] = f"{repository_ctx.pulp_href}versions/{version}/"
    if releases:
        body["releases"] = list(releases)
    if copy_signatures:
        body["copy_signatures"] = True
    repository_ctx.push(body=body)
