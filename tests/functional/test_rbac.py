"""Role-based access: every kickstart endpoint used by real non-admin users.

The default access policies (viewsets.py) are exercised through the API with
users created for each test (pulpcore's ``gen_user``; ``with user:`` makes the
bindings act as that user), given roles at model or object level, the way an
administrator would. Remote secrets stay write-only for everyone: those checks
read the raw responses (``*_without_preload_content``), not the parsed models.
"""

import json
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from pulpcore.client.pulp_kickstart_oci import ApiException
from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing.oci import Pusher, cosign_payload
from tests.support import signing

SECRET_FIELDS = ("username", "password", "proxy_username", "proxy_password", "client_key")


def _status(call, *args, **kwargs):
    """The HTTP status of a bindings call that the server refuses."""
    with pytest.raises(ApiException) as raised:
        call(*args, **kwargs)
    return raised.value.status


@pytest.fixture
def grant(pulpcore_bindings):
    """Give a user a role, on one object (its href) or, without one, on every object."""

    def _grant(user, role, obj=None):
        pulpcore_bindings.UsersRolesApi.create(
            auth_user_href=user.user.pulp_href,
            user_role={"role": role, "domain": None, "content_object": obj},
        )

    return _grant


@pytest.fixture
def created(monitor_task, add_to_cleanup):
    """``created(api_class, response)``: wait (as admin) for the task of an asynchronous create,
    read the new object and delete it after the test."""

    def _created(api_class, response):
        href = monitor_task(response.task).created_resources[0]
        add_to_cleanup(api_class, href)
        return api_class.read(href)

    return _created


REMOTES = {
    "oci": (
        "RemotesOciApi",
        "kickstartociremote",
        {"url": "http://127.0.0.1:9", "upstream_name": "fedora/kickstart"},
    ),
    "dnf": (
        "RemotesDnfApi",
        "kickstartdnfremote",
        {"url": "http://127.0.0.1:9/fedora/42/Everything/x86_64/os/"},
    ),
    "pulp": (
        "RemotesPulpApi",
        "kickstartpulpremote",
        {"url": "http://127.0.0.1:9/pulp/content/fedora/"},
    ),
}


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
    """``response``: a raw (urllib3) response of a ``*_without_preload_content`` call."""
    text = response.data.decode()
    assert response.status in (200, 201, 202), text
    for field in SECRET_FIELDS:
        assert secrets[field] not in text, field
        for record in json.loads(text).get("results", [json.loads(text)]):
            assert field not in record, field


@pytest.mark.parametrize("kind", REMOTES)
def test_remotes_are_scoped_to_their_viewers_and_secrets_are_write_only(
    kickstart_bindings, gen_user, anonymous_user, grant, add_to_cleanup, monitor_task, kind
):
    api_name, model, fields = REMOTES[kind]
    remotes = getattr(kickstart_bindings, api_name)
    alice, bob = gen_user(), gen_user()
    secrets = _secrets()
    body = {"name": unique("remote"), **fields, **secrets}

    with anonymous_user:
        assert _status(remotes.list) == 401
    with bob:
        assert _status(remotes.create, body) == 403

    grant(alice, f"kickstart.{model}_creator")
    with alice:
        response = remotes.create_without_preload_content(body)
    assert response.status == 201, response.data
    remote = json.loads(response.data)
    href = remote["pulp_href"]
    add_to_cleanup(remotes, href)
    _assert_no_secret(response, secrets)
    hidden = {field["name"]: field["is_set"] for field in remote["hidden_fields"]}
    for field in SECRET_FIELDS:
        assert hidden[field] is True, field

    # The creator owns it; nobody reads a secret back, admin included.
    with alice:
        _assert_no_secret(remotes.read_without_preload_content(href), secrets)
        _assert_no_secret(remotes.list_without_preload_content(name=body["name"]), secrets)
    _assert_no_secret(remotes.read_without_preload_content(href), secrets)
    with alice:
        assert remotes.list(name=body["name"]).count == 1

    # Without a role another user neither sees nor touches it.
    with bob:
        assert remotes.list(name=body["name"]).count == 0
        assert _status(remotes.read, href) == 404
        assert _status(remotes.partial_update, href, {"url": "http://127.0.0.1:8"}) == 404
        assert _status(remotes.delete, href) == 404

    # A viewer sees it, without secrets, and still cannot change or delete it.
    grant(bob, f"kickstart.{model}_viewer", href)
    with bob:
        assert remotes.list(name=body["name"]).count == 1
        _assert_no_secret(remotes.read_without_preload_content(href), secrets)
        assert _status(remotes.partial_update, href, {"url": "http://127.0.0.1:8"}) == 403
        assert _status(remotes.delete, href) == 403
        assert _status(remotes.list_roles, href) == 403

    # The owner changes a secret: the answer does not echo it either.
    new = _secrets()
    with alice:
        response = remotes.partial_update_without_preload_content(
            href, {"password": new["password"]}
        )
    assert new["password"] not in response.data.decode()
    assert response.status == 202, response.data
    monitor_task(json.loads(response.data)["task"])
    with alice:
        _assert_no_secret(remotes.read_without_preload_content(href), new)
        remotes.list_roles(href)  # allowed: no ApiException
        deleting = remotes.delete(href)
    monitor_task(deleting.task)
    assert _status(remotes.read, href) == 404


def test_repositories_sync_modify_and_versions_need_their_permissions(
    kickstart_bindings,
    gen_user,
    grant,
    add_to_cleanup,
    monitor_task,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_dnf_remote_factory,
):
    repositories = kickstart_bindings.RepositoriesKickstartApi
    versions = kickstart_bindings.RepositoriesKickstartVersionsApi
    trees = kickstart_bindings.ContentTreesApi
    published = kickstart_publish_release(kickstart_upstream, "42")
    digests = list(published["manifests"].values())
    remote = kickstart_oci_remote_factory(kickstart_upstream)
    alice, bob = gen_user(), gen_user()
    name = unique("repo")

    with bob:
        assert _status(repositories.create, {"name": name}) == 403
    grant(alice, "kickstart.kickstartrepository_creator")
    with alice:
        # Creating a repository around a remote needs view on that remote.
        assert _status(repositories.create, {"name": name, "remote": remote.pulp_href}) == 403
        repo = repositories.create({"name": name})
    href = repo.pulp_href
    add_to_cleanup(repositories, href)

    with bob:
        assert repositories.list(name=name).count == 0
        assert _status(repositories.read, href) == 404
        assert _status(versions.list, href) == 403

    # Sync: the owner may, but only with a remote it can see, of either type.
    sync = {"remote": remote.pulp_href}
    dnf = kickstart_dnf_remote_factory(url="http://127.0.0.1:9/os/")
    with alice:
        assert _status(repositories.sync, href, sync) == 403
        assert _status(repositories.sync, href, {"remote": dnf.pulp_href}) == 403
    grant(alice, "kickstart.kickstartdnfremote_viewer")  # model level: every dnf remote
    with alice:
        response = repositories.sync(href, {"remote": dnf.pulp_href})
    with pytest.raises(PulpTaskError) as failed:
        monitor_task(response.task)
    assert failed.value.task.state == "failed"  # nothing listens on port 9
    with alice:
        assert _status(repositories.sync, href, sync) == 403
    grant(alice, "kickstart.kickstartociremote_viewer", remote.pulp_href)
    with alice:
        response = repositories.sync(href, sync)
    assert monitor_task(response.task).state == "completed"
    with alice:
        version_1 = repositories.read(href).latest_version_href
        assert version_1.endswith("/versions/1/")
        assert trees.list(digest__in=digests).count == 2
    with bob:
        assert trees.list(digest__in=digests).count == 0

    # A viewer of the repository and the remote reads but may not sync or modify.
    grant(bob, "kickstart.kickstartrepository_viewer", href)
    grant(bob, "kickstart.kickstartociremote_viewer", remote.pulp_href)
    tree = trees.list(digest=published["manifests"]["amd64"]).results[0]
    modify = {"remove_content_units": [tree.pulp_href]}
    with bob:
        assert repositories.list(name=name).count == 1
        assert trees.list(digest__in=digests).count == 2
        assert versions.list(href).count == 2
        assert versions.read(version_1).pulp_href == version_1
        assert _status(repositories.sync, href, sync) == 403
        assert _status(repositories.modify, href, modify) == 403
        assert _status(repositories.partial_update, href, {"description": "mine"}) == 403
        assert _status(versions.delete, version_1) == 403
        assert _status(versions.repair, version_1, {}) == 403
        assert _status(repositories.delete, href) == 403

    # The owner modifies, repairs and deletes versions.
    with alice:
        response = repositories.modify(href, modify)
    monitor_task(response.task)
    with alice:
        version_2 = repositories.read(href).latest_version_href
        assert version_2.endswith("/versions/2/")
        assert trees.list(repository_version=version_2).count == 1
        response = versions.repair(version_2, {"verify_checksums": True})
    monitor_task(response.task)
    with alice:
        response = versions.delete(version_1)
    monitor_task(response.task)
    with alice:
        assert _status(versions.read, version_1) == 404
    with bob:
        assert versions.list(href).count == 2
    with alice:
        response = repositories.delete(href)
    monitor_task(response.task)
    assert _status(repositories.read, href) == 404


@pytest.fixture
def file_repository(bindings_cfg, pulp_api_v3_url):
    """A repository of another plugin (pulp_file's; no bindings of it are installed here)."""
    auth = (bindings_cfg.username, bindings_cfg.password)
    response = requests.post(
        f"{pulp_api_v3_url}repositories/file/file/",
        json={"name": unique("file")},
        auth=auth,
        timeout=60,
    )
    assert response.status_code == 201, response.text
    href = response.json()["pulp_href"]
    yield href
    deleted = requests.delete(f"{bindings_cfg.host}{href}", auth=auth, timeout=60)
    assert deleted.status_code in (202, 204), deleted.text


def test_distributions_need_view_on_the_repository_they_serve(
    kickstart_bindings,
    gen_user,
    grant,
    created,
    monitor_task,
    kickstart_repository_factory,
    file_repository,
):
    distributions = kickstart_bindings.DistributionsKickstartApi
    repo = kickstart_repository_factory()
    version_0 = repo.latest_version_href
    alice, bob = gen_user(), gen_user()
    grant(alice, "kickstart.kickstartdistribution_creator")

    def body(**fields):
        base_path = unique("rbac")
        return {"name": base_path, "base_path": base_path, **fields}

    for fields in ({"repository": repo.pulp_href}, {"repository_version": version_0}):
        attempt = body(**fields)
        with alice:
            assert _status(distributions.create, attempt) == 403, fields
        assert distributions.list(name=attempt["name"]).count == 0

    # A repository of another plugin is no kickstart repository: a 400 naming the field.
    attempt = body(repository=file_repository)
    with alice, pytest.raises(ApiException) as refused:
        distributions.create(attempt)
    assert refused.value.status == 400 and "repository" in json.loads(refused.value.body)
    assert distributions.list(name=attempt["name"]).count == 0

    # Without a repository there is nothing to check; alice owns what she creates.
    with alice:
        response = distributions.create(body())
    own = created(distributions, response)
    with alice:
        assert distributions.read(own.pulp_href).pulp_href == own.pulp_href
        # The served trees follow the distribution's view permission.
        assert distributions.trees(own.pulp_href).trees == []
    with bob:
        assert _status(distributions.read, own.pulp_href) == 404
        assert _status(distributions.trees, own.pulp_href) in (403, 404)
        assert distributions.list(name=own.name).count == 0

    # Pointing her distribution at the repository is an update: refused alike.
    for fields in ({"repository": repo.pulp_href}, {"repository_version": version_0}):
        full = {"name": own.name, "base_path": own.base_path, **fields}
        with alice:
            assert _status(distributions.partial_update, own.pulp_href, fields) == 403, fields
            assert _status(distributions.update, own.pulp_href, full) == 403, fields
    assert distributions.read(own.pulp_href).repository is None
    assert distributions.read(own.pulp_href).repository_version is None

    # Once she may view the repository, both work.
    grant(alice, "kickstart.kickstartrepository_viewer", repo.pulp_href)
    with alice:
        response = distributions.create(body(repository=repo.pulp_href))
    served = created(distributions, response)
    assert served.repository == repo.pulp_href
    with alice:
        response = distributions.partial_update(own.pulp_href, {"repository_version": version_0})
    monitor_task(response.task)
    assert distributions.read(own.pulp_href).repository_version == version_0

    # Someone else's distribution: no view, no change, no delete.
    with bob:
        assert _status(distributions.partial_update, served.pulp_href, {"hidden": True}) == 404
    grant(bob, "kickstart.kickstartdistribution_viewer", served.pulp_href)
    with bob:
        assert distributions.read(served.pulp_href).pulp_href == served.pulp_href
        assert _status(distributions.partial_update, served.pulp_href, {"hidden": True}) == 403
        assert _status(distributions.delete, served.pulp_href) == 403


def test_a_guarded_distribution_serves_only_its_downloaders(
    kickstart_bindings,
    pulpcore_bindings,
    gen_user,
    grant,
    gen_object_with_cleanup,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    repo = kickstart_repository_factory()
    kickstart_sync(repo, kickstart_oci_remote_factory(kickstart_upstream))
    guard = gen_object_with_cleanup(
        pulpcore_bindings.ContentguardsRbacApi, {"name": unique("guard")}
    )
    distribution = kickstart_distribution_factory(repo, content_guard=guard.pulp_href)
    base = distribution.base_url
    content = base.split("/pulp/content/", 1)[0] + "/pulp/content/"
    paths = ("42/x86_64/images/pxeboot/vmlinuz", "42/x86_64/boot.ipxe", "trees.json")
    carol, mallory = gen_user(), gen_user()

    # The content app is no API: plain GETs, with a user's credentials or none.
    def fetch(path, user=None):
        auth = (user.username, user.password) if user else None
        return requests.get(f"{base}{path}", auth=auth, timeout=60)

    for path in paths:
        assert fetch(path).status_code == 403, path
        assert fetch(path, carol).status_code == 403, path

    # Serving the same repository again without the guard needs view on it.
    grant(mallory, "kickstart.kickstartdistribution_creator")
    bypass = {"name": unique("bypass"), "base_path": unique("bypass")}
    with mallory:
        assert (
            _status(
                kickstart_bindings.DistributionsKickstartApi.create,
                {**bypass, "repository": repo.pulp_href},
            )
            == 403
        )
    bypassed = requests.get(f"{content}{bypass['base_path']}/trees.json", timeout=60)
    assert bypassed.status_code == 404

    grant(carol, "core.rbaccontentguard_downloader", guard.pulp_href)
    for path in paths:
        assert fetch(path, carol).status_code == 200, path
        assert fetch(path).status_code == 403, path
    assert fetch(paths[0], carol).content == kernel
    wrong = requests.get(f"{base}{paths[0]}", auth=(carol.username, "wrong"), timeout=60)
    assert wrong.status_code in (401, 403)


EXPORTS = Path(__file__).resolve().parents[2] / ".run" / "exports"  # ALLOWED_EXPORT_PATHS


def _files(root):
    """{relative path: bytes} of every file below ``root``."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def tenants(
    request,
    kickstart_bindings,
    gen_user,
    grant,
    created,
    monitor_task,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
):
    """Alice's distribution serves releases 41 and 42; Bob's serves nothing. Both may only
    create distributions (and Alice view her repository). ``export(user, distribution,
    path)`` returns the task; ``top`` is a fresh directory below ALLOWED_EXPORT_PATHS,
    removed after."""
    distributions = kickstart_bindings.DistributionsKickstartApi
    kickstart_publish_release(kickstart_upstream, "41", archs=("amd64",))
    kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote = kickstart_oci_remote_factory(kickstart_upstream)
    repo = kickstart_repository_factory()
    kickstart_sync(repo, remote)
    alice, bob = gen_user(), gen_user()
    grant(alice, "kickstart.kickstartdistribution_creator")
    grant(bob, "kickstart.kickstartdistribution_creator")
    grant(alice, "kickstart.kickstartrepository_viewer", repo.pulp_href)
    owned = {}
    for user, fields in ((alice, {"repository": repo.pulp_href}), (bob, {})):
        name = unique("tenant")
        with user:
            response = distributions.create({"name": name, "base_path": name, **fields})
        owned[user.username] = created(distributions, response)
    top = EXPORTS / unique("tenants")
    request.addfinalizer(lambda: shutil.rmtree(top, ignore_errors=True))

    def export(user, distribution, path):
        with user:
            response = distributions.export(distribution.pulp_href, {"path": str(path)})
        return monitor_task(response.task)

    return {
        "alice": alice,
        "bob": bob,
        "a": owned[alice.username],
        "b": owned[bob.username],
        "export": export,
        "top": top,
        "repo": repo,
        "remote": remote,
    }


def _refused(kickstart_bindings, user, distribution, path):
    """The 400 message on ``path`` when ``user`` exports ``distribution`` there."""
    with user, pytest.raises(ApiException) as raised:
        kickstart_bindings.DistributionsKickstartApi.export(
            distribution.pulp_href, {"path": str(path)}
        )
    assert raised.value.status == 400, raised.value.body
    return json.loads(raised.value.body)["path"][0]


def test_an_export_directory_belongs_to_its_distribution(
    tenants,
    kickstart_bindings,
    kickstart_oci_remote_factory,
    kickstart_upstream,
    kickstart_sync,
    monitor_task,
):
    alice, bob, a, b = tenants["alice"], tenants["bob"], tenants["a"], tenants["b"]
    root = tenants["top"] / "alice"
    assert tenants["export"](alice, a, root).state == "completed"
    exported = _files(root)
    assert "41/x86_64/images/pxeboot/vmlinuz" in exported and "boot.ipxe" in exported

    # Bob's empty distribution into Alice's directory, or nested in or around it: refused,
    # saying what it takes but not naming her distribution (Bob may not view it); nothing
    # of hers is pruned or replaced.
    message = _refused(kickstart_bindings, bob, b, root)
    assert "export directory of another distribution (one you may not view)" in message
    assert "needs kickstart.change_kickstartdistribution on its distribution" in message
    assert a.name not in message, message
    for path in (root / "42", root / "new", tenants["top"]):
        message = _refused(kickstart_bindings, bob, b, path)
        assert "(one you may not view): export directories do not nest" in message, message
        assert a.name not in message, message
    assert str(root) not in message  # around it: Alice's path is not Bob's to learn
    assert _files(root) == exported

    # Alice's re-export after 41 left the version prunes only what her export wrote.
    (root / "motd.txt").write_text("an admin's file")
    only_42 = kickstart_oci_remote_factory(kickstart_upstream, include_tags=["42*"])
    kickstart_sync(tenants["repo"], only_42, mirror=True)
    assert tenants["export"](alice, a, root).state == "completed"
    now = _files(root)
    assert not any(path.startswith("41/") for path in now)
    assert now["motd.txt"] == b"an admin's file"
    assert now["42/x86_64/images/pxeboot/vmlinuz"] == exported["42/x86_64/images/pxeboot/vmlinuz"]

    # Alice's distribution deleted: its files stay (machines may boot from them) and the
    # directory has no owner. Holding files nobody in Pulp exported, it needs an admin ...
    with alice:
        monitor_task(kickstart_bindings.DistributionsKickstartApi.delete(a.pulp_href).task)
    assert _files(root) == now
    message = _refused(kickstart_bindings, bob, b, root)
    assert "holds files no distribution exported there" in message, message
    assert "kickstart.change_kickstartdistribution on every distribution" in message, message
    # ... or to be emptied; then Bob claims it.
    shutil.rmtree(root)
    root.mkdir()
    assert tenants["export"](bob, b, root).state == "completed"
    assert sorted(_files(root)) == ["boot.ipxe", "trees.json"]
    assert json.loads((root / "trees.json").read_bytes())["trees"] == []


def test_a_directory_changes_hands_only_with_change_on_its_owner(
    tenants, kickstart_bindings, grant
):
    alice, bob, a, b = tenants["alice"], tenants["bob"], tenants["a"], tenants["b"]
    root = tenants["top"] / "shared"
    assert tenants["export"](alice, a, root).state == "completed"
    (root / "motd.txt").write_text("an admin's file")

    # With the change permission on Alice's distribution, Bob may export his there: the
    # directory is his now, and his export removes what hers wrote there.
    grant(bob, "kickstart.kickstartdistribution_owner", a.pulp_href)
    assert tenants["export"](bob, b, root).state == "completed"
    assert sorted(_files(root)) == ["boot.ipxe", "motd.txt", "trees.json"]
    assert json.loads((root / "trees.json").read_bytes())["trees"] == []

    # Alice may not take it back without the permission on Bob's distribution.
    message = _refused(kickstart_bindings, alice, a, root)
    assert "export directory of another distribution" in message, message
    assert b.name not in message, message
    assert sorted(_files(root)) == ["boot.ipxe", "motd.txt", "trees.json"]


def test_the_export_task_claims_the_directory_again(
    tenants, pulpcore_bindings, dispatch_task, monitor_task, kickstart_bindings
):
    """Two exports accepted while the directory had no owner: the task decides, atomically.

    A task holding the exports' lock on the path keeps both waiting until both were
    accepted (no timing involved); then the first claims it and the second fails.
    """
    alice, bob, a, b = tenants["alice"], tenants["bob"], tenants["a"], tenants["b"]
    root = tenants["top"] / "raced"
    holder = dispatch_task(
        "pulpcore.app.tasks.test.sleep",
        args=(600,),
        exclusive_resources=[f"kickstart-export:{root}"],
    )
    distributions = kickstart_bindings.DistributionsKickstartApi
    try:
        with alice:
            first = distributions.export(a.pulp_href, {"path": str(root)}).task
        with bob:
            second = distributions.export(b.pulp_href, {"path": str(root)}).task
        for task in (first, second):
            assert pulpcore_bindings.TasksApi.read(task).state == "waiting"
    finally:
        pulpcore_bindings.TasksApi.tasks_cancel(holder, {"state": "canceled"})
    assert monitor_task(first).state == "completed"
    with pytest.raises(PulpTaskError) as raised:
        monitor_task(second)
    description = raised.value.task.error["description"]
    assert f"export directory of distribution '{a.name}'" in description, description
    assert "41/x86_64/images/pxeboot/vmlinuz" in _files(root)
    assert json.loads((root / "trees.json").read_bytes())["trees"] != []


def test_a_sync_of_one_tenant_does_not_change_what_another_serves(
    kickstart_registry,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_bindings,
    kickstart_sync,
):
    """Alice serves release 42 unverified. Bob mirrors the same manifest to a registry
    repository of his own, signs it with his key there and syncs it into his repository:
    the same tree (same identity), so one KickstartTree row. Alice's trees.json must not
    start showing Bob's verification (with his private mirror's name), and her
    distribution's documents must not be touched by his sync."""
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    digest = published["manifests"]["amd64"]
    repo_a = kickstart_repository_factory()
    kickstart_sync(repo_a, kickstart_oci_remote_factory(kickstart_upstream))
    dist_a = kickstart_distribution_factory(repo_a)
    index = f"{dist_a.base_url}trees.json"
    (served,) = requests.get(index, timeout=60).json()["trees"]
    assert served["signatures"] == []
    assert requests.get(index, timeout=60).headers.get("X-PULP-CACHE") == "HIT"
    updated = kickstart_bindings.DistributionsKickstartApi.read(dist_a.pulp_href).pulp_last_updated

    mirror = Pusher(kickstart_registry.url, unique("bob/mirror"))
    assert mirror.netboot("42-amd64", published["files"]["amd64"])[0] == digest
    key = signing.generate_key("p256")
    payload = cosign_payload(f"{urlsplit(mirror.base).netloc}/{mirror.name}", digest)
    mirror.cosign_signatures(digest, [(payload, signing.cosign_signature(key, payload), None)])
    remote_b = kickstart_oci_remote_factory(
        mirror, signature_keys=signing.public_pem(key), signature_policy="required"
    )
    repo_b = kickstart_repository_factory()
    kickstart_sync(repo_b, remote_b)

    # The API shows each repository's verifications with its own versions.
    def shown(repository):
        version = kickstart_bindings.RepositoriesKickstartApi.read(
            repository.pulp_href
        ).latest_version_href
        (tree,) = kickstart_bindings.ContentTreesApi.list(repository_version=version).results
        return kickstart_bindings.ContentSignaturesApi.list(
            repository_version=version, tree=tree.pulp_href
        ).results

    assert shown(repo_a) == []
    assert [s.signed_digest for s in shown(repo_b)] == [digest]

    response = requests.get(index, timeout=60)
    (served,) = response.json()["trees"]
    assert served["signatures"] == [], served["signatures"]
    assert mirror.name not in response.text
    assert response.headers.get("X-PULP-CACHE") == "HIT"
    assert (
        kickstart_bindings.DistributionsKickstartApi.read(dist_a.pulp_href).pulp_last_updated
        == updated
    )
