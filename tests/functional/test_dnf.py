"""Sync from real dnf trees: rpmbuild-built, rpmsign-signed, createrepo_c'd, served over HTTP."""

import hashlib
import tempfile

import productmd.treeinfo
import pytest
import requests

from tests.support import dnf
from tests.support.pulp import unique

from .conftest import latest, reports


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="kickstart-dnf-") as directory:
        yield directory


@pytest.fixture(scope="module")
def trusted(workdir):
    key = dnf.make_key("Fixture Signer A", workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def stranger(workdir):
    key = dnf.make_key("Fixture Signer B", workdir)
    yield key
    key.close()


def _rpm_sha256(tree, name):
    newest = tree.rpms[name][-1]
    return hashlib.sha256((tree.root / newest).read_bytes()).hexdigest()


def test_a_signed_tree_is_synced_served_and_byte_identical(
    api, workdir, trusted, serve_tree, make_dnf_remote, repository, distribute
):
    tree = dnf.fedora_tree(workdir, key=trusted)
    server = serve_tree(tree)
    remote = make_dnf_remote(server, gpg_keys=trusted.public_armored)

    task = api.sync(repository, remote)

    (synced,) = api.trees(latest(api, repository))
    assert (synced["version"], synced["arch"], synced["oci_arch"]) == ("42", "x86_64", "amd64")
    assert synced["source"]["type"] == "dnf" and synced["source"]["family"] == "Fedora"
    by_name = {f["name"]: f for f in synced["files"]}
    for path, data in tree.images.items():
        name = path.rsplit("/", 1)[-1]
        assert by_name[name]["sha256"] == hashlib.sha256(data).hexdigest()
    assert by_name["vmlinuz"]["path"] == "images/pxeboot/vmlinuz"
    assert by_name["install.img"]["role"] == "stage2"
    # Bootloaders come out of the newest packages, with their provenance.
    for name, (data, nevra) in tree.expected.items():
        item = by_name[name]
        assert item["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert item["package"] == nevra
        package = nevra.rsplit("-", 2)[0]
        assert item["rpm_sha256"] == _rpm_sha256(tree, package)
    assert by_name["shimx64.efi"]["package"] == "shim-x64-15.8-3.x86_64"
    assert by_name["shimx64.efi"]["path"] == "EFI/BOOT/shimx64.efi"
    assert by_name["pxelinux.0"]["path"] == "pxelinux.0"
    assert reports(task)["sync.unpacking.packages"]["done"] == 3

    base = distribute(repository)
    for item in synced["files"]:
        body = requests.get(f"{base}/42/x86_64/{item['path']}", timeout=60).content
        assert hashlib.sha256(body).hexdigest() == item["sha256"], item["path"]
    info = productmd.treeinfo.TreeInfo()
    info.loads(requests.get(f"{base}/42/x86_64/.treeinfo", timeout=60).text)
    assert info.release.name == "Fedora" and info.stage2.mainimage == "images/install.img"

    # Nothing new upstream: no new version, and no package is downloaded again.
    first = latest(api, repository)
    server.requests.clear()
    again = api.sync(repository, remote)
    assert latest(api, repository) == first
    assert "sync.was_skipped" in reports(again)
    assert not [path for path in server.requests if path.endswith(".rpm")]


@pytest.mark.parametrize("signer", [None, "stranger"])
def test_packages_must_carry_a_trusted_signature(
    api, workdir, trusted, stranger, serve_tree, make_dnf_remote, repository, signer
):
    key = {"stranger": stranger, None: None}[signer]
    tree = dnf.fedora_tree(workdir, key=key, release="41")
    server = serve_tree(tree)

    task = api.sync(
        repository,
        make_dnf_remote(server, gpg_keys=trusted.public_armored),
        raise_on_failure=False,
    )

    assert task["state"] == "failed"
    description = task["error"]["description"]
    assert "shim-x64-15.8-3.x86_64" in description
    assert ("not in gpg_keys" if signer else "is not signed") in description
    assert latest(api, repository).endswith("/versions/0/")

    # Without gpg_keys the same tree syncs.
    api.sync(repository, make_dnf_remote(server))
    assert len(api.trees(latest(api, repository))) == 1


def test_a_checksum_mismatch_fails_naming_the_file_unless_skipped(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    tree = dnf.fedora_tree(workdir, release="40")
    tree.write_treeinfo(checksum_overrides={"images/install.img": "0" * 64})
    server = serve_tree(tree)

    task = api.sync(repository, make_dnf_remote(server, max_retries=1), raise_on_failure=False)

    assert task["state"] == "failed"
    assert "install.img" in task["error"]["description"]
    assert "0" * 64 in task["error"]["description"]
    assert latest(api, repository).endswith("/versions/0/")

    api.sync(repository, make_dnf_remote(server, skip_files=["install.img"]))
    (synced,) = api.trees(latest(api, repository))
    assert "install.img" not in {f["name"] for f in synced["files"]}


def test_a_missing_package_fails_naming_it(api, workdir, serve_tree, make_dnf_remote, repository):
    server = serve_tree(dnf.fedora_tree(workdir, release="39"))
    remote = make_dnf_remote(
        server, bootloader_packages={"x86_64": ["shim-x64", "grub2-efi-x64-modules"]}
    )
    task = api.sync(repository, remote, raise_on_failure=False)
    assert task["state"] == "failed"
    assert "grub2-efi-x64-modules" in task["error"]["description"]
    assert latest(api, repository).endswith("/versions/0/")


def test_fedora_44_layout_and_every_payload_compression(
    api, workdir, serve_tree, make_dnf_remote, repository
):
    tree = dnf.fedora_tree(workdir, release="44", f44_layout=True, payloads=("xz", "zstd"))
    server = serve_tree(tree)
    api.sync(repository, make_dnf_remote(server))
    (synced,) = api.trees(latest(api, repository))
    by_name = {f["name"]: f for f in synced["files"]}
    assert by_name["shimx64.efi"]["package"] == "shim-x64-16.1-5.x86_64"
    assert by_name["shimx64.efi"]["source_path"] == "usr/lib/efi/shim/16.1-5/EFI/fedora/shimx64.efi"
    assert by_name["grubx64.efi"]["source_path"].startswith("usr/lib/efi/grub2/")
    for name, (data, _) in tree.expected.items():
        assert by_name[name]["sha256"] == hashlib.sha256(data).hexdigest()


def test_treeinfo_quirks(api, workdir, serve_tree, make_dnf_remote, repository, cleanup):
    # An HTML page where .treeinfo should be, and no legacy file: not a tree.
    tree = dnf.fedora_tree(workdir, release="38")
    (tree.root / "treeinfo").unlink(missing_ok=True)
    server = serve_tree(tree, html_for={"/.treeinfo"})
    task = api.sync(repository, make_dnf_remote(server), raise_on_failure=False)
    assert task["state"] == "failed"
    assert "HTML page" in task["error"]["description"]

    # A legacy [general]-only treeinfo still names release, arch and images.
    tree.write_treeinfo(legacy_only=True)
    server.html_for.clear()
    api.sync(repository, make_dnf_remote(server, skip_files=["boot.iso"]))
    (synced,) = api.trees(latest(api, repository))
    assert (synced["version"], synced["arch"]) == ("38", "x86_64")
    by_name = {f["name"]: f for f in synced["files"]}
    assert "boot.iso" not in by_name
    assert (
        by_name["vmlinuz"]["sha256"]
        == hashlib.sha256(tree.images["images/pxeboot/vmlinuz"]).hexdigest()
    )
    assert any("no sha256 in .treeinfo" in w for w in synced["warnings"])

    # A treeinfo without a variant section is read leniently, with a warning.
    tree.write_treeinfo(variant=False)
    api.sync(repository, make_dnf_remote(server))
    (synced,) = api.trees(latest(api, repository))
    assert any("read leniently" in w for w in synced["warnings"]), synced["warnings"]
    assert "install.img" in {f["name"] for f in synced["files"]}


def test_both_sources_feed_one_repository_and_follow_one_replacement_rule(
    api, workdir, upstream, make_remote, serve_tree, make_dnf_remote, repository, publish_release
):
    publish_release(upstream, "42", archs=("amd64",))
    publish_release(upstream, "41", archs=("amd64",))
    api.sync(repository, make_remote(upstream))
    oci = {(t["version"], t["arch"]): t for t in api.trees(latest(api, repository))}

    server = serve_tree(dnf.fedora_tree(workdir, release="42"))
    api.sync(repository, make_dnf_remote(server))

    trees = {(t["version"], t["arch"]): t for t in api.trees(latest(api, repository))}
    assert set(trees) == {("41", "x86_64"), ("42", "x86_64")}
    assert trees[("42", "x86_64")]["source"]["type"] == "dnf"
    assert trees[("41", "x86_64")]["digest"] == oci[("41", "x86_64")]["digest"]


def test_on_demand_keeps_images_remote_until_requested(
    api, workdir, serve_tree, make_dnf_remote, repository, distribute
):
    tree = dnf.fedora_tree(workdir, release="37", salt=unique("on-demand"))
    server = serve_tree(tree)
    api.sync(repository, make_dnf_remote(server, policy="on_demand"))
    server.requests.clear()

    base = distribute(repository)
    body = requests.get(f"{base}/37/x86_64/images/install.img", timeout=60).content
    assert body == tree.images["images/install.img"]
    assert "/images/install.img" in server.requests  # fetched upstream on first request
    shim = requests.get(f"{base}/37/x86_64/EFI/BOOT/shimx64.efi", timeout=60).content
    assert shim == tree.expected["shimx64.efi"][0]

    # A re-sync with nothing new neither unpacks packages again nor makes a version.
    first = latest(api, repository)
    server.requests.clear()
    api.sync(repository, make_dnf_remote(server, policy="on_demand"))
    assert latest(api, repository) == first
    assert not [path for path in server.requests if path.endswith(".rpm")]


def test_dnf_remote_validation(api):
    bad = [
        ({"url": "ftp://mirror.example/os/"}, "url"),
        ({"gpg_keys": "not a key"}, "gpg_keys"),
        ({"bootloader_packages": {"amd64": ["shim-x64"]}}, "bootloader_packages"),
    ]
    for fields, field in bad:
        body = {"name": unique("dnf"), "url": "http://mirror.example/os/", **fields}
        response = api.request("POST", "remotes/kickstart/dnf/", expect=(400,), json=body)
        assert field in response.json()
