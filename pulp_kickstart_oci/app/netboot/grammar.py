"""The strict grammars upstream values must match before Pulp stores them.

Releases, architectures, tags, tree paths and release names end up inside
generated boot scripts (iPXE, GRUB, PXELINUX), .treeinfo and URLs. Each is
checked here where it enters a sync, with ``fullmatch`` so that no newline or
trailing text slips past an anchor; the renderers check again before writing.
"""

import re
from gettext import gettext as _

# OCI distribution spec tag grammar.
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
# First segments the served layout takes for itself, below a distribution's base path: the
# alias directories (latest/<arch>/, coreos/<stream>/<arch>/), the update graph (v1/graph)
# and the root documents (documents/, whose root kinds must each be listed here). A release
# named like one, in any case (an export may land on a case-insensitive filesystem), would
# be shadowed or clash in an export, so no release is.
LATEST = "latest"
COREOS_ALIAS = "coreos"
GRAPH_PREFIX = "v1"
ROOT_DOCUMENTS = ("trees.json", "boot.ipxe")
RESERVED_RELEASES = (LATEST, COREOS_ALIAS, GRAPH_PREFIX, *ROOT_DOCUMENTS)
# 42, 9.4, 42-beta, rawhide: a subset of the tag grammar, never a reserved segment.
_RESERVED = "|".join(re.escape(name) for name in RESERVED_RELEASES)
RELEASE = re.compile(rf"(?!(?i:{_RESERVED})$)[A-Za-z0-9][A-Za-z0-9._-]{{0,63}}")
ARCH = re.compile(r"[a-z0-9_]{1,32}")
# One segment of a path inside a tree: no spaces, quotes, shell or script syntax;
# a leading dot only before another character, so never "." or "..".
_SEGMENT = r"[A-Za-z0-9_+~-][A-Za-z0-9._+~-]{0,254}|\.[A-Za-z0-9_+~-][A-Za-z0-9._+~-]{0,253}"
PATH = re.compile(rf"(?:{_SEGMENT})(?:/(?:{_SEGMENT})){{0,15}}")
# A release family as .treeinfo names it: "Fedora", "Fedora Linux", "CentOS Stream".
FAMILY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._+-]{0,62}[A-Za-z0-9.+]|[A-Za-z0-9]")
# A distribution base path: segments of URL-safe characters.
BASE_PATH = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*")
# A content digest Pulp can check: sha256 in lower-case hex (a manifest, a layer, a referrer).
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A file's sha256 as a tree keeps it: 64 lower-case hex digits.
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# The key a verification names: sha256:<hex> of a PEM key, or an OpenPGP fingerprint (v4: 40,
# v6: 64 upper-case hex digits); a dnf tree's 'rpm' check names its keyring, fingerprints
# joined by commas.
_KEY_ID = r"sha256:[0-9a-f]{64}|[0-9A-F]{40}|[0-9A-F]{64}"
SIGNATURE_KEY = re.compile(rf"(?:{_KEY_ID})(?:,(?:{_KEY_ID})){{0,63}}")
# What a publisher signed (a docker-reference) or a dnf tree's URL: URL characters only,
# no space, quote or control character.
REFERENCE = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$&()*+,;=%-]{1,2048}")
# A media type: RFC 6838 type/subtype (a +suffix included).
MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)

_MAX_PATH = 1024
_NAMES = {
    TAG: _("a tag ({pattern})").format(pattern="[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"),
    RELEASE: _("a release ({pattern}, not {reserved})").format(
        pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}", reserved=", ".join(RESERVED_RELEASES)
    ),
    ARCH: _("an architecture ({pattern})").format(pattern="[a-z0-9_]{1,32}"),
    PATH: _("a relative path of plain segments (letters, digits, . _ + ~ -)"),
    FAMILY: _("a release name (letters, digits, spaces and . _ + -)"),
    BASE_PATH: _("a base path of URL-safe segments (letters, digits, . _ ~ -)"),
    DIGEST: _("a sha256 digest (sha256:<64 lower-case hex digits>)"),
    SHA256_HEX: _("a sha256 (64 lower-case hex digits)"),
    SIGNATURE_KEY: _(
        "a key id (sha256:<hex> or an OpenPGP fingerprint; a keyring: ids joined by ',')"
    ),
    REFERENCE: _("a reference of URL characters (no space, quote or control character)"),
    MEDIA_TYPE: _("a media type (type/subtype)"),
}


class GrammarError(ValueError):
    """An upstream value that does not match its grammar; the message names it."""


def matches(pattern, value):
    """Test a value against a grammar without raising, e.g. to skip bad upstream tags.

    The whole value must match (``fullmatch``), so no newline or suffix slips through.
    """
    if not isinstance(value, str):
        return False
    if pattern is PATH and len(value) > _MAX_PATH:
        return False
    return pattern.fullmatch(value) is not None


def check(pattern, value, what):
    """Guard a value where it enters: return it if it matches, else raise GrammarError.

    The message names ``what`` (e.g. "release"), the value and the expected grammar.
    """
    if not matches(pattern, value):
        raise GrammarError(
            _("{what} {value!r} is not {grammar}").format(
                what=what, value=value, grammar=_NAMES[pattern]
            )
        )
    return value


def tree_path(value, what):
    """Guard a path inside a tree before it is stored or written into a URL or script.

    Relative, plain segments, never '.', '..' or something read as an argument.
    """
    return check(PATH, value, what)


def plain_tree(tree):
    """True when a stored tree's release, arch and every file path match their grammars.

    The renderers' second wall: whatever reached the database, a tree that
    fails this gets no boot config and no .treeinfo.
    """
    return (
        matches(RELEASE, tree.version)
        and matches(ARCH, tree.arch)
        and all(matches(PATH, item["path"]) for item in tree.files)
    )
