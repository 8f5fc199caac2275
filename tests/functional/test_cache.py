"""pulpcore's content cache (Redis, CACHE_ENABLED) cannot be poisoned through kickstart paths.

The cache keys on the distribution and the path, and a generated document is a
function of the repository version, the distribution (its boot_origin) and the
settings: whatever the first client sent, every client gets the same document.
dev/stack runs the whole stack with the cache on; a second, real content app
started here (with its own CONTENT_ORIGIN) shows the same on a distribution of its
own, and a third one runs with the cache off.
"""

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import Pusher

# A second content app on the stack's Redis: it runs alone (make test's serial phase).
pytestmark = pytest.mark.serial

REPO_ROOT = Path(__file__).resolve().parents[2]
POISON = [
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    {"Host": "evil.example"},
    {"Range": "bytes=0-0"},
]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stack_redis_url():
    """The stack's Redis: what the API and worker invalidate is what a content app reads."""
    settings = (REPO_ROOT / ".run" / "settings.py").read_text()
    line = next(line for line in settings.splitlines() if line.startswith("REDIS_URL"))
    return line.split("=", 1)[1].strip().strip('"')


def second_content_app(env_overrides, log_name):
    """Start a pulpcore-content of the stack's settings plus ``env_overrides``; yield its URL."""
    port = _free_port()
    env = {**os.environ, "PULP_CONTENT_ORIGIN": f"http://127.0.0.1:{port}", **env_overrides}
    log = open(REPO_ROOT / ".run" / "log" / log_name, "ab")
    process = subprocess.Popen(
        ["pulpcore-content", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO_ROOT / ".run",
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(f"{base}/pulp/content/", timeout=5)
            break
        except requests.ConnectionError:
            assert process.poll() is None, f"the second content app exited; see {log_name}"
            assert time.monotonic() < deadline, "the second content app did not answer in 60 s"
            time.sleep(0.2)
    yield base
    os.killpg(process.pid, 15)
    process.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def cached_content():
    """A second pulpcore-content, no KICKSTART_BOOT_HOSTS, sharing the stack's Redis."""
    yield from second_content_app(
        {"PULP_KICKSTART_BOOT_HOSTS": "@json []", "PULP_REDIS_URL": stack_redis_url()},
        "content-cached.log",
    )


@pytest.fixture(scope="module")
def uncached_content():
    """A second pulpcore-content with the Redis content cache off: documents rendered each time."""
    yield from second_content_app(
        {"PULP_KICKSTART_BOOT_HOSTS": "@json []", "PULP_CACHE_ENABLED": "false"},
        "content-uncached.log",
    )


@pytest.fixture(scope="class")
def served_tree(
    kickstart_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """One tree synced once for the class, and a distribution per content app."""
    pusher = Pusher(kickstart_registry.url, unique("fedora/cache"))
    files = fedora.tree_files("42", "amd64", salt=pusher.name)
    pusher.netboot("42-amd64", files)
    repo = kickstart_repository_factory()
    kickstart_sync(repo, kickstart_oci_remote_factory(pusher))
    # One distribution per content app: they share the cache, keyed by base path.
    cached = kickstart_distribution_factory(repo, base_path=unique("cached"))
    stack = kickstart_distribution_factory(
        repo, base_path=unique("stack"), boot_origin="http://10.0.2.2:24816"
    )
    return {
        "base_path": cached.base_path,
        "stack_base_url": stack.base_url,
        "distribution": cached,
        "kernel": dict(files)["vmlinuz"],
    }


class TestContentCache:
    """A class, so the tree is synced once for every test (the factories are class-scoped)."""

    @pytest.mark.parametrize(
        "path", ["boot.ipxe", "trees.json", "42/x86_64/boot.ipxe", ".treeinfo"]
    )
    @pytest.mark.parametrize("poison", POISON)
    def test_a_poisoned_first_request_never_reaches_the_next_client(
        self, cached_content, served_tree, path, poison
    ):
        path = "42/x86_64/.treeinfo" if path == ".treeinfo" else path
        url = f"{cached_content}/pulp/content/{served_tree['base_path']}/{path}"
        requests.get(url, headers=poison, timeout=30)  # whatever it got, it must not stick
        clean = requests.get(url, timeout=30)
        again = requests.get(url, timeout=30)
        assert clean.status_code == again.status_code == 200
        assert "evil" not in clean.text
        assert clean.content == again.content
        assert len(clean.content) > 1 and "Content-Range" not in clean.headers
        # The second clean request came from Redis: the cache is really on here.
        assert again.headers.get("X-PULP-CACHE") == "HIT"
        if path.endswith("boot.ipxe") or path.endswith("trees.json"):
            assert f"{cached_content}/pulp/content/{served_tree['base_path']}/" in clean.text

    @pytest.mark.parametrize(
        "variant, plain",
        [("42%2Fx86_64%2Fboot.ipxe", "42/x86_64/boot.ipxe"), ("42%2Fx86_64/", "42/x86_64/")],
    )
    def test_an_encoded_slash_never_answers_for_the_plain_path(
        self, cached_content, served_tree, variant, plain
    ):
        """pulpcore's route took the variant (the document route's pattern sees "%2F"), answered
        404 and cached that under the decoded path, the plain path's entry: every client after
        got 404 for the document. The variant is refused now and stores nothing."""
        root = f"{cached_content}/pulp/content/{served_tree['base_path']}/"
        with redis.Redis.from_url(stack_redis_url()) as cache:
            cache.delete(served_tree["base_path"])  # no entry yet: the variant's would stick
            assert requests.get(root + variant, timeout=30).status_code == 400
            assert cache.hkeys(served_tree["base_path"]) in ([], [b"DISTRO#GUARD#PRESENT"])
        clean = requests.get(root + plain, timeout=30)
        assert clean.status_code == 200 and clean.headers.get("X-PULP-CACHE") != "HIT"
        assert requests.get(root + plain, timeout=30).headers.get("X-PULP-CACHE") == "HIT"

    def test_a_range_request_for_a_file_is_not_replayed_as_the_file(
        self, cached_content, served_tree
    ):
        base = f"{cached_content}/pulp/content/{served_tree['base_path']}"
        url = f"{base}/42/x86_64/images/pxeboot/vmlinuz"
        part = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=30)
        assert part.status_code == 206 and len(part.content) == 1
        whole = requests.get(url, timeout=30)
        assert whole.status_code == 200 and whole.content == served_tree["kernel"]

    @pytest.mark.parametrize("poison", POISON)
    def test_a_boot_origin_document_is_stored_once_whatever_the_host(self, served_tree, poison):
        base_url = served_tree["stack_base_url"]
        url = f"{base_url}42/x86_64/boot.ipxe"
        first = requests.get(url, headers={**poison, "Host": "10.0.2.2:1"}, timeout=30)
        assert first.status_code == 200 and "evil" not in first.text
        # The distribution's boot_origin, whatever Host or forwarded headers said.
        assert "http://10.0.2.2:24816/pulp/content/" in first.text
        for headers in ({}, {"Host": "10.0.2.2:24816"}, {"Host": "evil.example"}, poison):
            again = requests.get(url, headers=headers, timeout=30)
            assert again.headers.get("X-PULP-CACHE") == "HIT" and again.text == first.text
            assert "Vary" not in again.headers

    def test_changing_boot_options_clears_the_cached_configs(
        self, kickstart_bindings, monitor_task, cached_content, served_tree
    ):
        url = f"{cached_content}/pulp/content/{served_tree['base_path']}/42/x86_64/boot.ipxe"
        requests.get(url, timeout=30)
        assert requests.get(url, timeout=30).headers.get("X-PULP-CACHE") == "HIT"
        marker = unique("ks.marker")
        monitor_task(
            kickstart_bindings.DistributionsKickstartApi.partial_update(
                served_tree["distribution"].pulp_href, {"kernel_args": marker}
            ).task
        )
        fresh = requests.get(url, timeout=30)
        assert marker in fresh.text and fresh.headers.get("X-PULP-CACHE") != "HIT"


def test_without_the_cache_documents_follow_every_change(
    uncached_content,
    kickstart_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    kickstart_bindings,
    pulpcore_bindings,
    gen_object_with_cleanup,
    monitor_task,
    latest_version,
):
    """Without Redis every request renders its document from what the distribution serves
    now: a new version, an edited distribution, a pinned version and a content guard all
    count at once."""
    pusher = Pusher(kickstart_registry.url, unique("fedora/memo"))
    pusher.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=pusher.name))
    repository = kickstart_repository_factory()
    remote = kickstart_oci_remote_factory(pusher)
    kickstart_sync(repository, remote)
    first = latest_version(repository)
    marker = unique("ks.first")
    distribution = kickstart_distribution_factory(repository, kernel_args=marker)
    root = f"{uncached_content}/pulp/content/{distribution.base_path}/"

    def get(path):
        answer = requests.get(root + path, timeout=30)
        assert "X-PULP-CACHE" not in answer.headers  # the Redis cache is off here
        return answer

    assert marker in get("42/x86_64/boot.ipxe").text
    assert get("42/x86_64/boot.ipxe").text == get("42/x86_64/boot.ipxe").text

    edited = unique("ks.edited")
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            distribution.pulp_href, {"kernel_args": edited}
        ).task
    )
    again = get("42/x86_64/boot.ipxe").text
    assert edited in again and marker not in again

    pusher.netboot("43-amd64", fedora.tree_files("43", "amd64", salt=pusher.name))
    kickstart_sync(repository, remote)
    assert [t["version"] for t in get("trees.json").json()["trees"]] == ["42", "43"]
    assert get("43/x86_64/boot.ipxe").status_code == 200

    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            distribution.pulp_href, {"repository": None, "repository_version": first}
        ).task
    )
    assert [t["version"] for t in get("trees.json").json()["trees"]] == ["42"]
    assert get("43/x86_64/boot.ipxe").status_code == 404

    guard = gen_object_with_cleanup(pulpcore_bindings.ContentguardsRbacApi, {"name": unique("g")})
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            distribution.pulp_href, {"content_guard": guard.pulp_href}
        ).task
    )
    assert get("42/x86_64/boot.ipxe").status_code == 403
    assert get("trees.json").status_code == 403
