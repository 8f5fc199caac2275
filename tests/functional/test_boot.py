"""Proof by booting: QEMU's iPXE firmware boots a served tree over HTTP.

The artifact's vmlinuz is Debian's real kernel and its initrd.img a busybox
initramfs whose init prints /proc/cmdline on the serial console and powers off
(both built by tests/support/guest.py, shared with test_uefi_boot.py).
The guest reaches the host's loopback as 10.0.2.2, so the URLs it is given must
use that name: the distribution's boot_origin is http://10.0.2.2:24816.
"""

import pytest

from tests.support import guest


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
def test_qemu_boots_the_served_tree_with_stage2_and_distribution_args(bootable_distribution):
    distribution, marker = bootable_distribution
    tree_url = f"http://{guest.GUEST_HOST}/pulp/content/{distribution.base_path}/42/x86_64/"

    console = guest.ipxe_boot(f"{tree_url}boot.ipxe")
    guest.check_install_cmdline(console.cmdline(), tree_url, marker, console.tail())
