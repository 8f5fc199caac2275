from pulpcore.plugin import PulpPluginAppConfig


class PulpKickstartOciPluginAppConfig(PulpPluginAppConfig):
    """Entry point of the pulp_kickstart_oci plugin (Django app label ``kickstart``)."""

    name = "pulp_kickstart_oci.app"
    label = "kickstart"
    version = "0.1.0.dev0"
    python_package_name = "pulp-kickstart-oci"
    domain_compatible = True

    def ready(self):
        super().ready()
        from . import archive_bytes  # noqa: F401  (registers the mark of an import's artifacts)
