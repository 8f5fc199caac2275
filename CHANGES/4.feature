Added the kickstart dnf remote (`/pulp/api/v3/remotes/kickstart/dnf/`): a sync reads a dnf
tree's `.treeinfo` (tolerating legacy and variant-less files), downloads its images checked
against `[checksums]`, finds the newest shim, GRUB and syslinux packages by streaming the primary
metadata, verifies RPM signatures against `gpg_keys`, and unpacks the bootloaders from gzip, xz
or zstd payloads in both the `/boot/efi` and the Fedora 44 `/usr/lib/efi` layouts. Each file
records the package and RPM checksum it came from; dnf and OCI trees share one repository and
one replacement rule.
