"""Inputs that name something: a remote's URL, an href or PRN in a request body.

Found by the issue 19 review (attacks from the docs and the API schema only):

* a dnf remote's ``url`` with a query (a signed mirror URL's token) or fragment is a 400
  naming ``url``, so the token never reaches a task error or a log (security.md:
  "Secrets never appear in task errors, logs or API responses");
* a PRN that names no object, or an object of another kind, in ``remote``,
  ``repository`` or ``repository_version`` is a 400 naming the field (or a 403), never
  a 500, for an administrator and a tenant alike (the access conditions resolve the
  field before the serializer does).
"""

import uuid

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique

NO_SUCH = "00000000-0000-0000-0000-000000000000"
SECRET = "SECRET-" + uuid.uuid4().hex


# -- a dnf remote's URL query is a secret: never in a task error ---------------------------


def test_a_dnf_url_query_never_shows_in_the_sync_error(
    kickstart_bindings,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    worker_logs,
):
    """A signed mirror URL carries its token in the query. The API may refuse a query
    (HTTP 400 naming ``url``, as for OCI remotes and ``signature_lookaside``); if it takes
    one, the sync's error and the worker log must show the URL without it."""
    server = kickstart_tree_server_factory(kickstart_dnf_tree_factory(release="37"))
    url = f"{server.url.rstrip('/')}/?X-Amz-Signature={SECRET}"
    try:
        remote = kickstart_dnf_remote_factory(url=url)
    except kickstart_bindings.ApiException as refused:
        assert refused.status == 400 and "url" in refused.body, refused.body
        assert SECRET not in refused.body
        return
    # Reviewed code: accepted, and stored as "<url>?X-Amz-Signature=<secret>/": a "/" is
    # appended to the query, so the remote can never sync.
    repository = kickstart_repository_factory()
    task = kickstart_sync(repository, remote, expect_failure=True)
    description = task.error["description"]
    assert SECRET not in description, description
    assert SECRET not in worker_logs.since()
    assert latest_version(repository).endswith("/versions/0/")


# -- a URL is stored as it is fetched: no whitespace, no invisible character ---------------


@pytest.mark.parametrize("kind", ["oci", "dnf", "pulp"])
@pytest.mark.parametrize(
    "tail", ["\n", "\r\nX-Injected: 1", "\t", " ", "%20 x", "\u202egpj", "\u00a0", "\u200b"]
)
def test_a_remote_url_holds_no_space_or_invisible_character(bindings_cfg, kind, tail):
    """A URL parser drops tabs and line breaks and encodes the rest: a URL stored with them
    is not the URL fetched, and a replication would copy it on (attack finding F8). Every
    kind of remote refuses it, naming ``url``, through the one fetch policy's check."""
    url = "http://127.0.0.1:9/base" + tail + "/"
    body = {"name": unique("url"), "url": url}
    if kind == "oci":
        body.update(url="http://reg" + tail + "istry.example", upstream_name="fedora/kickstart")
    response = requests.post(
        f"{bindings_cfg.host}/pulp/api/v3/remotes/kickstart/{kind}/",
        json=body,
        auth=(bindings_cfg.username, bindings_cfg.password),
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert "no spaces, line breaks or invisible characters" in " ".join(response.json()["url"]), (
        response.text
    )


_PROXY_URLS = ("http://127.0.0.1:3128/\r\nX-Injected: 1", "http://127.0.0.1:3128/ \t x")
_DOT_URLS = (
    "http://127.0.0.1:9/a/../b/",
    "http://127.0.0.1:9/a/%2e%2e/b/",
    "http://127.0.0.1:9/a/./b/",
)


@pytest.mark.parametrize(
    "kind, field, value",
    [(kind, "proxy_url", value) for kind in ("oci", "dnf", "pulp") for value in _PROXY_URLS]
    # An OCI remote's url is a registry root: any path is refused there already.
    + [(kind, "url", value) for kind in ("dnf", "pulp") for value in _DOT_URLS],
)
def test_a_proxy_url_and_dot_segments_are_refused_as_a_url_is(bindings_cfg, kind, field, value):
    """The second attack: ``proxy_url`` was stored with line breaks and whitespace, and a dnf
    or Pulp remote's ``url`` (or one a replication copies) with dot segments, which a parser
    then rewrote: stored and fetched differed. Both are a 400 naming the field, on create
    and on update, for every kind of remote."""
    auth = (bindings_cfg.username, bindings_cfg.password)
    api = f"{bindings_cfg.host}/pulp/api/v3/remotes/kickstart/{kind}/"
    body = {"name": unique("field"), "url": "http://127.0.0.1:9/tree/"}
    if kind == "oci":
        body.update(url="http://127.0.0.1:9", upstream_name="fedora/kickstart")
    created = requests.post(api, json={**body, field: value}, auth=auth, timeout=60)
    assert created.status_code == 400, created.text
    assert field in created.json(), created.text
    remote = requests.post(api, json=body, auth=auth, timeout=60)
    assert remote.status_code == 201, remote.text
    href = f"{bindings_cfg.host}{remote.json()['pulp_href']}"
    try:
        patched = requests.patch(href, json={field: value}, auth=auth, timeout=60)
        assert patched.status_code == 400, patched.text
        assert field in patched.json(), patched.text
    finally:
        requests.delete(href, auth=auth, timeout=60)


@pytest.mark.parametrize("content", ["trees", "tags", "signatures"])
def test_an_orphaned_for_beyond_a_century_is_a_400_naming_it(bindings_cfg, content):
    """pulpcore's orphaned_for filter overflowed a time delta (found by the schema fuzzing
    once the tree filters grew): the kickstart content lists bound it."""
    auth = (bindings_cfg.username, bindings_cfg.password)
    url = f"{bindings_cfg.host}/pulp/api/v3/content/kickstart/{content}/"
    huge = requests.get(url, params={"orphaned_for": "3.3e16"}, auth=auth, timeout=60)
    assert huge.status_code == 400 and "orphaned_for" in huge.json(), huge.text
    for minutes in ("-1", "0", "525600"):
        fine = requests.get(
            url, params={"orphaned_for": minutes, "limit": 1}, auth=auth, timeout=60
        )
        assert fine.status_code == 200, (minutes, fine.text)


# -- a PRN the field cannot resolve is a 400 naming the field, never a 500 -----------------


@pytest.mark.parametrize("who", ["admin", "tenant"])
def test_a_prn_that_resolves_to_nothing_or_to_another_kind_is_a_400(
    who,
    bindings_cfg,
    pulp_api_v3_url,
    kickstart_bindings,
    kickstart_repository_factory,
    gen_user,
):
    repository = kickstart_repository_factory()
    version_prn = kickstart_bindings.RepositoriesKickstartVersionsApi.read(
        repository.latest_version_href
    ).prn
    if who == "admin":
        auth = (bindings_cfg.username, bindings_cfg.password)
    else:
        # A tenant who owns ``repository`` and may create repositories and distributions.
        user = gen_user(
            model_roles=[
                "kickstart.kickstartrepository_creator",
                "kickstart.kickstartdistribution_creator",
            ],
            object_roles=[("kickstart.kickstartrepository_owner", repository.pulp_href)],
        )
        auth = (user.username, user.password)
    origin = pulp_api_v3_url.split("/pulp/api/v3/")[0]
    distributions = f"{pulp_api_v3_url}distributions/kickstart/kickstart/"
    cases = [
        # (what, url, body, the field a 400 must name)
        (
            "sync with no such OCI remote",
            f"{origin}{repository.pulp_href}sync/",
            {"remote": f"prn:kickstart.kickstartociremote:{NO_SUCH}"},
            "remote",
        ),
        (
            "repository with no such dnf remote",
            f"{pulp_api_v3_url}repositories/kickstart/kickstart/",
            {"name": unique("r"), "remote": f"prn:kickstart.kickstartdnfremote:{NO_SUCH}"},
            "remote",
        ),
        (
            "distribution of no such repository",
            distributions,
            {"repository": f"prn:kickstart.kickstartrepository:{NO_SUCH}"},
            "repository",
        ),
        (
            "distribution of no such repository version",
            distributions,
            {"repository_version": f"prn:core.repositoryversion:{NO_SUCH}"},
            "repository_version",
        ),
        (
            "distribution whose repository_version is a repository",
            distributions,
            {"repository_version": repository.prn},
            "repository_version",
        ),
        (
            "distribution whose repository is a repository version",
            distributions,
            {"repository": version_prn},
            "repository",
        ),
    ]
    wrong = {}
    for what, url, body, field in cases:
        if url == distributions:
            body = {"name": unique("d"), "base_path": unique("d"), **body}
        response = requests.post(url, json=body, auth=auth, timeout=60)
        # 400 naming the field (a 403 would also keep the promise for a tenant); never 5xx.
        if not (
            (response.status_code == 400 and field in response.text) or response.status_code == 403
        ):
            wrong[what] = response.status_code
    assert not wrong, wrong
