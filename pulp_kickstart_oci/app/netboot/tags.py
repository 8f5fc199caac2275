"""Which upstream tags name trees, and what release and architecture a tag names.

Upstream tags are ``N`` (an index over architectures) and ``N-ARCH`` (one
architecture's manifest). Remote filters are shell-style globs.
"""

import fnmatch
import re

from . import arch

# The default selection: a release number (``42``, ``9.4``) optionally followed by a known arch.
_RELEASE = re.compile(r"^[0-9]+(\.[0-9]+)*$")


def select(tags, include=None, exclude=None):
    """Tags to sync, in upstream order: included by a glob (default N / N-ARCH), not excluded."""
    chosen = []
    for tag in tags:
        if include:
            if not any(fnmatch.fnmatchcase(tag, pattern) for pattern in include):
                continue
        elif not _is_release_tag(tag):
            continue
        if exclude and any(fnmatch.fnmatchcase(tag, pattern) for pattern in exclude):
            continue
        chosen.append(tag)
    return chosen


def _is_release_tag(tag):
    release, oci_arch = split(tag)
    return bool(_RELEASE.match(release)) and (oci_arch is not None or release == tag)


def split(tag):
    """Return (release, OCI arch or None) for a tag: ``42-amd64`` -> ("42", "amd64")."""
    release, sep, suffix = tag.rpartition("-")
    if sep and release:
        try:
            return release, arch.to_oci(suffix)
        except arch.UnknownArchitecture:
            pass
    return tag, None
