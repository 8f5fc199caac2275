"""`pulp kickstart ...`: remotes, repositories, trees and distributions of pulp_kickstart_oci.

Only click wiring lives here; API knowledge is in pulp_glue.kickstart.
"""

import typing as t

import click
from pulp_cli.generic import pulp_group

from pulpcore.cli.kickstart.distribution import distribution
from pulpcore.cli.kickstart.index import index
from pulpcore.cli.kickstart.pulp_import import pulp_import
from pulpcore.cli.kickstart.release_index import release_index
from pulpcore.cli.kickstart.remote import remote
from pulpcore.cli.kickstart.repository import repository
from pulpcore.cli.kickstart.signature import signature
from pulpcore.cli.kickstart.tag import tag
from pulpcore.cli.kickstart.tree import tree


@pulp_group(name="kickstart")
def kickstart_group() -> None:
    """Netboot/kickstart trees synced from OCI registries or dnf repositories."""


def mount(main: click.Group, **kwargs: t.Any) -> None:
    """Add `pulp kickstart` and its subcommands to pulp-cli (the plugin entry point)."""
    kickstart_group.add_command(remote)
    kickstart_group.add_command(repository)
    kickstart_group.add_command(tree)
    kickstart_group.add_command(tag)
    kickstart_group.add_command(signature)
    kickstart_group.add_command(release_index)
    kickstart_group.add_command(index)
    kickstart_group.add_command(distribution)
    main.add_command(kickstart_group)
    if "import" not in main.commands:  # pulp-cli runs no import yet: `pulp import pulp run`
        main.add_command(pulp_import)
