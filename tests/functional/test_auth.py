"""Registry authentication against real docker-registry instances: basic and bearer token."""

import pytest

from tests.support import fedora
from tests.support.oci import Pusher
from tests.support.pulp import unique
from tests.support.registry import LocalRegistry

from .conftest import WORKER_LOG, latest

USER = "kickstart"
PASSWORD = "s3cret-" + unique("pw")


@pytest.fixture(scope="module")
def basic_registry():
    with LocalRegistry(htpasswd=(USER, PASSWORD)) as running:
        yield running


def _push_tree(pusher):
    pusher.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=pusher.name))


def _worker_log_size():
    return WORKER_LOG.stat().st_size if WORKER_LOG.exists() else 0


def _worker_log_since(offset):
    if not WORKER_LOG.exists():
        return ""
    with open(WORKER_LOG, "rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


def test_basic_auth(api, basic_registry, make_remote, repository):
    pusher = Pusher(basic_registry.url, unique("private/kickstart"), auth=(USER, PASSWORD))
    _push_tree(pusher)
    log_offset = _worker_log_size()

    anonymous = api.sync(repository, make_remote(pusher), raise_on_failure=False)
    wrong = api.sync(
        repository,
        make_remote(pusher, username=USER, password="wrong-" + PASSWORD),
        raise_on_failure=False,
    )
    right = api.sync(repository, make_remote(pusher, username=USER, password=PASSWORD))

    assert anonymous["state"] == "failed"
    assert "requires basic authentication" in anonymous["error"]["description"]
    assert wrong["state"] == "failed"
    assert "HTTP 401" in wrong["error"]["description"]
    assert "check the remote's credentials" in wrong["error"]["description"]
    assert right["state"] == "completed"
    assert [t["arch"] for t in api.trees(latest(api, repository))] == ["x86_64"]
    # Credentials never reach task errors or the worker's log.
    for task in (anonymous, wrong):
        assert PASSWORD not in str(task["error"])
    assert PASSWORD not in _worker_log_since(log_offset)


def test_anonymous_bearer_token(api, token_registry_factory, make_remote, repository):
    issuer, registry = token_registry_factory()
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"])
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    api.sync(repository, make_remote(pusher))

    (tree,) = api.trees(latest(api, repository))
    assert tree["version"] == "42"
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


def test_bearer_token_with_credentials(api, token_registry_factory, make_remote, repository):
    # The token service is another origin than the registry: credentials go there over https.
    issuer, registry = token_registry_factory(credentials=(USER, PASSWORD), tls=True)
    pusher = _private_pusher(issuer, registry)
    _push_tree(pusher)
    log_offset = _worker_log_size()

    refused = api.sync(
        repository, make_remote(pusher, ca_cert=issuer.ca.pem), raise_on_failure=False
    )
    api.sync(
        repository,
        make_remote(pusher, username=USER, password=PASSWORD, ca_cert=issuer.ca.pem),
    )

    assert refused["state"] == "failed"
    assert "refused anonymous access" in refused["error"]["description"]
    assert issuer.issued[-1][1] == USER
    assert [t["version"] for t in api.trees(latest(api, repository))] == ["42"]
    assert PASSWORD not in _worker_log_since(log_offset)


def test_expired_tokens_are_refreshed(api, token_registry_factory, make_remote, repository):
    # Tokens announced for 11 s are used for 1 s (refreshed 10 s early); a rate
    # limit of 2 requests per second stretches the sync over several seconds.
    issuer, registry = token_registry_factory(expires_in=11)
    pusher = Pusher(registry.url, unique("fedora/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"])
    _push_tree(pusher)
    issued_before = len(issuer.issued)

    api.sync(repository, make_remote(pusher, rate_limit=2, download_concurrency=1))

    pulls = [s for s, _ in issuer.issued[issued_before:] if s.endswith(":pull")]
    assert len(pulls) >= 2
    assert len(api.trees(latest(api, repository))) == 1


def test_on_demand_files_are_fetched_through_the_registry_auth(
    api, token_registry_factory, make_remote, repository, distribute
):
    import requests

    issuer, registry = token_registry_factory(credentials=(USER, PASSWORD), tls=True)
    pusher = _private_pusher(issuer, registry)
    files = dict(fedora.tree_files("42", "amd64", salt=pusher.name))
    pusher.netboot("42-amd64", list(files.items()))
    remote = make_remote(
        pusher, username=USER, password=PASSWORD, policy="on_demand", ca_cert=issuer.ca.pem
    )
    api.sync(repository, remote)
    issued_before = len(issuer.issued)

    served = requests.get(f"{distribute(repository)}/42/x86_64/images/pxeboot/initrd.img")

    assert served.status_code == 200
    assert served.content == files["initrd.img"]
    assert len(issuer.issued) > issued_before  # the content app asked for its own token
    assert issuer.issued[-1] == (f"repository:{pusher.name}:pull", USER)


def test_credentials_never_go_to_a_plain_http_token_realm_on_another_origin(
    api, token_registry_factory, make_remote, repository
):
    issuer, registry = token_registry_factory(credentials=(USER, PASSWORD))
    pusher = Pusher(registry.url, unique("private/kickstart"))
    pusher.use_token(issuer.url, issuer.registry_config()["service"], credentials=(USER, PASSWORD))
    _push_tree(pusher)
    seen_before = len(issuer.authorizations)
    version_before = latest(api, repository)

    task = api.sync(
        repository, make_remote(pusher, username=USER, password=PASSWORD), raise_on_failure=False
    )

    assert task["state"] == "failed"
    assert "over plain http" in task["error"]["description"]
    assert PASSWORD not in str(task["error"])
    # The token service was never asked with the credentials.
    assert all(header is None for header in issuer.authorizations[seen_before:])
    assert latest(api, repository) == version_before
