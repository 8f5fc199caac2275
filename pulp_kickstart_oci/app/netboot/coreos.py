"""CoreOS stream metadata (Fedora's ``streams/<stream>.json``; RHCOS and SCOS streams of
the same schema), as a CoreOS sync reads it.

The document is upstream input. Only what a netboot tree needs is read, each value
through a grammar where it enters: the stream's name, and for each architecture the
metal artifacts' ``release``, the PXE ``kernel``, ``initramfs`` and ``rootfs`` and, on
request, the metal ``disk`` image and the live ``iso``, each with its ``location``,
``sha256`` and detached ``signature``. A file's name in the tree is the last segment of
its ``location`` (names changed between releases: never built from a pattern). A
``signature`` is ``<location>.sig`` (how Fedora publishes them, and where
coreos-installer looks) or absent (RHCOS and SCOS sign nothing). Other platforms, cloud
images and keys are ignored, not refused: the schema grows.

A low layer: no Django, no pulpcore, nothing of the plugin but ``netboot``.
"""

import functools
import gettext
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import arch as archs
from . import grammar, jsondoc, layout

_ = functools.cache(gettext.gettext)

MAX_ARCHITECTURES = 32
# Files a tree may take beyond the live PXE ones, by the name a remote asks for them with.
EXTRAS = ("disk", "iso")
# The metal disk formats, in order of preference: Fedora's (xz) and RHCOS/SCOS's (gzip).
_DISK_FORMATS = ("raw.xz", "raw.gz")
_PXE = (("kernel", layout.KERNEL), ("initramfs", layout.INITRD), ("rootfs", layout.ROOTFS))
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_URL = 2048


class StreamError(ValueError):
    """Stream metadata that cannot be synced; the message names where and the value."""


@dataclass(frozen=True)
class StreamFile:
    """One file of a CoreOS release: its role, its name in the tree, and where it is."""

    role: str
    name: str  # the last segment of ``url``: its path in the tree
    url: str
    sha256: str
    signature_url: str | None  # ``url + ".sig"``, or None when upstream signs nothing


@dataclass(frozen=True)
class StreamRelease:
    """The metal artifacts of one architecture of a stream: one tree."""

    arch: str  # Fedora name
    release: str
    files: tuple


def parse(raw, where, architectures=None, extras=()):
    """``(stream, [StreamRelease])`` of stream metadata ``raw`` (bytes), or StreamError.

    ``architectures``: the Fedora names to read (None: every one the document has);
    ``extras``: which of EXTRAS each release also takes. An architecture asked for and
    missing, or without the PXE files, is an error naming it.
    """
    try:
        document = jsondoc.load_object(raw)
    except jsondoc.NotJson as exc:
        raise StreamError(_("{where}: {problem}").format(where=where, problem=exc)) from None
    stream = document.get("stream")
    if not grammar.matches(grammar.TAG, stream):
        raise StreamError(
            _("{where}: 'stream' is not a stream name ({pattern})").format(
                where=where, pattern=grammar.TAG.pattern
            )
        )
    found = document.get("architectures")
    if not isinstance(found, dict) or len(found) > MAX_ARCHITECTURES:
        raise StreamError(
            _("{where}: 'architectures' is not an object of at most {limit} entries").format(
                where=where, limit=MAX_ARCHITECTURES
            )
        )
    by_fedora_name = {}
    for name, entry in found.items():
        try:
            by_fedora_name.setdefault(archs.to_fedora(name), (name, entry))
        except archs.UnknownArchitecture:
            continue  # an architecture this Pulp does not know is not one it syncs
    wanted = sorted(by_fedora_name) if architectures is None else list(architectures)
    releases = []
    for arch in wanted:
        if arch not in by_fedora_name:
            raise StreamError(
                _("{where}: stream {stream} has no architecture {arch}").format(
                    where=where, stream=stream, arch=arch
                )
            )
        name, entry = by_fedora_name[arch]
        what = _("{where}: stream {stream}, {arch}").format(where=where, stream=stream, arch=name)
        releases.append(_release(entry, arch, what, extras))
    return stream, releases


def _object(value, what):
    if not isinstance(value, dict):
        raise StreamError(_("{what} is not an object").format(what=what))
    return value


def _release(entry, arch, what, extras):
    metal = _object(
        _object(_object(entry, what).get("artifacts"), f"{what}: artifacts").get("metal"),
        f"{what}: artifacts.metal",
    )
    release = metal.get("release")
    if not grammar.matches(grammar.RELEASE, release):
        raise StreamError(
            _("{what}: metal release is not a release ({pattern})").format(
                what=what, pattern=grammar.RELEASE.pattern
            )
        )
    what = f"{what} {release}"
    formats = _object(metal.get("formats"), f"{what}: metal formats")
    pxe = _object(formats.get("pxe"), f"{what}: pxe")
    files = [_file(pxe.get(key), role, f"{what}: pxe {key}") for key, role in _PXE]
    if "disk" in extras:
        present = [name for name in _DISK_FORMATS if name in formats]
        if not present:
            raise StreamError(
                _("{what}: no metal disk image ({formats})").format(
                    what=what, formats=", ".join(_DISK_FORMATS)
                )
            )
        disk = _object(formats[present[0]], f"{what}: {present[0]}").get("disk")
        files.append(_file(disk, layout.DISK, f"{what}: {present[0]} disk"))
    if "iso" in extras:
        iso = _object(formats.get("iso"), f"{what}: iso").get("disk")
        files.append(_file(iso, layout.ISO, f"{what}: iso disk"))
    # Names that clash (with each other, a signature or a generated document) are refused
    # where every source's tree is: layout.check_paths.
    return StreamRelease(arch=arch, release=release, files=tuple(files))


def _file(entry, role, what):
    entry = _object(entry, what)
    url = _url(entry.get("location"), f"{what}: location")
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if not grammar.matches(grammar.PATH, name) or "/" in name:
        raise StreamError(
            _("{what}: the location's file name is not a plain file name").format(what=what)
        )
    sha256 = entry.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise StreamError(_("{what}: sha256 is not 64 lower-case hex digits").format(what=what))
    signature = entry.get("signature")
    if signature is not None and signature != url + ".sig":
        raise StreamError(
            _("{what}: signature is not the location with '.sig' appended").format(what=what)
        )
    return StreamFile(role=role, name=name, url=url, sha256=sha256, signature_url=signature)


def _url(value, what):
    """An absolute http(s) URL of plain text, without credentials, query or fragment."""
    if not isinstance(value, str):
        raise StreamError(_("{what} is not a string").format(what=what))
    if len(value) > _MAX_URL:
        raise StreamError(
            _("{what} is longer than {limit} characters").format(what=what, limit=_MAX_URL)
        )
    if " " in value:
        raise StreamError(_("{what} holds a space").format(what=what))
    if not value.isascii() or not value.isprintable():
        raise StreamError(_("{what} is not a URL of printable ASCII").format(what=what))
    parsed = urlsplit(value)
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.netloc
        or "@" in parsed.netloc
        or parsed.query
        or parsed.fragment
        or "?" in value
        or "#" in value
    ):
        raise StreamError(
            _("{what} is not an http(s) URL without credentials, query or fragment").format(
                what=what
            )
        )
    return value
