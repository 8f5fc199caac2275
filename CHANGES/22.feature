A repository version's trees can be pushed to a registry
(`POST .../repositories/kickstart/kickstart/<id>/push/`, `pulp kickstart repository push`)
in the netboot OCI format: an `N-ARCH` manifest per tree (titled layers a sync places at
the same paths with the same roles, dnf provenance as annotations) and an `N` index per
release. The destination is a kickstart OCI remote; blobs stream from Pulp's storage, are
skipped when the registry has them, mounted from another repository of the same registry,
and uploaded in resumable chunks. See docs/push.md.
