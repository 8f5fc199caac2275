"""The plugin's downloader against a local aiohttp server: what pulpcore's downloader gives.

OverlappedWriteMixin writes and hashes chunks on a thread; the file, the size and
the digests must be exactly those of the body, a mismatch must fail as pulpcore's
does, and a retried download must start a new file.
"""

import asyncio
import hashlib
import os
import shutil
import tempfile

import aiohttp
import pytest
from aiohttp import web
from django.conf import settings

from pulpcore.plugin.exceptions import DigestValidationError, SizeValidationError

from pulp_kickstart_oci.app.downloads import CappedHttpDownloader, DownloadFailed
from tests.support.local_http import serving

BODY = os.urandom(3 * 1024 * 1024 + 17)  # several chunks, not a multiple of any chunk size
SHA256 = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def workdir(monkeypatch):
    """A task's working directory: downloads land there, as in a sync task."""
    os.makedirs(settings.WORKING_DIRECTORY, exist_ok=True)
    directory = tempfile.mkdtemp(dir=settings.WORKING_DIRECTORY)
    monkeypatch.chdir(directory)
    yield directory
    shutil.rmtree(directory)


def _download(handler, streamed=None, on_demand=None, **options):
    """Serve ``handler`` at /blob and download it; returns (result or exception, requests).

    ``streamed``: a list: the downloader's ``handle_data`` and ``finalize`` are replaced as
    pulpcore's content app replaces them under policy ``streamed`` (each chunk goes to the
    client, here the list, and neither of the downloader's own is called)."""
    seen = []

    async def counted(request):
        seen.append(request.path)
        return await handler(request, len(seen))

    async def body():
        app = web.Application()
        app.router.add_get("/blob", counted)
        async with serving(app) as base, aiohttp.ClientSession() as session:
            downloader = CappedHttpDownloader(f"{base}/blob", session=session, **options)
            if streamed is not None:

                async def to_client(data):
                    streamed.append(data)

                async def nothing():
                    pass

                downloader.handle_data = to_client
                downloader.finalize = nothing
            if on_demand is not None:  # the content app's first fetch: it saves the file too
                own_data, own_finalize = downloader.handle_data, downloader.finalize

                async def to_client_and_saved(data):
                    on_demand.append(data)
                    await own_data(data)

                downloader.handle_data = to_client_and_saved
                downloader.finalize = own_finalize
            try:
                return await downloader.run()
            except Exception as exc:  # the test looks at it
                return exc

    return asyncio.run(body()), seen


async def _whole(request, attempt):
    response = web.StreamResponse(headers={"Content-Length": str(len(BODY))})
    await response.prepare(request)
    for start in range(0, len(BODY), 100_000):  # many small writes: many chunks
        await response.write(BODY[start : start + 100_000])
    await response.write_eof()
    return response


def test_the_file_size_and_digests_are_the_body(workdir):
    result, _ = _download(_whole, expected_digests={"sha256": SHA256}, expected_size=len(BODY))
    assert not isinstance(result, Exception), result
    with open(result.path, "rb") as stored:
        assert stored.read() == BODY
    assert result.artifact_attributes["sha256"] == SHA256
    assert result.artifact_attributes["size"] == len(BODY)
    assert os.path.dirname(result.path) == workdir  # the task's working directory


def test_a_wrong_digest_or_size_fails_like_pulpcore(workdir):
    wrong, _ = _download(_whole, expected_digests={"sha256": "0" * 64})
    assert isinstance(wrong, DigestValidationError)
    short, _ = _download(_whole, expected_size=len(BODY) + 1)
    assert isinstance(short, (SizeValidationError, DownloadFailed))


def test_a_digest_pulp_does_not_keep_is_still_checked(workdir):
    sha512 = hashlib.sha512(BODY).hexdigest()
    good, _ = _download(_whole, expected_digests={"sha256": SHA256, "sha512": sha512})
    assert not isinstance(good, Exception), good
    bad, _ = _download(_whole, expected_digests={"sha256": SHA256, "sha512": "0" * 128})
    assert isinstance(bad, DigestValidationError)


@pytest.mark.parametrize("announced", [True, False])
def test_a_retried_download_starts_a_new_file(workdir, announced):
    async def cut_once(request, attempt):
        if attempt > 1:
            return await _whole(request, attempt)
        headers = {"Content-Length": str(len(BODY))} if announced else {}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(BODY[: len(BODY) // 2])
        request.transport.close()  # the connection drops halfway
        return response

    result, seen = _download(cut_once, expected_digests={"sha256": SHA256}, max_retries=1)
    assert not isinstance(result, Exception), result
    assert len(seen) == 2
    with open(result.path, "rb") as stored:
        assert stored.read() == BODY  # not half a body and then the whole one
    leftovers = [name for name in os.listdir(workdir) if os.path.join(workdir, name) != result.path]
    assert leftovers == []  # the first try's file is gone


def test_files_are_flushed_to_disk_and_metadata_reads_are_not(workdir, monkeypatch):
    import pulp_kickstart_oci.app.downloads as downloads

    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(downloads.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))

    result, _ = _download(_whole, expected_digests={"sha256": SHA256})
    assert not isinstance(result, Exception) and len(synced) == 1  # a file: may be kept

    result, _ = _download(_whole, **downloads.cap("KICKSTART_MAX_IMAGE_BYTES"))
    assert not isinstance(result, Exception) and len(synced) == 2  # an image: stored

    result, _ = _download(_whole, **downloads.cap("KICKSTART_MAX_MANIFEST_BYTES"))
    assert not isinstance(result, Exception) and len(synced) == 2  # metadata: parsed, deleted


def test_a_streamed_body_is_checked_as_it_passes_though_pulpcore_checks_nothing(workdir):
    """Under policy streamed the content app calls neither handle_data nor finalize of the
    downloader: the bytes are still checked, and a wrong body ends in a digest error (the
    content app then cuts the connection and marks the remote artifact failed)."""
    sent = []
    good, _ = _download(
        _whole, streamed=sent, expected_digests={"sha256": SHA256}, expected_size=len(BODY)
    )
    assert not isinstance(good, Exception), good
    assert b"".join(sent) == BODY
    wrong, _ = _download(_whole, streamed=[], expected_digests={"sha256": "0" * 64})
    assert isinstance(wrong, DigestValidationError)
    # A body of another size, announced or not, is not the bytes either: the same error,
    # never a size error the content app would answer with a 500 after several fetches.
    longer, _ = _download(_whole, streamed=[], expected_size=len(BODY) - 1)
    assert isinstance(longer, DigestValidationError), longer
    shorter, _ = _download(_whole, streamed=[], expected_size=len(BODY) + 1)
    assert isinstance(shorter, (DigestValidationError, DownloadFailed)), shorter


def test_an_on_demand_body_is_checked_once_by_the_downloader_itself(workdir):
    """On a first on_demand fetch the content app hands every chunk to the downloader's own
    handle_data and calls its finalize: the bytes are hashed and checked there, once."""
    sent = []
    good, _ = _download(
        _whole, on_demand=sent, expected_digests={"sha256": SHA256}, expected_size=len(BODY)
    )
    assert not isinstance(good, Exception), good
    assert b"".join(sent) == BODY and good.artifact_attributes["sha256"] == SHA256
    wrong, _ = _download(_whole, on_demand=[], expected_digests={"sha256": "0" * 64})
    assert isinstance(wrong, DigestValidationError)
