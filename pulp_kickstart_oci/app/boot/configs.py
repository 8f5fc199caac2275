"""iPXE, GRUB2 and PXELINUX configs that boot a tree's kernel and initrd over HTTP or TFTP.

A BootTarget over HTTP names URLs; ``over_tftp()`` gives the same target whose GRUB and
PXELINUX configs name TFTP paths (from the TFTP root) for kernel and initrd, for an export
a TFTP server serves (docs/tftp.md). One renderer per config kind writes either form.
"""

import re
from dataclasses import dataclass, field, replace
from gettext import gettext as _
from urllib.parse import urlparse

from ..netboot import grammar, layout
from . import kinds
from .treeinfo import release_name

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
    # The TFTP form (over_tftp): kernel and initrd paths from the TFTP root; "" over HTTP.
    tftp_kernel: str = ""
    tftp_initrd: str = ""

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
    return _fits(target, tree)


def _fits(target, tree):
    """``target`` when the kernel command line it makes fits what Linux keeps."""
    initrd = target.tftp_initrd or target.initrd_path
    # What the kernel receives: the boot loader's initrd= and the command line.
    line = f"initrd={initrd.rsplit('/', 1)[-1]} {target.cmdline}"
    if len(line) > MAX_COMMAND_LINE:
        raise CommandLineTooLong(
            _(
                "the kernel command line of {version}/{arch} would be {length} bytes; Linux "
                "keeps {limit} and would drop the rest"
            ).format(version=tree.version, arch=tree.arch, length=len(line), limit=MAX_COMMAND_LINE)
        )
    return target


def over_tftp(target, tree, kernel, initrd):
    """``target`` whose GRUB and PXELINUX configs fetch ``kernel`` and ``initrd`` (paths
    from the TFTP root, of the tree path grammar) over TFTP. inst.stage2 still names the
    tree's HTTP URL: Anaconda takes stage2 over http(s), ftp or nfs, never TFTP."""
    for what, path in (("kernel", kernel), ("initrd", initrd)):
        if not grammar.matches(grammar.PATH, path):
            raise NotBootable(
                _("TFTP {what} path {path!r} cannot go into a boot script").format(
                    what=what, path=path
                )
            )
    return _fits(replace(target, tftp_kernel=kernel, tftp_initrd=initrd), tree)


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


def _loader_paths(target, http, tftp_root):
    """(kernel, initrd) as a boot loader names them: ``http(url)`` over HTTP; over TFTP the
    path from the TFTP root after ``tftp_root``, how the loader names the server's root
    rather than the directory it was loaded from (GRUB "/", PXELINUX "::/")."""
    if target.tftp_kernel:
        return f"{tftp_root}{target.tftp_kernel}", f"{tftp_root}{target.tftp_initrd}"
    return http(target.kernel_url), http(target.initrd_url)


def grub(target):
    """The tree's grub.cfg: lets UEFI HTTP/PXE boot through GRUB2 install it (kernel and
    initrd over HTTP, or over TFTP from the server GRUB was loaded from)."""
    kernel, initrd = _loader_paths(target, _grub_http, "/")
    return (
        "set default=0\n"
        "set timeout=5\n"
        f"menuentry '{target.action} {target.title}' {{\n"
        f"  linux {kernel} {target.cmdline}\n"
        f"  initrd {initrd}\n"
        "}\n"
    )


def pxelinux(target):
    """The tree's pxelinux.cfg/default: lets legacy BIOS PXE install it (kernel and initrd
    over HTTP with lpxelinux, or over TFTP with pxelinux)."""
    kernel, initrd = _loader_paths(target, lambda url: url, "::/")
    return (
        "DEFAULT install\n"
        "PROMPT 0\n"
        "TIMEOUT 50\n"
        "LABEL install\n"
        f"  MENU LABEL {target.action} {target.title}\n"
        f"  KERNEL {kernel}\n"
        f"  APPEND initrd={initrd} {target.cmdline}\n"
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


# An export for TFTP clients (docs/tftp.md): the export request's boot_files and layout.
HTTP = "http"
TFTP = "tftp"
BOOT_FILES = (HTTP, TFTP)
PULP_LAYOUT = "pulp"
FOREMAN_LAYOUT = "foreman"
LAYOUTS = (PULP_LAYOUT, FOREMAN_LAYOUT)
# Foreman's smart-proxy TFTP: kernels and initrds in boot/ as <prefix>-<file name>, and the
# GRUB of each OS release and arch in <bootloader universe>/pxegrub2/<os>/<version>/<arch>/.
FOREMAN_BOOT = "boot"
FOREMAN_UNIVERSE = "bootloader-universe/pxegrub2"
_NOT_A_NAME = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class TftpForm:
    """Where an export for TFTP clients puts kernel, initrd and boot loaders of a tree, as
    paths from the TFTP root (the export directory): the "pulp" layout keeps each tree's
    files where the content app serves them (<version>/<arch>/...); the "foreman" layout
    adds the names Foreman's smart-proxy TFTP uses (hard links to the same files)."""

    layout: str = PULP_LAYOUT

    @staticmethod
    def foreman_os(tree):
        """The OS name of the tree's Foreman paths: its release name, lower case ("fedora")."""
        return _NOT_A_NAME.sub("-", release_name(tree).lower()).strip("-") or "fedora"

    def universe(self, tree):
        """The tree's bootloader-universe directory (Foreman layout)."""
        return f"{FOREMAN_UNIVERSE}/{self.foreman_os(tree)}/{tree.version}/{tree.arch}"

    def boot_paths(self, tree, target):
        """(kernel, initrd) as paths from the TFTP root."""
        if self.layout == FOREMAN_LAYOUT:
            prefix = f"{FOREMAN_BOOT}/{self.foreman_os(tree)}-{tree.version}-{tree.arch}-"
            return tuple(
                prefix + path.rsplit("/", 1)[-1]
                for path in (target.kernel_path, target.initrd_path)
            )
        return tuple(
            f"{tree.version}/{tree.arch}/{path}"
            for path in (target.kernel_path, target.initrd_path)
        )

    def extra_files(self, tree, target):
        """{path from the TFTP root: path in the tree} of the files this layout adds."""
        if self.layout != FOREMAN_LAYOUT:
            return {}
        kernel, initrd = self.boot_paths(tree, target)
        extra = {kernel: target.kernel_path, initrd: target.initrd_path}
        for item in tree.files:
            if item["role"] in (layout.GRUB, layout.SHIM) and item["path"].startswith("EFI/"):
                extra[f"{self.universe(tree)}/{item['path'].rsplit('/', 1)[-1]}"] = item["path"]
        return extra

    def apply(self, target, tree):
        """``target`` in its TFTP form (over_tftp)."""
        kernel, initrd = self.boot_paths(tree, target)
        return over_tftp(target, tree, kernel, initrd)
