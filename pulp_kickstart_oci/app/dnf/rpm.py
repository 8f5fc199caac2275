"""Boot files inside RPMs: signature checks and extraction.

Signatures are checked by RPM itself (``rpmkeys`` against a throwaway
keyring holding only the remote's keys), so the check is the one dnf makes;
what a missing or failed signature means is the remote's policy
(``signatures/policy.py``), not this module's.
Payloads are streamed by ``payload``, which caps what decompression may
produce (a package is untrusted input even when it is signed).
"""

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from gettext import gettext as _

from ..netboot import grammar, layout
from ..netboot.treefile import TreeFile
from . import payload
from .errors import DnfError

# EFI binaries: /boot/efi/EFI/<vendor>/ and, from Fedora 44, /usr/lib/efi/<pkg>/<ver>/EFI/<vendor>/.
_EFI = re.compile(r"^(?:boot/efi/EFI|usr/lib/efi/[^/]+/[^/]+/EFI)/([^/]+)/([^/]+\.efi)$", re.I)
_SYSLINUX = re.compile(
    r"^usr/share/syslinux/(l?pxelinux\.0|ldlinux\.c32|libcom32\.c32|libutil\.c32|"
    r"menu\.c32|vesamenu\.c32)$"
)


@dataclass(frozen=True)
class Checked:
    """What ``rpmkeys --checksig`` found on one package.

    ``verified``: a signature by one of the keyring's keys verifies. Otherwise
    ``problem`` says why the signature found does not verify, or is None when the
    package carries no signature: the remote's policy decides what either means.
    """

    verified: bool
    problem: str | None = None


class Keyring:
    """An rpm database holding only the given keys, for ``rpmkeys --checksig``.

    A throwaway root, so the check trusts the remote's keys and nothing the
    worker's host happens to trust. ``keys``: the remote's OpenPGP keys as the key
    module parsed them (``signatures.keys.OpenPgpKey``: ``id``, ``armored``), each
    imported on its own.
    """

    def __init__(self, keys, workdir="."):
        self.root = tempfile.mkdtemp(prefix="rpmkeys-", dir=workdir)
        keys = list(keys)
        if not keys:
            raise DnfError(_("signature_keys holds no OpenPGP public key"))
        for number, key in enumerate(keys, 1):
            path = os.path.join(self.root, f"key-{number}.asc")
            with open(path, "w") as key_file:
                key_file.write(key.armored + "\n")
            result = self._rpmkeys("--import", path)
            if result.returncode != 0:
                raise DnfError(
                    _("signature_keys: key {key} cannot be imported: {output}").format(
                        # rpmkeys names the key file: the worker's path is not the user's.
                        key=key.id,
                        output=(result.stdout + result.stderr)
                        .replace(path, f"key {number}")
                        .replace(self.root, "")
                        .strip(),
                    )
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
                _("RPM signatures are checked but this worker has no rpmkeys command: install rpm")
            ) from None

    def check(self, rpm_path):
        """Whether the package carries a valid signature by one of the keys, and if not, why."""
        result = self._rpmkeys(
            "--checksig", "-v", "--define", "_pkgverify_level signature", rpm_path
        )
        if result.returncode == 0:
            return Checked(True)
        output = result.stdout + result.stderr
        if "NOKEY" in output:
            key_ids = sorted(set(re.findall(r"key ID ([0-9a-fA-F]+): NOKEY", output)))
            return Checked(
                False,
                _("signed by a key not in signature_keys (key ID {key_ids})").format(
                    key_ids=", ".join(key_ids)
                ),
            )
        if "BAD" in output:
            return Checked(False, _("a bad signature or digest"))
        return Checked(False)


def _relative(member):
    return member[2:] if member.startswith("./") else member


def _boot_location(member):
    """The file name of a member in a boot file location (EFI or syslinux directory), or None."""
    path = _relative(member)
    match = _EFI.match(path)
    if match:
        return match.group(2)
    match = _SYSLINUX.match(path)
    if match:
        return match.group(1)
    return None


def boot_file_name(member):
    """The file name a payload member is served under, or None if it is not a boot file.

    Decides which members of shim, GRUB and syslinux packages a tree needs. A
    name outside the tree path grammar (spaces, quotes, script syntax) is never one.
    """
    name = _boot_location(member)
    return name if name is not None and grammar.matches(grammar.PATH, name) else None


def _preference(member):
    # Vendor directories before EFI/BOOT; the classic /boot/efi layout before /usr/lib/efi.
    path = _relative(member)
    return ("/EFI/BOOT/" in path.upper(), path.startswith("usr/lib/efi/"), path)


def extract_boot_files(rpm_path, destination, what):
    """Write the package's boot files under ``destination``; one per file name.

    The payload is read once, so a member is written only if it beats the
    members already written for its file name; the losers are removed after.
    """
    best = {}  # file name -> preference of the best member accepted so far

    def wanted(member):
        name = boot_file_name(member.path)
        if name is None:
            if _boot_location(member.path) is not None:
                raise DnfError(
                    _(
                        "{what}: payload member {name!r} is in a boot file directory, but its "
                        "file name is not a plain one (letters, digits, . _ + ~ -)"
                    ).format(what=what, name=member.name)
                )
            return False
        rank = _preference(member.path)
        if name in best and best[name] <= rank:
            return False
        best[name] = rank
        return True

    written = payload.extract(rpm_path, destination, what, wanted)
    chosen = {}
    for item in written:
        name = boot_file_name(item.member.path)
        if name not in chosen or _preference(item.member.path) < _preference(
            chosen[name].member.path
        ):
            chosen[name] = item
    keep = {id(item) for item in chosen.values()}
    for item in written:
        if id(item) not in keep:
            os.unlink(item.local_path)
    extracted = []
    for name, item in sorted(chosen.items()):
        target = os.path.join(destination, name)
        os.replace(item.local_path, target)
        placement = layout.place(name)
        extracted.append(
            TreeFile(
                name=name,
                path=placement.path,
                role=placement.role,
                sha256=item.sha256,
                size=item.size,
                source_path=item.member.path,
                local_path=target,
            )
        )
    return extracted
