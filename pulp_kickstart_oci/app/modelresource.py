"""Pulp export/import (Inter-Server Sync) of kickstart repositories: pulpcore loads IMPORT_ORDER.

Not the distribution export (tasks/exporting.py, files for nginx or TFTP): this is what
pulpcore's PulpExporter writes into its archive for each repository version, one JSON
file per resource, and what its PulpImporter reads back, in IMPORT_ORDER, on another
Pulp (docs/disconnected.md). pulpcore carries the artifacts and the ContentArtifacts
(``<version>/<arch>/<path>``, as a sync stores them, so an imported tree serves).

What travels: trees with every stored field; tags and signature records, which name
their tree by its ``identity`` (never by primary key: the importing Pulp has its own);
the repository without ``last_sync_details`` (what the exporter's last sync depended
on upstream). A signature record is imported with ``checked_here`` False: it is the
exporter's verification, never this Pulp's (the repository's ``verify_signatures``
action checks the trees again with this Pulp's keys).

An archive is input from elsewhere (carried across an air gap). Each resource checks
its whole batch before a row of it is written (``import_data``, outside any
transaction): the rules a replica's trees.json passes too (netboot/stored.py, one
checker of a tree another Pulp stored), a tree's identity recomputed from its
files, and every file of a tree new to this Pulp stored here with its size and sha256,
its bytes read back and hashed (pulpcore copies artifacts out of the archive without
reading them). A refused batch fails the import task with an error naming the tree,
tag or record. A stored unit never changes: a row naming one only links it to the
exporter's unit (``upstream_id``, which pulpcore's ContentArtifact import goes by), and
a ContentArtifact of a tree must be one of the tree's files (``_tree_files_only``).
"""

import json
from gettext import gettext as _

from django.db.models.signals import pre_save
from django.dispatch import receiver
from import_export import fields, widgets

from pulpcore.plugin.importexport import BaseContentResource
from pulpcore.plugin.modelresources import RepositoryResource
from pulpcore.plugin.models import Artifact, ContentArtifact, ProgressReport, Task
from pulpcore.plugin.util import get_domain_pk

from . import archive_bytes
from .models import (
    KickstartIndex,
    KickstartReleaseIndex,
    KickstartRepository,
    KickstartSignature,
    KickstartTag,
    KickstartTree,
    tree_identity,
)
from .netboot import cincinnati, grammar, stored
from .signatures.result import RECORDED_KINDS

ARTIFACTS_CHECKED = "kickstart.import.artifacts"  # the progress report of the check below


class ImportRefused(Exception):
    """A row of a Pulp import archive this Pulp does not store; the message names it."""


def _refused(what, problem):
    return ImportRefused(
        _("Pulp import: {what}: {problem}. No repository version was created.").format(
            what=what, problem=problem
        )
    )


class StrictJSONWidget(widgets.Widget):
    """A JSON column of ``kind`` (dict or list), always written, never guessed at.

    import-export's JSONWidget writes an empty dict or list as nothing and reads
    single-quoted text as JSON: a tree without annotations or warnings would not
    come back as it left.
    """

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def clean(self, value, row=None, **kwargs):
        try:
            parsed = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            parsed = None
        if not isinstance(parsed, self.kind):
            raise ValueError(_("not a JSON {kind}").format(kind=self.kind.__name__))
        return parsed

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _json_field(name, kind):
    return fields.Field(column_name=name, attribute=name, widget=StrictJSONWidget(kind))


class OptionalJSONWidget(StrictJSONWidget):
    """A nullable JSON column of ``kind``: ``null`` stays None (a record without a carrier)."""

    def clean(self, value, row=None, **kwargs):
        if value in (None, "", "null"):
            return None
        return super().clean(value, row, **kwargs)


class OptionalTextWidget(widgets.Widget):
    """A nullable text column: nothing stays None, never the empty string."""

    def clean(self, value, row=None, **kwargs):
        return value if isinstance(value, str) and value else None

    def render(self, value, obj=None, **kwargs):
        return value or ""


class TreeByIdentity(widgets.ForeignKeyWidget):
    """A tag's or a signature record's tree, written as its identity and found by it in the
    importing domain (pulp_container maps a Tag to its Manifest by digest the same way)."""

    def __init__(self):
        super().__init__(KickstartTree, field="identity")

    def get_queryset(self, value, row, *args, **kwargs):
        return KickstartTree.objects.filter(_pulp_domain=get_domain_pk(), made_here=False)

    def render(self, value, obj=None, **kwargs):
        return value.identity if value else ""


def _tree_field():
    return fields.Field(column_name="tree", attribute="tree", widget=TreeByIdentity())


class KickstartContentResource(BaseContentResource):
    """What every kickstart content resource shares: its version's units, one batch checked
    before any row is written, and stored units that never change."""

    def set_up_queryset(self):
        """The units of this model the exported repository version holds."""
        model = self._meta.model
        return model.objects.filter(pk__in=self.repo_version.content).order_by("pk")

    def dehydrate__pulp_domain(self, content):
        return str(content._pulp_domain_id)

    def import_data(self, dataset, **kwargs):
        """Check every row of the batch, then import it (pulpcore calls this per batch)."""
        self.check_rows(dataset.dict)
        return super().import_data(dataset, **kwargs)

    def check_rows(self, rows):
        """Raise ImportRefused naming the first row this Pulp must not store."""
        raise NotImplementedError

    def before_import_row(self, row, **kwargs):
        """The importing domain's, and the resource's own content type, whatever the row says."""
        super().before_import_row(row, **kwargs)
        row["pulp_type"] = self._meta.model.get_pulp_type()

    def import_instance(self, instance, row, **kwargs):
        """A new unit takes the row; a stored one only its link to the exporter's unit."""
        if instance._state.adding:
            return super().import_instance(instance, row, **kwargs)
        self.import_field(self.fields["upstream_id"], instance, row, **kwargs)
        return None

    class Meta:
        exclude = BaseContentResource.Meta.exclude


class KickstartTreeResource(KickstartContentResource):
    """Trees: every stored field; refused unless it is a tree a sync could have stored here."""

    files = _json_field("files", list)
    source = _json_field("source", dict)
    annotations = _json_field("annotations", dict)
    warnings = _json_field("warnings", list)
    manifest = fields.Field(
        column_name="manifest", attribute="manifest", widget=OptionalTextWidget()
    )

    def check_rows(self, rows):
        rows = list(rows)
        check_archive_artifacts(_files_named(rows))
        identities = [row.get("identity") for row in rows]
        stored = set(
            KickstartTree.objects.filter(
                identity__in=[i for i in identities if isinstance(i, str)],
                made_here=False,
                _pulp_domain=get_domain_pk(),
            ).values_list("identity", flat=True)
        )
        for row in rows:
            tree = check_tree_row(row)
            if tree["identity"] not in stored:
                check_stored_files(tree)

    def before_import_row(self, row, **kwargs):
        """Another Pulp made it: its own unit here, never the one a sync or upload makes."""
        super().before_import_row(row, **kwargs)
        row["made_here"] = False

    def save_instance(self, instance, is_create, row, **kwargs):
        """A new tree is stored with its files linked, as a sync stores one.

        pulpcore links files later (its ContentArtifact rows, after every resource): an
        import failing in between would leave a tree without files, which a later sync of
        the same tree would take as stored. pulpcore's rows then find these links and
        must agree with them (``_tree_files_only``).
        """
        super().save_instance(instance, is_create, row, **kwargs)
        if is_create:
            link_files(instance)

    class Meta:
        model = KickstartTree
        exclude = KickstartContentResource.Meta.exclude
        import_id_fields = model.natural_key_fields()


def check_tree_row(row):
    """The tree of an archive's row, as a sync would store it; ImportRefused naming it if not.

    The rules are netboot/stored.py's, which a replica's trees.json passes too: one tree,
    one set of rules, whichever way it comes from another Pulp. Returns ``{version, arch,
    digest, identity, files}`` with ``files`` the records as the tree stores them.
    """
    name = stored.name_of(row)
    what = _("tree {name}").format(name=name) if name else _("a tree")
    identity = row.get("identity")
    if grammar.matches(grammar.DIGEST, identity):
        what = _("{what} ({identity})").format(what=what, identity=identity)
    try:
        parsed = {}
        for column, kind in (
            ("files", list),
            ("source", dict),
            ("annotations", dict),
            ("warnings", list),
        ):
            try:
                parsed[column] = StrictJSONWidget(kind).clean(row.get(column))
            except ValueError as exc:
                raise ValueError(f"{column}: {exc}") from None
        tree = stored.check_tree({**row, **parsed})
    except (ValueError, TypeError) as exc:
        raise _refused(what, exc) from None
    files = tree.records()
    if files != parsed["files"]:  # the row's records are stored as they are: no stray None
        raise _refused(what, _("its file records are not in the form a tree stores them"))
    if tree_identity(tree.version, tree.arch, tree.digest, files) != tree.identity:
        raise _refused(
            what,
            _("its identity is not the one its release, architecture, digest and files give"),
        )
    return {
        "version": tree.version,
        "arch": tree.arch,
        "digest": tree.digest,
        "identity": tree.identity,
        "files": files,
    }


def check_stored_files(tree):
    """Every file of a tree new to this Pulp is an artifact here, with its size.

    Its bytes are known to be its sha256: it was stored by a download or an upload
    (which hash what they store), or it came with an import, and app/archive_bytes.py
    reads it back once (this archive's artifacts: ``check_archive_artifacts``).
    """
    what = _("tree {version}/{arch} ({identity})").format(**tree)
    for record in tree["files"]:
        path, sha256, size = record["path"], record["sha256"], record.get("size")
        artifact = Artifact.objects.filter(sha256=sha256, pulp_domain_id=get_domain_pk()).first()
        if artifact is None:
            raise _refused(
                what,
                _(
                    "{path} (sha256 {sha256}) is neither in the archive nor stored in this "
                    "Pulp; an incremental export carries only what its start versions lack: "
                    "import the export that carried it first"
                ).format(path=path, sha256=sha256),
            )
        if size is not None and artifact.size != size:
            raise _refused(
                what,
                _("{path}: the archive's artifact has {actual} bytes, the tree says {size}").format(
                    path=path, actual=artifact.size, size=size
                ),
            )
        try:
            right = archive_bytes.check(artifact)  # brought by an earlier import, unread
        except archive_bytes.WrongArchiveBytes as exc:
            raise _refused(what, f"{path}: {exc}") from None
        if not right:
            raise _refused(
                what,
                _(
                    "{path}: the bytes an earlier Pulp import stored for sha256 {sha256} were "
                    "not those bytes and are deleted; import an archive that carries the file"
                ).format(path=path, sha256=sha256),
            )


def link_files(tree):
    """The ContentArtifacts of a tree stored by an import: each file, its artifact here."""
    artifacts = dict(
        Artifact.objects.filter(
            sha256__in=[item["sha256"] for item in tree.files], pulp_domain_id=get_domain_pk()
        ).values_list("sha256", "pk")
    )
    ContentArtifact.objects.bulk_create(
        [
            ContentArtifact(
                content_id=tree.pk,
                artifact_id=artifacts[item["sha256"]],
                relative_path=f"{tree.tree_root}/{item['path']}",
            )
            for item in tree.files
        ],
        ignore_conflicts=True,
    )


def _files_named(rows):
    """{sha256: "tree V/A, path"} of the files the rows name (for errors; rows unchecked)."""
    named = {}
    for row in rows:
        try:
            files = StrictJSONWidget(list).clean(row.get("files"))
            root = stored.name_of(row)
            for item in files:
                if root and grammar.matches(grammar.PATH, item["path"]):
                    named.setdefault(item["sha256"], f"tree {root}, {item['path']}")
        except (ValueError, TypeError, KeyError):
            continue
    return named


def check_archive_artifacts(named):
    """Hash the bytes of every artifact this import's archive brought; ImportRefused if one
    is not the bytes its sha256 names (app/archive_bytes.py marks them).

    Done by the first kickstart repository of the import (once: a checked artifact loses
    its mark), so a wrong byte fails the import that brought it, not a later sync.
    ``named``: {sha256: which tree file of the batch it is}, for the error.
    """
    task = Task.current()
    group = task.task_group if task is not None else None
    if group is None:
        return  # not pulpcore's import (e.g. a unit test): no archive was unpacked
    archive_task = (
        group.tasks.filter(name=archive_bytes.ARCHIVE_TASK, started_at__isnull=False)
        .order_by("pulp_created")
        .first()
    )
    if archive_task is None:
        return
    brought = archive_bytes.marked_since(archive_task.started_at, task.pulp_created)
    with ProgressReport(
        message=_("Checking the bytes of the archive's artifacts"),
        code=ARTIFACTS_CHECKED,
        total=brought.count(),
    ) as report:
        for artifact in report.iter(brought.iterator()):
            what = _("{file} (sha256 {sha256})").format(
                file=named.get(artifact.sha256, _("an artifact no tree of it names")),
                sha256=artifact.sha256,
            )
            try:
                right = archive_bytes.check(artifact)
            except archive_bytes.WrongArchiveBytes as exc:
                raise _refused(what, exc) from None
            if not right:
                raise _refused(
                    what,
                    _(
                        "the bytes the archive holds for it are not those bytes (a damaged or "
                        "altered archive); they were not kept"
                    ),
                )


def _known_trees(rows):
    """{identity: (arch, version)} of the rows' trees this domain stores (one query per batch)."""
    identities = {row.get("tree") for row in rows if isinstance(row.get("tree"), str)}
    trees = KickstartTree.objects.filter(
        identity__in=identities, made_here=False, _pulp_domain=get_domain_pk()
    )
    return {
        identity: (arch, version)
        for identity, arch, version in trees.values_list("identity", "arch", "version")
    }


def _check_tree_of(row, known, what):
    tree = row.get("tree")
    if tree not in known:
        raise _refused(
            what,
            _("it names tree {identity}, which neither the archive nor this Pulp holds").format(
                identity=tree if grammar.matches(grammar.DIGEST, tree) else _("(not a digest)")
            ),
        )


class KickstartTagResource(KickstartContentResource):
    """Tags: name and arch, their tree by identity."""

    tree = _tree_field()

    def check_rows(self, rows):
        """Each tag as a sync stores it: its tree's architecture, one tree per name and arch
        (in a repository version a tag names one tree)."""
        rows = list(rows)
        known = _known_trees(rows)
        seen = {}
        for row in rows:
            name = row.get("name")
            what = (
                _("tag {name}").format(name=name)
                if grammar.matches(grammar.TAG, name)
                else _("a tag")
            )
            try:
                stored.check_tag(name)
                grammar.check(grammar.ARCH, row.get("arch"), "architecture")
            except ValueError as exc:
                raise _refused(what, exc) from None
            _check_tree_of(row, known, what)
            arch = row["arch"]
            tree_arch, version = known[row["tree"]]
            if tree_arch != arch:
                raise _refused(
                    what,
                    _("it is for {arch}, the tree it names is for {tree_arch}").format(
                        arch=arch, tree_arch=tree_arch
                    ),
                )
            try:
                stored.check_tag_of(name, version)
            except ValueError as exc:
                raise _refused(what, exc) from None
            if seen.setdefault((name, arch), row["tree"]) != row["tree"]:
                raise _refused(
                    what,
                    _("two rows name two trees with tag {name} for {arch}").format(
                        name=name, arch=arch
                    ),
                )

    class Meta:
        model = KickstartTag
        exclude = KickstartContentResource.Meta.exclude
        import_id_fields = model.natural_key_fields()


INDEX_FIELDS = ("tag", "digest", "media_type", "raw")


class KickstartIndexResource(KickstartContentResource):
    """Upstream indexes as a sync read them: refused unless the bytes are their digest's
    and an image index, so a push from the importing Pulp writes only what upstream did."""

    def check_rows(self, rows):
        for row in rows:
            tag = row.get("tag")
            what = (
                _("index {tag}").format(tag=tag)
                if grammar.matches(grammar.TAG, tag)
                else _("an index")
            )
            try:
                stored.check_index({key: row.get(key) for key in INDEX_FIELDS})
            except ValueError as exc:
                raise _refused(what, exc) from None

    class Meta:
        model = KickstartIndex
        exclude = KickstartContentResource.Meta.exclude
        import_id_fields = model.natural_key_fields()


class KickstartSignatureResource(KickstartContentResource):
    """Signature records, their tree by identity; imported as the exporter's (checked_here
    False): this Pulp's verifications are made by its syncs and verify_signatures only.
    A record's carrier (the manifest a push copies along) is checked as a push checks it."""

    tree = _tree_field()
    carrier = fields.Field(
        column_name="carrier", attribute="carrier", widget=OptionalJSONWidget(dict)
    )

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        row["checked_here"] = False  # a key field: the same record carried is its own unit
        row["tlog_checked"] = False  # nor was a transparency log consulted here

    def check_rows(self, rows):
        rows = list(rows)
        known = _known_trees(rows)
        for row in rows:
            kind = row.get("kind")
            what = _("signature record ({kind})").format(
                kind=kind if kind in RECORDED_KINDS else _("unknown kind")
            )
            try:
                kept = self.fields["carrier"].widget.clean(row.get("carrier"))
                stored.check_signature({**_native_booleans(row), "carrier": kept}, RECORDED_KINDS)
            except ValueError as exc:
                raise _refused(what, exc) from None
            _check_tree_of(row, known, what)

    class Meta:
        model = KickstartSignature
        exclude = KickstartContentResource.Meta.exclude
        import_id_fields = model.natural_key_fields()


class KickstartReleaseIndexResource(KickstartContentResource):
    """A CoreOS stream's release history (what an update graph serves): its record checked
    again as a sync reads one (netboot/cincinnati.py) and its identity recomputed, so a
    disconnected site's graph is what the connected side synced."""

    record = _json_field("record", dict)

    def check_rows(self, rows):
        for row in rows:
            stream = row.get("stream")
            what = _("release index of stream {stream!r}").format(
                stream=stream if grammar.matches(grammar.TAG, stream) else "?"
            )
            try:
                cincinnati.carried(
                    stream, row.get("identity"), self.fields["record"].clean(row), _("record")
                )
            except (ValueError, KeyError) as exc:
                raise _refused(what, exc) from None

    class Meta:
        model = KickstartReleaseIndex
        exclude = KickstartContentResource.Meta.exclude
        import_id_fields = model.natural_key_fields()


def _native_booleans(row):
    """A signature row with ``tlog_checked`` as JSON writes it (import-export renders a
    boolean as "1" or "0"); any other value stays, for the check to refuse."""
    value = row.get("tlog_checked")
    if isinstance(value, str):
        value = {"1": True, "0": False}.get(value, value)
    return {**row, "tlog_checked": value}


class KickstartRepositoryResource(RepositoryResource):
    """The repository (created on import when asked), without last_sync_details: what the
    exporter's last sync depended on upstream says nothing about this Pulp."""

    def set_up_queryset(self):
        return KickstartRepository.objects.filter(pk=self.repo_version.repository_id)

    class Meta:
        model = KickstartRepository
        exclude = RepositoryResource.Meta.exclude + ("last_sync_details",)


IMPORT_ORDER = [
    KickstartTreeResource,
    KickstartTagResource,
    KickstartIndexResource,
    KickstartSignatureResource,
    KickstartReleaseIndexResource,
    KickstartRepositoryResource,
]


@receiver(pre_save, sender=ContentArtifact)
def _tree_files_only(sender, instance, raw=False, **kwargs):
    """A ContentArtifact of kickstart content is one of its tree's files, with its bytes.

    pulpcore's import saves one ContentArtifact per archive row, and updates one that
    exists (same content and relative path) to the archive's artifact: without this, an
    archive naming a stored tree could change what every repository holding it serves,
    or add a file to it. The content app's first on_demand fetch saves one too (the
    artifact the downloader verified). Syncs create theirs in bulk, not through here.
    """
    content = instance.content
    if raw or content is None or not content.pulp_type.startswith("kickstart."):
        return
    if content.pulp_type != KickstartTree.get_pulp_type():
        raise ValueError(_("kickstart tags and signature records have no files"))
    tree = KickstartTree.objects.only("version", "arch", "files").get(pk=content.pk)
    expected = {f"{tree.tree_root}/{item['path']}": item["sha256"] for item in tree.files}
    path = instance.relative_path
    if path not in expected:
        raise ValueError(
            _("{path} is not a file of tree {root}").format(path=path, root=tree.tree_root)
        )
    if instance.artifact_id is not None and instance.artifact.sha256 != expected[path]:
        raise ValueError(
            _("{path}: the artifact is not the tree's file (sha256 {sha256})").format(
                path=path, sha256=expected[path]
            )
        )
    if instance.artifact_id is not None and not archive_bytes.check(instance.artifact):
        raise ValueError(
            _(
                "{path}: the bytes a Pulp import stored for sha256 {sha256} were not those bytes"
            ).format(path=path, sha256=expected[path])
        )
