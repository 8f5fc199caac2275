"""Which upstream tags name trees, and what release and architecture a tag names.

Upstream tags are ``N`` (an index over architectures) and ``N-ARCH`` (one
architecture's manifest). Remote filters are shell-style globs.
"""

import fnmatch
import re

from . import arch, grammar

# The default selection: a release number (``42``, ``9.4``) optionally followed by a known arch.
_RELEASE = re.compile(r"[0-9]+(\.[0-9]+)*")


def invalid(tags):
    """Upstream tags that break the OCI tag grammar: never selected, whatever the globs say."""
    return [tag for tag in tags if not grammar.matches(grammar.TAG, tag)]


def select(tags, include=None, exclude=None):
    """Tags to sync, in upstream order: included by a glob (default N / N-ARCH), not excluded.

    Only tags of the OCI tag grammar qualify, and only those whose release part
    is a valid release: a glob can widen the choice, never the grammar.
    """
    chosen = []
    for tag in tags:
        if not grammar.matches(grammar.TAG, tag):
            continue
        if not grammar.matches(grammar.RELEASE, split(tag)[0]):
            continue
        if include:
            if not any(fnmatch.fnmatchcase(tag, pattern) for pattern in include):
                continue
        elif not _is_release_tag(tag):
            continue
        if exclude and any(fnmatch.fnmatchcase(tag, pattern) for pattern in exclude):
            continue
        chosen.append(tag)
    return chosen


def is_release_number(release):
    """Whether ``release`` is a release number (``42``, ``9.4``): what a default tag names."""
    return _RELEASE.fullmatch(release) is not None


def _is_release_tag(tag):
    release, oci_arch = split(tag)
    return _RELEASE.fullmatch(release) is not None and (oci_arch is not None or release == tag)


def split(tag):
    """Read which release and architecture a tag names: ``42-amd64`` -> ("42", "amd64").

    The arch is None for an index tag (``42``) or a suffix that is no known arch (``42-beta``).
    """
    release, sep, suffix = tag.rpartition("-")
    if sep and release:
        try:
            return release, arch.to_oci(suffix)
        except arch.UnknownArchitecture:
            pass
    return tag, None
