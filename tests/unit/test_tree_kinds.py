"""Tree kinds (boot/kinds.py): what an Anaconda tree and a CoreOS tree boot into.

An Anaconda tree's boot configs keep the command line they always had; a CoreOS tree
boots its live system (coreos.live.rootfs_url names its served root filesystem, Ignition
runs on first boot) and has no .treeinfo; a tree without a kind is an Anaconda tree.
"""

import pytest

from pulp_kickstart_oci.app.boot import configs, kinds
from pulp_kickstart_oci.app.netboot import layout, stored

URL = "http://pulp.example/pulp/content/fcos/44.20260707.3.1/x86_64/"
KERNEL = "fedora-coreos-44.20260707.3.1-live-kernel.x86_64"
INITRD = "fedora-coreos-44.20260707.3.1-live-initramfs.x86_64.img"
ROOTFS = "fedora-coreos-44.20260707.3.1-live-rootfs.x86_64.img"


class _Tree:
    def __init__(self, kind=None, files=None, stream="stable"):
        self.version = "44.20260707.3.1"
        self.arch = "x86_64"
        if kind is not None:
            self.kind = kind
        self.files = files or [
            {"role": "kernel", "path": KERNEL, "sha256": "a" * 64},
            {"role": "initrd", "path": INITRD, "sha256": "b" * 64},
            {"role": "rootfs", "path": ROOTFS, "sha256": "c" * 64},
            {"role": "signature", "path": KERNEL + ".sig", "sha256": "d" * 64},
        ]
        self.source = {"type": "coreos", "stream": stream}


def test_a_coreos_tree_boots_its_live_system_with_its_served_root_filesystem():
    target = configs.target_for(_Tree(kinds.COREOS), URL, "console=ttyS0", "http://ks/x.ks")
    assert target.cmdline == (
        f"coreos.live.rootfs_url={URL}{ROOTFS} ignition.firstboot ignition.platform.id=metal "
        "console=ttyS0"
    )  # no inst.stage2, and a kickstart means nothing to CoreOS
    script = configs.ipxe(target)
    assert f"kernel {URL}{KERNEL} initrd={INITRD} coreos.live.rootfs_url=" in script
    assert f"initrd {URL}{INITRD}\n" in script
    assert "Boot CoreOS stable 44.20260707.3.1 x86_64" in configs.ipxe_menu([target])
    assert "menuentry 'Boot CoreOS stable" in configs.grub(target)


def test_an_anaconda_tree_and_a_tree_without_a_kind_boot_the_installer_as_before():
    files = [
        {"role": "kernel", "path": "images/pxeboot/vmlinuz", "sha256": "a" * 64},
        {"role": "initrd", "path": "images/pxeboot/initrd.img", "sha256": "b" * 64},
    ]
    for tree in (_Tree(kinds.ANACONDA, files), _Tree(None, files)):
        target = configs.target_for(tree, URL, "quiet", "http://ks/x.ks")
        assert target.cmdline == f"inst.stage2={URL} quiet inst.ks=http://ks/x.ks"
        assert "menuentry 'Install 44.20260707.3.1 x86_64'" in configs.grub(target)
        assert kinds.of(tree).has_treeinfo


def test_a_coreos_tree_without_its_root_filesystem_gets_no_boot_config():
    files = [item for item in _Tree().files if item["role"] != "rootfs"]
    with pytest.raises(configs.NotBootable, match="rootfs"):
        configs.target_for(_Tree(kinds.COREOS, files), URL)
    assert not kinds.of(_Tree(kinds.COREOS)).has_treeinfo


def test_a_stream_name_outside_the_title_grammar_gets_no_boot_config():
    with pytest.raises(configs.NotBootable):
        configs.target_for(_Tree(kinds.COREOS, stream="stable\n#!ipxe"), URL)


@pytest.mark.parametrize("kind, problem", [("coreos", None), ("windows", "kind"), (7, "kind")])
def test_another_pulps_tree_names_a_known_kind(kind, problem):
    entry = {
        "version": "42",
        "arch": "x86_64",
        "oci_arch": "amd64",
        "digest": "sha256:" + "e" * 64,
        "identity": "sha256:" + "f" * 64,
        "source": {},
        "files": [
            {
                "name": "vmlinuz",
                "path": "images/pxeboot/vmlinuz",
                "role": "kernel",
                "size": 1,
                "sha256": "a" * 64,
                "media_type": "",
            },
        ],
        "kind": kind,
    }
    if problem is None:
        assert stored.check_tree(entry).kind == layout.COREOS
        assert stored.check_tree({k: v for k, v in entry.items() if k != "kind"}).kind == (
            layout.ANACONDA
        )
        return
    with pytest.raises(stored.StoredTreeError, match=problem):
        stored.check_tree(entry)
