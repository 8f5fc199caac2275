"""Domains (issue 19 §2): a second Pulp with ``DOMAIN_ENABLED = True`` beside the stack.

Two domains each sync their own tree from the test registry and serve it under the same
base path ``fedora``; the default domain serves a third tree under base paths that start
with those domains' names (``<alpha>/fedora``, ``<beta>/elsewhere``). Every generated
document, file, listing, export and the ``trees`` API answer per domain, every URL they
write names ``/pulp/content/<domain>/<base_path>/`` and resolves there, and no path of
one domain ever answers with another's tree.

The generated bindings are built with domains off, so this module talks to the second
Pulp with plain requests (``tests.support.second_pulp``). It starts a whole Pulp (API,
content app, worker): serial, like the other tests that start processes.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing.oci import Pusher, cosign_payload
from tests.support import signing
from tests.support.second_pulp import SecondPulp

pytestmark = pytest.mark.serial

RELEASE, OCI_ARCH, ARCH = "42", "amd64", "x86_64"
TREE = f"{RELEASE}/{ARCH}/"
# Every generated document of a bootable tree with a GRUB binary, relative to the base path.
DOCUMENTS = [
    "boot.ipxe",
    "trees.json",
    f"{TREE}.treeinfo",
    f"{TREE}boot.ipxe",
    f"{TREE}grub.cfg",
    f"{TREE}pxelinux.cfg/default",
    f"{TREE}EFI/BOOT/grub.cfg",
]
KERNEL = f"{TREE}images/pxeboot/vmlinuz"
# http(s) URLs, and GRUB's "(http,HOST)/path" spelling of one.
URL = re.compile(r"https?://[^\s'\"<>]+|\((https?),([^)\s]+)\)(/[^\s'\"<>]*)")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def urls_in(text):
    """Every absolute URL a document names, GRUB's ``(http,host)/path`` written as http://."""
    found = set()
    for match in URL.finditer(text):
        scheme, host, path = match.groups()
        found.add(f"{scheme}://{host}{path}" if scheme else match.group(0))
    return found


def get(url, status=200, **options):
    response = requests.get(url, timeout=60, **options)
    assert response.status_code == status, (
        f"GET {url}: {response.status_code} {response.text[:300]}"
    )
    return response


@dataclass
class Tenant:
    """One domain's objects: its API, upstream, remote, repository and distribution."""

    domain: str
    api: object
    pusher: Pusher
    files: dict  # title -> upstream bytes
    manifest: str  # the tree's upstream digest
    remote: dict = None
    repository: dict = None
    distribution: dict = None
    extra: list = field(default_factory=list)  # other distributions (the default domain's)

    def root(self, content, base_path="fedora"):
        """Where this domain serves ``base_path``: /pulp/content/<domain>/<base_path>/."""
        return f"{content}/pulp/content/{self.domain}/{base_path}/"


@pytest.fixture(scope="module")
def pulp():
    """The second Pulp, domains on: a new database (a copy of a migrated template)."""
    with SecondPulp("domains", settings={"DOMAIN_ENABLED": True}) as running:
        yield running


def _tenant(pulp, registry, publish, domain, base_paths):
    """Sync release 42 amd64 (bytes of its own) into ``domain``; serve it at ``base_paths``."""
    api = pulp.api(domain)
    pusher = Pusher(registry.url, unique(f"fedora/{domain}"))
    published = publish(pusher, RELEASE, archs=(OCI_ARCH,))
    tenant = Tenant(
        domain=domain,
        api=api,
        pusher=pusher,
        files=dict(published["files"][OCI_ARCH]),
        manifest=published["manifests"][OCI_ARCH],
    )
    tenant.remote = api.create(
        "remotes/kickstart/oci/",
        {"name": unique("oci"), "url": pusher.base, "upstream_name": pusher.name},
    )
    tenant.repository = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
    api.sync(tenant.repository, tenant.remote)
    tenant.repository = api.get(tenant.repository["pulp_href"])
    for n, base_path in enumerate(base_paths):
        distribution = api.create(
            "distributions/kickstart/kickstart/",
            {
                "name": unique("dist"),
                "base_path": base_path,
                "repository": tenant.repository["pulp_href"],
            },
        )
        if n == 0:
            tenant.distribution = distribution
        else:
            tenant.extra.append(distribution)
    return tenant


@pytest.fixture(scope="module")
def tenants(pulp, kickstart_registry, kickstart_publish_release):
    """Domains alpha and beta (each a tree at ``fedora``) and the default domain's tree at
    ``<alpha>/fedora`` and ``<beta>/elsewhere``."""
    made = {}
    for tenant in ("alpha", "beta"):
        domain = unique("lab")
        pulp.create_domain(domain)
        made[tenant] = _tenant(
            pulp, kickstart_registry, kickstart_publish_release, domain, ["fedora"]
        )
    made["default"] = _tenant(
        pulp,
        kickstart_registry,
        kickstart_publish_release,
        "default",
        [f"{made['alpha'].domain}/fedora", f"{made['beta'].domain}/elsewhere"],
    )
    return made  # no clean-up: the second Pulp's database is dropped when it stops


@pytest.fixture(params=["alpha", "beta"])
def tenant(request, tenants):
    return tenants[request.param]


def _others(tenants, tenant):
    return [t for t in tenants.values() if t is not tenant]


def _assert_only_own(text, tenant, tenants, content):
    """``text`` names none of the other tenants' trees or roots."""
    for other in _others(tenants, tenant):
        assert other.manifest not in text, f"{other.domain}'s tree in {tenant.domain}'s answer"
        assert f"/pulp/content/{other.domain}/" not in text
    assert f"{content}/pulp/content/fedora/" not in text  # a URL without the domain


# --- serving -------------------------------------------------------------------------------


def test_the_distribution_s_base_url_names_its_domain(pulp, tenant):
    assert tenant.distribution["base_url"] == tenant.root(pulp.content)


def test_every_document_answers_in_its_domain_and_every_url_in_it_resolves(pulp, tenant, tenants):
    root = tenant.root(pulp.content)
    named = set()
    for path in DOCUMENTS:
        text = get(root + path).text
        _assert_only_own(text, tenant, tenants, pulp.content)
        urls = urls_in(_served_part(path, text))
        assert all(url.startswith(root) for url in urls), (path, sorted(urls))
        if not path.endswith(".treeinfo"):
            assert urls, f"{path} names no URL"
        named |= urls
    for url in sorted(named):
        get(url)


def _served_part(path, text):
    """What a document says Pulp serves: trees.json's provenance (``source``) names the
    upstream a tree came from (its registry), and the upstream's own bytes it keeps (a
    tree's ``manifest``, the ``indexes``, a signature's ``carrier``) name what upstream
    named: no URL of this Pulp."""
    if path != "trees.json":
        return text
    document = json.loads(text)
    for tree in document["trees"]:
        assert isinstance(tree.pop("source"), dict), tree
        tree.pop("manifest")
        for record in tree["signatures"]:
            record.pop("carrier", None)
    document.pop("indexes")
    return json.dumps(document)


def test_treeinfo_names_files_that_resolve_with_their_checksums(pulp, tenant):
    tree = tenant.root(pulp.content) + TREE
    treeinfo = get(tree + ".treeinfo").text
    checksums = dict(
        re.findall(r"^(\S+) = sha256:([0-9a-f]{64})$", treeinfo.split("[checksums]")[1], re.M)
    )
    assert "images/pxeboot/vmlinuz" in checksums, treeinfo
    for path, digest in checksums.items():
        assert sha256(get(tree + path).content) == digest, path


def test_trees_json_files_resolve_in_the_domain_with_their_sha256(pulp, tenant):
    root = tenant.root(pulp.content)
    index = get(root + "trees.json").json()
    assert index["base_url"] == root
    (tree,) = index["trees"]
    assert (tree["version"], tree["arch"], tree["digest"]) == (RELEASE, ARCH, tenant.manifest)
    assert tree["url"] == root + TREE
    assert {f["url"] for f in tree["files"]} == {root + TREE + f["path"] for f in tree["files"]}
    for item in tree["files"]:
        body = get(item["url"]).content
        assert sha256(body) == item["sha256"] and len(body) == item["size"], item["path"]
        assert body == tenant.files[item["name"]], item["path"]


def test_listings_in_a_domain_show_the_generated_names(pulp, tenant):
    root = tenant.root(pulp.content)
    top = get(root).text
    for name in ("boot.ipxe", "trees.json", f"{RELEASE}/"):
        assert f'href="./{name}"' in top, name
    tree = get(root + TREE).text
    for name in (".treeinfo", "boot.ipxe", "grub.cfg", "pxelinux.cfg/", "images/", "EFI/"):
        assert f'href="./{name}"' in tree, name
    assert 'href="./default"' in get(root + TREE + "pxelinux.cfg/").text
    assert 'href="./grub.cfg"' in get(root + TREE + "EFI/BOOT/").text


def test_the_trees_api_names_the_domain_and_matches_trees_json(pulp, tenant):
    root = tenant.root(pulp.content)
    served = tenant.api.get(tenant.distribution["pulp_href"] + "trees/")
    assert served["base_url"] == root
    assert served == get(root + "trees.json").json()
    for item in served["trees"][0]["files"]:
        assert sha256(get(item["url"]).content) == item["sha256"], item["url"]


# --- isolation -----------------------------------------------------------------------------


def test_one_base_path_in_two_domains_serves_each_domain_s_own_tree(pulp, tenants):
    """Alpha, beta, alpha, beta: the second round comes from the content cache (the second
    Pulp runs it, as production does), whose entries must be per domain too."""
    alpha, beta = tenants["alpha"], tenants["beta"]
    assert alpha.files["vmlinuz"] != beta.files["vmlinuz"]
    for turn in (1, 2):
        for tenant in (alpha, beta):
            root = tenant.root(pulp.content)
            answers = {
                "kernel": get(root + KERNEL),
                "index": get(root + "trees.json"),
                "config": get(root + TREE + "boot.ipxe"),
            }
            assert answers["kernel"].content == tenant.files["vmlinuz"]
            assert answers["index"].json()["trees"][0]["digest"] == tenant.manifest
            assert root + KERNEL in answers["config"].text
            if turn == 2:
                for name, answer in answers.items():
                    assert answer.headers.get("X-PULP-CACHE") == "HIT", (tenant.domain, name)


def test_a_default_domain_base_path_named_like_a_domain_never_answers_for_it(pulp, tenants):
    """The default domain serves ``<alpha>/fedora`` and ``<beta>/elsewhere``: the default
    domain's tree is at /pulp/content/default/<alpha>/fedora/; under
    /pulp/content/<alpha>/fedora/ alpha's own tree answers (also from the cache, after the
    default domain's answers were cached), under /pulp/content/<beta>/elsewhere/ nothing
    does (beta has no such distribution)."""
    alpha, beta, default = tenants["alpha"], tenants["beta"], tenants["default"]
    own = default.root(pulp.content, f"{alpha.domain}/fedora")
    for path in DOCUMENTS:
        get(own + path)
    index = get(own + "trees.json").json()
    assert index["base_url"] == own and index["trees"][0]["digest"] == default.manifest
    assert own + KERNEL in get(own + TREE + "boot.ipxe").text
    assert get(own + KERNEL).content == default.files["vmlinuz"]

    for _ in range(2):
        for path in DOCUMENTS:
            text = get(alpha.root(pulp.content) + path).text
            assert default.manifest not in text and "/pulp/content/default/" not in text, path
        assert get(alpha.root(pulp.content) + KERNEL).content == alpha.files["vmlinuz"]

    for path in ["", TREE, KERNEL, *DOCUMENTS]:
        get(beta.root(pulp.content, "elsewhere") + path, status=404)


@pytest.mark.parametrize("path", ["", TREE, KERNEL, *DOCUMENTS])
def test_no_domain_or_an_unknown_domain_answers_nothing(pulp, tenants, path):
    """``fedora`` exists in two domains: without a domain segment, or under a domain that
    does not exist, none of it answers."""
    get(f"{pulp.content}/pulp/content/fedora/{path}", status=404)
    get(f"{pulp.content}/pulp/content/{unique('nodomain')}/fedora/{path}", status=404)
    for tenant in (tenants["alpha"], tenants["beta"]):
        get(tenant.root(pulp.content, "elsewhere") + path, status=404)


@pytest.mark.parametrize(
    "suffix, status",
    [
        (f"{RELEASE}//{ARCH}/boot.ipxe", 400),
        (f"{RELEASE}%2F{ARCH}%2Fboot.ipxe", 400),
        (f"{TREE}%00", 400),
        ("a/" * 40 + "x", 414),
    ],
)
def test_the_request_rules_hold_inside_a_domain(pulp, tenants, suffix, status):
    """The content app's path and Host rules (docs/serving.md) apply below the domain
    segment as they do without domains; a refusal is never answered from the cache."""
    root = tenants["alpha"].root(pulp.content)
    get(root + suffix, status=status)
    assert "X-PULP-CACHE" not in get(root + suffix, status=status).headers
    get(root + "trees.json", status=400, headers={"Host": "a b"})


# --- the plugin's API ----------------------------------------------------------------------


def test_content_and_objects_are_listed_per_domain(pulp, tenants):
    for tenant in (tenants["alpha"], tenants["beta"]):
        api = tenant.api
        prefix = f"/pulp/{tenant.domain}/api/v3/"
        trees = api.list("content/kickstart/trees/")
        assert {t["digest"] for t in trees} == {tenant.manifest}
        tags = api.list("content/kickstart/tags/")
        assert {t["name"] for t in tags} == {RELEASE, f"{RELEASE}-{OCI_ARCH}"}
        assert {t["tree"] for t in tags} == {t["pulp_href"] for t in trees}
        for obj in [*trees, *tags]:
            assert obj["pulp_href"].startswith(prefix), obj["pulp_href"]
        for endpoint, kind in [
            ("remotes/kickstart/oci/", "remote"),
            ("repositories/kickstart/kickstart/", "repository"),
            ("distributions/kickstart/kickstart/", "distribution"),
        ]:
            listed = {o["name"] for o in api.list(endpoint)}
            assert getattr(tenant, kind)["name"] in listed, endpoint
            for other in _others(tenants, tenant):
                assert getattr(other, kind)["name"] not in listed, (endpoint, other.domain)


def test_another_domain_s_objects_are_not_found_through_this_domain(pulp, tenants):
    alpha, beta = tenants["alpha"], tenants["beta"]
    (tree,) = alpha.api.list("content/kickstart/trees/")
    for href in (
        tree["pulp_href"],
        alpha.repository["pulp_href"],
        alpha.remote["pulp_href"],
        alpha.distribution["pulp_href"],
        alpha.distribution["pulp_href"] + "trees/",
    ):
        elsewhere = href.replace(f"/pulp/{alpha.domain}/", f"/pulp/{beta.domain}/", 1)
        assert beta.api.request("GET", elsewhere, expect=None).status_code == 404, elsewhere
    export = alpha.distribution["pulp_href"].replace(alpha.domain, beta.domain, 1) + "export/"
    answer = beta.api.request(
        "POST", export, expect=None, json={"path": str(pulp.exports / unique("x"))}
    )
    assert answer.status_code == 404
    # A version of alpha's as a filter in beta: refused or empty, never alpha's trees.
    answer = beta.api.request(
        "GET",
        "content/kickstart/trees/",
        expect=None,
        params={"repository_version": alpha.repository["latest_version_href"]},
    )
    assert answer.status_code == 400 or answer.json()["count"] == 0, answer.text


@pytest.fixture(scope="module")
def signed(pulp, tenants):
    """alpha's tree signed (cosign) upstream, synced into a second repository of alpha's
    whose remote requires that key: a verification recorded in alpha."""
    alpha = tenants["alpha"]
    key = signing.generate_key("p256")
    registry = alpha.pusher.base.split("://", 1)[1]
    payload = cosign_payload(f"{registry}/{alpha.pusher.name}", alpha.manifest)
    alpha.pusher.cosign_signatures(
        alpha.manifest, [(payload, signing.cosign_signature(key, payload), None)]
    )
    api = alpha.api
    remote = api.create(
        "remotes/kickstart/oci/",
        {
            "name": unique("oci-signed"),
            "url": alpha.pusher.base,
            "upstream_name": alpha.pusher.name,
            "signature_keys": signing.public_pem(key),
            "signature_policy": "required",
        },
    )
    repository = api.create("repositories/kickstart/kickstart/", {"name": unique("signed")})
    api.sync(repository, remote)
    return api.get(repository["pulp_href"])


def test_signatures_are_listed_per_domain(pulp, tenants, signed):
    alpha, beta = tenants["alpha"], tenants["beta"]
    (verification,) = alpha.api.list(
        "content/kickstart/signatures/", repository_version=signed["latest_version_href"]
    )
    assert verification["pulp_href"].startswith(f"/pulp/{alpha.domain}/api/v3/")
    assert beta.api.list("content/kickstart/signatures/") == []
    elsewhere = verification["pulp_href"].replace(alpha.domain, beta.domain, 1)
    assert beta.api.request("GET", elsewhere, expect=None).status_code == 404


# --- export --------------------------------------------------------------------------------


def _export(tenant, path, api=None, expect=(202,), **options):
    api = api or tenant.api
    answer = api.request(
        "POST",
        tenant.distribution["pulp_href"] + "export/",
        expect=expect,
        json={"path": path, **options},
    )
    if answer.status_code == 202:
        return api.wait(answer.json()["task"])
    return answer


def test_an_export_in_a_domain_names_the_domain_and_holds_its_tree(pulp, tenant, tenants):
    path = pulp.exports / unique(tenant.domain)
    _export(tenant, str(path))
    root = tenant.root(pulp.content)  # the default origin: CONTENT_ORIGIN
    for document in DOCUMENTS:
        text = (path / document).read_text()
        assert text == get(root + document).text, document
        _assert_only_own(text, tenant, tenants, pulp.content)
        assert all(url.startswith(root) for url in urls_in(_served_part(document, text))), document
    index = (path / "trees.json").read_text()
    for item in get(root + "trees.json").json()["trees"][0]["files"]:
        exported = (path / TREE / item["path"]).read_bytes()
        assert sha256(exported) == item["sha256"], item["path"]
        assert item["url"] in index


def test_an_export_for_another_origin_keeps_the_domain_in_its_urls(pulp, tenant, tenants):
    origin = "http://boot.example:8080"
    path = pulp.exports / unique(tenant.domain)
    _export(tenant, str(path), origin=origin)
    root = tenant.root(origin)
    for document in DOCUMENTS:
        text = (path / document).read_text()
        _assert_only_own(text, tenant, tenants, origin)
        urls = urls_in(_served_part(document, text))
        assert all(url.startswith(root) for url in urls), (document, sorted(urls))
        assert urls or document.endswith(".treeinfo"), document
    assert root + KERNEL in (path / TREE / "boot.ipxe").read_text()


@pytest.fixture(scope="module")
def beta_owner(pulp, tenants):
    """A user who owns every distribution of beta (a domain-scoped role) and nothing else:
    ``(as_alpha, as_beta)``, that user's API in each domain."""
    admin = pulp.api("default")
    user = admin.create("users/", {"username": unique("tenant"), "password": "tenant-password"})
    domain = admin.get("domains/", name=tenants["beta"].domain)["results"][0]["pulp_href"]
    admin.post(
        user["pulp_href"] + "roles/",
        {"role": "kickstart.kickstartdistribution_owner", "content_object": None, "domain": domain},
    )
    auth = (user["username"], "tenant-password")
    return pulp.api(tenants["alpha"].domain, auth=auth), pulp.api(tenants["beta"].domain, auth=auth)


@pytest.fixture(scope="module")
def claimed(pulp, tenants):
    """A directory alpha's distribution exported into (so it is that distribution's)."""
    path = pulp.exports / unique("claimed")
    _export(tenants["alpha"], str(path))
    return path


def test_a_tenant_cannot_export_into_another_domain_s_directory(tenants, beta_owner, claimed):
    """Export directories are one filesystem for every domain: an owner of beta's
    distributions cannot export into (or below) the directory alpha's distribution claimed,
    nor see alpha's distribution."""
    alpha, beta = tenants["alpha"], tenants["beta"]
    as_alpha, as_beta = beta_owner
    hidden = as_alpha.request("GET", "distributions/kickstart/kickstart/", expect=None)
    assert hidden.status_code == 403 or hidden.json()["count"] == 0, hidden.text
    for path in (claimed, claimed / "inside"):
        refused = _export(beta, str(path), api=as_beta, expect=(400,))
        assert "path" in refused.json(), refused.text
    assert (claimed / KERNEL).read_bytes() == alpha.files["vmlinuz"]


def test_a_refused_export_does_not_name_another_domain_s_distribution(tenants, beta_owner, claimed):
    """The tenant of beta may not view alpha's distribution: the refusal says the directory
    is taken, without naming alpha's domain or distribution."""
    alpha, beta = tenants["alpha"], tenants["beta"]
    _, as_beta = beta_owner
    for path in (claimed, claimed / "inside"):
        refused = _export(beta, str(path), api=as_beta, expect=(400,)).text
        assert alpha.domain not in refused and alpha.distribution["name"] not in refused, refused
