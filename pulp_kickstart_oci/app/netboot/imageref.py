"""The grammar of a bootable container image reference (a distribution's ``bootc_image``).

The reference goes into a kickstart Anaconda parses with shell-like quoting, and from
there to skopeo/ostree/bootc, which read it by the OCI distribution reference grammar.
So it is checked here by that grammar, strictly, where it enters (the serializer) and
again before it is written (``boot/bootc.py``): nothing else (no whitespace, quote,
``$``, ``;``, non-ASCII character) can reach the kickstart.

- ``registry``: ``host[:port]/path[:tag][@sha256:<64 hex>]``. The registry host is
  required, and is one only as the container tools see one (a dot, a port, or
  ``localhost``): a short name would be resolved by the installer's registries.conf, not
  by what the administrator wrote. Path components are lower-case alphanumerics joined by
  the distribution spec's separators (``.``, ``_``, ``__``, dashes); the name (host and
  path) has at most 255 characters, as the reference grammar says.
- ``oci``: an OCI image layout on the install media, as an absolute path of plain
  segments (``/run/install/repo/bootc``), optionally ``:tag`` (its
  ``org.opencontainers.image.ref.name``).
"""

import re
from gettext import gettext as _

from . import grammar

REGISTRY = "registry"
OCI = "oci"
TRANSPORTS = (REGISTRY, OCI)

# docker/distribution reference grammar: a host is domain components joined by dots, each
# alphanumeric with inner dashes; the port is decimal.
_DOMAIN_COMPONENT = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
# The first component is a registry only when it says so (a dot, a port, or localhost), as
# the container tools read it: "fedora/bootc" would be a short name, resolved elsewhere.
_PORT = r":[0-9]{1,5}"
_HOST = (
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+|localhost)(?:{_PORT})?"
    rf"|{_DOMAIN_COMPONENT}{_PORT}"
)
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|-+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_NAME = rf"(?:{_HOST})(?:/{_PATH_COMPONENT})+"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
_DIGEST = r"sha256:[0-9a-f]{64}"
REGISTRY_REFERENCE = re.compile(
    rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?", re.ASCII
)
# An absolute path of the tree grammar's plain segments, then an optional :tag.
OCI_REFERENCE = re.compile(rf"(?P<path>/[^:]+)(?::(?P<tag>{_TAG}))?", re.ASCII)
MAX_NAME = 255
MAX_OCI_PATH = 1024
# The longest reference either transport can take (a name, ':' tag, '@' digest).
MAX_REFERENCE = MAX_OCI_PATH + 1 + 128

_GRAMMARS = {
    REGISTRY: _(
        "host[:port]/path[:tag][@sha256:<64 hex>] (lower-case path components of letters, "
        "digits and . _ __ -; a name of at most {limit} characters)"
    ).format(limit=MAX_NAME),
    OCI: _(
        "an absolute path of plain segments (letters, digits, . _ + ~ -) to an OCI layout, "
        "optionally :tag"
    ),
}


class ImageReferenceError(ValueError):
    """A bootc image reference that does not match its transport's grammar."""


def check(value, transport):
    """Return ``value`` when it is a reference of ``transport``'s grammar; raise
    ImageReferenceError naming the grammar otherwise."""
    if transport not in TRANSPORTS:
        raise ImageReferenceError(
            _("transport {transport!r} is not one of {transports}").format(
                transport=transport, transports=", ".join(TRANSPORTS)
            )
        )
    if not matches(value, transport):
        raise ImageReferenceError(
            _("{value!r} is not a {transport} image reference: {grammar}").format(
                value=value, transport=transport, grammar=_GRAMMARS[transport]
            )
        )
    return value


def _port_in_range(host):
    """A host's port, when it has one, is a TCP port (1-65535)."""
    _host, colon, port = host.rpartition(":")
    return not colon or 1 <= int(port) <= 65535


def matches(value, transport):
    """Whether ``value`` is a whole reference of ``transport``'s grammar (never raises)."""
    if not isinstance(value, str) or len(value) > MAX_REFERENCE:
        return False
    if transport == REGISTRY:
        found = REGISTRY_REFERENCE.fullmatch(value)
        return (
            found is not None
            and len(found["name"]) <= MAX_NAME
            and _port_in_range(found["name"].split("/", 1)[0])
        )
    if transport == OCI:
        found = OCI_REFERENCE.fullmatch(value)
        return (
            found is not None
            and len(found["path"]) <= MAX_OCI_PATH
            and grammar.matches(grammar.PATH, found["path"][1:])
        )
    return False
