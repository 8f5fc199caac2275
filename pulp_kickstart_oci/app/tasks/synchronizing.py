"""Sync netboot trees from a registry or a dnf tree into a new repository version."""

import asyncio
import logging
from urllib.parse import urlparse

import aiohttp
from asgiref.sync import sync_to_async

from pulpcore.plugin.exceptions import (
    DigestValidationError,
    SizeValidationError,
    SyncError,
    TimeoutException,
)
from pulpcore.plugin.models import Artifact, ContentArtifact, ProgressReport, Remote
from pulpcore.plugin.stages import (
    DeclarativeArtifact,
    DeclarativeContent,
    DeclarativeVersion,
    QueryExistingContents,
    Stage,
)

from ..dnf.errors import DnfError
from ..downloads import DownloadFailed
from ..models import (
    KickstartDnfRemote,
    KickstartOciRemote,
    KickstartRepository,
    KickstartTag,
    KickstartTree,
)
from ..netboot import inspect
from ..registry.auth import RegistryAuthError
from ..registry.client import RegistryClient, RegistryError
from .dnf import DnfTreeResolver
from .oci import OciTreeResolver

log = logging.getLogger(__name__)


def synchronize(remote_pk, repository_pk, mirror=False, allow_empty=False):
    """
    Create a repository version with the trees the remote's source publishes.

    Additive by default: upstream keeps only the newest releases, a mirror must
    keep what it already has. ``mirror=True`` drops trees no longer upstream,
    but never all of them unless ``allow_empty``: an upstream that suddenly
    lists nothing must not empty what machines boot from.
    """
    remote = Remote.objects.get(pk=remote_pk).cast()
    repository = KickstartRepository.objects.get(pk=repository_pk)
    loop = asyncio.get_event_loop()
    try:
        source = _source_for(remote, repository)
        plans = loop.run_until_complete(source.resolve())
    except (RegistryError, DnfError) as exc:
        raise SyncError(str(exc)) from None

    if mirror and not plans and not allow_empty:
        latest = repository.latest_version()
        held = KickstartTree.objects.filter(pk__in=latest.content).count()
        if held:
            raise SyncError(
                f"{source.where}: upstream lists no tree to sync, and a mirror sync would remove "
                f"all {held} trees of {repository.name}. Nothing was changed; sync with "
                "allow_empty=true to empty the repository."
            )

    if _nothing_new(repository, plans, mirror, remote.policy):
        with ProgressReport(
            message="Skipping sync: nothing new upstream", code="sync.was_skipped"
        ) as report:
            report.total = report.done = len(plans)
        return None

    first_stage = TreeFirstStage(remote, plans)
    try:
        version = TreeDeclarativeVersion(first_stage, repository, mirror=mirror).create()
    except (DigestValidationError, SizeValidationError) as exc:
        raise SyncError(_download_failure(source, plans, exc.url, str(exc))) from None
    except DownloadFailed as exc:
        raise SyncError(_download_failure(source, plans, exc.url, exc.detail)) from None
    except aiohttp.ClientResponseError as exc:
        detail = f"the server answered HTTP {exc.status}"
        raise SyncError(
            _download_failure(source, plans, str(exc.request_info.real_url), detail)
        ) from None
    except (RegistryAuthError, aiohttp.ClientError, TimeoutException, TimeoutError) as exc:
        raise SyncError(
            f"{source.where}: downloading files failed ({type(exc).__name__}: {exc}). "
            "No repository version was created."
        ) from None
    if version is not None:
        log.info("%s: created version %s of %s", source.where, version.number, repository.name)
    return None


def _source_for(remote, repository):
    if isinstance(remote, KickstartOciRemote):
        return OciTreeResolver(remote, RegistryClient(remote))
    if isinstance(remote, KickstartDnfRemote):
        return DnfTreeResolver(remote)
    raise SyncError(f"{remote.name} is not a kickstart remote")


def _nothing_new(repository, plans, mirror, policy):
    """True when the latest version already holds exactly what this sync would add."""
    latest = repository.latest_version()
    present = set(
        KickstartTree.objects.filter(pk__in=latest.content).values_list("identity", flat=True)
    )
    wanted = {plan.identity for plan in plans}
    if not wanted <= present or (mirror and wanted != present):
        return False
    # A moved tag is news too: each tag must name the same tree as in the latest version.
    tags = set(
        KickstartTag.objects.filter(pk__in=latest.content).values_list("name", "tree__identity")
    )
    wanted_tags = {(name, plan.identity) for plan in plans for name in plan.tags}
    if not wanted_tags <= tags or (mirror and wanted_tags != tags):
        return False
    if policy == Remote.IMMEDIATE:
        missing = ContentArtifact.objects.filter(content__in=latest.content, artifact__isnull=True)
        if missing.exists():
            return False
    return True


def _download_failure(source, plans, url, detail):
    """Name the files, trees and digests behind a failed download."""
    owners = [owner for plan in plans for owner in plan.owners_of(url)]
    target = urlparse(url or "").path.rsplit("/", 1)[-1] or url
    named = ", ".join(owners) or "a file"
    return f"{source.where}: {target} ({named}): {detail}. No repository version was created."


class TreeFirstStage(Stage):
    """Emits one KickstartTree per plan, with one artifact per file path."""

    def __init__(self, remote, plans):
        super().__init__()
        self.remote = remote
        self.plans = plans

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
        deferred = self.remote.policy != Remote.IMMEDIATE
        tagged = []
        for plan in self.plans:
            content = plan.content()
            d_artifacts = []
            downloading = set()
            for item in plan.files:
                # Two names on one blob: download once, link both paths (CheckTreeFiles).
                again = item.sha256 in downloading
                relative_path = f"{content.tree_root}/{item.path}"
                d_artifacts.append(self._declare(item, relative_path, deferred or again))
                downloading.add(item.sha256)
            d_content = DeclarativeContent(content=content, d_artifacts=d_artifacts)
            if plan.tags:
                tagged.append((plan, d_content))
            await self.put(d_content)
        for plan, d_content in tagged:
            # Tags point at the saved tree: wait for it (a batch holding it flushes early).
            tree = await d_content.resolution()
            for name in plan.tags:
                tag = KickstartTag(name=name, arch=tree.arch, tree=tree)
                await self.put(DeclarativeContent(content=tag))


class CheckTreeFiles(Stage):
    """Links duplicate blobs to one stored artifact and flags files that are not what they claim.

    Runs on new trees only, after their files are downloaded (immediate) or with
    their sizes alone (on_demand, streamed).
    """

    async def run(self):
        async for d_content in self.items():
            if not isinstance(d_content.content, KickstartTree):
                await self.put(d_content)  # tags have no files
                continue
            self._share_blobs(d_content)
            tree = d_content.content
            if tree._state.adding:
                for d_artifact, item in zip(d_content.d_artifacts, tree.files, strict=True):
                    if item["size"] is None and not d_artifact.artifact._state.adding:
                        item["size"] = d_artifact.artifact.size  # learnt by downloading
                    if item["size"] is None:
                        continue
                    head = await sync_to_async(_head)(d_artifact.artifact)
                    warning = inspect.check(item["name"], item["role"], item["size"], head)
                    if warning:
                        tree.warnings.append(warning)
                for warning in tree.warnings:
                    log.warning("%s: %s", tree.tree_root, warning)
                    await ProgressReport(
                        message=f"Flagged {tree.tree_root}: {warning}",
                        code="sync.flagged",
                        state="completed",
                        total=1,
                        done=1,
                    ).asave()
            await self.put(d_content)

    @staticmethod
    def _share_blobs(d_content):
        stored = {
            d.artifact.sha256: d.artifact
            for d in d_content.d_artifacts
            if not d.artifact._state.adding
        }
        for d_artifact in d_content.d_artifacts:
            if d_artifact.artifact._state.adding and d_artifact.artifact.sha256 in stored:
                d_artifact.artifact = stored[d_artifact.artifact.sha256]


def _head(artifact):
    """The first bytes of a stored artifact, or None when it is not downloaded."""
    if artifact._state.adding or not artifact.file:
        return None
    with artifact.file.open("rb") as stored:
        return stored.read(inspect.HEAD_SIZE)


class TreeDeclarativeVersion(DeclarativeVersion):
    """The standard pipeline with CheckTreeFiles before new trees are saved."""

    def pipeline_stages(self, new_version):
        stages = super().pipeline_stages(new_version)
        position = next(
            index for index, stage in enumerate(stages) if isinstance(stage, QueryExistingContents)
        )
        stages.insert(position + 1, CheckTreeFiles())
        return stages
