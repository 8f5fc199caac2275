"""An aiohttp application served on a free 127.0.0.1 port, for unit tests of the downloader."""

import contextlib

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(app):
    """``async with serving(app) as base_url``: the app runs until the block ends."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()
