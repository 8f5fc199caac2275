"""Export what a kickstart distribution serves to a directory, for nginx or a TFTP server.

The directory receives the distribution's URL layout below its base path:
``<version>/<arch>/<file>`` for every file of every served tree (a hard link to
the artifact when the storage is on the same filesystem, a copy otherwise) and
the generated documents (``boot.ipxe``, ``trees.json``, each tree's
``.treeinfo`` and boot configs), rendered by ``TreeServer`` with their URLs at
``<origin><CONTENT_PATH_PREFIX><base_path>/``. Every file is written to a
temporary name and renamed into place, so a reader sees the old file or the new
one, never a partial one, and an artifact behind a hard link is never written
to. What the export did not write is removed afterwards: a re-export follows
the version the distribution serves now.
"""

import logging
import os
import shutil
import tempfile
from gettext import gettext as _

from django.conf import settings

from pulpcore.plugin.models import ContentArtifact, ProgressReport

from ..models import KickstartDistribution
from ..serving import BOOT_CONFIGS, ROOT_FILES, TreeServer

log = logging.getLogger(__name__)

FILESYSTEM_STORAGE = "pulpcore.app.models.storage.FileSystem"


class ExportError(Exception):
    """The export cannot be made; the message says why, and nothing was removed."""


def _allowed(path):
    """True when ``path`` (resolved) lies strictly inside one of ALLOWED_EXPORT_PATHS."""
    for allowed in settings.ALLOWED_EXPORT_PATHS:
        allowed = os.path.realpath(allowed).rstrip("/") + "/"
        if path.startswith(allowed):
            return True
    return False


def _relative(rel):
    """Check a relative path from the database: no absolute part, no '..', no empty part."""
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ExportError(_("Refusing to export the unsafe path '{}'.").format(rel))
    return rel


def _directory(root, rel_dir):
    """Create ``root/rel_dir`` one component at a time, replacing anything not a real directory.

    A symbolic link (or a file) in the way is removed, so nothing is written outside ``root``.
    """
    current = root
    for part in rel_dir.split("/") if rel_dir else ():
        current = os.path.join(current, part)
        if os.path.islink(current) or (os.path.lexists(current) and not os.path.isdir(current)):
            os.unlink(current)
        if not os.path.lexists(current):
            os.mkdir(current)
    return current


def _temporary(directory, name):
    """A fresh temporary name next to ``name`` (a dot file, removed if the export fails)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".export-tmp", dir=directory)
    os.close(fd)
    os.unlink(tmp)
    return tmp


def _place(root, rel, write):
    """Put one file at ``root/rel``: ``write(tmp)`` creates it at a temporary name, then rename."""
    directory = _directory(root, os.path.dirname(rel))
    name = os.path.basename(rel)
    dest = os.path.join(directory, name)
    if os.path.isdir(dest) and not os.path.islink(dest):
        shutil.rmtree(dest)
    tmp = _temporary(directory, name)
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _export_artifact(root, rel, artifact, may_link):
    """Hard link the artifact's file to ``root/rel``, or copy it; True when linked."""
    if may_link:
        source = os.path.join(settings.MEDIA_ROOT, artifact.file.name)
        dest = os.path.join(root, rel)
        try:
            if os.path.samefile(source, dest):
                return True
        except OSError:
            pass
        try:
            _place(root, rel, lambda tmp: os.link(source, tmp))
            return True
        except OSError as exc:
            log.info(_("Cannot hard link {} ({}); copying it.").format(rel, exc))

    def copy(tmp):
        with open(tmp, "wb") as out, artifact.file as data:
            for chunk in data.chunks(1024 * 1024):
                out.write(chunk)

    _place(root, rel, copy)
    return False


def _write_document(root, rel, body):
    """Write a generated document to ``root/rel``."""

    def write(tmp):
        with open(tmp, "wb") as out:
            out.write(body)

    _place(root, rel, write)


def _prune(root, written):
    """Remove under ``root`` every file, link and empty directory the export did not write.

    Symbolic links are removed, never followed.
    """
    removed = 0
    for current, dirs, files in os.walk(root, topdown=False, followlinks=False):
        for name in files:
            full = os.path.join(current, name)
            if os.path.relpath(full, root) not in written:
                os.unlink(full)
                removed += 1
        for name in dirs:
            full = os.path.join(current, name)
            if os.path.islink(full):
                os.unlink(full)
                removed += 1
            elif not os.listdir(full):
                os.rmdir(full)
    return removed


def export_distribution(distribution_pk, path, origin=None):
    """Export the trees a distribution serves now, with their generated documents, to ``path``.

    Args:
        distribution_pk (str): The KickstartDistribution to export.
        path (str): An absolute directory inside ALLOWED_EXPORT_PATHS, created if needed.
        origin (str): The origin the generated documents point at; CONTENT_ORIGIN if None.

    Raises:
        ExportError: ``path`` is not allowed, or a file is not downloaded yet (on_demand):
            the export is meant to be complete, so it fails and removes nothing.
    """
    root = os.path.realpath(path)
    if not os.path.isabs(path) or not _allowed(root):
        raise ExportError(_("Path '{}' is not inside an allowed export path.").format(path))
    distribution = KickstartDistribution.objects.get(pk=distribution_pk)
    server = TreeServer(distribution, origin)
    trees, version = distribution.served_trees()
    trees = list(trees)

    files = {}
    if version is not None:
        rows = ContentArtifact.objects.filter(content__in=version.content).select_related(
            "artifact"
        )
        for row in rows:
            files[_relative(row.relative_path)] = row.artifact
    missing = sorted(rel for rel, artifact in files.items() if artifact is None)
    if missing:
        raise ExportError(
            _("Not downloaded yet (on_demand), export refused: {}").format(", ".join(missing))
        )

    documents = {}
    for name in ROOT_FILES:
        documents[name] = server.handle(name)
    for tree in trees:
        for name in (".treeinfo",) + BOOT_CONFIGS:
            rel = _relative(f"{tree.version}/{tree.arch}/{name}")
            document = server.handle(rel)
            if document is not None:
                documents[rel] = document

    os.makedirs(root, exist_ok=True)
    may_link = (
        settings.STORAGES["default"]["BACKEND"] == FILESYSTEM_STORAGE
        and os.stat(settings.MEDIA_ROOT).st_dev == os.stat(root).st_dev
    )
    linked = 0
    with ProgressReport(
        message=_("Exporting files"), code="export.files", total=len(files)
    ) as progress:
        for rel, artifact in sorted(files.items()):
            if rel not in documents:
                linked += _export_artifact(root, rel, artifact, may_link)
            progress.increment()
    with ProgressReport(
        message=_("Writing generated documents"), code="export.documents", total=len(documents)
    ) as progress:
        for rel, document in sorted(documents.items()):
            _write_document(root, rel, document.body)
            progress.increment()
    written = set(files) | set(documents)
    removed = _prune(root, written)
    with ProgressReport(
        message=_("Removing what the version no longer holds"),
        code="export.removed",
        total=removed,
        done=removed,
    ):
        pass
    log.info(
        _("Exported {} files ({} hard links) and {} documents to {}; removed {}.").format(
            len(files), linked, len(documents), root, removed
        )
    )
