"""Push the trees of a repository version to a registry (the push action, docs/push.md).

Every tree becomes the manifest ``N-ARCH`` and every release the index ``N``, in the
format a sync reads (registry/push.py writes them): each file a layer titled so that a
sync puts it at the same path with the same role (``netboot/layout.place``). Before
anything is sent, every tree is checked: a file whose path and role no title gives
back, or whose bytes Pulp does not store (an on_demand tree never fetched), fails the
task naming it, and nothing is pushed.
"""

import asyncio
import logging
import re
from gettext import gettext as _

from pulpcore.plugin.models import ContentArtifact, ProgressReport

from ..fetch_policy import FetchRefused, normalized, origin_of
from ..models import KickstartOciRemote, KickstartRepository, KickstartTree
from ..netboot import artifact, layout, tags
from ..netboot.treefile import TreeFile
from ..registry.push import PROVENANCE_ANNOTATIONS, Layer, PushError, RegistryPusher, TreePush

log = logging.getLogger(__name__)

# The distribution spec's repository name: what a mount's ``from`` may be.
_REPOSITORY_NAME = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
# os.version of an index entry, from a dnf tree's family: "fedora-42", "centos-stream-9".
_OS_WORD = re.compile(r"[^a-z0-9.]+")


def push(repository_pk, remote_pk, version_number=None, releases=None):
    """Push the trees of a version (the latest by default), or those of ``releases``."""
    repository = KickstartRepository.objects.get(pk=repository_pk)
    remote = KickstartOciRemote.objects.get(pk=remote_pk)
    if version_number is None:
        version = repository.latest_version()
    else:
        version = repository.versions.get(number=version_number)
    trees = KickstartTree.objects.filter(pk__in=version.content).order_by("version", "arch")
    if releases:
        trees = trees.filter(version__in=releases)
    trees = list(trees)
    if not trees:
        raise PushError(
            _("Version {number} of {repository} holds no tree{which} to push.").format(
                number=version.number,
                repository=repository.name,
                which=_(" of the releases {releases}").format(releases=", ".join(releases))
                if releases
                else "",
            )
        )
    pushes = [_tree_push(tree, remote) for tree in trees]
    with ProgressReport(
        message=_("Pushing trees to {url}").format(url=remote.url),
        code="push.trees",
        total=len(pushes),
    ) as report:
        pushed = asyncio.get_event_loop().run_until_complete(_push(remote, pushes))
        report.done = len(pushes)
    counts = (
        ("push.blobs.present", _("Blobs the registry had"), pushed.blobs_present),
        ("push.blobs.mounted", _("Blobs mounted from another repository"), pushed.blobs_mounted),
        ("push.blobs.uploaded", _("Blobs uploaded"), pushed.blobs_uploaded),
        ("push.chunks.uploaded", _("Chunks of chunked uploads"), pushed.chunks_uploaded),
        ("push.manifests.pushed", _("Manifests and indexes pushed"), pushed.manifests_pushed),
        ("push.manifests.present", _("Tags that named them already"), pushed.manifests_present),
    )
    for code, message, done in counts:
        ProgressReport(message=message, code=code, total=done, done=done, state="completed").save()
    log.info(
        "%s: pushed %d trees of version %d to %s %s: %s",
        repository.name,
        len(pushes),
        version.number,
        remote.url,
        remote.upstream_name,
        ", ".join(f"{tag}@{digest}" for tag, digest in pushed.tags),
    )


async def _push(remote, pushes):
    return await RegistryPusher(remote).push_trees(pushes)


def _tree_push(tree, remote):
    """A tree as registry/push.py pushes it; PushError names a file that cannot go."""
    where = _("tree {root}").format(root=tree.tree_root)
    index_tag, manifest_tag = tree.version, f"{tree.version}-{tree.oci_arch}"
    if tags.split(index_tag) != (tree.version, None) or tags.split(manifest_tag) != (
        tree.version,
        tree.oci_arch,
    ):
        # A sync of the pushed repository would read the tags as another release or arch
        # (release 42-amd64's index tag is tree 42/x86_64's manifest tag): never written.
        raise PushError(
            _(
                "{where}: release {release} cannot be pushed: its tags {index_tag} and "
                "{manifest_tag} would be read back as another release or architecture"
            ).format(
                where=where, release=tree.version, index_tag=index_tag, manifest_tag=manifest_tag
            )
        )
    if tree.kind != layout.ANACONDA:
        raise PushError(
            _("{where}: a {kind} tree is not published in the netboot OCI format").format(
                where=where, kind=tree.kind
            )
        )
    stored = {
        item.relative_path: item.artifact
        for item in ContentArtifact.objects.filter(content=tree).select_related("artifact")
    }
    layers = []
    said = _roles_said(tree)
    for record in tree.files:
        item = TreeFile.from_record(record)
        what = _("{where}: file {path}").format(where=where, path=item.path)
        stored_artifact = stored.get(f"{tree.tree_root}/{item.path}")
        if stored_artifact is None:
            raise PushError(
                _(
                    "{what}: Pulp does not store its bytes (synced on_demand or streamed and "
                    "never fetched); sync the tree with policy immediate first"
                ).format(what=what)
            )
        annotations = {
            key: str(getattr(item, name))
            for name, key in PROVENANCE_ANNOTATIONS.items()
            if getattr(item, name)
        }
        layers.append(
            Layer(
                title=_title(item, what, said),
                digest=item.digest,
                size=item.size,
                annotations=annotations,
                open=_opener(stored_artifact),
            )
        )
    return TreePush(
        version=tree.version,
        oci_arch=tree.oci_arch,
        os_version=_os_version(tree),
        annotations=_annotations(tree),
        layers=layers,
        mount_from=_mount_from(tree, remote),
    )


def _roles_said(tree):
    """{title: role} the tree's kept annotations give back to a sync: a draft-format
    tree's entrypoints (netboot/artifact.py) name the roles the layout does not."""
    annotations = tree.annotations or {}
    if not any(mark in annotations for mark in artifact.DRAFT_MARKS):
        return {}
    return {
        annotations[name]: role for name, role in artifact.DRAFT_ENTRYPOINTS if name in annotations
    }


def _title(item, what, said):
    """The layer title a sync places at the file's path with its role."""
    titles = [item.name]
    try:
        titles.append(layout.locate(item.path)[0])
    except layout.InvalidTitle:
        pass
    for title in titles:
        try:
            placement = layout.place(title)
        except layout.InvalidTitle:
            continue
        if placement.path != item.path:
            continue
        if placement.role == item.role or (
            placement.role == layout.OTHER and said.get(title) == item.role
        ):
            return title
    raise PushError(
        _(
            "{what} ({role}): no layer title gives this path and role back to a sync "
            "(netboot/layout.py), so it cannot be pushed in the netboot format"
        ).format(what=what, role=item.role)
    )


def _opener(stored_artifact):
    """Opens the artifact's file in its storage backend (called on a thread)."""
    storage = stored_artifact.file.storage
    name = stored_artifact.file.name

    def open_file():
        return storage.open(name, "rb")

    return open_file


def _annotations(tree):
    """The manifest's annotations: an OCI tree's own, a dnf tree's provenance."""
    annotations = dict(tree.annotations or {})
    source = tree.source or {}
    if source.get("type") == "dnf" and source.get("url"):
        annotations["org.pulpproject.netboot.provenance.tree"] = str(source["url"])
        annotations["org.pulpproject.netboot.provenance.digest"] = tree.digest
    annotations["org.opencontainers.image.version"] = tree.version  # the release, always
    return annotations


def _os_version(tree):
    """The index entry's ``os.version``: the upstream index's, or ``<family>-<release>``."""
    source = tree.source or {}
    index = source.get("index") or {}
    if index.get("os_version"):
        return str(index["os_version"])
    family = source.get("family")
    if family:
        return _OS_WORD.sub("-", str(family).lower()).strip("-") + f"-{tree.version}"
    return None


def _mount_from(tree, remote):
    """The repository of the destination registry a tree was synced from, if any."""
    source = tree.source or {}
    name = str(source.get("repository") or "")
    if source.get("type") != "oci" or not _REPOSITORY_NAME.fullmatch(name):
        return None
    if name == remote.upstream_name.strip("/"):
        return None
    try:
        same = origin_of(normalized(source.get("registry") or "")) == origin_of(
            normalized(remote.url)
        )
    except FetchRefused:
        return None
    return name if same else None
