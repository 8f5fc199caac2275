"""What a sync intends to store, whatever the source: trees and their files.

Both sources (an OCI registry, a dnf tree) resolve upstream into TreePlans;
one first stage turns plans into content, so downloads, checks, replacement
and failure handling are the same for both.
"""

import hashlib
import json
from dataclasses import dataclass, field

from ..models import KickstartTree, tree_identity


@dataclass
class PlannedFile:
    name: str
    path: str
    role: str
    sha256: str
    size: int | None
    media_type: str = ""
    url: str | None = None  # where the bytes are (download, or on-demand later)
    local_path: str | None = None  # already on disk, e.g. extracted from a package
    artifact: object = None  # an Artifact Pulp already stores
    provenance: dict = field(default_factory=dict)  # e.g. package NEVRA and RPM sha256

    def as_dict(self):
        described = {
            "name": self.name,
            "path": self.path,
            "role": self.role,
            "size": self.size,
            "sha256": self.sha256,
            "media_type": self.media_type,
        }
        described.update(self.provenance)
        return described


@dataclass
class TreePlan:
    version: str
    arch: str
    oci_arch: str
    digest: str
    source: dict
    annotations: dict
    files: list
    warnings: list = field(default_factory=list)
    tags: list = field(default_factory=list)  # upstream tags naming this tree now

    @property
    def key(self):
        return (self.version, self.arch)

    @property
    def identity(self):
        return tree_identity(
            self.version, self.arch, self.digest, [f.as_dict() for f in self.files]
        )

    def content(self):
        return KickstartTree(
            version=self.version,
            arch=self.arch,
            oci_arch=self.oci_arch,
            digest=self.digest,
            source=self.source,
            annotations=self.annotations,
            files=[item.as_dict() for item in self.files],
            warnings=list(self.warnings),
            identity=self.identity,
        )

    def owners_of(self, url):
        """Names of this tree's files fetched from ``url`` (for error messages)."""
        return [
            f"{item.name} of {self.version}/{self.arch} ({self.digest})"
            for item in self.files
            if item.url and url and item.url.split("#")[0] == url.split("#")[0]
        ]


def digest_of_sources(version, arch, sources):
    """A stable identity for a tree assembled from several upstream files.

    ``sources`` are (path, sha256) pairs of what the tree is made of; the same
    inputs give the same digest, so a re-sync finds the tree it already has.
    """
    canonical = json.dumps(
        {"version": version, "arch": arch, "sources": sorted(sources)}, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
