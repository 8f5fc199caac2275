"""The built site in a real headless Chromium: home page, search, a REST reference page.

Needs the site built (`make docs`) and Debian's `chromium`; driven by Playwright with that
browser (never `playwright install`). Every request the pages make must stay on the local
server: the site works with no network. Screenshots land in .run/docs-screenshots/.
"""

import functools
import http.server
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / ".run" / "site"
SHOTS = ROOT / ".run" / "docs-screenshots"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE} is not built: run `make docs` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(site_url, tmp_path_factory):
    if not CHROMIUM.exists() or not shutil.which("chromedriver"):
        pytest.fail(
            "the docs browser test needs Debian's chromium: apt-get install chromium "
            "chromium-driver (or `make test-packages`)"
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 900},
        )
        elsewhere = []
        local = urlsplit(site_url).netloc

        def _record(request):
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != local:
                elsewhere.append(request.url)

        context.on("request", _record)
        yield context
        context.close()
    assert elsewhere == [], f"the site fetched from the network: {elsewhere}"


def test_home_page_renders_with_the_navigation(browser, site_url):
    page = browser.new_page()
    page.goto(site_url + "/")
    expect(page).to_have_title("Pulp Kickstart OCI")
    expect(page.locator("h1")).to_contain_text("Pulp Kickstart OCI")
    nav = page.locator("nav.md-nav--primary")
    for section in ("User guides", "Admin guides", "Reference", "Changes"):
        expect(nav.get_by_text(section, exact=True).first).to_be_attached()
    nav.get_by_role("link", name="Serve trees", exact=True).first.click()
    page.wait_for_url(site_url + "/serving/")
    expect(page.locator("h1")).to_contain_text("Serv")
    page.goto(site_url + "/")
    page.screenshot(path=str(SHOTS / "home.png"), full_page=False)


def test_search_finds_a_word_on_its_page(browser, site_url):
    page = browser.new_page()
    page.goto(site_url + "/")
    page.locator("label.md-search__icon, .md-search__input").first.click()
    page.locator("input.md-search__input").fill("Zincati")
    results = page.locator(".md-search-result__item a")
    expect(results.first).to_be_visible(timeout=15_000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("sync-from-coreos/" in href for href in hrefs), hrefs
    page.screenshot(path=str(SHOTS / "search.png"))
    page.locator(".md-search-result__item a[href*='sync-from-coreos/']").first.click()
    page.wait_for_url("**/sync-from-coreos/**")
    expect(page.locator("article")).to_contain_text("Zincati")


def test_rest_reference_renders_the_push_operation(browser, site_url):
    page = browser.new_page()
    page.goto(site_url + "/restapi/repositories-kickstart/#push")
    heading = page.locator("h3#push")
    expect(heading).to_contain_text("Push to a registry")
    expect(heading).to_be_in_viewport()
    article = page.locator("article")
    expect(article).to_contain_text("POST {kickstart_kickstart_repository_href}push/")
    expect(article).to_contain_text("pushes the trees of a version of the repository")
    schema = article.locator("a[href='../schemas/#kickstartrepositorypush']").first
    expect(schema).to_be_visible()
    page.screenshot(path=str(SHOTS / "restapi-push.png"))
    schema.click()
    expect(page.locator("h2#kickstartrepositorypush")).to_be_in_viewport()
    expect(page.locator("article")).to_contain_text("A kickstart OCI remote naming the destination")
