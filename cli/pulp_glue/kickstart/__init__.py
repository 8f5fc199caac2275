"""pulp-glue contexts for the pulp_kickstart_oci Pulp plugin (no click, no output)."""
