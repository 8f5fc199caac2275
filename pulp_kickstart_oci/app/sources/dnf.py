"""The dnf source: one tree assembled from a dnf install tree.

Images come from ``.treeinfo`` (checked against its ``[checksums]`` when
downloaded); shim, GRUB and PXELINUX are taken out of the newest matching
RPMs, whose signatures are checked under the remote's ``signature_policy`` (decided
by ``signatures/policy.py``, with keys parsed by ``signatures/keys.py``). The RPMs
themselves are not kept: the tree records which package each file came from. A
keyring check is a KickstartSignature of kind ``rpm`` in the new version, never a
change to the stored tree.
"""

import logging
import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from gettext import gettext as _
from urllib.parse import urljoin, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings

from pulpcore.plugin.models import ContentArtifact, ProgressReport, Remote
from pulpcore.plugin.util import get_domain_pk

from ..dnf import repodata, rpm, treeinfo
from ..dnf.errors import DnfError
from ..downloads import cap
from ..models import KickstartDnfRemote, KickstartSignature, KickstartTree
from ..netboot import arch as archs
from ..netboot import layout
from ..netboot.treefile import TreeFile
from ..signatures import SignatureError
from ..signatures.result import RPM
from ..upstream_errors import REQUEST_ERRORS, message, status_of
from .base import TreeFirstStage, TreePlan, built_here, digest_of_sources

log = logging.getLogger(__name__)

DEFAULT_BOOTLOADER_PACKAGES = {
    "x86_64": ["shim-x64", "grub2-efi-x64", "syslinux-nonlinux"],
    "aarch64": ["shim-aa64", "grub2-efi-aa64"],
}
# .treeinfo image keys -> roles; other images are placed by name.
# The checksum types a repository may publish; createrepo_c calls sha1 "sha".
KNOWN_CHECKSUMS = frozenset(treeinfo.CHECKSUM_TYPES)
_ALGORITHM_NAMES = {"sha": "sha1"}
_ROLE_BY_KEY = {"kernel": layout.KERNEL, "initrd": layout.INITRD, "boot.iso": layout.ISO}
RPM_VERIFICATION = RPM  # KickstartSignature.kind of a tree's RPMs checked against a keyring


@dataclass(frozen=True)
class StoredPackage:
    """An RPM a stored tree records in its ``source``: enough to fetch and check it again."""

    nevra: str
    location: str
    checksum_type: str
    checksum: str
    size: int | None = None  # not recorded: the checksum pins the bytes


class DnfFirstStage(TreeFirstStage):
    """One dnf tree root (the directory holding .treeinfo) -> one tree."""

    remote_type = KickstartDnfRemote
    source_errors = (DnfError,)
    source_type = "dnf"

    def __init__(self, remote):
        super().__init__(remote)
        self.base = remote.url.rstrip("/") + "/"
        self.where = _("dnf tree {url}").format(url=self.base)
        self.skip = set(remote.skip_files or [])
        self.unsigned = []  # packages accepted without a signature (policy if_present)

    @property
    def trusted(self):
        """Fingerprints of the keys this remote trusts (what a verification is recorded
        under), or None when its policy checks no signature."""
        return self.trust.keys.ids if self.trust.active else None

    @cached_property
    def keyring(self):
        """The rpmkeys keyring of the remote's keys, built once per sync; None under 'none'."""
        return rpm.Keyring(self.trust.keys.openpgp) if self.trust.active else None

    def _url(self, path, what):
        """The URL of a path named by upstream metadata, confined to the remote's tree.

        Metadata may name absolute or ``//host`` URLs; following them would send
        the remote's credentials elsewhere and serve whatever came back. Only
        relative paths that stay under the remote's URL are fetched.
        """
        parts = urlsplit(path)
        url = urljoin(self.base, path)
        # urljoin resolves schemes, //host, /absolute and ../ itself: what it leaves
        # outside the remote's URL is refused, and so is anything that is not a plain path.
        plain = not (parts.query or parts.fragment or "\\" in path) and path.isprintable()
        if not path or not plain or " " in path or not url.startswith(self.base):
            raise DnfError(
                _(
                    "{where}: {what}: {path!r} is not a relative path inside the tree; "
                    "only files under the remote's URL are fetched"
                ).format(where=self.where, what=what, path=path)
            )
        return url

    async def _download(
        self,
        path,
        what,
        limit=None,
        expected_digests=None,
        expected_size=None,
        checksum_source=None,
        missing_ok=False,
    ):
        """Fetch one file of the tree, capped, and check the digests upstream gave for it.

        The downloader checks every algorithm given while the bytes stream, also one
        outside ``ALLOWED_CONTENT_CHECKSUMS`` (sha512 repodata on a sha256-only Pulp);
        ``checksum_source`` is where they were published (default: the repodata), for
        the error. With ``missing_ok``, a file the server does not have (HTTP 404)
        gives None; any other failure is a DnfError naming the file (source_errors).
        """
        digests = {}
        for algorithm, expected in (expected_digests or {}).items():
            algorithm = _ALGORITHM_NAMES.get(algorithm, algorithm)
            if algorithm not in KNOWN_CHECKSUMS:
                raise DnfError(
                    _("{where}: {what}: unknown checksum type {algorithm!r}").format(
                        where=self.where, what=what, algorithm=algorithm
                    )
                )
            digests[algorithm] = expected
        downloader = self.remote.get_downloader(
            url=self._url(path, what),
            expected_digests=digests or None,
            expected_size=expected_size,
            **(cap(limit) if limit else {}),
        )
        try:
            result = await downloader.run(extra_data={"missing_ok": missing_ok})
        except REQUEST_ERRORS as exc:
            if missing_ok and status_of(exc) == 404:
                return None
            source = checksum_source or _("the repodata")
            raise DnfError(message(self.where, what, exc, checksums_from=source)) from None
        return None if missing_ok and result.path is None else result

    async def _sizes(self, images):
        """Sizes of images that are not downloaded now (on_demand, streamed), from HEAD.

        HEAD goes through the remote's downloader (proxy, TLS, auth, retries);
        a size it cannot learn is learnt on first download instead.
        """
        for image in images:
            if image.size is not None:
                continue
            # Pinned like the fetch it stands for (the sha256 .treeinfo gives): the HEAD may
            # follow a redirect to one of the remote's redirect_origins too.
            downloader = self.remote.get_downloader(
                url=image.url, expected_digests={"sha256": image.sha256} if image.sha256 else None
            )
            try:
                image.size = await downloader.content_length()
            except REQUEST_ERRORS as exc:
                if status_of(exc) == 404:
                    raise DnfError(
                        _("{where}: {name} is listed in .treeinfo but not found").format(
                            where=self.where, name=image.name
                        )
                    ) from None

    async def _treeinfo(self):
        problem = None
        for name in (".treeinfo", "treeinfo"):
            result = await self._download(
                name, name, "KICKSTART_MAX_TREEINFO_BYTES", missing_ok=True
            )
            if result is None:
                continue
            with open(result.path, "rb") as fetched:
                text = fetched.read().decode("utf-8", errors="replace")
            try:
                return treeinfo.parse(text, f"{self.where}{name}")
            except DnfError as exc:
                problem = problem or exc  # e.g. an HTML page for .treeinfo: try the legacy name
        raise problem or DnfError(
            _("{where}: neither .treeinfo nor treeinfo exists").format(where=self.where)
        )

    def _skipped(self, path):
        return path in self.skip or os.path.basename(path) in self.skip

    async def _images(self, facts, warnings):
        wanted = {path: key for key, path in facts.images.items()}
        if facts.stage2:
            wanted.setdefault(facts.stage2, "stage2")
        files = []
        for path, key in sorted(wanted.items()):
            if self._skipped(path):
                continue
            if key == "stage2":
                role, tree_path = layout.STAGE2, layout.place("install.img").path
                if os.path.basename(path) != "install.img":
                    tree_path = path
            else:
                placement = layout.place(os.path.basename(path))
                role = _ROLE_BY_KEY.get(key, placement.role)
                tree_path = placement.path
            planned = TreeFile(
                name=os.path.basename(path),
                path=tree_path,
                role=role,
                sha256=None,
                size=None,
                source_path=path,
                url=self._url(path, _("image {key}").format(key=key)),
            )
            algorithm, digest = facts.checksums.get(path, (None, None))
            if algorithm == "sha256":
                planned.sha256 = digest  # size: learnt by the download, or see _sizes()
            else:
                # No sha256 upstream: fetch it now, check what .treeinfo does give.
                result = await self._download(
                    path,
                    path,
                    "KICKSTART_MAX_IMAGE_BYTES",
                    expected_digests={algorithm: digest} if algorithm else None,
                    checksum_source=".treeinfo",
                )
                planned.sha256 = result.artifact_attributes["sha256"]
                planned.size = result.artifact_attributes["size"]
                planned.local_path = result.path
                warnings.append(
                    _(
                        "{path} has no sha256 in .treeinfo; verified against its {algorithm} "
                        "checksum and stored"
                    ).format(path=path, algorithm=algorithm)
                    if algorithm
                    else _(
                        "{path} has no sha256 in .treeinfo, nor any checksum; "
                        "stored unverified, as downloaded"
                    ).format(path=path)
                )
            files.append(planned)
        return files

    async def _packages(self, arch):
        overrides = self.remote.bootloader_packages or {}
        names = overrides.get(arch, DEFAULT_BOOTLOADER_PACKAGES.get(arch, []))
        names = [name for name in names if not self._skipped(name)]
        if not names:
            return []
        repomd = await self._download(
            "repodata/repomd.xml", "repodata/repomd.xml", "KICKSTART_MAX_REPOMD_BYTES"
        )
        href, checksum_type, checksum = repodata.primary_location(repomd.path, self.where)
        primary = await self._download(
            href,
            href,
            "KICKSTART_MAX_PRIMARY_BYTES",
            expected_digests={checksum_type: checksum} if checksum else None,
        )
        found = repodata.newest_packages(
            primary.path, names, {arch, "noarch"}, self.where, href=href
        )
        missing = [name for name in names if name not in found]
        if missing:
            raise DnfError(
                _("{where}: package {packages} not found in the repodata for {arch}").format(
                    where=self.where, packages=", ".join(missing), arch=arch
                )
            )
        return [found[name] for name in names]

    def _existing(self, digest):
        """Reuse a dnf tree this Pulp built (``built_here``) and stores with every file, instead
        of unpacking RPMs again: the digest does not cover the files unpacked from RPMs."""
        stored = KickstartTree.objects.filter(digest=digest, _pulp_domain=get_domain_pk())
        tree = built_here(stored, self.source_type).first()
        if tree is None:
            return None
        by_path = {
            ca.relative_path: ca.artifact
            for ca in ContentArtifact.objects.filter(content=tree).select_related("artifact")
        }
        locations = {p["nevra"]: p["location"] for p in tree.source.get("packages", [])}
        files = []
        for record in tree.files:
            item = TreeFile.from_record(record)
            artifact = by_path.get(f"{tree.tree_root}/{item.path}")
            if item.package:
                if artifact is None:
                    return None  # only an unpacked RPM could bring it back
                location = locations.get(item.package, "")
                what = _("package {nevra}").format(nevra=item.package)
                url = self._url(location, what) + "#" + item.source_path
            else:
                # An image not fetched yet (on_demand) stays deferred to its tree URL.
                source_path = item.source_path or item.path
                url = self._url(source_path, source_path)
            files.append(item.located(url=url, artifact=artifact))
        return TreePlan(
            tree.version,
            tree.arch,
            tree.oci_arch,
            digest,
            tree.source,
            tree.annotations,
            files,
            list(tree.warnings),
        )

    async def _fetch_package(self, package, what, keyring):
        """Download one RPM (size-capped, checksum-verified); check its signature when keyed."""
        limit = settings.KICKSTART_MAX_PACKAGE_BYTES
        if package.size and package.size > limit:
            raise DnfError(
                _(
                    "{where}: {what} is {size} bytes, larger than "
                    "KICKSTART_MAX_PACKAGE_BYTES ({limit} bytes)"
                ).format(where=self.where, what=what, size=package.size, limit=limit)
            )
        result = await self._download(
            package.location,
            what,
            "KICKSTART_MAX_PACKAGE_BYTES",
            expected_digests={package.checksum_type: package.checksum},
            expected_size=package.size,
        )
        if keyring is not None:
            self._check_signature(keyring, result.path, what)
        return result

    def _check_signature(self, keyring, rpm_path, what):
        """The remote's policy on one RPM's signature, as signatures/policy.py decides it.

        A package accepted without a signature (``if_present``) is remembered: the
        tree warns, and no verification of its RPMs is recorded.
        """
        checked = keyring.check(rpm_path)
        try:
            self.trust.decide(
                _("{where}: {what}").format(where=self.where, what=what),
                [checked] if checked.verified else [],
                [checked.problem] if checked.problem else [],
                missing=_("it is not signed"),
            )
        except SignatureError as exc:
            raise DnfError(str(exc)) from None
        if not checked.verified:
            self.unsigned.append(what)

    def _keyring_verification(self, digest):
        """The record of this sync's check of a tree's RPMs against the remote's keyring.

        ``key`` lists the keyring's fingerprints (sorted, comma-separated); the unit is
        put into the new version with the tree (base.run).
        """
        return {
            "kind": RPM_VERIFICATION,
            "key": ",".join(sorted(self.trusted)),
            "signed_digest": digest,
            "reference": self.base,
        }

    def _verified_for_us(self, plan):
        """A stored check of the planned tree's RPMs that holds for this remote (or None).

        Each check (a KickstartSignature of kind ``rpm`` in this domain) names the
        fingerprints of the keyring the RPMs were verified against; if every key of
        that keyring is one of this remote's keys, the check holds for this remote
        too and nothing needs fetching again. Those the oldest first.
        """
        ours = set(self.trusted)
        checks = (
            KickstartSignature.checked_by_this_pulp()
            .filter(
                tree__identity=plan.identity,
                tree___pulp_domain=get_domain_pk(),
                kind=RPM_VERIFICATION,
            )
            .order_by("pulp_created")
        )
        for check in checks:
            keyring = set(check.key.split(","))
            if check.key and keyring <= ours:
                return {
                    "kind": check.kind,
                    "key": check.key,
                    "signed_digest": check.signed_digest,
                    "reference": check.reference,
                }
        return None

    async def _fetched(self, packages, keyring, message, code):
        """Each package downloaded (capped, checksum- and, with a keyring, signature-checked).

        Yields ``(package, what, path)``; the RPM is deleted once the caller is done
        with it: the packages themselves are never kept.
        """
        async with ProgressReport(message=message, code=code, total=len(packages)) as report:
            for package in packages:
                what = _("package {nevra} ({location})").format(
                    nevra=package.nevra, location=package.location
                )
                result = await self._fetch_package(package, what, keyring)
                try:
                    yield package, what, result
                finally:
                    os.unlink(result.path)
                await report.aincrement()

    async def _check_packages(self, packages, files, what):
        """Fetch a stored tree's RPMs again (size-capped, checksum- and, under a policy,
        signature-checked) and unpack them: each of ``files`` taken from a package must be
        that package's boot file, byte for byte.

        The stored tree may have been synced without keys, by another remote with other
        keys, or by another Pulp (an import, a replication): only what is checked here
        lets a verification of its RPMs vouch for its files.
        """
        expected = {}  # NEVRA -> {tree path: sha256} of the files taken from it
        for item in files:
            if item.package:
                expected.setdefault(item.package, {})[item.path] = item.sha256
        message = _("Verifying package signatures of a stored tree")
        async for package, package_what, result in self._fetched(
            packages, self.keyring, message, "sync.verifying.packages"
        ):
            wanted = expected.pop(package.nevra, None)
            if not wanted:
                continue  # every file of it skipped (skip_files)
            about = _("{where}: {what}").format(where=self.where, what=package_what)
            with tempfile.TemporaryDirectory(prefix="verified-", dir=".") as destination:
                held = {
                    item.path: item.sha256
                    for item in rpm.extract_boot_files(result.path, destination, about)
                }
            for path, sha256 in sorted(wanted.items()):
                if held.get(path) != sha256:
                    raise DnfError(
                        _("{where}: {what}: {path} is not the file {package} holds").format(
                            where=self.where, what=what, path=path, package=package.nevra
                        )
                    )
        if expected:
            raise DnfError(
                _(
                    "{where}: {what}: files taken from {packages}, which the tree does not list"
                ).format(where=self.where, what=what, packages=", ".join(sorted(expected)))
            )

    def checks_signatures(self):
        return self.trusted is not None

    async def verify_trees(self, trees, version, label):
        """What vouches for each dnf tree under the remote's keyring now.

        A stored check of the tree's RPMs that this Pulp made with keys all trusted now
        stands; otherwise its RPMs (as its ``source`` lists them) are fetched from this
        remote again and checked (``_check_packages``). Under 'if_present' a tree with an
        unsigned RPM is accepted, and nothing vouches for it.
        """
        if not self.trusted:
            return []
        found = []
        for tree in trees:
            verified = await sync_to_async(self._verified_for_us)(tree)
            if verified is None:
                what = label.format(version=tree.version, arch=tree.arch)
                accepted_unsigned = len(self.unsigned)
                files = [TreeFile.from_record(record) for record in tree.files]
                await self._check_packages(self._packages_of(tree, what), files, what)
                if len(self.unsigned) == accepted_unsigned:
                    verified = self._keyring_verification(tree.digest)
            if verified is not None:
                found.append((tree, verified))
        return found

    def _packages_of(self, tree, what):
        """The RPMs a stored dnf tree was built from, as its ``source`` records them."""
        packages = []
        for entry in (tree.source or {}).get("packages") or []:
            sums = {key: value for key, value in entry.items() if key not in ("nevra", "location")}
            if not isinstance(entry.get("nevra"), str) or len(sums) != 1:
                raise DnfError(
                    _("{where}: {what}: its source does not say which RPMs it came from").format(
                        where=self.where, what=what
                    )
                )
            ((checksum_type, checksum),) = sums.items()
            packages.append(
                StoredPackage(entry["nevra"], entry.get("location") or "", checksum_type, checksum)
            )
        return packages

    async def _unpack(self, packages):
        """The boot files of each package, unpacked and placed in the tree."""
        keyring = self.keyring
        message = _("Downloading and unpacking packages")
        files = []
        async for package, what, result in self._fetched(
            packages, keyring, message, "sync.unpacking.packages"
        ):
            destination = tempfile.mkdtemp(prefix="unpacked-", dir=".")
            extracted = rpm.extract_boot_files(
                result.path, destination, _("{where}: {what}").format(where=self.where, what=what)
            )
            if not extracted:
                raise DnfError(
                    _("{where}: {what} contains no boot files").format(where=self.where, what=what)
                )
            rpm_sha256 = result.artifact_attributes["sha256"]
            for item in extracted:
                if self._skipped(item.name):
                    continue
                url = self._url(package.location, what) + "#" + item.source_path
                files.append(item.located(package=package.nevra, rpm_sha256=rpm_sha256, url=url))
        return files

    async def resolve(self):
        """Read .treeinfo and repodata; reuse the stored tree, or fetch images and unpack RPMs."""
        async with ProgressReport(
            message=_("Reading tree metadata"), code="sync.parsing.metadata"
        ) as report:
            facts = await self._treeinfo()
            arch = facts.arch
            warnings = list(facts.warnings)
            images = await self._images(facts, warnings)
            packages = await self._packages(arch)
            await report.aincrement()
        # The tree's URL is part of its identity: a tree another remote assembled
        # from another server is never reused with that server's locations.
        sources = [("url", self.base)]
        sources += [(f.path, f.sha256) for f in images]
        sources += [(p.nevra, f"{p.checksum_type}:{p.checksum}") for p in packages]
        digest = digest_of_sources(facts.version, arch, sources)
        existing = await sync_to_async(self._existing)(digest)
        if existing is not None:
            if self.trusted:
                verified = await sync_to_async(self._verified_for_us)(existing)
                if verified is None:
                    what = _("stored tree {version}/{arch}").format(
                        version=existing.version, arch=existing.arch
                    )
                    await self._check_packages(packages, existing.files, what)
                    # Unsigned RPMs (if_present) are accepted, but nothing vouches for them.
                    verified = None if self.unsigned else self._keyring_verification(digest)
                existing.signatures = [verified] if verified else []
            return [existing]
        if self.remote.policy != Remote.IMMEDIATE:
            await self._sizes(images)
        files = images + await self._unpack(packages)
        warnings += [
            _("{what} is not signed; accepted under signature_policy 'if_present'").format(
                what=what
            )
            for what in self.unsigned
        ]
        paths = {}
        for item in files:
            if item.path in paths:
                raise DnfError(
                    _("{where}: {name} and {other} would both be served at {path}").format(
                        where=self.where, name=item.name, other=paths[item.path], path=item.path
                    )
                )
            paths[item.path] = item.name
        source = {
            "type": "dnf",
            "url": self.base,
            "family": facts.family,
            "packages": [
                {"nevra": p.nevra, "location": p.location, p.checksum_type: p.checksum}
                for p in packages
            ],
        }
        log.info(
            "%s: %s %s/%s, %d files", self.where, facts.family, facts.version, arch, len(files)
        )
        plan = TreePlan(
            facts.version, arch, archs.oci_name(arch), digest, source, {}, files, warnings
        )
        if self.trusted and not self.unsigned:
            plan.signatures = [self._keyring_verification(digest)]
        return [plan]
