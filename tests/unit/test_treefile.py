"""The one record of a tree's file: what a tree stores is what the API documents."""

from pulp_kickstart_oci.app.netboot.treefile import PROVENANCE_FIELDS, RECORD_FIELDS, TreeFile


def _image(**extra):
    return TreeFile(
        name="vmlinuz",
        path="images/pxeboot/vmlinuz",
        role="kernel",
        sha256="a" * 64,
        size=10,
        **extra,
    )


def test_a_record_keeps_the_served_file_and_its_provenance_not_where_bytes_were():
    item = _image(source_path="images/pxeboot/vmlinuz", url="http://x/", local_path="/tmp/x")
    assert item.record() == {
        "name": "vmlinuz",
        "path": "images/pxeboot/vmlinuz",
        "role": "kernel",
        "size": 10,
        "sha256": "a" * 64,
        "media_type": "",
        "source_path": "images/pxeboot/vmlinuz",
    }


def test_a_stored_record_comes_back_as_the_same_file_located_anew():
    item = _image(package="shim-x64-16.1-1.x86_64", rpm_sha256="b" * 64, source_path="boot/x")
    again = TreeFile.from_record(item.record(), url="http://y/#boot/x", artifact="stored")
    assert again.record() == item.record()
    assert (again.url, again.artifact, again.local_path) == ("http://y/#boot/x", "stored", None)


def test_located_leaves_the_original_alone():
    item = _image()
    moved = item.located(url="http://z/")
    assert item.url is None and moved.url == "http://z/" and moved.digest == "sha256:" + "a" * 64


def test_the_api_documents_exactly_the_recorded_fields():
    from pulp_kickstart_oci.app.serializers import TreeFileSerializer

    assert set(TreeFileSerializer().fields) == set(RECORD_FIELDS + PROVENANCE_FIELDS)
