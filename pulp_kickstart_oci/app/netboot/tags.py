"""Which upstream tags name trees, and what release and architecture a tag names.

Upstream tags are ``N`` (an index over architectures) and ``N-ARCH`` (one
architecture's manifest). Remote filters are shell-style globs.
"""

import fnmatch
import re

from . import arch

# The default selection: a release number (``42``, ``9.4``) optionally followed by an arch.
_DEFAULT = re.compile(r"^[0-9]+(\.[0-9]+)*(-[A-Za-z0-9_]+)?$")


def select(tags, include=None, exclude=None):
    """Tags to sync, in upstream order: included by a glob (default N / N-ARCH), not excluded."""
    chosen = []
    for tag in tags:
        if include:
            if not any(fnmatch.fnmatchcase(tag, pattern) for pattern in include):
                continue
        elif not _DEFAULT.match(tag):
            continue
        if exclude and any(fnmatch.fnmatchcase(tag, pattern) for pattern in exclude):
            continue
        chosen.append(tag)
    return chosen


def split(tag):
    """Return (release, OCI arch or None) for a tag: ``42-amd64`` -> ("42", "amd64")."""
    release, sep, suffix = tag.rpartition("-")
    if sep and release:
        try:
            return release, arch.to_oci(suffix)
        except arch.UnknownArchitecture:
            pass
    return tag, None
