"""Find packages in repodata without holding the package list in memory.

Fedora Everything's primary metadata lists about 70,000 packages; it is parsed
with createrepo_c's callback parser, which hands over one package at a time,
and only the newest build of each wanted name is kept.
"""

from dataclasses import dataclass
from gettext import gettext as _

import createrepo_c
import rpm_rs

from .errors import DnfError


def compare_evr(a, b):
    """Order two (epoch, version, release) triples as RPM does: -1, 0 or 1.

    The newest build of a boot package is the one dnf would install, so the
    order is rpm-rs's ``Evr`` (rpmvercmp, as pulp_rpm uses it): "~" sorts before
    anything, "^" after the base version, digits by value, letters before digits.
    """
    left, right = _evr(a), _evr(b)
    return (left > right) - (left < right)


def _evr(triple):
    epoch, version, release = triple
    return rpm_rs.Evr(str(int(epoch or 0)), version or "", release or "")


@dataclass(frozen=True)
class PackageRef:
    """A package chosen from the primary metadata: what to download and how to check it."""

    name: str
    epoch: str
    version: str
    release: str
    arch: str
    location: str
    checksum_type: str
    checksum: str
    size: int

    @property
    def nevra(self):
        """name-[epoch:]version-release.arch, as dnf prints it (epoch 0 left out)."""
        epoch = f"{self.epoch}:" if self.epoch not in ("", "0", None) else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def evr(self):
        """The (epoch, version, release) triple ``compare_evr`` orders."""
        return (self.epoch or "0", self.version, self.release)


def primary_location(repomd_path, where):
    """The href of the primary metadata named by repomd.xml, and its checksum.

    repomd.xml is the repository's index; the primary metadata it names lists the packages.
    """
    try:
        repomd = createrepo_c.Repomd(repomd_path)
    except Exception as exc:  # createrepo_c raises its own error type
        raise DnfError(
            _("{where}: repodata/repomd.xml cannot be parsed: {problem}").format(
                where=where, problem=exc
            )
        ) from None
    for record in repomd.records:
        if record.type == "primary":
            return record.location_href, record.checksum_type, record.checksum
    raise DnfError(_("{where}: repodata/repomd.xml lists no primary metadata").format(where=where))


def newest_packages(primary_path, names, arches, where):
    """For each wanted name, the newest package of an acceptable arch (by RPM version order).

    Streams the primary metadata and keeps one ``PackageRef`` per name, so memory
    does not grow with the size of the repository.
    """
    wanted = set(names)
    best = {}

    def keep(package):
        if package.name in wanted and package.arch in arches:
            ref = PackageRef(
                name=package.name,
                epoch=package.epoch or "0",
                version=package.version,
                release=package.release,
                arch=package.arch,
                location=package.location_href,
                checksum_type=package.checksum_type,
                checksum=package.pkgId,
                size=package.size_package,
            )
            current = best.get(package.name)
            if current is None or compare_evr(ref.evr, current.evr) > 0:
                best[package.name] = ref
        return True  # keep parsing; the package object is dropped

    try:
        createrepo_c.xml_parse_primary(primary_path, pkgcb=keep, do_files=False)
    except Exception as exc:
        raise DnfError(
            _("{where}: the primary metadata cannot be parsed: {problem}").format(
                where=where, problem=exc
            )
        ) from None
    return best
