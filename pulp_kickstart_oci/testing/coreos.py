"""A fake but faithful Fedora CoreOS upstream, laid out the way builds.coreos.fedoraproject.org
serves it, for a ``dnf.StaticServer`` to serve.

Functional tests must see what a CoreOS sync sees upstream: stream metadata
(``streams/<stream>.json``, the newest release of each architecture), the release files
under ``prod/streams/<stream>/builds/<release>/<arch>/`` each with a binary detached
OpenPGP signature ``<file>.sig`` made by ``gpg --detach-sign``, the release index
(``prod/streams/<stream>/releases.json``, every release oldest first, compact JSON as
Go's ``json.Marshal`` writes it), each release's ``release.json`` and the update policy
(``updates/<stream>.json``). Shapes follow coreos/stream-metadata-go and the documents in
coreos/fedora-coreos-streams; file names follow both naming generations Fedora has used.

Locations are absolute URLs, so the server comes first::

    upstream = CoreosUpstream(root, key=key)
    upstream.add_release("44.20260707.3.1", disk=True, iso=True)
    with StaticServer(upstream.root) as server:
        upstream.write(server.url)

Once written, every change (a newer release, a hostile variant) is published at once
and dates the documents (``last-modified``); writing again with nothing changed changes
no byte. Files of older releases stay on disk, as Fedora keeps them. The ``rhcos`` flavour writes
what RHCOS/SCOS streams look like: no ``signature`` keys and no ``.sig``, gzip disks
(``raw.gz``), ``rhcos-`` names, and no release index or update policy.
"""

import datetime
import gzip
import hashlib
import json
import lzma
import os
import pathlib
import subprocess
import tempfile
from dataclasses import dataclass, field

from . import fedora

GPG = "/usr/bin/gpg"
OCI_REPOSITORY = "quay.io/fedora/fedora-coreos"
FLAVORS = ("fedora", "rhcos")
# What a file is, by how this builder calls it: the PXE keys of the stream document, the
# metal disks, the live ISO and a platform a netboot sync ignores (qemu).
PXE = ("kernel", "initramfs", "rootfs")
KINDS = (*PXE, "disk", "disk4k", "iso", "qemu")
# The role a synced tree gives each file (netboot/layout.py's names).
TREE_ROLES = {
    "kernel": "kernel",
    "initramfs": "initrd",
    "rootfs": "rootfs",
    "disk": "disk",
    "iso": "iso",
}
INDEX_NOTE = (
    "For use only by Fedora CoreOS internal tooling.  All other applications should "
    "obtain release info from stream metadata endpoints."
)
_GENERATORS = {
    "fedora": "fedora-coreos-stream-generator v0.2.19",
    "rhcos": "plume cosa2stream 211dee6",
}
_PREFIXES = {"fedora": "fedora-coreos", "rhcos": "rhcos"}
# How each flavour compresses its disk images: stream format suffix and compressor.
_COMPRESSIONS = {
    "fedora": ("xz", lambda data: lzma.compress(data, format=lzma.FORMAT_XZ)),
    "rhcos": ("gz", lambda data: gzip.compress(data, mtime=0)),
}


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def detach_sign(key, data):
    """A binary detached OpenPGP signature over ``data`` by ``key`` (a dnf.GpgKey), made by
    ``gpg --detach-sign`` as Fedora's signing produces them."""
    result = subprocess.run(
        [
            GPG,
            "--homedir",
            key.home,
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--local-user",
            key.fingerprint,
            "--detach-sign",
        ],
        input=data,
        capture_output=True,
    )
    if result.returncode:
        raise RuntimeError(f"gpg --detach-sign exited {result.returncode}: {result.stderr!r}")
    return result.stdout


@dataclass(eq=False)
class UpstreamFile:
    """One release file: where the stream document puts it, what it says of it, what is served.

    ``data`` is what upstream published (``sha256``, ``size`` and the signature are of
    it); ``served`` is what the server has (differs after ``corrupt``). ``url`` and
    ``signature_url`` are set by ``write``; ``signature`` holds the ``.sig`` bytes
    written (None when unsigned or dropped).
    """

    kind: str
    version: str
    arch: str
    platform: str  # artifacts.<platform> in the stream document
    format: str  # artifacts.<platform>.formats.<format>
    key: str  # formats.<format>.<key>: kernel, initramfs, rootfs or disk
    name: str
    path: str  # relative to the upstream's root
    data: bytes
    uncompressed: bytes | None = None  # a compressed disk's image
    signer: object = None  # the GpgKey that signs it; None: the document names no signature
    signature_dropped: bool = False  # the document names a .sig the server does not have
    served: bytes | None = None
    origin: str | None = None  # another base URL for its location (relocate)
    url: str | None = None
    signature_url: str | None = None
    signature: bytes | None = None
    _written: str | None = field(default=None, repr=False)

    @property
    def sha256(self):
        """The sha256 the stream document states (of ``data``)."""
        return _sha256(self.data)

    @property
    def size(self):
        return len(self.data)

    @property
    def uncompressed_sha256(self):
        return None if self.uncompressed is None else _sha256(self.uncompressed)

    @property
    def served_bytes(self):
        return self.data if self.served is None else self.served

    @property
    def served_sha256(self):
        return _sha256(self.served_bytes)

    @property
    def tree_role(self):
        """The role a synced tree gives this file, or None for a file no tree takes."""
        return TREE_ROLES.get(self.kind)

    def artifact(self):
        """Its entry in a stream document, in stream-metadata-go's field order."""
        entry = {"location": self.url}
        if self.signature_url is not None:
            entry["signature"] = self.signature_url
        entry["sha256"] = self.sha256
        if self.uncompressed is not None:
            entry["uncompressed-sha256"] = self.uncompressed_sha256
        return entry


class CoreosUpstream:
    """A CoreOS stream's upstream in directory ``root``: add releases, then ``write``.

    ``key`` (a dnf.GpgKey) signs every file of a signed release. ``salt`` makes the
    generated bytes unique to this upstream (Pulp shares artifacts across tests).
    ``flavor`` is "fedora" or "rhcos" (see the module docstring).
    """

    def __init__(
        self,
        root,
        stream="stable",
        key=None,
        flavor="fedora",
        salt="",
        oci_repository=OCI_REPOSITORY,
    ):
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.stream = stream
        self.key = key
        self.flavor = flavor
        self.salt = salt
        self.oci_repository = oci_repository
        self.base_url = None
        self.files_url = None
        self._builds = {}  # (version, arch) -> {kind: UpstreamFile}, in the order added
        self._versions = []  # oldest first
        self._commits = {}  # (version, arch) -> OSTree commit
        self._oci_digests = {}  # (version, arch) -> sha256 hex of the arch's OCI image
        self._policy = {}  # version -> {"barrier"|"deadend"|"rollout": ...}
        self._signatures = {}  # (fingerprint, sha256) -> signature bytes
        self._modified = _now()  # the documents' last-modified: writing again changes no byte

    # What tests assert against.

    @property
    def public_key(self):
        return self.key.public_armored

    @property
    def fingerprint(self):
        return self.key.fingerprint

    @property
    def stream_url(self):
        return f"{self._base()}/streams/{self.stream}.json"

    @property
    def release_index_url(self):
        """None for the rhcos flavour: RHCOS publishes no release index."""
        if self.flavor == "rhcos":
            return None
        return f"{self._base()}/{self._prod()}/releases.json"

    @property
    def updates_url(self):
        """None for the rhcos flavour: RHCOS publishes no update policy."""
        if self.flavor == "rhcos":
            return None
        return f"{self._base()}/updates/{self.stream}.json"

    @property
    def releases(self):
        """Every version added, oldest first."""
        return list(self._versions)

    def newest(self, arch="x86_64"):
        """The version the stream document lists for ``arch``: the last one added."""
        versions = [version for version, build_arch in self._builds if build_arch == arch]
        if not versions:
            raise KeyError(f"no release of {arch}")
        return versions[-1]

    def files(self, version=None, arch="x86_64"):
        """{kind: UpstreamFile} of a release (default: the newest of ``arch``)."""
        return self._builds[(version or self.newest(arch), arch)]

    def file(self, kind, version=None, arch="x86_64"):
        return self.files(version, arch)[kind]

    def tree_files(self, version=None, arch="x86_64"):
        """{tree role: UpstreamFile} of the files a synced tree takes (PXE, disk, iso)."""
        return {
            item.tree_role: item
            for item in self.files(version, arch).values()
            if item.tree_role is not None
        }

    # Building.

    def add_release(
        self,
        version,
        arch="x86_64",
        kernel=None,
        initramfs=None,
        rootfs=None,
        disk=None,
        iso=None,
        old_names=False,
        signed=True,
        commit=None,
        oci_digest=None,
        barrier=None,
        deadend=None,
        rollout=None,
    ):
        """Add one architecture of release ``version`` (add releases oldest first).

        ``kernel``, ``initramfs``, ``rootfs``: bytes (default: small Fedora-shaped files
        unique to the release). ``disk``: the raw disk image (bytes, or True for a small
        one), published compressed as the metal disk and the metal4k one; ``iso``: bytes
        or True. ``old_names``: the names before 2025 (``-live-kernel-<arch>``,
        ``-live.<arch>.iso``). ``signed=False``: no ``signature`` keys, no ``.sig``.
        ``commit`` (OSTree, 64 hex) and ``oci_digest`` (sha256 hex) go into the release
        index; ``barrier``, ``deadend`` (reason URLs) and ``rollout`` (a dict of
        start_epoch, start_percentage, duration_minutes) into the update policy.
        Returns {kind: UpstreamFile}.
        """
        if (version, arch) in self._builds:
            raise ValueError(f"release {version} {arch} was already added")
        signer = None
        if signed and self.flavor == "fedora":
            if self.key is None:
                raise ValueError("a signed release needs the upstream's key (or signed=False)")
            signer = self.key
        policy = {
            name: value
            for name, value in (("barrier", barrier), ("deadend", deadend), ("rollout", rollout))
            if value is not None
        }
        known = self._policy.get(version, {})
        for name, value in policy.items():
            if name in known and known[name] != value:
                raise ValueError(f"release {version} already has another {name}")

        seed = f"{self.stream}-{version}-{arch}-{self.salt}"
        prefix = f"{_PREFIXES[self.flavor]}-{version}"
        kernel_name = f"live-kernel-{arch}" if old_names else f"live-kernel.{arch}"
        iso_name = f"live.{arch}.iso" if old_names else f"live-iso.{arch}.iso"
        suffix, compress = _COMPRESSIONS[self.flavor]
        build = {}

        def add(kind, platform, fmt, key, name, data, uncompressed=None):
            build[kind] = UpstreamFile(
                kind=kind,
                version=version,
                arch=arch,
                platform=platform,
                format=fmt,
                key=key,
                name=f"{prefix}-{name}",
                path=f"{self._prod()}/builds/{version}/{arch}/{prefix}-{name}",
                data=data,
                uncompressed=uncompressed,
                signer=signer,
            )

        add("kernel", "metal", "pxe", "kernel", kernel_name, _given(kernel, fedora.kernel, seed))
        add(
            "initramfs",
            "metal",
            "pxe",
            "initramfs",
            f"live-initramfs.{arch}.img",
            _given(initramfs, fedora.initrd, seed),
        )
        add(
            "rootfs",
            "metal",
            "pxe",
            "rootfs",
            f"live-rootfs.{arch}.img",
            _given(rootfs, _rootfs, seed),
        )
        if disk is not None and disk is not False:
            image = _given(disk, _disk, seed)
            image4k = b"4K" + image  # another image, as metal4k is
            add(
                "disk",
                "metal",
                f"raw.{suffix}",
                "disk",
                f"metal.{arch}.raw.{suffix}",
                compress(image),
                image,
            )
            add(
                "disk4k",
                "metal",
                f"4k.raw.{suffix}",
                "disk",
                f"metal4k.{arch}.raw.{suffix}",
                compress(image4k),
                image4k,
            )
        if iso is not None and iso is not False:
            add("iso", "metal", "iso", "disk", iso_name, _given(iso, fedora.iso, seed))
        qcow2 = b"QFI\xfb" + fedora.pxelinux(f"{seed}-qemu", 512)
        add(
            "qemu",
            "qemu",
            f"qcow2.{suffix}",
            "disk",
            f"qemu.{arch}.qcow2.{suffix}",
            compress(qcow2),
            qcow2,
        )

        self._builds[(version, arch)] = build
        if version not in self._versions:
            self._versions.append(version)
        if commit is not None:
            self._commits[(version, arch)] = commit
        if oci_digest is not None:
            self._oci_digests[(version, arch)] = oci_digest
        self._policy.setdefault(version, {}).update(policy)
        self._changed()
        return build

    # Hostile variants: each one call, published at once when the upstream is written.

    def sign_with(self, other_key, kind="kernel", version=None, arch="x86_64"):
        """Sign one file with ``other_key`` instead of the upstream's key."""
        item = self.file(kind, version, arch)
        item.signer = other_key
        self._changed()
        return item

    def corrupt(self, kind="kernel", version=None, arch="x86_64"):
        """Serve other bytes of the same size than the document's sha256 (and the
        signature) are of: a checksum mismatch."""
        item = self.file(kind, version, arch)
        changed = bytearray(item.data)
        changed[len(changed) // 2] ^= 0xFF
        item.served = bytes(changed)
        self._changed()
        return item

    def drop_signature(self, kind="kernel", version=None, arch="x86_64"):
        """Remove one ``.sig`` from the server while the document still names it (a 404)."""
        item = self.file(kind, version, arch)
        if item.signer is None:
            raise ValueError(f"{item.name} is not signed: no signature to drop")
        item.signature_dropped = True
        self._changed()
        return item

    def rename(self, name, kind="kernel", version=None, arch="x86_64"):
        """Publish one file under another name (its location's last segment), e.g. a name
        a generated document or another file's signature is served at."""
        item = self.file(kind, version, arch)
        old = self.root / item.path
        item.path = f"{item.path.rsplit('/', 1)[0]}/{name}"
        item.name = name
        item._written = None
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".sig").unlink(missing_ok=True)
        self._changed()
        return item

    def relocate(self, base_url, kind="kernel", version=None, arch="x86_64"):
        """Put one file's ``location`` (and signature) under ``base_url``, another origin;
        the file stays in ``root``, so a second StaticServer of ``root`` serves it there."""
        item = self.file(kind, version, arch)
        item.origin = base_url.rstrip("/")
        self._changed()
        return item

    # Writing.

    def write(self, base_url=None, files_url=None):
        """Write every file, signature and document under ``root`` with locations under
        ``base_url`` (the server's root URL; remembered). ``files_url``: another base for
        the release files' locations (the documents stay under ``base_url``)."""
        if base_url is not None:
            self.base_url = base_url.rstrip("/")
            self.files_url = files_url.rstrip("/") if files_url else None
        if self.base_url is None:
            raise ValueError("write() needs the server's base URL the first time")
        for build in self._builds.values():
            for item in build.values():
                self._write_file(item)
        newest = {}
        for (version, arch), build in self._builds.items():
            newest[arch] = (version, build)
        now = self._modified
        self._write_json(f"streams/{self.stream}.json", self._stream_document(newest, now))
        if self.flavor == "fedora":
            for version in self._versions:
                self._write_json(
                    f"{self._prod()}/builds/{version}/release.json",
                    self._release_document(version, now),
                )
            self._write_json(
                f"{self._prod()}/releases.json", self._release_index(now), compact=True
            )
            self._write_json(f"updates/{self.stream}.json", self._updates(now))
        return self

    def _changed(self):
        """Date the documents now, and publish the change if the upstream is served."""
        self._modified = _now()
        if self.base_url is not None:
            self.write()

    def _base(self):
        if self.base_url is None:
            raise ValueError("the upstream is not written yet: write(base_url) first")
        return self.base_url

    def _prod(self):
        return f"prod/streams/{self.stream}"

    def _write_file(self, item):
        item.url = f"{item.origin or self.files_url or self.base_url}/{item.path}"
        item.signature_url = None if item.signer is None else item.url + ".sig"
        target = self.root / item.path
        served = item.served_bytes
        if item._written != _sha256(served):
            _write_atomically(target, served)
            item._written = _sha256(served)
        sig_path = target.with_name(target.name + ".sig")
        if item.signer is None or item.signature_dropped:
            item.signature = None
            sig_path.unlink(missing_ok=True)
            return
        signature = self._sign(item.signer, item.data)
        if item.signature != signature or not sig_path.exists():
            _write_atomically(sig_path, signature)
        item.signature = signature

    def _sign(self, key, data):
        cached = (key.fingerprint, _sha256(data))
        if cached not in self._signatures:
            self._signatures[cached] = detach_sign(key, data)
        return self._signatures[cached]

    def _write_json(self, path, document, compact=False):
        if compact:
            text = json.dumps(document, separators=(",", ":"))
        else:
            text = json.dumps(document, indent=2) + "\n"
        _write_atomically(self.root / path, text.encode())

    def _stream_document(self, newest, now):
        architectures = {}
        for arch in sorted(newest):  # Go writes a map's keys sorted
            version, build = newest[arch]
            platforms = {}
            for item in build.values():
                platform = platforms.setdefault(item.platform, {"release": version, "formats": {}})
                platform["formats"].setdefault(item.format, {})[item.key] = item.artifact()
            for platform in platforms.values():
                platform["formats"] = dict(sorted(platform["formats"].items()))
            entry = {"artifacts": dict(sorted(platforms.items()))}
            if self.flavor == "fedora":
                entry["images"] = {
                    "gcp": {
                        "release": version,
                        "project": "fedora-coreos-cloud",
                        "family": f"fedora-coreos-{self.stream}",
                        "name": f"fedora-coreos-{version.replace('.', '-')}-gcp-"
                        + arch.replace("_", "-"),
                    }
                }
            else:
                entry["images"] = {}
                entry["rhel-coreos-extensions"] = {
                    "azure-disk": {
                        "release": version,
                        "url": f"https://rhcos.blob.core.windows.net/imagebucket/"
                        f"rhcos-{version}-azure.{arch}.vhd",
                    }
                }
            architectures[arch] = entry
        return {
            "stream": self.stream,
            "metadata": {"last-modified": now, "generator": _GENERATORS[self.flavor]},
            "architectures": architectures,
        }

    def _oci_image(self, version, arch):
        digest = self._oci_digests.get((version, arch))
        if digest is None:
            return None
        return {
            # The floating tag, the one that does not name the release.
            "image": f"{self.oci_repository}:{self.stream}",
            "digest-ref": f"{self.oci_repository}@sha256:{digest}",
        }

    def _arches(self, version):
        return [arch for build_version, arch in self._builds if build_version == version]

    def _release_document(self, version, now):
        """``builds/<version>/release.json``: the release metadata the index points at."""
        architectures = {}
        for arch in self._arches(version):
            entry = {}
            if (version, arch) in self._commits:
                entry["commit"] = self._commits[(version, arch)]
            image = self._oci_image(version, arch)
            if image is not None:
                entry["oci-image"] = image
            media = {}
            for item in self._builds[(version, arch)].values():
                formats = media.setdefault(item.platform, {"artifacts": {}})["artifacts"]
                formats.setdefault(item.format, {})[item.key] = item.artifact()
            entry["media"] = media
            architectures[arch] = entry
        return {
            "release": version,
            "stream": self.stream,
            "metadata": {"last-modified": now},
            "architectures": architectures,
        }

    def _release_index(self, now):
        releases = []
        for version in self._versions:
            entry = {}
            arches = self._arches(version)
            commits = [
                {"architecture": arch, "checksum": self._commits[(version, arch)]}
                for arch in arches
                if (version, arch) in self._commits
            ]
            if commits:
                entry["commits"] = commits
            images = [
                {**self._oci_image(version, arch), "architecture": arch}
                for arch in arches
                if (version, arch) in self._oci_digests
            ]
            if images:
                entry["oci-images"] = images
            entry["version"] = version
            entry["metadata"] = f"{self._base()}/{self._prod()}/builds/{version}/release.json"
            releases.append(entry)
        return {
            "note": INDEX_NOTE,
            "releases": releases,
            "metadata": {"last-modified": now},
            "stream": self.stream,
        }

    def _updates(self, now):
        releases = []
        for version in self._versions:
            policy = self._policy.get(version)
            if not policy:
                continue  # sparse: only releases with an update policy
            metadata = {}
            for name in ("barrier", "deadend"):
                if name in policy:
                    metadata[name] = {"reason": policy[name]}
            if "rollout" in policy:
                metadata["rollout"] = dict(policy["rollout"])
            releases.append({"version": version, "metadata": metadata})
        return {"stream": self.stream, "metadata": {"last-modified": now}, "releases": releases}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _given(value, make, seed):
    """``value`` if bytes were given, else a small file ``make`` shapes from ``seed``."""
    if value is None or value is True:
        return make(f"{seed}-{make.__name__}")
    return bytes(value)


def _rootfs(seed):
    """A live rootfs image: a cpio archive (newc) that would hold root.squashfs."""
    return b"070701" + fedora.pxelinux(seed, 8192)


def _disk(seed):
    """A raw disk image: a protective MBR boot signature, then filler."""
    data = bytearray(fedora.pxelinux(seed, 16384))
    data[510:512] = b"\x55\xaa"
    return bytes(data)


def _write_atomically(target, data):
    """Replace ``target`` in one step: a server reading it never sees half a file."""
    target = pathlib.Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
