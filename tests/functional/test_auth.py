"""Registry authentication against real docker-registry instances: basic and bearer token."""

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import Pusher
from pulp_kickstart_oci.testing.registry import LocalRegistry

USER = "kickstart"
PASSWORD = "s3cret-" + unique("pw")


@pytest.fixture(scope="module")
def basic_registry():
    with LocalRegistry(htpasswd=(USER, PASSWORD)) as running:
        yield running


def _push_tree(pusher):
    pusher.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=pusher.name))


def test_basic_auth(
    basic_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    worker_logs,
):
    repository = kickstart_repository_factory()
    pusher = Pusher(basic_registry.url, unique("private/kickstart"), auth=(USER, PASSWORD))
    _push_tree(pusher)

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
    assert [t.arch for t in trees(latest_version(repository))] == ["x86_64"]
    # Credentials never reach task errors or the worker's log.
    for task in (anonymous, wrong):
        assert PASSWORD not in str(task.error)
    assert PASSWORD not in worker_logs.since()


def test_anonymous_bearer_token(
    token_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    repository = kickstart_repository_factory()
    issuer, _, pusher = token_upstream()
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    kickstart_sync(repository, kickstart_oci_remote_factory(pusher))

    (tree,) = trees(latest_version(repository))
    assert tree.version == "42"
    pulls = issuer.issued[issued_before:]
    assert pulls and all(scope == f"repository:{pusher.name}:pull" for scope, _ in pulls)
    assert {user for _, user in pulls} == {"anonymous"}


def test_bearer_token_with_credentials(
    token_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    worker_logs,
):
    repository = kickstart_repository_factory()
    # The token service is another origin than the registry: credentials go there over https.
    issuer, _, pusher = token_upstream("private/kickstart", credentials=(USER, PASSWORD), tls=True)
    _push_tree(pusher)

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
    assert [t.version for t in trees(latest_version(repository))] == ["42"]
    assert PASSWORD not in worker_logs.since()


def test_expired_tokens_are_refreshed(
    token_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    repository = kickstart_repository_factory()
    # Tokens announced for 11 s are used for 1 s (refreshed 10 s early); a rate
    # limit of 2 requests per second stretches the sync over several seconds.
    issuer, _, pusher = token_upstream(expires_in=11)
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    kickstart_sync(
        repository, kickstart_oci_remote_factory(pusher, rate_limit=2, download_concurrency=1)
    )

    pulls = [s for s, _ in issuer.issued[issued_before:] if s.endswith(":pull")]
    assert len(pulls) >= 2
    assert len(trees(latest_version(repository))) == 1


def test_on_demand_files_are_fetched_through_the_registry_auth(
    token_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    repository = kickstart_repository_factory()
    issuer, _, pusher = token_upstream("private/kickstart", credentials=(USER, PASSWORD), tls=True)
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
    token_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    repository = kickstart_repository_factory()
    issuer, _, pusher = token_upstream("private/kickstart", credentials=(USER, PASSWORD))
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
