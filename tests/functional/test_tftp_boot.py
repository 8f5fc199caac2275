"""Proof by booting over TFTP alone: firmware loads the tree's own boot loader from an
export written for TFTP clients (``boot_files: "tftp"``), which reads the exported config
and boots the exported kernel and initrd.

The tree is dnf-sourced (testing/dnf.py ``bootable_tree``): Debian's real kernel and a
busybox initramfs that prints /proc/cmdline (tests/support/guest.py) as its images,
syslinux-nonlinux carrying Debian's real pxelinux.0 and ldlinux.c32, and grub2-efi-x64
carrying a GRUB EFI image built here with grub-mkimage (TFTP and EFI network modules),
whose embedded config reads the grub.cfg beside itself, as Fedora's GRUB does.

QEMU's user network serves the export directory as its TFTP root; ``restrict=on`` cuts
the guest off from the host, so nothing reaches the content app over HTTP: a boot that
prints the command line proves TFTP. inst.stage2 still names the tree's HTTP URL (the
export's origin): Anaconda fetches stage2 over HTTP, never TFTP.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import dnf
from tests.support import guest

EXPORTS = Path(__file__).resolve().parents[2] / ".run" / "exports"  # ALLOWED_EXPORT_PATHS
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
GRUB_MODULES = "/usr/lib/grub/x86_64-efi"
# efinet, net, tftp: GRUB on the card the firmware booted it from; linux: the kernel loader.
MODULES = ["normal", "configfile", "echo", "efinet", "net", "tftp", "linux", "halt"]
GRUB_GAVE_UP = ("Press any key to continue", "Failed to boot", "grub>", "TFTP-GRUB: no boot")
# PXELINUX on failure: a missing file, or its prompt (nothing follows either).
PXELINUX_GAVE_UP = ("failed: No such file", "Could not find kernel", *guest.IPXE_GIVES_UP)
TREE = "42/x86_64"
KERNEL = f"/{TREE}/images/pxeboot/vmlinuz"
INITRD = f"/{TREE}/images/pxeboot/initrd.img"
GRUB = f"/{TREE}/EFI/BOOT/grubx64.efi"


def _grub_efi(workdir):
    """GRUB for x86_64 EFI whose embedded config reads $cmdpath/grub.cfg (beside itself)."""
    mkimage = shutil.which("grub-mkimage")
    assert mkimage, "no grub-mkimage: install grub-efi-amd64-bin (make test does)"
    bootstrap = workdir / "tftp-bootstrap.cfg"
    bootstrap.write_text(
        'echo "TFTP-GRUB: configfile $cmdpath/grub.cfg"\n'
        "configfile $cmdpath/grub.cfg\n"
        "echo 'TFTP-GRUB: no boot'\n"
        "halt\n"
    )
    image = workdir / "grubx64.efi"
    subprocess.run(
        [mkimage, "-O", "x86_64-efi", "-d", GRUB_MODULES, "-p", "", "-c", str(bootstrap)]
        + ["-o", str(image)]
        + MODULES,
        check=True,
        capture_output=True,
    )
    return image.read_bytes()


def _qemu(export, bootfile, firmware=(), machine="accel=tcg"):
    """QEMU booting from its user network: TFTP root ``export``, DHCP boot file ``bootfile``,
    and no way to the host (restrict=on)."""
    return [
        "qemu-system-x86_64",
        "-machine",
        machine,  # /dev/kvm may exist yet not work under nesting
        "-m",
        "512",
        "-nographic",
        "-no-reboot",
        *firmware,
        "-netdev",
        f"user,id=n0,tftp={export},bootfile={bootfile},restrict=on",
    ]


@pytest.fixture(scope="class")
def tftp_export(
    kickstart_workdir,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    kickstart_bindings,
    monitor_task,
):
    """The bootable dnf tree synced, distributed (boot_origin the host as QEMU shows it) and
    exported for TFTP clients in each layout: ``({layout: export directory}, distribution,
    marker)``."""
    files = guest.boot_files()
    workdir = kickstart_workdir / unique("tftp")
    workdir.mkdir()
    tree = dnf.bootable_tree(
        workdir, files["vmlinuz"], files["initrd.img"], _grub_efi(workdir), salt=unique("-")
    )
    with dnf.StaticServer(tree.root) as server:
        repository = kickstart_repository_factory()
        kickstart_sync(repository, kickstart_dnf_remote_factory(server))
    marker = unique("kickstart.tftp")
    distribution = kickstart_distribution_factory(
        repository,
        kernel_args=f"console=ttyS0 panic=-1 {marker}",
        kickstart_url=guest.KICKSTART_URL,
        boot_origin=guest.GUEST_ORIGIN,
    )
    paths = {layout: EXPORTS / unique(f"tftp-{layout}") for layout in ("pulp", "foreman")}
    for layout, path in paths.items():
        response = kickstart_bindings.DistributionsKickstartApi.export(
            distribution.pulp_href, {"path": str(path), "boot_files": "tftp", "layout": layout}
        )
        monitor_task(response.task)
    yield paths, distribution, marker
    for path in paths.values():
        shutil.rmtree(path, ignore_errors=True)


def _check(console, export, distribution, marker, config):
    """The guest booted the exported kernel and initrd, named from the TFTP root, with the
    tree's HTTP stage2, the distribution's arguments and its kickstart."""
    explain = f"{console.tail()}\n\n{config} as exported:\n{(export / config).read_text()}"
    cmdline = console.cmdline()
    assert cmdline, f"the guest did not reach init; {explain}"
    tree_url = f"{guest.GUEST_ORIGIN}/pulp/content/{distribution.base_path}/{TREE}/"
    guest.check_install_cmdline(cmdline, tree_url, marker, explain)
    return cmdline


@pytest.mark.serial  # QEMU: CPU-bound, timed
class TestTftpBoot:
    def test_bios_pxelinux_boots_the_exported_tree_over_tftp(self, tftp_export):
        exports, distribution, marker = tftp_export
        export = exports["pulp"]
        config = f"{TREE}/pxelinux.cfg/default"
        # "::" names the TFTP root to PXELINUX (not the directory it was loaded from).
        assert f"KERNEL ::{KERNEL}\n" in (export / config).read_text()
        console = guest.run_console(
            _qemu(export, f"{TREE}/pxelinux.0")
            + ["-device", "virtio-net-pci,netdev=n0", "-boot", "n"],
            timeout=120,
            give_up=PXELINUX_GAVE_UP,
        )
        cmdline = _check(console, export, distribution, marker, config)
        # PXELINUX names what it loaded: the exported files, by their path from the TFTP root.
        assert cmdline[0] == f"BOOT_IMAGE=::{KERNEL}", cmdline
        assert f"initrd=::{INITRD}" in cmdline, cmdline

    def test_uefi_grub_boots_the_foreman_layout_over_tftp(self, tftp_export, tmp_path):
        """OVMF loads the tree's GRUB from its bootloader-universe directory (Foreman's
        smart-proxy per-OS layout), which reads the grub.cfg there and boots the kernel and
        initrd by their Foreman names in boot/."""
        exports, distribution, marker = tftp_export
        export = exports["foreman"]
        universe = f"bootloader-universe/pxegrub2/fedora/{TREE}"
        config = f"{universe}/grub.cfg"
        kernel = "/boot/fedora-42-x86_64-vmlinuz"
        assert f"  linux {kernel} " in (export / config).read_text()
        assert "  initrd /boot/fedora-42-x86_64-initrd.img\n" in (export / config).read_text()
        # The Foreman names are more links to the tree's files, not copies.
        for name, in_tree in ((kernel, KERNEL), (f"/{universe}/grubx64.efi", GRUB)):
            assert os.path.samefile(f"{export}{name}", f"{export}{in_tree}"), name
        # The pulp layout's configs are in TFTP form too, beside the Foreman paths.
        pulp_config = (export / TREE / "EFI/BOOT/grub.cfg").read_text()
        assert f"  linux {kernel} " in pulp_config
        code, variables = tmp_path / "OVMF_CODE.fd", tmp_path / "OVMF_VARS.fd"
        shutil.copy(OVMF_CODE, code)
        shutil.copy(OVMF_VARS, variables)
        console = guest.run_console(
            _qemu(
                export,
                f"{universe}/grubx64.efi",
                firmware=[
                    "-drive",
                    f"if=pflash,format=raw,readonly=on,file={code}",
                    "-drive",
                    f"if=pflash,format=raw,file={variables}",
                ],
                machine="q35,accel=tcg",
            )
            # romfile= keeps iPXE out: OVMF's own PXE loads the tree's GRUB over TFTP.
            + ["-device", "virtio-net-pci,netdev=n0,romfile=,bootindex=0"],
            timeout=180,
            give_up=GRUB_GAVE_UP,
        )
        # GRUB read the exported grub.cfg beside itself ($cmdpath: the TFTP server and the DHCP
        # boot file's directory, as given) and showed its menu.
        assert f"TFTP-GRUB: configfile (tftp,10.0.2.2){config}" in console.text, console.tail()
        assert "Install 42 x86_64" in console.text, console.tail()
        cmdline = _check(console, export, distribution, marker, config)
        assert cmdline[0] == f"BOOT_IMAGE={kernel}", cmdline


@pytest.mark.parametrize(
    "body, field",
    [
        ({"boot_files": "nfs"}, "boot_files"),
        ({"boot_files": ["tftp"]}, "boot_files"),
        ({"boot_files": "tftp", "layout": "cobbler"}, "layout"),
        ({"layout": "foreman"}, "layout"),  # a TFTP layout: only with boot_files "tftp"
    ],
)
def test_the_tftp_export_options_are_validated(
    kickstart_distribution_factory, bindings_cfg, body, field
):
    """Each bad value is a 400 naming its field (sent raw: the client checks enums itself)."""
    distribution = kickstart_distribution_factory()
    response = requests.post(
        f"{bindings_cfg.host}{distribution.pulp_href}export/",
        json={"path": str(EXPORTS / unique("tftp")), **body},
        auth=(bindings_cfg.username, bindings_cfg.password),
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field], response.text


def test_two_trees_given_one_foreman_name_fail_the_export_naming_both(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    kickstart_bindings,
    monitor_task,
    latest_version,
    trees,
):
    """The Foreman names join upstream values with "-": release name "Fedora" and release
    "42-41" make boot/fedora-42-41-x86_64-vmlinuz, and so do "Fedora 42" and "41". The
    export fails naming both files and writes nothing, rather than letting one tree's
    configs boot the other's kernel (found by attacking the export)."""
    units = []
    for family, release in (("Fedora", "42-41"), ("Fedora 42", "41")):
        tree = kickstart_dnf_tree_factory()
        tree.family, tree.release = family, release
        tree.write_treeinfo(variant=False)  # productmd's own writer allows digits only
        repository = kickstart_repository_factory()
        kickstart_sync(
            repository, kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree))
        )
        units += [unit.pulp_href for unit in trees(latest_version(repository))]
    both = kickstart_repository_factory()
    monitor_task(
        kickstart_bindings.RepositoriesKickstartApi.modify(
            both.pulp_href, {"add_content_units": units}
        ).task
    )
    distribution = kickstart_distribution_factory(both)
    path = EXPORTS / unique("tftp-clash")
    with pytest.raises(PulpTaskError) as failed:
        monitor_task(
            kickstart_bindings.DistributionsKickstartApi.export(
                distribution.pulp_href,
                {"path": str(path), "boot_files": "tftp", "layout": "foreman"},
            ).task
        )
    message = failed.value.task.error["description"]
    assert "names boot/fedora-42-41-x86_64-vmlinuz for two files" in message, message
    assert "41/x86_64/images/pxeboot/vmlinuz" in message, message
    assert "42-41/x86_64/images/pxeboot/vmlinuz" in message, message
    assert not path.exists()

    # The pulp layout keeps each tree in its own directory: the same trees export.
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.export(
            distribution.pulp_href, {"path": str(path), "boot_files": "tftp"}
        ).task
    )
    try:
        for release in ("41", "42-41"):
            config = (path / release / "x86_64" / "grub.cfg").read_text()
            assert f"linux /{release}/x86_64/images/pxeboot/vmlinuz " in config, config
    finally:
        shutil.rmtree(path, ignore_errors=True)
