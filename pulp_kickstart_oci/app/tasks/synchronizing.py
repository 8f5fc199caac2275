"""Sync netboot trees from a registry into a new repository version."""

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

from ..models import KickstartOciRemote, KickstartRepository, KickstartTree
from ..netboot import inspect
from ..registry.auth import RegistryAuthError
from ..registry.client import RegistryClient, RegistryError
from .resolving import TreeResolver

log = logging.getLogger(__name__)


def synchronize(remote_pk, repository_pk, mirror=False):
    """
    Create a repository version with the trees the remote's registry publishes.

    Additive by default: upstream keeps only the newest releases, a mirror must
    keep what it already has. ``mirror=True`` drops trees whose tags are gone.
    """
    remote = KickstartOciRemote.objects.get(pk=remote_pk)
    repository = KickstartRepository.objects.get(pk=repository_pk)
    client = RegistryClient(remote)
    loop = asyncio.get_event_loop()
    try:
        trees = loop.run_until_complete(TreeResolver(remote, client).resolve())
    except RegistryError as exc:
        raise SyncError(str(exc)) from None

    if _nothing_new(repository, trees, mirror, remote.policy):
        with ProgressReport(
            message="Skipping sync: no new upstream manifests", code="sync.was_skipped"
        ) as report:
            report.total = report.done = len(trees)
        return None

    first_stage = TreeFirstStage(remote, client, trees)
    try:
        version = TreeDeclarativeVersion(first_stage, repository, mirror=mirror).create()
    except (DigestValidationError, SizeValidationError) as exc:
        raise SyncError(_blob_failure(client, trees, exc.url, str(exc))) from None
    except aiohttp.ClientResponseError as exc:
        detail = f"the registry answered HTTP {exc.status}"
        raise SyncError(
            _blob_failure(client, trees, str(exc.request_info.real_url), detail)
        ) from None
    except (RegistryAuthError, aiohttp.ClientError, TimeoutException, TimeoutError) as exc:
        raise SyncError(
            f"{client.where}: downloading files failed ({type(exc).__name__}: {exc}). "
            "No repository version was created."
        ) from None
    if version is not None:
        log.info("%s: created version %s of %s", client.where, version.number, repository.name)
    return None


def _nothing_new(repository, trees, mirror, policy):
    """True when the latest version already holds exactly what this sync would add."""
    latest = repository.latest_version()
    present = set(
        KickstartTree.objects.filter(pk__in=latest.content).values_list("digest", flat=True)
    )
    wanted = {tree.digest for tree in trees}
    if not wanted <= present or (mirror and wanted != present):
        return False
    if policy == Remote.IMMEDIATE:
        missing = ContentArtifact.objects.filter(content__in=latest.content, artifact__isnull=True)
        if missing.exists():
            return False
    return True


def _blob_failure(client, trees, url, detail):
    """Name the files, trees and manifests behind a failed blob URL."""
    blob = urlparse(url or "").path.rsplit("/", 1)[-1]
    owners = [
        f"{item.name} of {tree.version}/{tree.arch} (manifest {tree.digest})"
        for tree in trees
        for item in tree.manifest.files
        if item.digest == blob
    ]
    named = ", ".join(owners) or "a file"
    return f"{client.where}: blob {blob} ({named}): {detail}. No repository version was created."


class TreeFirstStage(Stage):
    """Emits one KickstartTree per resolved tree, with one artifact per file path."""

    def __init__(self, remote, client, trees):
        super().__init__()
        self.remote = remote
        self.client = client
        self.trees = trees

    def _content(self, tree):
        return KickstartTree(
            version=tree.version,
            arch=tree.arch,
            oci_arch=tree.oci_arch,
            digest=tree.digest,
            source={
                "type": "oci",
                "registry": self.remote.url,
                "repository": self.client.name,
                "tags": sorted(tree.tags),
                "media_type": tree.manifest.media_type,
                "artifact_type": tree.manifest.artifact_type,
                **({"index": tree.index} if tree.index else {}),
            },
            annotations=tree.manifest.annotations,
            files=[item.as_dict() for item in tree.manifest.files],
            warnings=list(tree.manifest.warnings),
        )

    async def run(self):
        deferred = self.remote.policy != Remote.IMMEDIATE
        for tree in self.trees:
            content = self._content(tree)
            d_artifacts = []
            downloading = set()
            for item in tree.manifest.files:
                # Two titles on one blob: download once, link both paths (CheckTreeFiles).
                d_artifacts.append(
                    DeclarativeArtifact(
                        artifact=Artifact(sha256=item.sha256, size=item.size),
                        url=self.client.blob_url(item.digest),
                        relative_path=f"{content.tree_root}/{item.path}",
                        remote=self.remote,
                        deferred_download=deferred or item.digest in downloading,
                    )
                )
                downloading.add(item.digest)
            await self.put(DeclarativeContent(content=content, d_artifacts=d_artifacts))


class CheckTreeFiles(Stage):
    """Links duplicate blobs to one stored artifact and flags files that are not what they claim.

    Runs on new trees only, after their files are downloaded (immediate) or with
    their sizes alone (on_demand, streamed).
    """

    async def run(self):
        async for d_content in self.items():
            self._share_blobs(d_content)
            tree = d_content.content
            if tree._state.adding:
                for d_artifact, item in zip(d_content.d_artifacts, tree.files, strict=True):
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
