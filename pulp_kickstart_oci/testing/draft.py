"""Publish netboot files in the format's March 2024 draft, as its client (nboci) did.

Layers ``application/x-netboot-file+zstd`` carry the uncompressed file's digest and
size in annotations (``src.digest``, ``src.size``); the manifest names the release and
architecture (``os.name``, ``os.version``, ``os.arch``) and the bootloaders
(``entrypoint``, ``altentrypoint``, ``legacyentrypoint``); its artifactType is oras'
default. Blobs and manifests go straight over the distribution API (oci.Pusher), so a
test can make any of them lie: a blob that is not its digest, a declared digest or size
that is not the file's, another compression, a bomb.
"""

import hashlib

import zstandard

from .oci import EMPTY_CONFIG, OCI_MANIFEST, digest_of

DRAFT_FILE = "application/x-netboot-file+zstd"
ORAS_UNKNOWN = "application/vnd.unknown.artifact.v1"
PREFIX = "org.pulpproject.netboot."


def compress(data):
    """``data`` as one zstd frame (with its checksum, as nboci's zstd writes it)."""
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def zstd_bomb(size):
    """A zstd frame of RLE blocks that inflates to ``size`` zeros (a multiple of 128 KiB),
    written by hand so that a bomb of gigabytes takes kilobytes and no time to make."""
    block = 128 * 1024
    assert size % block == 0 and size > 0
    count = size // block
    frame = bytearray(b"\x28\xb5\x2f\xfd")  # magic
    frame += bytes([0x00, 0x38])  # no content size, no checksum; window 2^17
    rle = (block << 3) | (1 << 1)  # an RLE block of 128 KiB
    for number in range(count):
        header = rle | (1 if number == count - 1 else 0)
        frame += header.to_bytes(3, "little") + b"\0"
    return bytes(frame)


def layer(
    pusher,
    title,
    data,
    blob=None,
    src_digest=None,
    src_size=None,
    media_type=DRAFT_FILE,
):
    """Push one draft layer of file ``data``; ``blob`` is what is pushed (``compress(data)``
    unless given), ``src_digest``/``src_size`` what the annotations declare (the truth
    unless given). Returns the layer descriptor."""
    blob = compress(data) if blob is None else blob
    return {
        "mediaType": media_type,
        "digest": pusher.blob(blob),
        "size": len(blob),
        "annotations": {
            "org.opencontainers.image.title": title,
            PREFIX + "src.digest": src_digest or "sha256:" + hashlib.sha256(data).hexdigest(),
            PREFIX + "src.size": str(len(data) if src_size is None else src_size),
        },
    }


def publish(
    pusher,
    tag,
    layers,
    os_version,
    os_arch,
    os_name="fedora",
    entrypoint=None,
    altentrypoint=None,
    legacyentrypoint=None,
):
    """Push a draft manifest of ``layers`` (``layer()``'s descriptors) under ``tag``.

    Returns (digest, size) of the manifest.
    """
    pusher.blob(b"{}")
    annotations = {
        PREFIX + "os.name": os_name,
        PREFIX + "os.version": os_version,
        PREFIX + "os.arch": os_arch,
    }
    for key, value in (
        ("entrypoint", entrypoint),
        ("altentrypoint", altentrypoint),
        ("legacyentrypoint", legacyentrypoint),
    ):
        if value is not None:
            annotations[PREFIX + key] = value
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": ORAS_UNKNOWN,
        "config": EMPTY_CONFIG,
        "layers": layers,
        "annotations": annotations,
    }
    return pusher.manifest(tag, document)


def publish_files(pusher, tag, files, os_version, os_arch, **entrypoints):
    """Push ``files`` [(title, bytes)] as a truthful draft manifest; returns (digest, size)."""
    layers = [layer(pusher, title, data) for title, data in files]
    return publish(pusher, tag, layers, os_version, os_arch, **entrypoints)


__all__ = ["compress", "digest_of", "layer", "publish", "publish_files", "zstd_bomb"]
