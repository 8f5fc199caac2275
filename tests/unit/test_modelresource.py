"""Pulp import rows (app/modelresource.py): a tree comes in only as a sync could have stored it.

No database: ``check_tree_row`` is what every tree row of an archive passes before any row
of its batch is written; the functional proof is tests/functional/test_pulp_export_import.py.
"""

import json

import pytest

from pulp_kickstart_oci.app import modelresource
from pulp_kickstart_oci.app.modelresource import ImportRefused, StrictJSONWidget, check_tree_row
from pulp_kickstart_oci.app.models import tree_identity

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
        (_row(files=[_file(url="http://elsewhere/")]), "fields a tree never stores"),
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
        "KickstartSignature",
        "KickstartRepository",
    ]
    repository = modelresource.KickstartRepositoryResource()
    assert "last_sync_details" not in repository.fields


def test_an_imported_signature_record_is_never_this_pulps():
    row = {"checked_here": True, "_pulp_domain": "theirs", "pulp_type": "kickstart.tree"}
    modelresource.KickstartSignatureResource().before_import_row(row)
    assert row["checked_here"] is False
    assert row["pulp_type"] == "kickstart.signature"
