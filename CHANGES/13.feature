Kickstart distributions can be exported to a directory for nginx, dnsmasq TFTP or Foreman's
smart-proxy TFTP: `POST <distribution>/export/` with `path` (inside `ALLOWED_EXPORT_PATHS`) and
an optional `origin` the generated configs point at, or `pulp kickstart distribution export
--name NAME --path DIR [--origin URL]`. Files are hard links to the artifacts where the
filesystem allows, copies otherwise; generated documents are rendered for the origin; every file
is replaced atomically; a re-export removes what the served version no longer holds. Files not
downloaded yet (on_demand) fail the export. Needs the distribution's change permission.
See docs/serving.md.
