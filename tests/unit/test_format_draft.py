"""The March 2024 draft of the format: its manifests parsed, its blobs inflated while they stream.

The downloader tests serve a compressed blob from a local aiohttp server and download it
with the RegistryDownloader at its ``packed_url``, as a sync and the content app both do.
"""

import asyncio
import hashlib
import json
import os
import shutil
import tempfile

import aiohttp
import pytest
import zstandard
from aiohttp import web
from django.conf import settings

from pulpcore.plugin.exceptions import DigestValidationError, SizeValidationError

from pulp_kickstart_oci.app.downloads import DownloadFailed, DownloadTooLarge
from pulp_kickstart_oci.app.netboot import artifact, layout
from pulp_kickstart_oci.app.registry.downloader import RegistryDownloader, packed_url, packing_of
from pulp_kickstart_oci.testing import draft
from tests.support.local_http import serving

FILE = os.urandom(2 * 1024 * 1024 + 5) + b"\0" * (3 * 1024 * 1024)  # several pieces
FILE_SHA = hashlib.sha256(FILE).hexdigest()
BLOB = draft.compress(FILE)
BLOB_DIGEST = draft.digest_of(BLOB)
P = draft.PREFIX


def _layer(title, data=b"x", media_type=draft.DRAFT_FILE, **annotations):
    blob = draft.compress(data)
    described = {
        "org.opencontainers.image.title": title,
        P + "src.digest": draft.digest_of(data),
        P + "src.size": str(len(data)),
    }
    described.update(annotations)
    return {
        "mediaType": media_type,
        "digest": draft.digest_of(blob),
        "size": len(blob),
        "annotations": {k: v for k, v in described.items() if v is not None},
    }


def _manifest(layers, **annotations):
    described = {P + "os.name": "fedora", P + "os.version": "40", P + "os.arch": "x86_64"}
    described.update(annotations)
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": artifact.OCI_MANIFEST,
            "artifactType": draft.ORAS_UNKNOWN,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json"},
            "layers": layers,
            "annotations": {k: v for k, v in described.items() if v is not None},
        }
    ).encode()


def test_a_draft_manifest_becomes_the_uncompressed_files_with_entrypoint_roles():
    layers = [
        _layer("shim.efi", b"MZ shim"),
        _layer("core.efi", b"MZ grub"),  # a name the layout does not know
        _layer("vmlinuz", b"kernel"),
        _layer("lpxelinux.0", b"pxe"),
    ]
    raw = _manifest(
        layers,
        **{
            P + "entrypoint": "shim.efi",
            P + "altentrypoint": "core.efi",
            P + "legacyentrypoint": "lpxelinux.0",
        },
    )
    parsed = artifact.parse_manifest(raw, "sha256:m")
    assert parsed.draft and parsed.warnings == []
    by_name = {item.name: item for item in parsed.files}
    assert by_name["vmlinuz"].sha256 == hashlib.sha256(b"kernel").hexdigest()
    assert by_name["vmlinuz"].size == len(b"kernel")
    assert by_name["vmlinuz"].media_type == artifact.NETBOOT_FILE  # what is served
    assert by_name["shim.efi"].role == layout.SHIM
    assert (by_name["core.efi"].path, by_name["core.efi"].role) == ("extra/core.efi", layout.GRUB)
    assert by_name["lpxelinux.0"].role == layout.PXELINUX
    packed = parsed.packed["images/pxeboot/vmlinuz"]
    assert (packed.compression, packed.digest) == ("zstd", layers[2]["digest"])
    layout.check_paths([(item.path, item.role) for item in parsed.files])
    assert parsed.draft_slot("fedora-40", "amd64") == ("40", "amd64")


def test_an_entrypoint_the_layout_knows_otherwise_or_not_at_all_is_a_warning():
    raw = _manifest(
        [_layer("vmlinuz", b"k")], **{P + "entrypoint": "vmlinuz", P + "altentrypoint": "gone"}
    )
    parsed = artifact.parse_manifest(raw, "sha256:m")
    assert parsed.files[0].role == layout.KERNEL
    assert len(parsed.warnings) == 2 and "which no layer has" in parsed.warnings[1]


@pytest.mark.parametrize(
    "layer, message",
    [
        (_layer("vmlinuz", media_type="application/x-netboot-file+gzip"), r"\+gzip: a compression"),
        (_layer("vmlinuz", media_type="application/x-netboot-file+lz4"), "does not read"),
        (_layer("vmlinuz", **{P + "src.digest": None}), "does not declare"),
        (_layer("vmlinuz", **{P + "src.size": "-1"}), "does not declare"),
        (_layer("vmlinuz", **{P + "src.digest": "sha512:ab"}), "does not declare"),
        (
            _layer(
                "vmlinuz",
                media_type=artifact.NETBOOT_FILE,
                **{P + "src.digest": "sha256:" + "0" * 64},
            ),
            "not compressed but declares",
        ),
    ],
)
def test_unreadable_draft_layers_are_refused_naming_layer_and_digest(layer, message):
    with pytest.raises(artifact.InvalidArtifact, match=message) as refused:
        artifact.parse_manifest(_manifest([layer]), "sha256:m")
    assert "layer 0" in str(refused.value) and layer["digest"] in str(refused.value)


def test_a_draft_release_and_architecture_pass_the_grammars():
    parsed = artifact.parse_manifest(
        _manifest([_layer("vmlinuz")], **{P + "os.version": "latest"}), "sha256:m"
    )
    with pytest.raises(artifact.InvalidArtifact, match="is not a release"):
        parsed.draft_slot("40", "amd64")
    parsed = artifact.parse_manifest(_manifest([_layer("vmlinuz")]), "sha256:m")
    with pytest.raises(artifact.InvalidArtifact, match="reached as arm64"):
        parsed.draft_slot("40", "arm64")


def test_a_tag_naming_a_release_number_never_stores_another_release():
    """A 42-amd64 tag (a remote's filter may select it alone) cannot stand for tree 43."""
    parsed = artifact.parse_manifest(
        _manifest([_layer("vmlinuz")], **{P + "os.version": "43"}), "sha256:m"
    )
    with pytest.raises(artifact.InvalidArtifact, match="os.version is 43, but it is reached as 42"):
        parsed.draft_slot("42", "amd64")
    assert parsed.draft_slot("43", "amd64") == ("43", "amd64")
    assert parsed.draft_slot("fedora-43", "amd64") == ("43", "amd64")  # a draft's own tag


def test_a_packed_url_says_compression_digest_and_size():
    url = packed_url(f"https://r.example/v2/a/b/blobs/{BLOB_DIGEST}", "zstd", len(BLOB))
    packing = packing_of(url)
    assert (packing.compression, packing.digest, packing.size) == ("zstd", BLOB_DIGEST, len(BLOB))
    assert packing_of(f"https://r.example/v2/a/blobs/{BLOB_DIGEST}") is None
    for bad in (
        f"https://r.example/v2/a/blobs/{BLOB_DIGEST}#compressed=gzip&size=3",
        f"https://r.example/v2/a/blobs/{BLOB_DIGEST}#compressed=zstd",
        "https://r.example/v2/a/manifests/x#compressed=zstd&size=3",
    ):
        with pytest.raises(DownloadFailed):
            packing_of(bad)


@pytest.fixture
def workdir(monkeypatch):
    os.makedirs(settings.WORKING_DIRECTORY, exist_ok=True)
    directory = tempfile.mkdtemp(dir=settings.WORKING_DIRECTORY)
    monkeypatch.chdir(directory)
    yield directory
    shutil.rmtree(directory)


def _download(blob, packed_digest=BLOB_DIGEST, packed_size=None, streamed=None, **options):
    """Serve ``blob`` at its blob URL; download the packed URL. (result or exception, headers)."""
    seen_headers = []

    async def handler(request):
        response = web.StreamResponse(headers={"Content-Length": str(len(blob))})
        await response.prepare(request)
        for start in range(0, len(blob), 50_000):
            await response.write(blob[start : start + 50_000])
        await response.write_eof()
        return response

    async def headers_ready(headers):
        seen_headers.append(dict(headers))

    async def body():
        app = web.Application()
        app.router.add_get(f"/v2/a/blobs/{packed_digest}", handler)
        async with serving(app) as base, aiohttp.ClientSession() as session:
            size = len(blob) if packed_size is None else packed_size
            url = packed_url(f"{base}/v2/a/blobs/{packed_digest}", "zstd", size)
            downloader = RegistryDownloader(
                url, session=session, headers_ready_callback=headers_ready, **options
            )
            if streamed is not None:  # as the content app does: every piece goes to a client
                original = downloader.handle_data

                async def handle_data(data):
                    streamed.append(len(data))
                    await original(data)

                downloader.handle_data = handle_data
            try:
                return await downloader.run(
                    extra_data={"disable_retry_list": (DigestValidationError, SizeValidationError)}
                )
            except Exception as exc:  # the test looks at it
                return exc

    return asyncio.run(body()), seen_headers


def test_a_packed_blob_is_stored_uncompressed_and_streamed_in_pieces(workdir):
    streamed = []
    result, headers = _download(
        BLOB, expected_digests={"sha256": FILE_SHA}, expected_size=len(FILE), streamed=streamed
    )
    assert not isinstance(result, Exception), result
    with open(result.path, "rb") as stored:
        assert stored.read() == FILE
    assert result.artifact_attributes["sha256"] == FILE_SHA
    assert result.artifact_attributes["size"] == len(FILE)
    assert sum(streamed) == len(FILE) and max(streamed) <= 1024 * 1024
    # The client is not told the compressed size.
    assert "Content-Length" not in headers[0] and "content-length" not in headers[0]


def test_both_digests_and_the_size_are_checked(workdir):
    corrupt = bytearray(BLOB)
    corrupt[len(corrupt) // 2] ^= 0xFF
    failed, _ = _download(
        bytes(corrupt), expected_digests={"sha256": FILE_SHA}, expected_size=len(FILE)
    )
    assert isinstance(failed, (DigestValidationError, DownloadFailed, SizeValidationError)), failed
    # A blob that inflates to the file but is not the layer's digest (recompressed).
    other = zstandard.ZstdCompressor(level=1).compress(FILE)
    wrong_blob, _ = _download(other, expected_digests={"sha256": FILE_SHA}, expected_size=len(FILE))
    assert isinstance(wrong_blob, DigestValidationError)
    assert wrong_blob.expected == BLOB_DIGEST.split(":")[1]
    wrong_file, _ = _download(BLOB, expected_digests={"sha256": "0" * 64}, expected_size=len(FILE))
    assert isinstance(wrong_file, DigestValidationError) and wrong_file.expected == "0" * 64
    for size in (len(FILE) - 1, len(FILE) + 1):
        wrong_size, _ = _download(BLOB, expected_digests={"sha256": FILE_SHA}, expected_size=size)
        assert isinstance(wrong_size, SizeValidationError)
    short_layer, _ = _download(BLOB, packed_size=len(BLOB) - 1, expected_size=len(FILE))
    assert isinstance(short_layer, SizeValidationError)


def test_a_bomb_stops_at_the_declared_size_or_the_image_cap(workdir, monkeypatch):
    bomb = draft.zstd_bomb(1 << 30)  # 1 GiB of zeros in 32 KiB
    streamed = []
    declared, _ = _download(bomb, draft.digest_of(bomb), expected_size=4 << 20, streamed=streamed)
    assert isinstance(declared, SizeValidationError)
    assert sum(streamed) <= (4 << 20) + (1 << 20)  # stopped at the first piece past it
    monkeypatch.setattr(settings, "KICKSTART_MAX_IMAGE_BYTES", 3 << 20)
    streamed = []
    capped, _ = _download(bomb, draft.digest_of(bomb), expected_size=1 << 40, streamed=streamed)
    assert isinstance(capped, DownloadTooLarge) and "KICKSTART_MAX_IMAGE_BYTES" in str(capped)
    assert sum(streamed) <= 3 << 20


def test_the_bomb_fixture_is_a_real_zstd_frame():
    assert zstandard.ZstdDecompressor().decompressobj().decompress(
        draft.zstd_bomb(256 * 1024)
    ) == b"\0" * (256 * 1024)
