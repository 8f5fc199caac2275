"""Push the trees of a repository version to a registry (the push action, docs/push.md).

Every tree becomes the manifest ``N-ARCH`` and every release the index ``N``, in the
format a sync reads (registry/push.py writes them): each file a layer titled so that a
sync puts it at the same path with the same role (``netboot/layout.place``). Before
anything is sent, every tree is checked: a file whose path and role no title gives
back, or whose bytes Pulp does not store (an on_demand tree never fetched), fails the
task naming it, and nothing is pushed.

A tree synced from a registry goes back as the manifest bytes the sync read
(KickstartTree.manifest) when every blob they name is stored here, and its release as
the index the sync read (KickstartIndex) when that lists exactly the manifests pushed:
same digests, so the publisher's signatures still hold, and with ``copy_signatures``
the signature manifests the sync verified are pushed along (netboot/carrier.py).
"""

import asyncio
import hashlib
import json
import logging
import re
from gettext import gettext as _

from django.conf import settings

from pulpcore.plugin.models import ContentArtifact, ProgressReport

from ..fetch_policy import FetchRefused, normalized, origin_of
from ..models import (
    KickstartIndex,
    KickstartOciRemote,
    KickstartRepository,
    KickstartSignature,
    KickstartTree,
)
from ..netboot import artifact, carrier, layout, tags
from ..netboot.treefile import TreeFile
from ..registry.push import (
    EMPTY_CONFIG,
    PROVENANCE_ANNOTATIONS,
    Layer,
    PushError,
    RegistryPusher,
    SignatureCopy,
    TreePush,
    UpstreamIndex,
)

log = logging.getLogger(__name__)

# The distribution spec's repository name: what a mount's ``from`` may be.
_REPOSITORY_NAME = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
# os.version of an index entry, from a dnf tree's family: "fedora-42", "centos-stream-9".
_OS_WORD = re.compile(r"[^a-z0-9.]+")


def push(repository_pk, remote_pk, version_number=None, releases=None, copy_signatures=False):
    """Push the trees of a version (the latest by default), or those of ``releases``;
    with ``copy_signatures``, the signature manifests its verifications came from."""
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
    indexes = {
        unit.tag: UpstreamIndex(unit.raw.encode("utf-8"), unit.media_type)
        for unit in KickstartIndex.objects.filter(
            pk__in=version.content, tag__in={tree.version for tree in trees}
        )
        if _sha256(unit.raw.encode("utf-8")) == unit.digest
    }
    copies = _signature_copies(version, trees, pushes, indexes) if copy_signatures else []
    with ProgressReport(
        message=_("Pushing trees to {url}").format(url=remote.url),
        code="push.trees",
        total=len(pushes),
    ) as report:
        pushed = asyncio.get_event_loop().run_until_complete(_push(remote, pushes, indexes, copies))
        report.done = len(pushes)
    counts = (
        ("push.blobs.present", _("Blobs the registry had"), pushed.blobs_present),
        ("push.blobs.mounted", _("Blobs mounted from another repository"), pushed.blobs_mounted),
        ("push.blobs.uploaded", _("Blobs uploaded"), pushed.blobs_uploaded),
        ("push.chunks.uploaded", _("Chunks of chunked uploads"), pushed.chunks_uploaded),
        ("push.manifests.pushed", _("Manifests and indexes pushed"), pushed.manifests_pushed),
        ("push.manifests.present", _("Tags that named them already"), pushed.manifests_present),
        (
            "push.manifests.identical",
            _("Manifests and indexes pushed as the sync read them"),
            pushed.identical,
        ),
        ("push.signatures.copied", _("Signature manifests copied"), pushed.signatures_copied),
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


async def _push(remote, pushes, indexes, copies):
    return await RegistryPusher(remote).push_trees(pushes, indexes, copies)


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _as_synced(tree, stored):
    """The tree's manifest as the sync read it, if it can go back byte for byte: its bytes
    are its digest's, its config is the empty one, and every layer is a stored file of the
    tree (not a draft's compressed blob). Else None: the tree gets a new manifest."""
    if not tree.manifest:
        return None
    raw = tree.manifest.encode("utf-8")
    if _sha256(raw) != tree.digest:
        return None
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict) or config.get("digest") != EMPTY_CONFIG["digest"]:
        return None
    files = {(f"sha256:{item['sha256']}", item["size"]) for item in tree.files}
    layers = document.get("layers")
    if not isinstance(layers, list) or not layers:
        return None
    for layer in layers:
        if not isinstance(layer, dict):
            return None
        if (layer.get("digest"), layer.get("size")) not in files:
            return None
    if not all(tree.tree_root + "/" + item["path"] in stored for item in tree.files):
        return None
    return raw


def _checked_here_too(record):
    """True when this Pulp verified the same signature of the same tree itself."""
    return (
        KickstartSignature.checked_by_this_pulp()
        .filter(
            tree_id=record.tree_id,
            kind=record.kind,
            key=record.key,
            signed_digest=record.signed_digest,
        )
        .exists()
    )


def _signature_copies(version, trees, pushes, indexes):
    """The signature manifests to copy along with the pushed trees (checked carriers).

    Every cosign or sigstore-bundle verification the version holds of a pushed tree must
    be copyable: made by this Pulp (a carried record only once this Pulp verified the same
    signature), its carrier kept, and what it signs pushed as the bytes the sync read.
    Otherwise the push fails before sending anything, naming the tree.
    """
    # The digests pushed as the bytes a sync read: manifests, and indexes that fit.
    same = {pushed.digest for pushed in pushes if pushed.raw is not None}
    for release, kept in indexes.items():
        if kept.fits(pushed for pushed in pushes if pushed.version == release):
            same.add(kept.digest)
    copies, seen = [], set()
    limit = settings.KICKSTART_MAX_SIGNATURE_BYTES
    records = KickstartSignature.objects.filter(
        pk__in=version.content, tree__in=trees, kind__in=("cosign", "sigstore-bundle")
    ).order_by("pulp_created")
    roots = {tree.pk: tree.tree_root for tree in trees}
    for record in records:
        where = _("{kind} signature of tree {root} on {digest}").format(
            kind=record.kind, root=roots[record.tree_id], digest=record.signed_digest
        )
        if record.signed_digest not in same:
            raise PushError(
                _(
                    "{where}: cannot be copied: the tree is not pushed as the manifest it signs "
                    "(a new manifest gets a new digest); push without copy_signatures"
                ).format(where=where)
            )
        if not record.checked_here and not _checked_here_too(record):
            raise PushError(
                _(
                    "{where}: cannot be copied: only another Pulp verified it (an import or a "
                    "replication carried the record); run verify_signatures with this Pulp's "
                    "keys first, or push without copy_signatures"
                ).format(where=where)
            )
        if record.carrier is None:
            raise PushError(
                _(
                    "{where}: cannot be copied: Pulp did not keep the manifest that carried it "
                    "(synced before signatures were kept); sync again with optimize off"
                ).format(where=where)
            )
        try:
            raw, media_type, reference, blobs = carrier.check(
                record.carrier, record.signed_digest, limit
            )
        except ValueError as exc:
            raise PushError(_("{where}: {problem}").format(where=where, problem=exc)) from None
        key = reference or _sha256(raw)
        if key in seen:
            continue
        seen.add(key)
        copies.append(SignatureCopy(reference, raw, media_type, blobs, where))
    return copies


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
    raw = _as_synced(tree, stored)
    return TreePush(
        version=tree.version,
        oci_arch=tree.oci_arch,
        os_version=_os_version(tree),
        annotations=_annotations(tree),
        layers=layers,
        mount_from=_mount_from(tree, remote),
        raw=raw,
        media_type=(tree.source or {}).get("media_type") or artifact.OCI_MANIFEST,
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
