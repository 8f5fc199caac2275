from gettext import gettext as _

from django.conf import settings
from django_filters import CharFilter, NumberFilter
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from pulpcore.plugin.actions import ModifyRepositoryActionMixin
from pulpcore.plugin.serializers import AsyncOperationResponseSerializer
from pulpcore.plugin.tasking import dispatch
from pulpcore.plugin.viewsets import (
    ContentFilter,
    ContentViewSet,
    DistributionViewSet,
    HyperlinkRelatedFilter,
    OperationPostponedResponse,
    ReadOnlyContentViewSet,
    RemoteViewSet,
    RepositoryVersionViewSet,
    RepositoryViewSet,
    RolesMixin,
)

from . import documents, tasks
from .models import (
    KickstartCoreosRemote,
    KickstartDistribution,
    KickstartDnfRemote,
    KickstartIndex,
    KickstartOciRemote,
    KickstartPulpRemote,
    KickstartReleaseIndex,
    KickstartRepository,
    KickstartSignature,
    KickstartTag,
    KickstartTree,
)
from .netboot import arch as archs
from .serializers import (
    KickstartCoreosRemoteSerializer,
    KickstartDistributionExportSerializer,
    KickstartDistributionSerializer,
    KickstartDnfRemoteSerializer,
    KickstartIndexSerializer,
    KickstartOciRemoteSerializer,
    KickstartPulpRemoteSerializer,
    KickstartReleaseIndexSerializer,
    KickstartRepositoryPushSerializer,
    KickstartRepositorySerializer,
    KickstartRepositorySyncSerializer,
    KickstartRepositoryVerifySerializer,
    KickstartSignatureSerializer,
    KickstartTagSerializer,
    KickstartTreeSerializer,
    KickstartTreeUploadSerializer,
    ServedTreesSerializer,
)

# Trees, tags and signatures: created by sync only; anyone may list what the versions
# they may view hold (pulpcore's scope_queryset); labels need pulpcore's label permission.
CONTENT_ACCESS_POLICY = {
    "statements": [
        {"action": ["list", "retrieve"], "principal": "authenticated", "effect": "allow"},
        {
            "action": ["set_label", "unset_label"],
            "principal": "authenticated",
            "effect": "allow",
            "condition": ["has_model_or_domain_perms:core.manage_content_labels"],
        },
    ],
    "queryset_scoping": {"function": "scope_queryset"},
}

# Trees are also created by uploads, as pulpcore's content uploads are allowed: a user who
# is not an admin names a repository they may modify and view (an uploaded tree in no
# repository would be content they cannot see), and may change each upload they name.
TREE_ACCESS_POLICY = {
    **CONTENT_ACCESS_POLICY,
    "statements": CONTENT_ACCESS_POLICY["statements"]
    + [
        {
            "action": ["create"],
            "principal": "authenticated",
            "effect": "allow",
            "condition": [
                "kickstart_has_upload_repo_perms:modify",
                "kickstart_has_repo_or_repo_ver_param_perms:view",
                "kickstart_has_upload_params_perms:change",
            ],
        },
    ],
}


class OrphanedForFilter(NumberFilter):
    """pulpcore's ``orphaned_for`` (minutes; -1: ORPHAN_PROTECTION_TIME), bounded.

    pulpcore's own filter turns any number into a time delta: one of a hundred years or
    more overflows, and the request fails with a 500 instead of a 400 naming the field.
    """

    MAX_MINUTES = 60 * 24 * 365 * 100

    def filter(self, qs, value):
        if value is None:
            return qs
        if value > self.MAX_MINUTES:
            raise ValidationError(
                {
                    "orphaned_for": [
                        _("At most {limit} minutes (100 years).").format(limit=self.MAX_MINUTES)
                    ]
                }
            )
        minutes = settings.ORPHAN_PROTECTION_TIME if value < 0 else value
        return qs.orphaned(int(minutes))


class KickstartContentFilter(ContentFilter):
    """What the filters of every kickstart content type share."""

    orphaned_for = OrphanedForFilter(
        help_text=_("Minutes Content has been orphaned for. -1 uses ORPHAN_PROTECTION_TIME.")
    )


class KickstartTreeFilter(KickstartContentFilter):
    """Filter trees by release, architecture (either naming) and upstream digest."""

    arch = CharFilter(method="filter_arch", help_text=_("Fedora (x86_64) or OCI (amd64) name."))

    def filter_arch(self, queryset, name, value):
        """Trees of one architecture, given by its Fedora or its OCI name."""
        try:
            value = archs.to_fedora(value)
        except archs.UnknownArchitecture:
            pass
        return queryset.filter(arch=value)

    class Meta:
        model = KickstartTree
        fields = {
            "version": ["exact", "in"],
            "oci_arch": ["exact"],
            "digest": ["exact", "in"],
            "identity": ["exact", "in"],
            # One identity may name this Pulp's tree and a carried one (an import's, a replica's).
            "made_here": ["exact"],
            "kind": ["exact"],
        }


class KickstartTreeViewSet(ContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartTree is one release and architecture of network-install boot files
    (kernel, initrd, installer image, bootloaders), created by syncing a
    kickstart remote, or by uploading the files of a tree a site built.
    """

    endpoint_name = "trees"
    queryset = KickstartTree.objects.all()
    serializer_class = KickstartTreeSerializer
    filterset_class = KickstartTreeFilter

    def get_queryset(self):
        """Join what the serializer reads, nothing else: one query, not one per tree.

        pulpcore's list prefetches every content's artifacts for an ``artifacts`` field
        a tree does not have (six rows a tree, a third of a 1,000-tree page's time).
        """
        return (
            super().get_queryset().prefetch_related(None).select_related("core_vulnerabilityreport")
        )

    def get_parsers(self):
        """JSON only for create: ``files`` is a list of objects, which no form can carry.

        Called before DRF sets ``action``: the action is read from the request's method.
        """
        method = getattr(getattr(self, "request", None), "method", None) or ""
        action = getattr(self, "action", None) or (getattr(self, "action_map", None) or {}).get(
            method.lower()
        )
        if action == "create":
            return [JSONParser()]
        return super().get_parsers()

    def get_serializer_class(self):
        """The upload's fields for create (the access conditions read them too)."""
        if self.action == "create":
            return KickstartTreeUploadSerializer
        return super().get_serializer_class()

    @extend_schema(
        description=(
            "Trigger an asynchronous task to create a tree from uploaded files or artifacts, "
            "each named by its path in the tree, optionally in a new repository version."
        ),
        summary="Upload a tree",
        request=KickstartTreeUploadSerializer,
        responses={202: AsyncOperationResponseSerializer},
    )
    def create(self, request, **kwargs):
        """Check the values and each file's size and first bytes (HTTP 400 naming the file),
        then dispatch the upload, exclusive on the repository and on each upload."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            tasks.uploading.check_sources(data["files"])
        except tasks.uploading.UploadRefused as exc:
            raise ValidationError({"files": [exc.message]}) from None
        repository = data.get("repository")
        uploads = [entry["upload"] for entry in data["files"] if entry.get("upload") is not None]
        files = [
            {
                "path": entry["path"],
                "artifact": str(entry["artifact"].pk) if entry.get("artifact") else None,
                "upload": str(entry["upload"].pk) if entry.get("upload") else None,
            }
            for entry in data["files"]
        ]
        task = dispatch(
            tasks.upload_tree,
            exclusive_resources=[repository, *uploads] if repository else uploads,
            kwargs={
                "version": data["version"],
                "arch": data["arch"],
                "family": data.get("family"),
                "files": files,
                "uploaded_by": request.user.username,
                "repository_pk": str(repository.pk) if repository else None,
                "overwrite": data["overwrite"],
            },
        )
        return OperationPostponedResponse(task, request)

    DEFAULT_ACCESS_POLICY = TREE_ACCESS_POLICY


class KickstartTagFilter(KickstartContentFilter):
    """Filter tags by name and architecture (Fedora name)."""

    class Meta:
        model = KickstartTag
        fields = {"name": ["exact", "in"], "arch": ["exact"]}


class KickstartTagViewSet(ReadOnlyContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartTag is an upstream tag (`42`, `42-amd64`) naming a tree, as a
    repository version saw it: filter by `repository_version` to see what each
    tag named then. A tag that moves upstream makes a new version.
    """

    endpoint_name = "tags"
    queryset = KickstartTag.objects.select_related("tree")
    serializer_class = KickstartTagSerializer
    filterset_class = KickstartTagFilter

    DEFAULT_ACCESS_POLICY = CONTENT_ACCESS_POLICY


class KickstartSignatureFilter(KickstartContentFilter):
    """Filter verifications by the tree they cover, kind, key and signed digest."""

    tree = HyperlinkRelatedFilter(help_text=_("The tree's href."))

    class Meta:
        model = KickstartSignature
        fields = {
            "kind": ["exact", "in"],
            "key": ["exact", "in"],
            "signed_digest": ["exact", "in"],
        }


class KickstartSignatureViewSet(ReadOnlyContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartSignature is a verification Pulp made of a tree when it synced it: a
    publisher signature (cosign, sigstore bundle, OpenPGP) that verified with one of
    the remote's keys, or a dnf tree's RPMs checked against the remote's keyring
    (`rpm`). Filter by `repository_version` to see what that version vouches for; a
    new verification makes a new version. Created by sync only.
    """

    endpoint_name = "signatures"
    queryset = KickstartSignature.objects.select_related("tree")
    serializer_class = KickstartSignatureSerializer
    filterset_class = KickstartSignatureFilter

    DEFAULT_ACCESS_POLICY = CONTENT_ACCESS_POLICY


class KickstartIndexFilter(KickstartContentFilter):
    """Filter upstream indexes by tag or digest."""

    class Meta:
        model = KickstartIndex
        fields = {"tag": ["exact", "in"], "digest": ["exact", "in"]}


class KickstartIndexViewSet(ReadOnlyContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartIndex is an upstream image index exactly as a registry sent it under a tag
    (`42`), kept by a sync from a kickstart OCI remote. A push of the repository version
    writes it back byte for byte when the version holds every manifest it lists, so its
    digest and the signatures on it stay valid. A repository version holds at most one
    per tag. Created by sync only.
    """

    endpoint_name = "indexes"
    queryset = KickstartIndex.objects.all()
    serializer_class = KickstartIndexSerializer
    filterset_class = KickstartIndexFilter

    DEFAULT_ACCESS_POLICY = CONTENT_ACCESS_POLICY


class KickstartReleaseIndexFilter(KickstartContentFilter):
    """Filter release indexes by stream."""

    class Meta:
        model = KickstartReleaseIndex
        fields = {"stream": ["exact", "in"]}


class KickstartReleaseIndexViewSet(ReadOnlyContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartReleaseIndex is a CoreOS stream's release history and update policy
    (barriers, dead ends, rollouts) as a sync from a CoreOS remote with
    `release_index_url` read it: what a distribution's update graph (`<base_url>v1/graph`)
    serves. A repository version holds at most one per stream. Created by sync only.
    """

    endpoint_name = "release_indexes"
    queryset = KickstartReleaseIndex.objects.all()
    serializer_class = KickstartReleaseIndexSerializer
    filterset_class = KickstartReleaseIndexFilter

    DEFAULT_ACCESS_POLICY = CONTENT_ACCESS_POLICY


class KickstartOciRemoteViewSet(RemoteViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart OCI remote names a registry (`url`) and a repository in it
    (`upstream_name`) that publishes netboot trees as OCI artifacts: tag `N` an
    image index, tag `N-ARCH` a manifest whose layers are the boot files.
    """

    endpoint_name = "oci"
    queryset = KickstartOciRemote.objects.all()
    serializer_class = KickstartOciRemoteSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartociremote"
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartociremote",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartociremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartociremote",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartociremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartociremote",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartociremote",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartociremote_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartociremote_creator": ["kickstart.add_kickstartociremote"],
        "kickstart.kickstartociremote_owner": [
            "kickstart.view_kickstartociremote",
            "kickstart.change_kickstartociremote",
            "kickstart.delete_kickstartociremote",
            "kickstart.manage_roles_kickstartociremote",
        ],
        "kickstart.kickstartociremote_viewer": ["kickstart.view_kickstartociremote"],
    }


class KickstartDnfRemoteViewSet(RemoteViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart dnf remote names a dnf install tree (the directory holding
    `.treeinfo`). A sync takes its images and unpacks shim, GRUB and PXELINUX
    from the newest matching RPMs, checking their signatures under `signature_policy`.
    """

    endpoint_name = "dnf"
    queryset = KickstartDnfRemote.objects.all()
    serializer_class = KickstartDnfRemoteSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartdnfremote"
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartdnfremote",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartdnfremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdnfremote",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartdnfremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdnfremote",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartdnfremote",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartdnfremote_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartdnfremote_creator": ["kickstart.add_kickstartdnfremote"],
        "kickstart.kickstartdnfremote_owner": [
            "kickstart.view_kickstartdnfremote",
            "kickstart.change_kickstartdnfremote",
            "kickstart.delete_kickstartdnfremote",
            "kickstart.manage_roles_kickstartdnfremote",
        ],
        "kickstart.kickstartdnfremote_viewer": ["kickstart.view_kickstartdnfremote"],
    }


class KickstartPulpRemoteViewSet(RemoteViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart Pulp remote names a kickstart distribution of another Pulp (its
    `base_url`): a replica's upstream. A sync reads its `trees.json` and fetches each
    tree's files below that URL, checked against the sha256 and size published there.
    `POST /upstream-pulps/<id>/replicate/` creates these remotes for every kickstart
    distribution of the upstream Pulp.
    """

    endpoint_name = "pulp"
    queryset = KickstartPulpRemote.objects.all()
    serializer_class = KickstartPulpRemoteSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartpulpremote"
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartpulpremote",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartpulpremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartpulpremote",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartpulpremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartpulpremote",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartpulpremote",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartpulpremote_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartpulpremote_creator": ["kickstart.add_kickstartpulpremote"],
        "kickstart.kickstartpulpremote_owner": [
            "kickstart.view_kickstartpulpremote",
            "kickstart.change_kickstartpulpremote",
            "kickstart.delete_kickstartpulpremote",
            "kickstart.manage_roles_kickstartpulpremote",
        ],
        "kickstart.kickstartpulpremote_viewer": ["kickstart.view_kickstartpulpremote"],
    }


class KickstartCoreosRemoteViewSet(RemoteViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart CoreOS remote names a CoreOS stream metadata document (Fedora's
    `https://builds.coreos.fedoraproject.org/streams/stable.json`; RHCOS and SCOS
    streams of the same schema). A sync stores one tree per architecture of the
    stream's current release (live PXE kernel, initramfs, rootfs; the metal disk image
    and the ISO on request), each file checked against the document's sha256 and,
    under a signature policy, its detached OpenPGP signature. With `release_index_url`
    (and `updates_url`) it also stores the stream's release history, from which a
    distribution serves an update graph for Zincati.
    """

    endpoint_name = "coreos"
    queryset = KickstartCoreosRemote.objects.all()
    serializer_class = KickstartCoreosRemoteSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartcoreosremote"
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartcoreosremote",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartcoreosremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartcoreosremote",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartcoreosremote",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartcoreosremote",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartcoreosremote",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartcoreosremote_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartcoreosremote_creator": ["kickstart.add_kickstartcoreosremote"],
        "kickstart.kickstartcoreosremote_owner": [
            "kickstart.view_kickstartcoreosremote",
            "kickstart.change_kickstartcoreosremote",
            "kickstart.delete_kickstartcoreosremote",
            "kickstart.manage_roles_kickstartcoreosremote",
        ],
        "kickstart.kickstartcoreosremote_viewer": ["kickstart.view_kickstartcoreosremote"],
    }


class KickstartRepositoryViewSet(RepositoryViewSet, ModifyRepositoryActionMixin, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart repository holds versioned netboot trees, at most one per
    release and architecture in each version.
    """

    endpoint_name = "kickstart"
    queryset = KickstartRepository.objects.exclude(user_hidden=True)
    serializer_class = KickstartRepositorySerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartrepository"

    # kickstart_has_remote_param_perms (global_access_conditions.py): the remote may be of
    # either kickstart type, so it is checked with the view permission of its own type.
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartrepository",
                    "kickstart_has_remote_param_perms:view",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartrepository",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                    "kickstart_has_remote_param_perms:view",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartrepository",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartrepository",
                ],
            },
            {
                "action": ["sync"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.sync_kickstartrepository",
                    "kickstart_has_remote_param_perms:view",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                ],
            },
            {
                "action": ["modify"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.modify_kickstartrepository",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                ],
            },
            # Like sync: it reads the remote's upstream with its stored credentials and
            # makes a new version.
            {
                "action": ["verify_signatures"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.sync_kickstartrepository",
                    "kickstart_has_remote_param_perms:view",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                ],
            },
            # Reads the repository and writes to the remote's registry with the remote's
            # stored credentials: who may view the one and change the other.
            {
                "action": ["push"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository",
                    "kickstart_has_remote_param_perms:change",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartrepository_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartrepository_creator": ["kickstart.add_kickstartrepository"],
        "kickstart.kickstartrepository_owner": [
            "kickstart.view_kickstartrepository",
            "kickstart.change_kickstartrepository",
            "kickstart.delete_kickstartrepository",
            "kickstart.manage_roles_kickstartrepository",
            "kickstart.modify_kickstartrepository",
            "kickstart.sync_kickstartrepository",
            "kickstart.repair_kickstartrepository",
        ],
        "kickstart.kickstartrepository_viewer": ["kickstart.view_kickstartrepository"],
    }

    @extend_schema(
        description="Trigger an asynchronous task to sync netboot trees from a remote.",
        summary="Sync from a remote",
        responses={202: AsyncOperationResponseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=KickstartRepositorySyncSerializer)
    def sync(self, request, pk, **kwargs):
        """Dispatch a sync, exclusive on the repository and on the remote."""
        repository = self.get_object()
        serializer = KickstartRepositorySyncSerializer(
            data=request.data, context={"request": request, "repository_pk": pk}
        )
        serializer.is_valid(raise_exception=True)
        remote = serializer.validated_data.get("remote", repository.remote)
        remote = remote.cast() if remote else None
        if not isinstance(remote, tuple(KickstartRepository.REMOTE_TYPES)):
            # Any remote type the repository accepts has a source (see sources/).
            raise ValidationError({"remote": _("A kickstart remote is required.")})
        result = dispatch(
            tasks.synchronize,
            # Exclusive on the remote too: two syncs of one remote running at once race in
            # pulpcore's RemoteArtifactSaver (IntegrityError on core_remoteartifact); with
            # several workers they would fail at random, so they run one after the other.
            exclusive_resources=[repository, remote],
            kwargs={
                "remote_pk": str(remote.pk),
                "repository_pk": str(repository.pk),
                "mirror": serializer.validated_data.get("mirror", False),
                "allow_empty": serializer.validated_data.get("allow_empty", False),
                "optimize": serializer.validated_data.get("optimize", True),
            },
        )
        return OperationPostponedResponse(result, request)

    @extend_schema(
        summary="Verify signatures again",
        description=(
            "Trigger an asynchronous task that checks the trees of the repository's latest "
            "version again with this Pulp's keys: those of the remote's kind (OCI or dnf) are "
            "verified against the signatures (or RPMs) its upstream serves now, under its "
            "signature_keys and signature_policy, as a sync checks the trees it keeps. The "
            "signature records an import or a replication carried (checked_here false) never "
            "count. The new verifications (checked_here true) are added in a new version; "
            "under 'required' a tree no trusted key vouches for fails the task, naming it, "
            "and no version is created. HTTP 400 for a remote whose policy is 'none'."
        ),
        request=KickstartRepositoryVerifySerializer,
        responses={202: AsyncOperationResponseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=KickstartRepositoryVerifySerializer)
    def verify_signatures(self, request, pk, **kwargs):
        """Dispatch a verification, exclusive on the repository (it makes the next version)."""
        repository = self.get_object()
        serializer = KickstartRepositoryVerifySerializer(
            data=request.data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        remote = serializer.validated_data["remote"]
        result = dispatch(
            tasks.verify_signatures,
            exclusive_resources=[repository],
            shared_resources=[remote],
            kwargs={"repository_pk": str(repository.pk), "remote_pk": str(remote.pk)},
        )
        return OperationPostponedResponse(result, request)

    @extend_schema(
        summary="Push to a registry",
        description=(
            "Trigger an asynchronous task that pushes the trees of a version of the "
            "repository (the latest by default) to the registry repository a kickstart OCI "
            "remote names, in the netboot OCI format: a manifest tagged N-ARCH per tree and "
            "an index tagged N per release. Blobs the registry has are not sent again."
        ),
        request=KickstartRepositoryPushSerializer,
        responses={202: AsyncOperationResponseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=KickstartRepositoryPushSerializer)
    def push(self, request, pk, **kwargs):
        """Dispatch a push: the repository shared, the destination remote exclusive."""
        repository = self.get_object()
        serializer = KickstartRepositoryPushSerializer(
            data=request.data, context={"request": request, "repository": repository}
        )
        serializer.is_valid(raise_exception=True)
        remote = serializer.validated_data["remote"]
        version = serializer.validated_data.get("repository_version")
        result = dispatch(
            tasks.push,
            # Two pushes to one destination at once would race on its tags.
            exclusive_resources=[remote],
            shared_resources=[repository],
            kwargs={
                "repository_pk": str(repository.pk),
                "remote_pk": str(remote.pk),
                "version_number": version.number if version is not None else None,
                "releases": serializer.validated_data.get("releases") or None,
                "copy_signatures": serializer.validated_data.get("copy_signatures", False),
            },
        )
        return OperationPostponedResponse(result, request)


class KickstartRepositoryVersionViewSet(RepositoryVersionViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A version of a kickstart repository: the set of trees it held at one point.
    """

    parent_viewset = KickstartRepositoryViewSet

    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": (
                    "has_repository_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository"
                ),
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.delete_kickstartrepository",
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.view_kickstartrepository",
                ],
            },
            {
                "action": ["repair"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.repair_kickstartrepository",
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.view_kickstartrepository",
                ],
            },
        ],
    }


class KickstartDistributionViewSet(DistributionViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart distribution serves each tree of a repository version at
    `<base_path>/<version>/<arch>/` through the content app.
    """

    endpoint_name = "kickstart"
    queryset = KickstartDistribution.objects.all()
    serializer_class = KickstartDistributionSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartdistribution"
    # Serving a repository (or a fixed version of one) exposes its trees through the
    # content app, possibly without the owner's content guard: only a user who may
    # view that repository may point a distribution at it, on create and on update.
    # Like pulp_file's has_repo_or_repo_ver_param_model_or_domain_or_obj_perms, but
    # checked with the repository's own type (see global_access_conditions.py).
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve", "my_permissions"],
                "principal": "authenticated",
                "effect": "allow",
            },
            {
                "action": ["create"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_perms:kickstart.add_kickstartdistribution",
                    "kickstart_has_repo_or_repo_ver_param_perms:view",
                ],
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartdistribution",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdistribution",
                    "kickstart_has_repo_or_repo_ver_param_perms:view",
                ],
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.delete_kickstartdistribution",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdistribution",
                ],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.manage_roles_kickstartdistribution",
                ],
            },
            {
                "action": ["trees"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdistribution",
                ],
            },
            # Export writes to the worker's filesystem: the change permission, not view.
            # Where to: the serializer checks the directory's owner (KickstartExportDirectory).
            {
                "action": ["export"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.change_kickstartdistribution",
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdistribution",
                ],
            },
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": "kickstart.kickstartdistribution_owner"},
            },
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }
    LOCKED_ROLES = {
        "kickstart.kickstartdistribution_creator": ["kickstart.add_kickstartdistribution"],
        "kickstart.kickstartdistribution_owner": [
            "kickstart.view_kickstartdistribution",
            "kickstart.change_kickstartdistribution",
            "kickstart.delete_kickstartdistribution",
            "kickstart.manage_roles_kickstartdistribution",
        ],
        "kickstart.kickstartdistribution_viewer": ["kickstart.view_kickstartdistribution"],
    }

    @extend_schema(
        summary="Served trees",
        description=(
            "The trees the distribution serves now, with their file and boot config URLs: "
            "the same document as <base_path>/trees.json, behind the API's permissions "
            "instead of the distribution's content guard."
        ),
        responses={200: ServedTreesSerializer},
    )
    @action(detail=True, methods=["get"], serializer_class=ServedTreesSerializer)
    def trees(self, request, pk=None, **kwargs):
        """The trees this distribution serves now, as in its trees.json."""
        return Response(documents.index(self.get_object()))

    @extend_schema(
        summary="Export to a directory",
        description=(
            "Trigger an asynchronous task that writes the trees the distribution serves now, "
            "with their generated documents, to a directory inside ALLOWED_EXPORT_PATHS "
            "(hard links where possible). The directory becomes this distribution's: a "
            "re-export removes only what the previous export there wrote. HTTP 400 for a "
            "directory of another distribution unless the user has "
            "kickstart.change_kickstartdistribution on it (the directory is then handed "
            "over), for one holding files no distribution exported unless the user has that "
            "permission on every distribution, and for nested export directories."
        ),
        request=KickstartDistributionExportSerializer,
        responses={202: AsyncOperationResponseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=KickstartDistributionExportSerializer)
    def export(self, request, pk=None, **kwargs):
        """Dispatch an export; exclusive on the path, the distribution shared.

        Who may export where is decided by the serializer (directory ownership, see
        KickstartExportDirectory) on top of this action's access policy; the task claims
        the directory again, atomically, with only what the serializer allowed.
        """
        distribution = self.get_object()
        serializer = KickstartDistributionExportSerializer(
            data=request.data, context={"request": request, "distribution": distribution}
        )
        serializer.is_valid(raise_exception=True)
        path = serializer.validated_data["path"]
        result = dispatch(
            tasks.export_distribution,
            exclusive_resources=[f"kickstart-export:{path}"],
            shared_resources=[distribution],
            kwargs={
                "distribution_pk": str(distribution.pk),
                "path": path,
                "origin": serializer.validated_data.get("origin"),
                "take_over": serializer.validated_data.get("take_over"),
                "adopt": serializer.validated_data["adopt"],
                "boot_files": serializer.validated_data["boot_files"],
                "layout": serializer.validated_data["layout"],
            },
        )
        return OperationPostponedResponse(result, request)
