"""What the boot tests put in a served tree and how they read what the guest printed.

``kernel()`` is Debian's real kernel from /boot; ``initramfs()`` a busybox
initramfs whose init prints ``KICKSTART-CMDLINE: <the kernel command line>`` on
the console and powers the machine off. ``run_console()`` runs QEMU and returns
its serial console, stopping early when the firmware or boot loader gives up.
"""

import glob
import gzip
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
echo "KICKSTART-CMDLINE: $(/bin/busybox cat /proc/cmdline)"
/bin/busybox poweroff -f
"""
CMDLINE = re.compile(r"KICKSTART-CMDLINE: ([^\r\n]*)")
# The stack's content app as QEMU's user network shows the host: the boot tests' distribution
# has boot_origin GUEST_ORIGIN (dev/stack lists the host in KICKSTART_BOOT_HOSTS).
GUEST_HOST = "10.0.2.2:24816"
GUEST_ORIGIN = f"http://{GUEST_HOST}"
KICKSTART_URL = f"http://{GUEST_HOST}/ks/host.cfg"
# Terminal escapes GRUB and OVMF write on the serial console, dropped from the text.
_ESCAPES = re.compile(r"\x1b(?:\[[0-9;?=]*[A-Za-z]|[()][A-Za-z0-9]|[=>c])")


def kernel():
    """Debian's newest kernel in /boot, as bytes."""
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    assert kernels, "no kernel in /boot: install linux-image-amd64 (make test does)"
    with open(kernels[-1], "rb") as image:
        return image.read()


def initramfs():
    """A gzipped newc cpio: busybox and an init that prints /proc/cmdline and powers off."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    assert os.path.exists(busybox), "no busybox: install busybox-static (make test does)"
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(f"{root}/bin")
        shutil.copy(busybox, f"{root}/bin/busybox")
        with open(f"{root}/init", "w") as init:
            init.write(INIT)
        os.chmod(f"{root}/init", 0o755)
        listing = subprocess.run(["find", "."], cwd=root, check=True, capture_output=True).stdout
        archive = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"],
            cwd=root,
            input=listing,
            check=True,
            capture_output=True,
        ).stdout
    return gzip.compress(archive, mtime=0)


def boot_files():
    """The kernel and initrd a served tree holds for a boot test."""
    return {"vmlinuz": kernel(), "initrd.img": initramfs()}


@dataclass
class Console:
    """What a QEMU run printed, and how it ended."""

    text: str
    timed_out: bool
    gave_up: str  # the give-up marker seen, or ""
    returncode: int

    def cmdline(self):
        """The guest kernel's command line as words, or None if init never printed it."""
        match = CMDLINE.search(self.text)
        return match.group(1).split() if match else None

    def tail(self, size=4000):
        """The end of the console, escapes removed, for an assertion message."""
        how = "timed out" if self.timed_out else f"exit status {self.returncode}"
        if self.gave_up:
            how += f", stopped on {self.gave_up!r}"
        return f"QEMU {how}; console tail:\n{self.text[-size:]}"


def run_console(argv, timeout, give_up=()):
    """Run QEMU (``-nographic``: the serial console is its stdout) until it exits.

    QEMU is killed after ``timeout`` seconds, or as soon as its console shows one
    of ``give_up`` (a boot loader's prompt or error), since nothing will follow.
    """
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    chunks = []
    seen = []

    def read():
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            chunks.append(chunk)
            recent = _ESCAPES.sub("", b"".join(chunks[-4:]).decode(errors="replace"))
            for marker in give_up:
                if marker in recent and not seen:
                    seen.append(marker)
                    proc.kill()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    reader.join()
    proc.stdout.close()
    text = _ESCAPES.sub("", b"".join(chunks).decode(errors="replace"))
    return Console(text, timed_out, seen[0] if seen else "", proc.returncode)


# What iPXE prints when it cannot boot: nothing will follow, so QEMU is stopped there.
IPXE_GIVES_UP = ("No more network devices", "Could not boot")


def ipxe_boot(boot_url, timeout=300):
    """Boot a BIOS guest with QEMU's iPXE ROM from ``boot_url`` (a served boot.ipxe)."""
    argv = [
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
        f"user,id=n0,bootfile={boot_url}",
        "-device",
        "virtio-net-pci,netdev=n0",
    ]
    return run_console(argv, timeout, give_up=IPXE_GIVES_UP)


def check_install_cmdline(cmdline, tree_url, marker, explain=""):
    """The guest kernel got what an Anaconda install needs, in order: stage2 URL, the
    distribution's kernel_args (with ``marker``), then the kickstart URL."""
    assert cmdline, f"the guest did not reach init; {explain}"
    stage2 = f"inst.stage2={tree_url}"
    kickstart = f"inst.ks={KICKSTART_URL}"
    words = [word for word in cmdline if word.startswith("inst.stage2=")]
    assert words == [stage2], f"{cmdline}\n{explain}"
    assert kickstart in cmdline and marker in cmdline and "console=ttyS0" in cmdline, cmdline
    assert cmdline.index(stage2) < cmdline.index(marker) < cmdline.index(kickstart), cmdline
