"""An uploaded file's path decides its role exactly as a sync decides it (layout.locate).

A sync places a file by its name (``layout.place``); an upload names the path. For every
name a sync can place, the path it lands at is accepted by ``locate`` with the same role,
and no other path is: so an uploaded tree has the layout and the roles of a synced one.
"""

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app.netboot import grammar, layout

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=int(os.environ.get("KICKSTART_PROPERTY_EXAMPLES", 300)),
)

SEGMENT = st.from_regex(r"[A-Za-z0-9_+~-][A-Za-z0-9._+~-]{0,20}", fullmatch=True)
NAMES = st.one_of(
    SEGMENT,
    st.sampled_from(
        ["vmlinuz", "VMLINUZ", "initrd.img", "install.img", "boot.iso", "pxelinux.0"]
        + ["shimx64.efi", "BOOTX64.EFI", "grubaa64.efi", "mmx64.efi", "ldlinux.c32", "grub.0"]
    ),
)
TITLES = st.lists(NAMES, min_size=1, max_size=4).map("/".join)


@PROPERTY
@given(TITLES)
def test_where_a_sync_puts_a_file_an_upload_may_name_with_the_same_role(title):
    placed = layout.place(title)
    assert layout.locate(placed.path)[1] == placed


@PROPERTY
@given(st.lists(NAMES, min_size=1, max_size=4).map("/".join))
def test_a_path_is_accepted_only_where_a_sync_would_put_its_file(path):
    try:
        title, placement = layout.locate(path)
    except layout.InvalidTitle as refused:
        # Refused: no name a sync places lands at this path; the message says where it goes.
        name = path.rsplit("/", 1)[-1]
        assert layout.place(name).path != path
        assert layout.place(name).path in str(refused)
        return
    assert placement.path == path and layout.place(title) == placement


@pytest.mark.parametrize(
    "path, says",
    [
        ("boot/vmlinuz", "a file named vmlinuz is served at images/pxeboot/vmlinuz"),
        ("images/pxeboot/VMLINUZ", "a file named VMLINUZ is served at images/pxeboot/vmlinuz"),
        ("extra/vmlinuz", "a file named vmlinuz is served at images/pxeboot/vmlinuz"),
        ("images/pxeboot/shim.efi", "a file named shim.efi is served at EFI/BOOT/shim.efi"),
        ("EFI/BOOT/grub.cfg", "a file named grub.cfg is served at extra/grub.cfg"),
        (".treeinfo", "a file named .treeinfo is served at extra/.treeinfo"),
        ("../etc/shadow", "is not a relative path of plain segments"),
        ("/images/pxeboot/vmlinuz", "is not a relative path of plain segments"),
        ("images//vmlinuz", "is not a relative path of plain segments"),
        ("images/pxeboot/vmlinuz\n", "is not a relative path of plain segments"),
        ("extra/a b", "is not a relative path of plain segments"),
    ],
)
def test_other_paths_are_refused_saying_where_the_name_belongs(path, says):
    with pytest.raises(layout.InvalidTitle) as refused:
        layout.locate(path)
    assert says in str(refused.value)


def test_generated_documents_cannot_be_uploaded():
    """Pulp renders .treeinfo and the boot configs; an upload can never stand in for them."""
    for document in (".treeinfo", "boot.ipxe", "grub.cfg", "pxelinux.cfg/default"):
        with pytest.raises(layout.InvalidTitle):
            layout.locate(document)
        assert grammar.matches(grammar.PATH, document)
