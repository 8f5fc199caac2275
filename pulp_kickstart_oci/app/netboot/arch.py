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
    """Raised for a name in neither naming, so callers can fall back to the name as given."""


def to_oci(name):
    """Normalise either naming to the OCI name registries use in platforms and tags."""
    if name in OCI_TO_FEDORA:
        return name
    if name in FEDORA_TO_OCI:
        return FEDORA_TO_OCI[name]
    raise UnknownArchitecture(name)


def to_fedora(name):
    """Normalise either naming to the Fedora name trees, paths and .treeinfo use."""
    return OCI_TO_FEDORA[to_oci(name)]


def oci_name(name):
    """Lenient to_oci for upstream values: an unknown name passes through for a grammar check."""
    return to_oci(name) if name in OCI_TO_FEDORA or name in FEDORA_TO_OCI else name


def fedora_name(name):
    """Lenient to_fedora for upstream values: an unknown name passes through unchanged."""
    return to_fedora(name) if name in OCI_TO_FEDORA or name in FEDORA_TO_OCI else name


def known_names():
    """Every accepted name in either naming, sorted: for validation and help texts."""
    return sorted(set(OCI_TO_FEDORA) | set(FEDORA_TO_OCI))
