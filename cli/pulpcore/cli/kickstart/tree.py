import typing as t
from contextlib import ExitStack

import click
from pulp_cli.generic import (
    PulpCLIContext,
    chunk_size_callback,
    href_option,
    list_command,
    lookup_callback,
    pass_entity_context,
    pass_pulp_context,
    pulp_group,
    pulp_option,
    resource_option,
    show_command,
    type_option,
)
from pulp_glue.common.context import PulpEntityContext, PulpRepositoryContext
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import PulpKickstartRepositoryContext, PulpKickstartTreeContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group()
@type_option(choices={"tree": PulpKickstartTreeContext}, default="tree")
def tree() -> None:
    """Trees, synced or uploaded: one release and arch each, with its files' paths, sizes, sha256.

    What Pulp verified on a tree is in `pulp kickstart signature list --tree <href>`.
    """


filter_options = [
    pulp_option("--version", help=_("Release, e.g. 42.")),
    pulp_option("--arch", help=_("Architecture, Fedora (x86_64) or OCI (amd64) name.")),
    pulp_option("--digest", help=_("Upstream manifest digest (or computed digest of a dnf tree).")),
    pulp_option("--identity", help=_("The tree's identity (release, arch, digest and files).")),
    pulp_option(
        "--made-here/--carried",
        "made_here",
        default=None,
        help=_(
            "Only trees this Pulp made (a sync, an upload), or only those an import or a "
            "replication carried from another Pulp."
        ),
    ),
    pulp_option("--kind", type=click.Choice(["anaconda", "coreos"]), help=_("Tree kind.")),
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


def _tree_files(
    ctx: click.Context, param: click.Parameter, value: t.Sequence[str]
) -> list[tuple[str, str]]:
    """``PATH=LOCAL_FILE`` pairs, each path once (the server checks the path itself)."""
    pairs = []
    for item in value:
        path, sep, local = item.partition("=")
        if not sep or not path or not local:
            raise click.BadParameter(
                _("{item!r} is not PATH=LOCAL_FILE, e.g. images/pxeboot/vmlinuz=./vmlinuz").format(
                    item=item
                )
            )
        if path in (known for known, _local in pairs):
            raise click.BadParameter(_("{path} is given twice").format(path=path))
        pairs.append((path, local))
    return pairs


upload_repository_option = resource_option(
    "--repository",
    default_plugin="kickstart",
    default_type="kickstart",
    context_table={"kickstart:kickstart": PulpKickstartRepositoryContext},
    href_pattern=PulpKickstartRepositoryContext.HREF_PATTERN,
    help=_("Add the tree to a new version of this repository (name or href)."),
)


@tree.command()
@click.option("--version", "release", required=True, help=_("Release, e.g. 42."))
@click.option("--arch", required=True, help=_("Architecture, Fedora (x86_64) or OCI (amd64) name."))
@click.option(
    "--family",
    help=_("Release name .treeinfo gives, e.g. 'CentOS Stream' (default: Fedora)."),
)
@click.option(
    "--file",
    "files",
    multiple=True,
    required=True,
    callback=_tree_files,
    help=_(
        "PATH=LOCAL_FILE, repeated: the file's path in the tree decides its role "
        "(images/pxeboot/vmlinuz, images/pxeboot/initrd.img, images/install.img, "
        "EFI/BOOT/BOOTX64.EFI, ...; others under extra/). A kernel and an initrd are required."
    ),
)
@pulp_option(
    "--chunk-size",
    default=None,
    callback=chunk_size_callback,
    help=_("Size of the chunks each file is uploaded in, e.g. 10MB (default: 1MB)."),
)
@upload_repository_option
@pass_entity_context
@pass_pulp_context
def upload(
    pulp_ctx: PulpCLIContext,
    entity_ctx: PulpEntityContext,
    /,
    release: str,
    arch: str,
    family: str | None,
    files: list[tuple[str, str]],
    chunk_size: int | None,
    repository: PulpRepositoryContext | None,
) -> None:
    """Create a tree of local files (a patched kernel, a custom initrd, ...), uploaded in
    chunks; Pulp checks each file as a sync does and names the one it refuses."""
    assert isinstance(entity_ctx, PulpKickstartTreeContext)
    with ExitStack() as stack:
        opened = []
        for path, local in files:
            try:
                opened.append((path, stack.enter_context(open(local, "rb"))))
            except OSError as exc:
                raise click.BadParameter(
                    _("{path}: cannot read {local}: {reason}").format(
                        path=path, local=local, reason=exc.strerror
                    ),
                    param_hint="--file",
                ) from None
        result = entity_ctx.upload_tree(
            release, arch, opened, chunk_size=chunk_size, repository=repository, family=family
        )
    pulp_ctx.output_result(result)
