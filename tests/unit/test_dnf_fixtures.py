"""Self-test for pulp_kickstart_oci.testing.dnf: the fixtures must be what real tools accept.

Functional tests trust these trees blindly, so check them here with the same
tools a consumer uses (createrepo_c, rpmfile, rpmkeys, productmd, HTTP).
"""

import configparser
import subprocess

import createrepo_c
import productmd.treeinfo
import pytest
import requests
import rpmfile

from pulp_kickstart_oci.app.dnf import repodata, treeinfo
from pulp_kickstart_oci.testing import dnf


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("dnf")


@pytest.fixture(scope="module")
def key(workdir):
    key = dnf.make_key("Fixture Signer A", workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def tree(workdir, key):
    return dnf.fedora_tree(workdir, key=key)


def primary_packages(root):
    """NEVRAs listed in the tree's primary metadata, read the way a consumer would."""
    repomd = createrepo_c.Repomd(str(root / "repodata" / "repomd.xml"))
    primary = next(record for record in repomd.records if record.type == "primary")
    found = []

    def collect(package):
        found.append(package.nevra())

    createrepo_c.xml_parse_primary(str(root / primary.location_href), pkgcb=collect, do_files=False)
    return found


def rpmkeys(dbroot, *args):
    return subprocess.run(
        ["rpmkeys", "--root", str(dbroot), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_key_is_exported_armoured(key):
    assert key.public_armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert len(key.fingerprint) == 40


def test_repodata_lists_every_shim(tree):
    assert (tree.root / "repodata" / "repomd.xml").is_file()
    nevras = primary_packages(tree.root)
    shims = sorted(nevra for nevra in nevras if nevra.startswith("shim-x64-"))
    assert shims == [
        "shim-x64-0:15.4-5.x86_64",
        "shim-x64-0:15.6-2.x86_64",
        "shim-x64-0:15.8-3.x86_64",
    ]
    assert "syslinux-nonlinux-0:6.04-0.27.noarch" in nevras
    assert len(tree.rpms["shim-x64"]) == 3


def payload_compressor(path):
    """Ask rpm itself which codec the payload uses; rpmfile only decompresses it."""
    return subprocess.run(
        ["rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR}", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_rpm_members_match_expected_bytes_for_every_payload(tree):
    compressors = set()
    for relative in (path for paths in tree.rpms.values() for path in paths):
        compressors.add(payload_compressor(tree.root / relative))
        with rpmfile.open(tree.root / relative) as rpm:
            for member in rpm.getmembers():
                assert len(rpm.extractfile(member).read()) == member.size
    assert compressors == {"zstd", "xz", "gzip"}

    with rpmfile.open(tree.root / tree.rpms["shim-x64"][-1]) as rpm:
        data = rpm.extractfile("./boot/efi/EFI/fedora/shimx64.efi").read()
    assert data.startswith(b"MZ")
    assert (data, "shim-x64-15.8-3.x86_64") == tree.expected["shimx64.efi"]
    assert tree.expected["pxelinux.0"][1] == "syslinux-nonlinux-6.04-0.27.noarch"


def test_signatures_verify_with_rpmkeys(tree, key, workdir):
    dbroot = workdir / "rpmroot"
    dbroot.mkdir()
    public = key.write_public(workdir / "pub.asc")
    assert rpmkeys(dbroot, "--import", str(public)).returncode == 0

    signed = rpmkeys(dbroot, "--checksig", str(tree.root / tree.rpms["shim-x64"][-1]))
    assert signed.returncode == 0
    assert "signatures OK" in signed.stdout

    unsigned_rpm = dnf.build_rpm(
        workdir, "unsigned", "1", "1", "noarch", {"/etc/unsigned": b"x"}, payload="gzip"
    )
    unsigned = rpmkeys(dbroot, "--checksig", str(unsigned_rpm))
    assert "signatures" not in unsigned.stdout
    assert "digests OK" in unsigned.stdout

    # Same NEVRA again, signed by a key the database does not trust.
    other = dnf.make_key("Fixture Signer B", workdir)
    try:
        foreign_rpm = dnf.build_rpm(
            workdir, "unsigned", "1", "1", "noarch", {"/etc/unsigned": b"x"}, sign_with=other
        )
    finally:
        other.close()
    foreign = rpmkeys(dbroot, "--checksig", str(foreign_rpm))
    assert foreign.returncode != 0
    assert "signatures OK" not in foreign.stdout


def test_treeinfo_loads_with_productmd(tree):
    info = productmd.treeinfo.TreeInfo()
    info.load(str(tree.root / ".treeinfo"))
    assert info.release.short == "Fedora"
    assert info.release.version == "42"
    assert info.images.images["x86_64"]["kernel"] == "images/pxeboot/vmlinuz"
    assert info.stage2.mainimage == "images/install.img"
    assert info.variants["Everything"].paths.packages == "Packages"
    assert "images/boot.iso" in info.checksums.checksums


def test_other_treeinfo_shapes(tree):
    tree.write_treeinfo(
        checksum_overrides={"images/pxeboot/vmlinuz": "0" * 64}, variant=False, filename="plain"
    )
    tree.write_treeinfo(legacy_only=True, filename="legacy")
    plain = configparser.ConfigParser(interpolation=None)
    plain.read(tree.root / "plain")
    assert plain["checksums"]["images/pxeboot/vmlinuz"] == "sha256:" + "0" * 64
    assert not any(section.startswith("variant-") for section in plain.sections())
    legacy = configparser.ConfigParser(interpolation=None)
    legacy.read(tree.root / "legacy")
    assert legacy["general"]["packagedir"] == "Packages"
    assert "header" not in legacy and legacy["stage2"]["mainimage"] == "images/install.img"


def test_every_treeinfo_shape_parses_to_the_same_facts(tree):
    """The consumer's reader (TolerantTreeInfo) takes all three shapes the fixtures write."""
    tree.write_treeinfo(variant=False, filename="plain")
    tree.write_treeinfo(legacy_only=True, filename="legacy")
    facts = {
        name: treeinfo.parse((tree.root / name).read_text(), name)
        for name in (".treeinfo", "plain", "legacy")
    }
    for name, found in facts.items():
        assert (found.family, found.version, found.arch) == ("Fedora", "42", "x86_64"), name
        assert found.images["kernel"] == "images/pxeboot/vmlinuz", name
        assert found.stage2 == "images/install.img", name
    assert facts[".treeinfo"].warnings == [] and facts["legacy"].warnings == []
    assert any("read leniently" in warning for warning in facts["plain"].warnings)
    assert facts["plain"].checksums == facts[".treeinfo"].checksums
    assert facts["legacy"].checksums == {}


def test_newest_packages_picks_the_newest_shim(tree):
    repomd = tree.root / "repodata" / "repomd.xml"
    href, _, _ = repodata.primary_location(str(repomd), "tree")
    found = repodata.newest_packages(
        str(tree.root / href), ["shim-x64", "syslinux-nonlinux"], {"x86_64", "noarch"}, "tree"
    )
    assert found["shim-x64"].nevra == "shim-x64-15.8-3.x86_64"
    assert found["syslinux-nonlinux"].nevra == "syslinux-nonlinux-6.04-0.27.noarch"


def test_static_server_serves_bytes_and_fake_html(tree):
    with dnf.StaticServer(tree.root, html_for={"/missing/.treeinfo"}) as server:
        relative = tree.rpms["shim-x64"][0]
        response = requests.get(f"{server.url}/{relative}", timeout=10)
        fake = requests.get(f"{server.url}/missing/.treeinfo", timeout=10)
    assert response.content == (tree.root / relative).read_bytes()
    assert fake.status_code == 200 and fake.headers["Content-Type"].startswith("text/html")
    assert server.requests == [f"/{relative}", "/missing/.treeinfo"]


def test_aarch64_f44_layout(workdir):
    tree = dnf.fedora_tree(workdir, release="44", arch="aarch64", f44_layout=True, payloads=("xz",))
    assert "syslinux-nonlinux" not in tree.rpms
    data, nevra = tree.expected["shimaa64.efi"]
    assert nevra == "shim-aa64-16.1-5.aarch64"
    with rpmfile.open(tree.root / tree.rpms["shim-aa64"][-1]) as rpm:
        assert rpm.extractfile("./usr/lib/efi/shim/16.1-5/EFI/fedora/shimaa64.efi").read() == data
