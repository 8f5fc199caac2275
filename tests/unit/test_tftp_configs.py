"""Exports for TFTP clients (docs/tftp.md): the same renderers, kernel and initrd by TFTP path."""

import pytest

from pulp_kickstart_oci.app import documents
from pulp_kickstart_oci.app.boot import configs
from tests.unit.test_serving import _Distribution, _settings, _tree

STAGE2 = "inst.stage2=https://pulp.example.com/pulp/content/sample/fedora/42/x86_64/"


def _written(tftp, trees=None):
    distribution = _Distribution(trees or [_tree(), _tree(version="41", grub=False, pk=2)])
    with _settings():
        return {
            path: document.body.decode()
            for path, document in documents.every_document(distribution, tftp=tftp).items()
        }


def test_the_pulp_layout_names_kernel_and_initrd_from_the_tftp_root():
    written = _written(configs.TftpForm(configs.PULP_LAYOUT))
    pxelinux = written["42/x86_64/pxelinux.cfg/default"]
    assert "  KERNEL ::/42/x86_64/images/pxeboot/vmlinuz\n" in pxelinux
    assert f"  APPEND initrd=::/42/x86_64/images/pxeboot/initrd.img {STAGE2} " in pxelinux
    for grub in (written["42/x86_64/grub.cfg"], written["42/x86_64/EFI/BOOT/grub.cfg"]):
        assert f"  linux /42/x86_64/images/pxeboot/vmlinuz {STAGE2} " in grub
        assert "  initrd /42/x86_64/images/pxeboot/initrd.img\n" in grub
    # iPXE and trees.json keep their URLs; nothing is added to the pulp layout.
    http = _written(None)
    assert set(written) == set(http)
    for path in ("boot.ipxe", "trees.json", "42/x86_64/boot.ipxe", "42/x86_64/.treeinfo"):
        assert written[path] == http[path], path
    assert "http://" not in written["41/x86_64/pxelinux.cfg/default"].split("APPEND")[0]


def test_the_foreman_layout_uses_smart_proxy_names_and_the_bootloader_universe():
    tftp = configs.TftpForm(configs.FOREMAN_LAYOUT)
    written = _written(tftp)
    universe = "bootloader-universe/pxegrub2/fedora/42/x86_64/grub.cfg"
    # The universe config is the tree's EFI grub.cfg; a tree without GRUB has none.
    assert written[universe] == written["42/x86_64/EFI/BOOT/grub.cfg"]
    assert "bootloader-universe/pxegrub2/fedora/41/x86_64/grub.cfg" not in written
    assert "  linux /boot/fedora-42-x86_64-vmlinuz " in written[universe]
    assert "  initrd /boot/fedora-42-x86_64-initrd.img\n" in written[universe]
    assert "KERNEL ::/boot/fedora-41-x86_64-vmlinuz\n" in written["41/x86_64/pxelinux.cfg/default"]
    tree = _tree()
    target = configs.target_for(tree, "http://pulp.example/t/42/x86_64/")
    assert tftp.extra_files(tree, target) == {
        "boot/fedora-42-x86_64-vmlinuz": "images/pxeboot/vmlinuz",
        "boot/fedora-42-x86_64-initrd.img": "images/pxeboot/initrd.img",
        "bootloader-universe/pxegrub2/fedora/42/x86_64/grubx64.efi": "EFI/BOOT/grubx64.efi",
    }
    assert configs.TftpForm(configs.PULP_LAYOUT).extra_files(tree, target) == {}


def test_the_foreman_os_name_is_the_release_name_in_lower_case():
    tree = _tree()
    tree.source = {"family": "CentOS Stream"}
    assert configs.TftpForm.foreman_os(tree) == "centos-stream"
    tree.source = {}
    assert configs.TftpForm.foreman_os(tree) == "fedora"


@pytest.mark.parametrize(
    "path", ["../etc/passwd", "/abs/vmlinuz", "a b/vmlinuz", "a;b", "a/./b", "a//b", ""]
)
def test_a_tftp_path_outside_the_grammar_never_reaches_a_config(path):
    tree = _tree()
    target = configs.target_for(tree, "http://pulp.example/t/42/x86_64/")
    with pytest.raises(configs.NotBootable):
        configs.over_tftp(target, tree, path, "boot/initrd.img")
    with pytest.raises(configs.NotBootable):
        configs.over_tftp(target, tree, "boot/vmlinuz", path)
