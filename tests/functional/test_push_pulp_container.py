"""Push to pulp_container as the destination registry (issue 22 §1).

Real parts: a second Pulp running the bench venv (bench/sync_pulp.py ``ensure_venv``:
pulpcore as the stack's, pulp_container 2.30.0, pulp_rpm and this plugin), configured as
pulp_container documents a production registry: its token server, with an ES256 key pair
made here. The stack's push talks to it as to any registry (bearer token with the
``pull,push`` scope, blobs redirected to its content app); skopeo and oras-py pull the
artifact back and the stack syncs it into another repository. A registry-synced tree
goes to it byte for byte, in chunks, with its cosign signature and sigstore bundle.

pulp_container 2.30 has no allowlist of artifact types (``ADDITIONAL_OCI_ARTIFACT_TYPES``
was removed in 2.20): the netboot manifest is taken as it is, with no setting. What it
needs is the remote's ``redirect_origins``: it answers a blob's HEAD and GET with a
redirect to its content app. Serial: it starts a Pulp of its own.
"""

import hashlib
import json
import re
import shutil
import subprocess

import pytest
import requests
from oras.client import OrasClient

from bench.sync_pulp import VENV as BENCH_VENV
from bench.sync_pulp import ensure_venv
from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import SIGSTORE_BUNDLE, cosign_payload
from tests.support import signing
from tests.support.second_pulp import ADMIN, SecondPulp

from .conftest import progress

pytestmark = pytest.mark.serial

NETBOOT = "application/vnd.org.pulpproject.netboot.artifact.v1"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TITLE = "org.opencontainers.image.title"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _same_files(tree):
    return (
        tree.version,
        tree.arch,
        sorted((f.path, f.size, f.sha256, f.role) for f in tree.files),
    )


def _key_pair(directory):
    """The token server's ES256 key pair (PEM files), as pulp_container's docs make it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private, public = directory / "private.pem", directory / "public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="module")
def registry_pulp(tmp_path_factory):
    """A Pulp with pulp_container, its token server on: ``/v2/`` and ``/token/`` on its API."""
    ensure_venv()  # built once (a stamp file): a second run installs nothing
    private, public = _key_pair(tmp_path_factory.mktemp("token-keys"))

    def settings(pulp):
        return {
            "TOKEN_SERVER": f"{pulp.base}/token/",
            "TOKEN_SIGNATURE_ALGORITHM": "ES256",
            "PUBLIC_KEY_PATH": str(public),
            "PRIVATE_KEY_PATH": str(private),
        }

    with SecondPulp("container", venv=BENCH_VENV, settings=settings) as running:
        yield running


def _destination(factory, pulp, name, **fields):
    """A kickstart OCI remote on pulp_container's registry (its API origin), as admin; its
    content app (where blobs are redirected) in ``redirect_origins``."""
    fields = {"username": ADMIN[0], "password": ADMIN[1], **fields}
    fields.setdefault("redirect_origins", [pulp.content])
    return factory(url=pulp.base, upstream_name=name, **fields)


def _held(pulp, name):
    """What pulp_container holds for the registry repository ``name``: {tag: manifest}."""
    api = pulp.api()
    (repository,) = api.list("repositories/container/container/", name=name)
    (distribution,) = api.list("distributions/container/container/", base_path=name)
    assert distribution["repository"] == repository["pulp_href"]
    version = repository["latest_version_href"]
    manifests = {
        m["pulp_href"]: m
        for m in api.list("content/container/manifests/", repository_version=version)
    }
    return {
        tag["name"]: manifests[tag["tagged_manifest"]]
        for tag in api.list("content/container/tags/", repository_version=version)
    }


def _registry_get(pulp, name, reference, accept, auth=ADMIN):
    """GET a manifest from pulp_container's registry with a pull token of its token server
    (asked for with ``auth``, anonymously when None)."""
    url = f"{pulp.base}/v2/{name}/manifests/{reference}"
    challenge = requests.get(url, headers={"Accept": accept}, timeout=60)
    assert challenge.status_code == 401, challenge.text
    fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge.headers["WWW-Authenticate"]))
    token = requests.get(
        fields["realm"],
        params={"service": fields["service"], "scope": f"repository:{name}:pull"},
        auth=auth,
        timeout=60,
    ).json()["token"]
    response = requests.get(
        url, headers={"Accept": accept, "Authorization": f"Bearer {token}"}, timeout=60
    )
    response.raise_for_status()
    return response


@pytest.fixture
def push(kickstart_bindings, monitor_task):
    from pulpcore.tests.functional.utils import PulpTaskError

    def _push(repository, remote, expect_failure=False, **options):
        response = kickstart_bindings.RepositoriesKickstartApi.push(
            repository.pulp_href, {"remote": remote.pulp_href, **options}
        )
        if not expect_failure:
            return monitor_task(response.task)
        with pytest.raises(PulpTaskError) as failed:
            monitor_task(response.task)
        return failed.value.task

    return _push


def test_a_dnf_tree_pushed_to_pulp_container_is_held_pulled_and_synced_back(
    registry_pulp,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    push,
    latest_version,
    trees,
    tmp_path,
):
    tree = kickstart_dnf_tree_factory()
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree)))
    (original,) = trees(latest_version(source))
    name = f"kickstart/{unique('netboot')}"
    target = _destination(kickstart_oci_remote_factory, registry_pulp, name)

    task = push(source, target)

    reports = progress(task)
    distinct = len({f.sha256 for f in original.files})
    assert reports["push.blobs.uploaded"].done == distinct + 1  # the files, the empty config
    assert reports["push.manifests.pushed"].done == 2

    # pulp_container holds them: a container repository (2.30 has no separate push type)
    # and a distribution named after the registry repository, the tags, the manifest as an
    # OCI artifact with its annotations.
    held = _held(registry_pulp, name)
    assert sorted(held) == ["42", "42-amd64"]
    artifact, index = held["42-amd64"], held["42"]
    assert (artifact["media_type"], artifact["type"]) == (OCI_MANIFEST, "artifact")
    assert artifact["annotations"]["org.pulpproject.netboot.version"] == "1"
    assert artifact["annotations"]["org.opencontainers.image.version"] == "42"
    assert (index["media_type"], index["type"]) == (OCI_INDEX, "index")
    assert index["listed_manifests"] == [artifact["pulp_href"]]

    # Its registry answers with the bytes pushed: artifactType kept, digest unchanged.
    raw = _registry_get(registry_pulp, name, "42-amd64", OCI_MANIFEST)
    assert raw.headers["Docker-Content-Digest"] == artifact["digest"]
    assert "sha256:" + _sha256(raw.content) == artifact["digest"]
    manifest = raw.json()
    assert manifest["artifactType"] == NETBOOT
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    listed = _registry_get(registry_pulp, name, "42", OCI_INDEX).json()
    (entry,) = listed["manifests"]
    assert entry["digest"] == artifact["digest"] and entry["artifactType"] == NETBOOT
    assert entry["platform"]["os.version"] == "fedora-42"
    # The distribution a push creates is public: an anonymous token may pull (docs/push.md).
    anonymous = _registry_get(registry_pulp, name, "42-amd64", OCI_MANIFEST, auth=None)
    assert anonymous.content == raw.content

    # skopeo copies it into an OCI layout (token auth, blobs from the content app).
    host = registry_pulp.base.split("://", 1)[1]
    layout = tmp_path / "layout"
    copied = subprocess.run(
        [SKOPEO, "copy", "--src-tls-verify=false", "--src-creds", ":".join(ADMIN)]
        + [f"docker://{host}/{name}:42-amd64", f"oci:{layout}:42-amd64"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert copied.returncode == 0, copied.stderr
    (copied_entry,) = json.loads((layout / "index.json").read_text())["manifests"]
    assert copied_entry["digest"] == artifact["digest"]
    blobs = layout / "blobs" / "sha256"
    copied_manifest = json.loads((blobs / artifact["digest"].split(":")[1]).read_bytes())
    by_title = {
        layer["annotations"][TITLE]: _sha256((blobs / layer["digest"].split(":")[1]).read_bytes())
        for layer in copied_manifest["layers"]
    }
    assert by_title == {item.name: item.sha256 for item in original.files}

    # oras-py pulls every titled layer to a file of that name.
    oras = OrasClient(insecure=True)
    oras.auth.set_basic_auth(*ADMIN)
    pulled = tmp_path / "oras"
    oras.pull(target=f"{host}/{name}:42-amd64", outdir=str(pulled))
    for item in original.files:
        assert _sha256((pulled / item.name).read_bytes()) == item.sha256, item.name

    # The stack syncs it back from pulp_container: the same tree, under the pushed digest.
    back = kickstart_repository_factory()
    kickstart_sync(back, target)
    (synced,) = trees(latest_version(back))
    assert _same_files(synced) == _same_files(original)
    assert synced.digest == artifact["digest"] and synced.warnings == []

    # Pushed again: pulp_container has every blob (HEAD) and every tag names its bytes.
    again = progress(push(source, target))
    assert again["push.blobs.present"].done == distinct + 1
    assert again["push.blobs.uploaded"].done == 0
    assert again["push.manifests.present"].done == 2

    # Without its content app in redirect_origins, a blob pulp_container has (its HEAD
    # answers with a redirect there) stops the push, saying what to add.
    unlisted = _destination(kickstart_oci_remote_factory, registry_pulp, name, redirect_origins=[])
    message = push(source, unlisted, expect_failure=True).error["description"]
    assert "blob sha256:" in message, message
    assert f"{registry_pulp.content} is not in the remote's redirect_origins" in message, message


def test_a_signed_registry_tree_goes_to_pulp_container_byte_identical_in_chunks(
    registry_pulp,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    push,
    latest_version,
    trees,
    signatures,
):
    """The upstream's manifest, index and signature manifests keep their digests in
    pulp_container; install.img past one 16 MiB chunk goes in PATCHes."""
    salt = kickstart_upstream.name
    files = fedora.tree_files("42", "amd64", salt=salt)[:2] + [
        ("install.img", fedora.stage2(salt, size=17 * 1024 * 1024 + 5))
    ]
    digest, size = kickstart_upstream.netboot("42-amd64", files)
    index_digest, _ = kickstart_upstream.index("42", [("amd64", digest, size)])
    key = signing.generate_key("p256")
    netloc = kickstart_upstream.base.split("://", 1)[1]
    payload = cosign_payload(f"{netloc}/{kickstart_upstream.name}", index_digest)
    kickstart_upstream.cosign_signatures(
        index_digest, [(payload, signing.cosign_signature(key, payload), None)]
    )
    raw = kickstart_upstream.session.get(
        f"{kickstart_upstream.base}/v2/{kickstart_upstream.name}/manifests/{digest}",
        headers={"Accept": OCI_MANIFEST},
        timeout=60,
    ).content
    bundle = signing.sigstore_bundle(key, raw)
    kickstart_upstream.referrer(digest, len(raw), [(SIGSTORE_BUNDLE, bundle)])
    trust = {"signature_keys": signing.public_pem(key), "signature_policy": "required"}
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream, **trust))
    name = f"kickstart/{unique('signed')}"

    task = push(
        source,
        _destination(kickstart_oci_remote_factory, registry_pulp, name),
        copy_signatures=True,
    )

    reports = progress(task)
    assert reports["push.chunks.uploaded"].done == 2
    assert reports["push.manifests.identical"].done == 2  # the manifest and the index
    assert reports["push.signatures.copied"].done == 2
    held = _held(registry_pulp, name)
    sig_tag = "sha256-" + index_digest.split(":")[1] + ".sig"
    referrers_tag = "sha256-" + digest.split(":")[1]
    assert sorted(held) == sorted(["42", "42-amd64", sig_tag, referrers_tag])
    assert (held["42-amd64"]["digest"], held["42-amd64"]["type"]) == (digest, "artifact")
    assert (held["42"]["digest"], held["42"]["type"]) == (index_digest, "index")
    assert held[sig_tag]["type"] == "cosign_signature"
    # The referrers tag schema's index lists the bundle, which pulp_container calls
    # an attestation bundle.
    (bundle_href,) = held[referrers_tag]["listed_manifests"]
    assert registry_pulp.api().get(bundle_href)["type"] == "cosign_attestation_bundle"

    # A sync from pulp_container verifies both signatures with the same key (the cosign
    # payload names the upstream repository: identity check off).
    back = kickstart_repository_factory()
    remote_back = _destination(
        kickstart_oci_remote_factory, registry_pulp, name, signature_identity_check=False, **trust
    )
    kickstart_sync(back, remote_back)
    (synced,) = trees(latest_version(back))
    assert synced.digest == digest
    assert {r.kind for r in signatures(latest_version(back))} == {"cosign", "sigstore-bundle"}


def test_wrong_credentials_fail_with_pulp_containers_answer(
    registry_pulp,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    push,
):
    kickstart_upstream.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=unique("pc")))
    source = kickstart_repository_factory()
    kickstart_sync(source, kickstart_oci_remote_factory(kickstart_upstream))
    name = f"kickstart/{unique('refused')}"
    target = _destination(kickstart_oci_remote_factory, registry_pulp, name, password="not-it")

    task = push(source, target, expect_failure=True)

    message = task.error["description"]
    host = registry_pulp.base.split("://", 1)[1]
    assert f"registry {host} repository {name}: blob sha256:" in message, message
    assert f"token service {host} for registry {host} refused the remote's credentials" in message
    assert "HTTP 401" in message and "not-it" not in message, message
    assert registry_pulp.api().list("repositories/container/container/", name=name) == []
