"""Tell a real boot file from a placeholder by its size and magic bytes.

Upstream has published a 196-byte ``boot.iso``; such a file is kept (it is what
upstream published) but flagged, so an admin sees it before a machine fails to
boot from it.
"""

from gettext import gettext as _

from . import layout

# How many leading bytes ``check`` wants to see.
HEAD_SIZE = 0x8010


def _at(offset, magic):
    return lambda head: head[offset : offset + len(magic)] == magic


_PE = _at(0, b"MZ")
_ELF = _at(0, b"\x7fELF")
_BZIMAGE = _at(0x202, b"HdrS")
_ARM64_IMAGE = _at(0x38, b"ARM\x64")
_SQUASHFS = _at(0, b"hsqs")
_EROFS = _at(1024, b"\xe2\xe1\xf5\xe0")
_ISO9660 = _at(0x8001, b"CD001")
_COMPRESSED_OR_CPIO = (
    _at(0, b"\x1f\x8b"),  # gzip
    _at(0, b"\xfd7zXZ\x00"),  # xz
    _at(0, b"\x28\xb5\x2f\xfd"),  # zstd
    _at(0, b"\x02\x21\x4c\x18"),  # lz4 legacy
    _at(0, b"BZh"),  # bzip2
    _at(0, b"070701"),  # cpio newc (early microcode first)
    _at(0, b"070702"),
)

# role -> (minimum plausible size, accepted signatures, what we expected)
_EXPECTATIONS = {
    layout.KERNEL: (
        1024,
        (_BZIMAGE, _PE, _ARM64_IMAGE, _ELF),
        _("a Linux kernel (bzImage 'HdrS' at 0x202, PE, arm64 Image or ELF)"),
    ),
    layout.INITRD: (
        512,
        _COMPRESSED_OR_CPIO,
        _("an initramfs (cpio, gzip, xz, zstd, lz4 or bzip2)"),
    ),
    layout.STAGE2: (4096, (_SQUASHFS, _EROFS), _("an installer image (squashfs 'hsqs' or EROFS)")),
    layout.ISO: (0x8006, (_ISO9660,), _("an ISO 9660 image ('CD001' at 0x8001)")),
    layout.SHIM: (512, (_PE,), _("an EFI executable ('MZ')")),
    layout.GRUB: (512, (_PE,), _("an EFI executable ('MZ')")),
}
# GRUB for BIOS PXE (grubx64.0) and pxelinux have no fixed signature.
_NO_SIGNATURE = {"pxelinux.0", "lpxelinux.0"}


def check(name, role, size, head=None):
    """Flag a placeholder or mislabelled boot file so an admin sees it before a boot fails.

    Returns a warning or None. ``head`` is the first ``HEAD_SIZE`` bytes when the file
    is at hand; without it (on-demand sync) only the size is judged.
    """
    expectation = _EXPECTATIONS.get(role)
    if expectation is None or name.lower().endswith(".0") or name.lower() in _NO_SIGNATURE:
        return None
    minimum, signatures, expected = expectation
    if size < minimum:
        return _("{name}: {size} bytes, too small to be {expected}; probably a placeholder").format(
            name=name, size=size, expected=expected
        )
    if head is not None and not any(signature(head) for signature in signatures):
        return _("{name}: {size} bytes, does not look like {expected}").format(
            name=name, size=size, expected=expected
        )
    return None
