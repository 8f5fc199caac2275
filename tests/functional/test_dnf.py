"""Sync from real dnf trees: rpmbuild-built, rpmsign-signed, createrepo_c'd, served over HTTP."""

import hashlib
import json

import productmd.treeinfo
import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import dnf
from tests.support import signing

from .conftest import progress


@pytest.fixture(scope="module")
def trusted(kickstart_workdir):
    key = dnf.make_key("Fixture Signer A", kickstart_workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def stranger(kickstart_workdir):
    key = dnf.make_key("Fixture Signer B", kickstart_workdir)
    yield key
    key.close()


@pytest.fixture
def resync_unchanged(kickstart_sync, latest_version):
    """``resync_unchanged(repository, remote, server)``: sync again with nothing new on
    ``server``: no new version, and no package is downloaded again. Returns the task."""

    def _resync(repository, remote, server):
        first = latest_version(repository)
        server.requests.clear()
        task = kickstart_sync(repository, remote)
        assert latest_version(repository) == first
        assert not [path for path in server.requests if path.endswith(".rpm")]
        return task

    return _resync


def _rpm_sha256(tree, name):
    newest = tree.rpms[name][-1]
    return hashlib.sha256((tree.root / newest).read_bytes()).hexdigest()


def test_a_signed_tree_is_synced_served_and_byte_identical(
    trusted,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
    resync_unchanged,
):
    tree = kickstart_dnf_tree_factory(key=trusted)
    server = kickstart_tree_server_factory(tree)
    remote = kickstart_dnf_remote_factory(server, gpg_keys=trusted.public_armored)
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, remote)

    (synced,) = trees(latest_version(repository))
    assert (synced.version, synced.arch, synced.oci_arch) == ("42", "x86_64", "amd64")
    assert synced.source["type"] == "dnf" and synced.source["family"] == "Fedora"
    # The keyring check is content of the version, not a field of the tree.
    assert "verified_with" not in synced.source
    (check,) = signatures(latest_version(repository), synced)
    assert (check.kind, check.key) == ("rpm", trusted.fingerprint.upper())
    assert (check.signed_digest, check.reference) == (synced.digest, synced.source["url"])
    by_name = {f.name: f for f in synced.files}
    for path, data in tree.images.items():
        name = path.rsplit("/", 1)[-1]
        assert by_name[name].sha256 == hashlib.sha256(data).hexdigest()
    assert by_name["vmlinuz"].path == "images/pxeboot/vmlinuz"
    assert by_name["install.img"].role == "stage2"
    # Bootloaders come out of the newest packages, with their provenance.
    for name, (data, nevra) in tree.expected.items():
        item = by_name[name]
        assert item.sha256 == hashlib.sha256(data).hexdigest(), name
        assert item.package == nevra
        package = nevra.rsplit("-", 2)[0]
        assert item.rpm_sha256 == _rpm_sha256(tree, package)
    assert by_name["shimx64.efi"].package == "shim-x64-15.8-3.x86_64"
    assert by_name["shimx64.efi"].path == "EFI/BOOT/shimx64.efi"
    assert by_name["pxelinux.0"].path == "pxelinux.0"
    assert progress(task)["sync.unpacking.packages"].done == 3

    base = kickstart_distribution_factory(repository).base_url
    for item in synced.files:
        body = requests.get(f"{base}42/x86_64/{item.path}", timeout=60).content
        assert hashlib.sha256(body).hexdigest() == item.sha256, item.path
    info = productmd.treeinfo.TreeInfo()
    info.loads(requests.get(f"{base}42/x86_64/.treeinfo", timeout=60).text)
    assert info.release.name == "Fedora" and info.stage2.mainimage == "images/install.img"

    # Nothing new upstream: no new version, and no package is downloaded again.
    again = resync_unchanged(repository, remote, server)
    assert "sync.was_skipped" in progress(again)


# The deprecated gpg_keys means signature_keys under 'required'.
REQUIRED = {
    "gpg_keys": lambda key: {"gpg_keys": key.public_armored},
    "signature_keys": lambda key: {
        "signature_keys": key.public_armored,
        "signature_policy": "required",
    },
}


@pytest.mark.parametrize("form", sorted(REQUIRED))
@pytest.mark.parametrize("signer", [None, "stranger"])
def test_packages_must_carry_a_trusted_signature(
    form,
    trusted,
    stranger,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signer,
):
    key = {"stranger": stranger, None: None}[signer]
    tree = kickstart_dnf_tree_factory(key=key, release="41")
    server = kickstart_tree_server_factory(tree)
    repository = kickstart_repository_factory()

    task = kickstart_sync(
        repository,
        kickstart_dnf_remote_factory(server, **REQUIRED[form](trusted)),
        expect_failure=True,
    )

    assert task.state == "failed"
    description = task.error["description"]
    assert "shim-x64-15.8-3.x86_64" in description
    assert "signature_policy 'required' and no signature by signature_keys verifies" in description
    assert ("not in signature_keys" if signer else "is not signed") in description
    # Every source's failure says so once (tasks/synchronizing.py), dnf's as the registry's.
    assert description.endswith(". No repository version was created."), description
    assert description.count("No repository version was created") == 1, description
    assert latest_version(repository).endswith("/versions/0/")

    # Without gpg_keys the same tree syncs.
    kickstart_sync(repository, kickstart_dnf_remote_factory(server))
    assert len(trees(latest_version(repository))) == 1


def test_a_checksum_mismatch_fails_naming_the_file_unless_skipped(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    tree = kickstart_dnf_tree_factory(release="40")
    tree.write_treeinfo(checksum_overrides={"images/install.img": "0" * 64})
    server = kickstart_tree_server_factory(tree)
    repository = kickstart_repository_factory()

    task = kickstart_sync(
        repository, kickstart_dnf_remote_factory(server, max_retries=1), expect_failure=True
    )

    assert task.state == "failed"
    assert "install.img" in task.error["description"]
    assert "0" * 64 in task.error["description"]
    assert latest_version(repository).endswith("/versions/0/")

    kickstart_sync(repository, kickstart_dnf_remote_factory(server, skip_files=["install.img"]))
    (synced,) = trees(latest_version(repository))
    assert "install.img" not in {f.name for f in synced.files}


def test_repodata_checksums_pulp_does_not_compute_are_still_checked(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    """sha512 repodata on a Pulp that computes sha256 alone (the recommended setting):
    the sync works, and a package that does not match its sha512 still fails it."""
    tree = kickstart_dnf_tree_factory(release="40")
    tree.createrepo(checksum="sha512")
    server = kickstart_tree_server_factory(tree)
    shim = tree.root / tree.rpms["shim-x64"][-1]
    original = shim.read_bytes()
    tampered = bytearray(original)
    tampered[-1] ^= 0xFF  # same size, other bytes: only the sha512 can tell
    shim.write_bytes(bytes(tampered))
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, kickstart_dnf_remote_factory(server), expect_failure=True)
    assert "shim-x64" in task.error["description"]
    assert "sha512" in task.error["description"]
    assert "the repodata says" in task.error["description"]
    assert latest_version(repository).endswith("/versions/0/")

    shim.write_bytes(original)
    kickstart_sync(repository, kickstart_dnf_remote_factory(server))
    (synced,) = trees(latest_version(repository))
    assert {"shimx64.efi", "grubx64.efi"} <= {f.name for f in synced.files}


def test_a_missing_package_fails_naming_it(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    server = kickstart_tree_server_factory(kickstart_dnf_tree_factory(release="39"))
    remote = kickstart_dnf_remote_factory(
        server, bootloader_packages={"x86_64": ["shim-x64", "grub2-efi-x64-modules"]}
    )
    repository = kickstart_repository_factory()
    task = kickstart_sync(repository, remote, expect_failure=True)
    assert task.state == "failed"
    assert "grub2-efi-x64-modules" in task.error["description"]
    assert latest_version(repository).endswith("/versions/0/")


def test_fedora_44_layout_and_every_payload_compression(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    tree = kickstart_dnf_tree_factory(release="44", f44_layout=True, payloads=("xz", "zstd"))
    server = kickstart_tree_server_factory(tree)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_dnf_remote_factory(server))
    (synced,) = trees(latest_version(repository))
    by_name = {f.name: f for f in synced.files}
    assert by_name["shimx64.efi"].package == "shim-x64-16.1-5.x86_64"
    assert by_name["shimx64.efi"].source_path == "usr/lib/efi/shim/16.1-5/EFI/fedora/shimx64.efi"
    assert by_name["grubx64.efi"].source_path.startswith("usr/lib/efi/grub2/")
    for name, (data, _) in tree.expected.items():
        assert by_name[name].sha256 == hashlib.sha256(data).hexdigest()


def test_treeinfo_quirks(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    # An HTML page where .treeinfo should be, and no legacy file: not a tree.
    tree = kickstart_dnf_tree_factory(release="38")
    (tree.root / "treeinfo").unlink(missing_ok=True)
    server = kickstart_tree_server_factory(tree, html_for={"/.treeinfo"})
    repository = kickstart_repository_factory()
    task = kickstart_sync(repository, kickstart_dnf_remote_factory(server), expect_failure=True)
    assert task.state == "failed"
    assert "HTML page" in task.error["description"]

    # A legacy [general]-only treeinfo still names release, arch and images.
    tree.write_treeinfo(legacy_only=True)
    server.html_for.clear()
    kickstart_sync(repository, kickstart_dnf_remote_factory(server, skip_files=["boot.iso"]))
    (synced,) = trees(latest_version(repository))
    assert (synced.version, synced.arch) == ("38", "x86_64")
    by_name = {f.name: f for f in synced.files}
    assert "boot.iso" not in by_name
    assert (
        by_name["vmlinuz"].sha256
        == hashlib.sha256(tree.images["images/pxeboot/vmlinuz"]).hexdigest()
    )
    assert any("no sha256 in .treeinfo" in w for w in synced.warnings)

    # A treeinfo without a variant section is read leniently, with a warning.
    tree.write_treeinfo(variant=False)
    kickstart_sync(repository, kickstart_dnf_remote_factory(server))
    (synced,) = trees(latest_version(repository))
    assert any("read leniently" in w for w in synced.warnings), synced.warnings
    assert "install.img" in {f.name for f in synced.files}


def test_both_sources_feed_one_repository_and_follow_one_replacement_rule(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    tree_map,
):
    upstream = kickstart_upstream
    kickstart_publish_release(upstream, "42", archs=("amd64",))
    kickstart_publish_release(upstream, "41", archs=("amd64",))
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream))
    oci = tree_map(latest_version(repository))

    server = kickstart_tree_server_factory(kickstart_dnf_tree_factory(release="42"))
    kickstart_sync(repository, kickstart_dnf_remote_factory(server))

    by_key = tree_map(latest_version(repository))
    assert set(by_key) == {("41", "x86_64"), ("42", "x86_64")}
    assert by_key[("42", "x86_64")].source["type"] == "dnf"
    assert by_key[("41", "x86_64")].digest == oci[("41", "x86_64")].digest


def test_on_demand_keeps_images_remote_until_requested(
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    resync_unchanged,
):
    tree = kickstart_dnf_tree_factory(release="37", salt=unique("on-demand"))
    server = kickstart_tree_server_factory(tree)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_dnf_remote_factory(server, policy="on_demand"))
    server.requests.clear()

    base = kickstart_distribution_factory(repository).base_url
    body = requests.get(f"{base}37/x86_64/images/install.img", timeout=60).content
    assert body == tree.images["images/install.img"]
    assert "/images/install.img" in server.requests  # fetched upstream on first request
    shim = requests.get(f"{base}37/x86_64/EFI/BOOT/shimx64.efi", timeout=60).content
    assert shim == tree.expected["shimx64.efi"][0]

    # A re-sync with nothing new neither unpacks packages again nor makes a version.
    resync_unchanged(repository, kickstart_dnf_remote_factory(server, policy="on_demand"), server)


PEM = signing.public_pem(signing.generate_key("p256"))
OPENPGP = "<the trusted OpenPGP key>"  # replaced by the fixture's key in the test


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"url": "ftp://mirror.example/os/"}, "url", "http(s)"),
        ({"gpg_keys": "not a key"}, "gpg_keys", "text outside the key blocks"),
        ({"bootloader_packages": {"amd64": ["shim-x64"]}}, "bootloader_packages", "Fedora"),
        # One key module: rpmkeys checks OpenPGP signatures, a PEM key cannot verify an RPM.
        ({"signature_keys": PEM}, "signature_keys", "RPM signatures are verified with OpenPGP"),
        ({"gpg_keys": OPENPGP + PEM}, "gpg_keys", "key block 2 (PEM)"),
        # A policy that checks needs keys, whichever name they would come under.
        ({"signature_policy": "required"}, "signature_keys", "needs at least one key"),
        ({"signature_policy": "if_present"}, "signature_keys", "needs at least one key"),
        (
            {"signature_policy": "if_present", "signature_keys": " \n"},
            "signature_keys",
            "needs at least one key",
        ),
        (
            {"gpg_keys": None, "signature_policy": "required"},
            "signature_keys",
            "needs at least one key",
        ),
        ({"signature_policy": "sometimes"}, "signature_policy", "not a valid choice"),
        # The deprecated name and the new one are not given together.
        ({"gpg_keys": OPENPGP, "signature_keys": OPENPGP}, "gpg_keys", "deprecated name"),
    ],
)
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_dnf_remote_validation(kickstart_bindings, trusted, fields, field, reason):
    fields = {
        name: value.replace(OPENPGP, trusted.public_armored) if isinstance(value, str) else value
        for name, value in fields.items()
    }
    body = {"name": unique("dnf"), "url": "http://mirror.example/os/", **fields}
    # model_construct skips the client's own checks: the server judges.
    remote = kickstart_bindings.KickstartKickstartDnfRemote.model_construct(**body)
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.RemotesDnfApi.create(remote)
    assert raised.value.status == 400
    errors = json.loads(raised.value.body)
    assert field in errors, errors
    assert reason in " ".join(errors[field]), errors


# -- one trust model: the dnf remote's signature_policy ------------------------------------


def test_if_present_checks_the_signatures_rpms_carry_and_accepts_unsigned_ones(
    trusted,
    stranger,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
):
    def if_present(tree):
        server = kickstart_tree_server_factory(tree)
        return kickstart_dnf_remote_factory(
            server, signature_keys=trusted.public_armored, signature_policy="if_present"
        )

    # Unsigned RPMs are accepted; the tree says which, and nothing vouches for them.
    repository = kickstart_repository_factory()
    kickstart_sync(repository, if_present(kickstart_dnf_tree_factory(release="34")))
    (tree,) = trees(latest_version(repository))
    flagged = [w for w in tree.warnings if "accepted under signature_policy 'if_present'" in w]
    assert len(flagged) == 3, tree.warnings  # shim, grub2-efi, syslinux
    assert any("package shim-x64-15.8-3.x86_64" in w and "is not signed" in w for w in flagged)
    assert signatures(latest_version(repository), tree) == []

    # A signature by a key the remote does not trust fails the sync: nothing is created.
    refused = kickstart_repository_factory()
    task = kickstart_sync(
        refused,
        if_present(kickstart_dnf_tree_factory(key=stranger, release="33")),
        expect_failure=True,
    )
    description = task.error["description"]
    assert "package shim-x64-15.8-3.x86_64" in description
    assert "signed by a key not in signature_keys" in description, description
    assert latest_version(refused).endswith("/versions/0/")

    # Signed by the trusted key: synced without a warning, and the keyring check is recorded.
    signed = kickstart_repository_factory()
    kickstart_sync(signed, if_present(kickstart_dnf_tree_factory(key=trusted, release="32")))
    (tree,) = trees(latest_version(signed))
    assert not [w for w in tree.warnings if "is not signed" in w]
    (check,) = signatures(latest_version(signed), tree)
    assert (check.kind, check.key) == ("rpm", trusted.fingerprint.upper())


def test_policy_none_looks_at_no_signature_even_with_keys(
    trusted,
    stranger,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
    trees,
    signatures,
):
    server = kickstart_tree_server_factory(kickstart_dnf_tree_factory(key=stranger, release="31"))
    remote = kickstart_dnf_remote_factory(
        server, signature_keys=trusted.public_armored, signature_policy="none"
    )
    assert remote.gpg_keys is None  # the deprecated name shows keys only while they are used
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    (tree,) = trees(latest_version(repository))
    assert signatures(latest_version(repository), tree) == []


def test_gpg_keys_is_the_deprecated_name_of_signature_keys(
    kickstart_bindings,
    trusted,
    kickstart_dnf_remote_factory,
    monitor_task,
    bindings_cfg,
    pulp_api_v3_url,
):
    api = kickstart_bindings.RemotesDnfApi
    armored = trusted.public_armored
    # Written alone, it means signature_keys under 'required' (the old behaviour).
    remote = kickstart_dnf_remote_factory(url="http://mirror.example/os/", gpg_keys=armored)
    assert (remote.signature_keys, remote.signature_policy) == (armored, "required")
    assert remote.gpg_keys == armored
    # With a policy in the same request, the request's policy holds.
    relaxed = kickstart_dnf_remote_factory(
        url="http://mirror.example/os/", gpg_keys=armored, signature_policy="if_present"
    )
    assert (relaxed.signature_keys, relaxed.signature_policy) == (armored, "if_present")
    # Read back, gpg_keys means 'required': an old client must not take this for one.
    assert relaxed.gpg_keys is None
    # null clears the keys and the check, as removing gpg_keys did.
    monitor_task(api.partial_update(remote.pulp_href, {"gpg_keys": None}).task)
    cleared = api.read(remote.pulp_href)
    assert (cleared.signature_keys, cleared.signature_policy, cleared.gpg_keys) == (
        None,
        "none",
        None,
    )
    # The schema says it is deprecated, and what replaces it.
    schema = requests.get(
        f"{pulp_api_v3_url}docs/api.json?component=kickstart",
        auth=(bindings_cfg.username, bindings_cfg.password),
        timeout=60,
    ).json()["components"]["schemas"]["kickstart.KickstartDnfRemote"]["properties"]
    assert schema["gpg_keys"]["deprecated"] is True
    assert "use signature_keys and signature_policy" in schema["gpg_keys"]["description"]
    assert "signature_policy" in schema and "signature_keys" in schema
