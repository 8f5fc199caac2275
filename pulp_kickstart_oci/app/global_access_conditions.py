"""The plugin's access conditions, named in the viewsets' DEFAULT_ACCESS_POLICY.

``settings.py`` adds this module to ``DRF_ACCESS_POLICY["reusable_conditions"]`` (as
pulp_container does): drf-access-policy looks a condition up by name in pulpcore's
module, then in each plugin's, so these names start with ``kickstart_``.

pulpcore's parameter conditions (``has_remote_param_model_or_domain_or_obj_perms``,
``has_repo_or_repo_ver_param_model_or_domain_or_obj_perms``) take one permission name,
and its permission backend answers HTTP 500 when that permission belongs to another
type than the object: a kickstart remote may be OCI or dnf, and a distribution's
``repository`` may be of any type. So these take the permission's action (``view``)
and check it with the model of the object named.

They also validate no request body: each resolves only the field it checks, as the
action's serializer checks that field (the same href or PRN grammar, queryset and
``validate_<field>``), once per request (cached on the request); the view validates
the body once, as without a condition.
"""

from collections.abc import Mapping
from gettext import gettext as _

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty

from pulpcore.plugin.models import RepositoryVersion

_RESOLVED = "kickstart_named_objects"


def kickstart_has_remote_param_perms(request, view, action, permission):
    """True unless the body names a remote on which the user lacks ``permission`` (e.g. ``view``).

    The permission is the one of the remote's own type (``kickstart.view_kickstartdnfremote``
    for a dnf remote), at model, domain or object level.
    """
    return _holds(request, _named(request, view, "remote"), permission)


def kickstart_has_repo_or_repo_ver_param_perms(request, view, action, permission):
    """True unless the body's ``repository`` or ``repository_version`` (its repository) is one
    on which the user lacks ``permission`` (e.g. ``view``) of that repository's own type.

    Serving a repository exposes its trees through the content app, possibly without its
    owner's content guard: only a user who may view it may point a distribution at it.
    """
    return all(
        _holds(request, _named(request, view, name), permission)
        for name in ("repository", "repository_version")
    )


def kickstart_has_upload_repo_perms(request, view, action, permission):
    """An upload's ``repository``: required unless the user is an admin, and one on which
    the user holds ``permission`` (e.g. ``modify``) of that repository's own type.

    pulpcore's ``has_required_repo_perms_on_upload`` for a repository of any type: a tree
    uploaded into no repository is content that only admins see (content is scoped by the
    repositories a user may view), so anyone else names one (HTTP 400 otherwise).
    """
    if request.user.is_superuser:
        return True
    repository = _named(request, view, "repository")
    if repository is None:
        raise ValidationError(
            {"repository": [_("Destination upload repository was not provided.")]}
        )
    return _holds(request, repository, permission)


def kickstart_has_upload_params_perms(request, view, action, permission):
    """True unless an entry of the body's ``files`` names an upload on which the user lacks
    ``permission`` (e.g. ``change``: ``core.change_upload``), at model, domain or object level.

    pulpcore's ``has_upload_param_model_or_domain_or_obj_perms`` for each upload of a list.
    """
    if request.user.is_superuser:
        return True  # holds every permission: the view validates the body, naming every field
    return all(
        _holds(request, entry.get("upload"), permission)
        for entry in _named(request, view, "files") or []
    )


def _named(request, view, name):
    """The object the body's field ``name`` names, or None (absent, null, or no such field).

    Resolved and checked as the action's serializer does that one field (the field, then
    its ``validate_<name>``), once per request: a value it rejects is a 400 naming the
    field, as the view's validation would give.
    """
    resolved = getattr(request, _RESOLVED, None)
    if resolved is None:
        resolved = {}
        setattr(request, _RESOLVED, resolved)
    if name not in resolved:
        serializer = view.get_serializer()
        field = serializer.fields.get(name)
        # A body that is no object (a JSON string) names nothing: the view's 400 says why.
        data = request.data if isinstance(request.data, Mapping) else {}
        value = empty if field is None or field.read_only else field.get_value(data)
        try:
            if value is empty:
                resolved[name] = None
            else:
                # As the serializer validates one field: the field, then validate_<name>.
                resolved[name] = _of_the_fields_type(field, field.run_validation(value))
                if validate := getattr(serializer, f"validate_{name}", None):
                    resolved[name] = validate(resolved[name])
        except ValidationError as error:
            raise ValidationError({name: error.detail}) from error
        except (ObjectDoesNotExist, AttributeError, ValueError):
            # pulpcore's fields resolve a PRN without checking that it names any object
            # (DoesNotExist) or one of their type (a version field given a repository
            # raises AttributeError inside pulpcore, a repository field given a version
            # ValueError): a 400 naming the field, never a 500.
            raise ValidationError({name: [_NOT_RESOLVED]}) from None
    return resolved[name]


_NOT_RESOLVED = _("This href or PRN names no object of the kind this field takes.")


def _of_the_fields_type(field, obj):
    """``obj`` when it is of the model the field's queryset holds; else ValueError."""
    queryset = getattr(field, "queryset", None)
    if obj is not None and queryset is not None and not isinstance(obj, queryset.model):
        raise ValueError(type(obj).__name__)
    return obj


def _holds(request, obj, permission):
    """Whether the user holds ``<app>.<permission>_<model>`` on ``obj``'s own type; True for None.

    A repository version stands for its repository.
    """
    if obj is None:
        return True
    if isinstance(obj, RepositoryVersion):
        obj = obj.repository
    if hasattr(obj, "cast"):  # a master model's detail type (an upload has none)
        obj = obj.cast()
    perm = f"{obj._meta.app_label}.{permission}_{obj._meta.model_name}"
    user = request.user
    return (
        user.has_perm(perm)
        or user.has_perm(perm, obj)
        or (bool(settings.DOMAIN_ENABLED) and user.has_perm(perm, obj=obj.pulp_domain))
    )


# Deprecated names (the conditions were methods of a permission class until issue 19), kept
# so that an access policy an admin customized with them keeps working; removed in 1.0.


def has_view_perms_on_remote_param(request, view, action):
    """Deprecated: ``kickstart_has_remote_param_perms:view``."""
    return kickstart_has_remote_param_perms(request, view, action, "view")


def has_view_perms_on_repository_param(request, view, action):
    """Deprecated: ``kickstart_has_repo_or_repo_ver_param_perms:view``."""
    return kickstart_has_repo_or_repo_ver_param_perms(request, view, action, "view")
