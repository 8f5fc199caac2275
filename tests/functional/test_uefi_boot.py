"""Proof by booting, UEFI: OVMF starts GRUB, GRUB boots a served tree from its grub.cfg.

The GRUB is Debian's (grub-efi-amd64-bin), built here with grub-mkimage into
EFI/BOOT/BOOTX64.EFI on a FAT drive QEMU makes from a directory. Its embedded
config only brings the network up and hands over to the tree's grub.cfg as the
content app generates it, over GRUB's own HTTP client; that config loads the
kernel and initrd. As in test_boot.py, the kernel is Debian's and the initrd a
busybox initramfs whose init prints /proc/cmdline and powers off.
"""

import os
import shutil
import subprocess
import urllib.request

import pytest

from tests.support import guest

GUEST_HOST = guest.GUEST_HOST
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
GRUB_MODULES = "/usr/lib/grub/x86_64-efi"
# normal: menus; efinet, net, http: GRUB's network stack; linux: the EFI kernel loader.
MODULES = ["normal", "configfile", "echo", "efinet", "net", "http", "linux", "halt"]
# GRUB waits for a key forever after a failed boot: nothing else will come.
GAVE_UP = ("Press any key to continue", "Failed to boot", "grub>", "UEFI-GRUB: nothing booted")


def _grub_efi(directory, config_url):
    """A FAT tree with GRUB at the removable-media path, its config embedded in the image."""
    assert shutil.which("qemu-system-x86_64"), "no QEMU: install qemu-system-x86 (make test does)"
    for need in (OVMF_CODE, OVMF_VARS):
        assert os.path.exists(need), f"no {need}: install ovmf (make test does)"
    mkimage = shutil.which("grub-mkimage")
    assert mkimage and os.path.isdir(GRUB_MODULES), (
        "no grub-mkimage or x86_64-efi modules: install grub-efi-amd64-bin (make test does)"
    )
    bootstrap = directory / "bootstrap.cfg"
    bootstrap.write_text(
        "net_bootp\n"
        f"echo 'UEFI-GRUB: configfile {config_url}'\n"
        f"configfile {config_url}\n"
        "echo 'UEFI-GRUB: nothing booted'\n"
        "halt\n"
    )
    esp = directory / "esp"
    (esp / "EFI" / "BOOT").mkdir(parents=True)
    subprocess.run(
        [mkimage, "-O", "x86_64-efi", "-d", GRUB_MODULES, "-p", "/EFI/BOOT", "-c", str(bootstrap)]
        + ["-o", str(esp / "EFI" / "BOOT" / "BOOTX64.EFI")]
        + MODULES,
        check=True,
        capture_output=True,
    )
    code, variables = directory / "OVMF_CODE.fd", directory / "OVMF_VARS.fd"
    shutil.copy(OVMF_CODE, code)
    shutil.copy(OVMF_VARS, variables)
    return esp, code, variables


def _as_served(url):
    """The served grub.cfg, fetched from the host, for messages."""
    request = urllib.request.Request(url.replace(GUEST_HOST, "127.0.0.1:24816"))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read().decode()
    except OSError as error:
        return f"({error})"


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
def test_ovmf_grub_boots_the_served_tree_from_its_generated_grub_cfg(
    bootable_distribution, tmp_path
):
    distribution, marker = bootable_distribution
    path = f"/pulp/content/{distribution.base_path}/42/x86_64/"
    tree_url = f"http://{GUEST_HOST}{path}"
    esp, code, variables = _grub_efi(tmp_path, f"(http,{GUEST_HOST}){path}grub.cfg")

    console = guest.run_console(
        [
            "qemu-system-x86_64",
            "-machine",
            "q35,accel=tcg",  # /dev/kvm may exist yet not work under nesting
            "-m",
            "512",
            "-nographic",
            "-no-reboot",
            "-drive",
            f"if=pflash,format=raw,readonly=on,file={code}",
            "-drive",
            f"if=pflash,format=raw,file={variables}",
            "-drive",
            f"if=none,id=esp,format=raw,readonly=on,file=fat:{esp}",
            "-device",
            "virtio-blk-pci,drive=esp,bootindex=0",
            "-netdev",
            "user,id=n0",
            # romfile= keeps iPXE out: OVMF's own virtio-net driver gives GRUB the card,
            # and OVMF connects only devices with a boot index.
            "-device",
            "virtio-net-pci,netdev=n0,romfile=,bootindex=1",
        ],
        timeout=300,
        give_up=GAVE_UP,
    )

    served = _as_served(tree_url + "grub.cfg")
    explain = f"{console.tail()}\n\ngrub.cfg as served:\n{served}"
    assert "Install 42 x86_64" in console.text, explain  # GRUB showed the generated menu
    cmdline = console.cmdline()
    assert cmdline, f"the guest did not reach init; {explain}"
    # GRUB names the kernel it booted: the served tree's, fetched over GRUB's HTTP.
    assert cmdline[0].startswith("BOOT_IMAGE=(http,"), cmdline
    assert cmdline[0].endswith(f"){path}images/pxeboot/vmlinuz"), cmdline
    # The distribution's boot_origin (10.0.2.2:24816), whatever Host GRUB sends (it leaves
    # the port out), not CONTENT_ORIGIN's 127.0.0.1, which QEMU would also reach.
    guest.check_install_cmdline(cmdline, tree_url, marker, explain)
