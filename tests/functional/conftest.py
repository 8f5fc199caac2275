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
* Shared helpers live below, not in the test files: ``latest_version(repo)``,
  ``trees(version_href, **filters)``, ``tree_map(version_href)``,
  ``signatures(version_href, tree=...)``, ``list_all``,
  ``artifacts_with``, ``remote_repo(pusher)``, ``token_upstream()``, ``worker_logs``.
* A test that finds "the" worker through .run/pid/worker.pid also uses the
  ``single_worker`` fixture: the stack runs one worker while it runs.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import Pusher
from tests.support import database, guest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_LOG = REPO_ROOT / ".run" / "log" / "worker.log"


@pytest.fixture(autouse=True)
def _serial_runs_alone(request):
    """A serial test under pytest-xdist would disturb its neighbours: refuse, never skip."""
    if request.node.get_closest_marker("serial") and os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.fail(
            "a serial test under pytest-xdist would disturb its neighbours: "
            "run it alone (make test runs `pytest -m serial` after the rest)"
        )


@pytest.fixture
def single_worker():
    """The stack runs one worker during the test (dev/stack workers 1), PULP_WORKERS after."""
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


def all_results(method, **filters):
    """Every result of a paginated bindings list: ``all_results(api.list, **filters)``."""
    results, offset = [], 0
    while True:
        page = method(limit=200, offset=offset, **filters)
        results.extend(page.results)
        if not page.next:
            return results
        offset += 200


@pytest.fixture
def list_all():
    """``list_all(api.list, **filters)``: every result of a paginated bindings list."""
    return all_results


@pytest.fixture
def trees(kickstart_bindings):
    """``trees(version_href, **filters)``: every tree of a repository version (filters:
    ``arch``, ``version``, ``digest``, ...). Of a repository: ``trees(latest_version(repo))``."""

    def _trees(version_href, **filters):
        return all_results(
            kickstart_bindings.ContentTreesApi.list, repository_version=version_href, **filters
        )

    return _trees


@pytest.fixture
def tree_map(trees):
    """``tree_map(version_href)``: {(release, arch): tree} of a repository version."""

    def _tree_map(version_href):
        return {(t.version, t.arch): t for t in trees(version_href)}

    return _tree_map


@pytest.fixture
def signatures(kickstart_bindings):
    """``signatures(version_href, tree=None, **filters)``: the verifications a repository
    version holds (of one tree: ``tree=tree``, a tree or its href), oldest first."""

    def _signatures(version_href, tree=None, **filters):
        if tree is not None:
            filters["tree"] = getattr(tree, "pulp_href", tree)
        found = all_results(
            kickstart_bindings.ContentSignaturesApi.list,
            repository_version=version_href,
            **filters,
        )
        return sorted(found, key=lambda unit: unit.pulp_created)

    return _signatures


@pytest.fixture
def remote_repo(kickstart_oci_remote_factory, kickstart_repository_factory):
    """``remote, repository = remote_repo(pusher, **remote_fields)``: an OCI remote for
    ``pusher``'s repository and a new repository."""

    def _make(pusher, **fields):
        return kickstart_oci_remote_factory(pusher, **fields), kickstart_repository_factory()

    return _make


@pytest.fixture
def token_upstream(kickstart_token_registry_factory):
    """``issuer, registry, pusher = token_upstream(name="fedora/kickstart", credentials=None,
    **options)``: a registry behind its own token service
    (``kickstart_token_registry_factory(credentials, **options)``) and a pusher to a fresh
    repository ``unique(name)`` on it, taking its tokens there with ``credentials``
    (trusting ``issuer.ca`` when the service answers over https)."""

    def _start(name="fedora/kickstart", credentials=None, **options):
        issuer, registry = kickstart_token_registry_factory(credentials=credentials, **options)
        pusher = Pusher(registry.url, unique(name))
        pusher.use_token(
            issuer.url,
            issuer.registry_config()["service"],
            credentials=credentials,
            verify=issuer.ca.path if issuer.ca else True,
        )
        return issuer, registry, pusher

    return _start


class WorkerLogs:
    """What every pulpcore worker of the stack logged since this object was made.

    The stack runs several workers (``worker.log``, ``worker-2.log``, ...): a task may
    run on any of them, so every log is read.
    """

    def __init__(self):
        self.offsets = {path: path.stat().st_size for path in self._paths()}

    @staticmethod
    def _paths():
        return sorted(WORKER_LOG.parent.glob("worker*.log"))

    def since(self):
        text = []
        for path in self._paths():
            with open(path, "rb") as log:
                log.seek(self.offsets.get(path, 0))
                text.append(log.read().decode(errors="replace"))
        return "\n".join(text)


@pytest.fixture
def worker_logs():
    """``worker_logs.since()``: what every worker logged since the test began."""
    return WorkerLogs()


@pytest.fixture
def bootable_distribution(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    """``(distribution, marker)``: release 42/x86_64 of a real kernel and a busybox initramfs
    (tests/support/guest.py) synced and distributed with ``marker`` in its kernel_args and
    a kickstart URL, for the QEMU boot tests."""
    files = guest.boot_files()
    kickstart_upstream.netboot(
        "42-amd64",
        [
            ("vmlinuz", files["vmlinuz"]),
            ("initrd.img", files["initrd.img"]),
            ("install.img", fedora.stage2(kickstart_upstream.name)),
        ],
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(kickstart_upstream))
    (tree,) = trees(latest_version(repository))
    assert tree.warnings == []  # a real kernel and a real initramfs pass the checks
    marker = unique("kickstart.boot")
    distribution = kickstart_distribution_factory(
        repository,
        kernel_args=f"console=ttyS0 panic=-1 {marker}",
        kickstart_url=guest.KICKSTART_URL,
        boot_origin=guest.GUEST_ORIGIN,
    )
    return distribution, marker


def rewrite(path, old, new):
    """Replace the first ``old`` in the file at ``path`` (which must hold it) with ``new``."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def fails_and_changes_nothing(kickstart_sync, latest_version):
    """``fails_and_changes_nothing(repository, remote, *expected, **sync_options)``: the
    sync fails, its error names every ``expected`` text, the repository keeps its latest
    version, and no row the sync could write changed: the repository, its versions and
    their content, the upstream's trees (``source``, ``pulp_last_updated``, ...), their
    tags, signatures and files, the distributions serving the repository
    (tests/support/database.py). Returns the error message."""

    def _check(repository, remote, *expected, **sync_options):
        before = latest_version(repository)
        marker = database.marker_of(remote)
        rows = database.sync_footprint(repository.pulp_href, marker)
        task = kickstart_sync(repository, remote, expect_failure=True, **sync_options)
        assert task.state == "failed", task
        message = task.error["description"]
        for text in expected:
            assert text in message, message
        assert latest_version(repository) == before
        after = database.sync_footprint(repository.pulp_href, marker)
        assert after == rows, database.differences(rows, after)
        return message

    return _check
