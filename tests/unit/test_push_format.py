"""What registry/push.py writes is what a sync reads back (netboot/artifact.py)."""

import asyncio
import base64
import hashlib
import json

import pytest

from pulp_kickstart_oci.app.netboot import artifact, layout
from pulp_kickstart_oci.app.registry import auth
from pulp_kickstart_oci.app.registry.push import (
    EMPTY_CONFIG,
    Layer,
    PushError,
    TreePush,
    _answer_of,
    index_of,
    manifest_of,
)
from pulp_kickstart_oci.testing import fedora

TITLES = ["vmlinuz", "initrd.img", "install.img", "shimx64.efi", "grubx64.efi", "pxelinux.0"]


def _tree(version="42", oci_arch="amd64"):
    layers = []
    for title, data in fedora.tree_files(version, oci_arch, with_iso=True, salt="push"):
        annotations = {"org.pulpproject.netboot.provenance.package": "shim-x64-15.8-3.x86_64"}
        layers.append(
            Layer(title, "sha256:" + hashlib.sha256(data).hexdigest(), len(data), annotations, None)
        )
    return TreePush(version, oci_arch, "fedora-42", {"a.b": "c"}, layers)


def test_a_pushed_manifest_is_read_back_as_the_same_files_paths_and_roles():
    tree = _tree()
    raw = manifest_of(tree)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    parsed = artifact.parse_manifest(raw, digest)
    assert parsed.warnings == [] and parsed.artifact_type == artifact.NETBOOT_ARTIFACT_TYPE
    assert parsed.annotations == {"a.b": "c", artifact.NETBOOT_VERSION: "1"}
    got = sorted((f.name, f.path, f.role, f.sha256, f.size) for f in parsed.files)
    want = sorted(
        (
            layer.title,
            layout.place(layer.title).path,
            layout.place(layer.title).role,
            layer.digest.split(":")[1],
            layer.size,
        )
        for layer in tree.layers
    )
    assert got == want
    document = json.loads(raw)
    assert document["config"] == EMPTY_CONFIG
    assert all(layer["mediaType"] == artifact.NETBOOT_FILE for layer in document["layers"])
    assert manifest_of(_tree()) == raw  # deterministic: a second push gives the same digest


def test_a_pushed_index_names_each_tree_with_its_platform():
    trees = [_tree(oci_arch="amd64"), _tree(oci_arch="arm64")]
    entries = [(tree, f"sha256:{n:064x}", 100 + n) for n, tree in enumerate(trees)]
    raw = index_of(entries)
    parsed, annotations = artifact.parse_index(raw, "sha256:" + "0" * 64)
    assert annotations == {artifact.NETBOOT_VERSION: "1"}
    assert [(e.oci_arch, e.os_version, e.digest, e.size) for e in parsed] == [
        ("amd64", "fedora-42", f"sha256:{0:064x}", 100),
        ("arm64", "fedora-42", f"sha256:{1:064x}", 101),
    ]


def test_a_pusher_asks_for_pull_and_push():
    url = "https://registry.example/v2/infra/netboot/blobs/uploads/"
    assert auth.scope_for(url, auth.PUSH) == "repository:infra/netboot:pull,push"
    assert auth.scope_for(url) == "repository:infra/netboot:pull"


class _Response:
    def __init__(self, status, body):
        self.status = status
        self.content = self
        self._body = body

    async def read(self, _size):
        body, self._body = self._body, b""
        return body


def test_a_refusal_names_the_spec_s_error_codes_and_nothing_else_the_registry_wrote():
    """A registry's messages may carry the credentials it was sent, in any spelling (split,
    base64 of the password alone, a prefix): only the spec's codes reach the task error."""
    asyncio.run(_refusals())


async def _refusals():
    password = "S3cr3tPass-a22"
    echoed = base64.b64encode(password.encode()).decode()
    body = json.dumps(
        {
            "errors": [
                {"code": "DENIED", "message": f"pw {password[:3]}-{password[3:]} b64 {echoed}"},
                {"code": "X" + password, "message": "a code outside the spec"},
                {"code": "DENIED", "message": "twice"},
                {"code": "DIGEST_INVALID", "message": "provided digest did not match"},
                "not an object",
            ]
        }
    ).encode()
    answer = await _answer_of(_Response(403, body))
    assert answer == (
        "the registry answered HTTP 403 (DENIED, DIGEST_INVALID): the remote's account may"
        " not push to this repository"
    )
    assert await _answer_of(_Response(405, f"auth was Basic {echoed}\n".encode())) == (
        "the registry answered HTTP 405"
    )
    assert await _answer_of(_Response(500, b"\x1b[31m")) == "the registry answered HTTP 500"
    assert await _answer_of(_Response(401, b'{"errors": {"code": "DENIED"}}')) == (
        "the registry answered HTTP 401: check the remote's credentials"
    )


def test_a_draft_trees_entrypoint_roles_come_back_through_its_kept_annotations():
    """A file a draft's entrypoint gave its role (the layout alone would not) is pushed
    with the tree's annotations, so a sync gives it the same role again."""
    from types import SimpleNamespace

    from pulp_kickstart_oci.app.netboot.treefile import TreeFile
    from pulp_kickstart_oci.app.tasks.pushing import _roles_said, _title

    annotations = {
        "org.pulpproject.netboot.os.name": "fedora",
        "org.pulpproject.netboot.os.version": "42",
        "org.pulpproject.netboot.os.arch": "x86_64",
        "org.pulpproject.netboot.entrypoint": "loader.efi",
    }
    data = fedora.efi("draft")
    item = TreeFile("loader.efi", "extra/loader.efi", layout.SHIM, None, len(data))
    said = _roles_said(SimpleNamespace(annotations=annotations))
    title = _title(item, "file extra/loader.efi", said)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    tree = TreePush("42", "amd64", None, annotations, [Layer(title, digest, len(data), {}, None)])
    raw = manifest_of(tree)
    (read,) = artifact.parse_manifest(raw, "sha256:" + hashlib.sha256(raw).hexdigest()).files
    assert (read.path, read.role) == ("extra/loader.efi", layout.SHIM)
    # Without the entrypoint no title gives that role back: refused, naming the file.
    with pytest.raises(PushError, match=r"file extra/loader\.efi \(shim\): no layer title"):
        _title(item, "file extra/loader.efi", {})
