"""Architecture names: OCI/Go names upstream, Fedora names in trees."""

OCI_TO_FEDORA = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "386": "i386",
    "riscv64": "riscv64",
}
FEDORA_TO_OCI = {fedora: oci for oci, fedora in OCI_TO_FEDORA.items()}


class UnknownArchitecture(ValueError):
    pass


def to_oci(name):
    """Return the OCI name for an OCI or Fedora architecture name."""
    if name in OCI_TO_FEDORA:
        return name
    if name in FEDORA_TO_OCI:
        return FEDORA_TO_OCI[name]
    raise UnknownArchitecture(name)


def to_fedora(name):
    """Return the Fedora name for an OCI or Fedora architecture name."""
    return OCI_TO_FEDORA[to_oci(name)]


def oci_name(name):
    """The OCI name when the name is known (either naming), else the name as given."""
    return to_oci(name) if name in OCI_TO_FEDORA or name in FEDORA_TO_OCI else name


def fedora_name(name):
    """The Fedora name when the name is known (either naming), else the name as given."""
    return to_fedora(name) if name in OCI_TO_FEDORA or name in FEDORA_TO_OCI else name


def known_names():
    return sorted(set(OCI_TO_FEDORA) | set(FEDORA_TO_OCI))
