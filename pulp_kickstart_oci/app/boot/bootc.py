"""bootc.ks: a kickstart that installs a bootable container image from an Anaconda tree.

Anaconda learned two commands for it, and they conflict (pykickstart refuses a kickstart
holding both): ``ostreecontainer`` (Fedora 38 on) deploys the image through ostree, and
``bootc`` (pykickstart's F43 handler on) runs ``bootc install``. The kickstart names the
one the tree's release has: ``ostreecontainer`` before 43, ``bootc`` from 43 on (and for
releases that are not numbers, such as rawhide). Disk defaults come first, the site's
kickstart (the distribution's ``kickstart_url``) last through ``%include``, so the site's
single-valued commands (clearpart, reboot/poweroff, text/graphical...) win over them
(docs/bootc.md).
"""

import re
from dataclasses import dataclass
from gettext import gettext as _

from ..netboot import grammar, imageref
from .configs import script_safe

# pykickstart's F43 handler is the first with the bootc command.
FIRST_BOOTC_RELEASE = 43
_LEADING_NUMBER = re.compile(r"[0-9]+")
# What Anaconda fetches a %include from (pykickstart's loader): not nfs:.
INCLUDABLE = re.compile(r"(?:https?|ftp)://[\x21-\x7e]+")
# The disk layout the image goes to (the layout bootc's and Fedora's bootc docs use):
# every disk wiped, the partitions the platform needs (an EFI system partition, biosboot
# or PReP) and /boot, then one XFS root taking the rest. No swap, no /home: the image
# owns /usr, and /var is the machine's.
DISK_DEFAULTS = (
    "zerombr",
    "clearpart --all --initlabel --disklabel=gpt",
    "reqpart --add-boot",
    "part / --grow --fstype=xfs",
)


class UnsafeKickstart(ValueError):
    """A value that cannot go into bootc.ks as it is (the second wall behind the serializer)."""


@dataclass(frozen=True)
class BootcImage:
    """What the distribution says about the image: its reference, how Anaconda reaches it
    (``registry``, or ``oci`` for a layout on the install media) and whether its
    signature must verify."""

    reference: str
    transport: str = imageref.REGISTRY
    verify_signature: bool = True


def uses_bootc_command(release):
    """Whether ``release``'s Anaconda takes ``bootc`` (43 on, or not a number: rawhide)."""
    number = _LEADING_NUMBER.match(release)
    return number is None or int(number.group()) >= FIRST_BOOTC_RELEASE


def install_command(release, image):
    """The one command that installs ``image`` for ``release`` (see the module's docstring)."""
    try:
        reference = imageref.check(image.reference, image.transport)
    except imageref.ImageReferenceError as exc:
        raise UnsafeKickstart(str(exc)) from None
    if uses_bootc_command(release):
        # bootc wants the transport as a prefix of the source; the target (what updates
        # pull) is a registry reference without one, so an OCI layout on the media has none
        # and the installed system tracks the layout it came from.
        source = f"--source-imgref={image.transport}:{reference}"
        if image.transport == imageref.REGISTRY:
            return f"bootc {source} --target-imgref={reference}"
        return f"bootc {source}"
    words = ["ostreecontainer", f"--url={reference}"]
    if image.transport != imageref.REGISTRY:
        words.append(f"--transport={image.transport}")
    if not image.verify_signature:
        words.append("--no-signature-verification")
    return " ".join(words)


def kickstart(release, arch, image, site_kickstart=None):
    """The text of bootc.ks for the tree ``release``/``arch``.

    ``site_kickstart``: the distribution's kickstart_url, %included last. Raises
    UnsafeKickstart for a value that is not of its grammar.
    """
    if not grammar.matches(grammar.RELEASE, release) or not grammar.matches(grammar.ARCH, arch):
        raise UnsafeKickstart(
            _("{release!r}/{arch!r} cannot go into a kickstart").format(release=release, arch=arch)
        )
    if site_kickstart is not None and (
        not INCLUDABLE.fullmatch(site_kickstart) or not script_safe(site_kickstart)
    ):
        raise UnsafeKickstart(
            _("kickstart_url {url!r} cannot be %included").format(url=site_kickstart)
        )
    command = install_command(release, image)
    lines = [
        f"# bootc.ks for {release} {arch}, served by Pulp: installs the bootable container",
        f"# {image.transport}:{image.reference} (the distribution's bootc_image).",
    ]
    if site_kickstart:
        lines.append(
            "# The site's own kickstart (kickstart_url) is included last: its commands win."
        )
    lines += [
        "text",
        *DISK_DEFAULTS,
    ]
    if uses_bootc_command(release):
        lines += [
            "# Signatures: the bootc command has no option for them; bootc install checks",
            "# the image as the installer's /etc/containers/policy.json says.",
        ]
    lines += [command, "reboot"]
    if site_kickstart:
        lines.append(f"%include {site_kickstart}")
    return "\n".join(lines) + "\n"
