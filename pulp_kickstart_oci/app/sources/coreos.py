"""The CoreOS source: the current release of a CoreOS stream, one tree per architecture.

The remote's ``url`` is a stream metadata document (Fedora's ``streams/stable.json``;
RHCOS and SCOS streams of the same schema). It is read through the remote's downloader
(fetch policy on every hop: requests stay on the document's origin, files may also come
from ``redirect_origins`` since the document pins them by sha256; capped by
KICKSTART_MAX_STREAM_METADATA_BYTES, counted in the sync's budget) and parsed strictly
(netboot/coreos.py). Each file is fetched where the document names it and checked
against its sha256: during the sync (``immediate``), or on the first fetch through the
content app (``on_demand``, ``streamed``: the size is learnt by HEAD at sync).

Each file's detached OpenPGP signature (``<file>.sig``) is fetched at sync, whatever
the policy, and kept in the tree beside its file: coreos-installer fetches
``<image_url>.sig`` and checks it with the keys it embeds, so the served bytes must be
upstream's. Under ``if_present`` or ``required`` every signature is verified against
the remote's keys (the file's bytes are needed, so such a remote syncs ``immediate``);
a tree whose every file verified gets one ``openpgp-detached`` verification.

With ``release_index_url`` (and ``updates_url``) the sync also stores the stream's
release history and update policy (a KickstartReleaseIndex, netboot/cincinnati.py):
the update graph a distribution serves, and each tree's OCI image.
"""

import asyncio
import logging
import os
from gettext import gettext as _

from asgiref.sync import sync_to_async

from pulpcore.plugin.models import Artifact, ContentArtifact, ProgressReport, Remote
from pulpcore.plugin.util import get_domain_pk

from .. import archive_bytes
from ..budget import spend
from ..downloads import cap
from ..models import KickstartCoreosRemote, KickstartReleaseIndex, KickstartSignature
from ..netboot import arch as archs
from ..netboot import cincinnati, coreos, layout
from ..netboot.treefile import TreeFile
from ..signatures import SignatureError, verify_detached
from ..signatures.policy import holds_kept
from ..signatures.result import DETACHED
from ..upstream_errors import REQUEST_ERRORS, message, status_of
from .base import TreeFirstStage, TreePlan, digest_of_sources

log = logging.getLogger(__name__)

SIGNATURE_SUFFIX = ".sig"


class CoreosError(Exception):
    """A CoreOS stream that cannot be synced; the message names where and why."""


class CoreosFirstStage(TreeFirstStage):
    """A stream document -> one tree per (wanted) architecture of its current release."""

    remote_type = KickstartCoreosRemote
    source_errors = (CoreosError, coreos.StreamError, cincinnati.CincinnatiError)
    source_type = "coreos"

    def __init__(self, remote):
        super().__init__(remote)
        self.where = _("CoreOS stream {url}").format(url=remote.url)
        self.wanted = [archs.fedora_name(name) for name in remote.architectures or []] or None
        self.extras = tuple(remote.extras or ())
        self.unsigned = []  # files accepted without a signature (if_present)

    def checks_signatures(self):
        return self.trust.active

    def holds_kept(self):
        return holds_kept(self.trust.policy)

    async def _document(self, url, what):
        """The bytes of one metadata document (capped, counted; deleted once read)."""
        downloader = self.remote.get_downloader(
            url=url, **cap("KICKSTART_MAX_STREAM_METADATA_BYTES")
        )
        try:
            result = await downloader.run()
        except REQUEST_ERRORS as exc:
            raise CoreosError(message(self.where, what, exc)) from None
        try:
            with open(result.path, "rb") as fetched:
                return fetched.read()
        finally:
            os.unlink(result.path)

    async def resolve(self):
        """Read the stream (and its release index); plan a tree per architecture, its files
        fetched and their signatures checked (immediate) or their sizes learnt (on demand)."""
        async with ProgressReport(
            message=_("Reading stream metadata"), code="sync.parsing.metadata"
        ) as report:
            raw = await self._document(self.remote.url, _("stream metadata"))
            stream, releases = coreos.parse(raw, self.where, self.wanted, self.extras)
            index = await self._release_index(stream)
            report.total = report.done = len(releases)
        plans = []
        for release in releases:
            what = _("{where}: {release}/{arch}").format(
                where=self.where, release=release.release, arch=release.arch
            )
            spend("trees", 1, what)
            plans.append(await self._plan(stream, release, index, what))
        log.info("%s: stream %s, %d trees", self.where, stream, len(plans))
        return plans

    async def _release_index(self, stream):
        """The stream's release index and update policy as a KickstartReleaseIndex (unsaved,
        kept in ``upstream_units``), or None without ``release_index_url``."""
        if not self.remote.release_index_url:
            return None
        raw = await self._document(self.remote.release_index_url, _("release index"))
        updates = None
        if self.remote.updates_url:
            updates = await self._document(self.remote.updates_url, _("update policy"))
        record = cincinnati.index_record(
            raw,
            updates,
            self.where,
            stream,
            self.remote.release_index_url,
            updates_url=self.remote.updates_url,
        )
        unit = KickstartReleaseIndex(
            stream=stream, record=record, identity=KickstartReleaseIndex.identity_of(record)
        )
        self.upstream_units.append(unit)
        return record

    async def _plan(self, stream, release, index, what):
        files = []
        signers = set()
        complete = True  # every file's signature verified (trust active)
        if self.remote.policy == Remote.IMMEDIATE:
            semaphore = asyncio.Semaphore(self.remote.download_concurrency or 5)

            async def fetch(item):
                async with semaphore:
                    return await self._fetched(item, what)

            for found, by in await asyncio.gather(*(fetch(item) for item in release.files)):
                files.extend(found)
                signers.update(by)
                complete = complete and bool(by)
        else:
            for item in release.files:
                files.extend(await self._deferred(item, what))
        sources = [("stream", stream)] + sorted((item.path, item.sha256) for item in files)
        digest = digest_of_sources(release.release, release.arch, sources)
        source = {
            "type": self.source_type,
            "stream": stream,
            "url": str(self.remote.url),
            "release": release.release,
        }
        for name, value in cincinnati.release_facts(index, release.release, release.arch).items():
            source[name] = value
        plan = TreePlan(
            version=release.release,
            arch=release.arch,
            oci_arch=archs.oci_name(release.arch),
            digest=digest,
            source=source,
            annotations={},
            files=files,
            kind=layout.COREOS,
        )
        if self.trust.active:
            if complete:
                plan.signatures = [self._verification(sorted(signers), digest)]
            else:
                plan.warnings.append(
                    _(
                        "not every file is signed; accepted under signature_policy "
                        "'if_present', and nothing vouches for the tree"
                    )
                )
        return plan

    def _verification(self, signers, digest):
        return {
            "kind": DETACHED,
            "key": ",".join(signers),
            "signed_digest": digest,
            "reference": str(self.remote.url),
        }

    def _tree_file(self, item, size=None, **where):
        return TreeFile(
            name=item.name,
            path=item.name,
            role=item.role,
            sha256=item.sha256,
            size=size,
            url=item.url,
            **where,
        )

    async def _signature(self, item, what):
        """``<file>.sig`` fetched (capped, counted) as a TreeFile on this worker's disk, or
        None when upstream signs nothing or has no such file (404)."""
        if item.signature_url is None:
            return None
        spend("signatures", 1, what)
        downloader = self.remote.get_downloader(
            url=item.signature_url, **cap("KICKSTART_MAX_SIGNATURE_BYTES")
        )
        try:
            result = await downloader.run(extra_data={"missing_ok": True})
        except REQUEST_ERRORS as exc:
            if status_of(exc) == 404:
                return None
            raise CoreosError(message(what, f"{item.name}{SIGNATURE_SUFFIX}", exc)) from None
        if result.path is None:
            return None
        attributes = result.artifact_attributes
        return TreeFile(
            name=item.name + SIGNATURE_SUFFIX,
            path=item.name + SIGNATURE_SUFFIX,
            role=layout.SIGNATURE,
            sha256=attributes["sha256"],
            size=attributes["size"],
            url=item.signature_url,
            local_path=result.path,
        )

    def _check(self, item, signature_path, path, what):
        """The remote's policy on one file (its bytes at ``path``) and its detached signature
        (at ``signature_path``, None when it has none): the signer's fingerprints."""
        found = f"{what}: {item.name}"
        if signature_path is None:
            self.trust.decide(
                found, [], [], missing=_("it has no signature ({name}.sig)").format(name=item.name)
            )
            return []
        with open(signature_path, "rb") as held:
            raw = held.read()
        try:
            signer = verify_detached(raw, path, self.trust.keys)
        except SignatureError as exc:
            self.trust.decide(found, [], [str(exc)])
            return []
        return [signer]

    async def _fetched(self, item, what):
        """One file and its signature, downloaded (immediate), the signature checked:
        ``(tree files, fingerprints that signed it)``. A file Pulp stores already is not
        fetched again (its stored bytes are checked, on a filesystem storage)."""
        signature = await self._signature(item, what)
        stored = await sync_to_async(_stored)(item.sha256)
        main = None
        if stored is not None and (not self.trust.active or _path_of(stored)):
            main = self._tree_file(item, size=stored.size, artifact=stored)
        else:
            downloader = self.remote.get_downloader(
                url=item.url,
                expected_digests={"sha256": item.sha256},
                **cap("KICKSTART_MAX_IMAGE_BYTES"),
            )
            try:
                result = await downloader.run()
            except REQUEST_ERRORS as exc:
                raise CoreosError(
                    message(what, item.name, exc, checksums_from=_("the stream metadata"))
                ) from None
            main = self._tree_file(
                item, size=result.artifact_attributes["size"], local_path=result.path
            )
        signers = []
        if self.trust.active:
            path = main.local_path or _path_of(main.artifact)
            try:
                signature_path = None if signature is None else signature.local_path
                signers = await sync_to_async(self._check)(item, signature_path, path, what)
            except SignatureError as exc:
                raise CoreosError(str(exc)) from None
        return [main] + ([signature] if signature is not None else []), signers

    async def _deferred(self, item, what):
        """One file left for the content app to fetch (its size learnt by HEAD now), and
        its signature fetched now."""
        signature = await self._signature(item, what)
        stored = await sync_to_async(_stored)(item.sha256)
        if stored is not None:
            main = self._tree_file(item, size=stored.size, artifact=stored)
        else:
            # Pinned like the fetch it stands for (the content app checks the sha256): the
            # HEAD may follow a redirect to one of the remote's redirect_origins too.
            downloader = self.remote.get_downloader(
                url=item.url, expected_digests={"sha256": item.sha256}
            )
            try:
                size = await downloader.content_length()
            except REQUEST_ERRORS as exc:
                raise CoreosError(message(what, item.name, exc)) from None
            if size is None:
                raise CoreosError(
                    _(
                        "{what}: {name}: upstream announces no size for it, so it cannot be "
                        "left for a first request: sync with policy 'immediate'"
                    ).format(what=what, name=item.name)
                )
            main = self._tree_file(item, size=size)
        return [main] + ([signature] if signature is not None else [])

    async def verify_trees(self, trees, version, label):
        """What vouches for each stored CoreOS tree under the remote's keys now.

        A verification this Pulp made with keys all trusted now stands; otherwise each
        file is checked again against the signature the tree keeps beside it (both
        stored here: nothing is fetched).
        """
        if not self.trust.active:
            return []
        found = []
        for tree in trees:
            what = label.format(version=tree.version, arch=tree.arch)
            record = await sync_to_async(self._stored_check)(tree)
            if record is None:
                signers = await sync_to_async(self._check_stored)(tree, what)
                if signers:
                    record = self._verification(signers, tree.digest)
            if record is not None:
                found.append((tree, record))
        return found

    def _stored_check(self, tree):
        ours = set(self.trust.keys.ids)
        checks = KickstartSignature.checked_by_this_pulp().filter(
            tree__identity=tree.identity, kind=DETACHED
        )
        for check in checks.order_by("pulp_created"):
            if check.key and set(check.key.split(",")) <= ours:
                return {
                    "kind": check.kind,
                    "key": check.key,
                    "signed_digest": check.signed_digest,
                    "reference": check.reference,
                }
        return None

    def _check_stored(self, tree, what):
        """The signers of every file of a stored tree, checked against the signatures it
        keeps; None when one is unsigned and the policy accepts that."""
        artifacts = {
            ca.relative_path[len(tree.tree_root) + 1 :]: ca.artifact
            for ca in ContentArtifact.objects.filter(content=tree).select_related("artifact")
        }
        files = [TreeFile.from_record(record) for record in tree.files]
        signatures = {item.path: item for item in files if item.role == layout.SIGNATURE}
        signers = set()
        complete = True
        for item in files:
            if item.role == layout.SIGNATURE:
                continue
            artifact = artifacts.get(item.path)
            if artifact is None:
                raise CoreosError(
                    _(
                        "{what}: {name} is not stored here (synced on demand): it cannot be "
                        "checked against its signature"
                    ).format(what=what, name=item.name)
                )
            signature = signatures.get(item.path + SIGNATURE_SUFFIX)
            held = None if signature is None else artifacts.get(signature.path)
            signature_path = None if held is None else _local_path(held)
            try:
                found = self._check(item, signature_path, _local_path(artifact), what)
            except SignatureError as exc:
                raise CoreosError(str(exc)) from None
            if not found:
                complete = False
            signers.update(found)
        return sorted(signers) if complete else None


def _stored(sha256):
    """The artifact of this domain holding ``sha256`` (read back first if an import
    brought it unread, archive_bytes.py), or None."""
    artifact = Artifact.objects.filter(sha256=sha256, pulp_domain_id=get_domain_pk()).first()
    if artifact is None:
        return None
    try:
        return artifact if archive_bytes.check(artifact) else None
    except archive_bytes.WrongArchiveBytes as exc:
        raise CoreosError(str(exc)) from None


def _path_of(artifact):
    """A path on this worker to a stored artifact's bytes, or None (not a filesystem storage)."""
    try:
        return artifact.file.path
    except NotImplementedError:
        return None


def _local_path(artifact):
    """A path on this worker to a stored artifact's bytes, or CoreosError."""
    path = _path_of(artifact)
    if path is None:
        raise CoreosError(
            _(
                "stored file {sha256} is not on a local filesystem: it cannot be checked "
                "against its signature here"
            ).format(sha256=artifact.sha256)
        )
    return path
