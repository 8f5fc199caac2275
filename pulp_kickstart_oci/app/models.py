import hashlib
import json
import os
from functools import cached_property
from gettext import gettext as _
from logging import getLogger
from urllib.parse import urlsplit

from aiohttp import web
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models import Q
from django_lifecycle import AFTER_UPDATE, hook

from pulpcore.plugin.models import (
    Artifact,
    AutoAddObjPermsMixin,
    BaseModel,
    Content,
    Distribution,
    Remote,
    Repository,
)
from pulpcore.plugin.repo_version_utils import remove_duplicates, validate_repo_version
from pulpcore.plugin.util import get_domain_pk

from . import documents
from .netboot import cincinnati
from .registry.auth import RegistryAuth
from .signatures.keys import KINDS, OPENPGP

log = getLogger(__name__)


def tree_identity(version, arch, digest, files):
    """What makes two trees different: release, arch, upstream digest and the file set.

    The same manifest under another release tag, or assembled into another
    file set, is another tree: its files live at other paths.
    """
    canonical = json.dumps(
        {
            "version": version,
            "arch": arch,
            "digest": digest,
            "files": sorted([item["path"], item["sha256"]] for item in files),
        },
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class KickstartTree(Content):
    """
    One release and architecture of network-install boot files.

    Its files are ContentArtifacts at ``<version>/<arch>/<tree path>``, so a
    repository version serves them as an Anaconda tree. ``digest`` is the
    upstream manifest digest; ``identity`` (see tree_identity) is the unit's
    key, so one manifest synced twice as the same tree is one unit.

    ``made_here``: True for a tree this Pulp made (a sync from upstream, an upload);
    False for one another Pulp made and an import or a replication carried here. It is
    part of the unit key: the identity covers a tree's files, not every fact another
    Pulp states about them (roles, release name, provenance), so a sync or upload here
    never takes a carried unit for the tree it makes, nor the other way round.
    """

    TYPE = "tree"
    repo_key_fields = ("version", "arch")

    version = models.TextField()
    arch = models.TextField()
    oci_arch = models.TextField()
    digest = models.TextField()
    source = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    files = models.JSONField(default=list)
    warnings = models.JSONField(default=list)
    identity = models.TextField()
    made_here = models.BooleanField(default=True)
    kind = models.TextField(default="anaconda")  # netboot/layout.TREE_KINDS; boot/kinds.py
    # The manifest exactly as the registry sent it (its sha256 is ``digest``), so a push
    # writes the same bytes back and the publisher's signatures on the digest stay valid.
    # None for trees made from dnf, CoreOS or uploads, and registry trees synced before it.
    manifest = models.TextField(null=True)
    _pulp_domain = models.ForeignKey("core.Domain", default=get_domain_pk, on_delete=models.PROTECT)

    @property
    def tree_root(self):
        """``<version>/<arch>``: where the tree's files are stored and served."""
        return f"{self.version}/{self.arch}"

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        unique_together = ("identity", "made_here", "_pulp_domain")


class KickstartTag(Content):
    """An upstream tag (``42``, ``42-amd64``) naming a tree, as a repository version saw it.

    Tags move upstream (``42`` is re-pointed at every respin): which tag names
    which tree is a fact of a repository version, not of the tree. An index tag
    names one tree per architecture, so a version holds at most one tag per name
    and arch, and a moved tag makes a new version.
    """

    TYPE = "tag"
    repo_key_fields = ("name", "arch")

    name = models.TextField()
    arch = models.TextField()  # the tree's: one index tag names a tree per arch
    tree = models.ForeignKey(KickstartTree, related_name="tags", on_delete=models.CASCADE)
    _pulp_domain = models.ForeignKey("core.Domain", default=get_domain_pk, on_delete=models.PROTECT)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        unique_together = ("name", "tree", "_pulp_domain")


class KickstartIndex(Content):
    """An upstream image index exactly as the registry sent it under a tag (``42``).

    What a push writes back under the same tag, byte for byte, when the version holds
    every manifest it lists (tasks/pushing.py), so the index digest and the signatures on
    it stay valid. Like a tag, a version holds at most one per tag name.
    """

    TYPE = "index"
    repo_key_fields = ("tag",)

    tag = models.TextField()
    digest = models.TextField()
    media_type = models.TextField()
    raw = models.TextField()
    _pulp_domain = models.ForeignKey("core.Domain", default=get_domain_pk, on_delete=models.PROTECT)

    @property
    def identity(self):
        """What tells two indexes apart in a sync's fingerprint."""
        return f"{self.tag}@{self.digest}"

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        unique_together = ("tag", "digest", "_pulp_domain")


class KickstartSignature(Content):
    """A signature Pulp verified on a tree, as content of the repository versions it holds for.

    Content never changes after it is saved: a verification a sync makes is a new
    unit in a new repository version (as pulp_container keeps ManifestSignature), so
    what a published version vouches for is fixed. ``kind`` is how it was checked
    (``cosign``, ``sigstore-bundle``, ``openpgp`` on a manifest or index digest;
    ``rpm``: every RPM a dnf tree was built from verified against the keyring whose
    fingerprints ``key`` lists), ``signed_digest`` what it covers, ``reference`` the
    docker-reference the publisher signed (or the dnf tree's URL), ``tlog_checked``
    always False (verification is offline, see signatures/result.py). ``checked_here``:
    True when this Pulp made the check; False for another Pulp's check carried here by
    an import or a replication (docs/disconnected.md). A sync never takes such a record
    as vouching for a tree; the repository's verify action checks the tree again with
    this Pulp's keys.
    """

    TYPE = "signature"

    tree = models.ForeignKey(KickstartTree, related_name="signatures", on_delete=models.CASCADE)
    kind = models.TextField()
    key = models.TextField()
    signed_digest = models.TextField()
    reference = models.TextField(default="", blank=True)
    tlog_checked = models.BooleanField(default=False)
    checked_here = models.BooleanField(default=True)
    # The registry manifest that carried the signature, as sent, with its small blobs
    # (netboot/carrier.py), so a push may copy it along; None for OpenPGP lookaside and
    # rpm checks, and for records made before it was kept.
    carrier = models.JSONField(null=True)
    _pulp_domain = models.ForeignKey("core.Domain", default=get_domain_pk, on_delete=models.PROTECT)

    @classmethod
    def checked_by_this_pulp(cls):
        """The verifications of this domain that this Pulp made (what may vouch for a tree)."""
        return cls.objects.filter(checked_here=True, _pulp_domain=get_domain_pk())

    def record(self):
        """The verification as trees.json and the API's trees view show it."""
        return {
            "kind": self.kind,
            "key": self.key,
            "signed_digest": self.signed_digest,
            "reference": self.reference or None,
            "tlog_checked": self.tlog_checked,
            "checked_here": self.checked_here,
            "verified_at": self.pulp_created.isoformat(),
            **({"carrier": self.carrier} if self.carrier is not None else {}),
        }

    @classmethod
    def of_version(cls, version):
        """{tree pk: [records]}: the verifications ``version`` holds, per tree."""
        found = {}
        if version is not None:
            for signature in cls.objects.filter(pk__in=version.content).order_by("pulp_created"):
                found.setdefault(signature.tree_id, []).append(signature.record())
        return found

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        unique_together = (
            "tree",
            "kind",
            "key",
            "signed_digest",
            "reference",
            "checked_here",
            "_pulp_domain",
        )


class KickstartReleaseIndex(Content):
    """A CoreOS stream's release history and update policy, as a repository version saw it.

    What a distribution's update graph (Cincinnati, ``<base>/v1/graph``) is built from:
    every release of the stream (not only those whose trees are synced), its OSTree commit
    and OCI image per architecture, and its barrier, dead end or rollout
    (netboot/cincinnati.py). ``record`` is that module's record, checked again wherever it
    is read; ``identity`` its sha256, so the same index synced twice is one unit. A version
    holds at most one per stream.
    """

    TYPE = "release_index"
    repo_key_fields = ("stream",)

    stream = models.TextField()
    record = models.JSONField(default=dict)
    identity = models.TextField()
    _pulp_domain = models.ForeignKey("core.Domain", default=get_domain_pk, on_delete=models.PROTECT)

    @staticmethod
    def identity_of(record):
        """The unit key of a record: the sha256 of its canonical JSON."""
        return cincinnati.identity(record)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        unique_together = ("identity", "_pulp_domain")


class SignatureTrust(models.Model):
    """What a remote trusts its publisher's signatures by: keys and a policy (one trust model).

    Shared by every kickstart remote (docs/signatures.md). ``signature_keys``: public
    keys only (OpenPGP armored keys, PEM keys), so readable back. ``signature_policy``:
    ``none`` (nothing is looked at), ``if_present`` (every signature found must verify),
    ``required`` (every tree needs one that verifies).
    """

    SIGNATURE_NONE = "none"
    SIGNATURE_IF_PRESENT = "if_present"
    SIGNATURE_REQUIRED = "required"
    SIGNATURE_POLICIES = (
        (SIGNATURE_NONE, SIGNATURE_NONE),
        (SIGNATURE_IF_PRESENT, SIGNATURE_IF_PRESENT),
        (SIGNATURE_REQUIRED, SIGNATURE_REQUIRED),
    )

    # The kinds of key the remote verifies with (signatures/keys.py), and what with them.
    SIGNATURE_KEY_KINDS = KINDS
    SIGNATURE_KEY_USE = _("publisher signatures")

    signature_keys = models.TextField(null=True)
    signature_policy = models.TextField(choices=SIGNATURE_POLICIES, default=SIGNATURE_NONE)

    class Meta:
        abstract = True


def _download_factory(remote, downloader_class):
    """One factory per remote object: ``downloader_class`` under the remote's FetchPolicy."""
    # Imported here: the download machinery is not needed to load the models.
    from .downloads import PolicyDownloaderFactory

    factory = getattr(remote, "_download_factory", None)
    if factory is None:
        factory = PolicyDownloaderFactory(remote, downloader_class)
        remote._download_factory = factory
    return factory


class KickstartOciRemote(SignatureTrust, Remote, AutoAddObjPermsMixin):
    """A registry repository that publishes netboot trees as OCI artifacts."""

    TYPE = "oci"
    DEFAULT_DOWNLOAD_CONCURRENCY = 5

    upstream_name = models.TextField()
    include_tags = ArrayField(models.TextField(), null=True)
    exclude_tags = ArrayField(models.TextField(), null=True)
    architectures = ArrayField(models.TextField(), null=True)
    # Where publisher signatures are found besides the registry (docs/signatures.md).
    signature_lookaside = models.TextField(null=True)
    signature_identity_check = models.BooleanField(default=True)
    # Origins beyond the remote's own (fetch_policy.py): where upstream may redirect
    # digest-pinned reads (a blob CDN), and token services that may get the credentials.
    redirect_origins = ArrayField(models.TextField(), null=True)
    token_origins = ArrayField(models.TextField(), null=True)

    @cached_property
    def registry_auth(self):
        """Tokens and challenges learnt from the registry, kept for this remote object only."""
        return RegistryAuth(self.username, self.password, origin=self.url)

    @property
    def download_factory(self):
        """pulpcore's factory building RegistryDownloaders (registry auth, byte caps)."""
        from .registry.downloader import RegistryDownloader

        return _download_factory(self, RegistryDownloader)

    def get_downloader(self, remote_artifact=None, url=None, download_factory=None, **kwargs):
        """Hand every downloader this remote's RegistryAuth: a token one learns serves all."""
        kwargs.setdefault("registry_auth", self.registry_auth)
        return super().get_downloader(
            remote_artifact=remote_artifact, url=url, download_factory=download_factory, **kwargs
        )

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("manage_roles_kickstartociremote", "Can manage roles on kickstart OCI remotes"),
        ]


class KickstartDnfRemote(SignatureTrust, Remote, AutoAddObjPermsMixin):
    """A dnf install tree (``.../releases/42/Everything/x86_64/os/``) to assemble a tree from.

    Images come from the tree's ``.treeinfo``; shim, GRUB and PXELINUX come out
    of the newest matching RPMs in its repodata.
    """

    TYPE = "dnf"
    SIGNATURE_KEY_KINDS = (OPENPGP,)  # rpmkeys checks OpenPGP signatures only
    SIGNATURE_KEY_USE = _("RPM signatures")

    skip_files = ArrayField(models.TextField(), null=True)
    bootloader_packages = models.JSONField(null=True)
    redirect_origins = ArrayField(models.TextField(), null=True)  # mirrors for pinned files

    @property
    def download_factory(self):
        """pulpcore's HTTP downloader with byte caps (see downloads.py)."""
        from .downloads import CappedHttpDownloader

        return _download_factory(self, CappedHttpDownloader)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("manage_roles_kickstartdnfremote", "Can manage roles on kickstart dnf remotes"),
        ]


class KickstartPulpRemote(Remote, AutoAddObjPermsMixin):
    """A kickstart distribution another Pulp serves (its base URL): a replica's upstream.

    The trees, their files, tags and verification records come from the
    distribution's ``trees.json``; every file is fetched below ``url`` and checked
    against the sha256 and size published there (sources/pulp.py). No publisher
    signatures are verified here: the upstream Pulp serves records of its checks,
    not the signatures (they are kept with ``checked_here`` False).
    """

    TYPE = "pulp"

    architectures = ArrayField(models.TextField(), null=True)
    # Where the upstream content app may redirect file reads (its object storage).
    redirect_origins = ArrayField(models.TextField(), null=True)

    @property
    def download_factory(self):
        """pulpcore's HTTP downloader with byte caps (see downloads.py)."""
        from .downloads import CappedHttpDownloader

        return _download_factory(self, CappedHttpDownloader)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("manage_roles_kickstartpulpremote", "Can manage roles on kickstart Pulp remotes"),
        ]


class KickstartCoreosRemote(SignatureTrust, Remote, AutoAddObjPermsMixin):
    """A CoreOS stream metadata document (Fedora's ``streams/stable.json``; RHCOS and SCOS
    streams of the same schema): one tree per architecture of the stream's current release.

    Requests go under the document's origin (``fetch_base``): Fedora publishes the document
    at ``/streams/`` and the files at ``/prod/streams/`` of the same origin. Files are pinned
    by the document's sha256, so ``redirect_origins`` may name where they are mirrored.
    Each file's detached OpenPGP signature (``<file>.sig``) is checked under the remote's
    policy and served beside it (sources/coreos.py).
    """

    TYPE = "coreos"
    SIGNATURE_KEY_KINDS = (OPENPGP,)  # detached OpenPGP signatures over each file
    SIGNATURE_KEY_USE = _("CoreOS release signatures")

    architectures = ArrayField(models.TextField(), null=True)
    # Files beyond the live PXE ones (netboot/coreos.EXTRAS): the metal disk image, the ISO.
    extras = ArrayField(models.TextField(), null=True)
    # Where the stream's release index and update policy are (Fedora CoreOS only): the
    # update graph a distribution serves is built from them (netboot/cincinnati.py).
    release_index_url = models.TextField(null=True)
    updates_url = models.TextField(null=True)
    redirect_origins = ArrayField(models.TextField(), null=True)

    @property
    def fetch_base(self):
        """What the fetch policy keeps requests under: the origin of the stream document."""
        parsed = urlsplit(self.url)
        return f"{parsed.scheme}://{parsed.netloc}/"

    @property
    def download_factory(self):
        """pulpcore's HTTP downloader with byte caps (see downloads.py)."""
        from .downloads import CappedHttpDownloader

        return _download_factory(self, CappedHttpDownloader)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("manage_roles_kickstartcoreosremote", "Can manage roles on kickstart CoreOS remotes"),
        ]


class KickstartRepository(Repository, AutoAddObjPermsMixin):
    """Versioned netboot trees; a version holds at most one tree per release and arch."""

    TYPE = "kickstart"
    CONTENT_TYPES = [
        KickstartTree,
        KickstartTag,
        KickstartIndex,
        KickstartSignature,
        KickstartReleaseIndex,
    ]
    REMOTE_TYPES = [
        KickstartOciRemote,
        KickstartDnfRemote,
        KickstartPulpRemote,
        KickstartCoreosRemote,
    ]

    # What the last successful sync depended on (see tasks.synchronizing.sync_details).
    last_sync_details = models.JSONField(default=dict)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("sync_kickstartrepository", "Can start a sync task"),
            ("modify_kickstartrepository", "Can modify content of the repository"),
            ("manage_roles_kickstartrepository", "Can manage roles on kickstart repositories"),
            ("repair_kickstartrepository", "Can repair repository versions"),
        ]

    def finalize_new_version(self, new_version):
        """A newer tree for the same release and arch replaces the older one.

        A tag or a verification whose tree is no longer in the version goes with it.
        """
        remove_duplicates(new_version)
        trees = new_version.content.filter(pulp_type=KickstartTree.get_pulp_type())
        for about_a_tree in (KickstartTag, KickstartSignature):
            orphans = about_a_tree.objects.filter(pk__in=new_version.content).exclude(
                tree__in=trees.values("pk")
            )
            if orphans.exists():
                new_version.remove_content(orphans)
        validate_repo_version(new_version)


# What every response of a kickstart distribution carries: a browser neither guesses a
# type nor runs anything it serves (files and generated documents alike).
PASSIVE_CONTENT = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


class KickstartDistribution(Distribution, AutoAddObjPermsMixin):
    """Serves a repository (its latest version) or a fixed version as netboot trees."""

    TYPE = "kickstart"
    SERVE_FROM_PUBLICATION = False

    COREOS_LIVE = "live"
    COREOS_INSTALL = "install"
    COREOS_BOOTS = ((COREOS_LIVE, COREOS_LIVE), (COREOS_INSTALL, COREOS_INSTALL))

    kernel_args = models.TextField(default="", blank=True)
    kickstart_url = models.TextField(null=True)
    # Where generated documents send machines (scheme://host[:port]); None: CONTENT_ORIGIN.
    boot_origin = models.TextField(null=True)
    # How CoreOS trees boot (boot/kinds.py): the live system, or coreos-installer to disk.
    coreos_boot = models.TextField(choices=COREOS_BOOTS, default=COREOS_LIVE)
    ignition_url = models.TextField(null=True)
    install_device = models.TextField(null=True)
    # The update graph's OCI payloads name this repository instead of upstream's (None: keep).
    graph_payload_repository = models.TextField(null=True)
    # The bootable container an Anaconda tree's bootc.ks installs (None: no bootc.ks), how
    # Anaconda reaches it (a registry, or an OCI layout on the install media), whether its
    # signature must verify, and whether boot configs point inst.ks at bootc.ks.
    BOOTC_REGISTRY = "registry"
    BOOTC_OCI = "oci"
    BOOTC_TRANSPORTS = ((BOOTC_REGISTRY, BOOTC_REGISTRY), (BOOTC_OCI, BOOTC_OCI))
    bootc_image = models.TextField(null=True)
    bootc_transport = models.TextField(choices=BOOTC_TRANSPORTS, default=BOOTC_REGISTRY)
    bootc_verify_signature = models.BooleanField(default=True)
    bootc_kickstart = models.BooleanField(default=False)

    BOOT_FIELDS = (
        "kernel_args",
        "kickstart_url",
        "boot_origin",
        "coreos_boot",
        "ignition_url",
        "install_device",
        "graph_payload_repository",
        "bootc_image",
        "bootc_transport",
        "bootc_verify_signature",
        "bootc_kickstart",
    )

    @hook(AFTER_UPDATE, when_any=list(BOOT_FIELDS), has_changed=True)
    def invalidate_boot_configs(self):
        """Boot configs carry these fields: drop what the content cache holds for them."""
        self.invalidate_cache()

    def served_version(self):
        """The repository version served now (the pinned one, or the latest), or None."""
        _, version, _ = self.get_repository_publication_and_version()
        return version

    @staticmethod
    def trees_of(version):
        """The trees of ``version`` (none for None), without their kept manifests (only
        trees.json shows them: ``served_manifests``)."""
        if version is None:
            return KickstartTree.objects.none()
        return KickstartTree.objects.filter(pk__in=version.content).defer("manifest")

    @staticmethod
    def served_manifests(version):
        """{tree pk: manifest text}: the manifests the trees of ``version`` keep as sent."""
        if version is None:
            return {}
        kept = KickstartTree.objects.filter(pk__in=version.content, manifest__isnull=False)
        return dict(kept.values_list("pk", "manifest"))

    @staticmethod
    def served_indexes(version):
        """The upstream indexes ``version`` holds (KickstartIndex), by tag."""
        if version is None:
            return KickstartIndex.objects.none()
        return KickstartIndex.objects.filter(pk__in=version.content).order_by("tag")

    def served_signatures(self, version):
        """{tree pk: [verification records]}: the signatures ``version`` holds for each tree."""
        return KickstartSignature.of_version(version)

    def served_release_index(self, stream):
        """The release index of ``stream`` in the served version (the update graph's), or None."""
        version = self.served_version()
        if version is None:
            return None
        return KickstartReleaseIndex.objects.filter(pk__in=version.content, stream=stream).first()

    def served_release_indexes(self, version):
        """The release indexes in ``version`` (one per CoreOS stream), by stream."""
        if version is None:
            return KickstartReleaseIndex.objects.none()
        return KickstartReleaseIndex.objects.filter(pk__in=version.content).order_by("stream")

    def served_tags(self, version):
        """{tree pk: [tag names]}: the upstream tags naming each tree in ``version``."""
        tags = {}
        if version is not None:
            named = KickstartTag.objects.filter(pk__in=version.content)
            for name, tree_pk in named.values_list("name", "tree_id"):
                tags.setdefault(tree_pk, []).append(name)
        return tags

    def content_handler(self, path):
        """pulpcore's hook: a generated document at ``path`` (below the base path), or None.

        pulpcore has matched the distribution (in its domain), checked its content
        guard, and caches what this returns (invalidated on a new version and on a
        change of the distribution). A path that names no document kind returns None
        before any query, so pulpcore serves files and listings as it does; a
        document of a tree the served version does not hold is a 404 pulpcore never
        caches (one entry per made-up release would let any client fill Redis).
        """
        located = documents.locate(path)
        if located is None:
            return None
        try:
            document = documents.render(self, located)
        except documents.TreeNotServed:
            raise web.HTTPNotFound() from None
        if document is None:
            return None  # this tree has no such document: a file of that name, or 404
        if isinstance(document, documents.Redirect):
            # An alias path's file: the newest tree's own URL (cached until a new version).
            # A body, since pulpcore's content cache stores one for every response.
            return web.Response(
                status=302,
                text=document.location + "\n",
                headers={"Location": document.location, **PASSIVE_CONTENT},
            )
        # Range is ignored (RFC 9110 allows it): a part must never be cached as the document.
        headers = {
            "Content-Type": document.content_type,
            "Accept-Ranges": "none",
            **PASSIVE_CONTENT,
        }
        return web.Response(body=document.body, headers=headers)

    def content_headers_for(self, path):
        """pulpcore's hook for the files it serves: bytes to boot, never a page to run.

        A tree's files come from upstreams and uploaders (``extra/`` holds files of any
        name): served as ``application/octet-stream`` whatever their name, not sniffed,
        and sandboxed, a browser never runs an ``.html`` or ``.svg`` among them in this
        Pulp's origin. Boot loaders and installers ignore the type.
        """
        return {"Content-Type": "application/octet-stream", **PASSIVE_CONTENT}

    def content_handler_list_directory(self, rel_path):
        """pulpcore's hook: the generated documents appear in directory listings."""
        return documents.listing(self, rel_path)

    class Meta:
        default_related_name = "%(app_label)s_%(model_name)s"
        permissions = [
            ("manage_roles_kickstartdistribution", "Can manage roles on kickstart distributions"),
        ]


class ExportDirectoryRefused(Exception):
    """A distribution may not export to this directory; the message names the owner and why."""


class KickstartExportDirectory(BaseModel):
    """A directory on the workers' filesystem that one distribution's exports write to.

    What TFTP or nginx hands to machines: exports never write into, or prune, a
    directory of another distribution (tasks/exporting.py). ``path`` is resolved and
    absolute, unique across the whole Pulp (the filesystem is not per domain); directories
    do not nest. ``written`` lists the relative paths the last export wrote there: the only
    files a later export may remove. Deleting the distribution deletes this record and
    leaves the files on disk (machines may still boot from them); the directory can then be
    claimed again once empty, or by an administrator (see ``check_claim``).
    """

    # Needed on the owner to export there, and at the model level (every distribution)
    # to claim a directory that holds files no distribution exported.
    PERMISSION = "kickstart.change_kickstartdistribution"

    path = models.TextField(unique=True)
    distribution = models.ForeignKey(
        KickstartDistribution, related_name="export_directories", on_delete=models.CASCADE
    )
    written = models.JSONField(default=list)

    @classmethod
    def around(cls, path):
        """The recorded directories at ``path``, above it or below it (``written`` left out)."""
        parts = path.rstrip("/").split("/")
        above = ["/".join(parts[:n]) or "/" for n in range(1, len(parts) + 1)]
        return (
            cls.objects.filter(Q(path__in=above) | Q(path__startswith=path.rstrip("/") + "/"))
            .select_related("distribution")
            .defer("written")
        )

    @classmethod
    def check_claim(cls, distribution, path, *, may_take_over, may_adopt, may_see=None):
        """The record of ``path`` (None if it has none), or ExportDirectoryRefused.

        The rules, in order: directories never nest (each export would write into the
        other); a directory of another distribution needs ``may_take_over(owner)`` (the
        API: PERMISSION on the owner); an unrecorded directory holding files (an earlier
        plugin's export, a deleted distribution's, an admin's) needs ``may_adopt`` (the
        API: PERMISSION at the model level). A refusal names the owner only when
        ``may_see(owner)`` (the API: the user may view it; None: always): the filesystem
        is shared by every domain, its tenants are not.
        """

        def _owner_name(owner):
            if may_see is not None and not may_see(owner):
                return _("another distribution (one you may not view)")
            return _named(owner)

        record = None
        for other in cls.around(path):
            if other.path == path:
                record = other
                continue
            # The other directory's path is not named: below ``path`` it is another
            # tenant's, which the user did not type.
            if path.startswith(other.path + "/"):
                problem = _("'{path}' is inside the export directory of {owner}")
            else:
                problem = _("'{path}' holds the export directory of {owner}")
            raise ExportDirectoryRefused(
                problem.format(path=path, owner=_owner_name(other.distribution))
                + _(": export directories do not nest.")
            )
        if record is None:
            if not may_adopt and cls.holds_files(path):
                raise ExportDirectoryRefused(
                    _(
                        "'{path}' holds files no distribution exported there; exporting there "
                        "needs an empty directory, or {permission} on every distribution "
                        "(an administrator's role)."
                    ).format(path=path, permission=cls.PERMISSION)
                )
        elif record.distribution_id != distribution.pk and not may_take_over(record.distribution):
            owner = _owner_name(record.distribution)
            raise ExportDirectoryRefused(
                _(
                    "'{path}' is the export directory of {owner}; exporting there "
                    "needs {permission} on its distribution."
                ).format(path=path, owner=owner, permission=cls.PERMISSION)
            )
        return record

    @staticmethod
    def holds_files(path):
        """True when the directory ``path`` exists and is not empty."""
        try:
            with os.scandir(path) as entries:
                return any(True for _entry in entries)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise ExportDirectoryRefused(
                _("Cannot read '{path}': {reason}").format(path=path, reason=exc.strerror)
            ) from None

    @classmethod
    def claim(cls, distribution, path, **rules):
        """``check_claim`` and record ``path`` as ``distribution``'s, atomically; the full record.

        The table is locked for the transaction: two claims of nested or equal paths
        run one after the other, so the second sees the first. A directory handed over
        keeps ``written``, so its new owner's export removes what the old one left.
        """
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'LOCK TABLE "{cls._meta.db_table}" IN SHARE ROW EXCLUSIVE MODE')
            record = cls.check_claim(distribution, path, **rules)
            if record is None:
                return cls.objects.create(path=path, distribution=distribution)
            if record.distribution_id != distribution.pk:
                record.distribution = distribution
                record.save(update_fields=["distribution", "pulp_last_updated"])
            return cls.objects.get(pk=record.pk)


def _named(distribution):
    """ "distribution 'name'", and its domain when domains are on: a directory is not per domain."""
    if settings.DOMAIN_ENABLED:
        return _("distribution '{name}' (domain '{domain}')").format(
            name=distribution.name, domain=distribution.pulp_domain.name
        )
    return _("distribution '{name}'").format(name=distribution.name)


class KickstartArchiveArtifact(BaseModel):
    """An artifact a Pulp import brought, whose bytes this Pulp has not read yet.

    pulpcore copies an archive's artifacts into storage without reading them, named by
    content or not; a later sync or upload would take one for the file its sha256 names.
    Every place the plugin links an artifact to a tree reads such an artifact first
    (app/archive_bytes.py); this row goes once its bytes are found to be its sha256.
    """

    artifact = models.OneToOneField(Artifact, on_delete=models.CASCADE, related_name="+")
