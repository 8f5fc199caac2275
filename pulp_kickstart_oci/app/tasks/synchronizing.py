"""Sync netboot trees from any source into a new repository version.

The source is the first stage registered for the remote's type (see
``sources``); everything after it is the same for every source: pulpcore's
DeclarativeVersion with CheckTreeFiles, pulp_file's ``optimize`` idiom, the
guard against a mirror sync emptying the repository, and task errors that name
the file that failed.
"""

import asyncio
import logging
from gettext import gettext as _
from urllib.parse import urlparse

from asgiref.sync import sync_to_async

from pulpcore.plugin.exceptions import SyncError
from pulpcore.plugin.models import ContentArtifact, ProgressReport, Remote
from pulpcore.plugin.stages import (
    DeclarativeVersion,
    QueryExistingArtifacts,
    QueryExistingContents,
    Stage,
)

from .. import archive_bytes
from ..budget import BudgetExceeded, SyncBudget
from ..models import KickstartRepository, KickstartTree
from ..netboot import inspect
from ..sources import UpstreamError, first_stage_for
from ..upstream_errors import REQUEST_ERRORS, reason, url_of

log = logging.getLogger(__name__)


def synchronize(remote_pk, repository_pk, mirror=False, allow_empty=False, optimize=True):
    """
    Create a repository version with the trees the remote's source publishes.

    Additive by default: upstream keeps only the newest releases, a mirror must
    keep what it already has. ``mirror=True`` drops trees no longer upstream,
    but never all of them unless ``allow_empty``: an upstream that suddenly
    lists nothing must not empty what machines boot from. With ``optimize``,
    a sync whose remote, options and upstream offer are those of the last
    sync is skipped. The whole sync runs under one SyncBudget (budget.py).
    """
    with SyncBudget.opened():
        try:
            return _synchronize(remote_pk, repository_pk, mirror, allow_empty, optimize)
        except (BudgetExceeded, OSError) as exc:
            # A budget, or the worker's own files (a full disk: its reason, never its path);
            # upstream's connection errors are OSErrors too, but were named where they happened.
            raise SyncError(
                _("{problem}. No repository version was created.").format(problem=reason(exc))
            ) from None


_NO_VERSION = _("No repository version was created.")


def _without_a_version(problem):
    """The SyncError of a source's problem (sources/), saying that nothing was stored."""
    return SyncError(f"{str(problem).rstrip('. ')}. {_NO_VERSION}")


def _synchronize(remote_pk, repository_pk, mirror, allow_empty, optimize):
    remote = Remote.objects.get(pk=remote_pk).cast()
    repository = KickstartRepository.objects.get(pk=repository_pk)
    loop = asyncio.get_event_loop()
    try:
        first_stage = first_stage_for(remote)
        first_stage.optimize = optimize
        plans = loop.run_until_complete(first_stage.plan())
    except UpstreamError as exc:
        raise _without_a_version(exc) from None

    latest = repository.latest_version()
    if not mirror:
        # What an additive sync keeps must still satisfy the remote (e.g. its signature policy).
        replaced = {(plan.version, plan.arch) for plan in plans}
        # Only the kept trees are loaded whole (a re-sync usually replaces them all).
        slots = KickstartTree.objects.filter(pk__in=latest.content).values_list(
            "pk", "version", "arch"
        )
        kept_pks = [pk for pk, version, arch in slots if (version, arch) not in replaced]
        kept = list(KickstartTree.objects.filter(pk__in=kept_pks)) if kept_pks else []
        try:
            loop.run_until_complete(first_stage.check_kept(kept, latest))
        except UpstreamError as exc:
            raise _without_a_version(exc) from None
    if mirror and not plans and not allow_empty:
        held = KickstartTree.objects.filter(pk__in=latest.content).count()
        if held:
            raise SyncError(
                _(
                    "{where}: upstream lists no tree to sync, and a mirror sync would remove "
                    "all {held} trees of {repository}. Nothing was changed; sync with "
                    "allow_empty=true to empty the repository."
                ).format(where=first_stage.where, held=held, repository=repository.name)
            )

    details = sync_details(remote, latest, mirror, allow_empty, first_stage.fingerprint())
    if optimize and _unchanged(details, repository.last_sync_details, latest):
        with ProgressReport(
            message=_("Skipping sync: nothing new upstream"), code="sync.was_skipped"
        ) as report:
            report.total = report.done = len(plans)
        return None

    try:
        version = TreeDeclarativeVersion(first_stage, repository, mirror=mirror).create()
    except REQUEST_ERRORS as exc:
        raise SyncError(_download_failure(first_stage, exc)) from None
    except UpstreamError as exc:  # found by a stage (e.g. CheckTreeFiles)
        raise _without_a_version(f"{first_stage.where}: {exc}") from None
    if version is not None:
        log.info("%s: created version %s of %s", first_stage.where, version.number, repository.name)
        details["most_recent_version"] = version.number
    repository.last_sync_details = details
    repository.save(update_fields=["last_sync_details"])
    return None


def sync_details(remote, latest, mirror, allow_empty, upstream):
    """What a sync depended on: a later sync with the same details has nothing to do.

    The remote's ``pulp_last_updated`` stands for all its fields (url, filters,
    keys, policy, credentials): any change to the remote makes the next sync a
    full one.
    """
    return {
        "remote_pk": str(remote.pk),
        "remote_last_updated": remote.pulp_last_updated.isoformat(),
        "url": remote.url,
        "download_policy": remote.policy,
        "mirror": mirror,
        "allow_empty": allow_empty,
        "most_recent_version": latest.number,
        "upstream": upstream,
    }


def _unchanged(details, last_details, latest):
    """pulp_file's test: same details as the last sync, and nothing reclaimed since."""
    if not last_details or details != last_details:
        return False
    if details["download_policy"] == Remote.IMMEDIATE:
        missing = ContentArtifact.objects.filter(content__in=latest.content, artifact__isnull=True)
        if missing.exists():
            return False
    return True


def _download_failure(first_stage, exc):
    """A failed file download as a task error: the files, trees and digests behind its URL,
    and why it failed (upstream_errors.py)."""
    url = url_of(exc)
    detail = reason(exc)
    if not url:
        return _(
            "{where}: downloading files failed ({detail}). No repository version was created."
        ).format(where=first_stage.where, detail=detail)
    owners = [owner for plan in first_stage.plans for owner in plan.owners_of(url)]
    target = urlparse(url).path.rsplit("/", 1)[-1] or _("a file")
    named = ", ".join(owners) or _("a file")
    return _("{where}: {target} ({named}): {detail}. No repository version was created.").format(
        where=first_stage.where, target=target, named=named, detail=detail
    )


class CheckTreeFiles(Stage):
    """Links duplicate blobs to one stored artifact and flags files that are not what they claim.

    Runs on new trees only, after their files are downloaded (immediate) or with
    their sizes alone (on_demand, streamed).
    """

    async def run(self):
        """Check each new tree's files and record its warnings; pass tags through."""
        async for d_content in self.items():
            if not isinstance(d_content.content, KickstartTree):
                await self.put(d_content)  # tags have no files
                continue
            self._share_blobs(d_content)
            tree = d_content.content
            if tree._state.adding:
                files = d_content.extra_data["files"]
                for d_artifact, item in zip(d_content.d_artifacts, files, strict=True):
                    stored = not d_artifact.artifact._state.adding
                    if item.size is None and stored:
                        item.size = d_artifact.artifact.size  # learnt by downloading
                    if stored and item.size != d_artifact.artifact.size:
                        # Upstream says a size the bytes of that sha256 do not have (Pulp
                        # holds them already, so nothing was downloaded to find out).
                        raise UpstreamError(
                            _(
                                "{tree}: {name}: upstream says {said} bytes, but the bytes "
                                "of sha256 {sha256} are {size}"
                            ).format(
                                tree=tree.tree_root,
                                name=item.name,
                                said=item.size,
                                sha256=item.sha256,
                                size=d_artifact.artifact.size,
                            )
                        )
                    if item.size is None:
                        continue
                    head = await sync_to_async(_head)(d_artifact.artifact)
                    warning = inspect.check(item.name, item.role, item.size, head)
                    # Once: a replicated tree (sources/pulp.py) carries its upstream's flags.
                    if warning and warning not in tree.warnings:
                        tree.warnings.append(warning)
                tree.files = [item.record() for item in files]
                for warning in tree.warnings:
                    log.warning("%s: %s", tree.tree_root, warning)
                    await ProgressReport(
                        message=_("Flagged {tree}: {warning}").format(
                            tree=tree.tree_root, warning=warning
                        ),
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


class CheckArchiveBytes(Stage):
    """Reads back a stored artifact a Pulp import brought before pulpcore takes it for a file.

    pulpcore's QueryExistingArtifacts links a planned file to the stored artifact of its
    sha256 without reading it; an import stores bytes unread (app/archive_bytes.py). Wrong
    bytes are deleted here, so the file is downloaded as if they had never been stored.
    """

    async def run(self):
        async for batch in self.batches():
            wanted = {
                d_artifact.artifact.sha256: (d_content, d_artifact)
                for d_content in batch
                for d_artifact in d_content.d_artifacts
                if d_artifact.artifact._state.adding and d_artifact.artifact.sha256
            }
            if wanted:
                await sync_to_async(self._check)(wanted)
            for d_content in batch:
                await self.put(d_content)

    @staticmethod
    def _check(wanted):
        for artifact in archive_bytes.marked(list(wanted)):
            try:
                archive_bytes.check(artifact)
            except archive_bytes.WrongArchiveBytes as exc:
                d_content, d_artifact = wanted[artifact.sha256]
                raise UpstreamError(
                    _("{path} of {tree}: {problem}").format(
                        path=d_artifact.relative_path,
                        tree=getattr(d_content.content, "tree_root", ""),
                        problem=exc,
                    )
                ) from None


class TreeDeclarativeVersion(DeclarativeVersion):
    """The standard pipeline with CheckArchiveBytes before stored artifacts are matched and
    CheckTreeFiles before new trees are saved."""

    def pipeline_stages(self, new_version):
        """pulpcore's stages, with CheckTreeFiles right after existing content is matched."""
        stages = super().pipeline_stages(new_version)
        position = next(
            index for index, stage in enumerate(stages) if isinstance(stage, QueryExistingContents)
        )
        stages.insert(position + 1, CheckTreeFiles())
        position = next(
            index for index, stage in enumerate(stages) if isinstance(stage, QueryExistingArtifacts)
        )
        stages.insert(position, CheckArchiveBytes())
        return stages
