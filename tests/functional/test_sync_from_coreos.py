"""Sync from a CoreOS stream on the dev stack, against a faithful stand-in of Fedora's.

The upstream (pulp_kickstart_oci.testing.coreos) is laid out as
builds.coreos.fedoraproject.org serves it: stream metadata, release files each with a
binary detached OpenPGP signature made by ``gpg``, the release index and the update
policy. A sync stores one CoreOS tree per architecture of the stream's current
release, every file checked against the document's sha256 and, under a signature
policy, against its signature; each ``.sig`` is served beside its file. What fails
names the file and changes nothing.
"""

import hashlib
import json

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import coreos, dnf

OLD = "43.20260413.3.2"
NEW = "44.20260707.3.1"
NEWER = "44.20260721.3.0"
BARRIER = "https://docs.fedoraproject.org/en-US/fedora-coreos/update-barrier-signing-keys/"
SIGNATURE_KIND = "openpgp-detached"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def signer(kickstart_workdir):
    key = dnf.make_key("CoreOS Fixture Signer", kickstart_workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def stranger(kickstart_workdir):
    key = dnf.make_key("CoreOS Stranger", kickstart_workdir)
    yield key
    key.close()


@pytest.fixture
def upstream(tmp_path, signer, kickstart_tree_server_factory):
    """``upstream(**options)``: a served CoreosUpstream (written) with two releases of
    x86_64 (the older one by the pre-2025 names) and one of aarch64."""

    def _upstream(flavor="fedora", disk=False, iso=False, **options):
        root = tmp_path / unique("coreos")
        root.mkdir()
        built = coreos.CoreosUpstream(root, key=signer, flavor=flavor, salt=root.name, **options)
        built.add_release(OLD, old_names=True, commit="c" * 64, barrier=BARRIER)
        built.add_release(NEW, disk=disk, iso=iso, commit="d" * 64, oci_digest="e" * 64)
        built.add_release(NEW, arch="aarch64", disk=disk, iso=iso, oci_digest="f" * 64)
        server = kickstart_tree_server_factory(built.root)
        built.write(server.url)
        built.server = server
        return built

    return _upstream


def _served(base, tree, path):
    return requests.get(f"{base}{tree.version}/{tree.arch}/{path}", timeout=60)


def test_a_signed_stream_is_synced_verified_and_served_with_its_signatures(
    upstream,
    signer,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tree_map,
    signatures,
    kickstart_bindings,
):
    built = upstream(disk=True, iso=True)
    remote = kickstart_coreos_remote_factory(
        built.stream_url,
        extras=["disk", "iso"],
        signature_keys=built.public_key,
        signature_policy="required",
        release_index_url=built.release_index_url,
        updates_url=built.updates_url,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)

    version = latest_version(repository)
    synced = tree_map(version)
    assert sorted(synced) == [(NEW, "aarch64"), (NEW, "x86_64")]
    tree = synced[(NEW, "x86_64")]
    assert tree.kind == "coreos" and tree.oci_arch == "amd64"
    assert tree.source["type"] == "coreos" and tree.source["stream"] == "stable"
    assert tree.source["url"] == built.stream_url and tree.source["release"] == NEW
    assert tree.source["oci_image"] == f"{coreos.OCI_REPOSITORY}@sha256:{'e' * 64}"
    expected = built.tree_files(NEW)
    assert set(expected) == {"kernel", "initrd", "rootfs", "disk", "iso"}
    by_role = {}
    for item in tree.files:
        by_role.setdefault(item.role, []).append(item)
    assert len(by_role["signature"]) == 5
    for role, upstream_file in expected.items():
        (item,) = by_role[role]
        assert (item.name, item.path) == (upstream_file.name, upstream_file.name)
        assert item.sha256 == upstream_file.sha256 and item.size == upstream_file.size

    # One verification per tree: every file's signature, by the trusted key.
    (check,) = signatures(version, tree)
    assert (check.kind, check.key) == (SIGNATURE_KIND, signer.fingerprint.upper())
    assert (check.signed_digest, check.reference) == (tree.digest, built.stream_url)

    # Each file served byte for byte, its upstream .sig beside it (coreos-installer's
    # <image_url>.sig), and no .treeinfo for a CoreOS tree.
    base = kickstart_distribution_factory(repository).base_url
    for upstream_file in expected.values():
        assert _served(base, tree, upstream_file.name).content == upstream_file.data
        sig = _served(base, tree, upstream_file.name + ".sig")
        assert sig.status_code == 200 and sig.content == upstream_file.signature
    assert _served(base, tree, ".treeinfo").status_code == 404

    # The stream's release history is content of the version, one per stream.
    (index,) = kickstart_bindings.ContentReleaseIndexesApi.list(repository_version=version).results
    assert index.stream == "stable"
    assert [release["version"] for release in index.record["releases"]] == [OLD, NEW]


@pytest.mark.parametrize("hostile", ["wrong_key", "corrupt", "missing_signature"])
def test_what_does_not_verify_fails_naming_the_file_and_changes_nothing(
    hostile,
    upstream,
    stranger,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    fails_and_changes_nothing,
):
    built = upstream()
    remote = kickstart_coreos_remote_factory(
        built.stream_url, signature_keys=built.public_key, signature_policy="required"
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    built.add_release(NEWER)
    if hostile == "wrong_key":
        changed = built.sign_with(stranger, kind="rootfs", version=NEWER)
        expected = [changed.name, "does not verify"]
    elif hostile == "corrupt":
        changed = built.corrupt(kind="initramfs", version=NEWER)
        expected = [changed.name, changed.sha256]
    else:
        changed = built.drop_signature(kind="kernel", version=NEWER)
        expected = [changed.name, "required"]
    message = fails_and_changes_nothing(repository, remote, *expected)
    assert NEWER in message


@pytest.mark.parametrize("name", ["boot.ipxe", ".treeinfo", "grub.cfg", "BOOT.IPXE"])
def test_a_file_named_like_a_generated_document_fails_naming_both_and_changes_nothing(
    name,
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    fails_and_changes_nothing,
):
    """The document would be served in its place and the boot config would point at itself."""
    built = upstream()
    remote = kickstart_coreos_remote_factory(built.stream_url, architectures=["x86_64"])
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    built.add_release(NEWER)
    built.rename(name, kind="kernel", version=NEWER)
    message = fails_and_changes_nothing(
        repository, remote, f"tree {NEWER}/x86_64", f"file {name} would shadow the generated"
    )
    assert "boot.ipxe" in message or ".treeinfo" in message or "grub.cfg" in message


def test_a_file_at_another_files_signature_path_fails_and_changes_nothing(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    fails_and_changes_nothing,
):
    """coreos-installer reads <file>.sig as the file's signature: nothing else may be there."""
    built = upstream(flavor="rhcos", disk=True)
    remote = kickstart_coreos_remote_factory(
        built.stream_url, architectures=["x86_64"], extras=["disk"]
    )
    kernel = built.file("kernel", NEW)
    built.rename(kernel.name + ".sig", kind="disk", version=NEW)
    fails_and_changes_nothing(
        kickstart_repository_factory(),
        remote,
        f"file {kernel.name}.sig would be served as the signature of {kernel.name}",
    )


def test_if_present_accepts_an_unsigned_file_and_none_serves_what_upstream_signs(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tree_map,
    signatures,
):
    built = upstream()
    dropped = built.drop_signature(kind="kernel", version=NEW)
    remote = kickstart_coreos_remote_factory(
        built.stream_url,
        architectures=["x86_64"],
        signature_keys=built.public_key,
        signature_policy="if_present",
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    version = latest_version(repository)
    tree = tree_map(version)[(NEW, "x86_64")]
    assert signatures(version, tree) == []  # nothing vouches for a tree with an unsigned file
    assert any("if_present" in warning for warning in tree.warnings)
    base = kickstart_distribution_factory(repository).base_url
    # No .sig upstream, none served: a 404 (coreos-installer reads it as "unsigned").
    assert _served(base, tree, dropped.name + ".sig").status_code == 404
    assert _served(base, tree, dropped.name).content == dropped.data


def test_a_newer_release_is_a_new_version_the_aliases_follow_it_and_the_old_version_stays(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    kickstart_bindings,
):
    built = upstream()
    remote = kickstart_coreos_remote_factory(built.stream_url, architectures=["x86_64"])
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    first = latest_version(repository)
    pinned = kickstart_distribution_factory(repository_version=first)
    moving = kickstart_distribution_factory(repository)
    kernel = built.file("kernel", NEW)
    alias = f"{moving.base_url}coreos/stable/x86_64/"

    followed = requests.get(alias + kernel.name, timeout=60)
    assert followed.history and followed.history[0].status_code == 302
    assert followed.url == f"{moving.base_url}{NEW}/x86_64/{kernel.name}"
    assert followed.content == kernel.data

    built.add_release(NEWER)
    kickstart_sync(repository, remote)
    assert latest_version(repository) != first
    newer_kernel = built.file("kernel", NEWER)
    moved = requests.get(alias + newer_kernel.name, timeout=60)
    assert moved.url == f"{moving.base_url}{NEWER}/x86_64/{newer_kernel.name}"
    assert moved.content == newer_kernel.data
    # The alias's boot config names the release's own URLs: one boot never mixes releases.
    ipxe = requests.get(alias + "boot.ipxe", timeout=60).text
    assert f"{moving.base_url}{NEWER}/x86_64/{newer_kernel.name}" in ipxe
    rootfs = built.file("rootfs", NEWER).name
    assert f"coreos.live.rootfs_url={moving.base_url}{NEWER}/x86_64/{rootfs}" in ipxe
    # The version the pinned distribution serves still has the old release only.
    old = requests.get(f"{pinned.base_url}coreos/stable/x86_64/{kernel.name}", timeout=60)
    assert old.content == kernel.data
    assert requests.get(f"{pinned.base_url}{NEWER}/x86_64/boot.ipxe", timeout=60).status_code == 404
    # An alias of a stream or arch the version does not hold is a 404.
    assert (
        requests.get(f"{moving.base_url}coreos/next/x86_64/boot.ipxe", timeout=60).status_code
        == 404
    )


def test_live_and_install_boot_configs(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    built = upstream(disk=True)
    remote = kickstart_coreos_remote_factory(
        built.stream_url, architectures=["x86_64"], extras=["disk"]
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    ignition = "http://config.example/fcos.ign"
    live = kickstart_distribution_factory(repository, ignition_url=ignition)
    install = kickstart_distribution_factory(
        repository, coreos_boot="install", install_device="/dev/vda", ignition_url=ignition
    )
    files = built.files(NEW)
    tree_url = f"{live.base_url}{NEW}/x86_64/"
    ipxe = requests.get(tree_url + "boot.ipxe", timeout=60).text
    assert (
        f"coreos.live.rootfs_url={tree_url}{files['rootfs'].name} ignition.firstboot "
        f"ignition.platform.id=metal ignition.config.url={ignition}"
    ) in ipxe
    assert "coreos.inst" not in ipxe

    tree_url = f"{install.base_url}{NEW}/x86_64/"
    for name in ("boot.ipxe", "grub.cfg"):
        text = requests.get(tree_url + name, timeout=60).text
        assert (
            f"coreos.live.rootfs_url={tree_url}{files['rootfs'].name} "
            f"coreos.inst.install_dev=/dev/vda coreos.inst.image_url={tree_url}"
            f"{files['disk'].name} coreos.inst.ignition_url={ignition}"
        ) in text, name
        assert "coreos.inst.insecure" not in text  # the disk's .sig is served beside it
        assert "ignition.firstboot" not in text


def test_an_unsigned_rhcos_stream_installs_insecure_and_cannot_be_required(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    fails_and_changes_nothing,
    tree_map,
    latest_version,
):
    built = upstream(flavor="rhcos", disk=True)
    required = kickstart_coreos_remote_factory(
        built.stream_url,
        architectures=["x86_64"],
        signature_keys=built.public_key,
        signature_policy="required",
    )
    repository = kickstart_repository_factory()
    message = fails_and_changes_nothing(repository, required, "required", f"{NEW}/x86_64")
    # Files are checked concurrently: whichever is refused first is the one named.
    assert any(item.name in message for item in built.files(NEW).values()), message

    plain = kickstart_coreos_remote_factory(
        built.stream_url, architectures=["x86_64"], extras=["disk"]
    )
    kickstart_sync(repository, plain)
    tree = tree_map(latest_version(repository))[(NEW, "x86_64")]
    assert not [item for item in tree.files if item.role == "signature"]
    (disk,) = [item for item in tree.files if item.role == "disk"]
    assert disk.name.endswith(".raw.gz")
    install = kickstart_distribution_factory(
        repository, coreos_boot="install", install_device="/dev/sda"
    )
    ipxe = requests.get(f"{install.base_url}{NEW}/x86_64/boot.ipxe", timeout=60).text
    assert f"coreos.inst.image_url={install.base_url}{NEW}/x86_64/{disk.name}" in ipxe
    assert "coreos.inst.insecure" in ipxe  # nothing for coreos-installer to check


def test_on_demand_learns_sizes_and_checks_the_first_fetch(
    upstream,
    artifacts_with,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tree_map,
):
    built = upstream()
    remote = kickstart_coreos_remote_factory(
        built.stream_url, architectures=["x86_64"], policy="on_demand"
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    rootfs = built.file("rootfs", NEW)
    assert artifacts_with(rootfs.data) == 0  # only its size was asked (HEAD)
    tree = tree_map(latest_version(repository))[(NEW, "x86_64")]
    (item,) = [item for item in tree.files if item.role == "rootfs"]
    assert item.size == rootfs.size
    base = kickstart_distribution_factory(repository).base_url
    assert _served(base, tree, rootfs.name).content == rootfs.data
    # A file upstream changed after the sync is refused on its first fetch.
    changed = built.corrupt(kind="kernel", version=NEW)
    response = None
    try:
        response = _served(base, tree, changed.name)
        assert response.content != changed.served_bytes
    except requests.exceptions.ChunkedEncodingError:
        pass  # the content app cut the stream at the mismatch


@pytest.mark.parametrize("policy", ["on_demand", "streamed"])
def test_bytes_that_are_not_their_sha256_are_never_served_whole(
    policy,
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tree_map,
):
    """pulpcore checks nothing under ``streamed``: the plugin's downloader checks the bytes as
    they pass to the client, so a changed file ends in a cut connection, never a clean 200."""
    built = upstream()
    remote = kickstart_coreos_remote_factory(
        built.stream_url, architectures=["x86_64"], policy=policy
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    tree = tree_map(latest_version(repository))[(NEW, "x86_64")]
    base = kickstart_distribution_factory(repository).base_url
    changed = built.corrupt(kind="kernel", version=NEW)
    for attempt in range(2):  # streamed: every request is checked again
        try:
            response = _served(base, tree, changed.name)
        except requests.exceptions.ChunkedEncodingError:
            continue  # the content app cut the stream at the mismatch
        assert response.content != changed.served_bytes, (attempt, response.status_code)


def test_a_command_line_longer_than_linux_keeps_is_explained_and_refused_at_the_api(
    upstream,
    kickstart_bindings,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    monitor_task,
):
    """Linux keeps 2,048 bytes of a command line: a tree whose URLs and the distribution's
    arguments pass that gets no boot configs and trees.json says why; a change of the
    distribution that would make a served tree's line too long is a 400 naming the tree."""
    built = upstream()
    for kind in ("rootfs", "initramfs"):
        built.rename(kind[0] * 200 + f".{kind}", kind=kind, version=NEW)
    remote = kickstart_coreos_remote_factory(built.stream_url, architectures=["x86_64"])
    repository = kickstart_repository_factory()
    # Created while the repository serves nothing: nothing to measure yet.
    distribution = kickstart_distribution_factory(repository, kernel_args="k" * 1530)
    kickstart_sync(repository, remote)

    trees = requests.get(distribution.base_url + "trees.json", timeout=60).json()["trees"]
    (tree,) = [t for t in trees if (t["version"], t["arch"]) == (NEW, "x86_64")]
    assert tree["boot"] == {}
    assert "would be" in tree["boot_problem"] and "Linux keeps 2048" in tree["boot_problem"]
    ipxe = requests.get(f"{distribution.base_url}{NEW}/x86_64/boot.ipxe", timeout=60)
    assert ipxe.status_code == 404

    api = kickstart_bindings.DistributionsKickstartApi
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        api.partial_update(distribution.pulp_href, {"kernel_args": "k" * 1531})
    assert raised.value.status == 400
    errors = json.loads(raised.value.body)
    assert f"{NEW}/x86_64 would be" in errors["kernel_args"][0], errors

    monitor_task(api.partial_update(distribution.pulp_href, {"kernel_args": "quiet"}).task)
    trees = requests.get(distribution.base_url + "trees.json", timeout=60).json()["trees"]
    (tree,) = [t for t in trees if (t["version"], t["arch"]) == (NEW, "x86_64")]
    assert tree["boot_problem"] is None and tree["boot"]
    ipxe = requests.get(f"{distribution.base_url}{NEW}/x86_64/boot.ipxe", timeout=60)
    assert ipxe.status_code == 200 and " quiet" in ipxe.text


def test_on_demand_files_on_a_redirect_origin_are_sized_there_and_fetched_there(
    upstream,
    kickstart_tree_server_factory,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    tree_map,
):
    """RHCOS's files live on another origin than its document: with that origin in
    redirect_origins, the HEAD that learns a size is pinned like the fetch it stands for."""
    built = upstream(flavor="rhcos")
    mirror = kickstart_tree_server_factory(built.root)
    rootfs = built.relocate(mirror.url, kind="rootfs", version=NEW)
    fields = {"architectures": ["x86_64"], "policy": "on_demand"}
    refused = kickstart_coreos_remote_factory(built.stream_url, **fields)
    repository = kickstart_repository_factory()
    task = kickstart_sync(repository, refused, expect_failure=True)
    assert "redirect_origins" in task.error["description"], task.error
    allowed = kickstart_coreos_remote_factory(
        built.stream_url, redirect_origins=[mirror.url.rstrip("/")], **fields
    )
    kickstart_sync(repository, allowed)
    tree = tree_map(latest_version(repository))[(NEW, "x86_64")]
    (item,) = [item for item in tree.files if item.role == "rootfs"]
    assert item.size == rootfs.size
    base = kickstart_distribution_factory(repository).base_url
    assert _served(base, tree, rootfs.name).content == rootfs.data


@pytest.mark.parametrize(
    "fields,field,reason",
    [
        (
            {"signature_policy": "required", "policy": "on_demand"},
            "signature_policy",
            "needs policy 'immediate'",
        ),
        (
            {"release_index_url": "http://elsewhere.example/releases.json"},
            "release_index_url",
            "origin",
        ),
        ({"updates_url": "{base}/updates/stable.json"}, "updates_url", "release_index_url"),
        ({"extras": ["qcow2"]}, "extras", "qcow2"),
        ({"url": "http://h.example/s.json?token=1"}, "url", "query"),
        ({"signature_policy": "required"}, "signature_keys", "needs at least one key"),
    ],
)
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_coreos_remote_validation(kickstart_bindings, signer, fields, field, reason):
    body = {"name": unique("coreos"), "url": "http://h.example/streams/stable.json"}
    for name, value in fields.items():
        body[name] = (
            value.replace("{base}", "http://h.example") if isinstance(value, str) else value
        )
    if fields.get("signature_policy") == "required" and field != "signature_keys":
        body["signature_keys"] = signer.public_armored
    # model_construct skips the client's own checks: the server judges.
    remote = kickstart_bindings.KickstartKickstartCoreosRemote.model_construct(**body)
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.RemotesCoreosApi.create(remote)
    assert raised.value.status == 400
    errors = json.loads(raised.value.body)
    assert field in errors, errors
    assert reason in str(errors[field]), errors


def test_the_update_graph_is_served_from_the_version_s_release_index(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    built = upstream()
    remote = kickstart_coreos_remote_factory(
        built.stream_url,
        architectures=["x86_64"],
        release_index_url=built.release_index_url,
        updates_url=built.updates_url,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    site = "mirror.example:5000/fedora/fedora-coreos"
    upstream_names = kickstart_distribution_factory(repository)
    renamed = kickstart_distribution_factory(repository, graph_payload_repository=site)
    before = kickstart_distribution_factory()  # serves nothing yet
    graph_url = upstream_names.base_url + "v1/graph"

    # Zincati's query (it also sends os_version, node_uuid, ...): an OCI graph.
    query = {"basearch": "x86_64", "stream": "stable", "oci": "true", "node_uuid": "0" * 32}
    response = requests.get(graph_url, params=query, timeout=60)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    graph = response.json()
    # OLD has a commit only, so the OCI graph has NEW alone; the checksum graph has OLD
    # (the barrier) and NEW, with the edge OLD -> barrier only (NEW is neither).
    assert [node["version"] for node in graph["nodes"]] == [NEW]
    (node,) = graph["nodes"]
    assert node["payload"] == f"{coreos.OCI_REPOSITORY}@sha256:{'e' * 64}"
    assert node["metadata"]["org.fedoraproject.coreos.scheme"] == "oci"
    assert node["metadata"]["org.fedoraproject.coreos.releases.age_index"] == "1"
    checksum = requests.get(graph_url, params={**query, "oci": "false"}, timeout=60).json()
    assert [n["version"] for n in checksum["nodes"]] == [OLD, NEW]
    assert [n["payload"] for n in checksum["nodes"]] == ["c" * 64, "d" * 64]
    assert checksum["nodes"][0]["metadata"]["org.fedoraproject.coreos.updates.barrier"] == "true"
    assert checksum["edges"] == []  # nothing precedes the barrier; NEW is no rollout

    # The site's registry instead of upstream's names, when the admin asks.
    renamed_graph = requests.get(renamed.base_url + "v1/graph", params=query, timeout=60).json()
    assert renamed_graph["nodes"][0]["payload"] == f"{site}@sha256:{'e' * 64}"

    # Cincinnati's error shape: a bad query is a 400, an unknown stream a 404.
    bad = requests.get(graph_url, params={"basearch": "x86_64"}, timeout=60)
    assert bad.status_code == 400 and set(bad.json()) == {"kind", "value"}
    # Which of two values would count depends on the reader: neither does.
    twice = requests.get(
        graph_url,
        params=[("basearch", "x86_64"), ("stream", "stable"), ("stream", "next")],
        timeout=60,
    )
    assert twice.status_code == 400 and "stream is given more than once" in twice.json()["value"]
    unknown = requests.get(graph_url, params={**query, "stream": "next"}, timeout=60)
    assert unknown.status_code == 404 and set(unknown.json()) == {"kind", "value"}
    empty = requests.get(before.base_url + "v1/graph", params=query, timeout=60)
    assert empty.status_code == 404


def test_a_replica_serves_the_upstream_pulps_update_graph(
    upstream,
    kickstart_coreos_remote_factory,
    kickstart_pulp_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
):
    """trees.json carries the release indexes of the served version: a replica (here a Pulp
    remote at a distribution of this same Pulp) stores the same index, so its graph is the
    upstream's. Two Pulps replicating are tests/functional/test_replication.py's."""
    built = upstream()
    coreos_remote = kickstart_coreos_remote_factory(
        built.stream_url,
        architectures=["x86_64"],
        release_index_url=built.release_index_url,
        updates_url=built.updates_url,
    )
    origin = kickstart_repository_factory()
    kickstart_sync(origin, coreos_remote)
    served = kickstart_distribution_factory(origin)
    listed = requests.get(served.base_url + "trees.json", timeout=60).json()["release_indexes"]
    assert [index["stream"] for index in listed] == ["stable"]

    replica = kickstart_repository_factory()
    kickstart_sync(replica, kickstart_pulp_remote_factory(served.base_url))
    replicated = kickstart_distribution_factory(replica)
    query = {"basearch": "x86_64", "stream": "stable", "rollout_wariness": "0"}
    graphs = [
        requests.get(distribution.base_url + "v1/graph", params=query, timeout=60)
        for distribution in (served, replicated)
    ]
    assert [graph.status_code for graph in graphs] == [200, 200]
    assert graphs[0].json() == graphs[1].json()
    assert [node["version"] for node in graphs[1].json()["nodes"]] == [OLD, NEW]
    # The same unit: the replica's version holds the index the upstream's does.
    assert (
        requests.get(replicated.base_url + "trees.json", timeout=60).json()["release_indexes"]
        == listed
    )


def test_another_plugins_file_at_v1_graph_is_served_as_pulpcore_serves_it(
    bindings_cfg,
    pulp_api_v3_url,
    monitor_task,
    tmp_path,
    kickstart_distribution_factory,
    kickstart_repository_factory,
):
    """The graph route answers for kickstart distributions only: a pulp_file distribution's
    file at <base>/v1/graph (or a path below no distribution) is pulpcore's to serve."""
    auth = (bindings_cfg.username, bindings_cfg.password)
    created = []

    def post(path, **kwargs):
        response = requests.post(f"{pulp_api_v3_url}{path}", auth=auth, timeout=60, **kwargs)
        assert response.status_code in (201, 202), response.text
        return response.json()

    try:
        repository = post("repositories/file/file/", json={"name": unique("file")})
        created.append(repository["pulp_href"])
        body = b"not a graph: " + unique("bytes").encode()
        monitor_task(
            post(
                "content/file/files/",
                data={"relative_path": "v1/graph", "repository": repository["pulp_href"]},
                files={"file": ("graph", body)},
            )["task"]
        )
        # pulp_file serves publications: publish the version holding the file.
        monitor_task(
            post("publications/file/file/", json={"repository": repository["pulp_href"]})["task"]
        )
        base_path = unique("files")
        task = monitor_task(
            post(
                "distributions/file/file/",
                json={
                    "name": base_path,
                    "base_path": base_path,
                    "repository": repository["pulp_href"],
                },
            )["task"]
        )
        created.insert(0, task.created_resources[0])
        kickstart = kickstart_distribution_factory(kickstart_repository_factory())
        file_url = kickstart.base_url.rstrip("/").rsplit("/", 1)[0] + f"/{base_path}/v1/graph"
        served = requests.get(file_url, timeout=60)
        assert served.status_code == 200 and served.content == body
        nowhere = file_url.replace(base_path, unique("nowhere"))
        assert requests.get(nowhere, timeout=60).status_code == 404
        # A kickstart distribution's graph is still the graph route's (no index: Cincinnati's 404).
        graph = requests.get(
            kickstart.base_url + "v1/graph",
            params={"basearch": "x86_64", "stream": "stable"},
            timeout=60,
        )
        assert graph.status_code == 404 and graph.json()["kind"] == "unknown_stream"
    finally:
        for href in created:
            deleted = requests.delete(f"{bindings_cfg.host}{href}", auth=auth, timeout=60)
            assert deleted.status_code in (202, 204), deleted.text


def test_a_pulp_export_carries_the_trees_and_the_release_index_to_an_import(
    upstream,
    signer,
    kickstart_coreos_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """A disconnected site's graph and trees are what the connected side synced: a Pulp
    export of a CoreOS repository, imported into another repository (one Pulp here; two
    Pulps are tests/functional/test_pulp_export_import.py's), serves the same graph, the
    same files and their signatures."""
    import shutil

    from tests.functional.test_pulp_export_import import EXPORTS, run_import
    from tests.support.pulp import PulpAPI

    stack = PulpAPI()
    built = upstream()
    remote = kickstart_coreos_remote_factory(
        built.stream_url,
        architectures=["x86_64"],
        signature_keys=built.public_key,
        signature_policy="required",
        release_index_url=built.release_index_url,
        updates_url=built.updates_url,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    source = stack.get(repository.pulp_href)
    path = EXPORTS / unique("coreos-export")
    exporter = stack.create(
        "exporters/core/pulp/",
        {"name": unique("exporter"), "path": str(path), "repositories": [source["pulp_href"]]},
    )
    target = kickstart_repository_factory()
    importer = stack.create(
        "importers/core/pulp/",
        {"name": unique("importer"), "repo_mapping": {source["name"]: target.name}},
    )
    try:
        task = stack.wait(stack.post(f"{exporter['pulp_href']}exports/", {})["task"])
        toc = stack.get(task["created_resources"][0])["toc_info"]["file"]
        group = run_import(stack, importer, toc=toc)
        assert group["failed"] == 0
    finally:
        stack.delete(importer["pulp_href"])
        stack.delete(exporter["pulp_href"])
        shutil.rmtree(path, ignore_errors=True)
    version = stack.get(target.pulp_href)["latest_version_href"]
    (index,) = stack.list("content/kickstart/release_indexes/", repository_version=version)
    (original,) = stack.list(
        "content/kickstart/release_indexes/", repository_version=source["latest_version_href"]
    )
    assert (index["identity"], index["record"]) == (original["identity"], original["record"])
    (tree,) = stack.trees(version)
    assert (tree["kind"], tree["made_here"]) == ("coreos", False)
    query = {"basearch": "x86_64", "stream": "stable", "oci": "false"}
    here = kickstart_distribution_factory(repository).base_url
    there = kickstart_distribution_factory(target).base_url
    graph = requests.get(here + "v1/graph", params=query, timeout=60).json()
    assert requests.get(there + "v1/graph", params=query, timeout=60).json() == graph
    kernel = built.file("kernel", NEW)
    assert requests.get(f"{there}{NEW}/x86_64/{kernel.name}.sig", timeout=60).content == (
        kernel.signature
    )
