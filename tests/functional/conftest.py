"""Fixtures for functional tests: the live Pulp stack (dev/stack) and real registries."""

import hashlib
import tempfile
from pathlib import Path

import pytest
import requests

from tests.support import dnf, fedora
from tests.support.oci import Pusher
from tests.support.pulp import CONTENT, PulpAPI, unique
from tests.support.registry import LocalRegistry
from tests.support.tls import ThrowawayCA
from tests.support.token_issuer import TokenIssuer

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_LOG = REPO_ROOT / ".run" / "log" / "worker.log"


@pytest.fixture(scope="session")
def api():
    client = PulpAPI()
    try:
        status = client.get("/pulp/api/v3/status/")
    except requests.ConnectionError:
        pytest.fail("Pulp is not running: start it with `make stack` (make test does)")
    assert status["online_workers"], "no Pulp worker is online"
    return client


@pytest.fixture(scope="session")
def registry():
    with LocalRegistry() as running:
        yield running


@pytest.fixture
def upstream(registry):
    """A fresh repository in the anonymous registry."""
    return Pusher(registry.url, unique("fedora/kickstart"))


@pytest.fixture
def cleanup(api):
    hrefs = []
    yield hrefs.append
    for href in reversed(hrefs):
        api.delete(href)


@pytest.fixture
def make_remote(api, cleanup):
    def _make(pusher, **fields):
        body = {
            "name": unique("remote"),
            "url": pusher.base,
            "upstream_name": pusher.name,
            **fields,
        }
        remote = api.create("remotes/kickstart/oci/", body)
        cleanup(remote["pulp_href"])
        return remote

    return _make


@pytest.fixture
def repository(api, cleanup):
    repo = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
    cleanup(repo["pulp_href"])
    return repo


@pytest.fixture
def distribute(api, cleanup):
    """Serve a repository; returns the content URL of its base path."""

    def _distribute(repo):
        base_path = unique("kickstart")
        distribution = api.create(
            "distributions/kickstart/kickstart/",
            {"name": base_path, "base_path": base_path, "repository": repo["pulp_href"]},
        )
        cleanup(distribution["pulp_href"])
        return f"{CONTENT}/pulp/content/{base_path}"

    return _distribute


@pytest.fixture
def publish_release():
    """Push release N as upstream does: N-ARCH manifests plus an index N."""

    def _publish(pusher, release, archs=("amd64", "arm64"), with_iso=False):
        entries, files = [], {}
        for arch in archs:
            files[arch] = fedora.tree_files(release, arch, with_iso=with_iso, salt=pusher.name)
            digest, size = pusher.netboot(f"{release}-{arch}", files[arch])
            entries.append((arch, digest, size))
        index_digest, _ = pusher.index(release, entries)
        return {"index": index_digest, "manifests": {a: d for a, d, _ in entries}, "files": files}

    return _publish


@pytest.fixture
def serve_tree():
    """Serve a dnf tree (tests.support.dnf) over local HTTP; stopped after the test."""
    servers = []

    def _serve(tree, html_for=None):
        server = dnf.StaticServer(tree.root, html_for=html_for).__enter__()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def make_dnf_remote(api, cleanup):
    """A dnf remote for anything with a ``url`` (a tree server, a proxy in front of one)."""

    def _make(server, **fields):
        body = {"name": unique("dnf"), "url": server.url + "/", **fields}
        remote = api.create("remotes/kickstart/dnf/", body)
        cleanup(remote["pulp_href"])
        return remote

    return _make


@pytest.fixture(scope="session")
def token_dir():
    with tempfile.TemporaryDirectory(prefix="kickstart-token-") as directory:
        yield directory


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def latest(api, repo):
    return api.get(repo["pulp_href"])["latest_version_href"]


def reports(task):
    return {report["code"]: report for report in task["progress_reports"]}


def artifact_count(api, data):
    return api.get("artifacts/", sha256=sha256(data))["count"]


@pytest.fixture
def token_registry_factory(token_dir):
    """A registry behind bearer-token auth, with its own token issuer."""
    started = []

    def _start(credentials=None, expires_in=300, tls=False):
        """``tls``: the token service answers over https, signed by ``issuer.ca``."""
        ca = ThrowawayCA(token_dir) if tls else None
        issuer = TokenIssuer(token_dir, credentials=credentials, expires_in=expires_in, tls=ca)
        issuer.ca = ca
        issuer.start()
        running = LocalRegistry(token=issuer.registry_config()).start()
        started.append((issuer, running))
        return issuer, running

    yield _start
    for issuer, running in started:
        running.stop()
        issuer.stop()
