"""Bytes a Pulp import brought: read once before any tree uses them.

pulpcore's import (its ``pulp_import`` task) copies every artifact of an archive into
storage without reading it, whether a content unit of the archive names it or not,
and whichever plugins the archive holds. A sync, an upload or another import of this
Pulp that later needs a file of that sha256 would take the stored artifact for its
bytes: an archive could plant bytes for a file it never names. So every artifact that
task creates is marked (``KickstartArchiveArtifact``), and every place the plugin links
an artifact to a tree (the sync pipeline, uploads, imports, the content app's first
fetch of an on_demand file) goes through ``check``: a marked artifact is read back and
hashed once; wrong bytes are deleted when no content uses them.
"""

import hashlib
from gettext import gettext as _

from django.db.models.signals import post_save
from django.dispatch import receiver

from pulpcore.plugin.models import Artifact, ContentArtifact, Task
from pulpcore.plugin.util import get_domain_pk

from .models import KickstartArchiveArtifact

ARCHIVE_TASK = "pulpcore.app.tasks.importer.pulp_import"
HASH_CHUNK = 1024 * 1024  # stored bytes are read back this much at a time


class WrongArchiveBytes(Exception):
    """An archive's bytes for a sha256 are not those bytes, and content already uses them."""


@receiver(post_save, sender=Artifact)
def _mark_archive_artifact(sender, instance, created, raw=False, **kwargs):
    """pulpcore's import saves each archive artifact as a row, then copies its bytes."""
    if not created or raw:
        return
    task = Task.current()
    if task is not None and task.name == ARCHIVE_TASK:
        KickstartArchiveArtifact.objects.get_or_create(artifact=instance)


def check(artifact):
    """True when ``artifact``'s bytes may be used as its sha256's: never marked, or read back
    and found right (the mark goes). False when they were wrong and are deleted (no content
    used them): fetch or take the bytes again. WrongArchiveBytes when they were wrong and
    other content uses them."""
    marks = KickstartArchiveArtifact.objects.filter(artifact_id=artifact.pk)
    if not marks.exists():
        return True
    if stored_sha256(artifact) == artifact.sha256:
        marks.delete()
        return True
    if ContentArtifact.objects.filter(artifact_id=artifact.pk).exists():
        raise WrongArchiveBytes(
            _(
                "the bytes a Pulp import stored for sha256 {sha256} are not those bytes, and "
                "other content uses them: an administrator must remove that content"
            ).format(sha256=artifact.sha256)
        )
    artifact.delete()
    return False


def marked(sha256s):
    """The stored artifacts of this domain with these sha256s that an import brought unread."""
    return Artifact.objects.filter(
        sha256__in=sha256s,
        pulp_domain_id=get_domain_pk(),
        pk__in=KickstartArchiveArtifact.objects.values("artifact_id"),
    )


def marked_since(started, until):
    """The marked artifacts (of this domain's imports) created between ``started`` and
    ``until``: what one import task brought."""
    return Artifact.objects.filter(
        pulp_domain_id=get_domain_pk(),
        pk__in=KickstartArchiveArtifact.objects.filter(
            pulp_created__gte=started, pulp_created__lte=until
        ).values("artifact_id"),
    ).order_by("pk")


def stored_sha256(artifact):
    """The sha256 of an artifact's stored bytes, read back in chunks (flat memory)."""
    digest = hashlib.sha256()
    with artifact.file.open("rb") as stored:
        while chunk := stored.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
