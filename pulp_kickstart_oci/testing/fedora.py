"""Small files shaped like Fedora's netboot files: right magic bytes, tiny sizes.

Contents depend on release and arch, so each tree has its own digests.
"""

import gzip
import hashlib
import io


def _filler(seed, size):
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def kernel(seed, size=16384):
    data = bytearray(_filler(seed, size))
    data[0:2] = b"MZ"
    data[0x202:0x206] = b"HdrS"
    return bytes(data)


def initrd(seed, size=8192):
    cpio = b"070701" + _filler(seed, size)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
        compressed.write(cpio)
    return buffer.getvalue()


def stage2(seed, size=65536):
    return b"hsqs" + _filler(seed, size - 4)


def efi(seed, size=4096):
    return b"MZ" + _filler(seed, size - 2)


def iso(seed, size=0x8800):
    data = bytearray(_filler(seed, size))
    data[0x8001:0x8006] = b"CD001"
    return bytes(data)


def pxelinux(seed, size=2048):
    return _filler(seed, size)


def tree_files(release, arch, with_iso=False, salt=""):
    """[(title, bytes)] the way upstream pushes a release/arch; ``salt`` makes them unique."""
    seed = f"{release}-{arch}-{salt}"
    efi_suffix = {"amd64": "x64", "arm64": "aa64"}.get(arch, arch)
    files = [
        ("vmlinuz", kernel(seed + "-kernel")),
        ("initrd.img", initrd(seed + "-initrd")),
        ("install.img", stage2(seed + "-stage2")),
        (f"shim{efi_suffix}.efi", efi(seed + "-shim")),
        (f"grub{efi_suffix}.efi", efi(seed + "-grub")),
    ]
    if arch == "amd64":
        files.append(("pxelinux.0", pxelinux(seed + "-pxelinux")))
    if with_iso:
        files.append(("boot.iso", iso(seed + "-iso")))
    return files
