"""Self-test for pulp_kickstart_oci.testing.coreos: the fake CoreOS upstream must be what
a CoreOS sync reads (netboot/coreos.py's strict parser), served over HTTP, with every
``.sig`` a binary detached signature that pysequoia verifies, and each hostile variant
broken in exactly the way it says.
"""

import gzip
import hashlib
import itertools
import json
import lzma
import urllib.error
import urllib.request

import pysequoia
import pytest

from pulp_kickstart_oci.app.netboot import coreos as stream_metadata
from pulp_kickstart_oci.testing import coreos, dnf

OLD = "42.20250316.3.0"
NEW = "44.20260707.3.1"
COMMIT = "a" * 64
OCI_DIGEST = "b" * 64
BARRIER = "https://docs.fedoraproject.org/en-US/fedora-coreos/update-barrier-signing-keys/"
ROLLOUT = {"duration_minutes": 2880, "start_epoch": 1784728800, "start_percentage": 0.0}
_UPSTREAMS = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("coreos")


@pytest.fixture(scope="module")
def key(workdir):
    key = dnf.make_key("CoreOS Signer A", workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def stranger(workdir):
    key = dnf.make_key("CoreOS Signer B", workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def server(workdir):
    """One server for the module (each stops in half a second): upstreams live below it."""
    with dnf.StaticServer(workdir) as server:
        yield server


@pytest.fixture
def new_upstream(workdir):
    """``new_upstream(**options)``: a CoreosUpstream in a directory of its own, below the
    module server's root."""

    def _new(**options):
        root = workdir / f"upstream-{next(_UPSTREAMS)}"
        return coreos.CoreosUpstream(root, salt=root.name, **options)

    return _new


def publish(upstream, server):
    """Write ``upstream`` with the URLs the module's server serves its root at."""
    return upstream.write(f"{server.url}/{upstream.root.name}")


@pytest.fixture
def upstream(new_upstream, key, server):
    """Written and served: an old-named release, then a newer one with disk and iso."""
    upstream = new_upstream(key=key)
    upstream.add_release(OLD, old_names=True, commit=COMMIT, barrier=BARRIER)
    upstream.add_release(
        NEW, disk=True, iso=True, commit=COMMIT, oci_digest=OCI_DIGEST, rollout=ROLLOUT
    )
    return publish(upstream, server)


def get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def status(url):
    try:
        get(url)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


def parse(upstream, extras=()):
    raw = get(upstream.stream_url)
    return stream_metadata.parse(raw, upstream.stream_url, extras=extras)


def verify(signature, path, key):
    """The signer's fingerprint (upper hex) if ``signature`` (binary detached) over the file
    at ``path`` verifies with ``key``; pysequoia raises RuntimeError otherwise. The call a
    CoreOS sync makes (signatures/openpgp.py verify_detached)."""
    cert = pysequoia.Cert.from_bytes(key.public_armored.encode())
    result = pysequoia.verify(
        file=str(path),
        store=lambda _key_ids: [cert],
        signature=pysequoia.Sig.from_bytes(signature),
    )
    return [str(valid.certificate).upper() for valid in result.valid_sigs]


def test_the_stream_document_passes_the_parser_and_names_the_served_bytes(upstream):
    stream, (release,) = parse(upstream, extras=("disk", "iso"))
    assert (stream, release.arch, release.release) == ("stable", "x86_64", NEW)
    expected = upstream.tree_files()
    assert [item.role for item in release.files] == ["kernel", "initrd", "rootfs", "disk", "iso"]
    for parsed in release.files:
        item = expected[parsed.role]
        assert (parsed.name, parsed.url, parsed.sha256) == (item.name, item.url, item.sha256)
        assert parsed.signature_url == item.url + ".sig" == item.signature_url
        body = get(parsed.url)
        assert hashlib.sha256(body).hexdigest() == parsed.sha256 and len(body) == item.size
    assert upstream.file("kernel").name == f"fedora-coreos-{NEW}-live-kernel.x86_64"
    assert upstream.file("iso").name == f"fedora-coreos-{NEW}-live-iso.x86_64.iso"


def test_the_layout_is_fedoras(upstream):
    base = upstream.base_url
    assert upstream.stream_url == f"{base}/streams/stable.json"
    assert upstream.release_index_url == f"{base}/prod/streams/stable/releases.json"
    assert upstream.updates_url == f"{base}/updates/stable.json"
    kernel = upstream.file("kernel")
    assert kernel.url == f"{base}/prod/streams/stable/builds/{NEW}/x86_64/{kernel.name}"
    document = json.loads(get(upstream.stream_url))
    assert list(document) == ["stream", "metadata", "architectures"]
    assert document["metadata"]["last-modified"].endswith("Z")
    (x86_64,) = document["architectures"].values()
    metal = x86_64["artifacts"]["metal"]
    assert metal["release"] == NEW
    assert list(metal["formats"]) == ["4k.raw.xz", "iso", "pxe", "raw.xz"]
    assert sorted(x86_64["artifacts"]) == ["metal", "qemu"]
    # Only the compressed disks say what they inflate to, and it is true.
    disk = metal["formats"]["raw.xz"]["disk"]
    assert list(disk) == ["location", "signature", "sha256", "uncompressed-sha256"]
    served = get(disk["location"])
    assert served.startswith(b"\xfd7zXZ\x00")
    assert hashlib.sha256(lzma.decompress(served)).hexdigest() == disk["uncompressed-sha256"]
    assert "uncompressed-sha256" not in metal["formats"]["pxe"]["kernel"]
    assert "uncompressed-sha256" not in metal["formats"]["iso"]["disk"]


def test_the_old_release_keeps_its_old_names_and_its_files(upstream):
    old = upstream.files(OLD)
    assert old["kernel"].name == f"fedora-coreos-{OLD}-live-kernel-x86_64"
    assert "disk" not in old and "iso" not in old
    for item in old.values():
        assert get(item.url) == item.data
    with_iso = coreos.CoreosUpstream(upstream.root.with_name("iso"), key=upstream.key)
    with_iso.add_release(OLD, old_names=True, iso=True)
    assert with_iso.file("iso").name == f"fedora-coreos-{OLD}-live.x86_64.iso"


def test_a_newer_release_is_published_at_once(new_upstream, key, server):
    upstream = new_upstream(key=key)
    upstream.add_release(OLD, old_names=True)
    publish(upstream, server)
    (old,) = parse(upstream)[1]
    assert old.release == OLD and old.files[0].name.endswith("-live-kernel-x86_64")
    # Nothing new: writing again changes no byte of any document.
    documents = [upstream.stream_url, upstream.release_index_url, upstream.updates_url]
    before = [get(url) for url in documents]
    upstream.write()
    assert [get(url) for url in documents] == before

    upstream.add_release(NEW)

    (new,) = parse(upstream)[1]
    assert new.release == NEW and new.files[0].name.endswith("-live-kernel.x86_64")
    assert get(old.files[0].url) == upstream.file("kernel", OLD).data


def test_every_signature_is_binary_and_verifies_with_the_key(upstream, tmp_path):
    for version in (OLD, NEW):
        for item in upstream.files(version).values():
            signature = get(item.signature_url)
            assert signature == item.signature
            assert signature[0] & 0x80, "binary OpenPGP packets, not armour"
            local = tmp_path / item.name
            local.write_bytes(get(item.url))
            assert verify(signature, local, upstream.key) == [upstream.fingerprint]


def test_the_release_index_is_compact_and_lists_every_release_oldest_first(upstream):
    raw = get(upstream.release_index_url)
    assert b"\n" not in raw and b'": ' not in raw
    index = json.loads(raw)
    assert list(index) == ["note", "releases", "metadata", "stream"]
    assert index["stream"] == "stable"
    old, new = index["releases"]
    assert old == {
        "commits": [{"architecture": "x86_64", "checksum": COMMIT}],
        "version": OLD,
        "metadata": f"{upstream.base_url}/prod/streams/stable/builds/{OLD}/release.json",
    }
    assert list(new) == ["commits", "oci-images", "version", "metadata"]
    assert new["oci-images"] == [
        {
            "image": "quay.io/fedora/fedora-coreos:stable",
            "digest-ref": f"quay.io/fedora/fedora-coreos@sha256:{OCI_DIGEST}",
            "architecture": "x86_64",
        }
    ]
    release = json.loads(get(new["metadata"]))
    assert release["release"] == NEW
    architecture = release["architectures"]["x86_64"]
    assert architecture["commit"] == COMMIT
    assert architecture["oci-image"]["digest-ref"].endswith(OCI_DIGEST)
    kernel = architecture["media"]["metal"]["artifacts"]["pxe"]["kernel"]
    assert kernel["location"] == upstream.file("kernel").url


def test_the_update_policy_lists_only_releases_with_one(new_upstream, key, server):
    upstream = new_upstream(key=key)
    upstream.add_release("43.20260330.3.1", oci_digest=OCI_DIGEST)
    upstream.add_release(OLD, barrier=BARRIER)
    upstream.add_release(NEW, rollout=ROLLOUT, deadend="https://example.invalid/issues/215")
    publish(upstream, server)
    updates = json.loads(get(upstream.updates_url))
    assert updates["stream"] == "stable"
    assert updates["releases"] == [
        {"version": OLD, "metadata": {"barrier": {"reason": BARRIER}}},
        {
            "version": NEW,
            "metadata": {
                "deadend": {"reason": "https://example.invalid/issues/215"},
                "rollout": ROLLOUT,
            },
        },
    ]
    # A release with neither commits nor OCI images is listed without both keys.
    first = json.loads(get(upstream.release_index_url))["releases"][0]
    assert "commits" not in first and first["oci-images"][0]["architecture"] == "x86_64"


def test_a_file_signed_with_another_key(upstream, stranger, tmp_path):
    rootfs = upstream.sign_with(stranger, "rootfs")
    local = tmp_path / "rootfs"
    local.write_bytes(get(rootfs.url))
    signature = get(rootfs.signature_url)
    assert verify(signature, local, stranger) == [stranger.fingerprint]
    with pytest.raises(RuntimeError, match="no valid signatures"):
        verify(signature, local, upstream.key)
    # The document is unchanged: it still names the .sig beside the file.
    (release,) = parse(upstream)[1]
    assert release.files[2].signature_url == rootfs.url + ".sig"


def test_a_corrupted_file_keeps_its_size_and_its_documented_sha256(upstream, tmp_path):
    kernel = upstream.corrupt("kernel")
    body = get(kernel.url)
    (release,) = parse(upstream)[1]
    assert release.files[0].sha256 == kernel.sha256 == hashlib.sha256(kernel.data).hexdigest()
    assert len(body) == kernel.size and hashlib.sha256(body).hexdigest() != kernel.sha256
    assert body == kernel.served_bytes
    # Upstream signed the bytes it published: the served ones do not verify either.
    local = tmp_path / "kernel"
    local.write_bytes(body)
    with pytest.raises(RuntimeError, match="no valid signatures"):
        verify(get(kernel.signature_url), local, upstream.key)


def test_a_dropped_signature_is_a_404_the_document_still_names(upstream):
    initramfs = upstream.drop_signature("initramfs")
    (release,) = parse(upstream)[1]
    assert release.files[1].signature_url == initramfs.url + ".sig"
    assert status(initramfs.url + ".sig") == 404
    assert status(initramfs.url) == 200
    assert status(upstream.file("kernel").signature_url) == 200


def test_a_location_on_another_origin(upstream, workdir):
    with dnf.StaticServer(workdir) as elsewhere:
        base = f"{elsewhere.url}/{upstream.root.name}"
        rootfs = upstream.relocate(base, "rootfs")
        (release,) = parse(upstream)[1]
        assert release.files[2].url == f"{base}/{rootfs.path}" == rootfs.url
        assert not rootfs.url.startswith(upstream.base_url + "/")
        assert get(rootfs.url) == rootfs.data
        assert get(rootfs.signature_url) == rootfs.signature
        assert release.files[0].url.startswith(upstream.base_url + "/")


def test_an_unsigned_release_names_no_signature(new_upstream, key, server):
    upstream = new_upstream(key=key)
    upstream.add_release(NEW, signed=False)
    publish(upstream, server)
    assert b'"signature"' not in get(upstream.stream_url)
    (release,) = parse(upstream)[1]
    assert [item.signature_url for item in release.files] == [None, None, None]
    assert not list(upstream.root.rglob("*.sig"))


def test_rhcos_style_has_no_signatures_gzip_disks_and_no_index(new_upstream, server):
    upstream = new_upstream(stream="rhcos-4.21", flavor="rhcos")
    upstream.add_release("9.8.20260428-0", disk=True, iso=True)
    publish(upstream, server)
    raw = get(upstream.stream_url)
    assert b'"signature"' not in raw and b"raw.xz" not in raw
    stream, (release,) = parse(upstream, extras=("disk",))
    assert (stream, release.release) == ("rhcos-4.21", "9.8.20260428-0")
    disk = release.files[3]
    assert disk.name == "rhcos-9.8.20260428-0-metal.x86_64.raw.gz"
    served = get(disk.url)
    assert served.startswith(b"\x1f\x8b")
    assert gzip.decompress(served) == upstream.file("disk").uncompressed
    assert all(item.signature_url is None for item in release.files)
    assert not list(upstream.root.rglob("*.sig"))
    assert upstream.release_index_url is None and upstream.updates_url is None
    assert not (upstream.root / "prod/streams/rhcos-4.21/releases.json").exists()


def test_misuse_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs the upstream's key"):
        coreos.CoreosUpstream(tmp_path).add_release(NEW)
    upstream = coreos.CoreosUpstream(tmp_path)
    upstream.add_release(NEW, signed=False)
    with pytest.raises(ValueError, match="already added"):
        upstream.add_release(NEW, signed=False)
    with pytest.raises(ValueError, match="not signed"):
        upstream.drop_signature("kernel")
    with pytest.raises(ValueError, match="base URL"):
        upstream.write()
