"""Pulp's pytest harness for pulp_kickstart_oci (registered under ``pytest11``).

It builds on pulpcore's own plugin (``pulpcore.pytest_plugin``: ``bindings_cfg``,
``monitor_task``, ``gen_object_with_cleanup``, ``pulpcore_bindings``, ...) the way
pulp_file and pulp_rpm do, and adds:

* ``kickstart_bindings``: the generated client ``pulpcore.client.pulp_kickstart_oci``
  (``make bindings``), e.g. ``kickstart_bindings.RepositoriesKickstartApi.sync(href, body)``;
* factories that create Pulp objects with unique names and delete them afterwards:
  ``kickstart_oci_remote_factory``, ``kickstart_dnf_remote_factory``,
  ``kickstart_pulp_remote_factory``, ``kickstart_repository_factory``,
  ``kickstart_distribution_factory``, plus ``kickstart_sync`` (sync, wait, return the task);
* upstreams: ``kickstart_registry`` (a real docker-registry on a free port),
  ``kickstart_upstream`` (a fresh repository in it), ``kickstart_publish_release``,
  ``kickstart_token_registry_factory`` (a registry behind a bearer-token issuer),
  ``kickstart_fault_proxy_factory`` (a fault-injecting proxy in front of any URL),
  ``kickstart_dnf_tree_factory`` (a real signed-or-not Fedora-like dnf tree) and
  ``kickstart_tree_server_factory`` (serves a tree over http(s) on a free port).

Every port is a free one and every name is unique, so tests can run in parallel
(pytest-xdist) against one Pulp.

The upstream fixtures drive the test servers of ``pulp_kickstart_oci.testing`` (a
docker-registry runner, a token issuer, a fault proxy, a dnf tree builder, an OCI
pusher), which ship in the wheel, so the plugin works from an installed package, from
any directory. Each fixture imports its server when it runs: loading this plugin (every
pytest run where the package is installed) imports nothing beyond pytest and pulpcore's
test utilities. The upstreams need the programs they run (``docker-registry``;
``rpmbuild``, ``createrepo_c`` and ``gpg`` for dnf trees).
"""

import os
import uuid

import pytest

from pulpcore.tests.functional.utils import BindingsNamespace


def unique(prefix):
    """A name no other test (or xdist worker) uses: ``prefix-<8 hex digits>``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _href(obj):
    """The pulp_href of a bindings object, a dict from the REST API, or a string."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        return obj["pulp_href"]
    return obj.pulp_href


# -- bindings and Pulp objects ------------------------------------------------------------


@pytest.fixture(scope="session")
def kickstart_bindings(_api_client_set, bindings_cfg):
    """A namespace of preconfigured pulp_kickstart_oci API clients.

    e.g. ``kickstart_bindings.RemotesOciApi.list()``; ``.ApiException`` is the error type,
    models are attributes too (``kickstart_bindings.KickstartRepositorySync``).
    """
    from pulpcore.client import pulp_kickstart_oci

    api_client = pulp_kickstart_oci.ApiClient(bindings_cfg)
    _api_client_set.add(api_client)
    yield BindingsNamespace(pulp_kickstart_oci, api_client)
    _api_client_set.remove(api_client)


@pytest.fixture(scope="class")
def kickstart_oci_remote_factory(kickstart_bindings, gen_object_with_cleanup):
    """Create an OCI (registry) remote: ``factory(pusher=None, **fields)``.

    ``pusher`` (a pulp_kickstart_oci.testing.oci.Pusher, e.g. ``kickstart_upstream``) gives ``url``,
    ``upstream_name`` and its ``remote_fields`` (``token_origins`` of a token registry);
    ``fields`` are any other KickstartOciRemote field.
    """

    def _factory(pusher=None, **fields):
        body = {"name": unique("oci")}
        if pusher is not None:
            body.update(url=pusher.base, upstream_name=pusher.name)
            body.update(getattr(pusher, "remote_fields", {}))
        body.update(fields)
        return gen_object_with_cleanup(kickstart_bindings.RemotesOciApi, body)

    return _factory


@pytest.fixture(scope="class")
def kickstart_dnf_remote_factory(kickstart_bindings, gen_object_with_cleanup):
    """Create a dnf remote: ``factory(server=None, **fields)``.

    ``server`` is anything with a ``url`` (a tree server, a proxy in front of one): the
    remote's url is its root. ``fields`` are any other KickstartDnfRemote field.
    """

    def _factory(server=None, **fields):
        body = {"name": unique("dnf")}
        if server is not None:
            body["url"] = server.url.rstrip("/") + "/"
        body.update(fields)
        return gen_object_with_cleanup(kickstart_bindings.RemotesDnfApi, body)

    return _factory


@pytest.fixture(scope="class")
def kickstart_pulp_remote_factory(kickstart_bindings, gen_object_with_cleanup):
    """Create a Pulp remote (another Pulp's distribution): ``factory(url=None, **fields)``.

    ``url``: the distribution's base URL (its ``base_url``, or a server serving a copy of
    one); ``fields`` are any other KickstartPulpRemote field.
    """

    def _factory(url=None, **fields):
        body = {"name": unique("pulp")}
        if url is not None:
            body["url"] = url.rstrip("/") + "/"
        body.update(fields)
        return gen_object_with_cleanup(kickstart_bindings.RemotesPulpApi, body)

    return _factory


@pytest.fixture(scope="class")
def kickstart_coreos_remote_factory(kickstart_bindings, gen_object_with_cleanup):
    """Create a CoreOS remote: ``factory(url=None, **fields)``.

    ``url``: a stream metadata document's URL (``CoreosUpstream.stream_url`` of
    ``pulp_kickstart_oci.testing.coreos``); ``fields`` are any other KickstartCoreosRemote
    field.
    """

    def _factory(url=None, **fields):
        body = {"name": unique("coreos")}
        if url is not None:
            body["url"] = url
        body.update(fields)
        return gen_object_with_cleanup(kickstart_bindings.RemotesCoreosApi, body)

    return _factory


@pytest.fixture(scope="class")
def kickstart_repository_factory(kickstart_bindings, gen_object_with_cleanup):
    """Create a kickstart repository: ``factory(**fields)`` (``remote`` may be an object)."""

    def _factory(**fields):
        body = {"name": unique("repo"), **fields}
        if "remote" in body:
            body["remote"] = _href(body["remote"])
        return gen_object_with_cleanup(kickstart_bindings.RepositoriesKickstartApi, body)

    return _factory


@pytest.fixture(scope="class")
def kickstart_distribution_factory(
    kickstart_bindings, gen_object_with_cleanup, distribution_base_url
):
    """Serve a repository: ``factory(repository=None, **fields)``.

    The distribution's ``base_url`` is made absolute (``http://127.0.0.1:24816/pulp/
    content/<base_path>/`` on the dev stack), so ``requests.get(dist.base_url + path)``
    fetches a served file.
    """

    def _factory(repository=None, **fields):
        base_path = unique("kickstart")
        body = {"name": base_path, "base_path": base_path, **fields}
        if repository is not None:
            body["repository"] = _href(repository)
        distribution = gen_object_with_cleanup(kickstart_bindings.DistributionsKickstartApi, body)
        distribution.base_url = distribution_base_url(distribution.base_url)
        return distribution

    return _factory


@pytest.fixture(scope="session")
def kickstart_sync(kickstart_bindings, monitor_task, pulpcore_bindings):
    """Sync a repository and wait: ``kickstart_sync(repository, remote=None, **options)``.

    ``options`` are KickstartRepositorySync fields (``mirror``, ``optimize``, ...).
    Returns the finished task; a failed task raises ``PulpTaskError`` unless
    ``expect_failure=True``, which returns the failed task instead (and fails the
    test if the sync completed).
    """
    from pulpcore.tests.functional.utils import PulpTaskError

    def _sync(repository, remote=None, expect_failure=False, **options):
        body = dict(options)
        if remote is not None:
            body["remote"] = _href(remote)
        response = kickstart_bindings.RepositoriesKickstartApi.sync(_href(repository), body)
        if not expect_failure:
            return monitor_task(response.task)
        try:
            task = monitor_task(response.task)
        except PulpTaskError as error:
            return error.task
        pytest.fail(f"the sync was expected to fail but completed: {task.pulp_href}")

    return _sync


# -- upstreams (servers from pulp_kickstart_oci.testing) ------------------------------------


@pytest.fixture(scope="session")
def kickstart_registry():
    """A real, anonymous docker-registry on a free port (one per xdist worker).

    Its storage is on disk (``blob_file(digest)``, ``delete_tag(name, tag)`` let tests
    corrupt or remove upstream data); give every test its own repository in it
    (``kickstart_upstream``).
    """
    from .testing.registry import LocalRegistry

    with LocalRegistry() as running:
        yield running


@pytest.fixture
def kickstart_upstream(kickstart_registry):
    """A fresh repository in ``kickstart_registry``: a pulp_kickstart_oci.testing.oci.Pusher."""
    from .testing.oci import Pusher

    return Pusher(kickstart_registry.url, unique("fedora/kickstart"))


@pytest.fixture(scope="session")
def kickstart_publish_release():
    """Push release N as upstream does: N-ARCH manifests plus an index N.

    ``publish(pusher, release, archs=("amd64", "arm64"), with_iso=False)`` returns
    ``{"index": digest, "manifests": {arch: digest}, "files": {arch: [(title, bytes)]}}``;
    the bytes are salted with the pusher's (unique) name.
    """
    from .testing import fedora

    def _publish(pusher, release, archs=("amd64", "arm64"), with_iso=False):
        entries, files = [], {}
        for arch in archs:
            files[arch] = fedora.tree_files(release, arch, with_iso=with_iso, salt=pusher.name)
            digest, size = pusher.netboot(f"{release}-{arch}", files[arch])
            entries.append((arch, digest, size))
        index_digest, _ = pusher.index(release, entries)
        return {"index": index_digest, "manifests": {a: d for a, d, _ in entries}, "files": files}

    return _publish


@pytest.fixture(scope="session")
def kickstart_workdir(tmp_path_factory):
    """A directory for keys, certificates and trees, per xdist worker."""
    return tmp_path_factory.mktemp("kickstart")


@pytest.fixture
def kickstart_token_registry_factory(kickstart_workdir):
    """A registry behind bearer-token auth with its own token issuer; both stopped after.

    ``factory(credentials=None, expires_in=300, tls=False)`` returns ``(issuer, registry)``;
    ``tls``: the token service answers over https, signed by ``issuer.ca``.
    """
    from .testing.registry import LocalRegistry
    from .testing.tls import ThrowawayCA
    from .testing.token_issuer import TokenIssuer

    started = []

    def _start(credentials=None, expires_in=300, tls=False):
        ca = ThrowawayCA(kickstart_workdir) if tls else None
        issuer = TokenIssuer(
            kickstart_workdir, credentials=credentials, expires_in=expires_in, tls=ca
        )
        issuer.ca = ca
        issuer.start()
        running = LocalRegistry(token=issuer.registry_config()).start()
        started.append((issuer, running))
        return issuer, running

    yield _start
    for issuer, running in started:
        running.stop()
        issuer.stop()


@pytest.fixture
def kickstart_fault_proxy_factory():
    """A testing.fault_proxy.FaultProxy (this package) before ``upstream_url``; stopped after.

    ``proxy = factory(upstream_url)``; ``proxy.add("503", r"/blobs/", times=2)`` injects
    faults, ``proxy.requests_to(pattern)`` tells what reached it.
    """
    from .testing.fault_proxy import FaultProxy

    started = []

    def _start(upstream_url, **options):
        proxy = FaultProxy(upstream_url, **options).start()
        started.append(proxy)
        return proxy

    yield _start
    for proxy in started:
        proxy.stop()


@pytest.fixture
def kickstart_dnf_tree_factory(kickstart_workdir):
    """Build a real Fedora-like dnf tree (rpmbuild, createrepo_c, .treeinfo).

    ``factory(release="42", arch="x86_64", key=None, salt=None, **options)``: see
    pulp_kickstart_oci.testing.dnf.fedora_tree. ``salt`` defaults to a unique one, so no two trees
    share bytes (and no test sees another's artifacts).
    """
    from .testing import dnf

    def _build(release="42", arch="x86_64", salt=None, **options):
        return dnf.fedora_tree(
            kickstart_workdir,
            release=release,
            arch=arch,
            salt=unique("-tree") if salt is None else salt,
            **options,
        )

    return _build


@pytest.fixture
def kickstart_tree_server_factory():
    """Serve a directory (a dnf tree) over HTTP on a free port; stopped after the test.

    ``server = factory(tree, html_for=None, ssl_context=None)`` (``tree`` a DnfTree or a
    path); ``server.url`` is its root, ``server.requests`` what it was asked.
    """
    from .testing.dnf import StaticServer

    servers = []

    def _serve(tree, html_for=None, ssl_context=None):
        # A DnfTree serves its root; a path (str or Path: Path.root is "/"!) serves itself.
        root = tree if isinstance(tree, (str, os.PathLike)) else tree.root
        server = StaticServer(root, html_for=html_for, ssl_context=ssl_context).__enter__()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.__exit__(None, None, None)
