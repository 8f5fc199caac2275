"""Read netboot OCI artifacts: the per-release image index and per-arch manifests.

The format is the one published by Fedora's kickstart-artifacts pipeline (see
docs/sync-from-registry.md). Parsing is strict where a mistake would put a wrong file
in a tree (titles, digests) and lenient, with a warning, where older upstream
pushes simply lack newer metadata.
"""

import json
from dataclasses import dataclass, field
from gettext import gettext as _

from . import grammar, layout, stored
from .treefile import TreeFile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)

NETBOOT_ARTIFACT_TYPE = "application/vnd.org.pulpproject.netboot.artifact.v1"
NETBOOT_FILE = "application/x-netboot-file"
NETBOOT_VERSION = "org.pulpproject.netboot.version"
TITLE = "org.opencontainers.image.title"
# Annotations of the March 2024 draft, used only as hints.
DRAFT_OS_VERSION = "org.pulpproject.netboot.os.version"
DRAFT_OS_ARCH = "org.pulpproject.netboot.os.arch"

_CONTAINER_CONFIGS = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)
_CONTAINER_LAYER_PREFIXES = (
    "application/vnd.oci.image.layer.",
    "application/vnd.docker.image.rootfs.",
)


class InvalidArtifact(ValueError):
    """An index or manifest that cannot become a tree; the message says why."""


@dataclass
class NetbootManifest:
    """A parsed per-arch manifest: what a sync needs to plan one tree, plus warnings."""

    digest: str
    media_type: str
    artifact_type: str
    annotations: dict
    files: list
    warnings: list = field(default_factory=list)


@dataclass(frozen=True)
class IndexEntry:
    """One architecture's manifest named by an image index, for a sync to fetch next."""

    digest: str
    size: int
    oci_arch: str
    os_version: str
    annotations: dict


def _load(raw, what):
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidArtifact(
            _("{what} is not valid JSON: {error}").format(what=what, error=exc)
        ) from None
    if not isinstance(document, dict):
        raise InvalidArtifact(_("{what} is not a JSON object").format(what=what))
    return document


def _list(document, key, what):
    """``document[key]`` when it is a JSON array; absent or null is an empty one."""
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArtifact(_("{what}: {key} is not a JSON array").format(what=what, key=key))
    return value


def _annotations(document, what):
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()
    ):
        raise InvalidArtifact(_("{what} has malformed annotations").format(what=what))
    return annotations


def _descriptor(descriptor, what):
    if not isinstance(descriptor, dict):
        raise InvalidArtifact(_("{what} is not a descriptor object").format(what=what))
    digest = descriptor.get("digest")
    size = descriptor.get("size")
    if not grammar.matches(grammar.DIGEST, digest):
        raise InvalidArtifact(
            _("{what} has digest {digest!r}; only sha256 digests are supported").format(
                what=what, digest=digest
            )
        )
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidArtifact(_("{what} has an invalid size {size!r}").format(what=what, size=size))
    return digest, size


def media_type_of(raw, content_type=None):
    """Decide whether a registry response is an index or a manifest.

    The body's own mediaType wins; the Content-Type header is the fallback.
    """
    try:
        declared = json.loads(raw).get("mediaType")
    except (ValueError, AttributeError, UnicodeDecodeError, RecursionError):
        declared = None
    if declared and isinstance(declared, str):
        return declared
    return (content_type or "").split(";")[0].strip()


def parse_index(raw, digest):
    """Find the per-architecture manifests a multi-arch tag (``N``) points at.

    Returns (entries, the index's annotations); nested indexes, foreign payloads
    and attestations (platform "unknown") are skipped.
    """
    what = _("index {digest}").format(digest=digest)
    document = _load(raw, what)
    entries = []
    entry_template = _("{what} entry {position}")  # once: gettext looks up catalogs per call
    for position, entry in enumerate(_list(document, "manifests", what)):
        entry_what = entry_template.format(what=what, position=position)
        entry_digest, size = _descriptor(entry, entry_what)
        if entry.get("mediaType") not in MANIFEST_TYPES:
            # Nested indexes and foreign payloads are not trees.
            continue
        platform = entry.get("platform") or {}
        oci_arch = platform.get("architecture") if isinstance(platform, dict) else None
        if not oci_arch or oci_arch == "unknown":
            # Attestations and signatures carry an "unknown" platform.
            continue
        entries.append(
            IndexEntry(
                digest=entry_digest,
                size=size,
                oci_arch=str(oci_arch),
                os_version=str(platform.get("os.version") or ""),
                annotations=_annotations(entry, entry_what),
            )
        )
    return entries, _annotations(document, what)


def _is_container_image(document):
    config = document.get("config") or {}
    if isinstance(config, dict) and config.get("mediaType") in _CONTAINER_CONFIGS:
        return True
    layers = document.get("layers")
    return any(
        isinstance(layer, dict)
        and str(layer.get("mediaType", "")).startswith(_CONTAINER_LAYER_PREFIXES)
        for layer in (layers if isinstance(layers, list) else [])
    )


def parse_manifest(raw, digest):
    """Turn a netboot image manifest into its tree files.

    Raises InvalidArtifact for anything that must not be stored: a container
    image, a layer title that is not a safe relative path, a title used twice
    for different blobs, a digest that is not sha256, or compressed draft layers.
    """
    what = _("manifest {digest}").format(digest=digest)
    document = _load(raw, what)
    media_type = document.get("mediaType") or OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise InvalidArtifact(
            _("{what} has media type {media_type!r}, not an image manifest").format(
                what=what, media_type=media_type
            )
        )
    warnings = []
    config = document.get("config") if isinstance(document.get("config"), dict) else {}
    artifact_type = document.get("artifactType") or ""
    if not artifact_type and config.get("mediaType") == NETBOOT_ARTIFACT_TYPE:
        artifact_type = NETBOOT_ARTIFACT_TYPE  # OCI 1.0 artifacts put the type in the config
    if artifact_type and artifact_type != NETBOOT_ARTIFACT_TYPE:
        raise InvalidArtifact(
            _("{what} has artifactType {artifact_type!r}, not a netboot artifact").format(
                what=what, artifact_type=artifact_type
            )
        )
    if not artifact_type:
        if _is_container_image(document):
            raise InvalidArtifact(
                _("{what} is a container image, not a netboot artifact").format(what=what)
            )
        warnings.append(_("{what} has no artifactType (an older upstream push)").format(what=what))
    annotations = _annotations(document, what)
    try:  # stored with the tree: what another Pulp checks them against (netboot/stored.py)
        stored.check_annotations(annotations)
    except ValueError as exc:
        raise InvalidArtifact(_("{what}: {reason}").format(what=what, reason=exc)) from None
    if NETBOOT_VERSION not in annotations:
        warnings.append(
            _("{what} lacks the {annotation} annotation").format(
                what=what, annotation=NETBOOT_VERSION
            )
        )

    files = {}
    for position, layer in enumerate(_list(document, "layers", what)):
        layer_what = _("{what} layer {position}").format(what=what, position=position)
        layer_digest, size = _descriptor(layer, layer_what)
        layer_type = str(layer.get("mediaType") or "")
        if layer_type and not grammar.matches(grammar.MEDIA_TYPE, layer_type):
            raise InvalidArtifact(
                _("{what} ({digest}) has media type {media_type!r}, not type/subtype").format(
                    what=layer_what, digest=layer_digest, media_type=layer_type[:200]
                )
            )
        if layer_type.endswith(("+zstd", "+gzip")):
            raise InvalidArtifact(
                _(
                    "{what} ({digest}) is compressed ({media_type}); "
                    "compressed draft-format layers are not supported"
                ).format(what=layer_what, digest=layer_digest, media_type=layer_type)
            )
        title = _annotations(layer, layer_what).get(TITLE)
        if title is None:
            warnings.append(
                _("{what} ({digest}) has no title and was skipped").format(
                    what=layer_what, digest=layer_digest
                )
            )
            continue
        try:
            placement = layout.place(title)
        except layout.InvalidTitle as exc:
            raise InvalidArtifact(
                _("{what} ({digest}): {reason}").format(
                    what=layer_what, digest=layer_digest, reason=exc
                )
            ) from None
        previous = files.get(placement.path)
        if previous is not None:
            if previous.digest == layer_digest:
                continue
            raise InvalidArtifact(
                _(
                    "{what}: title {title!r} ({digest}) would be stored at {path}, "
                    "which title {previous!r} ({previous_digest}) already takes"
                ).format(
                    what=layer_what,
                    title=title,
                    digest=layer_digest,
                    path=placement.path,
                    previous=previous.name,
                    previous_digest=previous.digest,
                )
            )
        files[placement.path] = TreeFile(
            name=title,
            path=placement.path,
            role=placement.role,
            sha256=layer_digest.split(":", 1)[1],
            size=size,
            media_type=layer_type or NETBOOT_FILE,
        )
    if not files:
        raise InvalidArtifact(_("{what} has no titled layers: nothing to boot").format(what=what))
    return NetbootManifest(
        digest=digest,
        media_type=media_type,
        artifact_type=artifact_type,
        annotations=annotations,
        files=list(files.values()),
        warnings=warnings,
    )
