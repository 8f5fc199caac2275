"""TLS, client certificates and HTTP proxies on real parts, for both sources.

Upstreams are the real Debian docker-registry (served over https, optionally
demanding client certificates) and a real dnf tree behind Python's ssl module;
the proxy is the real Debian tinyproxy. The remote fields under test are the
ones pulpcore's DownloaderFactory reads: ``ca_cert``, ``tls_validation``,
``client_cert``, ``client_key``, ``proxy_url``, ``proxy_username`` and
``proxy_password``.
"""

import re
import tempfile
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing.oci import Pusher
from pulp_kickstart_oci.testing.registry import LocalRegistry
from pulp_kickstart_oci.testing.tls import ThrowawayCA
from tests.support.tinyproxy import Tinyproxy

KERNEL = "42/x86_64/images/pxeboot/vmlinuz"
SOURCES = ("registry", "dnf")
PROXY_USER = "satellite"


# ---------------------------------------------------------------- support


@dataclass
class Upstream:
    """A fresh tree published on one source; ``remote(**fields)`` makes a remote for it."""

    kind: str
    host: str  # host:port, as errors and the proxy log name it
    kernel: bytes
    remote: Callable[..., Any]  # a bindings remote response
    remotes_api: Any  # the bindings API of that remote type (to read it back)


def _task_id(task):
    return task.pulp_href.rstrip("/").rsplit("/", 1)[-1]


def _key_lines(pem):
    """The base64 body lines of a PEM key: found however the key text is escaped or wrapped."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _hidden(remote):
    return {item.name: item.is_set for item in remote.hidden_fields}


def _assert_secret_hidden(upstream, remote, tasks, worker_logs, field, secret_parts):
    """``field`` is set but never shown: not in API responses, task records or the worker logs.

    The worker logs must hold both tasks, so the check cannot pass on an empty log.
    Returns the remote as the API shows it now.
    """
    shown = upstream.remotes_api.read(remote.pulp_href)
    assert _hidden(shown)[field] is True
    log = worker_logs.since()
    assert all(_task_id(task) in log for task in tasks)
    places = (
        ("the API response", remote.model_dump_json() + shown.model_dump_json()),
        ("a task", "".join(task.model_dump_json() for task in tasks)),
        ("the worker log", log),
    )
    for part in secret_parts:
        for where, text in places:
            assert part not in text, f"{field} shown in {where}"
    return shown


def _failed(task):
    assert task.state == "failed", task
    return task.error["description"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="kickstart-tls-") as directory:
        yield directory


@pytest.fixture(scope="module")
def ca(workdir):
    """The CA that signs every upstream's server certificate."""
    return ThrowawayCA(workdir, name="kickstart upstream CA")


@pytest.fixture(scope="module")
def client_ca(workdir):
    """The CA upstreams that want client certificates trust (not the server CA)."""
    return ThrowawayCA(workdir, name="kickstart client CA")


@pytest.fixture(scope="module")
def stranger_ca(workdir):
    """A CA that signed nothing the upstreams serve."""
    return ThrowawayCA(workdir, name="kickstart stranger CA")


@pytest.fixture(scope="module")
def tls_registry(ca):
    with LocalRegistry(tls=ca) as running:
        yield running


@pytest.fixture(scope="module")
def mtls_registry(ca, client_ca):
    with LocalRegistry(tls=ca, client_ca=client_ca) as running:
        yield running


@pytest.fixture
def publish(
    kickstart_bindings,
    kickstart_oci_remote_factory,
    kickstart_dnf_remote_factory,
    kickstart_publish_release,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
):
    """Publish a fresh release-42 x86_64 tree: ``registry`` on a LocalRegistry, or
    ``dnf`` on a new tree server (``ssl_context`` for https)."""

    def _registry(registry, pusher=None):
        if pusher is None:
            pusher = Pusher(registry.url, unique("fedora/kickstart"))
            options = registry.requests_options()
            # REQUESTS_CA_BUNDLE in the environment would override the session's CA.
            pusher.session.trust_env = False
            pusher.session.verify = options.get("verify", True)
            pusher.session.cert = options.get("cert")
        published = kickstart_publish_release(pusher, "42", archs=("amd64",))
        kernel = dict(published["files"]["amd64"])["vmlinuz"]
        return Upstream(
            "registry",
            f"127.0.0.1:{registry.port}",
            kernel,
            lambda **fields: kickstart_oci_remote_factory(pusher, **fields),
            kickstart_bindings.RemotesOciApi,
        )

    def _dnf(ssl_context=None):
        tree = kickstart_dnf_tree_factory(salt=unique("-tls"))
        server = kickstart_tree_server_factory(tree, ssl_context=ssl_context)
        return Upstream(
            "dnf",
            server.url.split("://", 1)[1].rstrip("/"),
            tree.images["images/pxeboot/vmlinuz"],
            lambda **fields: kickstart_dnf_remote_factory(server, **fields),
            kickstart_bindings.RemotesDnfApi,
        )

    return SimpleNamespace(registry=_registry, dnf=_dnf)


@pytest.fixture
def https_upstream(request, publish, tls_registry, ca):
    """A fresh tree on an https upstream whose certificate ``ca`` signed."""
    if request.param == "registry":
        return publish.registry(tls_registry)
    return publish.dnf(ssl_context=ca.server_context())


@pytest.fixture
def mtls_upstream(request, publish, mtls_registry, ca, client_ca):
    """A fresh tree on an https upstream that demands a client certificate from ``client_ca``."""
    if request.param == "registry":
        return publish.registry(mtls_registry)
    return publish.dnf(ssl_context=ca.server_context(require_client_cert=client_ca))


@pytest.fixture
def start_proxy(workdir):
    started = []

    def _start(credentials=None):
        proxy = Tinyproxy(workdir, credentials=credentials).start()
        started.append(proxy)
        return proxy

    yield _start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def kernel_entry(trees, latest_version):
    """``kernel_entry(repository)``: the kernel's file entry in the latest version's tree."""

    def _entry(repository):
        synced = trees(latest_version(repository))
        assert len(synced) == 1, synced
        (tree,) = synced
        (entry,) = [item for item in tree.files if item.path == "images/pxeboot/vmlinuz"]
        return entry

    return _entry


@pytest.fixture
def served_kernel(kickstart_distribution_factory):
    """``served_kernel(repository)``: serve the repository, GET its kernel from the content app."""

    def _served(repository):
        base = kickstart_distribution_factory(repository).base_url
        response = requests.get(f"{base}{KERNEL}", timeout=60)
        assert response.status_code == 200
        return response.content

    return _served


# ---------------------------------------------------------------- 1. TLS with a private CA


@pytest.mark.parametrize("https_upstream", SOURCES, indirect=True)
def test_ca_cert_makes_a_private_ca_trusted(
    https_upstream,
    ca,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    served_kernel,
):
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, https_upstream.remote(ca_cert=ca.pem))

    assert task.state == "completed"
    synced = trees(latest_version(repository))
    (tree,) = synced
    assert len(synced) == 1
    assert (tree.version, tree.arch) == ("42", "x86_64")
    assert served_kernel(repository) == https_upstream.kernel


@pytest.mark.parametrize("https_upstream", SOURCES, indirect=True)
def test_an_unknown_ca_fails_naming_the_host(
    https_upstream, kickstart_repository_factory, kickstart_sync, latest_version
):
    repository = kickstart_repository_factory()
    remote = https_upstream.remote(max_retries=1)
    assert remote.ca_cert is None and remote.tls_validation is True

    task = kickstart_sync(repository, remote, expect_failure=True)

    description = _failed(task)
    assert "certificate verify failed" in description
    assert https_upstream.host in description
    assert latest_version(repository).endswith("/versions/0/")


@pytest.mark.parametrize("https_upstream", SOURCES, indirect=True)
def test_tls_validation_false_accepts_any_certificate(
    https_upstream, kickstart_repository_factory, kickstart_sync, served_kernel
):
    repository = kickstart_repository_factory()
    remote = https_upstream.remote(tls_validation=False)
    assert remote.tls_validation is False

    kickstart_sync(repository, remote)

    assert served_kernel(repository) == https_upstream.kernel


@pytest.mark.parametrize("https_upstream", SOURCES, indirect=True)
def test_a_wrong_ca_fails_naming_the_host(
    https_upstream, stranger_ca, kickstart_repository_factory, kickstart_sync, latest_version
):
    repository = kickstart_repository_factory()
    remote = https_upstream.remote(ca_cert=stranger_ca.pem, max_retries=1)

    task = kickstart_sync(repository, remote, expect_failure=True)

    description = _failed(task)
    assert "certificate verify failed" in description
    assert https_upstream.host in description
    assert latest_version(repository).endswith("/versions/0/")


# ---------------------------------------------------------------- 2. client certificates


@pytest.mark.parametrize("mtls_upstream", SOURCES, indirect=True)
def test_client_certificate_authentication(
    mtls_upstream,
    ca,
    client_ca,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    served_kernel,
    worker_logs,
):
    repository = kickstart_repository_factory()
    client_cert, client_key = client_ca.client_pems("pulp worker")

    refused = kickstart_sync(
        repository, mtls_upstream.remote(ca_cert=ca.pem, max_retries=1), expect_failure=True
    )
    remote = mtls_upstream.remote(ca_cert=ca.pem, client_cert=client_cert, client_key=client_key)
    accepted = kickstart_sync(repository, remote)

    description = _failed(refused)
    assert mtls_upstream.host in description
    # The TLS alert the server sent: Go says "bad certificate", OpenSSL "certificate required".
    assert re.search(r"alert (bad certificate|certificate required)", description), description
    assert latest_version(repository).endswith("/versions/1/")
    assert accepted.state == "completed"
    assert served_kernel(repository) == mtls_upstream.kernel

    # client_key is write-only: stored, but never shown again.
    shown = _assert_secret_hidden(
        mtls_upstream,
        remote,
        (refused, accepted),
        worker_logs,
        "client_key",
        _key_lines(client_key),
    )
    assert shown.client_cert.strip() == client_cert.strip()


# ---------------------------------------------------------------- 3. HTTP proxies


def test_registry_through_a_proxy_token_requests_included(
    token_upstream,
    publish,
    start_proxy,
    kickstart_repository_factory,
    kickstart_sync,
    served_kernel,
):
    repository = kickstart_repository_factory()
    issuer, registry, pusher = token_upstream()
    upstream = publish.registry(registry, pusher=pusher)
    proxy = start_proxy()
    issued_before = len(issuer.issued)

    kickstart_sync(repository, upstream.remote(proxy_url=proxy.url))

    assert served_kernel(repository) == upstream.kernel
    assert len(issuer.issued) > issued_before
    log = proxy.log()
    base = f"http://{upstream.host}/v2/{pusher.name}"
    assert f"GET {base}/tags/list" in log
    assert f"GET {base}/manifests/42-amd64" in log
    assert f"GET {base}/blobs/sha256:" in log
    # The token service is another origin; its requests go through the proxy too.
    assert f"GET {issuer.url}?" in log


def test_dnf_through_a_proxy_head_requests_included(
    publish,
    start_proxy,
    kickstart_repository_factory,
    kickstart_sync,
    kernel_entry,
    served_kernel,
):
    repository = kickstart_repository_factory()
    upstream = publish.dnf()
    proxy = start_proxy()

    kickstart_sync(repository, upstream.remote(proxy_url=proxy.url, policy="on_demand"))

    log = proxy.log()
    base = f"http://{upstream.host}"
    assert f"GET {base}/.treeinfo" in log
    assert f"GET {base}/repodata/repomd.xml" in log
    assert f"GET {base}/Packages/s/shim-x64-15.8-3.x86_64.rpm" in log
    # on_demand: image sizes come from HEAD requests, which use the proxy as well.
    assert f"HEAD {base}/images/pxeboot/vmlinuz" in log
    assert f"GET {base}/images/pxeboot/vmlinuz" not in log
    assert kernel_entry(repository).size == len(upstream.kernel)  # HEAD answered
    # The content app fetches the on-demand kernel through the remote's proxy.
    assert served_kernel(repository) == upstream.kernel
    assert f"GET {base}/images/pxeboot/vmlinuz" in proxy.log()


@pytest.mark.parametrize("source", SOURCES)
def test_a_proxy_that_requires_credentials(
    source,
    token_upstream,
    publish,
    start_proxy,
    kickstart_repository_factory,
    kickstart_sync,
    kernel_entry,
    served_kernel,
    worker_logs,
):
    repository = kickstart_repository_factory()
    password = "proxy-" + unique("pw")
    proxy = start_proxy(credentials=(PROXY_USER, password))
    if source == "registry":
        issuer, registry, pusher = token_upstream()
        upstream = publish.registry(registry, pusher=pusher)
        side_request = f"GET {issuer.url}?"  # the bearer token, from another origin
    else:
        upstream = publish.dnf()
        side_request = f"HEAD http://{upstream.host}/images/pxeboot/vmlinuz"  # an image size

    refused = kickstart_sync(
        repository,
        upstream.remote(proxy_url=proxy.url, max_retries=1),
        expect_failure=True,
    )
    remote = upstream.remote(
        proxy_url=proxy.url,
        proxy_username=PROXY_USER,
        proxy_password=password,
        policy="on_demand",
    )
    accepted = kickstart_sync(repository, remote)

    description = _failed(refused)
    assert "407" in description and "proxy_username" in description
    assert upstream.host in description
    assert accepted.state == "completed"
    # on_demand: the dnf size HEADs went through the proxy with its credentials too.
    assert kernel_entry(repository).size == len(upstream.kernel)
    assert served_kernel(repository) == upstream.kernel
    assert f"GET http://{upstream.host}/" in proxy.log()
    assert side_request in proxy.log()

    shown = _assert_secret_hidden(
        upstream, remote, (refused, accepted), worker_logs, "proxy_password", [password]
    )
    assert _hidden(shown)["proxy_username"] is True


def test_https_registry_through_a_proxy_tunnel(
    publish,
    tls_registry,
    ca,
    start_proxy,
    kickstart_repository_factory,
    kickstart_sync,
    served_kernel,
):
    repository = kickstart_repository_factory()
    upstream = publish.registry(tls_registry)
    proxy = start_proxy()

    kickstart_sync(repository, upstream.remote(proxy_url=proxy.url, ca_cert=ca.pem))

    assert served_kernel(repository) == upstream.kernel
    assert f"CONNECT {upstream.host} " in proxy.log()
