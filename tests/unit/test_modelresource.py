"""Pulp import rows (app/modelresource.py): a tree comes in only as a sync could have stored it.

No database: ``check_tree_row`` is what every tree row of an archive passes before any row
of its batch is written; the functional proof is tests/functional/test_pulp_export_import.py.
A tree an archive carries and one a replica reads in trees.json pass the same checker
(netboot/stored.py): the same tree is taken or refused by both, for the same reason.
"""

import hashlib
import json

import pytest

from pulp_kickstart_oci.app import modelresource
from pulp_kickstart_oci.app.modelresource import ImportRefused, StrictJSONWidget, check_tree_row
from pulp_kickstart_oci.app.models import KickstartRepository, tree_identity
from pulp_kickstart_oci.app.netboot import served, stored
from pulp_kickstart_oci.app.serializers import SIGNATURE_KINDS

SHA = "a" * 64


def _file(path="images/pxeboot/vmlinuz", role="kernel", sha256=SHA, **extra):
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "role": role,
        "size": 4096,
        "sha256": sha256,
        "media_type": "",
        **extra,
    }


def _row(files=None, identity=None, **fields):
    files = [_file()] if files is None else files
    row = {
        "version": "42",
        "arch": "x86_64",
        "oci_arch": "amd64",
        "digest": "sha256:" + "b" * 64,
        "source": json.dumps({"type": "oci"}),
        "annotations": json.dumps({}),
        "files": json.dumps(files),
        "warnings": json.dumps([]),
    }
    row.update(fields)
    row["identity"] = identity or tree_identity(row["version"], row["arch"], row["digest"], files)
    return row


def test_a_tree_a_sync_could_store_is_taken():
    tree = check_tree_row(_row())
    assert (tree["version"], tree["arch"]) == ("42", "x86_64")
    assert tree["files"] == [_file()]


@pytest.mark.parametrize(
    ("row", "named"),
    [
        (_row(version="42 inst.ks=http://evil/"), "release"),
        (_row(arch="x86_64\n"), "architecture"),
        (_row(digest="sha256:XYZ"), "digest"),
        (_row(files=[_file(path="../../etc/passwd")]), "file path"),
        (_row(files=[_file(path="images/pxeboot/vmlinuz;reboot")]), "file path"),
        (_row(files=[_file(role="bootkit")]), "role"),
        (_row(files=[_file(sha256="A" * 64)]), "sha256"),
        (_row(files=[_file(size=-1)]), "size"),
        (_row(files=[_file(), _file()]), "listed twice"),
        (_row(files=[_file(url="http://elsewhere/")]), "not a field a tree stores"),
        (_row(files=[]), "no files"),
        (_row(warnings=json.dumps(["two\nlines"])), "warning"),
        (_row(annotations="['not', 'a', 'dict']"), "JSON"),
        (_row(identity="sha256:" + "c" * 64), "identity"),
    ],
)
def test_a_tree_row_outside_what_a_sync_stores_is_refused_naming_why(row, named):
    with pytest.raises(ImportRefused) as refused:
        check_tree_row(row)
    message = str(refused.value)
    assert message.startswith("Pulp import: ") and named in message, message
    assert message.endswith("No repository version was created.")


def test_the_identity_covers_the_files_a_forger_would_swap():
    """Two files' bytes swapped under the same digest give another identity: an archive
    must recompute it, and then the tree is another unit (verify_signatures refuses it)."""
    files = [_file(), _file("images/pxeboot/initrd.img", "initrd", sha256="c" * 64)]
    swapped = [dict(files[0], sha256="c" * 64), dict(files[1], sha256=SHA)]
    row = _row(files=swapped, identity=_row(files=files)["identity"])
    with pytest.raises(ImportRefused, match="identity"):
        check_tree_row(row)


@pytest.mark.parametrize("value", [{}, [], {"a": [1, "b"]}, ["x"]])
def test_json_columns_come_back_as_they_left_even_empty(value):
    widget = StrictJSONWidget(type(value))
    assert widget.clean(widget.render(value)) == value


def test_every_kickstart_content_type_and_the_repository_travel_in_order():
    """Trees before what names them (tags, records by the tree's identity), then the
    repository; pulpcore imports the resources in this order."""
    models = [resource._meta.model.__name__ for resource in modelresource.IMPORT_ORDER]
    assert models == [
        "KickstartTree",
        "KickstartTag",
        "KickstartIndex",
        "KickstartSignature",
        "KickstartReleaseIndex",
        "KickstartRepository",
    ]
    # Every content type a kickstart repository holds travels.
    assert set(models) - {"KickstartRepository"} == {
        model.__name__ for model in KickstartRepository.CONTENT_TYPES
    }
    repository = modelresource.KickstartRepositoryResource()
    assert "last_sync_details" not in repository.fields


def test_an_imported_signature_record_is_never_this_pulps():
    row = {
        "checked_here": True,
        "tlog_checked": "1",
        "_pulp_domain": "theirs",
        "pulp_type": "kickstart.tree",
    }
    modelresource.KickstartSignatureResource().before_import_row(row)
    assert row["checked_here"] is False
    assert row["tlog_checked"] is False  # no transparency log was consulted here (F7)
    assert row["pulp_type"] == "kickstart.signature"


# --- one set of rules: an archive's row and a replica's trees.json entry -----------------------

WHERE = "Pulp distribution https://pulp.example/pulp/content/fedora/"
INITRD = _file("images/pxeboot/initrd.img", "initrd", sha256="c" * 64)


def _served_entry(row):
    """The row's tree as another Pulp's trees.json serves it (JSON columns parsed, URLs)."""
    entry = {key: json.loads(row[key]) for key in ("files", "source", "annotations", "warnings")}
    entry.update({key: row[key] for key in ("version", "arch", "oci_arch", "digest", "identity")})
    entry["files"] = [{**item, "url": "https://elsewhere.example/x"} for item in entry["files"]]
    return entry


def _both_paths(row):
    """What each path says of one tree: None when it takes it, else its message."""
    said = []
    try:
        check_tree_row(row)
        said.append(None)
    except ImportRefused as exc:
        said.append(str(exc))
    raw = json.dumps({"trees": [_served_entry(row)]}).encode()
    try:
        served.parse(raw, WHERE, SIGNATURE_KINDS)
        said.append(None)
    except served.ServedTreesError as exc:
        said.append(str(exc))
    return said


@pytest.mark.parametrize(
    ("files", "fields", "problem"),
    [
        ([_file()], {}, None),  # no initrd: an OCI sync stores it
        ([_file("images/boot.iso", "iso")], {}, None),  # no kernel either
        ([_file(), INITRD, _file("extra/vmlinuz", "kernel")], {}, "2 files of role kernel"),
        ([_file(media_type="text/html; charset=x")], {}, "media type"),
        ([_file(rpm_sha256="x")], {}, "rpm_sha256"),
        ([_file(package="")], {}, "package is empty"),
        ([_file(size=2**60)], {}, "not a number of bytes"),
        ([_file()], {"oci_arch": "arm64"}, "is not the one of x86_64"),
        ([_file()], {"annotations": json.dumps({"k": "\x00"})}, "control character"),
        ([_file()], {"source": json.dumps({"bad key!": 1})}, "has a key"),
        ([_file()], {"source": json.dumps({"family": "Fedora;reboot"})}, "source family"),
        ([_file()], {"warnings": json.dumps([""])}, "a warning is empty"),
    ],
)
def test_an_archive_and_a_trees_json_hold_a_tree_to_the_same_rules(files, fields, problem):
    row = _row(files=files, **fields)
    archive, replica = _both_paths(row)
    if problem is None:
        assert (archive, replica) == (None, None)
        return
    assert archive is not None and replica is not None, (archive, replica)
    assert problem in archive and problem in replica, (archive, replica)
    assert "42/x86_64" in archive and replica.startswith(f"{WHERE}: tree 42/x86_64: ")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"tlog_checked": "1"}, None),  # import-export writes a boolean as "1" or "0"
        ({"key": "trust me"}, "signature key"),
        ({"reference": "quay.io/x y"}, "signature reference"),
        ({"kind": "x509"}, "signature kind"),
        ({"tlog_checked": "yes"}, "tlog_checked"),
    ],
)
def test_a_signature_row_passes_the_rules_a_replica_applies(changes, problem):
    row = {
        "kind": "cosign",
        "key": "sha256:" + "f" * 64,
        "signed_digest": "sha256:" + "b" * 64,
        "reference": "quay.io/fedora/kickstart",
        "tlog_checked": "0",
        "tree": "sha256:" + "e" * 64,
        **changes,
    }
    resource = modelresource.KickstartSignatureResource()
    if problem is None:
        assert stored.check_signature(modelresource._native_booleans(row), SIGNATURE_KINDS)
        return
    with pytest.raises(ImportRefused, match=problem):
        resource.check_rows([row])


def test_a_tree_row_whose_manifest_is_not_its_digest_is_refused():
    manifest = '{"schemaVersion":2}'
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    assert check_tree_row(_row(digest=digest, manifest=manifest))["digest"] == digest
    with pytest.raises(ImportRefused, match="manifest is not the bytes of its digest"):
        check_tree_row(_row(manifest=manifest))


def _index_row(**changes):
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "b" * 64,
                    "size": 10,
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    )
    row = {
        "tag": "42",
        "digest": "sha256:" + hashlib.sha256(raw.encode()).hexdigest(),
        "media_type": "application/vnd.oci.image.index.v1+json",
        "raw": raw,
    }
    row.update(changes)
    return row


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, None),
        ({"digest": "sha256:" + "c" * 64}, "bytes are not those of its digest"),
        ({"tag": "42 inst.ks=x"}, "tag"),
        ({"media_type": "application/vnd.oci.image.manifest.v1+json"}, "media type"),
    ],
)
def test_an_index_row_is_the_bytes_of_its_digest_and_an_index(changes, problem):
    resource = modelresource.KickstartIndexResource()
    if problem is None:
        resource.check_rows([_index_row()])
        return
    with pytest.raises(ImportRefused, match=problem):
        resource.check_rows([_index_row(**changes)])


def test_a_signature_row_with_a_carrier_for_another_digest_is_refused():
    row = {
        "kind": "cosign",
        "key": "sha256:" + "f" * 64,
        "signed_digest": "sha256:" + "b" * 64,
        "reference": "quay.io/fedora/kickstart",
        "tlog_checked": "0",
        "tree": "sha256:" + "e" * 64,
        "carrier": json.dumps(
            {
                "reference": "sha256-" + "c" * 64 + ".sig",
                "media_type": "application/vnd.oci.image.manifest.v1+json",
                "manifest": '{"schemaVersion":2,"layers":[]}',
                "blobs": {},
            }
        ),
    }
    with pytest.raises(ImportRefused, match="cosign tag"):
        modelresource.KickstartSignatureResource().check_rows([row])
