"""Role-based access: every kickstart endpoint used by real non-admin users.

The default access policies (viewsets.py) are exercised through the API with
users created for each test, given roles at model or object level, the way an
administrator would. Remote secrets stay write-only for everyone.
"""

import uuid

import pytest
import requests

from tests.support.pulp import CONTENT, PulpAPI, unique

OCI_REMOTES = "remotes/kickstart/oci/"
DNF_REMOTES = "remotes/kickstart/dnf/"
REPOSITORIES = "repositories/kickstart/kickstart/"
DISTRIBUTIONS = "distributions/kickstart/kickstart/"
TREES = "content/kickstart/trees/"


class User:
    """A Pulp user with its own API client; `call` returns the raw response."""

    def __init__(self, record, password):
        self.href = record["pulp_href"]
        self.username = record["username"]
        self.password = password
        self.client = PulpAPI(auth=(self.username, password))

    def call(self, method, path, body=None, **params):
        kwargs = {"params": params} if params else {}
        if body is not None:
            kwargs["json"] = body
        return self.client.request(method, path, expect=None, **kwargs)

    def count(self, path, **params):
        response = self.call("GET", path, **params)
        assert response.status_code == 200, response.text
        return response.json()["count"]


@pytest.fixture
def make_user(api):
    created = []

    def _make():
        password = f"Pw-{uuid.uuid4().hex}"
        record = api.post("users/", {"username": unique("rbac"), "password": password})
        created.append(record["pulp_href"])
        return User(record, password)

    yield _make
    for href in created:
        api.delete(href)


@pytest.fixture
def grant(api):
    """Give a user a role, on one object (its href) or, without one, on every object."""

    def _grant(user, role, obj=None):
        api.post(f"{user.href}roles/", {"role": role, "content_object": obj})

    return _grant


def _wait(api, response, raise_on_failure=True):
    assert response.status_code == 202, response.text
    return api.wait(response.json()["task"], raise_on_failure=raise_on_failure)


def _created(api, response):
    return api.get(_wait(api, response)["created_resources"][0])


REMOTE_BODIES = {
    OCI_REMOTES: {"url": "http://127.0.0.1:9", "upstream_name": "fedora/kickstart"},
    DNF_REMOTES: {"url": "http://127.0.0.1:9/fedora/42/Everything/x86_64/os/"},
}
REMOTE_MODELS = {OCI_REMOTES: "kickstartociremote", DNF_REMOTES: "kickstartdnfremote"}


def _secrets():
    marker = uuid.uuid4().hex
    return {
        "username": f"user-{marker}",
        "password": f"password-{marker}",
        "proxy_url": "http://127.0.0.1:9",
        "proxy_username": f"proxy-user-{marker}",
        "proxy_password": f"proxy-password-{marker}",
        "client_key": f"-----BEGIN PRIVATE KEY-----\nkey{marker}\n-----END PRIVATE KEY-----\n",
    }


def _assert_no_secret(response, secrets):
    assert response.status_code in (200, 201, 202), response.text
    for field in ("username", "password", "proxy_username", "proxy_password", "client_key"):
        assert secrets[field] not in response.text, field
        for record in response.json().get("results", [response.json()]):
            assert field not in record, field


@pytest.mark.parametrize("endpoint", [OCI_REMOTES, DNF_REMOTES])
def test_remotes_are_scoped_to_their_viewers_and_secrets_are_write_only(
    api, make_user, grant, cleanup, endpoint
):
    model = REMOTE_MODELS[endpoint]
    alice, bob = make_user(), make_user()
    secrets = _secrets()
    body = {"name": unique("remote"), **REMOTE_BODIES[endpoint], **secrets}

    assert requests.get(api.url(endpoint), timeout=60).status_code == 401
    assert bob.call("POST", endpoint, body).status_code == 403

    grant(alice, f"kickstart.{model}_creator")
    response = alice.call("POST", endpoint, body)
    assert response.status_code == 201, response.text
    remote = response.json()
    cleanup(remote["pulp_href"])
    href = remote["pulp_href"]
    _assert_no_secret(response, secrets)
    hidden = {field["name"]: field["is_set"] for field in remote["hidden_fields"]}
    for field in ("username", "password", "proxy_username", "proxy_password", "client_key"):
        assert hidden[field] is True, field

    # The creator owns it; nobody reads a secret back, admin included.
    _assert_no_secret(alice.call("GET", href), secrets)
    _assert_no_secret(alice.call("GET", endpoint, name=body["name"]), secrets)
    _assert_no_secret(api.request("GET", href), secrets)
    assert alice.count(endpoint, name=body["name"]) == 1

    # Without a role another user neither sees nor touches it.
    assert bob.count(endpoint, name=body["name"]) == 0
    assert bob.call("GET", href).status_code == 404
    assert bob.call("PATCH", href, {"url": "http://127.0.0.1:8"}).status_code == 404
    assert bob.call("DELETE", href).status_code == 404

    # A viewer sees it, without secrets, and still cannot change or delete it.
    grant(bob, f"kickstart.{model}_viewer", href)
    assert bob.count(endpoint, name=body["name"]) == 1
    _assert_no_secret(bob.call("GET", href), secrets)
    assert bob.call("PATCH", href, {"url": "http://127.0.0.1:8"}).status_code == 403
    assert bob.call("DELETE", href).status_code == 403
    assert bob.call("GET", f"{href}list_roles/").status_code == 403

    # The owner changes a secret: the answer does not echo it either.
    new = _secrets()
    response = alice.call("PATCH", href, {"password": new["password"]})
    assert new["password"] not in response.text
    _wait(api, response)
    _assert_no_secret(alice.call("GET", href), new)
    assert alice.call("GET", f"{href}list_roles/").status_code == 200
    _wait(api, alice.call("DELETE", href))
    assert api.request("GET", href, expect=(404,)).status_code == 404


def test_repositories_sync_modify_and_versions_need_their_permissions(
    api, make_user, grant, cleanup, upstream, publish_release, make_remote
):
    published = publish_release(upstream, "42")
    digests = ",".join(published["manifests"].values())
    remote = make_remote(upstream)
    alice, bob = make_user(), make_user()
    name = unique("repo")

    assert bob.call("POST", REPOSITORIES, {"name": name}).status_code == 403
    grant(alice, "kickstart.kickstartrepository_creator")
    # Creating a repository around a remote needs view on that remote.
    denied = alice.call("POST", REPOSITORIES, {"name": name, "remote": remote["pulp_href"]})
    assert denied.status_code == 403
    response = alice.call("POST", REPOSITORIES, {"name": name})
    assert response.status_code == 201, response.text
    repo = response.json()
    cleanup(repo["pulp_href"])
    href = repo["pulp_href"]

    assert bob.count(REPOSITORIES, name=name) == 0
    assert bob.call("GET", href).status_code == 404
    assert bob.call("GET", f"{href}versions/").status_code == 403

    # Sync: the owner may, but only with a remote it can see, of either type.
    sync = {"remote": remote["pulp_href"]}
    assert alice.call("POST", f"{href}sync/", sync).status_code == 403
    dnf = api.create(DNF_REMOTES, {"name": unique("dnf"), "url": "http://127.0.0.1:9/os/"})
    cleanup(dnf["pulp_href"])
    assert alice.call("POST", f"{href}sync/", {"remote": dnf["pulp_href"]}).status_code == 403
    grant(alice, "kickstart.kickstartdnfremote_viewer")  # model level: every dnf remote
    response = alice.call("POST", f"{href}sync/", {"remote": dnf["pulp_href"]})
    failed = _wait(api, response, raise_on_failure=False)
    assert failed["state"] == "failed"  # nothing listens on port 9
    assert alice.call("POST", f"{href}sync/", sync).status_code == 403
    grant(alice, "kickstart.kickstartociremote_viewer", remote["pulp_href"])
    task = _wait(api, alice.call("POST", f"{href}sync/", sync))
    assert task["state"] == "completed"
    version_1 = alice.client.get(href)["latest_version_href"]
    assert version_1.endswith("/versions/1/")

    assert alice.count(TREES, digest__in=digests) == 2
    assert bob.count(TREES, digest__in=digests) == 0

    # A viewer of the repository and the remote reads but may not sync or modify.
    grant(bob, "kickstart.kickstartrepository_viewer", href)
    grant(bob, "kickstart.kickstartociremote_viewer", remote["pulp_href"])
    assert bob.count(REPOSITORIES, name=name) == 1
    assert bob.count(TREES, digest__in=digests) == 2
    assert bob.count(f"{href}versions/") == 2
    assert bob.call("GET", version_1).status_code == 200
    assert bob.call("POST", f"{href}sync/", sync).status_code == 403
    tree = api.get(TREES, digest=published["manifests"]["amd64"])["results"][0]
    modify = {"remove_content_units": [tree["pulp_href"]]}
    assert bob.call("POST", f"{href}modify/", modify).status_code == 403
    assert bob.call("PATCH", href, {"description": "mine"}).status_code == 403
    assert bob.call("DELETE", version_1).status_code == 403
    assert bob.call("POST", f"{version_1}repair/", {}).status_code == 403
    assert bob.call("DELETE", href).status_code == 403

    # The owner modifies, repairs and deletes versions.
    _wait(api, alice.call("POST", f"{href}modify/", modify))
    version_2 = alice.client.get(href)["latest_version_href"]
    assert version_2.endswith("/versions/2/")
    assert alice.count(TREES, repository_version=version_2) == 1
    _wait(api, alice.call("POST", f"{version_2}repair/", {"verify_checksums": True}))
    _wait(api, alice.call("DELETE", version_1))
    assert alice.call("GET", version_1).status_code == 404
    assert bob.count(f"{href}versions/") == 2
    _wait(api, alice.call("DELETE", href))
    assert api.request("GET", href, expect=(404,)).status_code == 404


def test_distributions_need_view_on_the_repository_they_serve(api, make_user, grant, cleanup):
    repo = api.create(REPOSITORIES, {"name": unique("repo")})
    cleanup(repo["pulp_href"])
    version_0 = repo["latest_version_href"]
    alice, bob = make_user(), make_user()
    grant(alice, "kickstart.kickstartdistribution_creator")

    def body(**fields):
        base_path = unique("rbac")
        return {"name": base_path, "base_path": base_path, **fields}

    for fields in ({"repository": repo["pulp_href"]}, {"repository_version": version_0}):
        attempt = body(**fields)
        assert alice.call("POST", DISTRIBUTIONS, attempt).status_code == 403, fields
        assert api.get(DISTRIBUTIONS, name=attempt["name"])["count"] == 0

    # A repository of another plugin is no kickstart repository: a 400 naming the field.
    files = api.create("repositories/file/file/", {"name": unique("file")})
    cleanup(files["pulp_href"])
    attempt = body(repository=files["pulp_href"])
    refused = alice.call("POST", DISTRIBUTIONS, attempt)
    assert refused.status_code == 400 and "repository" in refused.json()
    assert api.get(DISTRIBUTIONS, name=attempt["name"])["count"] == 0

    # Without a repository there is nothing to check; alice owns what she creates.
    own = _created(api, alice.call("POST", DISTRIBUTIONS, body()))
    cleanup(own["pulp_href"])
    assert alice.call("GET", own["pulp_href"]).status_code == 200
    assert bob.call("GET", own["pulp_href"]).status_code == 404
    # The served trees follow the distribution's view permission.
    assert alice.call("GET", own["pulp_href"] + "trees/").json()["trees"] == []
    assert bob.call("GET", own["pulp_href"] + "trees/").status_code in (403, 404)
    assert bob.count(DISTRIBUTIONS, name=own["name"]) == 0

    # Pointing her distribution at the repository is an update: refused alike.
    for fields in ({"repository": repo["pulp_href"]}, {"repository_version": version_0}):
        assert alice.call("PATCH", own["pulp_href"], fields).status_code == 403, fields
        full = {"name": own["name"], "base_path": own["base_path"], **fields}
        assert alice.call("PUT", own["pulp_href"], full).status_code == 403, fields
    assert api.get(own["pulp_href"])["repository"] is None
    assert api.get(own["pulp_href"])["repository_version"] is None

    # Once she may view the repository, both work.
    grant(alice, "kickstart.kickstartrepository_viewer", repo["pulp_href"])
    response = alice.call("POST", DISTRIBUTIONS, body(repository=repo["pulp_href"]))
    served = _created(api, response)
    cleanup(served["pulp_href"])
    assert served["repository"] == repo["pulp_href"]
    _wait(api, alice.call("PATCH", own["pulp_href"], {"repository_version": version_0}))
    assert api.get(own["pulp_href"])["repository_version"] == version_0

    # Someone else's distribution: no view, no change, no delete.
    assert bob.call("PATCH", served["pulp_href"], {"hidden": True}).status_code == 404
    grant(bob, "kickstart.kickstartdistribution_viewer", served["pulp_href"])
    assert bob.call("GET", served["pulp_href"]).status_code == 200
    assert bob.call("PATCH", served["pulp_href"], {"hidden": True}).status_code == 403
    assert bob.call("DELETE", served["pulp_href"]).status_code == 403


def test_a_guarded_distribution_serves_only_its_downloaders(
    api, make_user, grant, cleanup, upstream, publish_release, make_remote
):
    published = publish_release(upstream, "42", archs=("amd64",))
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    repo = api.create(REPOSITORIES, {"name": unique("repo")})
    cleanup(repo["pulp_href"])
    api.sync(repo, make_remote(upstream))
    guard = api.create("contentguards/core/rbac/", {"name": unique("guard")})
    cleanup(guard["pulp_href"])
    base_path = unique("guarded")
    distribution = api.create(
        DISTRIBUTIONS,
        {
            "name": base_path,
            "base_path": base_path,
            "repository": repo["pulp_href"],
            "content_guard": guard["pulp_href"],
        },
    )
    cleanup(distribution["pulp_href"])
    base = f"{CONTENT}/pulp/content/{base_path}"
    paths = ("42/x86_64/images/pxeboot/vmlinuz", "42/x86_64/boot.ipxe", "trees.json")
    carol, mallory = make_user(), make_user()

    def fetch(path, user=None):
        auth = (user.username, user.password) if user else None
        return requests.get(f"{base}/{path}", auth=auth, timeout=60)

    for path in paths:
        assert fetch(path).status_code == 403, path
        assert fetch(path, carol).status_code == 403, path

    # Serving the same repository again without the guard needs view on it.
    grant(mallory, "kickstart.kickstartdistribution_creator")
    bypass = {"name": unique("bypass"), "base_path": unique("bypass")}
    response = mallory.call("POST", DISTRIBUTIONS, {**bypass, "repository": repo["pulp_href"]})
    assert response.status_code == 403
    assert (
        requests.get(
            f"{CONTENT}/pulp/content/{bypass['base_path']}/trees.json", timeout=60
        ).status_code
        == 404
    )

    grant(carol, "core.rbaccontentguard_downloader", guard["pulp_href"])
    for path in paths:
        assert fetch(path, carol).status_code == 200, path
        assert fetch(path).status_code == 403, path
    assert fetch(paths[0], carol).content == kernel
    wrong = requests.get(f"{base}/{paths[0]}", auth=(carol.username, "wrong"), timeout=60)
    assert wrong.status_code in (401, 403)
