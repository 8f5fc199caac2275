"""Export what a kickstart distribution serves to a directory, for nginx or a TFTP server.

The directory receives the distribution's URL layout below its base path:
``<version>/<arch>/<file>`` for every file of every served tree (a hard link to
the artifact when the storage is on the same filesystem, a copy otherwise) and
the generated documents (``boot.ipxe``, ``trees.json``, each tree's
``.treeinfo`` and boot configs: every kind of ``documents/``), with their URLs at
``<origin><CONTENT_PATH_PREFIX>[<domain>/]<base_path>/`` (``serving.root_url``).

The directory belongs to the distribution (``KickstartExportDirectory``): the
export claims it atomically before writing, so it never writes into another
distribution's directory. Every file is written to a temporary name and renamed
into place, so a reader sees the old file or the new one, never a partial one, and
an artifact behind a hard link is never written to. Paths are walked one directory
descriptor at a time with O_NOFOLLOW: a symbolic link planted in the directory is
never followed, and one in the way of a path the export writes is replaced.
Afterwards the export removes only the files its own previous export wrote and this
one did not (the record says which), never anything else found on disk.

For TFTP clients (``boot_files="tftp"``, docs/tftp.md) the GRUB and PXELINUX configs
name kernel and initrd as paths from the export directory served as the TFTP root; the
"foreman" layout adds, as more paths of the same export, the names Foreman's
smart-proxy TFTP uses (``boot/``, ``bootloader-universe/pxegrub2/``).
"""

import errno
import logging
import os
import secrets
import stat
from contextlib import contextmanager
from gettext import gettext as _

from django.conf import settings

from pulpcore.plugin.exceptions import PulpException
from pulpcore.plugin.models import ContentArtifact, ProgressReport

from .. import documents
from ..boot import configs
from ..models import ExportDirectoryRefused, KickstartDistribution, KickstartExportDirectory

log = logging.getLogger(__name__)

FILESYSTEM_STORAGE = "pulpcore.app.models.storage.FileSystem"
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
NOT_A_DIRECTORY = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


class ExportError(PulpException):
    """The export cannot be made; the message says why (never a path of Pulp's storage)."""

    error_code = "KS0001"

    def __init__(self, message):
        self.message = message

    def __str__(self):
        return f"[{self.error_code}] " + _("Export failed: {message}").format(message=self.message)


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


def _lstat(name, dir_fd):
    """The entry ``name`` in ``dir_fd`` (a link is not followed), or None."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


@contextmanager
def _directory(root_fd, rel_dir, create):
    """A descriptor of ``root/rel_dir``, opened one component at a time without following links.

    With ``create``, a file or symbolic link in the way is removed and a missing
    directory made, so nothing is written outside the root. Without it, None when a
    component is missing or is not a real directory.
    """
    fd = os.dup(root_fd)
    try:
        for part in rel_dir.split("/") if rel_dir else ():
            try:
                child = os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno not in NOT_A_DIRECTORY:
                    raise
                if not create:
                    child = None
                else:
                    if _lstat(part, fd) is not None:
                        os.unlink(part, dir_fd=fd)
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            if fd is None:
                break
        yield fd
    finally:
        if fd is not None:
            os.close(fd)


def _place(root_fd, rel, write, previous):
    """Put one file at ``root/rel``: ``write(dir_fd, tmp)`` creates it at a temporary name.

    A directory in the way is cleared of what the previous export wrote (``previous``)
    and removed; one still holding anything else fails the export.
    """
    directory, name = os.path.split(rel)
    with _directory(root_fd, directory, create=True) as dir_fd:
        found = _lstat(name, dir_fd)
        if found is not None and stat.S_ISDIR(found.st_mode):
            _prune(root_fd, {path for path in previous if path.startswith(rel + "/")})
            if _lstat(name, dir_fd) is not None:
                raise ExportError(
                    _("'{}' is a directory holding files this export did not write.").format(rel)
                )
        tmp = f".{name}.{secrets.token_hex(8)}.export-tmp"
        try:
            write(dir_fd, tmp)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        finally:
            if _lstat(tmp, dir_fd) is not None:
                os.unlink(tmp, dir_fd=dir_fd)


def _write_bytes(chunks):
    """A ``write`` for ``_place``: a new file (never through a link) holding ``chunks``."""

    def write(dir_fd, tmp):
        with os.fdopen(os.open(tmp, FILE_FLAGS, 0o644, dir_fd=dir_fd), "wb") as out:
            for chunk in chunks():
                out.write(chunk)

    return write


def _export_artifact(root_fd, rel, artifact, may_link, previous):
    """Hard link the artifact's file to ``root/rel``, or copy it; True when linked."""
    if may_link:
        source = os.path.join(settings.MEDIA_ROOT, artifact.file.name)
        try:
            wanted = os.stat(source)
            directory, name = os.path.split(rel)
            with _directory(root_fd, directory, create=False) as dir_fd:
                found = dir_fd is not None and _lstat(name, dir_fd)
            if found and (found.st_dev, found.st_ino) == (wanted.st_dev, wanted.st_ino):
                return True

            def link(dir_fd, tmp):
                os.link(source, tmp, dst_dir_fd=dir_fd)

            _place(root_fd, rel, link, previous)
            return True
        except OSError as exc:
            log.info(_("Cannot hard link {} ({}); copying it.").format(rel, exc.strerror))

    def chunks():
        with artifact.file as data:
            yield from data.chunks(1024 * 1024)

    _place(root_fd, rel, _write_bytes(chunks), previous)
    return False


def _prune(root_fd, stale):
    """Remove the files at ``stale`` (relative paths), then the directories that emptied.

    Only a file or a link at exactly that path is removed, reached without following
    a link: a directory there, or a path through a link, is left alone.
    """
    removed = 0
    emptied = set()
    for rel in sorted(stale):
        directory, name = os.path.split(rel)
        with _directory(root_fd, directory, create=False) as dir_fd:
            if dir_fd is None:
                continue
            found = _lstat(name, dir_fd)
            if found is None or stat.S_ISDIR(found.st_mode):
                continue
            os.unlink(name, dir_fd=dir_fd)
        removed += 1
        while directory:
            emptied.add(directory)
            directory = os.path.dirname(directory)
    for rel in sorted(emptied, key=lambda path: path.count("/"), reverse=True):
        directory, name = os.path.split(rel)
        with _directory(root_fd, directory, create=False) as dir_fd:
            if dir_fd is not None:
                try:
                    os.rmdir(name, dir_fd=dir_fd)
                except OSError:
                    pass  # not empty: it holds what this export wrote, or someone else's
    return removed


def _may_link(root):
    """Whether artifacts can be hard linked into ``root`` (same filesystem as MEDIA_ROOT)."""
    if settings.STORAGES["default"]["BACKEND"] != FILESYSTEM_STORAGE:
        return False
    try:
        return os.stat(settings.MEDIA_ROOT).st_dev == os.stat(root).st_dev
    except OSError:
        return False


def _tftp_files(distribution, origin, version, tftp, files, generated):
    """{exported path: artifact} of what the TFTP layout adds (hard links to tree files).

    A layout's names are built from upstream values (release name, release, arch), so one
    can be a tree's path or a document's, or two trees can be given one name (os "fedora"
    and release "42-41", os "fedora-42" and release "41"). Each name is given once here:
    otherwise the export fails naming it, rather than one tree's config booting another's
    kernel.
    """
    source_of = {**dict.fromkeys(generated, _("a generated document")), **{r: r for r in files}}
    extra = {}
    context = documents.context_for(distribution, origin, version, tftp)
    for tree in context.trees if version is not None else ():
        target = context.target(tree)
        if target is None:
            continue
        for rel, in_tree in tftp.extra_files(tree, target).items():
            source = f"{tree.version}/{tree.arch}/{in_tree}"
            if source not in files:
                continue
            rel = _relative(rel)
            if source_of.setdefault(rel, source) != source:
                raise ExportError(
                    _("The {layout} layout names {path} for two files, {one} and {other}").format(
                        layout=tftp.layout, path=rel, one=source_of[rel], other=source
                    )
                    + _(": rename a release or export the trees to separate directories.")
                )
            extra[rel] = files[source]
    return extra


def export_distribution(
    distribution_pk,
    path,
    origin=None,
    take_over=None,
    adopt=False,
    boot_files=configs.HTTP,
    layout=configs.PULP_LAYOUT,
):
    """Export the trees a distribution serves now, with their generated documents, to ``path``.

    Args:
        distribution_pk (str): The KickstartDistribution to export.
        path (str): An absolute directory inside ALLOWED_EXPORT_PATHS, created if needed.
        origin (str): The origin the generated documents point at; if None, the
            distribution's boot_origin (CONTENT_ORIGIN when it has none).
        take_over (str): The pk of the distribution owning ``path`` that the user who
            asked may change (the API checked it): the directory is handed over.
        adopt (bool): The user who asked may claim a directory holding files no
            distribution exported (the API checked the model-level permission).
        boot_files (str): "http": the configs fetch kernel and initrd from ``origin``;
            "tftp": from the export directory served as a TFTP root.
        layout (str): "pulp" or, with TFTP, "foreman" (docs/tftp.md).

    Raises:
        ExportError: ``path`` is not allowed or belongs to another distribution, or a
            file is not downloaded yet (on_demand): the export is meant to be complete,
            so it fails and removes nothing.
    """
    root = os.path.realpath(path)
    if not os.path.isabs(path) or not _allowed(root):
        raise ExportError(_("Path '{}' is not inside an allowed export path.").format(path))
    distribution = KickstartDistribution.objects.get(pk=distribution_pk)
    version = distribution.served_version()

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

    tftp = configs.TftpForm(layout) if boot_files == configs.TFTP else None
    generated = {
        _relative(rel): document
        for rel, document in documents.every_document(distribution, origin, version, tftp).items()
    }
    if tftp is not None:
        files.update(_tftp_files(distribution, origin, version, tftp, files, generated))

    try:
        record = KickstartExportDirectory.claim(
            distribution,
            root,
            may_take_over=lambda owner: str(owner.pk) == take_over,
            may_adopt=adopt,
        )
    except ExportDirectoryRefused as exc:
        raise ExportError(str(exc)) from None
    previous = set(record.written)
    written = set(files) | set(generated)
    # Recorded before writing: files of an export that fails half-way are pruned later.
    record.written = sorted(previous | written)
    record.save(update_fields=["written", "pulp_last_updated"])

    try:
        os.makedirs(root, exist_ok=True)
        root_fd = os.open(root, DIRECTORY_FLAGS)
    except OSError as exc:
        raise ExportError(_("Cannot create '{}': {}").format(root, exc.strerror)) from None
    try:
        linked, removed = _write(root_fd, files, generated, previous, _may_link(root))
    finally:
        os.close(root_fd)
    record.written = sorted(written)
    record.save(update_fields=["written", "pulp_last_updated"])
    log.info(
        _("Exported {} files ({} hard links) and {} documents to {}; removed {}.").format(
            len(files), linked, len(generated), root, removed
        )
    )


def _write(root_fd, files, generated, previous, may_link):
    """Write the files and documents, then prune what ``previous`` holds and they do not.

    An OSError becomes an ExportError naming the exported path, not Pulp's storage.
    """
    linked = 0
    rel = None
    try:
        with ProgressReport(
            message=_("Exporting files"), code="export.files", total=len(files)
        ) as progress:
            for rel, artifact in sorted(files.items()):
                if rel not in generated:
                    linked += _export_artifact(root_fd, rel, artifact, may_link, previous)
                progress.increment()
        with ProgressReport(
            message=_("Writing generated documents"),
            code="export.documents",
            total=len(generated),
        ) as progress:
            for rel, document in sorted(generated.items()):
                _place(root_fd, rel, _write_bytes(lambda body=document.body: [body]), previous)
                progress.increment()
        rel = None
        removed = _prune(root_fd, previous - set(files) - set(generated))
    except OSError as exc:
        where = rel if rel is not None else _("stale files")
        raise ExportError(_("Cannot write {}: {}").format(where, exc.strerror)) from None
    with ProgressReport(
        message=_("Removing what the version no longer holds"),
        code="export.removed",
        total=removed,
        done=removed,
    ):
        pass
    return linked, removed
