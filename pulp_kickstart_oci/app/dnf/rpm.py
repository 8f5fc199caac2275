"""Boot files inside RPMs: signature checks and extraction.

Signatures are checked by RPM itself (``rpmkeys`` against a throwaway
keyring holding only the remote's keys), so the check is the one dnf makes.
Payloads are read with rpmfile, which streams gzip, xz and zstd payloads
member by member.
"""

import hashlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

import rpmfile

from .errors import DnfError

_KEY_BLOCK = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", re.S
)
# EFI binaries: /boot/efi/EFI/<vendor>/ and, from Fedora 44, /usr/lib/efi/<pkg>/<ver>/EFI/<vendor>/.
_EFI = re.compile(r"^(?:boot/efi/EFI|usr/lib/efi/[^/]+/[^/]+/EFI)/([^/]+)/([^/]+\.efi)$", re.I)
_SYSLINUX = re.compile(
    r"^usr/share/syslinux/(l?pxelinux\.0|ldlinux\.c32|libcom32\.c32|libutil\.c32|"
    r"menu\.c32|vesamenu\.c32)$"
)


def split_keys(armored):
    """The ASCII-armoured public key blocks in a text."""
    return _KEY_BLOCK.findall(armored or "")


class Keyring:
    """An rpm database holding only the given keys, for ``rpmkeys --checksig``."""

    def __init__(self, armored, workdir="."):
        self.root = tempfile.mkdtemp(prefix="rpmkeys-", dir=workdir)
        blocks = split_keys(armored)
        if not blocks:
            raise DnfError("gpg_keys holds no ASCII-armoured public key")
        for number, block in enumerate(blocks, 1):
            path = os.path.join(self.root, f"key-{number}.asc")
            with open(path, "w") as key_file:
                key_file.write(block + "\n")
            result = self._rpmkeys("--import", path)
            if result.returncode != 0:
                raise DnfError(
                    f"gpg_keys: key {number} cannot be imported: {result.stdout.strip()}"
                )

    def _rpmkeys(self, *args):
        try:
            return subprocess.run(
                ["rpmkeys", "--root", self.root, *args],
                capture_output=True,
                text=True,
                env={**os.environ, "LC_ALL": "C"},
            )
        except FileNotFoundError:
            raise DnfError(
                "gpg_keys is set but this worker has no rpmkeys command: install rpm"
            ) from None

    def verify(self, rpm_path, what):
        """Raise DnfError unless the package carries a valid signature by one of the keys."""
        result = self._rpmkeys(
            "--checksig", "-v", "--define", "_pkgverify_level signature", rpm_path
        )
        if result.returncode == 0:
            return
        output = result.stdout + result.stderr
        if "NOKEY" in output:
            key_ids = sorted(set(re.findall(r"key ID ([0-9a-fA-F]+): NOKEY", output)))
            reason = f"is signed by a key not in gpg_keys (key ID {', '.join(key_ids)})"
        elif "BAD" in output:
            reason = "has a bad signature or digest"
        else:
            reason = "is not signed"
        raise DnfError(f"{what} {reason}")


@dataclass(frozen=True)
class Extracted:
    name: str  # file name, e.g. shimx64.efi
    member: str  # path inside the package
    local_path: str
    sha256: str
    size: int


def boot_file_name(member):
    """The file name a payload member is served under, or None if it is not a boot file."""
    path = member.lstrip("./")
    match = _EFI.match(path)
    if match:
        return match.group(2)
    match = _SYSLINUX.match(path)
    if match:
        return match.group(1)
    return None


def _preference(member):
    # Vendor directories before EFI/BOOT; the classic /boot/efi layout before /usr/lib/efi.
    path = member.lstrip("./")
    return ("/EFI/BOOT/" in path.upper(), path.startswith("usr/lib/efi/"), path)


def extract_boot_files(rpm_path, destination, what):
    """Write the package's boot files under ``destination``; one per file name."""
    try:
        with rpmfile.open(rpm_path) as package:
            members = [m for m in package.getmembers() if boot_file_name(m.name)]
            chosen = {}
            for member in sorted(members, key=lambda m: _preference(m.name)):
                chosen.setdefault(boot_file_name(member.name), member)
            extracted = []
            for name, member in sorted(chosen.items()):
                target = os.path.join(destination, name)
                digest = hashlib.sha256()
                size = 0
                source = package.extractfile(member)
                with open(target, "wb") as out:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                extracted.append(
                    Extracted(name, member.name.lstrip("./"), target, digest.hexdigest(), size)
                )
    except DnfError:
        raise
    except Exception as exc:  # rpmfile raises assorted errors on a corrupt payload
        raise DnfError(f"{what}: the payload cannot be read: {type(exc).__name__}: {exc}") from None
    return extracted
