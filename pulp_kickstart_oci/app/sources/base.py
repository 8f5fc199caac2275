"""What every source shares: the plan of a tree, and the first stage that stores plans.

A source is one module in this package with one first stage, a subclass of
TreeFirstStage naming the remote type it reads (``remote_type``). It resolves
upstream into TreePlans before anything is downloaded (so bad metadata fails
the sync before anything of it is stored); this class turns the plans into
content for pulpcore's DeclarativeVersion. Downloads, checks, replacement and
failure handling are therefore the same for every source.

A sync writes nothing but new content and the new repository version: what it
learns about a stored tree (a signature it verified) is a KickstartSignature unit
of that version, never a change to the tree, so a published version never changes
after the fact. The one exception adds bytes a unit's key already determines to units
stored before Pulp kept them (``_fill_in``: a tree's manifest as sent, the manifest that
carried a verified signature), so a push can write them back (tasks/pushing.py).
"""

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from gettext import gettext as _

from asgiref.sync import sync_to_async

from pulpcore.plugin.models import Artifact, Remote
from pulpcore.plugin.stages import DeclarativeArtifact, DeclarativeContent, Stage

from ..models import KickstartSignature, KickstartTag, KickstartTree, tree_identity
from ..netboot import grammar, layout
from ..signatures.errors import SignatureError
from ..signatures.policy import Trust

_SOURCES = {}  # remote model -> its TreeFirstStage subclass


class UpstreamError(Exception):
    """Upstream metadata that cannot be synced; the message names where and why."""


@dataclass
class TreePlan:
    """One tree a sync intends to store: its facts, its TreeFiles and the tags naming it."""

    version: str
    arch: str
    oci_arch: str
    digest: str
    source: dict
    annotations: dict
    files: list  # of netboot.treefile.TreeFile
    warnings: list = field(default_factory=list)
    tags: list = field(default_factory=list)  # upstream tags naming this tree now
    signatures: list = field(default_factory=list)  # verifications (records, see verification)
    made_here: bool = True  # False: another Pulp made it (models.KickstartTree.made_here)
    kind: str = layout.ANACONDA  # what it boots into (netboot/layout.TREE_KINDS)
    manifest: str | None = None  # the registry's manifest as sent (KickstartTree.manifest)

    def __post_init__(self):
        """Every source's tree meets one rule for its release, arch and paths, whatever the
        source checked itself: raise layout.InvalidTitle naming the tree and what is wrong."""
        try:
            grammar.check(grammar.RELEASE, self.version, _("release"))
            grammar.check(grammar.ARCH, self.arch, _("architecture"))
            layout.check_paths([(item.path, item.role) for item in self.files], self.kind)
        except ValueError as exc:
            raise layout.InvalidTitle(
                _("tree {version}/{arch} ({digest}): {problem}").format(
                    version=self.version, arch=self.arch, digest=self.digest, problem=exc
                )
            ) from None

    @property
    def identity(self):
        """The tree's unit key (models.tree_identity): same inputs, same stored tree."""
        return tree_identity(self.version, self.arch, self.digest, self.records())

    def records(self):
        """The files as the tree stores them."""
        return [item.record() for item in self.files]

    def content(self):
        """An unsaved KickstartTree for this plan."""
        return KickstartTree(
            version=self.version,
            arch=self.arch,
            oci_arch=self.oci_arch,
            digest=self.digest,
            source=self.source,
            annotations=self.annotations,
            files=self.records(),
            warnings=list(self.warnings),
            identity=self.identity,
            made_here=self.made_here,
            kind=self.kind,
            manifest=self.manifest,
        )

    def owners_of(self, url):
        """Names of this tree's files fetched from ``url`` (for error messages)."""
        return [
            _("{name} of {version}/{arch} ({digest})").format(
                name=item.name, version=self.version, arch=self.arch, digest=self.digest
            )
            for item in self.files
            if item.url and url and item.url.split("#")[0] == url.split("#")[0]
        ]


def verification(tree, record):
    """An unsaved KickstartSignature of ``tree`` for a verification ``record``.

    ``record``: ``kind``, ``key``, ``signed_digest`` and optionally ``reference`` and
    ``tlog_checked`` (signatures.result.Verification.record()), and ``checked_here``
    False for another Pulp's record a source carries over (sources/pulp.py). The same
    verification is the same unit again (pulpcore's QueryExistingContents finds it by
    its key).
    """
    return KickstartSignature(
        tree=tree,
        kind=record["kind"],
        key=record["key"],
        signed_digest=record["signed_digest"],
        reference=record.get("reference") or "",
        tlog_checked=bool(record.get("tlog_checked")),
        checked_here=record.get("checked_here", True) is not False,
        carrier=record.get("carrier"),
    )


def verification_key(record):
    """What makes two verifications of one tree the same unit (KickstartSignature's key)."""
    return [
        record["kind"],
        record["key"],
        record["signed_digest"],
        record.get("reference") or "",
        record.get("checked_here", True) is not False,
    ]


def _fill_in(manifests, carriers):
    """Give units stored before Pulp kept them the bytes their key already determines: a
    tree's manifest as sent (its sha256 is the tree's digest) and the manifest that carried
    a verified signature. Only where none is kept: nothing a unit says ever changes."""
    for pk, manifest in manifests:
        digest = "sha256:" + hashlib.sha256(manifest.encode("utf-8")).hexdigest()
        KickstartTree.objects.filter(pk=pk, digest=digest, manifest__isnull=True).update(
            manifest=manifest
        )
    for kept, pk in carriers:
        KickstartSignature.objects.filter(pk=pk, carrier__isnull=True).update(carrier=kept)


def built_here(trees, source_type):
    """The trees of a queryset that this Pulp's own syncs of ``source_type`` made from upstream.

    Not those of another kind (an uploaded tree's files stand for no manifest or RPMs,
    whatever its digest), nor those an import or a replication carried here
    (``made_here`` False): another Pulp says which manifest or RPMs their files came
    from. Only trees built here may stand for upstream metadata a sync does not read
    again (a manifest, unpacked RPMs).
    """
    return trees.filter(made_here=True, source__type=source_type)


def digest_of_sources(version, arch, sources):
    """A stable identity for a tree assembled from several upstream files.

    ``sources`` are (path, sha256) pairs of what the tree is made of; the same
    inputs give the same digest, so a re-sync finds the tree it already has.
    """
    canonical = json.dumps(
        {"version": version, "arch": arch, "sources": sorted(sources)}, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def first_stage_for(remote):
    """The first stage of the source that reads ``remote``'s type (see sources/__init__)."""
    try:
        stage_class = _SOURCES[type(remote)]
    except KeyError:
        raise UpstreamError(
            _("{name} is not a kickstart remote").format(name=remote.name)
        ) from None
    return stage_class(remote)


class TreeFirstStage(Stage):
    """Emits one KickstartTree per plan, with one artifact per file, then its tags and
    verifications, and the verifications that vouch for kept trees.

    Subclasses set ``remote_type`` (which registers them) and implement
    ``resolve()``; ``where`` names the upstream in messages.
    """

    remote_type = None
    source_errors = ()  # low-level errors that mean "upstream cannot be synced"
    source_type = None  # the ``source["type"]`` of the trees this source makes (and verifies)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.remote_type is not None:
            _SOURCES[cls.remote_type] = cls

    def __init__(self, remote):
        super().__init__()
        self.remote = remote
        self.where = str(remote.url)
        self.plans = None
        # (stored tree, verification record): what vouches for a tree the sync keeps
        # (see verify_kept); put into the new version with the planned trees.
        self.kept_verifications = []
        # False (a sync with optimize=false): read and check everything upstream offers
        # again, even what stored content already stands for.
        self.optimize = True
        # Units about the upstream rather than one tree (a CoreOS stream's release index),
        # unsaved, each with an ``identity``: put into the new version after the trees.
        self.upstream_units = []

    @cached_property
    def trust(self):
        """The remote's keys and signature policy (signatures/policy.Trust), parsed once per
        sync; an UpstreamError naming the remote when they cannot be used."""
        remote = self.remote
        try:
            return Trust.of(
                remote.signature_policy,
                remote.signature_keys,
                remote.SIGNATURE_KEY_KINDS,
                remote.SIGNATURE_KEY_USE,
            )
        except SignatureError as exc:
            raise UpstreamError(
                _("{where}: {problem}").format(where=self.where, problem=exc)
            ) from None

    async def resolve(self):
        """Read upstream into TreePlans (kept on the stage); raise UpstreamError if unusable."""
        raise NotImplementedError

    async def plan(self):
        """Resolve once; the plans are what run() stores and what a sync is compared by."""
        if self.plans is None:
            try:
                self.plans = await self.resolve()
            except (layout.InvalidTitle, *self.source_errors) as exc:
                raise UpstreamError(str(exc)) from None
        return self.plans

    async def check_kept(self, trees, version):
        """Hold the trees a sync keeps (not replaced by a plan) from ``version`` (the
        repository's latest) to the remote's rules."""
        try:
            await self.verify_kept(trees, version)
        except self.source_errors as exc:
            raise UpstreamError(str(exc)) from None

    async def verify_kept(self, trees, version):
        """Under a policy that holds kept trees (``holds_kept``), what vouches for each of
        them goes into the new version (``kept_verifications``); raise when one has none."""
        if self.holds_kept():
            self.kept_verifications.extend(
                await self.verify_trees(trees, version, _("kept tree {version}/{arch}"))
            )

    def holds_kept(self):
        """Whether a tree a sync keeps must still be vouched for; no by default."""
        return False

    async def reverify(self, trees, version):
        """What vouches for each of ``trees`` now, under the remote's keys and policy:
        (tree, record) pairs, or UpstreamError naming a tree the policy refuses.

        The repository's verify_signatures action (tasks/verifying.py): trees an import
        or a replication brought carry another Pulp's records, which never count.
        """
        try:
            if not self.checks_signatures():
                raise UpstreamError(
                    _("{where}: the remote's signature_policy is 'none': it trusts no key").format(
                        where=self.where
                    )
                )
            return await self.verify_trees(trees, version, _("tree {version}/{arch}"))
        except self.source_errors as exc:
            raise UpstreamError(str(exc)) from None

    def checks_signatures(self):
        """Whether the remote's policy looks at signatures at all (not 'none')."""
        return False

    def verifies(self, tree):
        """Whether this source can check ``tree``: one of its kind (``source_type``)."""
        return self.source_type is not None and (tree.source or {}).get("type") == self.source_type

    async def verify_trees(self, trees, version, label):
        """(tree, record) pairs vouching for each of ``trees`` (stored trees, of this source's
        kind) under the remote's keys and policy now; a source error naming the tree
        (``label`` formatted with its version and arch) the policy refuses.

        Only this Pulp's own checks count (``KickstartSignature.checked_by_this_pulp``):
        a record an import or a replication carried never vouches. A verification made
        now also ties the tree's files to what was signed (the manifest or the RPMs are
        read again), since the tree may come from another Pulp. Nothing by default: a
        source whose remote vouches for trees overrides this.
        """
        return []

    def fingerprint(self):
        """What the sync would store now, for pulpcore's optimize idiom (last_sync_details):
        upstream's trees, their tags and verifications, and what vouches for kept trees."""
        offered = sorted(
            [
                plan.identity,
                sorted(plan.tags),
                sorted(verification_key(record) for record in plan.signatures),
            ]
            for plan in self.plans
        )
        kept = sorted(
            [tree.identity, verification_key(record)] for tree, record in self.kept_verifications
        )
        compared = [offered, kept]
        if self.upstream_units:  # (the same fingerprint as before for sources without any)
            compared.append(sorted([unit.TYPE, unit.identity] for unit in self.upstream_units))
        return hashlib.sha256(json.dumps(compared).encode()).hexdigest()

    def _declare(self, item, relative_path, deferred):
        if item.artifact is not None:
            # Pulp stores it already: nothing to fetch.
            return DeclarativeArtifact(
                artifact=item.artifact, url=item.url or "file:///", relative_path=relative_path
            )
        if item.local_path is not None:
            artifact = Artifact.init_and_validate(
                item.local_path, expected_digests={"sha256": item.sha256}, expected_size=item.size
            )
            # No remote: the bytes came out of a package, no URL serves them alone.
            return DeclarativeArtifact(artifact=artifact, url=item.url, relative_path=relative_path)
        return DeclarativeArtifact(
            artifact=Artifact(sha256=item.sha256, size=item.size),
            url=item.url,
            relative_path=relative_path,
            remote=self.remote,
            deferred_download=deferred,
        )

    async def run(self):
        """Put each planned tree; once every one is saved, their tags and verifications
        and the verifications vouching for kept trees.

        Nothing about a tree is saved before all trees are: a file that fails to
        download fails the sync before any tag or verification of it is stored.
        """
        deferred = self.remote.policy != Remote.IMMEDIATE
        planned = []
        for plan in await self.plan():
            content = plan.content()
            d_artifacts = []
            downloading = set()
            for item in plan.files:
                # Two names on one blob: download once, link both paths (CheckTreeFiles).
                again = item.sha256 in downloading
                relative_path = f"{content.tree_root}/{item.path}"
                d_artifacts.append(self._declare(item, relative_path, deferred or again))
                downloading.add(item.sha256)
            d_content = DeclarativeContent(
                content=content, d_artifacts=d_artifacts, extra_data={"files": plan.files}
            )
            planned.append((plan, d_content))
            await self.put(d_content)
        # Tags and verifications point at saved trees: wait for them (a batch holding
        # one flushes early).
        saved = [(plan, await d_content.resolution()) for plan, d_content in planned]
        for plan, tree in saved:
            for name in plan.tags:
                tag = KickstartTag(name=name, arch=tree.arch, tree=tree)
                await self.put(DeclarativeContent(content=tag))
        verifications = [(tree, record) for plan, tree in saved for record in plan.signatures]
        seen = set()
        carried = []
        for tree, record in verifications + self.kept_verifications:
            # One unit per tree and key: a signature found twice is one verification.
            key = (tree.pk, *verification_key(record))
            if key not in seen:
                seen.add(key)
                d_content = DeclarativeContent(content=verification(tree, record))
                await self.put(d_content)
                if record.get("carrier") is not None:
                    carried.append((record["carrier"], d_content))
        for unit in self.upstream_units:
            await self.put(DeclarativeContent(content=unit))
        manifests = [(tree.pk, plan.manifest) for plan, tree in saved if plan.manifest]
        carriers = [(kept, (await d_content.resolution()).pk) for kept, d_content in carried]
        await sync_to_async(_fill_in)(manifests, carriers)
