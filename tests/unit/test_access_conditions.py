"""The viewsets' access policies name only conditions Pulp can find, and ours check once.

The policies are literal data in viewsets.py; pulpcore's permission class looks each
condition up by name (its own module, then every plugin's ``reusable_conditions``).
A name no module defines fails every request of that action, so each one is resolved
here the way the permission class resolves it. The functional proof of what the
conditions allow is tests/functional/test_rbac.py.
"""

import pytest
from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from pulp_kickstart_oci.app import global_access_conditions as conditions
from pulp_kickstart_oci.app import viewsets

MODULE = "pulp_kickstart_oci.app.global_access_conditions"


def _policies():
    for name in dir(viewsets):
        policy = getattr(getattr(viewsets, name), "DEFAULT_ACCESS_POLICY", None)
        if isinstance(policy, dict) and getattr(viewsets, name).__module__ == viewsets.__name__:
            yield name, policy


def _condition_names(policy):
    for statement in policy["statements"]:
        named = statement.get("condition") or []
        for condition in [named] if isinstance(named, str) else named:
            yield condition.split(":", 1)[0]


def test_the_conditions_module_is_registered_after_pulpcores():
    registered = settings.DRF_ACCESS_POLICY["reusable_conditions"]
    assert registered[0] == "pulpcore.app.global_access_conditions"
    assert MODULE in registered


@pytest.mark.parametrize("viewset, policy", list(_policies()), ids=lambda v: str(v)[:40])
def test_every_condition_a_policy_names_is_found(viewset, policy):
    permission_class = api_settings.DEFAULT_PERMISSION_CLASSES[0]
    assert not hasattr(getattr(viewsets, viewset), "permission_classes") or (
        getattr(viewsets, viewset).permission_classes == api_settings.DEFAULT_PERMISSION_CLASSES
    ), "a viewset of this plugin sets its own permission class"
    for name in _condition_names(policy):
        assert callable(permission_class()._get_condition_method(name)), (viewset, name)


def test_the_plugins_condition_names_cannot_shadow_or_be_shadowed():
    """Ours start with kickstart_ (the deprecated aliases aside) and pulpcore has none of them."""
    from pulpcore.app import global_access_conditions as pulpcore_conditions

    ours = [name for name in vars(conditions) if name.startswith(("kickstart_", "has_"))]
    assert "kickstart_has_remote_param_perms" in ours
    assert not [name for name in ours if hasattr(pulpcore_conditions, name)]


class _Field(serializers.Field):
    """A related field stand-in that counts its resolutions (on the class: a serializer
    binds a deep copy of each declared field)."""

    resolved = 0

    def __init__(self, objects, **kwargs):
        super().__init__(**kwargs)
        self.objects = objects

    def to_internal_value(self, data):
        _Field.resolved += 1
        if data not in self.objects:
            raise ValidationError("Invalid hyperlink - Object does not exist.")
        return self.objects[data]


class _Request:
    def __init__(self, data):
        self.data = data


class _View:
    """Gives one serializer whose validate() must never run: conditions validate no body."""

    def __init__(self, field):
        class Body(serializers.Serializer):
            remote = field

            def validate(self, data):
                raise AssertionError("a condition validated the whole body")

        self.serializer = Body()

    def get_serializer(self):
        return self.serializer


def test_a_named_object_is_resolved_once_per_request_and_the_body_is_not_validated():
    _Field.resolved = 0
    remote = "the remote (a stand-in)"
    view, request = _View(_Field({"/remotes/1/": remote})), _Request({"remote": "/remotes/1/"})
    for _ in range(3):
        assert conditions._named(request, view, "remote") == remote
    assert _Field.resolved == 1
    # Absent: nothing to resolve, nothing to check.
    assert conditions._named(_Request({}), _View(_Field({})), "remote") is None


def test_a_value_the_field_refuses_is_a_400_naming_the_field():
    view, request = _View(_Field({})), _Request({"remote": "/nowhere/"})
    with pytest.raises(ValidationError) as refused:
        conditions._named(request, view, "remote")
    assert set(refused.value.detail) == {"remote"}


def test_a_body_that_is_no_object_names_nothing():
    """A JSON string or list as the body: no field to resolve (the view's 400 says why)."""
    for body in ("a string", ["a", "list"]):
        assert conditions._named(_Request(body), _View(_Field({})), "remote") is None
