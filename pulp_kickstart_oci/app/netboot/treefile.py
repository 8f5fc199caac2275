"""A file of a tree: one record from upstream, through a sync, to what the API shows.

A source builds TreeFiles from its native form (an OCI layer, a ``.treeinfo``
image, a member of an RPM); the pipeline declares their artifacts; the tree
keeps ``record()`` of each in ``KickstartTree.files``; a stored tree gives
them back with ``from_record``. Nothing else describes a file.
"""

from dataclasses import dataclass, fields, replace

# What a stored tree keeps of each file, in this order; the rest is sync-time only.
RECORD_FIELDS = ("name", "path", "role", "size", "sha256", "media_type")
PROVENANCE_FIELDS = ("package", "rpm_sha256", "source_path")


@dataclass
class TreeFile:
    """One file of a tree: where it is served, what it is, and where its bytes are now."""

    name: str  # the upstream name: an OCI layer title, an image or RPM member file name
    path: str  # where the tree serves it, relative to the tree root
    role: str  # what it is for (netboot.layout roles)
    sha256: str | None  # hex; None until known (a .treeinfo image without sha256)
    size: int | None  # None until known (learnt by HEAD or by the download)
    media_type: str = ""
    # Provenance, for files a dnf tree takes out of packages or off the tree.
    package: str | None = None  # NEVRA of the RPM it came from
    rpm_sha256: str | None = None
    source_path: str | None = None  # its path in the upstream tree or in the RPM
    # Where the bytes are during a sync: at most one matters, in this order.
    artifact: object = None  # an Artifact Pulp already stores
    local_path: str | None = None  # on this worker's disk, e.g. unpacked from an RPM
    url: str | None = None  # upstream, fetched now (immediate) or by the content app later

    @property
    def digest(self):
        """The OCI form of the checksum, as registries address blobs."""
        return f"sha256:{self.sha256}"

    def record(self):
        """What the tree stores and the API shows: the served file and its provenance."""
        described = {name: getattr(self, name) for name in RECORD_FIELDS}
        described.update(
            {name: getattr(self, name) for name in PROVENANCE_FIELDS if getattr(self, name)}
        )
        return described

    @classmethod
    def from_record(cls, record, **located):
        """A stored tree's file again, with where its bytes are now (``artifact``, ``url``)."""
        known = {f.name for f in fields(cls)}
        values = {name: record.get(name) for name in RECORD_FIELDS + PROVENANCE_FIELDS}
        values["media_type"] = values["media_type"] or ""
        values.update({name: value for name, value in located.items() if name in known})
        return cls(**values)

    def located(self, **where):
        """The same file with its bytes somewhere else (a URL, a local file, an artifact)."""
        return replace(self, **where)
