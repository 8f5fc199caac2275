"""`pulp import pulp run`: start an import of a Pulp export with a Pulp importer.

pulp-cli has `pulp exporter pulp`, `pulp export pulp run` and `pulp importer pulp`, but
no command that runs an import; this plugin adds it (``mount`` adds it only while
pulp-cli has none), so the walk-through of docs/disconnected.md is pulp-cli end to end.
The import is a task group: the command waits for every task of it.
"""

import typing as t

import click
from pulp_cli.generic import PulpCLIContext, pass_pulp_context, pulp_group
from pulp_glue.common.i18n import get_translation
from pulp_glue.core.context import PulpImporterContext
from pulp_glue.kickstart.context import PulpImportContext

translation = get_translation(__package__)
_ = translation.gettext


@pulp_group(name="import")
def pulp_import() -> None:
    """Run Pulp imports (Inter-Server Sync)."""


@pulp_import.group(name="pulp")
def pulp() -> None:
    """Imports of pulpcore's Pulp exports."""


@pulp.command()
@click.option("--importer", required=True, help=_("Name of the Pulp importer."))
@click.option(
    "--toc",
    help=_("The export's table of contents (<export>-toc.json): its chunks are checked first."),
)
@click.option("--path", help=_("The export's tar file, when it is not chunked."))
@click.option(
    "--create-repositories",
    is_flag=True,
    default=False,
    help=_("Create the repositories the export holds that this Pulp does not have."),
)
@pass_pulp_context
def run(
    pulp_ctx: PulpCLIContext,
    /,
    importer: str,
    toc: str | None,
    path: str | None,
    create_repositories: bool,
) -> None:
    """Import an export into this Pulp with an importer (waits for the task group)."""
    if (toc is None) == (path is None):
        raise click.ClickException(_("Give one of --toc and --path."))
    import_ctx = PulpImportContext(pulp_ctx)
    import_ctx.importer = PulpImporterContext(pulp_ctx).find(name=importer)
    body: dict[str, t.Any] = {"toc": toc} if toc else {"path": path}
    if create_repositories:
        body["create_repositories"] = True
    # The import is a task group: wait for all of it (a failed task raises, naming its error),
    # then show the group.
    group = import_ctx.call("create", parameters=import_ctx.scope, body=body, non_blocking=True)
    if not pulp_ctx.background_tasks:
        pulp_ctx.wait_for_task_group(group)
        group = pulp_ctx.api.call(
            "task_groups_read", parameters={"task_group_href": group["pulp_href"]}
        )
    pulp_ctx.output_result(group)
