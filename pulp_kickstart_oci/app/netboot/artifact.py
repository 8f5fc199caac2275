"""Read netboot OCI artifacts: the per-release image index and per-arch manifests.

The format is the one published by Fedora's kickstart-artifacts pipeline (see
docs/sync-from-registry.md). Parsing is strict where a mistake would put a wrong file
in a tree (titles, digests) and lenient, with a warning, where older upstream
pushes simply lack newer metadata.
"""

import json
import re
from dataclasses import dataclass, field
from gettext import gettext as _

from . import arch as arch_names
from . import grammar, jsondoc, layout, stored, tags
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
# The March 2024 draft (docs/sync-from-registry.md, "Two generations"): layers
# compressed as ``application/x-netboot-file+<compression>`` with the uncompressed
# file's digest and size in layer annotations, the release and architecture in
# manifest annotations, and the bootloaders named by entrypoint annotations.
DRAFT_OS_NAME = "org.pulpproject.netboot.os.name"
DRAFT_OS_VERSION = "org.pulpproject.netboot.os.version"
DRAFT_OS_ARCH = "org.pulpproject.netboot.os.arch"
DRAFT_MARKS = (DRAFT_OS_NAME, DRAFT_OS_VERSION, DRAFT_OS_ARCH)
DRAFT_SRC_DIGEST = "org.pulpproject.netboot.src.digest"
DRAFT_SRC_SIZE = "org.pulpproject.netboot.src.size"
# What each entrypoint annotation names, as a role of netboot/layout.py.
DRAFT_ENTRYPOINTS = (
    ("org.pulpproject.netboot.entrypoint", layout.SHIM),
    ("org.pulpproject.netboot.altentrypoint", layout.GRUB),
    ("org.pulpproject.netboot.legacyentrypoint", layout.PXELINUX),
)
# Compressions a draft layer may have: the registry downloader inflates them while
# they stream (decompress.py), so the tree stores and serves the uncompressed file.
DRAFT_COMPRESSIONS = ("zstd",)
# oras' artifactType when none is given: what the draft's reference client pushed.
ORAS_UNKNOWN_ARTIFACT = "application/vnd.unknown.artifact.v1"
_COMPRESSION_SUFFIXES = ("+zstd", "+gzip", "+xz", "+bzip2", "+lz4", "+zst")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,15}")

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
    draft: bool = False  # written in the March 2024 draft of the format
    packed: dict = field(default_factory=dict)  # tree path -> Packed, of compressed layers

    def draft_slot(self, release, oci_arch):
        """(release, OCI arch) of a draft manifest: its os.version and os.arch stand where
        the final format has its tag's, and must agree with what the tag or index says: a
        tag naming a release number (``42``, ``42-amd64``) never stores a tree of another
        release, whatever a remote's filter; a draft under another tag (``fedora-40``) is
        the release its os.version says."""
        version = self.annotations.get(DRAFT_OS_VERSION) or release
        if not grammar.matches(grammar.RELEASE, version):
            raise InvalidArtifact(
                _("manifest {digest}: {annotation} {value!r} is not a release").format(
                    digest=self.digest, annotation=DRAFT_OS_VERSION, value=version[:80]
                )
            )
        if release and tags.is_release_number(release) and version != release:
            raise InvalidArtifact(
                _(
                    "manifest {digest}: {annotation} is {said}, but it is reached as {release}"
                ).format(
                    digest=self.digest, annotation=DRAFT_OS_VERSION, said=version, release=release
                )
            )
        said = self.annotations.get(DRAFT_OS_ARCH)
        said = arch_names.oci_name(said) if said else None
        if said and oci_arch and arch_names.oci_name(oci_arch) != said:
            raise InvalidArtifact(
                _("manifest {digest}: {annotation} is {said}, but it is reached as {arch}").format(
                    digest=self.digest, annotation=DRAFT_OS_ARCH, said=said, arch=oci_arch
                )
            )
        return version, said or oci_arch


@dataclass(frozen=True)
class Packed:
    """How a draft layer is stored upstream: compressed, as blob ``digest`` of ``size`` bytes."""

    compression: str
    digest: str
    size: int


@dataclass(frozen=True)
class IndexEntry:
    """One architecture's manifest named by an image index, for a sync to fetch next."""

    digest: str
    size: int
    oci_arch: str
    os_version: str
    annotations: dict


def _load(raw, what):
    """The JSON object of a manifest or index, read one way only (jsondoc: no key twice, no
    NaN): its bytes may be kept and pushed again, and imported or replicated elsewhere."""
    try:
        return jsondoc.load_object(raw)
    except jsondoc.NotJson as exc:
        raise InvalidArtifact(_("{what} is {problem}").format(what=what, problem=exc)) from None


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
    for different blobs, a digest that is not sha256, or a compression it does not read.
    Reads both generations of the format: a draft manifest's compressed layers become
    the uncompressed files they declare (``packed`` says how each is stored upstream).
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
    annotations = _annotations(document, what)
    draft = any(mark in annotations for mark in DRAFT_MARKS)
    if draft and artifact_type == ORAS_UNKNOWN_ARTIFACT:
        artifact_type = ""  # the draft's client pushed with oras' default
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
        if not draft:
            warnings.append(
                _("{what} has no artifactType (an older upstream push)").format(what=what)
            )
    try:  # stored with the tree: what another Pulp checks them against (netboot/stored.py)
        stored.check_annotations(annotations)
    except ValueError as exc:
        raise InvalidArtifact(_("{what}: {reason}").format(what=what, reason=exc)) from None
    if NETBOOT_VERSION not in annotations and not draft:
        warnings.append(
            _("{what} lacks the {annotation} annotation").format(
                what=what, annotation=NETBOOT_VERSION
            )
        )

    files = {}
    packings = {}
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
        layer_annotations = _annotations(layer, layer_what)
        title = layer_annotations.get(TITLE)
        titled = layer_what if title is None else f"{layer_what} {title[:200]!r}"
        packed = _packing(layer_type, layer_annotations, layer_digest, size, titled)
        served_digest, served_size = (packed[0], packed[1]) if packed else (layer_digest, size)
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
            if previous.digest == served_digest:
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
            sha256=served_digest.split(":", 1)[1],
            size=served_size,
            media_type=NETBOOT_FILE if packed else (layer_type or NETBOOT_FILE),
        )
        if packed:
            packings[placement.path] = packed[2]
    if not files:
        raise InvalidArtifact(_("{what} has no titled layers: nothing to boot").format(what=what))
    if draft:
        warnings.extend(_entrypoint_roles(annotations, files.values(), what))
    return NetbootManifest(
        digest=digest,
        media_type=media_type,
        artifact_type=artifact_type,
        annotations=annotations,
        files=list(files.values()),
        warnings=warnings,
        draft=draft or bool(packings),
        packed=packings,
    )


def _packing(layer_type, annotations, digest, size, what):
    """(served digest, served size, Packed) of a compressed draft layer; None for a plain one.

    A draft layer ``application/x-netboot-file+zstd`` declares the uncompressed file's
    digest and size (``src.digest``, ``src.size``): the tree serves that file, and the
    downloader checks both digests and the size. Any other compression is refused here,
    before anything is fetched.
    """
    src_digest = annotations.get(DRAFT_SRC_DIGEST)
    compression = None
    if layer_type.startswith(NETBOOT_FILE + "+"):
        compression = layer_type[len(NETBOOT_FILE) + 1 :]
    elif layer_type.endswith(_COMPRESSION_SUFFIXES):
        compression = layer_type.rsplit("+", 1)[1]
    if compression is None:
        if src_digest is not None and src_digest != digest:
            raise InvalidArtifact(
                _("{what} ({digest}) is not compressed but declares {annotation} {src}").format(
                    what=what, digest=digest, annotation=DRAFT_SRC_DIGEST, src=src_digest[:80]
                )
            )
        return None
    if compression not in DRAFT_COMPRESSIONS or not layer_type.startswith(NETBOOT_FILE):
        raise InvalidArtifact(
            _(
                "{what} ({digest}) has media type {media_type}: a compression this Pulp does "
                "not read (it reads {known})"
            ).format(
                what=what,
                digest=digest,
                media_type=layer_type,
                known=", ".join(f"{NETBOOT_FILE}+{name}" for name in DRAFT_COMPRESSIONS),
            )
        )
    src_size = annotations.get(DRAFT_SRC_SIZE)
    if not grammar.matches(grammar.DIGEST, src_digest) or not grammar.matches(_DECIMAL, src_size):
        raise InvalidArtifact(
            _(
                "{what} ({digest}) is compressed ({media_type}) but does not declare the "
                "uncompressed file: {digest_key} must be a sha256 digest and {size_key} a "
                "number of bytes"
            ).format(
                what=what,
                digest=digest,
                media_type=layer_type,
                digest_key=DRAFT_SRC_DIGEST,
                size_key=DRAFT_SRC_SIZE,
            )
        )
    return src_digest, int(src_size), Packed(compression, digest, size)


def _entrypoint_roles(annotations, files, what):
    """Give the files a draft's entrypoint annotations name their roles; returns warnings.

    Paths stay where netboot/layout.py places each title. A file the layout knows as
    another boot role keeps it (the layout is the one rule), with a warning.
    """
    warnings = []
    by_name = {item.name: item for item in files}
    for annotation, role in DRAFT_ENTRYPOINTS:
        name = annotations.get(annotation)
        if name is None:
            continue
        item = by_name.get(name)
        if item is None:
            warnings.append(
                _("{what}: {annotation} names {name!r}, which no layer has").format(
                    what=what, annotation=annotation, name=name[:200]
                )
            )
        elif item.role == layout.OTHER:
            item.role = role
        elif item.role != role:
            warnings.append(
                _(
                    "{what}: {annotation} names {name} ({path}), which the layout serves as {role}"
                ).format(
                    what=what, annotation=annotation, name=name, path=item.path, role=item.role
                )
            )
    return warnings
