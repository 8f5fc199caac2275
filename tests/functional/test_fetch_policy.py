"""The fetch policy on the real stack: every request and every redirect hop of a sync.

Upstreams here answer with redirects to other origins (an attacker, a CDN, a mirror
network). Each test checks what reached each origin, what the sync made of it, and
that a refused sync changed nothing (docs/security.md, "Where requests go").
"""

import hashlib
import json
import re

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing.tls import ThrowawayCA
from tests.support.redirector import Redirector, optional_client_cert_context

from .conftest import rewrite

KERNEL = "images/pxeboot/vmlinuz"


@pytest.fixture
def origins():
    """``origins(**options)``: a started Redirector, stopped after the test."""
    started = []

    def _start(**options):
        server = Redirector(**options).start()
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


def _origin(url):
    return url.rstrip("/")


# -- a file without a digest is never taken from another origin -------------------------


def test_an_undigested_image_redirected_to_another_origin_is_refused(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    origins,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42", salt=unique("-undigested"))
    kernel = tree.images[KERNEL]
    rewrite(
        tree.root / ".treeinfo", f"{KERNEL} = sha256:{hashlib.sha256(kernel).hexdigest()}\n", ""
    )
    attacker = origins(files={"/vmlinuz": b"a third party's kernel"})
    front = origins(upstream=kickstart_tree_server_factory(tree).url)
    front.redirect(rf"^/{KERNEL}$", attacker.url + "/vmlinuz")
    repository = kickstart_repository_factory()

    # Not even an origin the admin allowed for redirects may serve a file without a digest.
    for allowed in ([], [_origin(attacker.url)]):
        remote = kickstart_dnf_remote_factory(front, redirect_origins=allowed)
        message = fails_and_changes_nothing(repository, remote, KERNEL, "without a digest")
        assert "third party" not in message
    assert attacker.seen == []

    # Served from the remote's own URL, the same file is stored, and the tree says it
    # had no digest.
    front.rules.clear()
    kickstart_sync(repository, kickstart_dnf_remote_factory(front))
    (synced,) = trees(latest_version(repository))
    assert any(KERNEL in w and "nor any checksum" in w for w in synced.warnings), synced.warnings
    assert attacker.seen == []


# -- pinned reads: redirect_origins, and nothing identifying the remote goes there -------


def test_pinned_files_follow_redirects_only_to_allowed_origins_and_carry_no_secrets(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    origins,
    fails_and_changes_nothing,
    worker_logs,
):
    tree = kickstart_dnf_tree_factory(release="42", salt=unique("-mirrored"))
    server = kickstart_tree_server_factory(tree)
    mirror = origins(upstream=server.url)
    front = origins(upstream=server.url)
    # Every RPM and every image (all have a sha256 upstream) lives on the mirror network.
    front.redirect(r"^/(Packages|images)/", lambda path: mirror.url + path)
    secret = unique("tenant-key")
    password = unique("pw")
    credentials = dict(username="tenant", password=password, headers=[{"X-Tenant-Key": secret}])
    repository = kickstart_repository_factory()

    message = fails_and_changes_nothing(
        repository,
        kickstart_dnf_remote_factory(front, **credentials),
        "redirect_origins",
        _origin(mirror.url),
    )
    assert secret not in message and password not in message
    assert mirror.seen == []

    remote = kickstart_dnf_remote_factory(
        front, redirect_origins=[_origin(mirror.url)], **credentials
    )
    kickstart_sync(repository, remote)

    (synced,) = trees(latest_version(repository))
    stored = {f.path: f.sha256 for f in synced.files}
    assert stored[KERNEL] == hashlib.sha256(tree.images[KERNEL]).hexdigest()
    fetched = {s.path for s in mirror.seen}
    assert f"/{KERNEL}" in fetched and any(p.startswith("/Packages/") for p in fetched)
    # The remote's origin got its custom header and credentials; the mirror got neither.
    assert all(s.headers.get("X-Tenant-Key") == secret for s in front.seen)
    assert any("Authorization" in s.headers for s in front.seen)
    assert all("X-Tenant-Key" not in s.headers for s in mirror.seen)
    assert all("Authorization" not in s.headers for s in mirror.seen)
    assert password not in worker_logs.since()


def test_a_registry_blob_cdn_gets_no_client_certificate_headers_or_credentials(
    kickstart_workdir,
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    origins,
    fails_and_changes_nothing,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    ca = ThrowawayCA(kickstart_workdir)
    client_cert, client_key = ca.client_pems()
    cdn = origins(upstream=kickstart_registry.url, ssl_context=optional_client_cert_context(ca, ca))
    front = origins(
        upstream=kickstart_registry.url, ssl_context=optional_client_cert_context(ca, ca)
    )
    front.redirect(r"/blobs/sha256:", lambda path: cdn.url + path)
    secret = unique("tenant-key")
    fields = dict(
        url=front.url,
        upstream_name=kickstart_upstream.name,
        ca_cert=ca.pem,
        client_cert=client_cert,
        client_key=client_key,
        headers=[{"X-Tenant-Key": secret}],
    )
    repository = kickstart_repository_factory()

    kernel_digest = "sha256:" + hashlib.sha256(kernel).hexdigest()
    message = fails_and_changes_nothing(
        repository, kickstart_oci_remote_factory(**fields), "redirect_origins"
    )
    assert "42/x86_64" in message and "sha256:" in message  # names the tree and the blob
    assert cdn.seen == []

    remote = kickstart_oci_remote_factory(redirect_origins=[_origin(cdn.url)], **fields)
    kickstart_sync(repository, remote)

    base = kickstart_distribution_factory(repository).base_url
    assert requests.get(f"{base}42/x86_64/{KERNEL}", timeout=60).content == kernel
    assert any(s.path.endswith(kernel_digest) for s in cdn.seen)
    assert front.seen and all(s.client_cert for s in front.seen)
    assert all(s.headers.get("X-Tenant-Key") == secret for s in front.seen)
    assert all(not s.client_cert for s in cdn.seen)
    assert all("X-Tenant-Key" not in s.headers for s in cdn.seen)
    assert all("Authorization" not in s.headers for s in cdn.seen)


def test_on_demand_files_follow_the_same_policy_in_the_content_app(
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    origins,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    files = dict(published["files"]["amd64"])
    attacker = origins(upstream=kickstart_registry.url)
    front = origins(upstream=kickstart_registry.url)
    front.redirect(r"/blobs/sha256:", lambda path: attacker.url + path)
    remote = kickstart_oci_remote_factory(
        url=front.url, upstream_name=kickstart_upstream.name, policy="on_demand"
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    base = kickstart_distribution_factory(repository).base_url

    answer = requests.get(f"{base}42/x86_64/{KERNEL}", timeout=60)

    assert answer.status_code >= 500 or answer.content != files["vmlinuz"]
    assert attacker.seen == []
    # Once upstream stops redirecting, the same URL serves the verified bytes.
    front.rules.clear()
    assert requests.get(f"{base}42/x86_64/{KERNEL}", timeout=60).content == files["vmlinuz"]


# -- redirect chains: the same rules at every hop, a hop limit, normalised URLs ----------


def _chain(front, hops, last):
    """``/.treeinfo`` -> /r1 -> ... -> ``last``: ``hops`` redirects in all."""
    names = ["/.treeinfo"] + [f"/r{n}" for n in range(1, hops)]
    for here, there in zip(names, names[1:] + [last], strict=True):
        front.redirect(rf"^{re.escape(here)}$", there)


@pytest.mark.parametrize("hops", [5, 6])
def test_redirect_chains_within_the_tree_have_a_hop_limit(
    hops,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    origins,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42", salt=unique("-chain"))
    front = origins(upstream=kickstart_tree_server_factory(tree).url)
    _chain(front, hops, "/.treeinfo?real")
    repository = kickstart_repository_factory()
    remote = kickstart_dnf_remote_factory(front)
    if hops <= 5:  # KICKSTART_MAX_REDIRECTS
        kickstart_sync(repository, remote)
        assert [t.version for t in trees(latest_version(repository))] == ["42"]
        assert "/.treeinfo?real" in front.paths()
    else:
        fails_and_changes_nothing(repository, remote, ".treeinfo", "KICKSTART_MAX_REDIRECTS")
        assert "/.treeinfo?real" not in front.paths()


def test_a_chain_that_leaves_the_origin_midway_is_refused_at_that_hop(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    origins,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42", salt=unique("-midway"))
    elsewhere = origins(upstream=kickstart_tree_server_factory(tree).url)
    front = origins(upstream=kickstart_tree_server_factory(tree).url)
    _chain(front, 3, elsewhere.url + "/.treeinfo")
    remote = kickstart_dnf_remote_factory(front, redirect_origins=[_origin(elsewhere.url)])

    fails_and_changes_nothing(
        kickstart_repository_factory(), remote, ".treeinfo", "not under the remote's URL"
    )

    assert front.paths()[:3] == ["/.treeinfo", "/r1", "/r2"]
    assert elsewhere.seen == []


@pytest.mark.parametrize(
    "escape",
    [
        "/{tree}/../{other}/.treeinfo",
        "/{tree}/%2e%2e/{other}/.treeinfo",
        "/{tree}/%2E%2E/{other}/.treeinfo",
        "/{tree}/..%2f{other}/.treeinfo",
        "/{tree}/.%2e/{other}/.treeinfo",
        "/{tree}/%5c..%5c{other}/.treeinfo",
        "/{other}/.treeinfo",
        "//{host}/{other}/.treeinfo",
    ],
)
def test_a_redirect_that_leaves_the_remote_url_after_normalisation_is_refused(
    escape,
    kickstart_workdir,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    origins,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42", salt=unique("-inside"))
    other = kickstart_dnf_tree_factory(release="40", salt=unique("-outside"))
    assert tree.root.parent == other.root.parent  # both under the worker's workdir
    server = kickstart_tree_server_factory(tree.root.parent)
    front = origins(upstream=server.url)
    host = front.url.split("://", 1)[1]
    location = escape.format(tree=tree.root.name, other=other.root.name, host=host)
    front.redirect(rf"^/{re.escape(tree.root.name)}/\.treeinfo$", location)
    remote = kickstart_dnf_remote_factory(url=f"{front.url}/{tree.root.name}/")

    fails_and_changes_nothing(kickstart_repository_factory(), remote, ".treeinfo")

    assert all(other.root.name not in path for path in front.paths()), front.paths()


# -- token services ----------------------------------------------------------------------


def test_a_token_realm_on_another_origin_needs_token_origins(
    token_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    fails_and_changes_nothing,
):
    issuer, _registry, pusher = token_upstream()
    kickstart_publish_release(pusher, "42", archs=("amd64",))
    asked_before = len(issuer.issued)
    repository = kickstart_repository_factory()

    message = fails_and_changes_nothing(
        repository, kickstart_oci_remote_factory(pusher, token_origins=None), "token_origins"
    )
    assert issuer.url.split("://", 1)[1].split("/", 1)[0] in message
    assert len(issuer.issued) == asked_before  # never asked

    kickstart_sync(repository, kickstart_oci_remote_factory(pusher))  # token_origins allowed
    assert [t.version for t in trees(latest_version(repository))] == ["42"]
    assert len(issuer.issued) > asked_before


def test_origins_are_validated_by_the_api(kickstart_bindings, kickstart_oci_remote_factory):
    for bad in ("cdn.example", "https://cdn.example/path", "ftp://cdn.example", "https://*"):
        with pytest.raises(kickstart_bindings.ApiException) as error:
            kickstart_oci_remote_factory(
                url="https://registry.example", upstream_name="x", redirect_origins=[bad]
            )
        assert error.value.status == 400
        assert "redirect_origins" in error.value.body and "origin" in error.value.body
    remote = kickstart_oci_remote_factory(
        url="https://registry.example",
        upstream_name="x",
        redirect_origins=["https://*.cloudfront.net", "https://cdn.example:8443"],
        token_origins=["https://auth.example"],
    )
    assert remote.redirect_origins == ["https://*.cloudfront.net", "https://cdn.example:8443"]
    assert remote.token_origins == ["https://auth.example"]


# -- what comes back from upstream, and what the API shows of a remote ------------------

HOSTILE_HEADERS = {
    "Content-Type": "text/html",
    "Set-Cookie": "pulp=EVIL; Path=/",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Access-Control-Allow-Origin": "*",
    "Content-Disposition": "attachment; filename=evil.exe",
    "Refresh": "0;url=http://evil.example/",
    "Link": "<http://evil.example/>; rel=preload",
}


@pytest.mark.parametrize("policy", ["on_demand", "streamed"])
def test_upstream_response_headers_never_reach_boot_clients(
    policy,
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    origins,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    front = origins(upstream=kickstart_registry.url, extra_headers=HOSTILE_HEADERS)
    remote = kickstart_oci_remote_factory(
        url=front.url, upstream_name=kickstart_upstream.name, policy=policy
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    base = kickstart_distribution_factory(repository).base_url

    answer = requests.get(f"{base}42/x86_64/{KERNEL}", timeout=60)

    assert answer.status_code == 200 and answer.content == kernel
    blob = "/blobs/sha256:" + hashlib.sha256(kernel).hexdigest()
    assert any(s.path.endswith(blob) for s in front.seen)  # fetched through the front now
    for name, value in HOSTILE_HEADERS.items():
        assert answer.headers.get(name) != value, name
    assert "pulp" not in answer.cookies


def test_custom_headers_are_write_only_like_the_other_secrets(
    kickstart_bindings, kickstart_oci_remote_factory, kickstart_dnf_remote_factory
):
    secret = unique("Bearer-")
    remotes = [
        (
            kickstart_bindings.RemotesOciApi,
            kickstart_oci_remote_factory(
                url="https://registry.example",
                upstream_name="x",
                headers=[{"Authorization": secret}],
            ),
        ),
        (
            kickstart_bindings.RemotesDnfApi,
            kickstart_dnf_remote_factory(
                url="https://mirror.example/os/", headers=[{"X-Api-Key": secret}]
            ),
        ),
    ]
    for api, remote in remotes:
        shown = api.read(remote.pulp_href)
        assert secret not in json.dumps(shown.to_dict(), default=str)
        assert {f.name: f.is_set for f in shown.hidden_fields}["headers"] is True
        listed = api.list(name=remote.name).results[0]
        assert secret not in json.dumps(listed.to_dict(), default=str)
