"""iPXE, GRUB2 and PXELINUX configs that boot a tree's kernel and initrd over HTTP."""

import re
from dataclasses import dataclass, field
from gettext import gettext as _
from urllib.parse import urlparse

from ..netboot import grammar, layout
from . import kinds

# Characters iPXE, GRUB or PXELINUX read as syntax: expansion, quoting, separators,
# comments, redirection. A URL, path or argument holding one is refused, never escaped
# (the distribution serializer refuses them in kernel_args and kickstart_url too).
SCRIPT_SYNTAX = re.compile(r"[\x00-\x1f\x7f;{}\\\"'`$|&<>#]")
_WHITESPACE = re.compile(r"\s")
# What goes into a boot script is printable ASCII: every boot loader and the kernel read it
# the same way (no bidirectional controls, look-alike or multi-byte characters).
PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
# Linux keeps this many bytes of the kernel command line (COMMAND_LINE_SIZE on x86 and
# arm64) and cuts the rest silently: a longer line would boot without its last arguments.
MAX_COMMAND_LINE = 2048
# What the distribution's own arguments (kernel_args and the URLs it names) may take of it,
# leaving the rest for the tree URLs a kind writes (inst.stage2, the root filesystem).
MAX_DISTRIBUTION_ARGUMENTS = 1536


def script_safe(value):
    """Whether ``value`` may go into a boot script or kickstart as it is: printable ASCII
    without the characters a boot loader reads as syntax. One test for the serializers
    (where values enter) and the renderers (the second wall)."""
    return PRINTABLE_ASCII.fullmatch(value) is not None and not SCRIPT_SYNTAX.search(value)


class NotBootable(ValueError):
    """The tree has no kernel or no initrd to boot, or a value unsafe in a boot script."""


class CommandLineTooLong(NotBootable):
    """The distribution's arguments and the tree's URLs make a command line Linux would cut."""


def _plain(value, what):
    """The second wall: values were checked on the way in; check again before writing."""
    if not value or _WHITESPACE.search(value) or not script_safe(value):
        raise NotBootable(
            _("{what} {value!r} cannot go into a boot script").format(what=what, value=value)
        )
    return value


def _arguments(value, what):
    """Kernel arguments: words separated by single spaces, no script syntax."""
    if _WHITESPACE.sub(" ", value) != value or not script_safe(value):
        raise NotBootable(
            _("{what} {value!r} cannot go into a boot script").format(what=what, value=value)
        )
    return value


@dataclass(frozen=True)
class BootTarget:
    """What a boot config needs: where the tree is, what it boots into (its kind, see
    boot/kinds.py) and what to pass the kernel."""

    title: str
    tree_url: str  # absolute, ends with "/"
    kernel_path: str
    initrd_path: str
    kernel_args: str = ""
    kickstart_url: str = ""
    kind: kinds.TreeKind = kinds.KINDS[kinds.ANACONDA]
    paths: dict = field(default_factory=dict)  # role -> path of each role the kind boots from
    signed: frozenset = frozenset()  # paths of files with a detached signature beside them
    # How a CoreOS tree boots (the distribution's choice): "live" or "install" to a disk.
    coreos_boot: str = "live"
    ignition_url: str = ""
    install_device: str = ""
    # An Anaconda tree's inst.ks names its bootc.ks (the distribution's bootc_kickstart).
    bootc_kickstart: bool = False

    @property
    def kernel_url(self):
        """Absolute URL the boot loader fetches the kernel from."""
        return self.tree_url + self.kernel_path

    @property
    def initrd_url(self):
        """Absolute URL the boot loader fetches the initrd from."""
        return self.tree_url + self.initrd_path

    @property
    def action(self):
        """What a menu entry does: "Install" (Anaconda, a CoreOS install) or "Boot" (live)."""
        return self.kind.action_of(self)

    @property
    def cmdline(self):
        """The kernel command line: the kind's arguments (inst.stage2, or the CoreOS live
        root filesystem), the distribution's arguments, then the kind's last (inst.ks)."""
        parts = self.kind.arguments(self)
        if self.kernel_args.strip():
            parts.append(self.kernel_args.strip())
        parts += self.kind.trailing(self)
        return " ".join(parts)


def roles(tree):
    """The roles present in a tree, to tell which configs it can have."""
    return {item["role"] for item in tree.files}


def is_bootable(tree):
    """Boot configs exist only for trees with every file their kind boots from (a kernel
    and an initrd; and a root filesystem for a CoreOS live system)."""
    return set(kinds.of(tree).boot_roles) <= roles(tree)


def target_for(
    tree, tree_url, kernel_args="", kickstart_url="", coreos=None, bootc_kickstart=False
):
    """Gather and re-check everything a renderer writes for one tree, so renderers stay dumb.

    ``coreos``: how the distribution boots CoreOS trees (``boot``, ``ignition_url``,
    ``install_device``); ``bootc_kickstart``: inst.ks names the tree's bootc.ks (Anaconda
    trees). Raises NotBootable for a tree without kernel or initrd, or holding an unsafe
    value.
    """
    coreos = coreos or {}
    kind = kinds.of(tree)
    if not is_bootable(tree):
        raise NotBootable(
            _("{version}/{arch} lacks one of {roles}").format(
                version=tree.version, arch=tree.arch, roles=", ".join(kind.boot_roles)
            )
        )
    if not grammar.plain_tree(tree):
        raise NotBootable(
            _("{version!r}/{arch!r} holds a value unfit for a boot script").format(
                version=tree.version, arch=tree.arch
            )
        )
    paths = {item["role"]: item["path"] for item in tree.files}
    target = BootTarget(
        title=_plain_title(kind.title(tree)),
        tree_url=_plain(tree_url, _("tree URL")),
        kernel_path=paths[layout.KERNEL],
        initrd_path=paths[layout.INITRD],
        kernel_args=_arguments((kernel_args or "").strip(), "kernel_args"),
        kickstart_url=_plain(kickstart_url, "kickstart_url") if kickstart_url else "",
        kind=kind,
        paths={
            role: paths[role] for role in kind.boot_roles + kind.optional_roles if role in paths
        },
        signed=frozenset(
            item["path"][: -len(".sig")]
            for item in tree.files
            if item["role"] == layout.SIGNATURE and item["path"].endswith(".sig")
        ),
        coreos_boot=coreos.get("boot") or "live",
        ignition_url=_plain(coreos["ignition_url"], "ignition_url")
        if coreos.get("ignition_url")
        else "",
        install_device=_plain(coreos["install_device"], "install_device")
        if coreos.get("install_device")
        else "",
        bootc_kickstart=bool(bootc_kickstart) and kind.name == kinds.ANACONDA,
    )
    # What the kernel receives: the boot loader's initrd= and the command line.
    line = f"initrd={target.initrd_path.rsplit('/', 1)[-1]} {target.cmdline}"
    if len(line) > MAX_COMMAND_LINE:
        raise CommandLineTooLong(
            _(
                "the kernel command line of {version}/{arch} would be {length} bytes; Linux "
                "keeps {limit} and would drop the rest"
            ).format(version=tree.version, arch=tree.arch, length=len(line), limit=MAX_COMMAND_LINE)
        )
    return target


def _plain_title(title):
    """A title is words of the grammars' characters: the release, arch and (CoreOS) stream."""
    if _WHITESPACE.sub(" ", title) != title or not script_safe(title):
        raise NotBootable(
            _("the tree's title {title!r} cannot go into a boot script").format(title=title)
        )
    return title


def ipxe(target):
    """The tree's boot.ipxe: lets iPXE firmware (or a chain from a menu) install it."""
    initrd_name = target.initrd_path.rsplit("/", 1)[-1]
    return (
        "#!ipxe\n"
        f"# {target.action} {target.title}, served by Pulp\n"
        f"kernel {target.kernel_url} initrd={initrd_name} {target.cmdline}\n"
        f"initrd {target.initrd_url}\n"
        "boot\n"
    )


def _grub_http(url):
    """GRUB addresses HTTP files as (http,host:port)/path."""
    parsed = urlparse(url)
    return f"({parsed.scheme},{parsed.netloc}){parsed.path}"


def grub(target):
    """The tree's grub.cfg: lets UEFI HTTP/PXE boot through GRUB2 install it."""
    return (
        "set default=0\n"
        "set timeout=5\n"
        f"menuentry '{target.action} {target.title}' {{\n"
        f"  linux {_grub_http(target.kernel_url)} {target.cmdline}\n"
        f"  initrd {_grub_http(target.initrd_url)}\n"
        "}\n"
    )


def pxelinux(target):
    """The tree's pxelinux.cfg/default: lets legacy BIOS PXE (lpxelinux) install it over HTTP."""
    return (
        "DEFAULT install\n"
        "PROMPT 0\n"
        "TIMEOUT 50\n"
        "LABEL install\n"
        f"  MENU LABEL {target.action} {target.title}\n"
        f"  KERNEL {target.kernel_url}\n"
        f"  APPEND initrd={target.initrd_url} {target.cmdline}\n"
    )


def _label(target):
    return re.sub(r"[^A-Za-z0-9_.-]", "-", target.title)


def ipxe_menu(targets, title="Pulp kickstart trees"):
    """One iPXE menu for many trees, so a machine can pick one; each chains to its boot.ipxe."""
    lines = ["#!ipxe", f"menu {title}"]
    for target in targets:
        lines.append(f"item {_label(target)} {target.action} {target.title}")
    lines += ["item --gap", "item shell iPXE shell", "choose selected || goto shell"]
    lines.append("goto ${selected}")
    for target in targets:
        lines += [f":{_label(target)}", f"chain {target.tree_url}boot.ipxe"]
    lines += [":shell", "shell", ""]
    return "\n".join(lines)
