"""Per-sync budgets under fan-out (issue 18), on the real stack at the default settings.

The budgets are settings the worker reads when a sync starts (app/budget.py), so
these upstreams are generated just past the defaults the stack runs with, which
bench/scale.py shows admit 1,000 trees with their tags comfortably: a tag list
that pages past ``KICKSTART_SYNC_MAX_TAGS`` and an index that fans out past
``KICKSTART_SYNC_MAX_TREES``. A sync that goes past one fails naming the setting
and what it was reading, fetches nothing more, and creates no repository version.
"""

import http.server
import json
import re
import threading
import time

from pulp_kickstart_oci.testing.oci import OCI_INDEX, OCI_MANIFEST
from tests.support.paginating_proxy import PagingProxy


def _manifest_reads(proxy, pusher):
    pattern = rf"^/v2/{re.escape(pusher.name)}/manifests/"
    return [served.path.rsplit("/", 1)[1] for served in proxy.requests_to(pattern)]


def _fan_out_index(pusher, tag, manifest, size, archs):
    """Push index ``tag`` listing ``manifest`` once per architecture name in ``archs``."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest,
                "size": size,
                "platform": {"architecture": arch, "os": "linux"},
            }
            for arch in archs
        ],
    }
    return pusher.manifest(tag, json.dumps(document, separators=(",", ":")).encode())


def test_a_tag_list_past_the_tags_budget_fails_naming_the_setting(
    pulp_settings,
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_oci_remote_factory,
    kickstart_sync,
    latest_version,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(upstream)
    kickstart_sync(repository, remote)
    before = latest_version(repository)
    limit = pulp_settings.KICKSTART_SYNC_MAX_TAGS
    extra = [f"fan-{number:07d}" for number in range(limit)]  # with 42, 42-amd64: past it

    with PagingProxy(upstream.base, page_size=1000, extra_tags=extra) as proxy:
        fanned = kickstart_oci_remote_factory(upstream, url=proxy.url)
        task = kickstart_sync(repository, fanned, expect_failure=True)

    message = task.error["description"]
    assert f"the sync went past KICKSTART_SYNC_MAX_TAGS ({limit})" in message, message
    assert "the tag list" in message, message
    assert "No repository version was created" in message, message
    assert latest_version(repository) == before
    # Spent page by page: the sync stopped at the page that went past, not at the end.
    assert proxy.pages_served == limit // 1000 + 1


def test_an_index_past_the_trees_budget_fails_before_fetching_its_manifests(
    pulp_settings,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42", archs=("amd64",))
    proxy = kickstart_fault_proxy_factory(upstream.base)
    remote = kickstart_oci_remote_factory(upstream, url=proxy.url)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    before = latest_version(repository)
    # Release 41's index lists one manifest under more architectures than a sync may
    # resolve trees (each release/arch is a tree).
    limit = pulp_settings.KICKSTART_SYNC_MAX_TREES
    manifest = published["manifests"]["amd64"]
    size = len(
        upstream.session.get(f"{upstream.base}/v2/{upstream.name}/manifests/42-amd64").content
    )
    archs = [f"fan{number}" for number in range(limit + 1)]
    _fan_out_index(upstream, "41", manifest, size, archs)
    proxy.served.clear()

    task = kickstart_sync(repository, remote, expect_failure=True)

    message = task.error["description"]
    assert f"the sync went past KICKSTART_SYNC_MAX_TREES ({limit})" in message, message
    assert "of tag 41" in message, message
    assert "No repository version was created" in message, message
    assert latest_version(repository) == before
    # The index was read, its manifests were not: the budget is spent before fetching.
    assert not [read for read in _manifest_reads(proxy, upstream) if read.startswith("sha256:")]


def test_entries_of_unwanted_architectures_cost_no_budget_and_are_never_fetched(
    pulp_settings,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_fault_proxy_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    tree_map,
):
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42", archs=("amd64", "arm64"))
    manifests = published["manifests"]
    sizes = {
        arch: len(upstream.session.get(f"{upstream.base}/v2/{upstream.name}/manifests/{d}").content)
        for arch, d in manifests.items()
    }
    # Release 41: the same fan-out, plus one amd64 entry and one arm64 entry.
    limit = pulp_settings.KICKSTART_SYNC_MAX_TREES
    archs = [f"fan{number}" for number in range(limit + 1)]
    document = json.loads(
        upstream.session.get(
            f"{upstream.base}/v2/{upstream.name}/manifests/42", headers={"Accept": OCI_INDEX}
        ).content
    )
    fan = {
        "mediaType": OCI_MANIFEST,
        "digest": manifests["arm64"],
        "size": sizes["arm64"],
    }
    document["manifests"] += [
        {**fan, "platform": {"architecture": a, "os": "linux"}} for a in archs
    ]
    upstream.manifest("41", json.dumps(document, separators=(",", ":")).encode(), OCI_INDEX)
    proxy = kickstart_fault_proxy_factory(upstream.base)
    remote = kickstart_oci_remote_factory(upstream, url=proxy.url, architectures=["x86_64"])
    repository = kickstart_repository_factory()

    kickstart_sync(repository, remote)

    assert set(tree_map(latest_version(repository))) == {("41", "x86_64"), ("42", "x86_64")}
    reads = _manifest_reads(proxy, upstream)
    assert manifests["arm64"] not in reads and "42-arm64" not in reads


class _Trickle(http.server.BaseHTTPRequestHandler):
    """A registry whose tag list never ends: one byte every half second."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"tags": [')
        try:
            while True:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.5)  # the trickle's pace; ends when Pulp hangs up
        except OSError:
            pass


def test_an_upstream_that_trickles_cannot_hold_a_worker(
    pulp_settings,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        remote = kickstart_oci_remote_factory(
            url=f"http://127.0.0.1:{server.server_address[1]}", upstream_name="slow/tags"
        )
        limit = pulp_settings.KICKSTART_MAX_METADATA_SECONDS
        started = time.monotonic()
        fails_and_changes_nothing(
            kickstart_repository_factory(),
            remote,
            "listing tags",
            f"took longer than KICKSTART_MAX_METADATA_SECONDS ({limit} s)",
        )
        # Ended by the deadline (retries included), not by the trickle or a socket timeout.
        assert time.monotonic() - started < limit + 60
        assert server.asked and all("/tags/list" in path for path in server.asked)
    finally:
        server.shutdown()
        server.server_close()
