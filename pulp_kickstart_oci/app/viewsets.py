from django.conf import settings
from django_filters import CharFilter
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from pulpcore.plugin.actions import ModifyRepositoryActionMixin
from pulpcore.plugin.models import Repository
from pulpcore.plugin.serializers import AsyncOperationResponseSerializer
from pulpcore.plugin.tasking import dispatch
from pulpcore.plugin.viewsets import (
    ContentFilter,
    DistributionViewSet,
    OperationPostponedResponse,
    ReadOnlyContentViewSet,
    RemoteViewSet,
    RepositoryVersionViewSet,
    RepositoryViewSet,
    RolesMixin,
)

from . import tasks
from .models import (
    KickstartDistribution,
    KickstartDnfRemote,
    KickstartOciRemote,
    KickstartRepository,
    KickstartTag,
    KickstartTree,
)
from .netboot import arch as archs
from .serializers import (
    KickstartDistributionSerializer,
    KickstartDnfRemoteSerializer,
    KickstartOciRemoteSerializer,
    KickstartRepositorySerializer,
    KickstartRepositorySyncSerializer,
    KickstartTagSerializer,
    KickstartTreeSerializer,
    ServedTreesSerializer,
)
from .serving import TreeServer


def _perm(model, verb):
    return f"kickstart.{verb}_{model}"


def _may_view(request, obj):
    """Whether the user may view ``obj`` (model, domain or object level), whatever its type.

    pulpcore's parameter conditions take the permission names to check, and its
    permission backend raises (HTTP 500) when a permission belongs to another
    type than the object: a kickstart remote may be OCI or dnf, and a
    distribution's ``repository`` may be any repository.
    """
    obj = obj.cast()
    perm = f"{obj._meta.app_label}.view_{obj._meta.model_name}"
    user = request.user
    if user.has_perm(perm) or user.has_perm(perm, obj):
        return True
    return bool(settings.DOMAIN_ENABLED) and user.has_perm(perm, obj=request.pulp_domain)


def _validated_param(request, view, action, *names):
    """The first of ``names`` given in the request body, validated by the action's serializer.

    Actions whose serializer has none of these fields (set_label, unset_label) give None
    without validating: their serializers need a context only the action itself builds.
    """
    serializer_class = view.serializer_class
    if not set(names) & set(serializer_class().fields):
        return None
    instance = view.get_object() if view.detail else None
    context = {"request": request}
    if instance is not None:
        context["repository_pk"] = instance.pk
    serializer = serializer_class(
        instance=instance,
        data=request.data,
        context=context,
        partial=action == "partial_update",
    )
    serializer.is_valid(raise_exception=True)
    for name in names:
        if (value := serializer.validated_data.get(name)) is not None:
            return value
    return None


class KickstartAccessPolicy(api_settings.DEFAULT_PERMISSION_CLASSES[0]):
    """The configured access policy class, plus conditions on objects named in the body.

    Each condition is true when the parameter is absent, or when the user may
    view the object it names, checked with the view permission of that object's
    own type.
    """

    def has_view_perms_on_remote_param(self, request, view, action):
        remote = _validated_param(request, view, action, "remote")
        return remote is None or _may_view(request, remote)

    def has_view_perms_on_repository_param(self, request, view, action):
        served = _validated_param(request, view, action, "repository", "repository_version")
        if served is not None and not isinstance(served, Repository):
            served = served.repository
        return served is None or _may_view(request, served)


def _object_policy(model, extra_statements=(), creation_condition=()):
    """The access policy Pulp plugins give a user-owned object type.

    Authenticated users list and read what they can see; creating needs the
    model permission; changing, deleting and roles need object permissions;
    the creator becomes owner.
    """
    view = f"has_model_or_domain_or_obj_perms:{_perm(model, 'view')}"
    return {
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
                "condition": [f"has_model_or_domain_perms:{_perm(model, 'add')}"]
                + list(creation_condition),
            },
            {
                "action": ["update", "partial_update", "set_label", "unset_label"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    f"has_model_or_domain_or_obj_perms:{_perm(model, 'change')}",
                    view,
                ]
                + list(creation_condition),
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [f"has_model_or_domain_or_obj_perms:{_perm(model, 'delete')}", view],
            },
            {
                "action": ["list_roles", "add_role", "remove_role"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [f"has_model_or_domain_or_obj_perms:{_perm(model, 'manage_roles')}"],
            },
            *extra_statements,
        ],
        "creation_hooks": [
            {
                "function": "add_roles_for_object_creator",
                "parameters": {"roles": f"kickstart.{model}_owner"},
            }
        ],
        "queryset_scoping": {"function": "scope_queryset"},
    }


def _locked_roles(model, extra_owner_perms=()):
    owner = [_perm(model, verb) for verb in ("view", "change", "delete", "manage_roles")]
    return {
        f"kickstart.{model}_creator": [_perm(model, "add")],
        f"kickstart.{model}_owner": owner + [_perm(model, verb) for verb in extra_owner_perms],
        f"kickstart.{model}_viewer": [_perm(model, "view")],
    }


class KickstartTreeFilter(ContentFilter):
    """Filter trees by release, architecture (either naming) and upstream digest."""

    arch = CharFilter(method="filter_arch", help_text="Fedora (x86_64) or OCI (amd64) name.")

    def filter_arch(self, queryset, name, value):
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
        }


class KickstartTreeViewSet(ReadOnlyContentViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A KickstartTree is one release and architecture of network-install boot files
    (kernel, initrd, installer image, bootloaders), created by syncing a
    kickstart remote.
    """

    endpoint_name = "trees"
    queryset = KickstartTree.objects.prefetch_related("_artifacts")
    serializer_class = KickstartTreeSerializer
    filterset_class = KickstartTreeFilter

    DEFAULT_ACCESS_POLICY = {
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


class KickstartTagFilter(ContentFilter):
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

    DEFAULT_ACCESS_POLICY = {
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
    DEFAULT_ACCESS_POLICY = _object_policy("kickstartociremote")
    LOCKED_ROLES = _locked_roles("kickstartociremote")


class KickstartDnfRemoteViewSet(RemoteViewSet, RolesMixin):
    """
    <!-- User-facing documentation, rendered as html-->
    A kickstart dnf remote names a dnf install tree (the directory holding
    `.treeinfo`). A sync takes its images and unpacks shim, GRUB and PXELINUX
    from the newest matching RPMs, checking signatures when `gpg_keys` is set.
    """

    endpoint_name = "dnf"
    queryset = KickstartDnfRemote.objects.all()
    serializer_class = KickstartDnfRemoteSerializer
    queryset_filtering_required_permission = "kickstart.view_kickstartdnfremote"
    DEFAULT_ACCESS_POLICY = _object_policy("kickstartdnfremote")
    LOCKED_ROLES = _locked_roles("kickstartdnfremote")


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

    permission_classes = (KickstartAccessPolicy,)
    # The remote may be of either kickstart type (see KickstartAccessPolicy).
    _remote_view = "has_view_perms_on_remote_param"
    _repo_view = "has_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository"
    DEFAULT_ACCESS_POLICY = _object_policy(
        "kickstartrepository",
        creation_condition=[_remote_view],
        extra_statements=[
            {
                "action": ["sync"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.sync_kickstartrepository",
                    _remote_view,
                    _repo_view,
                ],
            },
            {
                "action": ["modify"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.modify_kickstartrepository",
                    _repo_view,
                ],
            },
        ],
    )
    LOCKED_ROLES = _locked_roles("kickstartrepository", ("modify", "sync", "repair"))

    @extend_schema(
        description="Trigger an asynchronous task to sync netboot trees from a remote.",
        summary="Sync from a remote",
        responses={202: AsyncOperationResponseSerializer},
    )
    @action(detail=True, methods=["post"], serializer_class=KickstartRepositorySyncSerializer)
    def sync(self, request, pk, **kwargs):
        """Dispatch a sync; the repository is locked, the remote shared."""
        repository = self.get_object()
        serializer = KickstartRepositorySyncSerializer(
            data=request.data, context={"request": request, "repository_pk": pk}
        )
        serializer.is_valid(raise_exception=True)
        remote = serializer.validated_data.get("remote", repository.remote)
        remote = remote.cast() if remote else None
        if not isinstance(remote, (KickstartOciRemote, KickstartDnfRemote)):
            raise ValidationError({"remote": "A kickstart OCI or dnf remote is required."})
        result = dispatch(
            tasks.synchronize,
            shared_resources=[remote],
            exclusive_resources=[repository],
            kwargs={
                "remote_pk": str(remote.pk),
                "repository_pk": str(repository.pk),
                "mirror": serializer.validated_data.get("mirror", False),
                "allow_empty": serializer.validated_data.get("allow_empty", False),
            },
        )
        return OperationPostponedResponse(result, request)


class KickstartRepositoryVersionViewSet(RepositoryVersionViewSet):
    """
    <!-- User-facing documentation, rendered as html-->
    A version of a kickstart repository: the set of trees it held at one point.
    """

    parent_viewset = KickstartRepositoryViewSet

    _view = "has_repository_model_or_domain_or_obj_perms:kickstart.view_kickstartrepository"
    DEFAULT_ACCESS_POLICY = {
        "statements": [
            {
                "action": ["list", "retrieve"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": _view,
            },
            {
                "action": ["destroy"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.delete_kickstartrepository",
                    _view,
                ],
            },
            {
                "action": ["repair"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_repository_model_or_domain_or_obj_perms:"
                    "kickstart.repair_kickstartrepository",
                    _view,
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
    permission_classes = (KickstartAccessPolicy,)
    # Serving a repository (or a fixed version of one) exposes its trees through the
    # content app, possibly without the owner's content guard: only a user who may
    # view that repository may point a distribution at it, on create and on update.
    # Like pulp_file's has_repo_or_repo_ver_param_model_or_domain_or_obj_perms, but
    # checked with the repository's own type (see KickstartAccessPolicy).
    DEFAULT_ACCESS_POLICY = _object_policy(
        "kickstartdistribution",
        creation_condition=["has_view_perms_on_repository_param"],
        extra_statements=[
            {
                "action": ["trees"],
                "principal": "authenticated",
                "effect": "allow",
                "condition": [
                    "has_model_or_domain_or_obj_perms:kickstart.view_kickstartdistribution"
                ],
            },
        ],
    )
    LOCKED_ROLES = _locked_roles("kickstartdistribution")

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
        return Response(TreeServer(self.get_object()).served())
