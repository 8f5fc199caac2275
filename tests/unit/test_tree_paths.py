"""One rule for every source's tree paths (layout.check_paths, run by every TreePlan).

A file never takes a generated document's path or a directory above one, two files never
take one path (nor one a directory of the other), and in a CoreOS tree ``<file>.sig`` is
that file's detached signature or nothing: a sync, an upload, an import and a replication
all build their trees through TreePlan, so none of them can store a tree that breaks it.
"""

import pytest

from pulp_kickstart_oci.app import documents
from pulp_kickstart_oci.app.netboot import layout
from pulp_kickstart_oci.app.netboot.treefile import TreeFile
from pulp_kickstart_oci.app.sources.base import TreePlan

KERNEL = ("images/pxeboot/vmlinuz", layout.KERNEL)
INITRD = ("images/pxeboot/initrd.img", layout.INITRD)


def _plan(files, version="42", kind=layout.ANACONDA):
    return TreePlan(
        version=version,
        arch="x86_64",
        oci_arch="amd64",
        digest="sha256:" + "a" * 64,
        source={},
        annotations={},
        files=[
            TreeFile(name=p.rsplit("/", 1)[-1], path=p, role=r, sha256="b" * 64, size=1)
            for p, r in files
        ],
        kind=kind,
    )


def test_every_tree_document_path_is_reserved():
    for kind in documents.kinds(documents.TREE):
        for name in kind.names:
            assert name in layout.GENERATED_PATHS


@pytest.mark.parametrize("path", [*layout.GENERATED_PATHS, "BOOT.IPXE", "efi/boot/GRUB.CFG"])
def test_a_file_at_a_generated_documents_path_is_refused_naming_both(path):
    with pytest.raises(
        layout.InvalidTitle,
        match=rf"tree 42/x86_64 \(sha256:a+\): file {path} would shadow the generated document",
    ):
        _plan([KERNEL, INITRD, (path, layout.OTHER)])


@pytest.mark.parametrize("path", ["pxelinux.cfg", "EFI", "EFI/BOOT", "efi/boot"])
def test_a_file_at_a_directory_of_a_generated_document_is_refused(path):
    with pytest.raises(layout.InvalidTitle, match=f"file {path} would shadow the generated"):
        _plan([KERNEL, INITRD, (path, layout.OTHER)])


@pytest.mark.parametrize("path", [".treeinfo/x", "boot.ipxe/vmlinuz", "grub.cfg/a/b"])
def test_a_file_below_a_generated_document_is_refused(path):
    with pytest.raises(layout.InvalidTitle, match=f"file {path} would shadow the generated"):
        _plan([KERNEL, INITRD, (path, layout.OTHER)])


@pytest.mark.parametrize(
    "files, clash",
    [
        (
            [KERNEL, INITRD, ("images/pxeboot/VMLINUZ", layout.OTHER)],
            "images/pxeboot/VMLINUZ would shadow the file images/pxeboot/vmlinuz",
        ),
        (
            [KERNEL, INITRD, ("images/pxeboot/vmlinuz/x", layout.OTHER)],
            "vmlinuz/x would shadow the file images/pxeboot/vmlinuz",
        ),
        (
            [("images/pxeboot/vmlinuz/x", layout.OTHER), KERNEL, INITRD],
            "images/pxeboot/vmlinuz would shadow the file images/pxeboot/vmlinuz/x",
        ),
        ([KERNEL, INITRD, KERNEL], "vmlinuz would shadow the file images/pxeboot/vmlinuz"),
    ],
)
def test_two_files_never_take_one_path_or_one_below_the_other(files, clash):
    with pytest.raises(layout.InvalidTitle, match=clash):
        _plan(files)


def test_a_coreos_file_at_another_files_signature_path_is_refused():
    kernel = ("fedora-coreos-44-live-kernel.x86_64", layout.KERNEL)
    disk = ("fedora-coreos-44-live-kernel.x86_64.sig", layout.DISK)
    with pytest.raises(
        layout.InvalidTitle,
        match="would be served as the signature of fedora-coreos-44-live-kernel.x86_64",
    ):
        _plan([kernel, disk], kind=layout.COREOS)
    # In an Anaconda tree nothing reads <file>.sig: upstream's own .sig is a file like any.
    _plan([KERNEL, INITRD, ("extra/notes", layout.OTHER), ("extra/notes.sig", layout.OTHER)])


def test_a_signature_is_served_only_beside_its_file():
    kernel = ("k", layout.KERNEL)
    _plan([kernel, ("k.sig", layout.SIGNATURE)], kind=layout.COREOS)
    with pytest.raises(layout.InvalidTitle, match="signature x.sig is not <file>.sig"):
        _plan([kernel, ("x.sig", layout.SIGNATURE)], kind=layout.COREOS)


@pytest.mark.parametrize("version", ["latest", "coreos", "v1", "4 2"])
def test_a_tree_of_a_reserved_or_malformed_release_is_refused(version):
    with pytest.raises(layout.InvalidTitle, match=f"tree {version}/x86_64 .*release"):
        _plan([KERNEL, INITRD], version=version)


def test_a_path_outside_the_grammar_is_refused_naming_it():
    with pytest.raises(layout.InvalidTitle, match="file path '../etc/passwd'"):
        _plan([KERNEL, INITRD, ("../etc/passwd", layout.OTHER)])


@pytest.mark.parametrize("name", ["r.img.sig", "r.img.Sig", "R.IMG.SIG"])
def test_in_a_coreos_tree_nothing_but_a_signature_is_at_a_files_sig_path_in_any_case(name):
    """Whether or not upstream signs the file: coreos-installer reads <file>.sig there."""
    with pytest.raises(layout.InvalidTitle, match=f"file {name} would be served as the signature"):
        _plan(
            [
                ("k", layout.KERNEL),
                ("i", layout.INITRD),
                ("r.img", layout.ROOTFS),
                (name, layout.OTHER),
            ],
            kind=layout.COREOS,
        )


@pytest.mark.parametrize("path", ["boot.ipxe.", "extra/a.", "images./vmlinuz2"])
def test_a_segment_ending_in_a_dot_is_refused(path):
    """Windows and Samba drop it: an export there would merge two names."""
    with pytest.raises(layout.InvalidTitle, match="segment ending in '.'"):
        _plan([KERNEL, INITRD, (path, layout.OTHER)])
