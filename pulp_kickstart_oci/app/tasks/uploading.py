"""Make a tree of files a client uploaded (POST content/kickstart/trees/).

A site builds its own boot images and names each file by its path in the tree. The
tree is made the way a sync makes one (sources/base.py): the path decides the role
(``layout.locate``: where a sync would have put a file of that name), the files make a
TreePlan whose digest covers their paths and sha256 (``digest_of_sources``), and the
plan's ``content()`` is the tree. So the same files uploaded again are the same tree
(one ``identity``), and an uploaded tree is served, exported, replicated and booted as
a synced one. Its provenance is ``source = {"type": "upload", "uploaded_by": <user>}``
(and ``family`` when given).

The bytes come from pulpcore's chunked uploads (each assembled here, chunk by chunk,
into an artifact; the upload is deleted once the tree is stored) or from artifacts Pulp
holds. What a sync only flags an upload refuses, naming the file: a file whose first
bytes are not what its role needs (netboot/inspect.py: an ELF where an EFI binary
belongs), a placeholder too small for its role, a file past
KICKSTART_MAX_UPLOAD_FILE_BYTES, an upload whose chunks do not make its size. The view
runs ``check_sources`` before it dispatches (HTTP 400 naming the file); the task checks
the stored bytes again, before it stores anything of the tree.
"""

import logging
import os
import shutil
import tempfile
from gettext import gettext as _

from django.conf import settings
from django.db import IntegrityError, transaction

from pulpcore.plugin.exceptions import PulpException
from pulpcore.plugin.models import (
    Artifact,
    ContentArtifact,
    CreatedResource,
    ProgressReport,
    Upload,
    UploadChunk,
)
from pulpcore.plugin.util import get_domain_pk

from .. import archive_bytes
from ..boot.treeinfo import release_name
from ..models import KickstartRepository, KickstartTree
from ..netboot import arch as archs
from ..netboot import inspect, layout
from ..netboot.treefile import TreeFile
from ..sources.base import TreePlan, digest_of_sources

log = logging.getLogger(__name__)

UPLOAD = "upload"  # source["type"] of an uploaded tree
_COPY_BUFFER = 1024 * 1024


class UploadRefused(PulpException):
    """Files that do not make a tree; ``message`` names the file and why."""

    error_code = "KS0002"

    def __init__(self, message):
        super().__init__()
        self.message = message

    def __str__(self):
        return f"[{self.error_code}] " + _(
            "Upload refused: {message}. No tree or repository version was created."
        ).format(message=self.message.rstrip(". "))


def check_sources(files):
    """Refuse (UploadRefused) a file whose size or first bytes do not fit its path's role.

    ``files``: the request's entries (``path`` and an ``artifact`` or an ``upload``,
    resolved). Reads the first bytes of each, never more: the view calls this before it
    dispatches the task.
    """
    for entry in files:
        path = entry["path"]
        _title, placement = layout.locate(path)
        if entry.get("upload") is not None:
            upload = entry["upload"]
            _check_size(path, upload.size)  # the size it declares: before reading a chunk
            _check(path, placement.role, upload.size, _head_of_chunks(_chunks(upload, path), path))
        else:
            artifact = entry["artifact"]
            _check(path, placement.role, artifact.size, _head_of_artifact(artifact, path))


def upload_tree(version, arch, files, uploaded_by, family=None, repository_pk=None, overwrite=True):
    """Store the tree of ``files`` (each ``path`` and the pk of an ``artifact`` or an
    ``upload``), and add it to a new version of the repository when one is given.

    ``version``, ``arch`` and ``family`` (the release name .treeinfo gives, as a dnf
    tree's source keeps it) are checked by the serializer. With ``overwrite`` False, a
    repository already holding another tree of that release and arch fails the task
    (pulpcore's ContentOverwriteError), as pulpcore's uploads do.
    """
    items = []
    consumed = []
    with ProgressReport(
        message=_("Storing uploaded files"), code="upload.files", total=len(files)
    ) as report:
        for entry in files:
            path = entry["path"]
            title, placement = layout.locate(path)
            if entry.get("upload"):
                upload = _named(Upload, entry["upload"], path)
                artifact = _artifact_of(upload, path, placement.role)
                consumed.append(upload)
            else:
                artifact = _named(Artifact, entry["artifact"], path)
                if not _archive_bytes_right(artifact, path):
                    raise UploadRefused(
                        _(
                            "{path}: the artifact's bytes, stored by a Pulp import, are not "
                            "its sha256 and are deleted; upload the file"
                        ).format(path=path)
                    )
                _check(path, placement.role, artifact.size, _head_of_artifact(artifact, path))
            items.append(
                TreeFile(
                    name=title,
                    path=path,
                    role=placement.role,
                    sha256=artifact.sha256,
                    size=artifact.size,
                    artifact=artifact,
                )
            )
            report.increment()
    sources = [(item.path, item.sha256) for item in items]
    plan = TreePlan(
        version=version,
        arch=arch,
        oci_arch=archs.oci_name(arch),
        digest=digest_of_sources(version, arch, sources),
        source={
            "type": UPLOAD,
            "uploaded_by": uploaded_by,
            **({"family": family} if family else {}),
        },
        annotations={},
        files=items,
    )
    tree = _stored(plan)
    if repository_pk is not None:
        repository = KickstartRepository.objects.get(pk=repository_pk)
        if not overwrite:
            latest = repository.latest_version()
            if latest is not None:
                repository.check_content_overwrite(latest, [tree.pk])
        with repository.new_version() as new_version:
            new_version.add_content(KickstartTree.objects.filter(pk=tree.pk))
    for upload in consumed:
        upload.delete()  # its bytes are an artifact now, as pulpcore's commit does
    CreatedResource(content_object=tree).save()
    log.info("uploaded tree %s (%s) by %s", tree.tree_root, tree.identity, uploaded_by)


def _archive_bytes_right(artifact, path):
    """app/archive_bytes.py's check, its refusal naming the file."""
    try:
        return archive_bytes.check(artifact)
    except archive_bytes.WrongArchiveBytes as exc:
        raise UploadRefused(f"{path}: {exc}") from None


def _named(model, pk, path):
    """The upload or artifact a file was given by, if it still exists (an upload may be
    deleted, an artifact cleaned up as an orphan, between the request and the task)."""
    try:
        return model.objects.get(pk=pk, pulp_domain=get_domain_pk())
    except model.DoesNotExist:
        raise UploadRefused(
            _("{path}: its {kind} no longer exists").format(path=path, kind=model._meta.model_name)
        ) from None


def _stored(plan):
    """The stored tree of ``plan``: the one of the same identity, or a new one.

    As pulpcore's content create: the stored tree's ContentArtifacts are set to the
    artifacts again (one without an artifact gets it back). The identity leaves out the
    release name (``family``): an upload naming another one than the stored tree's is
    refused, not quietly given the stored one.
    """
    content = plan.content()
    artifacts = {f"{content.tree_root}/{item.path}": item.artifact for item in plan.files}
    found = KickstartTree.objects.filter(
        identity=content.identity, made_here=True, _pulp_domain=get_domain_pk()
    )
    tree = found.first()
    if tree is None:
        try:
            with transaction.atomic():
                content.save()
                ContentArtifact.objects.bulk_create(
                    ContentArtifact(artifact=artifact, content=content, relative_path=path)
                    for path, artifact in artifacts.items()
                )
            return content
        except IntegrityError:
            tree = found.get()  # another upload of the same files stored it first
    if tree.source.get("type") == UPLOAD and release_name(tree) != release_name(plan):
        raise UploadRefused(
            _(
                "tree {root} of these files is stored already with another release name "
                "(family); upload it with the same one, or change a file"
            ).format(root=tree.tree_root)
        )
    tree.touch()
    ContentArtifact.objects.bulk_create(
        [
            ContentArtifact(artifact=artifact, content=tree, relative_path=path)
            for path, artifact in artifacts.items()
        ],
        update_conflicts=True,
        update_fields=["artifact"],
        unique_fields=["content", "relative_path"],
    )
    return tree


def _check_size(path, size):
    limit = settings.KICKSTART_MAX_UPLOAD_FILE_BYTES
    if size > limit:
        raise UploadRefused(
            _(
                "{path}: {size} bytes, larger than KICKSTART_MAX_UPLOAD_FILE_BYTES ({limit} bytes)"
            ).format(path=path, size=size, limit=limit)
        )


def _check(path, role, size, head):
    """Refuse a file past the cap, or whose size and first bytes are not its role's."""
    _check_size(path, size)
    problem = inspect.check(path, role, size, head)
    if problem is not None:
        raise UploadRefused(problem)


def _chunks(upload, path):
    """The upload's chunks in order, when they make exactly its size (no gap, no overlap)."""
    chunks = list(UploadChunk.objects.filter(upload=upload).order_by("offset"))
    held = 0
    for chunk in chunks:
        if chunk.offset != held:
            raise UploadRefused(
                _("{path}: the upload's chunks do not follow each other at byte {offset}").format(
                    path=path, offset=held
                )
            )
        held += chunk.size
    if held != upload.size:
        raise UploadRefused(
            _("{path}: the upload holds {held} of its {size} bytes: upload every chunk").format(
                path=path, held=held, size=upload.size
            )
        )
    return chunks


def _head_of_chunks(chunks, path):
    """The first bytes inspect.check looks at, from the first chunks."""
    head = b""
    for chunk in chunks:
        if len(head) >= inspect.HEAD_SIZE:
            break
        with _opened(chunk.file, path) as part:
            head += part.read(inspect.HEAD_SIZE - len(head))
    return head


def _head_of_artifact(artifact, path):
    with _opened(artifact.file, path) as stored:
        return stored.read(inspect.HEAD_SIZE)


def _opened(stored, path):
    """A stored file (an artifact's, a chunk's) opened, or UploadRefused naming the file when
    the storage has lost it (never the storage's path)."""
    try:
        return stored.open("rb")
    except (OSError, ValueError):
        raise UploadRefused(
            _("{path}: its stored bytes cannot be read; upload the file again").format(path=path)
        ) from None


def _artifact_of(upload, path, role):
    """The artifact of an upload's bytes: its chunks copied in order into one file (a buffer
    at a time), checked, then stored, or the artifact Pulp holds with those bytes."""
    _check_size(path, upload.size)
    chunks = _chunks(upload, path)
    with tempfile.NamedTemporaryFile(dir=".", delete=False) as assembled:
        for chunk in chunks:
            with _opened(chunk.file, path) as part:
                shutil.copyfileobj(part, assembled, _COPY_BUFFER)
    with open(assembled.name, "rb") as written:
        head = written.read(inspect.HEAD_SIZE)
    _check(path, role, os.path.getsize(assembled.name), head)
    artifact = Artifact.init_and_validate(assembled.name)
    stored = Artifact.objects.filter(sha256=artifact.sha256, pulp_domain=get_domain_pk()).first()
    if stored is not None and not _archive_bytes_right(stored, path):
        stored = None  # an import's wrong bytes, deleted: these are the bytes
    if stored is None:
        try:
            with transaction.atomic():
                artifact.save()
            return artifact
        except IntegrityError:
            stored = Artifact.objects.get(sha256=artifact.sha256, pulp_domain=get_domain_pk())
    if stored.pulp_domain.get_storage().exists(stored.file.name):
        stored.touch()
        os.unlink(assembled.name)
    else:
        stored.file = assembled.name  # its file was lost: these are its bytes (pulpcore's way)
        stored.save()
    return stored
