"""Registry authentication against real docker-registry instances: basic and bearer token."""

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from tests.support import fedora
from tests.support.oci import Pusher
from tests.support.registry import LocalRegistry

from .conftest import WORKER_LOG

USER = "kickstart"
PASSWORD = "s3cret-" + unique("pw")


@pytest.fixture(scope="module")
def basic_registry():
    with LocalRegistry(htpasswd=(USER, PASSWORD)) as running:
        yield running


@pytest.fixture
def trees(kickstart_bindings, list_all, latest_version):
    """``trees(repository)``: the trees of the repository's latest version."""

    def _trees(repository):
        return list_all(
            kickstart_bindings.ContentTreesApi.list,
            repository_version=latest_version(repository),
        )

    return _trees


def _push_tree(pusher):
    pusher.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=pusher.name))


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


def test_basic_auth(
    basic_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    trees,
):
    repository = kickstart_repository_factory()
    pusher = Pusher(basic_registry.url, unique("private/kickstart"), auth=(USER, PASSWORD))
    _push_tree(pusher)
    worker_logs = WorkerLogs()

    anonymous = kickstart_sync(
        repository, kickstart_oci_remote_factory(pusher), expect_failure=True
    )
    wrong = kickstart_sync(
        repository,
        kickstart_oci_remote_factory(pusher, username=USER, password="wrong-" + PASSWORD),
        expect_failure=True,
    )
    right = kickstart_sync(
        repository, kickstart_oci_remote_factory(pusher, username=USER, password=PASSWORD)
    )

    assert anonymous.state == "failed"
    assert "requires basic authentication" in anonymous.error["description"]
    assert wrong.state == "failed"
    assert "HTTP 401" in wrong.error["description"]
    assert "check the remote's credentials" in wrong.error["description"]
    assert right.state == "completed"
    assert [t.arch for t in trees(repository)] == ["x86_64"]
    # Credentials never reach task errors or the worker's log.
    for task in (anonymous, wrong):
        assert PASSWORD not in str(task.error)
    assert PASSWORD not in worker_logs.since()


def test_anonymous_bearer_token(
    kickstart_token_registry_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    trees,
):
    repository = kickstart_repository_factory()
    issuer, registry = kickstart_token_registry_factory()
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"])
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    kickstart_sync(repository, kickstart_oci_remote_factory(pusher))

    (tree,) = trees(repository)
    assert tree.version == "42"
    pulls = issuer.issued[issued_before:]
    assert pulls and all(scope == f"repository:{pusher.name}:pull" for scope, _ in pulls)
    assert {user for _, user in pulls} == {"anonymous"}


def _private_pusher(issuer, registry):
    pusher = Pusher(registry.url, unique("private/kickstart"))
    pusher.use_token(
        issuer.url,
        issuer.registry_config()["service"],
        credentials=(USER, PASSWORD),
        verify=issuer.ca.path if issuer.ca else True,
    )
    return pusher


def test_bearer_token_with_credentials(
    kickstart_token_registry_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    trees,
):
    repository = kickstart_repository_factory()
    # The token service is another origin than the registry: credentials go there over https.
    issuer, registry = kickstart_token_registry_factory(credentials=(USER, PASSWORD), tls=True)
    pusher = _private_pusher(issuer, registry)
    _push_tree(pusher)
    worker_logs = WorkerLogs()

    refused = kickstart_sync(
        repository,
        kickstart_oci_remote_factory(pusher, ca_cert=issuer.ca.pem),
        expect_failure=True,
    )
    kickstart_sync(
        repository,
        kickstart_oci_remote_factory(
            pusher, username=USER, password=PASSWORD, ca_cert=issuer.ca.pem
        ),
    )

    assert refused.state == "failed"
    assert "refused anonymous access" in refused.error["description"]
    assert issuer.issued[-1][1] == USER
    assert [t.version for t in trees(repository)] == ["42"]
    assert PASSWORD not in worker_logs.since()


def test_expired_tokens_are_refreshed(
    kickstart_token_registry_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    trees,
):
    repository = kickstart_repository_factory()
    # Tokens announced for 11 s are used for 1 s (refreshed 10 s early); a rate
    # limit of 2 requests per second stretches the sync over several seconds.
    issuer, registry = kickstart_token_registry_factory(expires_in=11)
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"])
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    kickstart_sync(
        repository, kickstart_oci_remote_factory(pusher, rate_limit=2, download_concurrency=1)
    )

    pulls = [s for s, _ in issuer.issued[issued_before:] if s.endswith(":pull")]
    assert len(pulls) >= 2
    assert len(trees(repository)) == 1


def test_on_demand_files_are_fetched_through_the_registry_auth(
    kickstart_token_registry_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    repository = kickstart_repository_factory()
    issuer, registry = kickstart_token_registry_factory(credentials=(USER, PASSWORD), tls=True)
    pusher = _private_pusher(issuer, registry)
    files = dict(fedora.tree_files("42", "amd64", salt=pusher.name))
    pusher.netboot("42-amd64", list(files.items()))
    remote = kickstart_oci_remote_factory(
        pusher, username=USER, password=PASSWORD, policy="on_demand", ca_cert=issuer.ca.pem
    )
    kickstart_sync(repository, remote)
    issued_before = len(issuer.issued)
    base = kickstart_distribution_factory(repository).base_url

    served = requests.get(f"{base}42/x86_64/images/pxeboot/initrd.img", timeout=60)

    assert served.status_code == 200
    assert served.content == files["initrd.img"]
    assert len(issuer.issued) > issued_before  # the content app asked for its own token
    assert issuer.issued[-1] == (f"repository:{pusher.name}:pull", USER)


def test_credentials_never_go_to_a_plain_http_token_realm_on_another_origin(
    kickstart_token_registry_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    repository = kickstart_repository_factory()
    issuer, registry = kickstart_token_registry_factory(credentials=(USER, PASSWORD))
    pusher = Pusher(registry.url, unique("private/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"], credentials=(USER, PASSWORD))
    _push_tree(pusher)
    seen_before = len(issuer.authorizations)
    version_before = latest_version(repository)

    task = kickstart_sync(
        repository,
        kickstart_oci_remote_factory(pusher, username=USER, password=PASSWORD),
        expect_failure=True,
    )

    assert task.state == "failed"
    assert "over plain http" in task.error["description"]
    assert PASSWORD not in str(task.error)
    # The token service was never asked with the credentials.
    assert all(header is None for header in issuer.authorizations[seen_before:])
    assert latest_version(repository) == version_before
