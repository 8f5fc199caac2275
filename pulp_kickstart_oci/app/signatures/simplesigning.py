"""The "simple signing" payload: the JSON both cosign and containers/image sign.

A payload names what was signed (``critical.image.docker-manifest-digest``) and
under which name (``critical.identity.docker-reference``). cosign writes it as a
layer of a ``sha256-<hex>.sig`` manifest (``critical.type`` "cosign container
image signature"); ``skopeo copy --sign-by`` wraps it in an OpenPGP signed
message ("atomic container signature"). It is read strictly, like
containers/image does: unknown fields, wrong types or a malformed digest are
refused, since a lenient reader is where a forged claim slips through.
"""

import json
import re
from dataclasses import dataclass
from gettext import gettext as _
from urllib.parse import urlsplit

from .errors import SignatureError

COSIGN_TYPE = "cosign container image signature"
ATOMIC_TYPE = "atomic container signature"
TYPES = (COSIGN_TYPE, ATOMIC_TYPE)
MAX_PAYLOAD_BYTES = 256 * 1024
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

# The docker/distribution reference grammar, written out for a full match.
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REF_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")
_DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")
_MAX_NAME = 255


@dataclass(frozen=True)
class Payload:
    """What a simple-signing payload claims: which manifest, under which name, by which tool."""

    type: str
    manifest_digest: str
    reference: str
    optional: dict | None = None


def _no_duplicates(pairs):
    document = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(_("the field {key!r} appears twice").format(key=key))
        document[key] = value
    return document


def _object(value, what, fields):
    if not isinstance(value, dict):
        raise SignatureError(_("signature payload: {what} is not a JSON object").format(what=what))
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise SignatureError(
            _("signature payload: {what} has unknown fields: {fields}").format(
                what=what, fields=", ".join(unknown)
            )
        )
    return value


def _string(container, name, what):
    value = container.get(name)
    if not isinstance(value, str):
        raise SignatureError(
            _("signature payload: {what} is missing or not a string").format(what=what)
        )
    return value


def parse_payload(data, *, max_bytes=MAX_PAYLOAD_BYTES, types=TYPES):
    """Read a simple-signing payload (bytes) into a ``Payload``, strictly.

    Refuses more than ``max_bytes``, anything but a JSON object of ``critical``
    and an optional ``optional`` (an object or null), unknown fields in
    ``critical``, a ``critical.type`` not in ``types``, and a digest other than
    ``sha256:<64 lower-case hex>``. Raises ``SignatureError`` saying which field.
    """
    if len(data) > max_bytes:
        raise SignatureError(
            _("signature payload: {size} bytes is more than the limit of {limit}").format(
                size=len(data), limit=max_bytes
            )
        )
    try:
        document = json.loads(data, object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SignatureError(
            _("signature payload: not valid JSON: {problem}").format(problem=exc)
        ) from None
    _object(document, _("the payload"), ("critical", "optional"))
    critical = _object(document.get("critical"), "critical", ("type", "image", "identity"))
    kind = _string(critical, "type", "critical.type")
    if kind not in types:
        raise SignatureError(
            _("signature payload: critical.type {kind!r} is not one of {types}").format(
                kind=kind, types=", ".join(repr(t) for t in types)
            )
        )
    image = _object(critical.get("image"), "critical.image", ("docker-manifest-digest",))
    digest = _string(image, "docker-manifest-digest", "critical.image.docker-manifest-digest")
    if not DIGEST.fullmatch(digest):
        raise SignatureError(
            _(
                "signature payload: critical.image.docker-manifest-digest {digest!r} "
                "is not sha256:<64 lower-case hex digits>"
            ).format(digest=digest)
        )
    identity = _object(critical.get("identity"), "critical.identity", ("docker-reference",))
    reference = _string(identity, "docker-reference", "critical.identity.docker-reference")
    optional = document.get("optional")
    if optional is not None and not isinstance(optional, dict):
        raise SignatureError(_("signature payload: optional is not a JSON object or null"))
    return Payload(kind, digest, reference, optional)


def repository_of(reference):
    """The repository a docker reference names: ``host[:port]/path``, tag and digest removed.

    Normalised as docker does (``fedora`` is ``docker.io/library/fedora``; the host
    is compared in lower case), so that two spellings of one repository compare
    equal. Raises ``SignatureError`` if the reference is not a valid one.
    """

    def invalid():
        return SignatureError(
            _("{reference!r} is not a valid image reference").format(reference=reference)
        )

    if not isinstance(reference, str) or not reference:
        raise invalid()
    rest = reference
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _REF_DIGEST.fullmatch(digest):
            raise invalid()
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise invalid()
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first.lower(), remainder
    else:
        domain, path = _DOCKER_HUB, rest
    if not _DOMAIN.fullmatch(domain) or not _PATH.fullmatch(path):
        raise invalid()
    if domain in _DOCKER_HUB_ALIASES:
        domain = _DOCKER_HUB
    if domain == _DOCKER_HUB and "/" not in path:
        path = "library/" + path
    if len(path) > _MAX_NAME:
        raise invalid()
    return "{domain}/{path}".format(domain=domain, path=path)


def remote_repository(url, upstream_name):
    """The repository a remote syncs, in the form ``repository_of`` gives.

    What a signature's ``docker-reference`` must name. The scheme's default port
    is dropped (``https://quay.io:443`` is ``quay.io``), as is any user info.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise SignatureError(_("{url!r} has no host").format(url=url))
    if ":" in host:
        host = "[{host}]".format(host=host)
    port = parts.port
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if port and port != default:
        host = "{host}:{port}".format(host=host, port=port)
    return repository_of("{host}/{name}".format(host=host, name=upstream_name.strip("/")))


def check_payload(payload, digest, repository, *, match_identity=True):
    """Raise ``SignatureError`` unless a verified payload is about this manifest in this repository.

    ``digest`` is the manifest (or index) digest the sync holds. ``repository`` is
    what ``remote_repository`` gives; the payload's ``docker-reference`` must name
    exactly that repository, any tag or digest aside (containers/image's
    "matchRepository"). With ``match_identity=False`` the name is not compared
    (an admin who mirrors signed content under another name).
    """
    if payload.manifest_digest != digest:
        raise SignatureError(
            _("the signature is for manifest {signed}, not {digest}").format(
                signed=payload.manifest_digest, digest=digest
            )
        )
    try:
        # Checked even when not compared: the reference is stored and shown in trees.json.
        signed = repository_of(payload.reference)
    except SignatureError:
        raise SignatureError(
            _("the signature's docker-reference {reference!r} is not a valid reference").format(
                reference=payload.reference
            )
        ) from None
    if not match_identity:
        return
    if signed != repository_of(repository):
        raise SignatureError(
            _("the signature names {signed!r}, not this remote's repository {expected!r}").format(
                signed=payload.reference, expected=repository
            )
        )
