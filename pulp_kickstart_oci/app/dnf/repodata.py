"""Find packages in repodata without holding the package list in memory.

Fedora Everything's primary metadata lists about 70,000 packages; it is parsed
with createrepo_c's callback parser, which hands over one package at a time,
and only the newest build of each wanted name is kept.
"""

import re
from dataclasses import dataclass

import createrepo_c

from .errors import DnfError

_SEGMENT = re.compile(r"~|\^|[0-9]+|[A-Za-z]+")


def compare_versions(a, b):
    """RPM's version order: numeric runs by value, letters before numbers, ~ before all, ^ after."""
    if a == b:
        return 0
    left, right = _SEGMENT.findall(a), _SEGMENT.findall(b)
    for x, y in zip(left, right, strict=False):
        if x == y:
            continue
        for marker, sign in (("~", -1), ("^", 1)):
            if x == marker or y == marker:
                return sign if x == marker else -sign
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        if x.isdigit():
            x, y = int(x), int(y)
        return 1 if x > y else -1
    rest_left, rest_right = left[len(right) :], right[len(left) :]
    if rest_left:
        return -1 if rest_left[0] == "~" else 1
    if rest_right:
        return 1 if rest_right[0] == "~" else -1
    return 0


def compare_evr(a, b):
    """Compare (epoch, version, release) triples the way RPM does."""
    epoch_a, epoch_b = int(a[0] or 0), int(b[0] or 0)
    if epoch_a != epoch_b:
        return 1 if epoch_a > epoch_b else -1
    return compare_versions(a[1], b[1]) or compare_versions(a[2], b[2])


@dataclass(frozen=True)
class PackageRef:
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
        epoch = f"{self.epoch}:" if self.epoch not in ("", "0", None) else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def evr(self):
        return (self.epoch or "0", self.version, self.release)


def primary_location(repomd_path, where):
    """The href of the primary metadata named by repomd.xml, and its checksum."""
    try:
        repomd = createrepo_c.Repomd(repomd_path)
    except Exception as exc:  # createrepo_c raises its own error type
        raise DnfError(f"{where}: repodata/repomd.xml cannot be parsed: {exc}") from None
    for record in repomd.records:
        if record.type == "primary":
            return record.location_href, record.checksum_type, record.checksum
    raise DnfError(f"{where}: repodata/repomd.xml lists no primary metadata")


def newest_packages(primary_path, names, arches, where):
    """For each wanted name, the newest package of an acceptable arch (by RPM version order)."""
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
        raise DnfError(f"{where}: the primary metadata cannot be parsed: {exc}") from None
    return best
