import copy
import os
import re
from gettext import gettext as _
from urllib.parse import unquote, urlparse

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from pulpcore.plugin import models as core_models
from pulpcore.plugin.serializers import (
    DetailRelatedField,
    DistributionSerializer,
    NoArtifactContentSerializer,
    RelatedField,
    RemoteSerializer,
    RepositorySerializer,
    RepositorySyncURLSerializer,
    RepositoryVersionRelatedField,
    ValidateFieldsMixin,
    validate_unknown_fields,
)

from . import documents
from .boot import configs
from .boot.bootc import INCLUDABLE as BOOTC_INCLUDABLE
from .boot.configs import MAX_COMMAND_LINE, MAX_DISTRIBUTION_ARGUMENTS, script_safe
from .fetch_policy import FetchRefused, normalized, parse_origins
from .models import (
    ExportDirectoryRefused,
    KickstartCoreosRemote,
    KickstartDistribution,
    KickstartDnfRemote,
    KickstartExportDirectory,
    KickstartIndex,
    KickstartOciRemote,
    KickstartPulpRemote,
    KickstartReleaseIndex,
    KickstartRepository,
    KickstartSignature,
    KickstartTag,
    KickstartTree,
    SignatureTrust,
)
from .netboot import arch as archs
from .netboot import cincinnati, grammar, imageref, layout, stored
from .netboot import coreos as coreos_stream
from .serving import MAX_ORIGIN_LENGTH, allowed_boot_hosts, origin_host, parse_origin
from .signatures import SignatureError, parse_keys
from .signatures import policy as signature_policy
from .signatures.result import RECORDED_KINDS


class TreeFileSerializer(serializers.Serializer):
    """One file of a tree (documentation of the ``files`` items)."""

    name = serializers.CharField(help_text=_("The upstream name (OCI layer title)."))
    path = serializers.CharField(help_text=_("Path relative to the tree root."))
    role = serializers.ChoiceField(choices=layout.ROLES, help_text=_("What the file is for."))
    size = serializers.IntegerField(help_text=_("Size in bytes."))
    sha256 = serializers.CharField(help_text=_("SHA-256 of the file, hex."))
    media_type = serializers.CharField(help_text=_("The upstream layer media type."))
    package = serializers.CharField(
        required=False, help_text=_("dnf trees: NEVRA of the RPM the file was taken from.")
    )
    rpm_sha256 = serializers.CharField(
        required=False, help_text=_("dnf trees: SHA-256 of that RPM.")
    )
    source_path = serializers.CharField(
        required=False, help_text=_("dnf trees: the file's path in the tree or in the RPM.")
    )


class StoredRecordsSerializer(serializers.ListSerializer):
    """A stored JSON list of records (``files``, ``signatures``) shown as stored.

    Each record was written in its child serializer's shape (``TreeFile.record()``,
    a verification record); it is cut to the child's fields without running each
    field on each record, which was most of a 1,000-tree page's time.
    """

    def to_representation(self, data):
        """Each record with the child's fields, in the child's order."""
        names = [name for name, field in self.child.fields.items() if not field.write_only]
        return [{name: record[name] for name in names if name in record} for record in data]


SIGNATURE_KINDS = RECORDED_KINDS
SIGNATURE_HELP = {
    "kind": _(
        "How it was verified: a cosign signature, a sigstore bundle or an OpenPGP simple "
        "signature on the tree's manifest or index; 'rpm': every RPM the dnf tree was "
        "built from verified against a keyring; 'openpgp-detached': every file of a "
        "CoreOS tree verified against its detached OpenPGP signature."
    ),
    "key": _(
        "The trusted key that verified it: 'sha256:<hex>' of a PEM key's DER, or an "
        "OpenPGP fingerprint; for 'rpm' and 'openpgp-detached', the fingerprints of the keys "
        "that signed, sorted, comma-separated."
    ),
    "signed_digest": _(
        "The digest the signature covers: the tree's manifest, or its index (the dnf "
        "tree's digest for 'rpm', the CoreOS tree's digest for 'openpgp-detached')."
    ),
    "reference": _(
        "The docker-reference the publisher signed (null for sigstore bundles); for "
        "'rpm', the dnf tree's URL; for 'openpgp-detached', the stream document's URL."
    ),
    "checked_here": _(
        "True when this Pulp made the check. False for another Pulp's check carried here "
        "by an import or a replication: it never vouches for a tree in a sync; the "
        "repository's verify_signatures action checks the tree again with this Pulp's keys."
    ),
}


class SignatureSerializer(serializers.Serializer):
    """One verified signature of a tree (documentation of trees.json's ``signatures`` items)."""

    kind = serializers.ChoiceField(choices=SIGNATURE_KINDS, help_text=SIGNATURE_HELP["kind"])
    key = serializers.CharField(help_text=SIGNATURE_HELP["key"])
    signed_digest = serializers.CharField(help_text=SIGNATURE_HELP["signed_digest"])
    reference = serializers.CharField(
        required=False, allow_null=True, help_text=SIGNATURE_HELP["reference"]
    )
    tlog_checked = serializers.BooleanField(
        help_text=_(
            "Always false: verification is offline, against signature_keys only; no "
            "transparency log (Rekor), Fulcio certificate or timestamp is consulted."
        )
    )
    checked_here = serializers.BooleanField(help_text=SIGNATURE_HELP["checked_here"])
    verified_at = serializers.CharField(
        help_text=_("When Pulp first verified it (ISO 8601): the unit's pulp_created.")
    )
    carrier = serializers.JSONField(
        required=False,
        help_text=_(
            "The registry manifest that carried the signature, as sent, with its blobs "
            "(reference, media_type, manifest, blobs): what a push with copy_signatures "
            "writes. Absent when not kept."
        ),
    )


class ServedTreeSerializer(serializers.Serializer):
    """One tree as a distribution serves it (an entry of trees.json)."""

    version = serializers.CharField(help_text=_("Release, e.g. '42'."))
    arch = serializers.CharField(help_text=_("Fedora architecture name."))
    oci_arch = serializers.CharField(help_text=_("OCI architecture name."))
    kind = serializers.ChoiceField(
        choices=layout.TREE_KINDS,
        help_text=_("What the tree boots into: an Anaconda install tree, or a CoreOS live system."),
    )
    stream = serializers.CharField(
        allow_null=True, help_text=_("A CoreOS tree's stream ('stable'); null for Anaconda.")
    )
    digest = serializers.CharField(help_text=_("Upstream digest of the tree."))
    identity = serializers.CharField(
        help_text=_(
            "What makes the tree one unit (the tree content's identity): a replica of this "
            "distribution stores the tree under the same identity."
        )
    )
    tags = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Upstream tags naming the tree in the served repository version."),
    )
    url = serializers.CharField(help_text=_("The tree's URL (its files and documents)."))
    treeinfo = serializers.CharField(
        allow_null=True, help_text=_("URL of the tree's .treeinfo; null for a CoreOS tree.")
    )
    boot = serializers.DictField(
        child=serializers.CharField(),
        help_text=_("URLs of the generated boot configs: ipxe, grub, pxelinux (bootable trees)."),
    )
    boot_problem = serializers.CharField(
        allow_null=True,
        help_text=_(
            "Why the tree has no boot configs (no kernel or initrd, or a kernel command line "
            "longer than Linux keeps); null when it has them."
        ),
    )
    bootc = serializers.CharField(
        allow_null=True,
        help_text=_(
            "URL of the tree's bootc.ks, the kickstart installing the distribution's "
            "bootc_image; null when it has none (no bootc_image, or a CoreOS tree)."
        ),
    )
    files = serializers.ListField(
        child=serializers.DictField(), help_text=_("The tree's files, each with its URL.")
    )
    warnings = serializers.ListField(child=serializers.CharField())
    source = serializers.JSONField(
        help_text=_(
            "Where the tree came from (the tree content's source); a replicated tree adds "
            "the Pulp distributions it was replicated from under 'replicated_from'."
        )
    )
    annotations = serializers.JSONField(help_text=_("Annotations of the upstream manifest."))
    signatures = SignatureSerializer(
        many=True,
        help_text=_("The verifications of the tree that the served repository version holds."),
    )
    manifest = serializers.CharField(
        allow_null=True,
        help_text=_(
            "The manifest exactly as the tree's registry sent it (its sha256 is digest); "
            "null for trees not synced from a registry."
        ),
    )


class ServedIndexSerializer(serializers.Serializer):
    """An upstream index in the served version, exactly as its registry sent it."""

    tag = serializers.CharField(help_text=_("The tag that named it, e.g. '42'."))
    digest = serializers.CharField(help_text=_("The sha256 of its bytes."))
    media_type = serializers.CharField(help_text=_("Its media type."))
    raw = serializers.CharField(help_text=_("The index as sent (JSON text)."))


class ServedReleaseIndexSerializer(serializers.Serializer):
    """A CoreOS stream's release index in the served version (what the update graph reads)."""

    stream = serializers.CharField(help_text=_("The CoreOS stream, e.g. 'stable'."))
    identity = serializers.CharField(help_text=_("sha256:<hex> of the record's canonical JSON."))
    record = serializers.JSONField(
        help_text=_("Every release of the stream, oldest first, with its update policy.")
    )


class ServedTreesSerializer(serializers.Serializer):
    """What a distribution serves: the same document as its trees.json."""

    base_url = serializers.CharField(help_text=_("URL of the distribution root."))
    trees = ServedTreeSerializer(many=True)
    release_indexes = ServedReleaseIndexSerializer(
        many=True,
        help_text=_("The CoreOS release indexes of the served version, one per stream."),
    )
    indexes = ServedIndexSerializer(
        many=True,
        help_text=_("The upstream indexes of the served version as sent, one per tag."),
    )


class KickstartTagSerializer(NoArtifactContentSerializer):
    """An upstream tag naming a tree, as synced into a repository version."""

    name = serializers.CharField(read_only=True, help_text=_("The tag, e.g. '42' or '42-amd64'."))
    arch = serializers.CharField(
        read_only=True, help_text=_("The tree's architecture: an index tag names one per arch.")
    )
    tree = DetailRelatedField(
        read_only=True,
        view_name_pattern=r"content(-.*/.*)-detail",
        help_text=_("The tree the tag named when it was synced."),
    )

    class Meta:
        model = KickstartTag
        fields = NoArtifactContentSerializer.Meta.fields + ("name", "arch", "tree")


class KickstartSignatureSerializer(NoArtifactContentSerializer):
    """A verification Pulp made of a tree, as content of the repository versions it holds for.

    Created by sync only: a verification is what Pulp checked, not what a client says.
    """

    tree = DetailRelatedField(
        read_only=True,
        view_name_pattern=r"content(-.*/.*)-detail",
        help_text=_("The tree the verification covers."),
    )
    kind = serializers.ChoiceField(
        choices=SIGNATURE_KINDS, read_only=True, help_text=SIGNATURE_HELP["kind"]
    )
    key = serializers.CharField(read_only=True, help_text=SIGNATURE_HELP["key"])
    signed_digest = serializers.CharField(read_only=True, help_text=SIGNATURE_HELP["signed_digest"])
    reference = serializers.CharField(
        read_only=True, allow_null=True, help_text=SIGNATURE_HELP["reference"]
    )
    tlog_checked = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "Always false: verification is offline, against the remote's keys only; no "
            "transparency log (Rekor), Fulcio certificate or timestamp is consulted."
        ),
    )
    checked_here = serializers.BooleanField(
        read_only=True, help_text=SIGNATURE_HELP["checked_here"]
    )

    def to_representation(self, instance):
        """A verification without a reference (a sigstore bundle) shows null, as trees.json."""
        shown = super().to_representation(instance)
        shown["reference"] = shown["reference"] or None
        return shown

    class Meta:
        model = KickstartSignature
        fields = NoArtifactContentSerializer.Meta.fields + (
            "tree",
            "kind",
            "key",
            "signed_digest",
            "reference",
            "tlog_checked",
            "checked_here",
        )


class KickstartTreeSerializer(NoArtifactContentSerializer):
    """A release/architecture netboot tree, created by a sync or an upload."""

    version = serializers.CharField(read_only=True, help_text=_("Release, e.g. '42'."))
    arch = serializers.CharField(
        read_only=True, help_text=_("Fedora architecture name, e.g. 'x86_64'.")
    )
    oci_arch = serializers.CharField(
        read_only=True, help_text=_("OCI architecture name, e.g. 'amd64'.")
    )
    digest = serializers.CharField(
        read_only=True,
        help_text=_("Digest of the upstream manifest (registry), or of the tree's sources (dnf)."),
    )
    identity = serializers.CharField(
        read_only=True,
        help_text=_(
            "What makes the tree one unit: a digest over release, arch, upstream digest "
            "and the file set. One manifest under two release tags is two trees."
        ),
    )
    source = serializers.JSONField(
        read_only=True,
        help_text=_(
            "Where the tree came from ('type'): registry and repository, the dnf tree's URL, "
            "or an upload and who uploaded it ('uploaded_by'). "
            "Which tags name it is a fact of a repository version: see the tags content."
        ),
    )
    kind = serializers.CharField(
        read_only=True,
        help_text=_(
            "What the tree boots into: 'anaconda' (an install tree with a .treeinfo) or "
            "'coreos' (a CoreOS live system: kernel, initramfs and root filesystem)."
        ),
    )
    made_here = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "True when this Pulp made the tree (a sync, an upload); false when a Pulp import "
            "or a replication carried it from another Pulp. Part of the unit key: a sync "
            "or upload here never reuses a carried tree of the same identity."
        ),
    )
    annotations = serializers.JSONField(
        read_only=True, help_text=_("Annotations of the upstream manifest.")
    )
    files = StoredRecordsSerializer(
        child=TreeFileSerializer(), read_only=True, help_text=_("The tree's files.")
    )
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text=_("Problems found in the upstream artifact, e.g. a placeholder boot.iso."),
    )

    class Meta:
        model = KickstartTree
        fields = NoArtifactContentSerializer.Meta.fields + (
            "version",
            "arch",
            "oci_arch",
            "digest",
            "identity",
            "kind",
            "made_here",
            "source",
            "annotations",
            "files",
            "warnings",
        )


MAX_UPLOAD_FILES = 1000  # files of one uploaded tree (a Fedora tree has about ten)


class TreeUploadFileSerializer(ValidateFieldsMixin, serializers.Serializer):
    """One file of an uploaded tree: its path in the tree, and its bytes (an artifact or an
    upload)."""

    path = serializers.CharField(
        trim_whitespace=False,
        help_text=_(
            "Where the tree serves the file, e.g. 'images/pxeboot/vmlinuz', "
            "'images/pxeboot/initrd.img', 'images/install.img', 'EFI/BOOT/BOOTX64.EFI'. It "
            "decides the file's role, as a sync places a file of that name; files of no "
            "known name go under 'extra/'."
        ),
    )
    artifact = RelatedField(
        view_name="artifacts-detail",
        queryset=core_models.Artifact.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("An artifact Pulp holds (e.g. a committed upload's)."),
    )
    upload = RelatedField(
        view_name="uploads-detail",
        queryset=core_models.Upload.objects.all(),
        required=False,
        allow_null=True,
        help_text=_(
            "An uncommitted upload (pulpcore's chunked uploads) holding every chunk: the "
            "task turns it into an artifact and deletes it."
        ),
    )

    def to_internal_value(self, data):
        """Refuse keys of no field (a nested item has no ``initial_data`` to check), and an
        ``artifact`` or ``upload`` that is no string (pulpcore's related field fails on one
        with a 500)."""
        if isinstance(data, dict):
            validate_unknown_fields(data, self.fields)
            for name in ("artifact", "upload"):
                if data.get(name) is not None and not isinstance(data[name], str):
                    raise serializers.ValidationError({name: [_("Expected an href or a PRN.")]})
        return super().to_internal_value(data)

    def validate_path(self, value):
        """A path of the tree layout (netboot/layout.py ``locate``)."""
        try:
            layout.locate(value)
        except layout.InvalidTitle as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, data):
        data = super().validate(data)
        given = [name for name in ("artifact", "upload") if data.get(name) is not None]
        if len(given) != 1:
            raise serializers.ValidationError(
                _("{path}: give exactly one of artifact and upload").format(path=data["path"])
            )
        return data


class KickstartTreeUploadSerializer(ValidateFieldsMixin, serializers.Serializer):
    """A tree of files a site built: its release, arch, and each file's path and bytes."""

    # Values are checked here (grammars, the layout, one kernel and one initrd); the files'
    # sizes and first bytes by tasks.uploading.check_sources before the task is dispatched,
    # their whole bytes by the task.

    # Not trimmed: a value is the grammar's or refused, never quietly another value.
    version = serializers.CharField(trim_whitespace=False, help_text=_("Release, e.g. '42'."))
    arch = serializers.CharField(
        trim_whitespace=False,
        help_text=_("Architecture, Fedora (x86_64) or OCI (amd64) name; kept as the Fedora name."),
    )
    family = serializers.CharField(
        required=False,
        trim_whitespace=False,
        help_text=_(
            "The release name .treeinfo gives ([release] name), e.g. 'CentOS Stream' "
            "(default: 'Fedora'); kept in the tree's source."
        ),
    )
    files = TreeUploadFileSerializer(
        many=True,
        min_length=1,
        max_length=MAX_UPLOAD_FILES,
        help_text=_(
            "The tree's files, each with its path in the tree; a kernel "
            "(images/pxeboot/vmlinuz) and an initrd (images/pxeboot/initrd.img) are required."
        ),
    )
    repository = DetailRelatedField(
        required=False,
        view_name_pattern=r"repositories(-.*/.*)-detail",
        queryset=core_models.Repository.objects.all(),
        help_text=_(
            "A kickstart repository to add the tree to, in a new version (required unless "
            "you are an admin: a tree in no repository is content only admins see)."
        ),
    )
    overwrite = serializers.BooleanField(
        default=True,
        help_text=_(
            "With a repository: replace a tree of the same release and arch it holds "
            "(default), or fail the task if it holds one."
        ),
    )

    def validate_version(self, value):
        try:
            return grammar.check(grammar.RELEASE, value, _("release"))
        except grammar.GrammarError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_family(self, value):
        try:
            return grammar.check(grammar.FAMILY, value, _("release name"))
        except grammar.GrammarError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def validate_arch(self, value):
        """A known architecture in either naming, kept as the Fedora name trees use."""
        try:
            return archs.to_fedora(value)
        except archs.UnknownArchitecture:
            raise serializers.ValidationError(
                _("Unknown architecture {arch!r}; known: {known}.").format(
                    arch=value, known=", ".join(archs.known_names())
                )
            ) from None

    def validate_repository(self, value):
        if value is not None and not isinstance(value, KickstartRepository):
            raise serializers.ValidationError(_("Content is not supported by this repository."))
        return value

    def validate(self, data):
        """Each path and upload once; one kernel and one initrd."""
        data = super().validate(data)
        paths, uploads, roles = {}, set(), set()
        for entry in data["files"]:
            path = entry["path"]
            if path in paths:
                raise serializers.ValidationError(
                    {"files": [_("{path} is listed twice").format(path=path)]}
                )
            paths[path] = layout.locate(path)[1].role
            upload = entry.get("upload")
            if upload is not None:
                if upload.pk in uploads:
                    raise serializers.ValidationError(
                        {"files": [_("{path}: its upload is named twice").format(path=path)]}
                    )
                uploads.add(upload.pk)
            roles.add(paths[path])
        try:
            # The rule every tree is held to (the task's TreePlan checks it again).
            layout.check_paths(list(paths.items()))
        except layout.InvalidTitle as exc:
            raise serializers.ValidationError({"files": [str(exc)]}) from None
        for role in stored.BOOT_ROLES:
            if role not in roles:
                raise serializers.ValidationError(
                    {
                        "files": [
                            _("the tree has no {role}: a tree boots from {path}").format(
                                role=role, path=_BOOT_PATHS[role]
                            )
                        ]
                    }
                )
        return data


# Where a tree's kernel and initrd are (named in the error when one is missing).
_BOOT_PATHS = {
    layout.KERNEL: layout.place("vmlinuz").path,
    layout.INITRD: layout.place("initrd.img").path,
}


def _http_url(value, wrong_scheme):
    """An http(s) URL without credentials (they belong in username/password, which are hidden)."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise serializers.ValidationError(wrong_scheme)
    if parsed.username or parsed.password:
        raise serializers.ValidationError(
            _("Put credentials in 'username' and 'password', not in the URL.")
        )
    try:
        normalized(value)
    except FetchRefused as exc:
        raise serializers.ValidationError(exc.detail) from None
    if any(unquote(segment) in (".", "..") for segment in parsed.path.split("/")):
        # A parser removes them: the URL stored and shown would not be the one fetched.
        raise serializers.ValidationError(_("Give the URL without '.' or '..' path segments."))
    return parsed


class ProxyUrlMixin:
    """A remote's ``proxy_url`` passes the checks of a remote's ``url`` (no whitespace or
    invisible character, http(s)), and has no credentials (proxy_username and
    proxy_password hold them)."""

    def validate_proxy_url(self, value):
        value = super().validate_proxy_url(value)
        if value:
            _http_url(value, _("Give the proxy's http(s) URL."))
        return value


class OriginListField(serializers.ListField):
    """Origins an admin allows a remote to reach besides its own (fetch_policy.py)."""

    def __init__(self, help_text):
        super().__init__(
            child=serializers.CharField(max_length=300),
            required=False,
            allow_null=True,
            max_length=100,
            help_text=help_text,
        )

    def to_internal_value(self, data):
        """Each entry must be scheme://host[:port] (host may start with '*.'), kept as given."""
        values = super().to_internal_value(data)
        try:
            parse_origins(values)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return values


def _secret_headers():
    """The remote's custom request headers: write-only, as they often carry API keys or tokens."""
    return serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        write_only=True,
        help_text=_(
            'Custom request headers, e.g. [{"X-Api-Key": "..."}]. Sent only to the '
            "remote's own origin; write-only (hidden_fields says whether they are set)."
        ),
    )


MAX_BASE_PATH_LENGTH = 255
MAX_BASE_PATH_SEGMENTS = 8

REDIRECT_ORIGINS_HELP = _(
    "Origins (scheme://host[:port]; '*.' allows any subdomain) to which upstream may "
    "redirect reads whose digest Pulp knows in advance, e.g. a registry's blob CDN or a "
    "mirror network. Nothing identifying the remote (credentials, custom headers, client "
    "certificate) is sent there. Default: none; every request stays under the remote's URL."
)


def _policy_field(help_text):
    """The remote's download policy field, with the help text of its remote type."""
    return serializers.ChoiceField(
        help_text=help_text,
        choices=core_models.Remote.POLICY_CHOICES,
        default=core_models.Remote.IMMEDIATE,
    )


def _glob_list(help_text):
    """An optional list of shell-style globs (tag filters)."""
    return serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        allow_null=True,
        help_text=help_text,
    )


def trusted_keys_text(value, remote_model):
    """``value`` if every key block is a key ``remote_model`` can verify with, else a
    ValidationError naming the block (signatures/keys.py); blank text is no keys (None)."""
    if not (value or "").strip():
        return None
    try:
        parse_keys(value, remote_model.SIGNATURE_KEY_KINDS, remote_model.SIGNATURE_KEY_USE)
    except SignatureError as exc:
        raise serializers.ValidationError(str(exc)) from None
    return value


class SignatureTrustSerializer(serializers.Serializer):
    """The trust fields every kickstart remote shares (models.SignatureTrust): one model.

    Keys are parsed by the key module, for the kinds of key the remote's model can
    use (``SIGNATURE_KEY_KINDS``: OCI remotes PEM and OpenPGP, dnf remotes OpenPGP);
    a policy that checks signatures needs keys (signatures/policy.py). Subclasses add
    ``TRUST_FIELDS`` to their ``Meta.fields``.
    """

    TRUST_FIELDS = ("signature_keys", "signature_policy")

    signature_keys = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_(
            "Public keys of the publishers you trust, one block after another. OCI remotes: "
            "PEM public keys (ECDSA P-256/P-384, RSA, Ed25519; cosign.pub) and/or "
            "ASCII-armoured OpenPGP public keys. dnf remotes: ASCII-armoured OpenPGP public "
            "keys (the RPM signing keys, e.g. RPM-GPG-KEY-fedora-42-primary). Public, so "
            "shown back."
        ),
    )
    signature_policy = serializers.ChoiceField(
        choices=SignatureTrust.SIGNATURE_POLICIES,
        default=SignatureTrust.SIGNATURE_NONE,
        help_text=_(
            "'none' (default): signatures are not looked at. 'if_present': every signature "
            "found (on a tree's manifest or index; on an RPM) must verify with "
            "signature_keys, or the sync fails; what carries none is accepted. 'required': "
            "every tree synced or kept (OCI), every RPM used (dnf), must carry a valid "
            "signature by one of signature_keys, or the sync fails."
        ),
    )

    def validate_signature_keys(self, value):
        """Every block must be a public key this remote can use; the error names the block."""
        return trusted_keys_text(value, self.Meta.model)

    def validate(self, data):
        """A policy that checks signatures needs keys to check them with."""
        data = super().validate(data)
        policy = data.get("signature_policy", getattr(self.instance, "signature_policy", None))
        keys = data.get("signature_keys", getattr(self.instance, "signature_keys", None))
        problem = signature_policy.missing_keys(policy, keys)
        if problem:
            raise serializers.ValidationError({"signature_keys": problem})
        return data


class KickstartOciRemoteSerializer(ProxyUrlMixin, SignatureTrustSerializer, RemoteSerializer):
    """A registry repository publishing netboot trees as OCI artifacts."""

    url = serializers.CharField(
        help_text=_("Base URL of the registry, e.g. 'https://quay.io'."),
    )
    upstream_name = serializers.CharField(
        help_text=_("Repository in the registry, e.g. 'pulp/fedora-kickstart-artifacts'."),
    )
    include_tags = _glob_list(
        _("Shell-style globs of tags to sync. Default: every tag of the form N or N-ARCH.")
    )
    exclude_tags = _glob_list(_("Shell-style globs of tags to leave out."))
    architectures = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text=_("Architectures to sync, Fedora (x86_64) or OCI (amd64) names. Default: all."),
    )
    policy = _policy_field(
        _(
            "'immediate' (default) downloads and verifies every file during sync; "
            "'on_demand' and 'streamed' store manifests only and fetch a file on its first "
            "request. Warning: with 'on_demand' (first request) and 'streamed' (every "
            "request) clients receive bytes before their digest is verified; a mismatch "
            "only cuts the connection at the end."
        )
    )

    signature_lookaside = serializers.CharField(
        required=False,
        allow_null=True,
        help_text=_(
            "Base URL of a containers-style lookaside signature store "
            "(<base>/<repository>@sha256=<hex>/signature-N), for OpenPGP signatures."
        ),
    )
    headers = _secret_headers()
    redirect_origins = OriginListField(REDIRECT_ORIGINS_HELP)
    token_origins = OriginListField(
        _(
            "Origins of token services (the realm of the registry's 401 challenge) that "
            "Pulp may ask for bearer tokens, e.g. 'https://auth.docker.io'; they receive the "
            "remote's username and password (over https only). Default: none; only the "
            "registry's own origin."
        )
    )
    signature_identity_check = serializers.BooleanField(
        default=True,
        help_text=_(
            "Check that a signature's docker-reference names this remote's registry and "
            "repository (default). Turn off when the publisher signed under another name."
        ),
    )

    def validate_signature_lookaside(self, value):
        """An http(s) base URL without credentials, kept without its trailing slash."""
        if not value:
            return None
        parsed = _http_url(value, _("Give the lookaside store's http(s) base URL."))
        if parsed.query or parsed.fragment:
            raise serializers.ValidationError(_("A base URL has no query or fragment."))
        return value.rstrip("/")

    def validate_url(self, value):
        """Accept a registry's http(s) base URL only, without a trailing slash."""
        parsed = _http_url(value, _("Give the registry's http(s) base URL."))
        if parsed.query or parsed.fragment or parsed.path.rstrip("/") not in ("", "/"):
            raise serializers.ValidationError(
                _("Give the registry base URL only; the repository goes in 'upstream_name'.")
            )
        return value.rstrip("/")

    def validate_upstream_name(self, value):
        """Accept a registry repository name, without leading or trailing slashes."""
        value = value.strip("/")
        segments = value.split("/")
        if not value or any(s in ("", ".", "..") or s != s.strip() for s in segments):
            raise serializers.ValidationError(_("Not a registry repository name."))
        return value

    def validate_architectures(self, value):
        """Accept only known architecture names, Fedora or OCI."""
        return known_architectures(value)

    class Meta:
        fields = RemoteSerializer.Meta.fields + (
            "upstream_name",
            "include_tags",
            "exclude_tags",
            "architectures",
            *SignatureTrustSerializer.TRUST_FIELDS,
            "signature_lookaside",
            "signature_identity_check",
            "redirect_origins",
            "token_origins",
        )
        model = KickstartOciRemote


def known_architectures(value):
    """``value`` if every name is a known architecture, Fedora or OCI (None: every arch)."""
    if value is None:
        return value
    unknown = [name for name in value if name not in archs.known_names()]
    if unknown:
        raise serializers.ValidationError(
            _("Unknown architectures {unknown}; known: {known}.").format(
                unknown=unknown, known=", ".join(archs.known_names())
            )
        )
    return value


class DeprecatedGpgKeysField(serializers.CharField):
    """``gpg_keys``: the dnf remote's old name for ``signature_keys`` under policy ``required``.

    Kept working for a deprecation period (CHANGES/19.removal): written, it sets
    ``signature_keys`` and, unless the request sets one, ``signature_policy``
    (``required``, or ``none`` when cleared); read, it shows the keys while the
    policy is ``required`` (what it meant), null otherwise. The serializer alone carries
    it; the model has no such field.
    """

    def __init__(self, **kwargs):
        super().__init__(
            source="*",
            required=False,
            allow_null=True,
            trim_whitespace=False,
            help_text=_(
                "Deprecated: use signature_keys and signature_policy. Writing gpg_keys sets "
                "signature_keys and, unless signature_policy is given too, signature_policy "
                "'required' (null: 'none'). Reads as signature_keys while signature_policy is "
                "'required', null otherwise."
            ),
            **kwargs,
        )

    def to_representation(self, remote):
        """The keys under policy ``required`` only: what gpg_keys meant. An old client reading
        keys there must not take an ``if_present`` remote for one that requires signatures."""
        if remote.signature_policy != KickstartDnfRemote.SIGNATURE_REQUIRED:
            return None
        return remote.signature_keys

    def validate_empty_values(self, data):
        """null clears the keys: given as a dict, as every value of a ``source='*'`` field."""
        if data is None:
            return True, {"gpg_keys": None}
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        """The keys, checked as signature_keys are, under this field's name."""
        text = trusted_keys_text(super().to_internal_value(data), KickstartDnfRemote)
        return {"gpg_keys": text}


@extend_schema_serializer(deprecate_fields=["gpg_keys"])
class KickstartDnfRemoteSerializer(ProxyUrlMixin, SignatureTrustSerializer, RemoteSerializer):
    """A dnf install tree to assemble a netboot tree from."""

    url = serializers.CharField(
        help_text=_(
            "URL of the tree root, the directory holding .treeinfo, e.g. "
            "'https://dl.fedoraproject.org/pub/fedora/linux/releases/42/Everything/x86_64/os/'."
        )
    )
    skip_files = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text=_(
            "Files not to sync, by name or tree path (e.g. 'boot.iso'), or package names "
            "whose boot files are not wanted."
        ),
    )
    gpg_keys = DeprecatedGpgKeysField()
    bootloader_packages = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        allow_null=True,
        help_text=_(
            "Packages to take bootloaders from, per Fedora arch, overriding the defaults "
            "(x86_64: shim-x64, grub2-efi-x64, syslinux-nonlinux; aarch64: shim-aa64, "
            "grub2-efi-aa64)."
        ),
    )
    headers = _secret_headers()
    redirect_origins = OriginListField(REDIRECT_ORIGINS_HELP)
    policy = _policy_field(
        _(
            "'immediate' (default) downloads and verifies the images during sync; "
            "'on_demand' and 'streamed' fetch them on first request, and clients then "
            "receive bytes before their digest is verified. Bootloaders are always "
            "unpacked and verified at sync."
        )
    )

    def validate_url(self, value):
        """Accept an http(s) tree URL, ending in a slash; no query or fragment.

        Every file's URL is joined to it, so a query (a signed mirror URL's token) could
        not reach them, and a URL's words may show in a task's error.
        """
        parsed = _http_url(value, _("Give the tree's http(s) URL."))
        if parsed.query or parsed.fragment or "?" in value or "#" in value:
            raise serializers.ValidationError(
                _(
                    "Give the tree's directory URL without a query or fragment (credentials "
                    "go in 'username' and 'password', or a header in 'headers')."
                )
            )
        return value if value.endswith("/") else value + "/"

    def validate(self, data):
        """The deprecated ``gpg_keys`` becomes ``signature_keys`` (and a policy), then the
        trust fields are checked as for every remote."""
        if "gpg_keys" in data:
            keys = data.pop("gpg_keys")
            if "signature_keys" in self.initial_data:
                raise serializers.ValidationError(
                    {
                        "gpg_keys": _(
                            "gpg_keys is the deprecated name of signature_keys; give only "
                            "signature_keys."
                        )
                    }
                )
            data["signature_keys"] = keys
            if "signature_policy" not in self.initial_data:
                data["signature_policy"] = (
                    SignatureTrust.SIGNATURE_REQUIRED if keys else SignatureTrust.SIGNATURE_NONE
                )
        return super().validate(data)

    def validate_bootloader_packages(self, value):
        """Accept only Fedora architecture names as keys."""
        if value is None:
            return value
        unknown = [name for name in value if name not in archs.FEDORA_TO_OCI]
        if unknown:
            raise serializers.ValidationError(
                _("Use Fedora architecture names as keys; unknown: {unknown}.").format(
                    unknown=unknown
                )
            )
        return value

    class Meta:
        fields = RemoteSerializer.Meta.fields + (
            "skip_files",
            *SignatureTrustSerializer.TRUST_FIELDS,
            "gpg_keys",
            "bootloader_packages",
            "redirect_origins",
        )
        model = KickstartDnfRemote


def distribution_url(value):
    """Another Pulp's distribution base URL as a Pulp remote keeps it: http(s), no
    credentials, query or fragment, ending in a slash (trees.json and every file are
    joined to it)."""
    parsed = _http_url(value, _("Give the distribution's http(s) base URL."))
    if parsed.query or parsed.fragment or "?" in value or "#" in value:
        raise serializers.ValidationError(
            _(
                "Give the distribution's base URL without a query or fragment (credentials "
                "go in 'username' and 'password', or a header in 'headers')."
            )
        )
    return value if value.endswith("/") else value + "/"


class KickstartPulpRemoteSerializer(ProxyUrlMixin, RemoteSerializer):
    """Another Pulp's kickstart distribution: what a replica syncs from."""

    url = serializers.CharField(
        help_text=_(
            "Base URL of a kickstart distribution of another Pulp (its base_url), e.g. "
            "'https://pulp.example.com/pulp/content/fedora/'. The sync reads its trees.json "
            "and fetches every file below this URL."
        )
    )
    architectures = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text=_("Architectures to sync, Fedora (x86_64) or OCI (amd64) names. Default: all."),
    )
    headers = _secret_headers()
    redirect_origins = OriginListField(
        _(
            "Origins (scheme://host[:port]; '*.' allows any subdomain) to which the upstream "
            "content app may redirect file reads (its object storage). Files are checked "
            "against the sha256 and size trees.json publishes; nothing identifying the "
            "remote is sent there. Default: none; every request stays under the remote's URL."
        )
    )
    policy = _policy_field(
        _(
            "'immediate' (default) downloads and verifies every file during sync; "
            "'on_demand' and 'streamed' fetch a file on its first request, and clients then "
            "receive bytes before their sha256 is verified; a mismatch only cuts the "
            "connection at the end."
        )
    )

    def validate_url(self, value):
        """An http(s) distribution base URL, ending in a slash; no query or fragment."""
        return distribution_url(value)

    def validate_architectures(self, value):
        """Accept only known architecture names, Fedora or OCI."""
        return known_architectures(value)

    class Meta:
        fields = RemoteSerializer.Meta.fields + ("architectures", "redirect_origins")
        model = KickstartPulpRemote


def _coreos_url(value, what):
    """An http(s) document URL without credentials, query or fragment (a signed URL's token
    would reach task errors, and every file is named by the document, not joined to it)."""
    parsed = _http_url(value, _("Give the {what}'s http(s) URL.").format(what=what))
    if parsed.query or parsed.fragment or "?" in value or "#" in value:
        raise serializers.ValidationError(
            _(
                "Give the {what}'s URL without a query or fragment (credentials go in "
                "'username' and 'password', or a header in 'headers')."
            ).format(what=what)
        )
    return parsed


class KickstartCoreosRemoteSerializer(ProxyUrlMixin, SignatureTrustSerializer, RemoteSerializer):
    """A CoreOS stream metadata document: one tree per architecture of its current release."""

    url = serializers.CharField(
        help_text=_(
            "URL of the stream metadata document, e.g. "
            "'https://builds.coreos.fedoraproject.org/streams/stable.json'. Every request "
            "stays on its origin (files are fetched where the document names them, checked "
            "against its sha256), unless redirect_origins allows a mirror."
        )
    )
    architectures = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text=_("Architectures to sync, Fedora (x86_64) or OCI (amd64) names. Default: all."),
    )
    extras = serializers.ListField(
        child=serializers.ChoiceField(choices=coreos_stream.EXTRAS),
        required=False,
        allow_null=True,
        max_length=len(coreos_stream.EXTRAS),
        help_text=_(
            "Files to take beyond the live PXE kernel, initramfs and rootfs: 'disk' (the metal "
            "raw.xz image, or raw.gz for RHCOS/SCOS; what coreos.inst.image_url installs) and "
            "'iso' (the live ISO). Default: none."
        ),
    )
    release_index_url = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "URL of the stream's release index (Fedora CoreOS: 'https://builds.coreos."
            "fedoraproject.org/prod/streams/stable/releases.json'), on the stream document's "
            "origin. When set, a sync stores the stream's release history: the update graph "
            "and each tree's OCI image come from it."
        ),
    )
    updates_url = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "URL of the stream's update policy (barriers, dead ends, rollouts; Fedora CoreOS: "
            "'https://builds.coreos.fedoraproject.org/updates/stable.json'), on the stream "
            "document's origin. Needs release_index_url."
        ),
    )
    headers = _secret_headers()
    redirect_origins = OriginListField(
        _(
            "Origins (scheme://host[:port]; '*.' allows any subdomain) where the document's "
            "files may be (a mirror network, RHCOS's artifact host): they are pinned by the "
            "document's sha256. Nothing identifying the remote is sent there; signatures "
            "are only taken from the document's origin. Default: none."
        )
    )
    policy = _policy_field(
        _(
            "'immediate' (default) downloads and verifies every file during sync; "
            "'on_demand' and 'streamed' fetch a file on its first request (sha256 checked "
            "while streaming), and need signature_policy 'none': a detached signature covers "
            "a file's bytes, so verifying it needs the file at sync."
        )
    )

    def validate_url(self, value):
        _coreos_url(value, _("stream metadata document"))
        return value

    def validate_release_index_url(self, value):
        if value is not None:
            _coreos_url(value, _("release index"))
        return value

    def validate_updates_url(self, value):
        if value is not None:
            _coreos_url(value, _("update policy document"))
        return value

    def validate_architectures(self, value):
        """Accept only known architecture names, Fedora or OCI."""
        return known_architectures(value)

    def validate_extras(self, value):
        """Each extra once, in a stable order."""
        return None if value is None else sorted(set(value))

    def validate(self, data):
        """Release index and updates on the document's origin; a verifying policy needs
        the files at sync (immediate)."""
        data = super().validate(data)

        def current(name, default=None):
            return data.get(name, getattr(self.instance, name, default))

        origin = urlparse(current("url") or "")
        for name in ("release_index_url", "updates_url"):
            value = current(name)
            if value and urlparse(value)[:2] != origin[:2]:
                raise serializers.ValidationError(
                    {
                        name: _(
                            "Give a URL on the stream document's origin ({origin}): every "
                            "request of this remote stays there."
                        ).format(origin=f"{origin.scheme}://{origin.netloc}")
                    }
                )
        if current("updates_url") and not current("release_index_url"):
            raise serializers.ValidationError(
                {"updates_url": _("The update policy needs release_index_url too.")}
            )
        policy = current("policy", core_models.Remote.IMMEDIATE)
        checking = signature_policy.checks(current("signature_policy"))
        if checking and policy != core_models.Remote.IMMEDIATE:
            raise serializers.ValidationError(
                {
                    "signature_policy": _(
                        "A CoreOS file's detached signature covers the file's bytes: checking "
                        "it needs the file at sync, so a verifying signature_policy needs "
                        "policy 'immediate' (got {policy!r})."
                    ).format(policy=policy)
                }
            )
        return data

    class Meta:
        fields = RemoteSerializer.Meta.fields + (
            "architectures",
            "extras",
            "release_index_url",
            "updates_url",
            *SignatureTrustSerializer.TRUST_FIELDS,
            "redirect_origins",
        )
        model = KickstartCoreosRemote


class KickstartIndexSerializer(NoArtifactContentSerializer):
    """An upstream image index exactly as a registry sent it under a tag."""

    tag = serializers.CharField(read_only=True, help_text=_("The tag that named it, e.g. '42'."))
    digest = serializers.CharField(read_only=True, help_text=_("The sha256 of its bytes."))
    media_type = serializers.CharField(read_only=True, help_text=_("Its media type."))
    raw = serializers.CharField(
        read_only=True,
        help_text=_("The index as sent (JSON text): what a push writes back under the tag."),
    )

    class Meta:
        model = KickstartIndex
        fields = NoArtifactContentSerializer.Meta.fields + ("tag", "digest", "media_type", "raw")


class KickstartReleaseIndexSerializer(NoArtifactContentSerializer):
    """A CoreOS stream's release history and update policy (what the update graph serves)."""

    stream = serializers.CharField(read_only=True, help_text=_("The stream, e.g. 'stable'."))
    record = serializers.JSONField(
        read_only=True,
        help_text=_(
            "Every release of the stream, oldest first: its OSTree commit and OCI image per "
            "architecture, and its barrier, dead end or rollout."
        ),
    )
    identity = serializers.CharField(
        read_only=True, help_text=_("The sha256 of the record: the unit's key.")
    )

    class Meta:
        model = KickstartReleaseIndex
        fields = NoArtifactContentSerializer.Meta.fields + ("stream", "record", "identity")


class KickstartRepositorySerializer(RepositorySerializer):
    """A versioned set of netboot trees."""

    class Meta:
        fields = RepositorySerializer.Meta.fields
        model = KickstartRepository


class KickstartRepositorySyncSerializer(RepositorySyncURLSerializer):
    """Sync options: additive by default, ``mirror`` drops trees gone upstream."""

    optimize = serializers.BooleanField(
        help_text=_(
            "Whether or not to optimize sync: skip it when the remote, the sync options and "
            "the upstream content are unchanged since the last sync. A changed remote (url, "
            "filters, keys, policy) always re-syncs fully."
        ),
        required=False,
        default=True,
    )

    allow_empty = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "With mirror, let a sync that finds no tree upstream remove every tree. "
            "Without it such a sync fails, so an upstream that suddenly lists nothing "
            "cannot empty what is served."
        ),
    )


class KickstartRepositoryVerifySerializer(ValidateFieldsMixin, serializers.Serializer):
    """What checks the trees of a repository again: a remote's keys, policy and upstream."""

    remote = DetailRelatedField(
        required=True,
        view_name_pattern=r"remotes(-.*/.*)-detail",
        queryset=core_models.Remote.objects.all(),
        help_text=_(
            "A kickstart OCI, dnf or CoreOS remote whose signature_keys and signature_policy "
            "apply: the latest version's trees of its kind are verified again against "
            "signatures (or RPMs, for dnf trees) fetched from its upstream (CoreOS trees: the "
            "detached signatures each tree keeps beside its files). Records another Pulp made "
            "(checked_here false, carried by an import or a replication) never count."
        ),
    )

    def validate_remote(self, value):
        """An OCI or dnf remote whose policy checks signatures (so it has keys)."""
        remote = value.cast()
        if not isinstance(remote, (KickstartOciRemote, KickstartDnfRemote, KickstartCoreosRemote)):
            raise serializers.ValidationError(
                _(
                    "Signatures are verified with a kickstart OCI, dnf or CoreOS remote's keys; "
                    "{name} is not one."
                ).format(name=remote.name)
            )
        if not signature_policy.checks(remote.signature_policy):
            raise serializers.ValidationError(
                _(
                    "{name} has signature_policy 'none': it trusts no key, so nothing could "
                    "be verified. Use a remote with signature_keys and signature_policy "
                    "'if_present' or 'required'."
                ).format(name=remote.name)
            )
        return remote

    def validate(self, data):
        data = super().validate(data)
        self.check_cross_domains({"remote": data["remote"]})
        return data


class KickstartRepositoryPushSerializer(ValidateFieldsMixin, serializers.Serializer):
    """Where a push writes a version's trees: a kickstart OCI remote's registry repository."""

    remote = DetailRelatedField(
        required=True,
        view_name_pattern=r"remotes(-.*/.*)-detail",
        queryset=core_models.Remote.objects.all(),
        help_text=_(
            "A kickstart OCI remote naming the destination: its url (the registry), "
            "upstream_name (the repository there), credentials, TLS and proxy settings. "
            "The credentials need push access (token scope repository:<name>:pull,push)."
        ),
    )
    repository_version = RepositoryVersionRelatedField(
        required=False,
        help_text=_("A version of this repository to push; default: its latest version."),
    )
    releases = serializers.ListField(
        child=serializers.CharField(max_length=64, trim_whitespace=False),
        required=False,
        max_length=1000,
        help_text=_("Push only the trees of these releases (e.g. ['42']); default: every tree."),
    )
    copy_signatures = serializers.BooleanField(
        default=False,
        help_text=_(
            "Also push the cosign signatures and sigstore-bundle referrers that the version "
            "holds verifications of, exactly as the sync read them. They stay valid because a "
            "tree synced from a registry is pushed as the same manifest bytes. A push that "
            "cannot copy one (a tree that must get a new digest) fails before anything is "
            "sent."
        ),
    )

    def validate_remote(self, value):
        remote = value.cast()
        if not isinstance(remote, KickstartOciRemote):
            raise serializers.ValidationError(
                _(
                    "Trees are pushed to a kickstart OCI remote's registry; {name} is not one."
                ).format(name=remote.name)
            )
        return remote

    def validate_releases(self, value):
        for release in value:
            if not grammar.matches(grammar.RELEASE, release):
                raise serializers.ValidationError(
                    _("{release!r} is not a release ([A-Za-z0-9][A-Za-z0-9._-]{{0,63}}).").format(
                        release=release
                    )
                )
        return sorted(set(value))

    def validate(self, data):
        data = super().validate(data)
        self.check_cross_domains({"remote": data["remote"]})
        version = data.get("repository_version")
        repository = self.context.get("repository")
        if (
            version is not None
            and repository is not None
            and version.repository_id != repository.pk
        ):
            raise serializers.ValidationError(
                {
                    "repository_version": _("Not a version of {repository}.").format(
                        repository=repository.name
                    )
                }
            )
        return data


ORIGIN_GRAMMAR = _(
    "The origin must be http(s)://HOST[:PORT]: a host name, an IPv4 address or an [IPv6] "
    "address, and a port from 1 to 65535; no credentials, path or other characters."
)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
# What Ignition fetches a config from (ignition.config.url): http(s), tftp, s3, gs.
IGNITION_URL = re.compile(r"(https?|tftp|s3|gs)://[^\s/]+\S*")
# The disk coreos-installer writes to: a /dev path of plain segments.
INSTALL_DEVICE = re.compile(r"/dev/[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+){0,7}")


def _may_change(user, distribution):
    """Whether ``user`` holds the export permission on ``distribution`` at any level."""
    permission = KickstartExportDirectory.PERMISSION
    return (
        user.has_perm(permission)
        or user.has_perm(permission, distribution)
        or (bool(settings.DOMAIN_ENABLED) and user.has_perm(permission, distribution.pulp_domain))
    )


def _may_see(user, distribution):
    """Whether ``user`` may view ``distribution`` at any level (a refusal may name it then)."""
    permission = "kickstart.view_kickstartdistribution"
    return (
        user.has_perm(permission)
        or user.has_perm(permission, distribution)
        or (bool(settings.DOMAIN_ENABLED) and user.has_perm(permission, distribution.pulp_domain))
    )


class KickstartDistributionExportSerializer(serializers.Serializer):
    """Where to export a distribution's trees, and where the exported configs point."""

    path = serializers.CharField(
        max_length=1024,
        help_text=_(
            "An absolute directory path inside ALLOWED_EXPORT_PATHS. It becomes the export "
            "directory of this distribution and receives <version>/<arch>/<file> for every "
            "served file and the generated documents; a re-export removes only what the "
            "previous export there wrote. A directory of another distribution needs "
            "kickstart.change_kickstartdistribution on that distribution; one holding files "
            "no distribution exported needs that permission on every distribution; export "
            "directories do not nest."
        ),
    )
    origin = serializers.CharField(
        required=False,
        max_length=MAX_ORIGIN_LENGTH,
        help_text=_(
            "The http(s) origin (scheme, host, port) the generated configs point at; the "
            "distribution's boot_origin (or CONTENT_ORIGIN) when absent. The export is "
            "served under the same URL layout as the content app: "
            "<origin><CONTENT_PATH_PREFIX>[<domain>/]<base_path>/."
        ),
    )
    boot_files = serializers.ChoiceField(
        choices=configs.BOOT_FILES,
        default=configs.HTTP,
        help_text=_(
            "How the exported pxelinux.cfg/default and GRUB configs fetch kernel and initrd: "
            "'http' (default) from the origin; 'tftp' as paths from the export directory "
            "served as the TFTP root (dnsmasq, tftpd-hpa, Foreman's smart-proxy). "
            "inst.stage2 stays at the origin over HTTP either way (Anaconda takes no TFTP)."
        ),
    )
    layout = serializers.ChoiceField(
        choices=configs.LAYOUTS,
        default=configs.PULP_LAYOUT,
        help_text=_(
            "'pulp' (default): <version>/<arch>/<file>. 'foreman' (with boot_files 'tftp'): "
            "also boot/<os>-<version>-<arch>-vmlinuz and -initrd.img, and each tree's GRUB, "
            "shim and grub.cfg in bootloader-universe/pxegrub2/<os>/<version>/<arch>/, as "
            "Foreman's smart-proxy TFTP expects."
        ),
    )

    def validate_path(self, value):
        """Absolute, normalized, printable, and inside one of ALLOWED_EXPORT_PATHS.

        No control character: the path goes into task errors and logs. At most 1,024
        bytes resolved: it is a unique key of the database (a btree entry).
        """
        if not os.path.isabs(value) or os.path.normpath(value) != value.rstrip("/"):
            raise serializers.ValidationError(_("The path must be absolute and normalized."))
        if CONTROL_CHARACTERS.search(value):
            raise serializers.ValidationError(_("The path may not hold control characters."))
        real = os.path.realpath(value)
        if len(os.fsencode(real)) > 1024:
            raise serializers.ValidationError(_("The path is longer than 1,024 bytes."))
        for allowed in settings.ALLOWED_EXPORT_PATHS:
            allowed = os.path.realpath(allowed)
            if real != allowed and real.startswith(allowed.rstrip("/") + "/"):
                if os.path.lexists(real) and not os.path.isdir(real):
                    raise serializers.ValidationError(_("The path must be a directory."))
                return real
        raise serializers.ValidationError(
            _("Path '{}' is not inside an allowed export path.").format(value)
        )

    def validate_origin(self, value):
        """http(s)://HOST[:PORT], nothing else: the value goes into every generated document.

        HOST: a DNS name, an IPv4 address or a bracketed IPv6 address, so no character a
        boot script reads as syntax (the renderers would leave such a tree's configs out).
        """
        origin = parse_origin(value)
        if origin is None:
            raise serializers.ValidationError(ORIGIN_GRAMMAR)
        return origin

    def validate(self, data):
        """The path must be one the user may export this distribution to.

        Context: ``request`` and ``distribution`` (the one exported). An export directory
        belongs to one distribution (KickstartExportDirectory); the task claims it again,
        atomically, with only what was allowed here (``take_over``, ``adopt``).
        """
        if data["layout"] == configs.FOREMAN_LAYOUT and data["boot_files"] != configs.TFTP:
            raise serializers.ValidationError(
                {"layout": _("The 'foreman' layout is a TFTP layout: set boot_files to 'tftp'.")}
            )
        user = self.context["request"].user
        distribution = self.context["distribution"]
        path = data["path"]
        may_adopt = user.has_perm(KickstartExportDirectory.PERMISSION)  # model level only
        try:
            record = KickstartExportDirectory.check_claim(
                distribution,
                path,
                may_take_over=lambda owner: _may_change(user, owner),
                may_adopt=may_adopt,
                may_see=lambda owner: _may_see(user, owner),
            )
        except ExportDirectoryRefused as exc:
            raise serializers.ValidationError({"path": str(exc)}) from None
        if record is not None and record.distribution_id != distribution.pk:
            data["take_over"] = str(record.distribution_id)
        data["adopt"] = may_adopt
        return data


class KickstartDistributionSerializer(DistributionSerializer):
    """Serves each tree of a repository (latest version) or of a fixed version."""

    kernel_args = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "Extra kernel arguments for the generated boot configs, after "
            "inst.stage2=<tree URL>, e.g. 'console=ttyS0 inst.text'."
        ),
    )
    kickstart_url = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("When set, the generated boot configs pass inst.ks=<kickstart_url>."),
    )
    boot_origin = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        max_length=MAX_ORIGIN_LENGTH,
        help_text=_(
            "Where machines reach the content app, as http(s)://HOST[:PORT]: every URL in "
            "the generated documents and trees.json starts with it. Its HOST[:PORT] must be "
            "CONTENT_ORIGIN's or one the administrator lists in KICKSTART_BOOT_HOSTS. "
            "null: CONTENT_ORIGIN."
        ),
    )

    coreos_boot = serializers.ChoiceField(
        choices=KickstartDistribution.COREOS_BOOTS,
        default=KickstartDistribution.COREOS_LIVE,
        help_text=_(
            "How CoreOS trees boot: 'live' (default) runs the live system from RAM, with "
            "Ignition from ignition_url; 'install' runs coreos-installer to write the tree's "
            "release to install_device (coreos.inst.install_dev, coreos.inst.ignition_url, "
            "coreos.inst.image_url when the tree holds the metal disk image), then reboots."
        ),
    )
    ignition_url = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The Ignition config CoreOS machines apply: ignition.config.url (live) or "
            "coreos.inst.ignition_url (install). An http(s), tftp, s3 or gs URL."
        ),
    )
    install_device = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The disk coreos-installer writes to when coreos_boot is 'install', e.g. "
            "'/dev/sda' or '/dev/disk/by-id/...' (coreos.inst.install_dev)."
        ),
    )
    graph_payload_repository = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The update graph (<base_url>v1/graph) names OCI payloads in this repository "
            "(host[:port]/path, e.g. 'mirror.example.com/fedora/fedora-coreos') instead of "
            "upstream's. null (default): upstream's names, which Zincati matches the booted "
            "release by; mirror them with registries.conf instead (docs/sync-from-coreos.md)."
        ),
    )
    bootc_image = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        trim_whitespace=False,  # whitespace is refused, not trimmed: the grammar decides
        help_text=_(
            "The bootable container image each Anaconda tree's <version>/<arch>/bootc.ks "
            "installs (docs/bootc.md). Transport 'registry': host[:port]/path[:tag]"
            "[@sha256:<digest>], e.g. 'quay.io/fedora/fedora-bootc:42'; transport 'oci': "
            "the absolute path of an OCI layout on the install media, optionally :tag. "
            "null (default): no bootc.ks."
        ),
    )
    bootc_transport = serializers.ChoiceField(
        choices=KickstartDistribution.BOOTC_TRANSPORTS,
        default=KickstartDistribution.BOOTC_REGISTRY,
        help_text=_(
            "How the installer reaches bootc_image: 'registry' (default) pulls it from a "
            "registry; 'oci' reads an OCI image layout at a path on the install media "
            "(disconnected sites)."
        ),
    )
    bootc_verify_signature = serializers.BooleanField(
        default=True,
        help_text=_(
            "Whether the image's signature must verify (default true). false writes "
            "--no-signature-verification into ostreecontainer (releases before 43); the bootc "
            "command (43 on) has no such option and follows the installer's containers policy."
        ),
    )
    bootc_kickstart = serializers.BooleanField(
        default=False,
        help_text=_(
            "Whether the generated boot configs of Anaconda trees pass inst.ks=<tree URL>"
            "bootc.ks (which %includes kickstart_url) instead of inst.ks=<kickstart_url>. "
            "Needs bootc_image."
        ),
    )

    def validate_repository(self, value):
        """Accept only a kickstart repository."""
        if value is not None and not isinstance(value.cast(), KickstartRepository):
            raise serializers.ValidationError(
                _("A kickstart distribution serves a kickstart repository.")
            )
        return value

    def validate_repository_version(self, value):
        """Accept only a version of a kickstart repository."""
        if value is not None and not isinstance(value.repository.cast(), KickstartRepository):
            raise serializers.ValidationError(
                _("A kickstart distribution serves a version of a kickstart repository.")
            )
        return value

    def validate_base_path(self, value):
        """Accept only a base path safe in boot scripts and URLs."""
        if not grammar.matches(grammar.BASE_PATH, value):
            raise serializers.ValidationError(
                _(
                    "The base path goes into boot scripts and URLs: use segments of letters, "
                    "digits and . _ ~ - separated by '/'."
                )
            )
        # Every path served under it must fit the content app's caps
        # (KICKSTART_CONTENT_MAX_PATH_LENGTH / _SEGMENTS), with room for the tree paths.
        if len(value) > MAX_BASE_PATH_LENGTH or value.count("/") + 1 > MAX_BASE_PATH_SEGMENTS:
            raise serializers.ValidationError(
                _("A base path has at most {length} characters and {segments} segments.").format(
                    length=MAX_BASE_PATH_LENGTH, segments=MAX_BASE_PATH_SEGMENTS
                )
            )
        return super().validate_base_path(value)

    def validate_kernel_args(self, value):
        """Accept kernel arguments without characters boot scripts would interpret."""
        if not script_safe(value):
            raise serializers.ValidationError(
                _(
                    "Kernel arguments are printable ASCII and may not contain control "
                    "characters, quotes or ; { } $ | & < > # \\"
                )
            )
        return value.strip()

    def validate_kickstart_url(self, value):
        """Accept an http(s), ftp or nfs location safe in boot scripts."""
        if value is None:
            return value
        if not re.match(r"^((https?|ftp)://|nfs:)\S+$", value) or not script_safe(value):
            raise serializers.ValidationError(
                _(
                    "Give an http(s)://, ftp:// or nfs:[options:]server:/path location of "
                    "printable ASCII without spaces, quotes or ; { } $ | & < > #."
                )
            )
        return value

    def validate_ignition_url(self, value):
        """Accept an http(s), tftp, s3 or gs URL safe in boot scripts (what Ignition fetches)."""
        if value is None:
            return value
        if not IGNITION_URL.fullmatch(value) or not script_safe(value):
            raise serializers.ValidationError(
                _(
                    "Give an http(s)://, tftp://, s3:// or gs:// URL of printable ASCII without "
                    "spaces, quotes or ; { } $ | & < > #."
                )
            )
        return value

    def validate_install_device(self, value):
        """Accept a /dev path of plain segments (what coreos.inst.install_dev names)."""
        if value is None:
            return value
        if not INSTALL_DEVICE.fullmatch(value) or "/../" in value + "/" or "/./" in value + "/":
            raise serializers.ValidationError(
                _(
                    "Give the disk as /dev/<name> (letters, digits and / . _ : - only), e.g. "
                    "'/dev/sda' or '/dev/disk/by-id/wwn-0x5000c500a0b1c2d3'."
                )
            )
        return value

    def validate_graph_payload_repository(self, value):
        """Accept a registry repository as host[:port]/path (what replaces upstream's names)."""
        if value is None:
            return value
        try:
            return cincinnati.payload_repository(value)
        except cincinnati.CincinnatiError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def _validate_bootc(self, data):
        """bootc_image is of its transport's grammar (netboot/imageref.py); bootc.ks can
        %include kickstart_url; bootc_kickstart needs an image."""

        def current(name):
            return data[name] if name in data else getattr(self.instance, name, None)

        image = current("bootc_image")
        if image is not None:
            transport = current("bootc_transport") or KickstartDistribution.BOOTC_REGISTRY
            try:
                imageref.check(image, transport)
            except imageref.ImageReferenceError as exc:
                raise serializers.ValidationError({"bootc_image": str(exc)}) from None
            site = current("kickstart_url")
            if site and not BOOTC_INCLUDABLE.fullmatch(site):
                raise serializers.ValidationError(
                    {
                        "bootc_image": _(
                            "bootc.ks %includes kickstart_url, which Anaconda fetches over "
                            "http(s) or ftp only; {url!r} is not such a URL."
                        ).format(url=site)
                    }
                )
        if current("bootc_kickstart") and not image:
            raise serializers.ValidationError(
                {
                    "bootc_kickstart": _(
                        "bootc_kickstart points inst.ks at bootc.ks, which exists only when "
                        "bootc_image names an image."
                    )
                }
            )

    def validate(self, data):
        """An install to disk needs the disk; the distribution's own arguments leave room
        on the kernel command line for the tree's URLs (boot.configs.MAX_COMMAND_LINE)."""
        data = super().validate(data)
        self._validate_bootc(data)
        own = {
            name: data.get(name, getattr(self.instance, name, None)) or ""
            for name in ("kernel_args", "kickstart_url", "ignition_url", "install_device")
        }
        if sum(len(value) for value in own.values()) > MAX_DISTRIBUTION_ARGUMENTS:
            raise serializers.ValidationError(
                {
                    name: _(
                        "kernel_args, kickstart_url, ignition_url and install_device together "
                        "may take {limit} of the {line} bytes Linux keeps of a kernel command "
                        "line; these take {length}."
                    ).format(
                        limit=MAX_DISTRIBUTION_ARGUMENTS,
                        line=MAX_COMMAND_LINE,
                        length=sum(len(value) for value in own.values()),
                    )
                    for name, value in own.items()
                    if value
                }
            )
        boot = data.get("coreos_boot", getattr(self.instance, "coreos_boot", None))
        device = data.get("install_device", getattr(self.instance, "install_device", None))
        if boot == KickstartDistribution.COREOS_INSTALL and not device:
            raise serializers.ValidationError(
                {
                    "install_device": _(
                        "coreos_boot 'install' needs install_device: the disk coreos-installer "
                        "writes to."
                    )
                }
            )
        self._validate_command_lines(data)
        return data

    # What a served tree's kernel command line is made of, besides the tree's own paths.
    COMMAND_LINE_FIELDS = (
        "kernel_args",
        "kickstart_url",
        "ignition_url",
        "install_device",
        "coreos_boot",
        "bootc_image",
        "bootc_kickstart",
        "base_path",
        "boot_origin",
        "repository",
        "repository_version",
    )

    def _validate_command_lines(self, data):
        """With the values asked for, every tree the distribution would serve keeps a kernel
        command line Linux keeps whole (the tree's URLs count, so the 1,536 characters of the
        distribution's own arguments are an upper bound, not a promise)."""
        changed = [name for name in self.COMMAND_LINE_FIELDS if name in data]
        if not changed:
            return
        if self.instance is not None:
            candidate = copy.copy(self.instance)
        else:
            candidate = KickstartDistribution()
        for name in changed:
            setattr(candidate, name, data[name])
        problems = documents.command_line_problems(candidate)
        if problems:
            more = len(problems) - 1
            message = problems[0] + (
                _(" (and {count} more trees)").format(count=more) if more else ""
            )
            raise serializers.ValidationError(
                {changed[0]: [_("with these values, {problem}").format(problem=message)]}
            )

    def validate_boot_origin(self, value):
        """An origin of the strict grammar whose host[:port] the administrator allows.

        A tenant may only choose among CONTENT_ORIGIN and KICKSTART_BOOT_HOSTS: never send
        booting machines to a server the administrator did not list.
        """
        if value is None:
            return value
        origin = parse_origin(value)
        if origin is None:
            raise serializers.ValidationError(ORIGIN_GRAMMAR)
        if origin_host(origin) not in allowed_boot_hosts():
            raise serializers.ValidationError(
                _(
                    "{host} is not CONTENT_ORIGIN's host and not listed in the setting "
                    "KICKSTART_BOOT_HOSTS; allowed: {allowed}."
                ).format(host=origin_host(origin), allowed=", ".join(sorted(allowed_boot_hosts())))
            )
        return origin

    class Meta:
        fields = DistributionSerializer.Meta.fields + (
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
        model = KickstartDistribution
