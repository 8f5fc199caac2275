"""The per-sync budget as the downloader spends it: every hop a request, every metadata byte."""

import asyncio
import contextlib
import os
import shutil
import tempfile

import aiohttp
import pytest
from aiohttp import web
from django.conf import settings

from pulp_kickstart_oci.app.budget import BudgetExceeded, SyncBudget, in_time, spend
from pulp_kickstart_oci.app.downloads import CappedHttpDownloader, cap
from tests.support.local_http import serving


@pytest.fixture
def workdir(monkeypatch):
    os.makedirs(settings.WORKING_DIRECTORY, exist_ok=True)
    directory = tempfile.mkdtemp(dir=settings.WORKING_DIRECTORY)
    monkeypatch.chdir(directory)
    yield directory
    shutil.rmtree(directory)


def _fetch(routes, path, limits=None, timeout=None, **options):
    """Serve ``routes`` ({path: handler}); fetch ``path`` with the plugin's downloader.

    Under a SyncBudget of ``limits`` (None: no sync). Returns (the result or the
    exception raised, what the budget spent, seconds taken).
    """

    async def run():
        app = web.Application()
        app["done"] = asyncio.Event()  # set once the download is over: a handler may wait on it
        for route, handler in routes.items():
            app.router.add_get(route, handler)
        budget = SyncBudget.opened(**limits) if limits is not None else contextlib.nullcontext()
        async with serving(app) as base:
            session = aiohttp.ClientSession(timeout=timeout or aiohttp.client.DEFAULT_TIMEOUT)
            started = asyncio.get_running_loop().time()
            try:
                with budget as opened:
                    downloader = CappedHttpDownloader(base + path, session=session, **options)
                    try:
                        result = await downloader.run()
                    except Exception as exc:  # the test looks at it
                        result = exc
                    spent = dict(opened.spent) if opened is not None else {}
                    return result, spent, asyncio.get_running_loop().time() - started
            finally:
                app["done"].set()
                await session.close()

    return asyncio.run(run())


async def _hop(request):
    left = int(request.match_info["n"])
    target = "/body" if left <= 1 else f"/hop/{left - 1}"
    return web.Response(status=302, headers={"Location": target})


async def _body(request):
    return web.Response(body=b"x" * 300_000)


def _serve_and_fetch(budget_limits, path, **options):
    """Serve /hop/N (redirects N-1 more times) and /body; fetch ``path`` under a budget."""
    result, spent, _took = _fetch(
        {"/hop/{n}": _hop, "/body": _body}, path, limits=budget_limits, **options
    )
    return result, spent


def test_every_redirect_hop_is_a_request_of_the_budget(workdir):
    result, spent = _serve_and_fetch({"requests": 10}, "/hop/3")
    assert not isinstance(result, Exception), result
    assert spent["requests"] == 4  # three redirects and the body

    result, spent = _serve_and_fetch({"requests": 3}, "/hop/3")
    assert isinstance(result, BudgetExceeded)
    assert "KICKSTART_SYNC_MAX_REQUESTS (3)" in str(result) and "/body" in str(result)


def test_metadata_bytes_are_spent_while_they_stream_and_files_are_not(workdir):
    limits = {"metadata_bytes": 1_000_000}
    result, spent = _serve_and_fetch(limits, "/body", **cap("KICKSTART_MAX_MANIFEST_BYTES"))
    assert not isinstance(result, Exception) and spent["metadata_bytes"] == 300_000

    result, spent = _serve_and_fetch(limits, "/body", **cap("KICKSTART_MAX_IMAGE_BYTES"))
    assert not isinstance(result, Exception) and spent["metadata_bytes"] == 0

    result, spent = _serve_and_fetch(
        {"metadata_bytes": 100_000}, "/body", **cap("KICKSTART_MAX_MANIFEST_BYTES")
    )
    assert isinstance(result, BudgetExceeded)
    assert "KICKSTART_SYNC_MAX_METADATA_BYTES" in str(result)
    assert spent["metadata_bytes"] <= 100_000 + 2**20  # stopped at the chunk past the limit


def test_outside_a_sync_nothing_is_counted():
    assert SyncBudget.current() is None
    spend("requests", 10**9)  # the content app: no budget, only per-read caps


def test_budgets_are_per_sync_and_read_from_settings():
    with SyncBudget.opened() as outer:
        assert outer.limits["tags"] == settings.KICKSTART_SYNC_MAX_TAGS
        spend("tags", 5)
        with SyncBudget.opened(tags=1) as inner:
            with pytest.raises(BudgetExceeded, match="KICKSTART_SYNC_MAX_TAGS"):
                spend("tags", 2, "the tag list")
        assert SyncBudget.current() is outer and inner.spent["tags"] == 2
        assert outer.spent["tags"] == 5 and outer.left("tags") == outer.limits["tags"] - 5


def test_a_trickling_metadata_read_ends_at_its_deadline(workdir):
    from django.test import override_settings

    async def trickle(request):
        response = web.StreamResponse()
        await response.prepare(request)
        while not request.app["done"].is_set():  # one byte every 50 ms, never the end
            await response.write(b" ")
            await asyncio.sleep(0.05)  # the trickle's pace, not a wait for anything
        return response

    with override_settings(KICKSTART_MAX_METADATA_SECONDS=1):
        error, _spent, took = _fetch(
            {"/tags": trickle}, "/tags", **cap("KICKSTART_MAX_TAG_PAGE_BYTES")
        )
    assert "KICKSTART_MAX_METADATA_SECONDS (1 s)" in str(error) and "/tags" in str(error)
    assert took < 10


def test_a_sync_past_its_time_fails_at_the_next_request_or_chunk():
    with SyncBudget.opened(seconds=-1) as budget:
        with pytest.raises(BudgetExceeded, match="KICKSTART_SYNC_MAX_SECONDS"):
            in_time("a blob")
    with SyncBudget.opened() as budget:
        in_time()
        assert budget.spent["seconds"] == 0
        assert budget.limits["seconds"] == settings.KICKSTART_SYNC_MAX_SECONDS


def test_a_socket_timeout_within_the_deadline_is_named_as_such(workdir):
    async def silent(request):
        await request.app["done"].wait()  # sends nothing until the client has given up
        return web.Response()

    error, _spent, _took = _fetch(
        {"/tags": silent},
        "/tags",
        timeout=aiohttp.ClientTimeout(sock_read=0.3),
        **cap("KICKSTART_MAX_TAG_PAGE_BYTES"),
    )
    assert "within the remote's timeouts" in str(error)
    assert "KICKSTART_MAX_METADATA_SECONDS" not in str(error)
