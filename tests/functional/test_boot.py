"""Proof by booting: QEMU's iPXE firmware boots a served tree over HTTP.

The artifact's vmlinuz is Debian's real kernel and its initrd.img a busybox
initramfs whose init prints /proc/cmdline on the serial console and powers off
(both built by tests/support/guest.py, shared with test_uefi_boot.py).
The guest reaches the host's loopback as 10.0.2.2, so the URLs it is given must
use that name: generated configs are built from the request's host.
"""

import subprocess

import pytest

from pulp_kickstart_oci.pytest_plugin import unique
from tests.support import fedora, guest

GUEST_HOST = "10.0.2.2:24816"


@pytest.fixture(scope="module")
def boot_files():
    return guest.boot_files()


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
def test_qemu_boots_the_served_tree_with_stage2_and_distribution_args(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    boot_files,
):
    upstream = kickstart_upstream
    marker = unique("kickstart.test")
    upstream.netboot(
        "42-amd64",
        [
            ("vmlinuz", boot_files["vmlinuz"]),
            ("initrd.img", boot_files["initrd.img"]),
            ("install.img", fedora.stage2(upstream.name)),
        ],
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream))
    (tree,) = trees(latest_version(repository))
    assert tree.warnings == []  # a real kernel and a real initramfs pass the checks
    distribution = kickstart_distribution_factory(
        repository,
        kernel_args=f"console=ttyS0 panic=-1 {marker}",
        kickstart_url="http://10.0.2.2:24816/ks/host.cfg",
    )
    tree_url = f"http://{GUEST_HOST}/pulp/content/{distribution.base_path}/42/x86_64/"

    console = subprocess.run(
        [
            "qemu-system-x86_64",
            "-machine",
            "accel=tcg",  # /dev/kvm may exist yet not work under nesting
            "-m",
            "512",
            "-nographic",
            "-no-reboot",
            "-boot",
            "n",
            "-netdev",
            f"user,id=n0,bootfile={tree_url}boot.ipxe",
            "-device",
            "virtio-net-pci,netdev=n0",
        ],
        capture_output=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    ).stdout.decode(errors="replace")

    lines = [line for line in console.splitlines() if line.startswith("KICKSTART-CMDLINE:")]
    assert lines, f"the guest did not reach init; console tail:\n{console[-3000:]}"
    cmdline = lines[0].split(":", 1)[1].split()
    assert f"inst.stage2={tree_url}" in cmdline
    assert "inst.ks=http://10.0.2.2:24816/ks/host.cfg" in cmdline
    assert marker in cmdline and "console=ttyS0" in cmdline
    assert cmdline.index(f"inst.stage2={tree_url}") < cmdline.index(marker)
