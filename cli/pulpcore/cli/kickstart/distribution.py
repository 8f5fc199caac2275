import click
from pulp_cli.generic import (
    PulpCLIContext,
    common_distribution_create_options,
    content_guard_option,
    create_command,
    destroy_command,
    distribution_filter_options,
    distribution_lookup_option,
    href_option,
    label_command,
    list_command,
    name_option,
    pass_entity_context,
    pass_pulp_context,
    pulp_group,
    pulp_labels_option,
    pulp_option,
    resource_option,
    role_command,
    show_command,
    type_option,
    update_command,
)
from pulp_glue.common.i18n import get_translation
from pulp_glue.kickstart.context import (
    PulpKickstartDistributionContext,
    PulpKickstartRepositoryContext,
)

translation = get_translation(__package__)
_ = translation.gettext


repository_option = resource_option(
    "--repository",
    default_plugin="kickstart",
    default_type="kickstart",
    context_table={"kickstart:kickstart": PulpKickstartRepositoryContext},
    href_pattern=PulpKickstartRepositoryContext.HREF_PATTERN,
    help=_("Repository to serve (its latest version, or --version). Name or href."),
)


@pulp_group()
@type_option(choices={"kickstart": PulpKickstartDistributionContext}, default="kickstart")
def distribution() -> None:
    """Serve trees at <base_path>/<version>/<arch>/ with generated boot configs."""


lookup_options = [href_option, name_option, distribution_lookup_option]
update_options = [
    repository_option,
    pulp_option("--version", type=int, help=_("Serve this repository version instead of latest.")),
    pulp_option(
        "--kernel-args", help=_("Extra kernel arguments, after inst.stage2=, e.g. 'console=ttyS0'.")
    ),
    pulp_option("--kickstart-url", help=_("Kickstart URL passed as inst.ks= in the boot configs.")),
    pulp_option(
        "--boot-origin",
        help=_(
            "http(s)://HOST[:PORT] machines reach the content app at; the generated documents' "
            "URLs start with it. HOST[:PORT] must be CONTENT_ORIGIN's or listed in "
            "KICKSTART_BOOT_HOSTS. Default: CONTENT_ORIGIN."
        ),
    ),
    pulp_option(
        "--coreos-boot",
        type=click.Choice(["live", "install"]),
        help=_(
            "How CoreOS trees boot: 'live' (server default) runs the live system from RAM with "
            "Ignition from --ignition-url; 'install' runs coreos-installer to write the release "
            "to --install-device, then reboots."
        ),
    ),
    pulp_option(
        "--ignition-url",
        help=_(
            "Ignition config CoreOS machines apply (ignition.config.url, or "
            "coreos.inst.ignition_url for an install): http(s), tftp, s3 or gs; '' removes it."
        ),
    ),
    pulp_option(
        "--install-device",
        help=_(
            "Disk coreos-installer writes to with --coreos-boot install, e.g. /dev/sda or "
            "/dev/disk/by-id/...; '' removes it."
        ),
    ),
    pulp_option(
        "--graph-payload-repository",
        help=_(
            "Registry repository (host[:port]/path, e.g. mirror.example.com/fedora/fedora-coreos) "
            "the update graph's OCI payloads name instead of upstream's; '' keeps upstream's."
        ),
    ),
    pulp_option(
        "--bootc-image",
        help=_(
            "Bootable container image each Anaconda tree's bootc.ks installs: "
            "host[:port]/path[:tag][@sha256:...] (--bootc-transport registry) or the absolute "
            "path of an OCI layout on the install media (oci); '' removes it and bootc.ks."
        ),
    ),
    pulp_option(
        "--bootc-transport",
        type=click.Choice(["registry", "oci"]),
        help=_("How the installer reaches --bootc-image: a registry (server default) or oci."),
    ),
    pulp_option(
        "--bootc-verify-signature/--no-bootc-verify-signature",
        default=None,
        help=_("Whether the image's signature must verify (server default: it must)."),
    ),
    pulp_option(
        "--bootc-kickstart/--no-bootc-kickstart",
        default=None,
        help=_(
            "Whether boot configs pass inst.ks=<tree>/bootc.ks (which %includes "
            "--kickstart-url) instead of inst.ks=<kickstart-url>; needs --bootc-image."
        ),
    ),
    content_guard_option,
    pulp_labels_option,
]

distribution.add_command(list_command(decorators=distribution_filter_options))
distribution.add_command(show_command(decorators=lookup_options))
distribution.add_command(
    create_command(decorators=common_distribution_create_options + update_options)
)
distribution.add_command(
    update_command(decorators=lookup_options + update_options + [click.option("--base-path")])
)
distribution.add_command(destroy_command(decorators=lookup_options))
distribution.add_command(label_command(decorators=[distribution_lookup_option]))
distribution.add_command(role_command(decorators=lookup_options))


@distribution.command()
@href_option
@name_option
@distribution_lookup_option
@pass_entity_context
@pass_pulp_context
def urls(pulp_ctx: PulpCLIContext, distribution_ctx: PulpKickstartDistributionContext, /) -> None:
    """For each tree: its URL, the boot.ipxe, grub.cfg and pxelinux.cfg/default URLs, and
    bootc.ks's (null without a bootc image)."""
    index = distribution_ctx.trees_index()
    pulp_ctx.output_result(
        [
            {
                "version": tree["version"],
                "arch": tree["arch"],
                "tree": tree["url"],
                "treeinfo": tree["treeinfo"],
                "kernel": next((f["url"] for f in tree["files"] if f["role"] == "kernel"), None),
                "initrd": next((f["url"] for f in tree["files"] if f["role"] == "initrd"), None),
                "ipxe": tree["boot"].get("ipxe"),
                "grub": tree["boot"].get("grub"),
                "pxelinux": tree["boot"].get("pxelinux"),
                "bootc": tree.get("bootc"),
            }
            for tree in index["trees"]
        ]
    )


@distribution.command()
@href_option
@name_option
@distribution_lookup_option
@click.option(
    "--path",
    required=True,
    help=_(
        "Absolute directory on the Pulp server, inside ALLOWED_EXPORT_PATHS. It becomes the "
        "distribution's export directory and receives <version>/<arch>/<file> and the generated "
        "configs; a re-export removes only what the previous export there wrote."
    ),
)
@click.option(
    "--origin",
    help=_(
        "http(s) origin the exported configs point at (default: the distribution's boot origin); "
        "serve the export at <origin>/pulp/content/<base_path>/."
    ),
)
@click.option(
    "--boot-files",
    type=click.Choice(["http", "tftp"]),
    help=_(
        "How pxelinux.cfg/default and the GRUB configs fetch kernel and initrd: http (default) "
        "from the origin, or tftp from the export directory served as the TFTP root. "
        "inst.stage2 stays HTTP."
    ),
)
@click.option(
    "--layout",
    type=click.Choice(["pulp", "foreman"]),
    help=_(
        "pulp (default), or foreman (with --boot-files tftp): also boot/<os>-<version>-<arch>-"
        "vmlinuz and -initrd.img and bootloader-universe/pxegrub2/<os>/<version>/<arch>/."
    ),
)
@pass_entity_context
@pass_pulp_context
def export(
    pulp_ctx: PulpCLIContext,
    distribution_ctx: PulpKickstartDistributionContext,
    /,
    path: str,
    origin: str | None,
    boot_files: str | None,
    layout: str | None,
) -> None:
    """Export the served trees with their boot configs to a directory, for nginx or TFTP."""
    pulp_ctx.output_result(distribution_ctx.export(path, origin, boot_files, layout))
