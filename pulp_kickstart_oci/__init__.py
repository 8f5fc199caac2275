default_app_config = "pulp_kickstart_oci.app.PulpKickstartOciPluginAppConfig"
