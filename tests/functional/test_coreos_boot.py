"""Proof by booting: QEMU's iPXE firmware boots a synced CoreOS tree's live entry and its
install-to-disk entry from the served ``boot.ipxe``.

The stream's release (pulp_kickstart_oci.testing.coreos, signed) carries Debian's real
kernel and a busybox initramfs whose init prints /proc/cmdline and powers off
(tests/support/guest.py), so what is proven is what iPXE fetched and what the guest
kernel was told: the tree's served rootfs (live) or metal disk (install) and the site's
Ignition config. One boot per entry; one sync shared by both.
"""

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import coreos, dnf
from tests.support import guest

RELEASE = "44.20260707.3.1"
ARCH = "x86_64"


@pytest.fixture(scope="class")
def synced(
    kickstart_workdir,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
):
    """``(repository, upstream)``: one signed release of x86_64 with a bootable kernel and
    initramfs and a metal disk, synced (immediate) from a served stream."""
    key = dnf.make_key("CoreOS Boot Signer", kickstart_workdir)
    root = kickstart_workdir / unique("coreos-boot")
    upstream = coreos.CoreosUpstream(root, key=key, salt=root.name)
    files = guest.boot_files()
    upstream.add_release(RELEASE, kernel=files["vmlinuz"], initramfs=files["initrd.img"], disk=True)
    repository = kickstart_repository_factory()
    try:
        with dnf.StaticServer(upstream.root) as server:
            upstream.write(server.url)
            remote = kickstart_coreos_remote_factory(
                upstream.stream_url, extras=["disk"], architectures=[ARCH]
            )
            kickstart_sync(repository, remote)
    finally:
        key.close()
    return repository, upstream


def _boot(boot_url):
    """Boot ``boot_url``: the guest kernel's command line as words, and a message tail."""
    console = guest.ipxe_boot(boot_url)
    cmdline = console.cmdline()
    assert cmdline, f"the guest did not reach init; {console.tail()}"
    return cmdline, console.tail()


def _guest_base(distribution):
    """The distribution's base URL as the guest reaches it (its boot_origin)."""
    return f"{guest.GUEST_ORIGIN}/pulp/content/{distribution.base_path}/"


def _served(distribution, url):
    """What the content app serves at ``url`` (a URL the guest was given), read from here."""
    host_url = distribution.base_url + url.removeprefix(_guest_base(distribution))
    response = requests.get(host_url, timeout=60)
    assert response.status_code == 200, (host_url, response.status_code)
    return response.content


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
class TestCoreosBoot:
    def test_qemu_boots_the_live_entry_through_the_stream_alias(
        self, synced, kickstart_distribution_factory
    ):
        repository, upstream = synced
        marker = unique("coreos.live")
        ignition = f"http://config.example/{marker}.ign"
        distribution = kickstart_distribution_factory(
            repository,
            boot_origin=guest.GUEST_ORIGIN,
            kernel_args=f"console=ttyS0 panic=-1 {marker}",
            ignition_url=ignition,
        )
        base = _guest_base(distribution)
        # Booted through the alias; the config it serves names the release's own URLs.
        tree_url = f"{base}{RELEASE}/{ARCH}/"
        files = upstream.files(RELEASE)
        rootfs_url = f"{tree_url}{files['rootfs'].name}"

        cmdline, explain = _boot(f"{base}coreos/stable/{ARCH}/boot.ipxe")
        assert cmdline == [
            f"initrd={files['initramfs'].name}",
            f"coreos.live.rootfs_url={rootfs_url}",
            "ignition.firstboot",
            "ignition.platform.id=metal",
            "console=ttyS0",
            "panic=-1",
            marker,
            f"ignition.config.url={ignition}",
        ], explain
        assert _served(distribution, rootfs_url) == files["rootfs"].data

    def test_qemu_boots_the_install_entry_with_the_served_disk_image(
        self, synced, kickstart_distribution_factory
    ):
        repository, upstream = synced
        marker = unique("coreos.install")
        ignition = f"http://config.example/{marker}.ign"
        distribution = kickstart_distribution_factory(
            repository,
            boot_origin=guest.GUEST_ORIGIN,
            kernel_args=f"console=ttyS0 panic=-1 {marker}",
            ignition_url=ignition,
            coreos_boot="install",
            install_device="/dev/vda",
        )
        tree_url = f"{_guest_base(distribution)}{RELEASE}/{ARCH}/"
        files = upstream.files(RELEASE)
        rootfs_url = f"{tree_url}{files['rootfs'].name}"
        image_url = f"{tree_url}{files['disk'].name}"
        assert image_url.endswith(".raw.xz")

        cmdline, explain = _boot(f"{tree_url}boot.ipxe")
        # No coreos.inst.insecure: the disk's .sig is served beside it for coreos-installer.
        assert cmdline == [
            f"initrd={files['initramfs'].name}",
            f"coreos.live.rootfs_url={rootfs_url}",
            "coreos.inst.install_dev=/dev/vda",
            f"coreos.inst.image_url={image_url}",
            "console=ttyS0",
            "panic=-1",
            marker,
            f"coreos.inst.ignition_url={ignition}",
        ], explain
        assert _served(distribution, rootfs_url) == files["rootfs"].data
        assert _served(distribution, image_url) == files["disk"].data
        assert _served(distribution, image_url + ".sig") == files["disk"].signature
