"""Push a repository version to a registry, and read it back with other clients.

Real parts only: dnf trees built by rpmbuild and createrepo_c, Debian's docker-registry
(distribution 2.8), Debian's skopeo, oras-py from PyPI, and a sync from the pushed
repository into another Pulp repository.
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from oras.client import OrasClient

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import OCI_INDEX, OCI_MANIFEST, SIGSTORE_BUNDLE, cosign_payload
from pulp_kickstart_oci.testing.registry import LocalRegistry, free_port
from pulp_kickstart_oci.testing.tls import ThrowawayCA
from tests.support import signing
from tests.support.database import psql
from tests.support.tinyproxy import Tinyproxy

from .conftest import progress

NETBOOT = "application/vnd.org.pulpproject.netboot.artifact.v1"
TITLE = "org.opencontainers.image.title"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"
MEDIA = Path(__file__).resolve().parents[2] / ".run" / "media"  # the dev stack's MEDIA_ROOT


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _same_files(tree):
    """What 'identical' means for a tree pushed with new digests (the issue's words)."""
    return (
        tree.version,
        tree.arch,
        sorted((f.path, f.size, f.sha256, f.role) for f in tree.files),
    )


@pytest.fixture
def push(kickstart_bindings, monitor_task):
    """``push(repository, remote, expect_failure=False, **options)``: the finished task."""
    from pulpcore.tests.functional.utils import PulpTaskError

    def _push(repository, remote, expect_failure=False, **options):
        body = {"remote": remote.pulp_href, **options}
        response = kickstart_bindings.RepositoriesKickstartApi.push(repository.pulp_href, body)
        if not expect_failure:
            return monitor_task(response.task)
        with pytest.raises(PulpTaskError) as failed:
            monitor_task(response.task)
        return failed.value.task

    return _push


@pytest.fixture
def destination(kickstart_registry, kickstart_oci_remote_factory):
    """``destination(registry=None, **fields)``: an OCI remote naming a fresh repository."""

    def _make(registry=None, **fields):
        registry = registry or kickstart_registry
        return kickstart_oci_remote_factory(
            url=registry.url, upstream_name=unique("pushed/kickstart"), **fields
        )

    return _make


@pytest.fixture
def second_registry():
    with LocalRegistry() as running:
        yield running


class ReadOnlyRegistry(LocalRegistry):
    """A registry in read-only maintenance mode: pulls work, every upload is refused."""

    def _config(self):
        return (
            super()
            ._config()
            .replace(
                "storage:\n", "storage:\n  maintenance:\n    readonly:\n      enabled: true\n", 1
            )
        )


def _counts(task):
    reports = progress(task)
    return {
        code: reports[code].done
        for code in (
            "push.blobs.present",
            "push.blobs.mounted",
            "push.blobs.uploaded",
            "push.manifests.pushed",
            "push.manifests.present",
        )
    }


def _manifest(remote, reference, accept):
    response = requests.get(
        f"{remote.url}/v2/{remote.upstream_name}/manifests/{reference}",
        headers={"Accept": accept},
        timeout=60,
    )
    response.raise_for_status()
    return response.content


def test_a_dnf_tree_pushed_is_read_back_by_a_sync_skopeo_and_oras(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    push,
    latest_version,
    trees,
    tmp_path,
):
    tree = kickstart_dnf_tree_factory()
    server = kickstart_tree_server_factory(tree)
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_dnf_remote_factory(server))
    (original,) = trees(latest_version(source))
    files = {f.path: f for f in original.files}
    target = destination()

    task = push(source, target)

    distinct = len({f.sha256 for f in original.files})
    assert _counts(task) == {
        "push.blobs.present": 0,
        "push.blobs.mounted": 0,
        "push.blobs.uploaded": distinct + 1,  # the files and the empty config
        "push.manifests.pushed": 2,  # 42-amd64 and the index 42
        "push.manifests.present": 0,
    }

    # Another repository syncs the pushed artifact back: the same tree.
    back = kickstart_repository_factory()
    kickstart_sync(back, target)
    (synced,) = trees(latest_version(back))
    assert _same_files(synced) == _same_files(original)
    assert synced.oci_arch == "amd64" and synced.warnings == []
    assert synced.source["index"]["os_version"] == "fedora-42"

    # The manifest and the index as the format has them.
    raw = _manifest(target, "42-amd64", "application/vnd.oci.image.manifest.v1+json")
    manifest = json.loads(raw)
    assert synced.digest == "sha256:" + _sha256(raw)
    assert manifest["artifactType"] == NETBOOT
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["annotations"]["org.pulpproject.netboot.version"] == "1"
    provenance = manifest["annotations"]
    assert provenance["org.pulpproject.netboot.provenance.tree"] == original.source["url"]
    assert provenance["org.pulpproject.netboot.provenance.digest"] == original.digest
    by_title = {layer["annotations"][TITLE]: layer for layer in manifest["layers"]}
    shim = by_title["shimx64.efi"]["annotations"]
    assert (
        shim["org.pulpproject.netboot.provenance.package"] == files["EFI/BOOT/shimx64.efi"].package
    )
    assert (
        shim["org.pulpproject.netboot.provenance.package-sha256"]
        == files["EFI/BOOT/shimx64.efi"].rpm_sha256
    )
    index = json.loads(_manifest(target, "42", "application/vnd.oci.image.index.v1+json"))
    (entry,) = index["manifests"]
    assert entry["digest"] == synced.digest and entry["artifactType"] == NETBOOT
    assert entry["platform"] == {"architecture": "amd64", "os": "linux", "os.version": "fedora-42"}
    assert index["annotations"]["org.pulpproject.netboot.version"] == "1"

    # skopeo copies it into an OCI layout: every layer is a file's bytes.
    host = target.url.split("://", 1)[1]
    layout = tmp_path / "layout"
    subprocess.run(
        [
            SKOPEO,
            "copy",
            "--src-tls-verify=false",
            f"docker://{host}/{target.upstream_name}:42-amd64",
            f"oci:{layout}:42-amd64",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (copied,) = json.loads((layout / "index.json").read_text())["manifests"]
    blobs = layout / "blobs" / "sha256"
    copied_manifest = json.loads((blobs / copied["digest"].split(":")[1]).read_bytes())
    assert copied["digest"] == synced.digest
    titles = {}
    for layer in copied_manifest["layers"]:
        data = (blobs / layer["digest"].split(":")[1]).read_bytes()
        titles[layer["annotations"][TITLE]] = _sha256(data)
    assert len(titles) == len(original.files)
    for item in original.files:
        assert titles[item.name] == item.sha256, item.path

    # oras pulls every titled layer to a file of that name.
    pulled = tmp_path / "oras"
    OrasClient(insecure=True).pull(
        target=f"{host}/{target.upstream_name}:42-amd64", outdir=str(pulled)
    )
    for item in original.files:
        assert _sha256((pulled / item.name).read_bytes()) == item.sha256, item.name

    # Pushed again: every blob is there (HEAD), every tag names its bytes already.
    again = push(source, target)
    assert _counts(again) == {
        "push.blobs.present": distinct + 1,
        "push.blobs.mounted": 0,
        "push.blobs.uploaded": 0,
        "push.manifests.pushed": 0,
        "push.manifests.present": 2,
    }


def test_blobs_are_mounted_on_the_same_registry_and_chunked_to_another(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    second_registry,
    push,
    latest_version,
    trees,
):
    salt = kickstart_upstream.name
    # install.img past one 16 MiB chunk: two PATCHes and a PUT to a registry without it.
    files = fedora.tree_files("42", "amd64", salt=salt)[:2] + [
        ("install.img", fedora.stage2(salt, size=17 * 1024 * 1024 + 5))
    ]
    kickstart_upstream.netboot("42-amd64", files)
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    (original,) = trees(latest_version(source))

    mounted = push(source, destination())
    counts = _counts(mounted)
    assert counts["push.blobs.mounted"] == 3, counts  # the files; the config is uploaded
    assert counts["push.blobs.mounted"] + counts["push.blobs.uploaded"] == 4, counts

    elsewhere = destination(second_registry)
    chunked = push(source, elsewhere)
    assert _counts(chunked)["push.blobs.uploaded"] == 4
    assert progress(chunked)["push.chunks.uploaded"].done == 2
    back = kickstart_repository_factory()
    kickstart_sync(back, elsewhere)
    (synced,) = trees(latest_version(back))
    assert _same_files(synced) == _same_files(original)


def test_a_registry_error_fails_the_push_naming_the_blob_and_the_answer(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    push,
    trees,
    latest_version,
    second_registry,
):
    kickstart_upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("e")))
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))

    with LocalRegistry(htpasswd=("pusher", "right-password")) as guarded:
        wrong = destination(guarded, username="pusher", password="wrong-password")
        task = push(source, wrong, expect_failure=True)
    message = task.error["description"]
    assert f"registry 127.0.0.1:{guarded.port} repository {wrong.upstream_name}" in message
    assert "blob sha256:" in message, message
    assert "of 42/amd64)" in message or "(the empty config)" in message, message
    assert "HTTP 401" in message and "check the remote's credentials" in message, message
    assert "wrong-password" not in message

    # A registry that takes no uploads: its status, not its free text, is repeated.
    with ReadOnlyRegistry() as frozen:
        task = push(source, destination(frozen), expect_failure=True)
    message = task.error["description"]
    assert "blob sha256:" in message and message.endswith("the registry answered HTTP 405"), message

    # Pulp's stored bytes no longer match their digest: the registry's error JSON says so.
    (tree,) = trees(latest_version(source))
    (kernel,) = [item for item in tree.files if item.role == "kernel"]
    stored = MEDIA / "artifact" / kernel.sha256[:2] / kernel.sha256[2:]
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF  # this test's own artifact: its bytes are salted with a unique name
    stored.write_bytes(bytes(data))
    task = push(source, destination(second_registry), expect_failure=True)  # nothing to mount
    message = task.error["description"]
    assert f"blob sha256:{kernel.sha256} (vmlinuz of 42/amd64)" in message, message
    assert "HTTP 400 (DIGEST_INVALID)" in message, message

    # A registry that echoes the credentials it was sent, spelt so no redaction could follow
    # them: the task error names the spec's error codes, never the registry's own words.
    with EchoingRegistry() as echoing:
        task = push(
            source,
            destination(echoing, username="robot", password=EchoingRegistry.PASSWORD),
            expect_failure=True,
        )
    message = task.error["description"]
    assert echoing.authorizations, "the registry was never sent the credentials"
    assert "the registry answered HTTP 400 (DENIED)" in message, message
    for spelling in EchoingRegistry.spellings(echoing.authorizations):
        assert spelling not in message, (spelling, message)

    nowhere = destination(type("Gone", (), {"url": f"http://127.0.0.1:{free_port()}"})())
    task = push(source, nowhere, expect_failure=True)
    assert "cannot reach the registry" in task.error["description"], task.error


def test_push_needs_view_on_the_repository_and_change_on_the_remote(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    gen_user,
    pulpcore_bindings,
    monitor_task,
):
    kickstart_upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("r")))
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    target = destination()
    api = kickstart_bindings.RepositoriesKickstartApi
    body = {"remote": target.pulp_href}

    def grant(user, role, obj):
        pulpcore_bindings.UsersRolesApi.create(
            auth_user_href=user.user.pulp_href,
            user_role={"role": role, "domain": None, "content_object": obj},
        )

    def status(user):
        with user:
            try:
                return monitor_task(api.push(source.pulp_href, body).task).state
            except kickstart_bindings.ApiException as refused:
                return refused.status

    alice = gen_user()
    assert status(alice) == 404  # she cannot see the repository
    grant(alice, "kickstart.kickstartrepository_viewer", source.pulp_href)
    grant(alice, "kickstart.kickstartociremote_viewer", target.pulp_href)
    assert status(alice) == 403  # viewing a remote does not lend its credentials for writes
    grant(alice, "kickstart.kickstartociremote_owner", target.pulp_href)
    assert status(alice) == "completed"


def test_pushing_refuses_bad_requests(
    kickstart_bindings, kickstart_repository_factory, kickstart_dnf_remote_factory, destination
):
    api = kickstart_bindings.RepositoriesKickstartApi
    repository = kickstart_repository_factory()
    other = kickstart_repository_factory()
    cases = (
        ({"remote": kickstart_dnf_remote_factory(url="http://127.0.0.1:1/").pulp_href}, "remote"),
        (
            {"remote": destination().pulp_href, "repository_version": other.latest_version_href},
            "repository_version",
        ),
        ({"remote": destination().pulp_href, "releases": ["42;reboot"]}, "releases"),
        ({"remote": destination().pulp_href, "releases": ["42\n"]}, "releases"),  # never trimmed
    )
    for body, field in cases:
        with pytest.raises(kickstart_bindings.ApiException) as refused:
            api.push(repository.pulp_href, body)
        assert refused.value.status == 400 and field in json.loads(refused.value.body), body


def test_a_release_whose_tags_read_back_as_another_tree_is_never_pushed(
    kickstart_repository_factory, kickstart_registry, destination, push
):
    """Release 42-amd64's index tag is tree 42/x86_64's manifest tag, and a sync reads tag
    44-x86_64 as release 44: a push writes no tag a sync would read as another tree."""
    from tests.support.pulp import PulpAPI
    from tests.support.uploads import upload_tree

    api = PulpAPI()
    repository = kickstart_repository_factory()
    for release in ("42", "42-amd64"):
        files = dict(
            (f"images/pxeboot/{title}", data)
            for title, data in fedora.tree_files(release, "amd64", salt=unique(release))[:2]
        )
        upload_tree(api, files, release, "x86_64", repository=repository.pulp_href)
    remote = destination()
    task = push(repository, remote, expect_failure=True)
    message = task.error["description"]
    assert "release 42-amd64 cannot be pushed" in message, message
    assert "would be read back as another release or architecture" in message
    # Checked before anything is sent: the destination has no tag.
    listed = requests.get(
        f"{kickstart_registry.url}/v2/{remote.upstream_name}/tags/list", timeout=60
    )
    assert listed.status_code == 404 or not listed.json().get("tags"), listed.text


def test_an_empty_version_fails_saying_so(
    kickstart_repository_factory, destination, push, tmp_path: Path
):
    repository = kickstart_repository_factory()
    task = push(repository, destination(), expect_failure=True)
    assert "holds no tree to push" in task.error["description"]


def test_pulp_cli_pushes_a_version(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    bindings_cfg,
    tmp_path,
):
    for release in ("41", "42"):
        kickstart_upstream.netboot(
            f"{release}-amd64", fedora.tree_files(release, "amd64", salt=kickstart_upstream.name)
        )
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    target = destination()
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("pulp")),
            "--base-url",
            bindings_cfg.host,
            "--username",
            bindings_cfg.username,
            "--password",
            bindings_cfg.password,
            "kickstart",
            "repository",
            "push",
            "--href",
            source.pulp_href,
            "--remote",
            f"kickstart:oci:{target.name}",
            "--version",
            "1",
            "--release",
            "42",
            "--copy-signatures",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},  # the current API document
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tags = requests.get(f"{target.url}/v2/{target.upstream_name}/tags/list", timeout=60).json()
    assert sorted(tags["tags"]) == ["42", "42-amd64"]
    # The manifest went back as the upstream's bytes (nothing was signed: nothing copied).
    assert _manifest(target, "42-amd64", OCI_MANIFEST) == _manifest_of(
        kickstart_upstream, "42-amd64"
    )


def test_a_token_registry_gets_a_pull_push_scope(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    kickstart_token_registry_factory,
    destination,
    push,
):
    kickstart_upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("t")))
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    issuer, registry = kickstart_token_registry_factory()
    origin = issuer.url.rsplit("/", 1)[0]
    target = destination(registry, token_origins=[origin])

    task = push(source, target)

    assert _counts(task)["push.manifests.pushed"] == 2
    scopes = {scope for scope, _user in issuer.issued}
    assert scopes == {f"repository:{target.upstream_name}:pull,push"}, scopes


def test_a_push_uses_the_remotes_tls_client_certificate_and_proxy(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    push,
    kickstart_workdir,
):
    kickstart_upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("p")))
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    ca = ThrowawayCA(kickstart_workdir, name="push registry CA")
    client_ca = ThrowawayCA(kickstart_workdir, name="push client CA")
    client_cert, client_key = client_ca.client_pems("pulp pusher")
    proxy = Tinyproxy(kickstart_workdir, credentials=("proxied", "proxy-pass")).start()
    try:
        with LocalRegistry(tls=ca, client_ca=client_ca) as guarded:
            fields = {"ca_cert": ca.pem, "proxy_url": proxy.url}
            fields.update(proxy_username="proxied", proxy_password="proxy-pass")
            refused = push(source, destination(guarded, **fields), expect_failure=True)
            target = destination(guarded, client_cert=client_cert, client_key=client_key, **fields)
            push(source, target)
            tags = requests.get(
                f"{target.url}/v2/{target.upstream_name}/tags/list",
                timeout=60,
                **guarded.requests_options(),
            ).json()
    finally:
        proxy.stop()
    assert sorted(tags["tags"]) == ["42", "42-amd64"]
    assert "cannot reach the registry" in refused.error["description"], refused.error
    assert f"CONNECT 127.0.0.1:{guarded.port}" in proxy.log()


class _LocalServer:
    """A test's own HTTP server on 127.0.0.1, serving while the ``with`` block runs."""

    def __init__(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()


class EchoingRegistry(_LocalServer):
    """A registry that asks for basic credentials, then refuses every upload with error JSON
    whose codes and messages repeat them: split, in base64, as the password alone."""

    PASSWORD = "S3cr3tPass-echo"

    @staticmethod
    def spellings(authorizations):
        password = EchoingRegistry.PASSWORD
        encoded = {header.split(" ", 1)[-1] for header in authorizations}
        alone = base64.b64encode(password.encode()).decode()
        return {password, password[:3] + "-" + password[3:], alone, *encoded} | {
            value[:12] for value in encoded
        }

    def __init__(self):
        self.authorizations = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                header = self.headers.get("Authorization")
                if not header:
                    status, extra, body = 401, [("WWW-Authenticate", 'Basic realm="x"')], b""
                elif self.command == "HEAD":
                    status, extra, body = 404, [], b""
                else:
                    registry.authorizations.append(header)
                    spelt = sorted(EchoingRegistry.spellings([header]))
                    errors = [{"code": "DENIED", "message": " ".join(spelt)}]
                    errors += [{"code": "X" + EchoingRegistry.PASSWORD, "message": "x"}]
                    status, extra = 400, [("Content-Type", "application/json")]
                    body = json.dumps({"errors": errors}).encode()
                self.send_response(status)
                for name, value in extra:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _answer

        _LocalServer.__init__(self, Handler)


class DroppingProxy(_LocalServer):
    """Forwards every request to a registry (its Host kept, so upload Locations name the
    proxy), but drops the connection of the ``drop``-th PATCH without forwarding it."""

    def __init__(self, upstream, drop=2):
        self.upstream = upstream.rstrip("/")
        self.drop = drop
        self.methods = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.methods.append(self.command)
                if self.command == "PATCH" and proxy.methods.count("PATCH") == proxy.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
                answer = requests.request(
                    self.command,
                    proxy.upstream + self.path,
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                    timeout=60,
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                payload = b"" if self.command == "HEAD" else answer.content
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _forward

        _LocalServer.__init__(self, Handler)


def test_a_chunked_upload_whose_connection_drops_is_resumed_from_the_registrys_range(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    second_registry,
    push,
    latest_version,
    trees,
):
    salt = kickstart_upstream.name
    files = fedora.tree_files("42", "amd64", salt=salt)[:2] + [
        ("install.img", fedora.stage2(salt, size=40 * 1024 * 1024))
    ]
    kickstart_upstream.netboot("42-amd64", files)
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    (original,) = trees(latest_version(source))

    with DroppingProxy(second_registry.url) as proxy:
        target = kickstart_oci_remote_factory(
            url=proxy.url, upstream_name=unique("pushed/kickstart")
        )
        task = push(source, target)
    # Three chunks; the second's connection dropped: the registry's Range said where to go on.
    assert proxy.methods.count("PATCH") == 4, proxy.methods
    assert "GET" in proxy.methods[proxy.methods.index("PATCH") :], proxy.methods
    assert progress(task)["push.chunks.uploaded"].done == 3
    back = kickstart_repository_factory()
    kickstart_sync(
        back,
        kickstart_oci_remote_factory(url=second_registry.url, upstream_name=target.upstream_name),
    )
    (synced,) = trees(latest_version(back))
    assert _same_files(synced) == _same_files(original)


def _registry_digest(remote, reference, accept):
    return "sha256:" + _sha256(_manifest(remote, reference, accept))


def test_a_registry_tree_goes_back_byte_identical_with_its_signatures(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    kickstart_bindings,
    destination,
    push,
    latest_version,
    trees,
    signatures,
):
    published = kickstart_publish_release(kickstart_upstream, "42")
    key = signing.generate_key("p256")
    # A cosign signature on the index (it covers both arches), a sigstore bundle referrer
    # on the amd64 manifest: both tag-scheme kinds a registry carries.
    netloc = kickstart_upstream.base.split("://", 1)[1]
    payload = cosign_payload(f"{netloc}/{kickstart_upstream.name}", published["index"])
    kickstart_upstream.cosign_signatures(
        published["index"], [(payload, signing.cosign_signature(key, payload), None)]
    )
    amd64 = published["manifests"]["amd64"]
    raw_amd64 = _manifest_of(kickstart_upstream, amd64)
    bundle = signing.sigstore_bundle(key, raw_amd64)
    kickstart_upstream.referrer(amd64, len(raw_amd64), [(SIGSTORE_BUNDLE, bundle)])
    trust = {"signature_keys": signing.public_pem(key), "signature_policy": "required"}
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream, **trust))
    version = latest_version(source)
    kinds = {record.kind for record in signatures(version)}
    assert kinds == {"cosign", "sigstore-bundle"}
    (index,) = kickstart_bindings.ContentIndexesApi.list(repository_version=version).results
    assert (index.tag, index.digest) == ("42", published["index"])

    target = destination()
    task = push(source, target, copy_signatures=True)
    reports = progress(task)
    assert reports["push.manifests.identical"].done == 3  # two manifests and the index
    assert reports["push.signatures.copied"].done == 2

    # The same bytes under the same tags: the digests upstream published.
    assert _registry_digest(target, "42", OCI_INDEX) == published["index"]
    for arch, digest in published["manifests"].items():
        assert _registry_digest(target, f"42-{arch}", OCI_MANIFEST) == digest
    # The signature manifests are the upstream's, byte for byte.
    sig_tag = "sha256-" + published["index"].split(":")[1] + ".sig"
    assert _manifest(target, sig_tag, OCI_MANIFEST) == _manifest_of(kickstart_upstream, sig_tag)
    referrers_tag = "sha256-" + amd64.split(":")[1]
    (listed,) = json.loads(_manifest(target, referrers_tag, OCI_INDEX))["manifests"]
    (upstream_listed,) = json.loads(_manifest_of(kickstart_upstream, referrers_tag))["manifests"]
    assert listed["digest"] == upstream_listed["digest"]
    assert _manifest(target, listed["digest"], OCI_MANIFEST) == _manifest_of(
        kickstart_upstream, listed["digest"]
    )

    # A sync of the pushed repository verifies the copied signatures with the same key (the
    # cosign payload still names the upstream repository: identity check off).
    back = kickstart_repository_factory()
    remote_back = kickstart_oci_remote_factory(
        url=target.url,
        upstream_name=target.upstream_name,
        signature_identity_check=False,
        **trust,
    )
    kickstart_sync(back, remote_back)
    assert {(t.version, t.arch, t.digest) for t in trees(latest_version(back))} == {
        (t.version, t.arch, t.digest) for t in trees(version)
    }
    assert {r.kind for r in signatures(latest_version(back))} == {"cosign", "sigstore-bundle"}

    # Pushed again: nothing new is written.
    again = progress(push(source, target, copy_signatures=True))
    assert again["push.manifests.pushed"].done == 0
    assert again["push.blobs.uploaded"].done == 0


def test_copy_signatures_fails_before_sending_when_a_signed_tree_gets_a_new_digest(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    destination,
    push,
    monitor_task,
    kickstart_bindings,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    key = signing.generate_key("p256")
    digest = published["manifests"]["amd64"]
    netloc = kickstart_upstream.base.split("://", 1)[1]
    payload = cosign_payload(f"{netloc}/{kickstart_upstream.name}", digest)
    kickstart_upstream.cosign_signatures(
        digest, [(payload, signing.cosign_signature(key, payload), None)]
    )
    trust = {"signature_keys": signing.public_pem(key), "signature_policy": "required"}
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream, **trust))
    # The tree as one synced before its manifest was kept: it must get a new manifest.
    psql(f"UPDATE kickstart_kickstarttree SET manifest = NULL WHERE digest = '{digest}'")
    target = destination()

    task = push(source, target, expect_failure=True, copy_signatures=True)
    error = task.error["description"]
    assert "cosign signature of tree 42/x86_64" in error and digest in error
    assert "not pushed as the manifest it signs" in error
    tags = requests.get(f"{target.url}/v2/{target.upstream_name}/tags/list", timeout=60)
    assert tags.status_code == 404  # nothing was sent

    # Without copy_signatures the tree goes with a new manifest (same files).
    done = progress(push(source, target))
    assert done["push.manifests.identical"].done == 0
    assert _registry_digest(target, "42-amd64", OCI_MANIFEST) != digest

    # A sync that reads the manifest and the signatures again fills in what the stored
    # units lacked (as after an upgrade): then both go back as upstream published them.
    psql(f"UPDATE kickstart_kickstartsignature SET carrier = NULL WHERE signed_digest = '{digest}'")
    remote = kickstart_oci_remote_factory(kickstart_upstream, **trust)
    kickstart_sync(source, remote, optimize=False)
    again = destination()
    filled = progress(push(source, again, copy_signatures=True))
    assert filled["push.manifests.identical"].done == 2  # the manifest and the index 42
    assert filled["push.signatures.copied"].done == 1
    assert _registry_digest(again, "42-amd64", OCI_MANIFEST) == digest
    assert _registry_digest(again, "42", OCI_INDEX) == published["index"]
    sig_tag = "sha256-" + digest.split(":")[1] + ".sig"
    assert _manifest(again, sig_tag, OCI_MANIFEST) == _manifest_of(kickstart_upstream, sig_tag)


def _manifest_of(pusher, reference):
    response = pusher.session.get(
        f"{pusher.base}/v2/{pusher.name}/manifests/{reference}",
        headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.oci.image.index.v1+json"
        },
        timeout=60,
    )
    response.raise_for_status()
    return response.content
