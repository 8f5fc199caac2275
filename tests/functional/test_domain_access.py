"""The plugin's access conditions with domains on (a second Pulp, DOMAIN_ENABLED = True).

``kickstart_has_repo_or_repo_ver_param_perms:view`` and
``kickstart_has_remote_param_perms:view`` (app/global_access_conditions.py) allow a
user who holds the view permission of the named object's type at the object's
domain, and nobody else: not a user without it, and not a user of one domain naming
an object of another. test_rbac.py covers the object and model levels on the stack.
"""

import uuid

import pytest
import requests

from tests.support.second_pulp import SecondPulp

PASSWORD = "Access-Check-19x"


def _unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def tenants():
    """A domain Pulp with two domains, a repository and a remote in each."""
    with SecondPulp("access", settings={"DOMAIN_ENABLED": True}) as pulp:
        found = {"pulp": pulp, "admin": pulp.api(domain="default")}
        for tenant in ("a", "b"):
            name = _unique(f"tenant{tenant}")
            api = pulp.api(domain=name)
            found[tenant] = {
                "name": name,
                "api": api,
                "domain": pulp.create_domain(name),
                "repository": api.post("repositories/kickstart/kickstart/", {"name": _unique("r")}),
                # Nothing listens on port 9: a sync dispatched here fails at once.
                "remote": api.post(
                    "remotes/kickstart/oci/",
                    {"name": _unique("o"), "url": "http://127.0.0.1:9/", "upstream_name": "x"},
                ),
            }
        yield found


@pytest.fixture
def user(tenants):
    """``user(*roles)``: a new user holding each role at domain a's level."""

    def _make(*roles):
        login = _unique("user")
        created = tenants["admin"].post("users/", {"username": login, "password": PASSWORD})
        for role in roles:
            tenants["admin"].post(
                created["pulp_href"] + "roles/",
                {
                    "role": role,
                    "content_object": None,
                    "domain": tenants["a"]["domain"]["pulp_href"],
                },
            )
        return login

    return _make


def _post(tenants, login, path, body):
    response = requests.post(
        tenants["a"]["api"].url(path), json=body, auth=(login, PASSWORD), timeout=60
    )
    return response.status_code, response.text[:300]


def test_a_distribution_serves_only_a_repository_its_creator_may_view_in_its_domain(tenants, user):
    def distribute(login, repository):
        base_path = _unique("bp")
        body = {"name": base_path, "base_path": base_path, "repository": repository["pulp_href"]}
        return _post(tenants, login, "distributions/kickstart/kickstart/", body)

    viewer = user("kickstart.kickstartdistribution_creator", "kickstart.kickstartrepository_viewer")
    blind = user("kickstart.kickstartdistribution_creator")
    assert distribute(viewer, tenants["a"]["repository"])[0] == 202
    assert distribute(blind, tenants["a"]["repository"])[0] == 403
    # Viewing domain a's repositories says nothing of domain b's.
    assert distribute(viewer, tenants["b"]["repository"])[0] == 403


def test_a_sync_uses_only_a_remote_the_user_may_view_in_its_domain(tenants, user):
    def sync(login, remote):
        path = tenants["a"]["repository"]["pulp_href"] + "sync/"
        return _post(tenants, login, path, {"remote": remote["pulp_href"]})

    viewer = user("kickstart.kickstartrepository_owner", "kickstart.kickstartociremote_viewer")
    blind = user("kickstart.kickstartrepository_owner")
    assert sync(viewer, tenants["a"]["remote"])[0] == 202
    assert sync(blind, tenants["a"]["remote"])[0] == 403
    assert sync(viewer, tenants["b"]["remote"])[0] == 403
