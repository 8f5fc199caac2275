"""Proof by booting: QEMU's iPXE firmware boots a served tree over HTTP.

The artifact's vmlinuz is Debian's real kernel and its initrd.img a busybox
initramfs whose init prints /proc/cmdline on the serial console and powers off
(both built by tests/support/guest.py, shared with test_uefi_boot.py).
The guest reaches the host's loopback as 10.0.2.2, so the URLs it is given must
use that name: the distribution's boot_origin is http://10.0.2.2:24816.
"""

import subprocess

import pytest

from tests.support import guest


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
def test_qemu_boots_the_served_tree_with_stage2_and_distribution_args(bootable_distribution):
    distribution, marker = bootable_distribution
    tree_url = f"http://{guest.GUEST_HOST}/pulp/content/{distribution.base_path}/42/x86_64/"

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
    guest.check_install_cmdline(lines[0].split(":", 1)[1].split(), tree_url, marker)
