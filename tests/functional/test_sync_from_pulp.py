"""A Pulp remote (another Pulp's kickstart distribution) on the dev stack, against a stand-in.

The upstream here is a directory served over HTTP holding what a Pulp distribution
serves: ``trees.json`` and each tree's files at ``<version>/<arch>/<path>``. The
document is written from its published form (docs/sync-from-pulp.md), the identity
computed here from the formula the docs give, so a misreading shows up as a failure.
A replica fetches every file below its remote's URL, never where trees.json points, and
refuses a document or a file that is not what it claims, naming it, with no new version.
Replication between two real Pulps is tests/functional/test_replication.py.
"""

import base64
import hashlib
import json

import pytest

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from pulp_kickstart_oci.testing.oci import OCI_INDEX, OCI_MANIFEST

RELEASE, ARCH = "42", "x86_64"
PLACES = {  # title -> (tree path, role)
    "vmlinuz": ("images/pxeboot/vmlinuz", "kernel"),
    "initrd.img": ("images/pxeboot/initrd.img", "initrd"),
    "install.img": ("images/install.img", "stage2"),
    "boot.iso": ("images/boot.iso", "iso"),
}
# What the upstream flagged: a 196-byte placeholder boot.iso (a replica flags it once).
PLACEHOLDER = (
    "boot.iso: 196 bytes, too small to be an ISO 9660 image ('CD001' at 0x8001); "
    "probably a placeholder"
)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def identity(version, arch, digest, files):
    """A tree's identity as docs/architecture.md gives it."""
    canonical = {
        "version": version,
        "arch": arch,
        "digest": digest,
        "files": sorted([item["path"], item["sha256"]] for item in files),
    }
    return "sha256:" + sha256(json.dumps(canonical, separators=(",", ":")).encode())


class StandIn:
    """A directory holding one distribution's trees.json and files."""

    def __init__(self, root, salt):
        self.root = root
        self.files = {}  # tree path -> bytes
        records = []
        placeholder = ("boot.iso", b"\0" * 180 + salt.encode()[-16:].rjust(16, b"-"))
        for title, data in fedora.tree_files(RELEASE, "amd64", salt=salt) + [placeholder]:
            if title not in PLACES:
                continue
            path, role = PLACES[title]
            self.files[path] = data
            records.append(
                {
                    "name": title,
                    "path": path,
                    "role": role,
                    "size": len(data),
                    "sha256": sha256(data),
                    "media_type": "application/x-netboot-file",
                }
            )
        digest = "sha256:" + sha256(salt.encode())
        self.document = {
            "base_url": "http://127.0.0.1:9/pulp/content/elsewhere/",
            "trees": [
                {
                    "version": RELEASE,
                    "arch": ARCH,
                    "oci_arch": "amd64",
                    "digest": digest,
                    "identity": identity(RELEASE, ARCH, digest, records),
                    "tags": ["42", "42-amd64"],
                    "source": {"type": "oci", "registry": "https://quay.io", "repository": salt},
                    "annotations": {"org.pulpproject.netboot.version": "1"},
                    "files": records,
                    "warnings": [PLACEHOLDER],
                    "signatures": [
                        {
                            "kind": "cosign",
                            "key": "sha256:" + "a" * 64,
                            "signed_digest": digest,
                            "reference": f"quay.io/{salt}",
                            "tlog_checked": False,
                            "checked_here": True,
                            "verified_at": "2026-01-01T00:00:00+00:00",
                        }
                    ],
                }
            ],
        }

    @property
    def tree(self):
        return self.document["trees"][0]

    def write(self, raw=None):
        """Write trees.json (``raw`` bytes instead of the document) and the files."""
        for path, data in self.files.items():
            target = self.root / RELEASE / ARCH / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        body = raw if raw is not None else json.dumps(self.document).encode()
        (self.root / "trees.json").write_bytes(body)


@pytest.fixture
def stand_in(tmp_path):
    return StandIn(tmp_path / "upstream", unique("pulp-upstream"))


def test_files_come_from_below_the_remotes_url_never_from_where_trees_json_points(
    stand_in,
    tmp_path,
    kickstart_tree_server_factory,
    kickstart_pulp_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    kickstart_bindings,
    latest_version,
    trees,
):
    elsewhere_copy = StandIn(tmp_path / "elsewhere", "unused")
    elsewhere_copy.files = stand_in.files
    elsewhere_copy.write()
    elsewhere = kickstart_tree_server_factory(elsewhere_copy.root)
    tree = stand_in.tree
    tree["url"] = f"{elsewhere.url}/{RELEASE}/{ARCH}/"
    stand_in.document["base_url"] = f"{elsewhere.url}/"
    files = tree["files"]
    tree["files"] = [
        {**item, "url": f"{elsewhere.url}/{RELEASE}/{ARCH}/{item['path']}"} for item in files
    ]
    stand_in.write()
    tree["files"] = files
    upstream = kickstart_tree_server_factory(stand_in.root)
    remote = kickstart_pulp_remote_factory(upstream.url)
    repository = kickstart_repository_factory()

    kickstart_sync(repository, remote)

    (stored,) = trees(latest_version(repository))
    assert stored.identity == tree["identity"]
    assert [f.to_dict() for f in stored.files] == tree["files"]  # without their "url"
    assert stored.source == {**tree["source"], "replicated_from": [{"url": remote.url}]}
    assert stored.warnings == [PLACEHOLDER]  # the upstream's flag, not a second one
    assert elsewhere.requests == []
    wanted = {f"/{RELEASE}/{ARCH}/{path}" for path in stand_in.files}
    assert set(upstream.requests) == wanted | {"/trees.json"}
    (record,) = kickstart_bindings.ContentSignaturesApi.list(
        repository_version=latest_version(repository)
    ).results
    assert record.checked_here is False and record.key == "sha256:" + "a" * 64
    tags = kickstart_bindings.ContentTagsApi.list(repository_version=latest_version(repository))
    assert sorted(tag.name for tag in tags.results) == ["42", "42-amd64"]


def _break_identity(stand_in):
    stand_in.tree["identity"] = "sha256:" + "0" * 64


def _second_kernel(stand_in):
    """A tree without a kernel is replicated as stored; one with two is no stored tree."""
    (kernel,) = [f for f in stand_in.tree["files"] if f["role"] == "kernel"]
    stand_in.tree["files"].append({**kernel, "name": "vmlinuz2", "path": "extra/vmlinuz2"})


def _escape_the_tree(stand_in):
    stand_in.tree["files"][0]["path"] = "../../../etc/passwd"


def _script_in_the_release(stand_in):
    stand_in.tree["version"] = "42\nchain http://evil.example/x"


def _forge_a_key(stand_in):
    stand_in.tree["signatures"][0]["key"] = "trust me"


def _flip_a_byte(stand_in):
    kernel = bytearray(stand_in.files["images/pxeboot/vmlinuz"])
    kernel[100] ^= 0xFF
    stand_in.files["images/pxeboot/vmlinuz"] = bytes(kernel)


def _index(stream="stable"):
    record = {
        "stream": stream,
        "releases": [
            {
                "version": "44.20260707.3.1",
                "commits": {"x86_64": "d" * 64},
                "oci_images": {},
                "barrier": None,
                "deadend": None,
                "rollout": None,
            }
        ],
    }
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return {"stream": stream, "identity": "sha256:" + sha256(canonical.encode()), "record": record}


def _forge_an_index(stand_in):
    forged = _index()
    forged["record"]["releases"][0]["commits"]["x86_64"] = "e" * 64  # identity left as was
    stand_in.document["release_indexes"] = [forged]


def _index_of_another_stream(stand_in):
    moved = _index()
    moved["stream"] = "next"
    stand_in.document["release_indexes"] = [moved]


def _index_twice(stand_in):
    stand_in.document["release_indexes"] = [_index(), _index()]


def _script_in_an_index(stand_in):
    bad = _index()
    bad["record"]["releases"][0]["version"] = "44\nchain http://evil.example/x"
    stand_in.document["release_indexes"] = [bad]


def _manifest_of_another_digest(stand_in):
    """Kept bytes that are not the tree's: a push would write another manifest."""
    stand_in.tree["manifest"] = json.dumps({"schemaVersion": 2, "layers": []})


def _manifest_not_text(stand_in):
    stand_in.tree["manifest"] = {"schemaVersion": 2}


def _raw_index(listed):
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": listed})


def _index_of_another_digest(stand_in):
    raw = _raw_index([{"digest": stand_in.tree["digest"], "mediaType": OCI_MANIFEST}])
    stand_in.document["indexes"] = [
        {"tag": "42", "digest": "sha256:" + "0" * 64, "media_type": OCI_INDEX, "raw": raw}
    ]


def _index_not_an_index(stand_in):
    raw = json.dumps(["not", "an", "index"])
    stand_in.document["indexes"] = [
        {
            "tag": "42",
            "digest": "sha256:" + sha256(raw.encode()),
            "media_type": OCI_INDEX,
            "raw": raw,
        }
    ]


def _index_tag_twice(stand_in):
    raw = _raw_index([])
    entry = {"tag": "42", "digest": "sha256:" + sha256(raw.encode()), "media_type": OCI_INDEX}
    stand_in.document["indexes"] = [{**entry, "raw": raw}, {**entry, "raw": raw}]


def _carrier(stand_in, signed, blob, said=None):
    """A cosign .sig manifest for ``signed`` carrying ``blob``, said to be ``said``'s bytes."""
    said = said or blob
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 2,
                "digest": "sha256:" + sha256(b"{}"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "size": len(said),
                    "digest": "sha256:" + sha256(said),
                }
            ],
        }
    )
    stand_in.tree["signatures"][0]["carrier"] = {
        "reference": "sha256-" + signed.split(":", 1)[1] + ".sig",
        "media_type": OCI_MANIFEST,
        "manifest": manifest,
        "blobs": {"sha256:" + sha256(said): base64.b64encode(blob).decode()},
    }


def _carrier_of_another_digest(stand_in):
    _carrier(stand_in, "sha256:" + "b" * 64, b'{"critical": {}}')


def _carrier_blob_not_its_digest(stand_in):
    _carrier(stand_in, stand_in.tree["digest"], b'{"critical": 1}', said=b'{"critical": 2}')


HOSTILE = {
    "index identity": (_forge_an_index, None, ["release index of stream stable", "sha256"]),
    "index stream": (_index_of_another_stream, None, ["stream next", "another stream's"]),
    "index twice": (_index_twice, None, ["release index of stream stable", "listed twice"]),
    "index script": (_script_in_an_index, None, ["release index of stream stable", "version"]),
    "identity": (_break_identity, None, ["trees.json says identity", "42/x86_64"]),
    "two kernels": (_second_kernel, None, ["42/x86_64", "2 files of role kernel"]),
    "path": (_escape_the_tree, None, ["42/x86_64", "file path", "etc/passwd"]),
    "release": (_script_in_the_release, None, ["release", "is not a release"]),
    "key": (_forge_a_key, None, ["42/x86_64", "signature key"]),
    "bytes": (_flip_a_byte, None, ["vmlinuz", "42/x86_64", "digest"]),
    "json": (None, b'{"trees": [', ["trees.json is not valid JSON"]),
    "duplicate key": (None, b'{"trees": [], "trees": []}', ["appears twice"]),
    "kept manifest": (
        _manifest_of_another_digest,
        None,
        ["tree 42/x86_64: its manifest is not the bytes of its digest sha256:"],
    ),
    "kept manifest type": (_manifest_not_text, None, ["tree 42/x86_64: its manifest is not text"]),
    "kept index digest": (
        _index_of_another_digest,
        None,
        ["index 42: its bytes are not those of its digest"],
    ),
    "kept index shape": (_index_not_an_index, None, ["index 42: it is not a JSON object"]),
    "kept index twice": (_index_tag_twice, None, ["index 42: listed twice"]),
    "carrier digest": (
        _carrier_of_another_digest,
        None,
        ["tree 42/x86_64: signature carrier: the carrier's tag is not the cosign tag of sha256:"],
    ),
    "carrier blob": (
        _carrier_blob_not_its_digest,
        None,
        [
            "tree 42/x86_64: signature carrier: carrier blob sha256:",
            "is not the bytes of its digest",
        ],
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_upstream_pulp_fails_the_sync_naming_what_and_stores_nothing(
    case,
    stand_in,
    kickstart_tree_server_factory,
    kickstart_pulp_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    change, raw, expected = HOSTILE[case]
    if change is not None:
        change(stand_in)
    stand_in.write(raw)
    upstream = kickstart_tree_server_factory(stand_in.root)
    remote = kickstart_pulp_remote_factory(upstream.url)
    repository = kickstart_repository_factory()

    message = fails_and_changes_nothing(repository, remote, *expected)

    assert f"Pulp distribution {remote.url}" in message
    assert message.endswith("No repository version was created.")


def test_trees_past_the_trees_budget_fail_the_sync_before_any_file_is_fetched(
    pulp_settings,
    stand_in,
    kickstart_tree_server_factory,
    kickstart_pulp_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    limit = pulp_settings.KICKSTART_SYNC_MAX_TREES
    one = stand_in.tree
    stand_in.document["trees"] = [
        {
            **one,
            "version": str(number),
            "identity": identity(str(number), ARCH, one["digest"], one["files"]),
            "tags": [],
        }
        for number in range(limit + 1)
    ]
    stand_in.write()
    upstream = kickstart_tree_server_factory(stand_in.root)
    remote = kickstart_pulp_remote_factory(upstream.url)
    repository = kickstart_repository_factory()

    fails_and_changes_nothing(
        repository,
        remote,
        f"tree {limit}/{ARCH}: the sync went past KICKSTART_SYNC_MAX_TREES ({limit})",
    )

    assert upstream.requests == ["/trees.json"]
