"""Real dnf install-tree fixtures, built on the fly without network access.

Functional tests must see what a consumer sees on a Fedora mirror: RPMs made by
rpmbuild with files at their real install paths (some signed with throwaway
OpenPGP keys), repodata from createrepo_c, a productmd ``.treeinfo`` and an
HTTP server in front of it all.  Hand-rolled imitations would only prove that
the plugin agrees with our imitation, so every artefact here comes from the
real tool.
"""

import bz2
import configparser
import functools
import gzip
import hashlib
import http.server
import lzma
import os
import pathlib
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import productmd.treeinfo
import zstandard

from . import fedora

GPG = "/usr/bin/gpg"
KEY_EMAIL = "fixture@example.invalid"

# rpm's "wN.<codec>io" payload macros, keyed by the name tests use.
PAYLOADS = {"zstd": "w19.zstdio", "xz": "w2.xzdio", "gzip": "w9.gzdio"}

# Which .treeinfo [images-<arch>] key a tree-relative image path stands for.
IMAGE_KEYS = {
    "images/pxeboot/vmlinuz": "kernel",
    "images/pxeboot/initrd.img": "initrd",
    "images/boot.iso": "boot.iso",
    "images/efiboot.img": "efiboot.img",
}


def _run(*argv):
    """Run a tool with no terminal (a prompt fails fast instead of hanging); show its stderr."""
    result = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


class GpgKey:
    """A throwaway signing key living in its own GNUPGHOME.

    A private home keeps the host's keyring untouched and lets several keys
    (e.g. "signer A" vs "signer B") coexist in one test.
    """

    def __init__(self, name, home, public_armored, fingerprint):
        self.name = name
        self.home = home
        self.public_armored = public_armored
        self.fingerprint = fingerprint

    def write_public(self, path):
        """Write the armoured public key to ``path`` (for rpmkeys --import etc.)."""
        path = pathlib.Path(path)
        path.write_text(self.public_armored)
        return path

    def close(self):
        """Stop the gpg-agent gpg started for this home; it outlives the test otherwise."""
        subprocess.run(
            ["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )

    def __repr__(self):
        return f"GpgKey({self.name!r}, {self.fingerprint})"


def make_key(name, workdir):
    """Generate an unprotected RSA-2048 signing key in a fresh GNUPGHOME under ``workdir``."""
    # Short, unique directory name: gpg-agent's socket lives in it (sun_path is ~108 bytes)
    # and the same signer name may be generated twice in one workdir.
    pathlib.Path(workdir).mkdir(parents=True, exist_ok=True)
    home = pathlib.Path(tempfile.mkdtemp(prefix=f"gpg-{_slug(name)[:16]}-", dir=workdir))
    gpg = [GPG, "--homedir", str(home), "--batch"]
    _run(
        *gpg,
        "--passphrase",
        "",
        "--quick-gen-key",
        f"{name} <{KEY_EMAIL}>",
        "rsa2048",
        "sign",
        "never",
    )
    listing = _run(*gpg, "--with-colons", "--list-secret-keys")
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
    )
    public = _run(*gpg, "--armor", "--export", fingerprint)
    return GpgKey(name, str(home), public, fingerprint)


def _spec(name, version, release, arch, payload, staged):
    """An rpm spec that installs ``staged`` ({install path: source file name}) verbatim."""

    def quoted(path):
        # '%' would be macro-expanded inside the spec.
        return path.replace("%", "%%")

    install = []
    for path, source in staged.items():
        install.append(f"mkdir -p %{{buildroot}}{shlex.quote(quoted(os.path.dirname(path)))}")
        install.append(
            f"install -m 0644 %{{_sourcedir}}/{source} %{{buildroot}}{shlex.quote(quoted(path))}"
        )
    files = [f'"{quoted(path)}"' for path in staged]
    return "\n".join(
        [
            # Keep the file bytes exactly as given: no debuginfo split, no strip,
            # no build-id symlinks, no brp-* rewriting.
            "%define debug_package %{nil}",
            "%define __os_install_post %{nil}",
            "%define _build_id_links none",
            f"%define _binary_payload {PAYLOADS[payload]}",
            f"Name: {name}",
            f"Version: {version}",
            f"Release: {release}",
            f"Summary: Test fixture {name}",
            "License: MIT",
            # Nothing to resolve at install time: the payload is opaque test data.
            "AutoReqProv: no",
            *(["BuildArch: noarch"] if arch == "noarch" else []),
            "",
            "%description",
            f"Fixture package {name} built for functional tests.",
            "",
            "%install",
            *install,
            "",
            "%files",
            *files,
            "",
        ]
    )


def build_rpm(workdir, name, version, release, arch, files, payload="zstd", sign_with=None):
    """Build (and optionally sign) an RPM holding ``files`` at their absolute paths.

    Returns the path of the .rpm inside its private rpmbuild top directory.
    """
    if payload not in PAYLOADS:
        raise ValueError(f"payload must be one of {sorted(PAYLOADS)}, not {payload!r}")
    # A private topdir per build: the same NEVRA may be built twice (e.g. signed by A and B).
    builds = pathlib.Path(workdir) / "rpmbuild"
    builds.mkdir(parents=True, exist_ok=True)
    top = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-{version}-{release}.{arch}-", dir=builds))
    sources = top / "SOURCES"
    sources.mkdir()
    staged = {}
    for index, (path, data) in enumerate(files.items()):
        if not path.startswith("/"):
            raise ValueError(f"install paths must be absolute: {path!r}")
        source = f"file{index}"
        (sources / source).write_bytes(data)
        staged[path] = source
    spec = top / f"{name}.spec"
    spec.write_text(_spec(name, version, release, arch, payload, staged))

    argv = ["rpmbuild", "--define", f"_topdir {top}", "-bb", str(spec)]
    if arch != "noarch":
        # Lets an x86_64 host produce aarch64 packages: nothing is compiled.
        argv[1:1] = ["--target", arch]
    _run(*argv)
    built = top / "RPMS" / arch / f"{name}-{version}-{release}.{arch}.rpm"
    if not built.exists():
        raise RuntimeError(f"rpmbuild did not produce {built}: {sorted(top.rglob('*.rpm'))}")

    if sign_with is not None:
        _run(
            "rpmsign",
            # Debian's rpm defaults to gpg2, which is not installed.
            "--define",
            f"__gpg {GPG}",
            "--define",
            f"_gpg_name {sign_with.fingerprint}",
            "--define",
            f"_gpg_path {sign_with.home}",
            "--define",
            "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase ''",
            "--addsign",
            str(built),
        )
    return built


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


class DnfTree:
    """An install tree directory: <root>/.treeinfo, images/..., Packages/<x>/..., repodata/."""

    def __init__(self, root, release="42", arch="x86_64", family="Fedora"):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.release = release
        self.arch = arch
        self.family = family
        # tree-relative path -> bytes, in insertion order, for .treeinfo.
        self.images = {}
        # Filled by fedora_tree(); plain DnfTree users may fill them too.
        self.expected = {}
        self.rpms = {}
        # Fixed so that rewriting .treeinfo does not change unrelated bytes.
        self.timestamp = int(time.time())

    def add_image(self, path, data):
        """Place an image file at tree-relative ``path`` and remember it for .treeinfo."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.images[path] = data

    def add_rpm(self, rpm_path):
        """Copy an RPM into Packages/<first letter>/ like Fedora does; return its relative path."""
        rpm_path = pathlib.Path(rpm_path)
        relative = f"Packages/{rpm_path.name[0].lower()}/{rpm_path.name}"
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rpm_path, target)
        return relative

    def createrepo(self, checksum="sha256", compression=None):
        """Generate repodata/ (repomd.xml, <checksum>-primary.xml.gz, ...) for the whole tree.

        ``compression`` (gz, xz, bz2 or zstd) compresses every metadata file so.
        """
        extra = ["--general-compress-type", compression] if compression else []
        _run("createrepo_c", "--quiet", "--checksum", checksum, *extra, str(self.root))

    def replace_primary(self, data, suffix):
        """Make ``data`` the tree's primary metadata: repomd.xml names only it, with its checksums.

        ``suffix`` is the file's (e.g. ".xml.gz"); returns its href. What createrepo_c
        cannot write (a bomb, broken XML) gets a repomd.xml that any client accepts.
        """
        digest = _sha256(data)
        href = f"repodata/{digest}-primary{suffix}"
        repodata = self.root / "repodata"
        for old in repodata.glob("*-primary.*"):
            old.unlink()
        (self.root / href).write_bytes(data)
        (repodata / "repomd.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<repomd xmlns="http://linux.duke.edu/metadata/repo" '
            'xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n'
            f"  <revision>{self.timestamp}</revision>\n"
            '  <data type="primary">\n'
            f'    <checksum type="sha256">{digest}</checksum>\n'
            f'    <location href="{href}"/>\n'
            f"    <timestamp>{self.timestamp}</timestamp>\n"
            f"    <size>{len(data)}</size>\n"
            "  </data>\n"
            "</repomd>\n"
        )
        return href

    def _checksums(self, overrides):
        sums = {path: _sha256(data) for path, data in self.images.items()}
        sums.update(overrides or {})
        return sums

    def _image_keys(self):
        return {IMAGE_KEYS[path]: path for path in self.images if path in IMAGE_KEYS}

    def write_treeinfo(
        self,
        stage2="images/install.img",
        checksum_overrides=None,
        variant=True,
        legacy_only=False,
        filename=".treeinfo",
    ):
        """Write a .treeinfo; the options produce the malformed/old shapes consumers must survive.

        ``checksum_overrides`` maps an image path to a (wrong) sha256 hex digest,
        ``variant=False`` drops [variant-*] (productmd refuses that, so it is
        written by hand) and ``legacy_only`` writes a pre-productmd [general] file.
        """
        target = self.root / filename
        if legacy_only:
            self._write_ini(target, self._legacy_sections(stage2))
        elif not variant:
            self._write_ini(target, self._plain_sections(stage2, checksum_overrides))
        else:
            self._treeinfo(stage2, checksum_overrides).dump(str(target))

    def _treeinfo(self, stage2, overrides):
        info = productmd.treeinfo.TreeInfo()
        info.header.version = "1.2"
        info.release.name = self.family
        info.release.short = self.family
        info.release.version = self.release
        info.release.type = "ga"
        info.tree.arch = self.arch
        info.tree.build_timestamp = self.timestamp
        info.tree.platforms.add(self.arch)
        for key, path in self._image_keys().items():
            info.images.images.setdefault(self.arch, {})[key] = path
        if stage2:
            info.stage2.mainimage = stage2
        for path, digest in self._checksums(overrides).items():
            info.checksums.checksums[path] = ("sha256", digest)

        everything = productmd.treeinfo.Variant(info)
        everything.id = "Everything"
        everything.uid = "Everything"
        everything.name = "Everything"
        everything.type = "variant"
        everything.paths.packages = "Packages"
        everything.paths.repository = "."
        info.variants.add(everything)
        return info

    def _plain_sections(self, stage2, overrides):
        """The productmd layout minus any variant."""
        sections = {
            "header": {"type": "productmd.treeinfo", "version": "1.2"},
            "release": {
                "name": self.family,
                "short": self.family,
                "version": self.release,
                "type": "ga",
            },
            "tree": {
                "arch": self.arch,
                "build_timestamp": str(self.timestamp),
                "platforms": self.arch,
                "variants": "",
            },
            f"images-{self.arch}": self._image_keys(),
            "checksums": {
                path: f"sha256:{digest}" for path, digest in self._checksums(overrides).items()
            },
        }
        if stage2:
            sections["stage2"] = {"mainimage": stage2}
        return sections

    def _legacy_sections(self, stage2):
        """What anaconda trees carried before productmd existed."""
        sections = {
            "general": {
                "family": self.family,
                "version": self.release,
                "arch": self.arch,
                "timestamp": str(self.timestamp),
                "packagedir": "Packages",
                "variant": "Everything",
            },
            f"images-{self.arch}": self._image_keys(),
        }
        if stage2:
            sections["stage2"] = {"mainimage": stage2}
        return sections

    @staticmethod
    def _write_ini(target, sections):
        parser = configparser.ConfigParser(interpolation=None)
        parser.optionxform = str  # keep "boot.iso" etc. exactly as written
        parser.read_dict(sections)
        with open(target, "w") as handle:
            parser.write(handle)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that records requests and can fake HTML pages."""

    def __init__(self, *args, server_state, **kwargs):
        self.server_state = server_state
        super().__init__(*args, **kwargs)

    def _fake_html(self):
        path = self.path.split("?", 1)[0]
        if path not in self.server_state.html_for:
            return False
        body = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return True

    def do_GET(self):
        self.server_state.requests.append(self.path)
        if not self._fake_html():
            super().do_GET()

    def do_HEAD(self):
        self.server_state.requests.append(self.path)
        if not self._fake_html():
            super().do_HEAD()

    def log_message(self, format, *args):
        """Keep pytest output quiet; ``requests`` is the record tests assert on."""


class _TLSServer(http.server.ThreadingHTTPServer):
    """Handshakes in the request's thread: a client that fails it costs only that thread."""

    daemon_threads = True

    def __init__(self, address, handler, ssl_context):
        self.ssl_context = ssl_context
        self.handshake_failures = []
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        request.settimeout(30)
        wrapped = self.ssl_context.wrap_socket(
            request, server_side=True, do_handshake_on_connect=False
        )
        try:
            wrapped.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            self.handshake_failures.append(str(exc))
            self._close_after_alert(socket.socket(fileno=wrapped.detach()))
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            # The caller shuts down ``request``, whose descriptor ``wrapped`` has taken over.
            super().shutdown_request(wrapped)

    @staticmethod
    def _close_after_alert(raw):
        """Close the way a real server does after a failed handshake: OpenSSL has sent its
        alert; read what the client already sent (with TLS 1.3 it sends its request before
        it learns that its certificate was refused) so the close is a FIN, not a reset that
        would destroy the alert before the client reads it."""
        try:
            raw.shutdown(socket.SHUT_WR)
            raw.settimeout(5)
            while raw.recv(65536):
                pass
        except OSError:
            pass
        raw.close()


class StaticServer:
    """Serve a directory over HTTP on 127.0.0.1 (random free port) in a thread; context manager.

    ``html_for`` holds URL paths (e.g. "/.treeinfo") answered with 200 and an
    HTML page, the way some mirrors answer for files they do not have.
    ``ssl_context`` (an ssl.SSLContext, e.g. tls.ThrowawayCA.server_context())
    serves https instead; ``handshake_failures`` then records the TLS
    handshakes that failed (a client refusing the certificate, or sending none
    when the context requires one).
    """

    def __init__(self, directory, html_for=None, ssl_context=None):
        self.directory = str(directory)
        self.html_for = set(html_for or ())
        self.ssl_context = ssl_context
        self.requests = []
        self.url = None
        self._server = None
        self._thread = None

    @property
    def handshake_failures(self):
        return getattr(self._server, "handshake_failures", [])

    def __enter__(self):
        handler = functools.partial(_Handler, directory=self.directory, server_state=self)
        if self.ssl_context is None:
            self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            scheme = "http"
        else:
            self._server = _TLSServer(("127.0.0.1", 0), handler, self.ssl_context)
            scheme = "https"
        self._server.daemon_threads = True
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# Repodata compressions (createrepo_c's --general-compress-type names): file suffix and a
# compressor of one whole stream. Streams of each may be concatenated, and readers read on.
REPODATA_COMPRESSIONS = {
    "gz": (".xml.gz", lambda data: gzip.compress(data, 9)),
    "xz": (".xml.xz", lambda data: lzma.compress(data, preset=9)),
    "bz2": (".xml.bz2", lambda data: bz2.compress(data, 9)),
    "zstd": (".xml.zst", lambda data: zstandard.ZstdCompressor(level=19).compress(data)),
}

PRIMARY_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<metadata xmlns="http://linux.duke.edu/metadata/common" '
    'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="1">\n'
    '<package type="rpm"><name>shim-x64</name><arch>x86_64</arch>'
    '<version epoch="0" ver="99" rel="1"/>'
    '<checksum type="sha256" pkgid="YES">' + "0" * 64 + "</checksum>"
    "<summary>bomb</summary><description>"
)
PRIMARY_TAIL = (
    '</description><size package="1" installed="1" archive="1"/>'
    '<location href="Packages/s/shim-x64-99-1.x86_64.rpm"/><format/></package>\n'
    "</metadata>\n"
)


def primary_bomb(compression, inflated):
    """Primary metadata of one package whose description is ``inflated`` bytes of "A".

    The shape the attack of issue 18 used (a 299 KiB primary.xml.gz, a 300 MiB text
    node). Built in milliseconds whatever ``inflated`` is: one compressed stream of
    1 MiB of "A", repeated, between a compressed head and tail. Returns
    ``(bytes, suffix)``; valid XML once inflated, so only a cap on the inflated
    size stops a reader.
    """
    suffix, compress = REPODATA_COMPRESSIONS[compression]
    block = 1 << 20
    middle = compress(b"A" * block)
    return (
        compress(PRIMARY_HEAD.encode())
        + middle * -(-inflated // block)
        + compress(PRIMARY_TAIL.encode()),
        suffix,
    )


def _shim_files(arch, version, release, f44_layout, seed):
    """shim's ESP files; the f44 layout ships them versioned under /usr/lib/efi."""
    suffix = {"x86_64": "x64", "aarch64": "aa64"}[arch]
    if f44_layout:
        base = f"/usr/lib/efi/shim/{version}-{release}/EFI"
    else:
        base = "/boot/efi/EFI"
    return {
        f"{base}/fedora/shim{suffix}.efi": fedora.efi(f"{seed}-shim"),
        f"{base}/fedora/mm{suffix}.efi": fedora.efi(f"{seed}-mm"),
        f"{base}/BOOT/BOOT{suffix.upper()}.EFI": fedora.efi(f"{seed}-boot"),
        f"{base}/BOOT/fb{suffix}.efi": fedora.efi(f"{seed}-fb"),
    }


def fedora_tree(
    workdir,
    release="42",
    arch="x86_64",
    key=None,
    payloads=("zstd", "xz", "gzip"),
    f44_layout=False,
    salt="",
):
    """Build a small but real Fedora-like install tree in a new ``workdir``/tree-<release>-<arch>-*.

    Two older shim builds are included so consumers are tested on picking the
    newest NEVRA, and every file's bytes are seeded by release/arch so trees
    never share digests.  ``tree.expected`` maps each file basename from the
    newest packages to (bytes, NEVRA); ``tree.rpms`` maps package name to the
    tree-relative paths of its RPMs, oldest first.
    """
    if arch not in ("x86_64", "aarch64"):
        raise ValueError(f"unsupported arch {arch!r}")
    workdir = pathlib.Path(workdir)
    seed = f"{release}-{arch}{salt}"  # ``salt`` gives a tree bytes no other tree has
    workdir.mkdir(parents=True, exist_ok=True)
    root = tempfile.mkdtemp(prefix=f"tree-{release}-{arch}-", dir=workdir)
    tree = DnfTree(root, release=release, arch=arch)

    tree.add_image("images/pxeboot/vmlinuz", fedora.kernel(f"{seed}-kernel", size=4096))
    tree.add_image("images/pxeboot/initrd.img", fedora.initrd(f"{seed}-initrd", size=4096))
    tree.add_image("images/install.img", fedora.stage2(f"{seed}-stage2", size=8192))
    tree.add_image("images/boot.iso", fedora.iso(f"{seed}-iso"))

    suffix = {"x86_64": "x64", "aarch64": "aa64"}[arch]
    shim_version = ("16.1", "5") if f44_layout else ("15.8", "3")
    grub_version = ("2.12", "1")
    grub_dir = "/boot/efi/EFI/fedora"
    if f44_layout:
        grub_dir = f"/usr/lib/efi/grub2/{'-'.join(grub_version)}/EFI/fedora"
    shim = f"shim-{suffix}"
    # (name, version, release, arch, files, newest) in build order, oldest shims first.
    packages = [
        (shim, ver, rel, arch, _shim_files(arch, ver, rel, f44_layout, f"{seed}-{ver}"), newest)
        for (ver, rel), newest in (
            (("15.4", "5"), False),
            (("15.6", "2"), False),
            (shim_version, True),
        )
    ]
    packages.append(
        (
            f"grub2-efi-{suffix}",
            *grub_version,
            arch,
            {f"{grub_dir}/grub{suffix}.efi": fedora.efi(f"{seed}-grub")},
            True,
        )
    )
    if arch == "x86_64":
        packages.append(
            (
                "syslinux-nonlinux",
                "6.04",
                "0.27",
                "noarch",
                {
                    "/usr/share/syslinux/pxelinux.0": fedora.pxelinux(f"{seed}-pxelinux"),
                    "/usr/share/syslinux/ldlinux.c32": fedora.pxelinux(f"{seed}-ldlinux"),
                },
                True,
            )
        )

    for index, (name, ver, rel, pkg_arch, files, newest) in enumerate(packages):
        rpm = build_rpm(
            workdir,
            name,
            ver,
            rel,
            pkg_arch,
            files,
            payload=payloads[index % len(payloads)],
            sign_with=key,
        )
        tree.rpms.setdefault(name, []).append(tree.add_rpm(rpm))
        if newest:
            nevra = f"{name}-{ver}-{rel}.{pkg_arch}"
            for path, data in files.items():
                tree.expected[os.path.basename(path)] = (data, nevra)

    tree.createrepo()
    tree.write_treeinfo()
    return tree


# Debian's BIOS PXELINUX (packages pxelinux, syslinux-common): pxelinux.0 loads ldlinux.c32
# from its own TFTP directory, then pxelinux.cfg/default relative to itself.
DEBIAN_PXELINUX = "/usr/lib/PXELINUX/pxelinux.0"
DEBIAN_LDLINUX = "/usr/lib/syslinux/modules/bios/ldlinux.c32"


def syslinux_rpm(workdir, key=None):
    """syslinux-nonlinux as Fedora packages it (/usr/share/syslinux/), carrying Debian's real
    pxelinux.0 and ldlinux.c32, so a dnf sync takes a PXELINUX that boots."""
    files = {}
    for source in (DEBIAN_PXELINUX, DEBIAN_LDLINUX):
        assert os.path.exists(source), f"no {source}: install pxelinux syslinux-common"
        with open(source, "rb") as binary:
            files[f"/usr/share/syslinux/{os.path.basename(source)}"] = binary.read()
    return build_rpm(workdir, "syslinux-nonlinux", "6.04", "0.27", "noarch", files, sign_with=key)


def bootable_tree(workdir, kernel, initrd, grub_efi, release="42", salt=""):
    """A dnf tree (x86_64) that really boots: ``kernel`` and ``initrd`` (bytes) as its
    images, syslinux_rpm()'s PXELINUX, ``grub_efi`` (a GRUB EFI image) as grubx64.efi in
    grub2-efi-x64, and shim-x64. Its install.img and shim are fixtures: boot tests stop in
    the initrd, without Secure Boot."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    tree = DnfTree(tempfile.mkdtemp(prefix=f"tree-{release}-boot-", dir=workdir), release=release)
    tree.add_image("images/pxeboot/vmlinuz", kernel)
    tree.add_image("images/pxeboot/initrd.img", initrd)
    tree.add_image("images/install.img", fedora.stage2(f"{release}-boot{salt}", size=8192))
    grub = build_rpm(
        workdir,
        "grub2-efi-x64",
        "2.12",
        "1",
        "x86_64",
        {"/boot/efi/EFI/fedora/grubx64.efi": grub_efi},
    )
    # shim is required of a dnf tree; its fixture bytes are never booted here (no Secure Boot).
    shim = build_rpm(
        workdir, "shim-x64", "15.8", "3", "x86_64", _shim_files("x86_64", "15.8", "3", False, salt)
    )
    for name, rpm in (
        ("syslinux-nonlinux", syslinux_rpm(workdir)),
        ("grub2-efi-x64", grub),
        ("shim-x64", shim),
    ):
        tree.rpms[name] = [tree.add_rpm(rpm)]
    tree.createrepo()
    tree.write_treeinfo()
    return tree
