"""Functional tests: a live Pulp (dev/stack) and real upstreams.

How a test uses the harness (tests/functional/test_sync.py and test_api.py are the models):

* Talk to Pulp through the generated client: ``kickstart_bindings.<X>Api`` (ours,
  ``make bindings``) and ``pulpcore_bindings`` (tasks, artifacts, ...). Results are
  pydantic objects: ``repo.latest_version_href``, ``task.state``, not dicts.
* Create Pulp objects with the factories of pulp_kickstart_oci/pytest_plugin.py
  (``kickstart_oci_remote_factory``, ``kickstart_dnf_remote_factory``,
  ``kickstart_repository_factory``, ``kickstart_distribution_factory``): unique names,
  deleted afterwards. Sync with ``kickstart_sync(repo, remote)`` or
  ``monitor_task(kickstart_bindings.RepositoriesKickstartApi.sync(href, body).task)``.
* Upstreams are fixtures too, each on a free port: ``kickstart_upstream`` (a fresh
  repository in ``kickstart_registry``), ``kickstart_publish_release``,
  ``kickstart_token_registry_factory``, ``kickstart_fault_proxy_factory``,
  ``kickstart_dnf_tree_factory``, ``kickstart_tree_server_factory``.
* Tests run in parallel (pytest-xdist): never rely on another test's objects or
  bytes (salt upstream data with a unique name), never use a fixed port. A test
  that disturbs the shared stack (kills or restarts a process, starts a second
  content app, boots QEMU, runs README commands) is marked ``@pytest.mark.serial``
  and runs alone in make test's second phase (``pytest -m serial``).

The ``api`` fixture (tests.support.pulp.PulpAPI, plain requests returning dicts) and
the fixtures below built on it (``make_remote``, ``repository``, ``distribute``,
``make_dnf_remote``, ``cleanup``) remain for the files not converted yet.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.pulp import CONTENT, PulpAPI, unique

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_LOG = REPO_ROOT / ".run" / "log" / "worker.log"

# Tests that disturb the shared stack, in files not converted yet: marked serial here
# (a converted file says @pytest.mark.serial itself). Node ids relative to tests/functional.
SERIAL = (
    "test_boot.py",  # boots QEMU against the stack's content app: CPU-bound, timed
    "test_readme_commands.py",  # runs `make run` (dev/stack start, the sample)
    "test_cache.py",  # a second pulpcore-content on the stack's Redis
    "test_faults.py::test_worker_killed_mid_sync_fails_the_task_and_a_resync_completes",
)
# Serial tests that find "the" worker through .run/pid/worker.pid: they run while the
# stack has a single worker (dev/stack workers 1), and get PULP_WORKERS back after.
SINGLE_WORKER = (
    "test_faults.py::test_worker_killed_mid_sync_fails_the_task_and_a_resync_completes",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        nodeid = item.nodeid.split("tests/functional/", 1)[-1]
        if nodeid.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)
        if nodeid.startswith(SINGLE_WORKER):
            item.add_marker(pytest.mark.usefixtures("single_worker"))


@pytest.fixture(autouse=True)
def _serial_runs_alone(request):
    """A serial test under pytest-xdist would disturb its neighbours: skip it there."""
    if request.node.get_closest_marker("serial") and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("serial: runs alone (make test runs `pytest -m serial` after the rest)")


@pytest.fixture
def single_worker():
    stack = str(REPO_ROOT / "dev" / "stack")
    subprocess.run([stack, "workers", "1"], check=True, capture_output=True, timeout=300)
    yield
    subprocess.run(
        [stack, "workers", os.environ.get("PULP_WORKERS", "3")],
        check=True,
        capture_output=True,
        timeout=300,
    )


# -- helpers for tests on the bindings ---------------------------------------------------


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def progress(task):
    """A task's progress reports by code (bindings objects: ``.done``, ``.state``)."""
    return {report.code: report for report in task.progress_reports}


@pytest.fixture
def latest_version(kickstart_bindings):
    """``latest_version(repo)``: the repository's latest version href, read now."""

    def _latest(repo):
        return kickstart_bindings.RepositoriesKickstartApi.read(repo.pulp_href).latest_version_href

    return _latest


@pytest.fixture
def artifacts_with(pulpcore_bindings):
    """``artifacts_with(data)``: how many artifacts Pulp holds with these bytes."""

    def _count(data):
        return pulpcore_bindings.ArtifactsApi.list(sha256=sha256(data)).count

    return _count


@pytest.fixture
def list_all():
    """``list_all(api.list, **filters)``: every result of a paginated bindings list."""

    def _list_all(method, **filters):
        results, offset = [], 0
        while True:
            page = method(limit=200, offset=offset, **filters)
            results.extend(page.results)
            if not page.next:
                return results
            offset += 200

    return _list_all


# -- the REST API as dicts (files not converted yet) ----------------------------------------


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
def registry(kickstart_registry):
    return kickstart_registry


@pytest.fixture
def upstream(kickstart_upstream):
    """A fresh repository in the anonymous registry."""
    return kickstart_upstream


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


@pytest.fixture(scope="session")
def publish_release(kickstart_publish_release):
    """Push release N as upstream does: N-ARCH manifests plus an index N."""
    return kickstart_publish_release


@pytest.fixture
def serve_tree(kickstart_tree_server_factory):
    """Serve a dnf tree (tests.support.dnf) over local HTTP; stopped after the test."""
    return kickstart_tree_server_factory


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
def token_dir(kickstart_workdir):
    return str(kickstart_workdir)


@pytest.fixture
def token_registry_factory(kickstart_token_registry_factory):
    """A registry behind bearer-token auth, with its own token issuer."""
    return kickstart_token_registry_factory


def latest(api, repo):
    return api.get(repo["pulp_href"])["latest_version_href"]


def reports(task):
    return {report["code"]: report for report in task["progress_reports"]}


def artifact_count(api, data):
    return api.get("artifacts/", sha256=sha256(data))["count"]
