"""Another Pulp's trees.json as a replica reads it (netboot/served.py, sources/pulp.py).

Every value a replica keeps passes its grammar where it enters; the URLs the document
names are never used; a replica plans each tree as the upstream stores it (the same
identity) with its files below the remote's URL, and the upstream's verification records
as another Pulp's (``checked_here`` False). For arbitrary and near-valid hostile
documents the parser raises nothing but ServedTreesError (which the Pulp source turns
into a failed sync), and what it returns obeys the grammars.
"""

import copy
import hashlib
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app.models import KickstartPulpRemote, tree_identity
from pulp_kickstart_oci.app.netboot import grammar, layout, served
from pulp_kickstart_oci.app.signatures.result import RECORDED_KINDS as SIGNATURE_KINDS
from pulp_kickstart_oci.app.sources.pulp import PulpFirstStage, PulpSourceError

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("KICKSTART_PROPERTY_EXAMPLES", 300)),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WHERE = "Pulp distribution https://pulp.example/pulp/content/fedora/"
DIGEST = "sha256:" + "d" * 64
FILES = [
    {
        "name": "vmlinuz",
        "path": "images/pxeboot/vmlinuz",
        "role": "kernel",
        "size": 16384,
        "sha256": "1" * 64,
        "media_type": "application/x-netboot-file",
        "url": "https://evil.example/vmlinuz",
    },
    {
        "name": "initrd.img",
        "path": "images/pxeboot/initrd.img",
        "role": "initrd",
        "size": None,  # an on_demand upstream that has not fetched it yet
        "sha256": "2" * 64,
        "media_type": "",
    },
    {
        "name": "shimx64.efi",
        "path": "EFI/BOOT/shimx64.efi",
        "role": "shim",
        "size": 4096,
        "sha256": "3" * 64,
        "media_type": "",
        "package": "shim-x64-15.8-3.x86_64",
        "rpm_sha256": "4" * 64,
        "source_path": "/boot/efi/EFI/fedora/shimx64.efi",
    },
]


def _tree(**changes):
    tree = {
        "version": "42",
        "arch": "x86_64",
        "oci_arch": "amd64",
        "digest": DIGEST,
        "identity": tree_identity("42", "x86_64", DIGEST, FILES),
        "tags": ["42", "42-amd64"],
        "url": "https://evil.example/",
        "treeinfo": "https://evil.example/.treeinfo",
        "boot": {"ipxe": "https://evil.example/boot.ipxe"},
        "files": copy.deepcopy(FILES),
        "warnings": ["manifest x lacks the org.pulpproject.netboot.version annotation"],
        "source": {
            "type": "oci",
            "registry": "https://quay.io",
            "repository": "fedora/kickstart",
            "index": {"digest": "sha256:" + "e" * 64, "os_version": "fedora-42"},
        },
        "annotations": {"org.opencontainers.image.description": "Fedora 42\nnetboot"},
        "signatures": [
            {
                "kind": "cosign",
                "key": "sha256:" + "f" * 64,
                "signed_digest": DIGEST,
                "reference": "quay.io/fedora/kickstart",
                "tlog_checked": False,
                "checked_here": True,
                "verified_at": "2026-01-01T00:00:00+00:00",
            },
            {
                "kind": "rpm",
                "key": "A" * 40 + "," + "B" * 40,
                "signed_digest": DIGEST,
                "reference": "https://dl.example/fedora/42/os/",
                "tlog_checked": False,
                "checked_here": False,
                "verified_at": "2026-01-01T00:00:00+00:00",
            },
        ],
    }
    tree.update(changes)
    return tree


def _raw(*trees):
    return json.dumps({"base_url": "https://evil.example/", "trees": list(trees)}).encode()


def _parse(raw):
    return served.parse(raw, WHERE, SIGNATURE_KINDS)


def test_a_served_tree_is_read_with_every_fact_a_replica_keeps():
    (tree,) = _parse(_raw(_tree()))
    assert (tree.version, tree.arch, tree.oci_arch, tree.digest) == (
        "42",
        "x86_64",
        "amd64",
        DIGEST,
    )
    assert [item.record() for item in tree.files] == [
        {k: v for k, v in record.items() if k != "url"} for record in FILES
    ]
    assert all(item.url is None for item in tree.files)  # never the document's URLs
    assert tree.tags == ["42", "42-amd64"]
    assert tree.source["index"]["os_version"] == "fedora-42"
    assert tree.annotations == {"org.opencontainers.image.description": "Fedora 42\nnetboot"}
    assert [record["kind"] for record in tree.signatures] == ["cosign", "rpm"]
    assert all("checked_here" not in r and "verified_at" not in r for r in tree.signatures)


def test_the_pulp_source_plans_the_same_unit_with_files_below_its_url():
    remote = KickstartPulpRemote(name="upstream", url="https://pulp.example/pulp/content/fedora/")
    stage = PulpFirstStage(remote)
    (tree,) = _parse(_raw(_tree()))

    plan = stage._plan(tree)

    assert plan.identity == tree.identity
    assert [item.url for item in plan.files] == [
        f"https://pulp.example/pulp/content/fedora/42/x86_64/{record['path']}" for record in FILES
    ]
    assert plan.source == {
        **tree.source,
        "replicated_from": [{"url": "https://pulp.example/pulp/content/fedora/"}],
    }
    assert all(record["checked_here"] is False for record in plan.signatures)
    assert plan.tags == ["42", "42-amd64"]


def test_a_replica_of_a_replica_adds_its_hop_and_a_wrong_identity_is_refused():
    remote = KickstartPulpRemote(name="second", url="https://edge.example/pulp/content/fedora")
    stage = PulpFirstStage(remote)
    first = {"url": "https://pulp.example/pulp/content/fedora/"}
    source = {**_tree()["source"], "replicated_from": [first]}
    (tree,) = _parse(_raw(_tree(source=source)))
    plan = stage._plan(tree)
    assert plan.source["replicated_from"] == [
        first,
        {"url": "https://edge.example/pulp/content/fedora/"},
    ]

    (forged,) = _parse(_raw(_tree(identity="sha256:" + "0" * 64)))
    with pytest.raises(PulpSourceError, match="trees.json says identity sha256:0+, but"):
        stage._plan(forged)


def _without(key):
    tree = _tree()
    del tree[key]
    return tree


def _file(**changes):
    files = copy.deepcopy(FILES)
    files[0].update(changes)
    return _tree(files=files)


def _record(**changes):
    tree = _tree()
    tree["signatures"][0].update(changes)
    return tree


@pytest.mark.parametrize(
    "tree, problem",
    [
        (_tree(version="42\nchain http://evil.example/x"), "is not a release"),
        (_tree(arch="x86 64"), "is not an architecture"),
        (_tree(oci_arch="arm64"), "is not the one of x86_64"),
        (_tree(digest="sha512:" + "a" * 128), "digest"),
        (_without("identity"), "older than replication"),
        (_without("source"), "older than replication"),
        (_tree(tags=["42", "42;reboot"]), "is not a tag"),
        (_tree(tags=["42", "42"]), "listed twice"),
        (_tree(tags=["42", "41-amd64"]), "tag 41-amd64 names release 41, not this tree's 42"),
        (_tree(tags=["latest"]), "tag latest names release latest"),
        (_file(path="../../etc/passwd"), "file path"),
        (_file(path="/etc/passwd"), "file path"),
        (_file(path="images/pxeboot/vmlinuz initrd=x"), "file path"),
        (_file(role="bootloader"), "is not one of"),
        (_file(sha256="1" * 63), "sha256"),
        (_file(size=-1), "not a number of bytes"),
        (_file(size=True), "not a number of bytes"),
        (_file(size=1.5), "not a number of bytes"),
        (_file(name="vmlinuz\nx"), "printable"),
        (_file(media_type="text/html; charset=x"), "media type"),
        (_file(rpm_sha256="x"), "rpm_sha256"),
        (_tree(files=FILES + [{**FILES[0], "path": "extra/vmlinuz"}]), "2 files of role kernel"),
        (_tree(files=FILES + [FILES[0]]), "listed twice"),
        (_tree(files=[]), "no files"),
        (_file(bootcmd="x"), "'bootcmd' is not a field a tree stores"),
        (_tree(warnings=["a\x1b[2Jb"]), "printable"),
        (_tree(source={"type": "oci", "family": "Fedora\n[evil]"}), "source.family"),
        (_tree(source={"type": "dnf", "family": "Fedora;reboot"}), "source family"),
        (_tree(source={"index": {"os_version": "42\nx"}}), "os_version"),
        (_tree(source={"bad key!": 1}), "has a key"),
        (_tree(source={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}), "nested too deep"),
        (_tree(source={"a": 1.5}), "not a plain integer"),
        (_tree(annotations={"k": "\x00"}), "control character"),
        (_tree(annotations={"k": 1}), "annotation"),
        (_record(kind="x509"), "signature kind"),
        (_record(key="trust me"), "signature key"),
        (_record(signed_digest="sha256:abc"), "signed digest"),
        (_record(reference="quay.io/x y"), "signature reference"),
        (_record(tlog_checked="yes"), "tlog_checked"),
    ],
)
def test_a_value_outside_its_grammar_is_refused_naming_the_tree(tree, problem):
    with pytest.raises(served.ServedTreesError, match=problem) as refused:
        _parse(_raw(tree))
    assert str(refused.value).startswith(f"{WHERE}: tree ")


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b"{}", "no 'trees' list"),
        (b'{"trees": [], "trees": []}', "appears twice"),
        (b'{"trees": [{"size": NaN}]}', "not a JSON number"),
        (b'{"trees": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not valid JSON"),
        (_raw(_tree(), _tree()), "42/x86_64 is listed twice"),
        (_raw(_tree(), _tree(version="43", tags=["42"])), "tag 42 names release 42, not this"),
    ],
    ids=["empty", "utf-16", "list", "no trees", "twice", "NaN", "deep", "tree twice", "tag twice"],
)
def test_a_document_that_is_not_one_is_refused(raw, problem):
    with pytest.raises(served.ServedTreesError, match=problem):
        _parse(raw)


def test_a_transparency_log_check_never_travels():
    """tlog_checked says this Pulp consulted a transparency log: another Pulp's claim that
    it did is not carried (attack finding F7)."""
    records = _tree()["signatures"]
    records[0]["tlog_checked"] = True
    (tree,) = _parse(_raw(_tree(signatures=records)))
    assert [record["tlog_checked"] for record in tree.signatures] == [False, False]


def test_a_tree_without_a_kernel_or_an_initrd_is_replicated_as_stored():
    """An OCI sync stores a tree whose manifest lacks them (served without boot configs):
    a replica holds what its upstream holds (netboot/stored.py)."""
    files = FILES[2:]
    (tree,) = _parse(
        _raw(_tree(files=files, identity=tree_identity("42", "x86_64", DIGEST, files)))
    )
    assert [item.role for item in tree.files] == ["shim"]


def test_trees_of_other_arches_may_share_tags_and_files():
    arm = _tree(arch="aarch64", oci_arch="arm64", tags=["42-arm64"])
    arm["identity"] = tree_identity("42", "aarch64", DIGEST, FILES)
    amd = _tree(tags=["42-amd64"])
    assert [tree.name for tree in _parse(_raw(amd, arm))] == ["42/x86_64", "42/aarch64"]


# --- properties ------------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "version",
        "arch",
        "oci_arch",
        "digest",
        "identity",
        "tags",
        "files",
        "warnings",
        "source",
        "annotations",
        "signatures",
    ]
)
FILE_KEYS = st.sampled_from(
    ["name", "path", "role", "size", "sha256", "media_type", "package", "rpm_sha256", "source_path"]
)


@PROPERTY
@given(st.binary(max_size=512))
def test_arbitrary_bytes_raise_only_served_trees_error(raw):
    try:
        _parse(raw)
    except served.ServedTreesError:
        pass


@PROPERTY
@given(KEYS, JSON, st.integers(0, 2), FILE_KEYS, JSON, st.booleans())
def test_a_near_valid_document_gives_plain_trees_or_served_trees_error(
    key, value, position, file_key, file_value, in_file
):
    tree = _tree()
    if in_file:
        tree["files"][position][file_key] = file_value
    else:
        tree[key] = value
    try:
        trees = _parse(_raw(tree))
    except served.ServedTreesError:
        return
    for parsed in trees:
        assert grammar.matches(grammar.RELEASE, parsed.version)
        assert grammar.matches(grammar.ARCH, parsed.arch)
        assert grammar.matches(grammar.DIGEST, parsed.identity)
        for item in parsed.files:
            assert grammar.matches(grammar.PATH, item.path) and item.role in layout.ROLES
            assert grammar.matches(grammar.SHA256_HEX, item.sha256)
        assert all(grammar.matches(grammar.TAG, tag) for tag in parsed.tags)
        for record in parsed.signatures:
            assert grammar.matches(grammar.SIGNATURE_KEY, record["key"])


def test_an_oci_sync_refuses_what_another_pulp_would_refuse_of_the_tree_it_stores():
    """Annotations and layer media types are stored with the tree: the sync holds them to
    the checker's rules where they enter, so every synced tree can be exported or replicated."""
    from pulp_kickstart_oci.app.netboot import artifact

    def manifest(annotations, media_type):
        layer = {
            "mediaType": media_type,
            "digest": "sha256:" + "1" * 64,
            "size": 3,
            "annotations": {artifact.TITLE: "vmlinuz"},
        }
        document = {"schemaVersion": 2, "annotations": annotations, "layers": [layer]}
        return json.dumps(document).encode()

    assert artifact.parse_manifest(manifest({"k": "a\nb"}, artifact.NETBOOT_FILE), DIGEST).files
    with pytest.raises(artifact.InvalidArtifact, match="control character"):
        artifact.parse_manifest(manifest({"k": "\x1b[2J"}, artifact.NETBOOT_FILE), DIGEST)
    with pytest.raises(artifact.InvalidArtifact, match="layer 0 .* not type/subtype"):
        artifact.parse_manifest(manifest({}, "text/html; charset=x"), DIGEST)


def test_a_kept_manifest_must_be_the_bytes_of_the_trees_digest():
    manifest = '{"schemaVersion":2,"layers":[]}'
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    identity = tree_identity("42", "x86_64", digest, FILES)
    signatures = [dict(_tree()["signatures"][1], signed_digest=digest)]
    (tree,) = _parse(
        _raw(_tree(digest=digest, identity=identity, manifest=manifest, signatures=signatures))
    )
    assert tree.manifest == manifest
    with pytest.raises(served.ServedTreesError, match="manifest is not the bytes of its digest"):
        _parse(_raw(_tree(manifest=manifest)))


def test_a_record_whose_carrier_would_push_something_else_is_refused():
    forged = {
        "reference": "sha256-" + "c" * 64 + ".sig",  # the tag of another digest
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "manifest": '{"schemaVersion":2,"layers":[]}',
        "blobs": {},
    }
    with pytest.raises(served.ServedTreesError, match="signature carrier: .*cosign tag"):
        _parse(_raw(_record(carrier=forged)))


def _index(**changes):
    raw = json.dumps({"schemaVersion": 2, "manifests": [{"digest": DIGEST}]})
    entry = {
        "tag": "42",
        "digest": "sha256:" + hashlib.sha256(raw.encode()).hexdigest(),
        "media_type": "application/vnd.oci.image.index.v1+json",
        "raw": raw,
    }
    entry.update(changes)
    return entry


def _with_indexes(*entries):
    document = json.loads(_raw(_tree()))
    document["indexes"] = list(entries)
    return json.dumps(document).encode()


def test_upstream_indexes_are_read_once_per_tag_and_checked():
    (index,) = served.indexes(_with_indexes(_index()), WHERE)
    assert index == _index()
    assert served.indexes(_raw(_tree()), WHERE) == []  # an upstream older than them


@pytest.mark.parametrize(
    "entries, problem",
    [
        ([_index(), _index()], "listed twice"),
        ([_index(digest="sha256:" + "c" * 64)], "bytes are not those of its digest"),
        ([_index(tag="42;reboot")], "is not a tag"),
        ([_index(media_type="text/html")], "media type"),
        ([_index(url="https://evil.example/")], "only tag, digest, media_type and raw"),
        ([_index(raw="[]", digest="sha256:" + hashlib.sha256(b"[]").hexdigest())], "JSON object"),
    ],
)
def test_an_index_a_push_would_write_wrong_is_refused_naming_it(entries, problem):
    with pytest.raises(served.ServedTreesError, match=problem) as refused:
        served.indexes(_with_indexes(*entries), WHERE)
    assert str(refused.value).startswith(f"{WHERE}: index")
