"""The registry source: trees published as OCI artifacts under release tags.

Tags are listed and every selected manifest is read and checked before any
file is downloaded: a bad title, a container image under a release tag or a
manifest whose bytes do not match its digest fails the sync before anything of
it is stored. Blobs are then fetched (or deferred) through the remote's
RegistryDownloader.

Reads are concurrent and never repeated: a manifest is fetched once however many
tags name it, never for an architecture the remote does not ask for, and not at
all when Pulp stores its tree already (a re-sync with nothing new reads the index
tags and asks each per-arch tag for its digest). See docs/architecture.md.
"""

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass, field
from gettext import gettext as _

from asgiref.sync import sync_to_async
from django.conf import settings

from pulpcore.plugin.models import ProgressReport
from pulpcore.plugin.util import get_domain_pk

from ..budget import spend
from ..models import (
    KickstartIndex,
    KickstartOciRemote,
    KickstartSignature,
    KickstartTag,
    KickstartTree,
    tree_identity,
)
from ..netboot import arch as archs
from ..netboot import artifact, grammar, tags
from ..netboot.treefile import TreeFile
from ..registry.auth import RegistryAuthError
from ..registry.client import RegistryClient, RegistryError
from ..registry.downloader import packed_url
from ..signatures import SignatureError, remote_repository
from ..signatures import policy as signature_policy
from ..signatures.policy import PublisherCheck, checks
from .base import TreeFirstStage, TreePlan, built_here

log = logging.getLogger(__name__)

# A draft tree's provenance key: the compressed blobs its files were inflated from.
COMPRESSED_LAYERS = "compressed_layers"


@dataclass
class ResolvedTree:
    """One release/arch as found upstream, with every tag that led to it."""

    version: str
    oci_arch: str
    manifest: artifact.NetbootManifest
    tags: set = field(default_factory=set)
    direct: bool = False  # reached through an N-ARCH tag rather than an index
    index: dict = field(default_factory=dict)

    @property
    def digest(self):
        """The manifest digest: what tells two trees of one release/arch apart."""
        return self.manifest.digest

    @property
    def arch(self):
        """The Fedora name of the architecture (x86_64), as trees are served under."""
        return archs.fedora_name(self.oci_arch)

    @property
    def key(self):
        """(release, arch): the slot only one tree may hold in a sync."""
        return (self.version, self.arch)


@dataclass(frozen=True)
class _Reach:
    """A manifest a tag names: itself (an ``N-ARCH`` or direct tag) or an entry of its index."""

    tag: str
    release: str
    oci_arch: str
    digest: str
    direct: bool
    index: dict | None

    @property
    def source(self):
        """(release, Fedora arch, digest): the stored tree this reach would be."""
        return (self.release, archs.fedora_name(self.oci_arch), self.digest)


class RegistryFirstStage(TreeFirstStage):
    """Selected tags of a registry repository -> one tree per release and arch."""

    remote_type = KickstartOciRemote
    source_errors = (RegistryError, RegistryAuthError)
    source_type = "oci"

    def __init__(self, remote):
        super().__init__(remote)
        self.client = RegistryClient(remote)
        self.where = self.client.where
        self.wanted_archs = {archs.to_oci(name) for name in remote.architectures or []}
        self._manifests = {}  # manifest digest -> NetbootManifest parsed this sync
        self._stored = {}  # (release, arch, digest) -> NetbootManifest of a stored tree
        self._reached = set()  # (release, arch, digest) spent from the trees budget
        self._asked = set()  # N-ARCH tags whose digest is asked first (HEAD)
        # Templates of per-tag and per-manifest messages, translated once per sync:
        # gettext looks for catalogs on every call (four stats), thousands of times here.
        self._tag_what = _("tag {reference}")
        self._tree_what = _("{release}/{arch} ({digest}) of tag {tag}")
        self._manifest_what = _("manifest {digest} ({arch}) of tag {tag}")
        self._raw = {}  # manifest digest -> its bytes (a bundle over Ed25519 signs them)
        self._by_source = {}  # (release, oci arch, manifest digest) -> ResolvedTree
        self._by_key = {}

    async def resolve(self):
        """List tags, select them by the remote's filters, and read their manifests.

        Tags are read concurrently (at most the remote's download_concurrency at
        once), then the manifests they reach: an index entry or an ``N-ARCH`` tag
        of an architecture nobody asked for is never fetched, a manifest reached
        twice is fetched once, and one whose tree Pulp already stores for the same
        release and arch is taken from that tree (its digest was checked when it
        was stored) instead of being fetched again.
        """
        async with ProgressReport(message=_("Listing tags"), code="sync.listing.tags") as report:
            upstream_tags = await self.client.list_tags()
            report.total = len(upstream_tags)
            report.done = len(upstream_tags)
        refused = tags.invalid(upstream_tags)
        if refused:
            shown = ", ".join(repr(tag) for tag in refused[:5])
            log.warning(
                "%s: ignored %d tags outside the OCI tag grammar: %s",
                self.where,
                len(refused),
                shown,
            )
            await ProgressReport(
                message=_("Ignored {count} tags outside the OCI tag grammar: {shown}").format(
                    count=len(refused), shown=shown
                ),
                code="sync.ignored.tags",
                state="completed",
                total=len(refused),
                done=len(refused),
            ).asave()
        selected = tags.select(upstream_tags, self.remote.include_tags, self.remote.exclude_tags)
        log.info("%s: %d tags, %d selected", self.client.where, len(upstream_tags), len(selected))
        wanted = [tag for tag in selected if self._wanted_tag(tag)]
        if self._reuses_stored:
            self._asked = await sync_to_async(self._seen_before)(wanted)
        async with ProgressReport(
            message=_("Parsing manifests"), code="sync.parsing.manifests"
        ) as report:
            read = await self._each(wanted, lambda tag: self._read_tag(tag, report))
            reached = []
            for tag, document in zip(wanted, read, strict=True):
                with self._about(tag):
                    these = self._reached_by(tag, document)
                reached.extend(these)
                if these and getattr(document, "media_type", None) in artifact.INDEX_TYPES:
                    self._keep_index(tag, document)
            await self._read_manifests(reached, report)
            for reach in reached:
                with self._about(reach.tag):
                    manifest = self._manifests.get(reach.digest) or self._stored[reach.source]
                    release, oci_arch = reach.release, reach.oci_arch
                    if manifest.draft:
                        release, oci_arch = manifest.draft_slot(release, oci_arch)
                    self._add(
                        release,
                        oci_arch,
                        reach.tag,
                        manifest,
                        reach.direct,
                        reach.index,
                    )
        trees = sorted(self._by_source.values(), key=lambda tree: tree.key)
        plans = [self._plan(tree) for tree in trees]
        await self._verify_publishers(plans)
        return plans

    def _keep_index(self, tag, fetched):
        """Keep an index as sent (KickstartIndex), so a push can write the same bytes."""
        text = _as_text(fetched.raw)
        if text is not None:
            self.upstream_units.append(
                KickstartIndex(
                    tag=tag, digest=fetched.digest, media_type=fetched.media_type, raw=text
                )
            )

    @property
    def concurrency(self):
        """How many registry reads a sync has in flight at once: the remote's setting."""
        return self.remote.download_concurrency or KickstartOciRemote.DEFAULT_DOWNLOAD_CONCURRENCY

    async def _each(self, items, work):
        """``work(item)`` for every item, ``concurrency`` at a time; the results in order.

        The first failure stops the others and is raised as itself.
        """
        items = list(items)
        results = [None] * len(items)
        positions = iter(range(len(items)))

        async def worker():
            for position in positions:
                results[position] = await work(items[position])

        try:
            async with asyncio.TaskGroup() as group:
                for _worker in range(min(self.concurrency, len(items))):
                    group.create_task(worker())
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return results

    @contextlib.contextmanager
    def _about(self, tag):
        """An artifact problem found while reading ``tag`` fails the sync naming the tag."""
        try:
            yield
        except artifact.InvalidArtifact as exc:
            raise RegistryError(
                _("{where}: tag {tag}: {problem}").format(where=self.where, tag=tag, problem=exc)
            ) from None

    def _wanted_tag(self, tag):
        """False for an ``N-ARCH`` tag of an architecture the remote does not ask for."""
        tag_arch = tags.split(tag)[1]
        return not (tag_arch and self.wanted_archs and tag_arch not in self.wanted_archs)

    @property
    def _reuses_stored(self):
        """Whether stored trees may stand for their manifests: not in a sync with
        optimize=false (it reads and checks every manifest again), nor under a signature
        policy (a publisher check may need a manifest's own bytes)."""
        return self.optimize and not checks(self.remote.signature_policy)

    def _seen_before(self, names):
        """The ``N-ARCH`` tags among ``names`` that named a stored tree of this upstream.

        Those are asked for their digest first (HEAD): when it is one whose tree
        Pulp stores, nothing more is fetched.
        """
        names = [name for name in names if tags.split(name)[1]]
        if not names:
            return set()
        return set(
            KickstartTag.objects.filter(
                name__in=names,
                _pulp_domain=get_domain_pk(),
                tree__source__registry=self.remote.url,
                tree__source__repository=self.client.name,
            )
            .values_list("name", flat=True)
            .distinct()
        )

    async def _read_tag(self, tag, report):
        """What a tag names: its manifest or index (GET), or only its digest (HEAD, see
        ``_seen_before``) when that is a manifest's."""
        read = None
        what = self._tag_what.format(reference=tag)
        if tag in self._asked:
            announced = await self.client.head_manifest(tag, what=what)
            if announced and announced[1] in artifact.MANIFEST_TYPES:
                read = announced[0]
        if read is None:
            read = await self.client.get_manifest(tag, what=what)
        await report.aincrement()
        return read

    def _reached_by(self, tag, fetched):
        """The manifests a tag names, of wanted architectures: an index's entries, or itself.

        ``fetched`` is the tag's manifest or index, or the digest of its manifest
        (announced by HEAD: read later, by digest, unless a stored tree stands for it).
        Each new (release, arch, manifest) is a tree this sync resolves: it is
        spent from the sync's budget before anything of it is fetched.
        """
        release, tag_arch = tags.split(tag)
        if isinstance(fetched, str):
            return [self._reach(tag, release, tag_arch, fetched, True, None)]
        if fetched.media_type in artifact.INDEX_TYPES:
            entries, _annotations = artifact.parse_index(fetched.raw, fetched.digest)
            reached = []
            for entry in entries:
                oci_arch = archs.oci_name(entry.oci_arch)
                if self.wanted_archs and oci_arch not in self.wanted_archs:
                    continue  # never fetched
                index = {"digest": fetched.digest}
                if grammar.matches(grammar.TAG, entry.os_version):
                    index["os_version"] = entry.os_version
                reached.append(self._reach(tag, release, oci_arch, entry.digest, False, index))
            return reached
        if fetched.media_type in artifact.MANIFEST_TYPES:
            manifest = self._parsed(fetched.digest, fetched.raw)
            oci_arch = tag_arch or manifest.annotations.get(artifact.DRAFT_OS_ARCH)
            if manifest.draft:
                release, oci_arch = manifest.draft_slot(release, tag_arch)
            if not oci_arch:
                raise artifact.InvalidArtifact(
                    _(
                        "manifest {digest} does not say its architecture: "
                        "publish it as N-ARCH or under an index"
                    ).format(digest=fetched.digest)
                )
            oci_arch = archs.oci_name(oci_arch)
            if self.wanted_archs and oci_arch not in self.wanted_archs:
                return []
            return [self._reach(tag, release, oci_arch, fetched.digest, True, None)]
        raise artifact.InvalidArtifact(
            _(
                "{digest} has media type {media_type!r}, "
                "neither an image index nor an image manifest"
            ).format(digest=fetched.digest, media_type=fetched.media_type)
        )

    def _reach(self, tag, release, oci_arch, digest, direct, index):
        reach = _Reach(tag, release, oci_arch, digest, direct, index)
        if reach.source not in self._reached:
            self._reached.add(reach.source)
            what = self._tree_what.format(release=release, arch=oci_arch, digest=digest, tag=tag)
            spend("trees", 1, what)
        return reach

    def _parsed(self, digest, raw):
        """Parse each manifest once, however many tags reach it."""
        if digest not in self._manifests:
            manifest = artifact.parse_manifest(raw, digest)
            for item in manifest.files:
                packed = manifest.packed.get(item.path)
                if packed is None:
                    item.url = self.client.blob_url(item.digest)
                else:  # a draft layer: the downloader inflates it (registry/downloader.py)
                    _check_inflated_size(item, packed)
                    blob_url = self.client.blob_url(packed.digest)
                    item.url = packed_url(blob_url, packed.compression, packed.size)
            self._manifests[digest] = manifest
            self._raw[digest] = raw
        return self._manifests[digest]

    async def _read_manifests(self, reached, report):
        """Parse or fetch the manifest of every reach that was not read with its tag."""
        missing = {reach.digest for reach in reached if reach.digest not in self._manifests}
        if missing and self._reuses_stored:
            self._stored, kept = await sync_to_async(_stored_manifests)(
                missing, {reach.source for reach in reached}, self.client.blob_url
            )
            for digest, text in kept.items():
                self._raw.setdefault(digest, text.encode("utf-8"))
        first = {}  # digest -> the first reach naming it (for messages)
        for reach in reached:
            if reach.digest in missing and reach.source not in self._stored:
                first.setdefault(reach.digest, reach)

        async def fetch(reach):
            what = self._manifest_what.format(
                digest=reach.digest, arch=reach.oci_arch, tag=reach.tag
            )
            fetched = await self.client.get_manifest(
                reach.digest, expected_digest=reach.digest, what=what
            )
            with self._about(reach.tag):
                self._parsed(reach.digest, fetched.raw)
            await report.aincrement()

        await self._each(sorted(first.values(), key=lambda reach: reach.digest), fetch)

    def _publisher_check(self):
        """The remote's signature policy with its keys (signatures/policy.py's Trust, parsed
        by the key module), or None under policy 'none'."""
        if getattr(self, "_check", None) is None:
            trust = self.trust
            try:
                if not trust.active:
                    return None
                repository = remote_repository(self.remote.url, self.remote.upstream_name)
            except SignatureError as exc:
                raise RegistryError(
                    _("{where}: signature check: {problem}").format(where=self.where, problem=exc)
                ) from None
            self._check = PublisherCheck(
                self.client,
                trust.keys,
                trust.policy,
                repository,
                lookaside=self.remote.signature_lookaside,
                match_identity=self.remote.signature_identity_check,
            )
        return self._check

    async def _vouch(self, check, what, digest, index_digest):
        """The verifications (records) vouching for one tree now, or RegistryError naming it."""
        try:
            verified = await check.check(what, digest, index_digest, self._raw.get(digest))
        except SignatureError as exc:
            raise RegistryError(
                _("{where}: {problem}").format(where=self.where, problem=exc)
            ) from None
        return [verification.record() for verification in verified]

    async def _verify_publishers(self, plans):
        """Under the remote's signature policy, every plan gets what vouches for it (or fails).

        The verifications are put into the new version with their tree (base.run).
        """
        check = self._publisher_check()
        if check is None:
            return
        async with ProgressReport(
            message=_("Verifying publisher signatures"),
            code="sync.verifying.signatures",
            total=len(plans),
        ) as report:
            for plan in plans:
                what = _("tags {tags} ({version}/{arch})").format(
                    tags=", ".join(plan.tags), version=plan.version, arch=plan.arch
                )
                index = plan.source.get("index", {}).get("digest")
                plan.signatures = await self._vouch(check, what, plan.digest, index)
                await report.aincrement()

    def checks_signatures(self):
        return self._publisher_check() is not None

    def holds_kept(self):
        """Under 'required', a tree the sync keeps must be vouched for by a key trusted now."""
        check = self._publisher_check()
        return check is not None and signature_policy.holds_kept(check.policy)

    async def verify_trees(self, trees, version, label):
        """What vouches for each tree under the remote's keys and policy now.

        A stored verification of the tree that this Pulp made in this domain, by a key the
        remote trusts now, stands. Otherwise the tree's manifest is read again by digest
        (its files must be the tree's: ``_confirmed``) and its signatures are fetched and
        verified (no reuse bypass); ``decide`` says what the policy makes of them.
        """
        check = self._publisher_check()
        if check is None:
            return []
        stored = await sync_to_async(_stored_verifications)(trees, version)
        found = []
        for tree in trees:
            vouching = [record for record in stored.get(tree.pk, []) if check.vouches([record])]
            if vouching:
                found.append((tree, vouching[0]))
                continue
            what = label.format(version=tree.version, arch=tree.arch)
            if not self.verifies(tree):
                raise RegistryError(
                    _(
                        "{where}: {what} ({digest}) did not come from a registry: no "
                        "signature of a manifest vouches for it"
                    ).format(where=self.where, what=what, digest=tree.digest)
                )
            index = await self._confirmed(tree, what)
            for record in await self._vouch(check, what, tree.digest, index):
                found.append((tree, record))
        return found

    @contextlib.contextmanager
    def _confirming(self, what):
        """A manifest or index of a stored tree, read again, that cannot be parsed: named."""
        try:
            yield
        except artifact.InvalidArtifact as exc:
            raise RegistryError(
                _("{where}: {what}: {problem}").format(where=self.where, what=what, problem=exc)
            ) from None

    async def _confirmed(self, tree, what):
        """Read a stored tree's manifest again, by digest: its files must be the tree's.

        A signature vouches for a digest; a tree another Pulp exported or replicated says
        which digest its files came from, and that is checked here before a signature of
        the digest may vouch for the tree. Returns the index digest whose signatures also
        cover the tree (the index the tree came from, when it still lists the manifest for
        the tree's architecture), or None.
        """
        fetched = await self.client.get_manifest(
            tree.digest,
            expected_digest=tree.digest,
            what=_("{what}, manifest {digest}").format(what=what, digest=tree.digest),
        )
        with self._confirming(what):
            manifest = artifact.parse_manifest(fetched.raw, tree.digest)
        records = [item.record() for item in manifest.files]
        if tree_identity(tree.version, tree.arch, tree.digest, records) != tree.identity:
            raise RegistryError(
                _(
                    "{where}: {what}: manifest {digest} lists other files than the tree "
                    "holds; no signature of it vouches for this tree"
                ).format(where=self.where, what=what, digest=tree.digest)
            )
        self._raw[tree.digest] = fetched.raw  # a bundle over Ed25519 signs the bytes
        index = ((tree.source or {}).get("index") or {}).get("digest")
        if not grammar.matches(grammar.DIGEST, index):
            return None
        fetched = await self.client.get_manifest(
            index,
            expected_digest=index,
            missing_ok=True,
            what=_("{what}, index {digest}").format(what=what, digest=index),
        )
        if fetched is None:
            return None  # gone upstream: its signatures cannot cover the tree any more
        with self._confirming(what):
            entries, _annotations = artifact.parse_index(fetched.raw, index)
        listed = any(
            entry.digest == tree.digest and archs.oci_name(entry.oci_arch) == tree.oci_arch
            for entry in entries
        )
        return index if listed else None

    def _plan(self, tree):
        manifest = tree.manifest
        return TreePlan(
            version=tree.version,
            arch=tree.arch,
            oci_arch=tree.oci_arch,
            digest=tree.digest,
            source={
                "type": "oci",
                "registry": self.remote.url,
                "repository": self.client.name,
                "media_type": manifest.media_type,
                "artifact_type": manifest.artifact_type,
                **({"index": tree.index} if tree.index else {}),
                **({COMPRESSED_LAYERS: _compressed_layers(manifest)} if manifest.packed else {}),
            },
            annotations=manifest.annotations,
            files=list(manifest.files),  # located at this registry's blob URLs already
            warnings=list(manifest.warnings),
            tags=sorted(tree.tags),
            manifest=_as_text(self._raw.get(tree.digest)),
        )

    def _add(self, release, oci_arch, tag, manifest, direct, index=None):
        try:
            grammar.check(grammar.RELEASE, release, "release")
            grammar.check(grammar.ARCH, oci_arch, "architecture")
            grammar.check(grammar.ARCH, archs.fedora_name(oci_arch), "architecture")
        except grammar.GrammarError as exc:
            raise artifact.InvalidArtifact(str(exc)) from None
        source = (release, oci_arch, manifest.digest)
        tree = self._by_source.get(source)
        if tree is not None:
            # One manifest reached by several tags of a release (42, 42-amd64) is one tree;
            # under another release (43-amd64) it is another tree.
            tree.tags.add(tag)
            tree.direct = tree.direct or direct
            tree.index = tree.index or (index or {})
            return
        tree = ResolvedTree(release, oci_arch, manifest, {tag}, direct, index or {})
        rival = self._by_key.get(tree.key)
        if rival is not None:
            if rival.direct == direct:
                raise artifact.InvalidArtifact(
                    _(
                        "tags {tags} and {tag} both name {release}/{arch} "
                        "with different manifests ({digest} and {other})"
                    ).format(
                        tags=sorted(rival.tags),
                        tag=tag,
                        release=release,
                        arch=tree.arch,
                        digest=rival.digest,
                        other=manifest.digest,
                    )
                )
            # Upstream is mid-push: the per-arch tag is the more specific, newer claim.
            keep, drop = (tree, rival) if direct else (rival, tree)
            keep.manifest.warnings.append(
                _(
                    "{release}/{arch}: tags {dropped_tags} pointed at {dropped}; "
                    "kept {kept} from tags {kept_tags}"
                ).format(
                    release=release,
                    arch=tree.arch,
                    dropped_tags=sorted(drop.tags),
                    dropped=drop.digest,
                    kept=keep.digest,
                    kept_tags=sorted(keep.tags),
                )
            )
            if keep is rival:
                return
            del self._by_source[(rival.version, rival.oci_arch, rival.digest)]
        self._by_key[tree.key] = tree
        self._by_source[source] = tree


def _stored_verifications(trees, version):
    """{tree pk: [records]}: the verifications of ``trees`` this Pulp made in this domain.

    Those ``version`` (the repository's latest) holds come first, then the oldest: a
    kept tree still vouched for by what the version has needs no new version.
    """
    found = {}
    units = (
        KickstartSignature.checked_by_this_pulp()
        .filter(tree__in=[tree.pk for tree in trees])
        .order_by("pulp_created")
    )
    held = set(units.filter(pk__in=version.content).values_list("pk", flat=True))
    for unit in sorted(units, key=lambda unit: unit.pk not in held):
        found.setdefault(unit.tree_id, []).append(
            {
                "kind": unit.kind,
                "key": unit.key,
                "signed_digest": unit.signed_digest,
                "reference": unit.reference or None,
                "tlog_checked": unit.tlog_checked,
            }
        )
    return found


def _stored_manifests(digests, sources, blob_url):
    """The manifests of ``digests`` as stored trees of the wanted ``sources`` hold them.

    ``sources`` are (release, arch, digest) triples. A stored tree stands for its
    manifest only when this Pulp's registry syncs built it (``built_here``: of source type
    "oci", not uploaded, imported or replicated), it is exactly that triple and its
    identity is what its stored files give (so a plan built from it is the same unit
    again). Its files are located at
    ``blob_url(digest)`` of the registry synced now. Returns them, and {digest: manifest
    text} of those that keep their manifest as sent (KickstartTree.manifest).
    """
    stored, raw = {}, {}
    candidates = KickstartTree.objects.filter(digest__in=digests, _pulp_domain=get_domain_pk())
    rows = built_here(candidates, RegistryFirstStage.source_type).values(
        "version",
        "arch",
        "digest",
        "identity",
        "source",
        "annotations",
        "files",
        "warnings",
        "manifest",
    )
    for row in rows.iterator():
        source = (row["version"], row["arch"], row["digest"])
        if source not in sources or source in stored:
            continue
        if tree_identity(*source, row["files"]) != row["identity"]:
            continue
        recorded = row["source"] or {}
        if COMPRESSED_LAYERS in recorded:
            continue  # a draft tree's files are fetched from other blobs: read its manifest
        stored[source] = artifact.NetbootManifest(
            digest=row["digest"],
            media_type=recorded.get("media_type") or artifact.OCI_MANIFEST,
            artifact_type=recorded.get("artifact_type") or "",
            annotations=dict(row["annotations"] or {}),
            files=[_located(TreeFile.from_record(record), blob_url) for record in row["files"]],
            warnings=list(row["warnings"] or []),
        )
        if row["manifest"] and _sha256_of(row["manifest"]) == row["digest"]:
            raw[row["digest"]] = row["manifest"]
    return stored, raw


def _check_inflated_size(item, packed):
    """A draft layer declaring a file past KICKSTART_MAX_IMAGE_BYTES fails the sync now, before
    anything is fetched (the downloader would stop it there; on_demand, at every fetch)."""
    limit = settings.KICKSTART_MAX_IMAGE_BYTES
    if item.size > limit:
        raise artifact.InvalidArtifact(
            _(
                "layer {title!r} ({digest}) declares {size} bytes once decompressed, more than "
                "KICKSTART_MAX_IMAGE_BYTES ({limit} bytes)"
            ).format(title=item.name, digest=packed.digest, size=item.size, limit=limit)
        )


def _compressed_layers(manifest):
    """What a draft tree's provenance keeps of its compressed layers (the blobs upstream)."""
    return [
        {
            "path": path,
            "digest": packed.digest,
            "size": packed.size,
            "compression": packed.compression,
        }
        for path, packed in sorted(manifest.packed.items())
    ]


def _as_text(raw):
    """A manifest's bytes as the text a model keeps (JSON is UTF-8), or None if they are not,
    or are past KICKSTART_MAX_KEPT_MANIFEST_BYTES (used, not kept)."""
    if raw is None or len(raw) > settings.KICKSTART_MAX_KEPT_MANIFEST_BYTES:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _sha256_of(text):
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _located(item, blob_url):
    item.url = blob_url(item.digest)
    return item
