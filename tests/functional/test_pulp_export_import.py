"""Pulp export/import (Inter-Server Sync, issue 20 §1): the stack exports, a second Pulp imports.

The stack syncs a repository of three signed trees: release 42 for amd64 and arm64 from the
test registry (cosign signatures on the index and on the amd64 manifest, policy
'required') and release 41 from a real dnf tree (rpmsign-signed RPMs, a keyring
check); a fourth tree, 40/x86_64, is uploaded into it (POST content/kickstart/trees/).
pulpcore's PulpExporter writes it in chunks below ``.run/exports`` (the stack's
ALLOWED_EXPORT_PATHS and ALLOWED_IMPORT_PATHS, inherited by the second Pulp). The second
Pulp (tests/support/second_pulp.py: its own database, storage and ports) imports it and
must serve the same trees byte for byte, with the exporter's signature records carried
as ``checked_here`` false until its own ``verify_signatures`` checks the trees again.

The tests run in this order, on one second Pulp: broken archives first (nothing may
change, and nothing is imported yet), then the import and what follows from it. Serial:
the module starts a whole Pulp (as test_domains.py does), and its tests share it.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from uuid import uuid4

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import dnf
from pulp_kickstart_oci.testing.oci import Pusher, cosign_payload
from tests.functional.test_upload import ROLES, tree_files
from tests.support import database, signing
from tests.support.pulp import PulpAPI
from tests.support.second_pulp import SecondPulp
from tests.support.uploads import upload_tree

pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / ".run" / "exports" / "pulp"
PULP_CLI = str(Path(sys.executable).with_name("pulp"))
TREE_FILE = "pulp_kickstart_oci.app.modelresource.KickstartTreeResource.json"
TAG_FILE = "pulp_kickstart_oci.app.modelresource.KickstartTagResource.json"
SIGNATURE_FILE = "pulp_kickstart_oci.app.modelresource.KickstartSignatureResource.json"
CA_FILE = "pulpcore.app.modelresource.ContentArtifactResource.json"
ARTIFACT_FILE = "pulpcore.app.modelresource.ArtifactResource.json"
OTHER_DIGESTS = ("md5", "sha1", "sha224", "sha384", "sha512")
# What a tree is, as the API shows it: everything but where this Pulp keeps it.
TREE_FIELDS = (
    "version",
    "arch",
    "oci_arch",
    "kind",
    "digest",
    "identity",
    "source",
    "annotations",
    "files",
    "warnings",
)
RECORD_FIELDS = ("kind", "key", "signed_digest", "reference", "tlog_checked")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def tree_identity(version, arch, digest, files):
    """models.tree_identity's definition, computed apart from the plugin (an archive forger's
    view): the import recomputes it and refuses a tree whose identity is not this."""
    canonical = json.dumps(
        {
            "version": version,
            "arch": arch,
            "digest": digest,
            "files": sorted([item["path"], item["sha256"]] for item in files),
        },
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def importer_into_new_repository(api, source, name):
    """A new kickstart repository and an importer mapping the exported repository to it."""
    target = api.create("repositories/kickstart/kickstart/", {"name": unique(name)})
    importer = api.create(
        "importers/core/pulp/",
        {"name": unique("importer"), "repo_mapping": {source.repository["name"]: target["name"]}},
    )
    return target, importer


def group_errors(api, group):
    return [
        api.get(task["pulp_href"])["error"]["description"]
        for task in group["tasks"]
        if task["state"] == "failed"
    ]


def run_import(api, importer, *, toc=None, path=None, create_repositories=False):
    """Start an import with ``importer`` and wait for its task group; the group."""
    body = {"toc": toc} if toc else {"path": path}
    if create_repositories:
        body["create_repositories"] = True
    started = api.post(f"{importer['pulp_href']}imports/", body)
    return api.wait_group(started["task_group"], timeout=300)


def footprint(db):
    """What an import could change in a Pulp's database: versions, kickstart content, its
    ContentArtifacts, artifacts and repositories."""
    return json.loads(
        database.psql(
            """SELECT json_build_object(
              'versions', (SELECT json_agg(pulp_id ORDER BY pulp_id) FROM core_repositoryversion),
              'kickstart', (SELECT json_agg(pulp_id ORDER BY pulp_id) FROM core_content
                            WHERE pulp_type LIKE 'kickstart.%'),
              'content_artifacts', (SELECT count(*) FROM core_contentartifact),
              'artifacts', (SELECT json_agg(sha256 ORDER BY sha256) FROM core_artifact),
              'repositories', (SELECT json_agg(name ORDER BY name) FROM core_repository))""",
            database=db,
        )
    )


def tree_of(api, version, release, arch):
    (tree,) = [t for t in api.trees(version) if (t["version"], t["arch"]) == (release, arch)]
    return tree


def tree_facts(trees):
    """{identity: the tree's facts} of API tree dicts."""
    return {tree["identity"]: {name: tree[name] for name in TREE_FIELDS} for tree in trees}


def tags_of(api, version):
    trees = {tree["pulp_href"]: tree["identity"] for tree in api.trees(version)}
    found = api.list("content/kickstart/tags/", repository_version=version)
    return {(tag["name"], tag["arch"], trees[tag["tree"]]) for tag in found}


def records_of(api, version):
    """{(tree identity, kind, key, signed digest, reference, tlog checked): checked_here}."""
    trees = {tree["pulp_href"]: tree["identity"] for tree in api.trees(version)}
    found = api.list("content/kickstart/signatures/", repository_version=version)
    records = {}
    for unit in found:
        key = (trees[unit["tree"]], *(unit[name] for name in RECORD_FIELDS))
        records.setdefault(key, set()).add(unit["checked_here"])
    return records


def served_files(base_url, trees):
    """{(release/arch, path): bytes} of every file of ``trees`` as a distribution serves it."""
    served = {}
    for tree in trees:
        root = f"{tree['version']}/{tree['arch']}"
        for item in tree["files"]:
            response = requests.get(f"{base_url}{root}/{item['path']}", timeout=60)
            assert response.status_code == 200, (root, item["path"], response.status_code)
            served[(root, item["path"])] = response.content
    return served


def chunks_of(toc_path):
    toc = json.loads(Path(toc_path).read_text())
    return [Path(toc_path).parent / name for name in sorted(toc["files"])]


def copy_export(toc_path, destination):
    """A copy of an export (its chunks and table of contents) in ``destination``."""
    for item in [Path(toc_path), *chunks_of(toc_path)]:
        shutil.copy(item, destination / item.name)
    return destination / Path(toc_path).name


def reassembled(toc_path, destination):
    """The export's chunks as one plain tar file in ``destination`` (as an unchunked export)."""
    tar_path = destination / "export.tar"
    with open(tar_path, "wb") as whole:
        for chunk in chunks_of(toc_path):
            whole.write(chunk.read_bytes())
    return tar_path


def rewrite_tar(tar_path, change, added=None):
    """Rewrite the tar file's members: ``change(name, data)`` returns the new bytes;
    ``added``: {name: bytes} of members to add."""
    members = []
    with tarfile.open(tar_path) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else None
            members.append((member, data))
    with tarfile.open(tar_path, "w") as tar:
        for member, data in members:
            if data is None:
                tar.addfile(member)
                continue
            data = change(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        for name, data in (added or {}).items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def rewrite_rows(tar_path, file_name, change):
    """Rewrite the rows of one resource file of the archive: ``change(rows)`` edits them."""

    def _change(name, data):
        if not name.endswith(file_name):
            return data
        rows = json.loads(data)
        change(rows)
        return json.dumps(rows).encode()

    rewrite_tar(tar_path, _change)


def trees_without_all_files(db):
    """Kickstart trees of a Pulp's database holding fewer ContentArtifacts than files."""
    return database.psql(
        """SELECT count(*) FROM kickstart_kickstarttree t WHERE jsonb_array_length(t.files) >
           (SELECT count(*) FROM core_contentartifact ca WHERE ca.content_id = t.content_ptr_id)""",
        database=db,
    )


def registry_file(pusher, manifest_digest, title):
    """The bytes of the layer titled ``title`` of a manifest in the test registry."""
    base = f"{pusher.base}/v2/{pusher.name}"
    manifest = requests.get(
        f"{base}/manifests/{manifest_digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=60,
    ).json()
    (layer,) = [
        layer
        for layer in manifest["layers"]
        if layer.get("annotations", {}).get("org.opencontainers.image.title") == title
    ]
    return requests.get(f"{base}/blobs/{layer['digest']}", timeout=60).content


def cosign_sign(pusher, digest, key):
    reference = f"{pusher.base.split('://', 1)[1]}/{pusher.name}"
    payload = cosign_payload(reference, digest)
    pusher.cosign_signatures(digest, [(payload, signing.cosign_signature(key, payload), None)])


# -- the two Pulps and the exported repository --------------------------------------------


@pytest.fixture(scope="module")
def second():
    """The importing Pulp. Its settings are the stack's (ALLOWED_IMPORT_PATHS: .run/exports)
    plus its own database, storage and ports."""
    with SecondPulp("impexp") as running:
        yield running


@pytest.fixture(scope="module")
def stack():
    return PulpAPI()


@pytest.fixture
def scratch():
    """``scratch(name)``: a new directory below .run/exports (inside ALLOWED_IMPORT_PATHS),
    removed after the test."""
    made = []

    def _make(name):
        made.append(EXPORTS / unique(name))
        made[-1].mkdir(parents=True)
        return made[-1]

    yield _make
    for directory in made:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def gpg_key(kickstart_workdir):
    key = dnf.make_key("Import Export Signer", kickstart_workdir)
    yield key
    key.close()


@pytest.fixture(scope="module")
def dnf_upstream(kickstart_workdir, gpg_key):
    """A signed dnf tree (release 41) served over HTTP, for the stack and the second Pulp."""
    tree = dnf.fedora_tree(kickstart_workdir, release="41", key=gpg_key, salt=unique("-impexp"))
    server = dnf.StaticServer(tree.root).__enter__()
    yield server
    server.__exit__(None, None, None)


class Source:
    """The stack's exported repository and what it came from."""

    def __init__(self, **facts):
        self.__dict__.update(facts)


@pytest.fixture(scope="class")
def source(
    stack,
    kickstart_registry,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    dnf_upstream,
    gpg_key,
):
    """Release 42 (amd64, arm64; cosign on the index and on amd64) and 41 (dnf) on the stack,
    verified under 'required', and an uploaded 40/x86_64, exported in chunks of 64 KiB."""
    pusher = Pusher(kickstart_registry.url, unique("fedora/impexp"))
    published = kickstart_publish_release(pusher, "42")
    key = signing.generate_key("p256")
    cosign_sign(pusher, published["index"], key)
    cosign_sign(pusher, published["manifests"]["amd64"], key)
    oci = kickstart_oci_remote_factory(
        pusher, signature_keys=signing.public_pem(key), signature_policy="required"
    )
    dnf_remote = kickstart_dnf_remote_factory(
        dnf_upstream, signature_keys=gpg_key.public_armored, signature_policy="required"
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, oci)
    kickstart_sync(repository, dnf_remote)
    uploaded_files = tree_files(unique("impexp-upload"))
    uploaded = upload_tree(stack, uploaded_files, "40", "x86_64", repository=repository.pulp_href)
    repository = stack.get(repository.pulp_href)
    exporter = stack.create(
        "exporters/core/pulp/",
        {
            "name": unique("exporter"),
            "path": str(EXPORTS / unique("export")),
            "repositories": [repository["pulp_href"]],
        },
    )
    task = stack.wait(
        stack.post(f"{exporter['pulp_href']}exports/", {"chunk_size": "64KB"})["task"]
    )
    export = stack.get(task["created_resources"][0])
    yield Source(
        pusher=pusher,
        published=published,
        key=key,
        repository=repository,
        version=repository["latest_version_href"],
        exporter=exporter,
        toc=export["toc_info"]["file"],
        uploaded=uploaded,
        uploaded_files=uploaded_files,
    )
    stack.delete(exporter["pulp_href"])
    shutil.rmtree(exporter["path"], ignore_errors=True)


@pytest.fixture(scope="class")
def imported(second, source):
    """The export imported on the second Pulp (create_repositories): its repository."""
    api = second.api()
    importer = api.create("importers/core/pulp/", {"name": unique("importer")})
    group = run_import(api, importer, toc=source.toc, create_repositories=True)
    assert group["failed"] == 0, group_errors(api, group)
    (repository,) = api.list("repositories/kickstart/kickstart/", name=source.repository["name"])
    return repository


class TestPulpExportImport:
    def test_a_corrupted_or_truncated_chunk_fails_the_import_and_changes_nothing(
        self, second, source, scratch
    ):
        chunks = chunks_of(source.toc)
        assert len(chunks) >= 3, chunks  # 64 KiB chunks of three trees
        api = second.api()
        importer = api.create("importers/core/pulp/", {"name": unique("importer")})
        before = footprint(second.database)

        corrupted = copy_export(source.toc, scratch("corrupted"))
        victim = chunks_of(corrupted)[1]
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
        truncated = copy_export(source.toc, scratch("truncated"))
        short = chunks_of(truncated)[-1]
        short.write_bytes(short.read_bytes()[:-100])

        for toc, chunk in ((corrupted, victim), (truncated, short)):
            group = run_import(api, importer, toc=str(toc), create_repositories=True)
            (error,) = group_errors(api, group)
            assert "Import chunk hash mismatch" in error and chunk.name in error, error
            assert footprint(second.database) == before

    def test_an_archive_with_altered_bytes_is_refused_and_the_bytes_are_not_kept(
        self, second, source, stack, scratch
    ):
        """An archive whose CRCs match but whose kernel bytes were changed (imported by path,
        no table of contents): pulpcore copies artifacts without reading them; the plugin
        hashes what it stored before making a tree of it, refuses the tree naming the file,
        and removes the bytes, so no later sync or import takes them for the kernel."""
        tree = tree_of(stack, source.version, "42", "x86_64")
        kernel = next(f for f in tree["files"] if f["path"] == "images/pxeboot/vmlinuz")
        member = f"artifact/{kernel['sha256'][:2]}/{kernel['sha256'][2:]}"
        tar_path = reassembled(source.toc, scratch("altered"))

        def alter(name, data):
            return data[:-1] + bytes([data[-1] ^ 0xFF]) if name == member else data

        rewrite_tar(tar_path, alter)
        api = second.api()
        importer = api.create("importers/core/pulp/", {"name": unique("importer")})
        before = footprint(second.database)

        group = run_import(api, importer, path=str(tar_path), create_repositories=True)

        (error,) = group_errors(api, group)
        assert "images/pxeboot/vmlinuz" in error and kernel["sha256"] in error, error
        assert f"tree {tree['version']}/{tree['arch']}" in error, error
        assert "No repository version was created" in error, error
        after = footprint(second.database)
        for part in ("versions", "kickstart", "content_artifacts"):
            assert after[part] == before[part], part
        assert kernel["sha256"] not in after["artifacts"]

    def test_an_archive_cannot_plant_bytes_for_a_file_no_tree_of_it_names(
        self, second, source, scratch
    ):
        """pulpcore imports every artifact of an archive, named by content or not. An archive
        carrying, beside genuine trees, bytes under the sha256 of a kernel it does not hold
        would have a later sync or upload of that kernel serve the planted bytes: the import
        hashes every artifact it brought, fails naming the planted one, and deletes it; the
        real kernel uploaded later is served as it is (attack finding F1)."""
        genuine = tree_files(unique("planted"))
        kernel = genuine["images/pxeboot/vmlinuz"]
        planted = bytes(len(kernel))  # same size: only reading the bytes tells them apart
        digest = sha256(kernel)
        tar_path = reassembled(source.toc, scratch("planted"))

        def plant(rows):
            row = dict(rows[0])
            for name in OTHER_DIGESTS:
                if name in row:
                    row[name] = ""
            row.update(sha256=digest, size=len(planted), file=f"artifact/{digest[:2]}/{digest[2:]}")
            rows.append(row)

        rewrite_rows(tar_path, ARTIFACT_FILE, plant)
        rewrite_tar(
            tar_path, lambda name, data: data, {f"artifact/{digest[:2]}/{digest[2:]}": planted}
        )
        api = second.api()
        importer = api.create("importers/core/pulp/", {"name": unique("importer")})
        before = footprint(second.database)

        group = run_import(api, importer, path=str(tar_path), create_repositories=True)

        (error,) = group_errors(api, group)
        assert f"an artifact no tree of it names (sha256 {digest})" in error, error
        assert "they were not kept" in error, error
        after = footprint(second.database)
        for part in ("versions", "kickstart", "content_artifacts"):
            assert after[part] == before[part], part
        assert digest not in after["artifacts"]

        repository = api.create("repositories/kickstart/kickstart/", {"name": unique("real")})
        upload_tree(api, genuine, "39", "x86_64", repository=repository["pulp_href"])
        base_path = unique("real")
        api.create(
            "distributions/kickstart/kickstart/",
            {"name": base_path, "base_path": base_path, "repository": repository["pulp_href"]},
        )
        served = requests.get(
            f"{second.content}/pulp/content/{base_path}/39/x86_64/images/pxeboot/vmlinuz",
            timeout=60,
        )
        assert served.status_code == 200 and served.content == kernel

    def test_a_failed_import_leaves_no_tree_without_its_files(self, second, source, stack, scratch):
        """An archive whose ContentArtifact rows add a file to a tree fails when pulpcore links
        files, after the trees were stored: each tree was stored with its own files linked,
        so none is left without them for a later sync or import to take as stored (attack
        finding F4; the import below this test reuses these trees and serves every byte)."""
        tree = tree_of(stack, source.version, "42", "x86_64")
        tar_path = reassembled(source.toc, scratch("extra-file"))

        def add_file(rows):
            (kernel,) = [
                r for r in rows if r["relative_path"] == "42/x86_64/images/pxeboot/vmlinuz"
            ]
            rows.append({**kernel, "relative_path": "42/x86_64/extra/planted"})

        rewrite_rows(tar_path, CA_FILE, add_file)
        api = second.api()
        importer = api.create("importers/core/pulp/", {"name": unique("importer")})
        before = footprint(second.database)

        group = run_import(api, importer, path=str(tar_path), create_repositories=True)

        (error,) = group_errors(api, group)
        assert "42/x86_64/extra/planted is not a file of tree 42/x86_64" in error, error
        after = footprint(second.database)
        new_versions = set(after["versions"]) - set(before["versions"])
        numbers = database.psql(
            "SELECT coalesce(json_agg(number), '[]') FROM core_repositoryversion"
            f" WHERE pulp_id::text IN ({', '.join(repr(v) for v in new_versions) or 'NULL'})",
            database=second.database,
        )
        assert json.loads(numbers) in ([], [0])  # at most the new repository's empty version 0
        assert len(after["kickstart"]) > len(before["kickstart"])  # the trees were stored...
        assert trees_without_all_files(second.database) == "0"  # ...each with its files
        linked = database.psql(
            "SELECT count(*) FROM core_contentartifact ca JOIN kickstart_kickstarttree t"
            f" ON t.content_ptr_id = ca.content_id WHERE t.identity = '{tree['identity']}'",
            database=second.database,
        )
        assert linked == str(len(tree["files"]))

    def test_bytes_an_archive_without_kickstart_trees_planted_are_read_before_any_use(
        self, second, source, scratch, kickstart_registry, kickstart_publish_release
    ):
        """An archive whose kickstart repository holds no tree (so no kickstart row is read)
        still brings every artifact it carries. Planted bytes under the sha256 of a kernel
        are read back by whatever needs that kernel first: an upload here stores the
        uploaded bytes, and an OCI sync downloads the manifest's; both serve the real
        kernel (re-attack finding F1: the check is a mark every import artifact gets)."""
        uploaded = tree_files(unique("planted-upload"))
        pusher = Pusher(kickstart_registry.url, unique("fedora/planted"))
        published = kickstart_publish_release(pusher, "38")
        synced_kernel = registry_file(pusher, published["manifests"]["amd64"], "vmlinuz")
        kernels = {
            sha256(uploaded["images/pxeboot/vmlinuz"]): len(uploaded["images/pxeboot/vmlinuz"]),
            sha256(synced_kernel): len(synced_kernel),
        }
        tar_path = reassembled(source.toc, scratch("planted-empty"))
        planted = {f"artifact/{d[:2]}/{d[2:]}": bytes(size) for d, size in kernels.items()}

        def plant(rows):
            model = dict(rows[0])
            for digest, size in kernels.items():
                row = {
                    name: "" if name in OTHER_DIGESTS else value for name, value in model.items()
                }
                row.update(sha256=digest, size=size, file=f"artifact/{digest[:2]}/{digest[2:]}")
                rows.append(row)

        for name in (TREE_FILE, TAG_FILE, SIGNATURE_FILE, CA_FILE):
            rewrite_rows(tar_path, name, lambda rows: rows.clear())
        rewrite_rows(tar_path, ARTIFACT_FILE, plant)
        rewrite_tar(tar_path, lambda name, data: data, planted)
        api = second.api()
        target, importer = importer_into_new_repository(api, source, "empty")

        group = run_import(api, importer, path=str(tar_path))

        assert group["failed"] == 0, group_errors(api, group)
        assert set(kernels) <= set(footprint(second.database)["artifacts"])  # planted, unread

        repository = api.create("repositories/kickstart/kickstart/", {"name": unique("real")})
        upload_tree(api, uploaded, "39", "x86_64", repository=repository["pulp_href"])
        remote = api.create(
            "remotes/kickstart/oci/",
            {
                "name": unique("planted"),
                "url": pusher.base,
                "upstream_name": pusher.name,
                "architectures": ["amd64"],
            },
        )
        api.wait(
            api.post(f"{repository['pulp_href']}sync/", {"remote": remote["pulp_href"]})["task"]
        )
        base_path = unique("real")
        api.create(
            "distributions/kickstart/kickstart/",
            {"name": base_path, "base_path": base_path, "repository": repository["pulp_href"]},
        )
        root = f"{second.content}/pulp/content/{base_path}"
        for tree_root, kernel in (
            ("39/x86_64", uploaded["images/pxeboot/vmlinuz"]),
            ("38/x86_64", synced_kernel),
        ):
            served = requests.get(f"{root}/{tree_root}/images/pxeboot/vmlinuz", timeout=60)
            assert served.status_code == 200 and served.content == kernel, tree_root

    def test_a_carried_tree_never_stands_for_the_tree_this_pulp_makes(
        self, second, source, stack, scratch
    ):
        """An archive bringing the uploaded tree 40/x86_64 with its kernel and initrd roles
        swapped (same files, so the same identity): the carried tree is its own unit
        (``made_here`` false); the same files uploaded here make this Pulp's own unit, whose
        roles and boot configs are the layout's (re-attack finding F2; a replica's trees are
        carried the same way, F3)."""
        tar_path = reassembled(source.toc, scratch("roles"))
        kernel, initrd = "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"
        swap = {kernel: "initrd", initrd: "kernel"}

        def swap_roles(rows):
            for row in rows:
                if (row["version"], row["arch"]) == ("40", "x86_64"):
                    files = json.loads(row["files"])
                    for item in files:
                        item["role"] = swap.get(item["path"], item["role"])
                    row["files"] = json.dumps(files, separators=(",", ":"), sort_keys=True)

        rewrite_rows(tar_path, TREE_FILE, swap_roles)
        api = second.api()
        target, importer = importer_into_new_repository(api, source, "roles")
        group = run_import(api, importer, path=str(tar_path))
        assert group["failed"] == 0, group_errors(api, group)
        carried = tree_of(api, api.get(target["pulp_href"])["latest_version_href"], "40", "x86_64")
        assert carried["made_here"] is False
        assert carried["identity"] == source.uploaded["identity"]

        own = upload_tree(api, source.uploaded_files, "40", "x86_64")
        assert own["made_here"] is True and own["pulp_href"] != carried["pulp_href"]
        assert own["identity"] == carried["identity"]
        assert {item["path"]: item["role"] for item in own["files"]} == ROLES

    def test_an_import_serves_the_same_trees_byte_for_byte(
        self, second, source, imported, stack, kickstart_distribution_factory
    ):
        api = second.api()
        version = imported["latest_version_href"]
        assert version.endswith("/versions/1/")
        exported, carried = stack.trees(source.version), api.trees(version)
        assert len(exported) == 4
        assert tree_facts(carried) == tree_facts(exported)
        assert tags_of(api, version) == tags_of(stack, source.version)
        assert {"42", "42-amd64", "42-arm64"} <= {name for name, _, _ in tags_of(api, version)}
        # The exporter's verifications travel as its own: never this Pulp's.
        mine, theirs = records_of(stack, source.version), records_of(api, version)
        assert set(theirs) == set(mine) and len(mine) == 4  # cosign x3, rpm x1
        assert all(checked == {True} for checked in mine.values())
        assert all(checked == {False} for checked in theirs.values())
        # Sync bookkeeping stays behind.
        details = database.psql(
            "SELECT last_sync_details FROM kickstart_kickstartrepository r JOIN core_repository c"
            f" ON c.pulp_id = r.repository_ptr_id WHERE c.name = '{imported['name']}'",
            database=second.database,
        )
        assert json.loads(details) == {}

        # Served: every file, byte for byte, and the same trees.json facts.
        here = kickstart_distribution_factory(source.repository).base_url
        base_path = unique("imported")
        api.create(
            "distributions/kickstart/kickstart/",
            {"name": base_path, "base_path": base_path, "repository": imported["pulp_href"]},
        )
        there = f"{second.content}/pulp/content/{base_path}/"
        served_there = served_files(there, carried)
        assert served_there == served_files(here, exported)
        for tree in carried:
            for item in tree["files"]:
                data = served_there[(f"{tree['version']}/{tree['arch']}", item["path"])]
                assert sha256(data) == item["sha256"] and len(data) == item["size"]
        listed = requests.get(f"{there}trees.json", timeout=60).json()["trees"]
        assert {(t["version"], t["arch"]): sorted(t["tags"]) for t in listed} == {
            ("42", "x86_64"): ["42", "42-amd64"],
            ("42", "aarch64"): ["42", "42-arm64"],
            ("41", "x86_64"): [],
            ("40", "x86_64"): [],
        }
        assert all(s["checked_here"] is False for t in listed for s in t["signatures"])
        # What a push from here writes back byte for byte travels too: each registry tree's
        # manifest as sent, the index 42 as sent, the cosign manifests that carried the
        # signatures.
        there_json = requests.get(f"{there}trees.json", timeout=60).json()
        here_json = requests.get(f"{here}trees.json", timeout=60).json()
        by_slot = lambda doc: {(t["version"], t["arch"]): t for t in doc["trees"]}  # noqa: E731
        for slot, tree in by_slot(here_json).items():
            other = by_slot(there_json)[slot]
            assert other["manifest"] == tree["manifest"], slot
            assert [r.get("carrier") for r in other["signatures"]] == [
                r.get("carrier") for r in tree["signatures"]
            ], slot
        assert by_slot(there_json)[("42", "x86_64")]["manifest"] is not None
        assert by_slot(there_json)[("41", "x86_64")]["manifest"] is None  # a dnf tree
        (index,) = there_json["indexes"]
        assert index == here_json["indexes"][0]
        assert (index["tag"], index["digest"]) == ("42", source.published["index"])
        carriers = [r.get("carrier") for t in there_json["trees"] for r in t["signatures"]]
        assert sum(1 for kept in carriers if kept) == 3  # cosign on the index (x2), on amd64

        # The uploaded tree is the same tree there: identity, files and their roles, an
        # upload's provenance, no verification; served byte for byte.
        uploaded = tree_of(api, version, "40", "x86_64")
        assert tree_facts([uploaded]) == tree_facts([source.uploaded])
        assert uploaded["source"] == {"type": "upload", "uploaded_by": "admin"}
        assert {item["path"]: item["role"] for item in uploaded["files"]} == ROLES
        (entry,) = [t for t in listed if (t["version"], t["arch"]) == ("40", "x86_64")]
        assert entry["identity"] == source.uploaded["identity"] and entry["signatures"] == []
        for path, data in source.uploaded_files.items():
            assert served_there[("40/x86_64", path)] == data, path

    def test_an_archive_cannot_change_what_a_stored_tree_serves(
        self, second, source, imported, stack, scratch
    ):
        """An archive that names 42/x86_64 (stored here by the import) with its kernel's
        ContentArtifact pointing at the initrd: pulpcore would update the stored link; the
        plugin refuses any ContentArtifact of a tree that is not one of its files, so the
        import fails and every repository holding the tree still serves its kernel."""
        tree = tree_of(stack, source.version, "42", "x86_64")
        files = {f["path"]: f["sha256"] for f in tree["files"]}
        kernel, initrd = "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"
        tar_path = reassembled(source.toc, scratch("relinked"))

        def relink(name, data):
            if not name.endswith(CA_FILE):
                return data
            rows = json.loads(data)
            for row in rows:
                if row["relative_path"] == f"42/x86_64/{kernel}":
                    row["artifact"] = files[initrd]
            return json.dumps(rows).encode()

        rewrite_tar(tar_path, relink)
        api = second.api()
        target, importer = importer_into_new_repository(api, source, "relinked")
        before = footprint(second.database)

        group = run_import(api, importer, path=str(tar_path))

        (error,) = group_errors(api, group)
        assert f"42/x86_64/{kernel}" in error and "is not the tree's file" in error, error
        after = footprint(second.database)
        for part in ("versions", "kickstart", "content_artifacts", "artifacts"):
            assert after[part] == before[part], part
        linked = database.psql(
            "SELECT a.sha256 FROM core_contentartifact ca JOIN core_artifact a"
            " ON a.pulp_id = ca.artifact_id JOIN kickstart_kickstarttree t"
            " ON t.content_ptr_id = ca.content_id"
            f" WHERE t.identity = '{tree['identity']}' AND ca.relative_path = '42/x86_64/{kernel}'",
            database=second.database,
        )
        assert linked == files[kernel]

    def test_tags_keep_their_trees_architecture_and_one_tree_per_name(
        self, second, source, imported, stack, scratch
    ):
        """A tag row for another architecture or release than its tree's (a second row giving
        the tag to another tree names another release) is refused naming the tag before any
        row is written (attack findings F3, and F4 of the second attack), rather than a
        repository version pulpcore refuses later."""
        other = tree_of(stack, source.version, "41", "x86_64")["identity"]
        cases = (
            (
                lambda rows: [r.update(arch="aarch64") for r in rows if r["name"] == "42-amd64"],
                "tag 42-amd64: it is for aarch64, the tree it names is for x86_64",
            ),
            (
                lambda rows: rows.extend(
                    {**r, "tree": other} for r in list(rows) if r["name"] == "42-amd64"
                ),
                # A second row naming another tree: that tree's release is not the tag's.
                "tag 42-amd64: tag 42-amd64 names release 42, not this tree's 41",
            ),
            (
                lambda rows: [r.update(name="41-amd64") for r in rows if r["name"] == "42-amd64"],
                "tag 41-amd64: tag 41-amd64 names release 41, not this tree's 42",
            ),
        )
        api = second.api()
        for change, says in cases:
            tar_path = reassembled(source.toc, scratch("tags"))
            rewrite_rows(tar_path, TAG_FILE, change)
            target, importer = importer_into_new_repository(api, source, "tags")
            before = footprint(second.database)

            group = run_import(api, importer, path=str(tar_path))

            (error,) = group_errors(api, group)
            assert says in error and "No repository version was created" in error, error
            after = footprint(second.database)
            for part in ("versions", "kickstart"):
                assert after[part] == before[part], part

    def test_verify_signatures_checks_imported_trees_with_this_pulps_keys(
        self, second, source, imported, dnf_upstream, gpg_key
    ):
        api = second.api()
        before = api.get(imported["pulp_href"])["latest_version_href"]

        def remote(key, policy="required"):
            return api.create(
                "remotes/kickstart/oci/",
                {
                    "name": unique("oci"),
                    "url": source.pusher.base,
                    "upstream_name": source.pusher.name,
                    "signature_keys": signing.public_pem(key),
                    "signature_policy": policy,
                },
            )

        def verify(remote):
            response = api.request(
                "POST",
                f"{imported['pulp_href']}verify_signatures/",
                json={"remote": remote["pulp_href"]},
                expect=None,
            )
            return response

        def push_signed():
            target = api.create(
                "remotes/kickstart/oci/",
                {
                    "name": unique("oci"),
                    "url": source.pusher.base,
                    "upstream_name": unique("pushed/impexp"),
                },
            )
            response = api.post(
                f"{imported['pulp_href']}push/",
                {"remote": target["pulp_href"], "releases": ["42"], "copy_signatures": True},
            )
            return target, api.wait(response["task"], raise_on_failure=False)

        # The exporter's records are not this Pulp's: their signature manifests are not
        # copied on its word.
        _target, task = push_signed()
        assert task["state"] == "failed"
        assert "only another Pulp verified it" in task["error"]["description"]

        # A remote that trusts nothing cannot verify: 400 saying why.
        plain = api.create(
            "remotes/kickstart/oci/",
            {"name": unique("oci"), "url": source.pusher.base, "upstream_name": "x/y"},
        )
        refused = verify(plain)
        assert refused.status_code == 400 and "signature_policy 'none'" in refused.text

        # A key that signed nothing, under 'required': the task names the tree, no version.
        wrong = verify(remote(signing.generate_key("p256")))
        task = api.wait(wrong.json()["task"], raise_on_failure=False)
        assert task["state"] == "failed"
        error = task["error"]["description"]
        assert "tree 42/aarch64" in error and "no signature" in error, error
        assert "No repository version was created" in error
        assert api.get(imported["pulp_href"])["latest_version_href"] == before

        # The right key: this Pulp's own verifications join a new version, beside the
        # exporter's records; the dnf tree's RPMs are fetched, checked and unpacked again.
        task = api.wait(verify(remote(source.key)).json()["task"])
        dnf_remote = api.create(
            "remotes/kickstart/dnf/",
            {
                "name": unique("dnf"),
                "url": dnf_upstream.url,
                "signature_keys": gpg_key.public_armored,
                "signature_policy": "required",
            },
        )
        dnf_upstream.requests.clear()
        api.wait(verify(dnf_remote).json()["task"])
        assert [path for path in dnf_upstream.requests if path.endswith(".rpm")]
        after = api.get(imported["pulp_href"])["latest_version_href"]
        assert after.endswith("/versions/3/")
        records = records_of(api, after)
        assert set(records) == set(records_of(api, before))
        assert all(checked == {False, True} for checked in records.values()), records
        assert task["progress_reports"][0]["done"] == 2  # the OCI trees only

        # Verified here: the import's kept bytes go out as the upstream published them,
        # with their signature manifests.
        target, task = push_signed()
        assert task["state"] == "completed", task.get("error")
        done = {report["code"]: report["done"] for report in task["progress_reports"]}
        assert done["push.manifests.identical"] == 3 and done["push.signatures.copied"] == 2
        index = requests.get(
            f"{source.pusher.base}/v2/{target['upstream_name']}/manifests/42",
            headers={"Accept": "application/vnd.oci.image.index.v1+json"},
            timeout=60,
        )
        assert "sha256:" + sha256(index.content) == source.published["index"]

    def test_verify_signatures_refuses_a_tree_whose_files_are_not_its_manifests(
        self, second, source, imported, stack, scratch
    ):
        """An archive in which 42/x86_64's kernel and initrd are swapped, with the identity
        (and the tags', records' and ContentArtifacts' references) recomputed: it imports
        as a tree of its own, carrying the real tree's signature records. Checking it again
        reads manifest 42-amd64 by digest: its files are not the tree's, so no signature of
        it vouches for the tree."""
        tree = tree_of(stack, source.version, "42", "x86_64")
        files = {f["path"]: f for f in tree["files"]}
        kernel, initrd = "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"
        swapped = [dict(f) for f in tree["files"]]
        for item in swapped:
            other = {kernel: initrd, initrd: kernel}.get(item["path"])
            if other:
                item.update(sha256=files[other]["sha256"], size=files[other]["size"])
        forged = tree_identity(tree["version"], tree["arch"], tree["digest"], swapped)
        by_sha = {files[kernel]["sha256"]: files[initrd]["sha256"]}
        by_sha[files[initrd]["sha256"]] = files[kernel]["sha256"]
        tar_path = reassembled(source.toc, scratch("forged"))

        # The forged tree is a unit of its own in the archive too: its own upstream id.
        exported_pk, forged_pk = tree["pulp_href"].rstrip("/").rsplit("/", 1)[1], str(uuid4())

        def forge(name, data):
            if name.endswith((TREE_FILE, TAG_FILE, SIGNATURE_FILE, CA_FILE)):
                rows = json.loads(data)
                for row in rows:
                    if name.endswith(TREE_FILE) and row["identity"] == tree["identity"]:
                        row.update(
                            identity=forged, files=json.dumps(swapped), upstream_id=forged_pk
                        )
                    elif row.get("tree") == tree["identity"]:
                        row["tree"] = forged
                    elif name.endswith(CA_FILE) and row["content"] == exported_pk:
                        row["content"] = forged_pk
                        if row["relative_path"] in (f"42/x86_64/{kernel}", f"42/x86_64/{initrd}"):
                            row["artifact"] = by_sha[row["artifact"]]
                return json.dumps(rows).encode()
            return data

        rewrite_tar(tar_path, forge)
        api = second.api()
        target, importer = importer_into_new_repository(api, source, "forged")
        group = run_import(api, importer, path=str(tar_path))
        assert group["failed"] == 0, group_errors(api, group)
        version = api.get(target["pulp_href"])["latest_version_href"]
        assert forged in {t["identity"] for t in api.trees(version)}

        checking = api.create(
            "remotes/kickstart/oci/",
            {
                "name": unique("oci"),
                "url": source.pusher.base,
                "upstream_name": source.pusher.name,
                "signature_keys": signing.public_pem(source.key),
                "signature_policy": "required",
            },
        )
        started = api.post(
            f"{target['pulp_href']}verify_signatures/", {"remote": checking["pulp_href"]}
        )
        task = api.wait(started["task"], raise_on_failure=False)
        error = task["error"]["description"]
        assert "tree 42/x86_64" in error and tree["digest"] in error, error
        assert "lists other files than the tree holds" in error, error
        assert api.get(target["pulp_href"])["latest_version_href"] == version

    def test_a_sync_never_takes_an_imported_tree_for_the_manifest_it_names(
        self, second, source, stack
    ):
        """The forged 42/x86_64 (the test above) and the real one, both imported, name the
        same manifest. A sync with optimize (which lets stored trees stand for manifests it
        then does not read) reads that manifest again: only trees this Pulp built stand for
        one, and the synced tree is the registry's."""
        api = second.api()
        remote = api.create(
            "remotes/kickstart/oci/",
            {"name": unique("oci"), "url": source.pusher.base, "upstream_name": source.pusher.name},
        )
        repository = api.create("repositories/kickstart/kickstart/", {"name": unique("synced")})
        task = api.sync(repository, remote)
        # The per-arch tags named imported trees of this upstream: they are asked for their
        # digest only (HEAD), and both manifests are then read by digest, not taken from
        # the stored trees: 3 tags + 2 manifests read.
        reads = {p["code"]: p["done"] for p in task["progress_reports"]}
        assert reads["sync.parsing.manifests"] == 5, task["progress_reports"]
        version = api.get(repository["pulp_href"])["latest_version_href"]
        genuine = tree_of(stack, source.version, "42", "x86_64")
        assert tree_of(api, version, "42", "x86_64")["identity"] == genuine["identity"]

    def test_an_incremental_export_carries_only_the_new_files(
        self,
        second,
        source,
        imported,
        stack,
        kickstart_publish_release,
        kickstart_oci_remote_factory,
        kickstart_sync,
    ):
        """Release 43 joins the stack's repository; an export from the exported version on
        (``start_versions``) carries 43's files only, and imports on top of the full one."""
        new = kickstart_publish_release(source.pusher, "43", archs=("amd64",))
        # Policy 'none': under 'required' an OCI remote cannot vouch for the kept dnf tree.
        kickstart_sync(source.repository, kickstart_oci_remote_factory(source.pusher))
        latest = stack.get(source.repository["pulp_href"])["latest_version_href"]
        assert latest != source.version
        task = stack.wait(
            stack.post(
                f"{source.exporter['pulp_href']}exports/",
                {"full": False, "start_versions": [source.version]},
            )["task"]
        )
        toc = stack.get(task["created_resources"][0])["toc_info"]["file"]
        (tar_path,) = chunks_of(toc)
        with tarfile.open(tar_path) as tar:
            carried = {
                name.split("/", 1)[1].replace("/", "")
                for name in tar.getnames()
                if name.startswith("artifact/")
            }
        assert carried == {sha256(data) for _name, data in new["files"]["amd64"]}

        api = second.api()
        importer = api.create("importers/core/pulp/", {"name": unique("importer")})
        group = run_import(api, importer, toc=toc)
        assert group["failed"] == 0, group_errors(api, group)
        version = api.get(imported["pulp_href"])["latest_version_href"]
        assert tree_facts(api.trees(version)) == tree_facts(stack.trees(latest))
        assert tags_of(api, version) == tags_of(stack, latest)

    def test_pulp_cli_exports_and_imports(self, second, source, stack, tmp_path):
        """pulp-cli end to end: exporter and export on the stack, importer and import (the
        plugin's ``pulp import pulp run``) and verify-signatures on the second Pulp."""
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

        def pulp(base, *args):
            argv = [PULP_CLI, "--base-url", base, "--username", "admin", "--password", "password"]
            done = subprocess.run(
                [*argv, *args], capture_output=True, text=True, timeout=300, env=env
            )
            assert done.returncode == 0, f"pulp {' '.join(args)}:\n{done.stdout}{done.stderr}"
            return json.loads(done.stdout) if done.stdout.strip() else None

        exporter, path = unique("cli-exporter"), EXPORTS / unique("cli")
        name = source.repository["name"]
        pulp(
            stack.base,
            "exporter",
            "pulp",
            "create",
            "--name",
            exporter,
            "--path",
            str(path),
            "--repository",
            f"kickstart:kickstart:{name}",
        )
        try:
            export = pulp(
                stack.base, "export", "pulp", "run", "--exporter", exporter, "--chunk-size", "100KB"
            )
            toc = export["toc_info"]["file"]
            assert len(chunks_of(toc)) > 1
            dest, importer = unique("cli-dest"), unique("cli-importer")
            pulp(second.base, "kickstart", "repository", "create", "--name", dest)
            pulp(
                second.base,
                "importer",
                "pulp",
                "create",
                "--name",
                importer,
                "--repo-map",
                name,
                dest,
            )
            group = pulp(second.base, "import", "pulp", "run", "--importer", importer, "--toc", toc)
            assert group["failed"] == 0 and group["completed"] == 2, group
            repository = pulp(second.base, "kickstart", "repository", "show", "--name", dest)
            version = repository["latest_version_href"]
            latest = stack.get(source.repository["pulp_href"])["latest_version_href"]
            api = second.api()
            assert tree_facts(api.trees(version)) == tree_facts(stack.trees(latest))

            remote = api.create(
                "remotes/kickstart/oci/",
                {
                    "name": unique("cli-oci"),
                    "url": source.pusher.base,
                    "upstream_name": source.pusher.name,
                    "signature_keys": signing.public_pem(source.key),
                    "signature_policy": "if_present",
                },
            )
            pulp(
                second.base,
                "kickstart",
                "repository",
                "verify-signatures",
                "--name",
                dest,
                "--remote",
                remote["name"],
            )
            verified = api.get(repository["pulp_href"])["latest_version_href"]
            assert verified != version
            assert any(True in checked for checked in records_of(api, verified).values())
        finally:
            pulp(stack.base, "exporter", "pulp", "destroy", "--name", exporter)
            shutil.rmtree(path, ignore_errors=True)

    def test_an_import_into_another_repository_of_the_same_pulp(
        self, source, stack, kickstart_repository_factory, kickstart_distribution_factory, tmp_path
    ):
        """The walk-through on one Pulp (the dev stack): the export imports into another
        repository. The trees are carried units (``made_here`` false) with the same identities
        and facts, beside the ones this Pulp made; the records are carried as an import's
        (checked_here false)."""
        target = kickstart_repository_factory()
        importer = stack.create(
            "importers/core/pulp/",
            {
                "name": unique("importer"),
                "repo_mapping": {source.repository["name"]: target.name},
            },
        )
        try:
            group = run_import(stack, importer, toc=source.toc)
            assert group["failed"] == 0, group_errors(stack, group)
        finally:
            stack.delete(importer["pulp_href"])
        version = stack.get(target.pulp_href)["latest_version_href"]
        assert version.endswith("/versions/1/")
        exported, carried = stack.trees(source.version), stack.trees(version)
        assert tree_facts(carried) == tree_facts(exported)
        assert {t["made_here"] for t in exported} == {True}
        assert {t["made_here"] for t in carried} == {False}
        assert not {t["pulp_href"] for t in carried} & {t["pulp_href"] for t in exported}
        # One identity names both; made_here tells them apart (API filter and pulp-cli option).
        identity = carried[0]["identity"]
        both = stack.list("content/kickstart/trees/", identity=identity)
        assert {t["made_here"] for t in both} == {True, False}
        (only,) = stack.list("content/kickstart/trees/", identity=identity, made_here=False)
        assert only["pulp_href"] in {t["pulp_href"] for t in carried}
        listed = subprocess.run(
            [
                PULP_CLI,
                "--base-url",
                stack.base,
                "--username",
                "admin",
                "--password",
                "password",
                "kickstart",
                "tree",
                "list",
                "--identity",
                identity,
                "--carried",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        )
        assert listed.returncode == 0, listed.stderr
        assert [t["pulp_href"] for t in json.loads(listed.stdout)] == [only["pulp_href"]]
        assert tags_of(stack, version) == tags_of(stack, source.version)
        records = records_of(stack, version)
        assert set(records) == set(records_of(stack, source.version))
        assert all(checked == {False} for checked in records.values())
        tree = tree_of(stack, version, "42", "x86_64")
        base = kickstart_distribution_factory(target).base_url
        kernel = requests.get(f"{base}42/x86_64/images/pxeboot/vmlinuz", timeout=60)
        expected = next(f for f in tree["files"] if f["path"] == "images/pxeboot/vmlinuz")
        assert sha256(kernel.content) == expected["sha256"]


def test_verify_signatures_needs_sync_on_the_repository_and_view_on_the_remote(
    kickstart_bindings,
    pulpcore_bindings,
    gen_user,
    monitor_task,
    kickstart_registry,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
):
    """Like a sync: it reads the remote's upstream with its stored credentials and makes a
    version, so it needs kickstart.sync_kickstartrepository and view on the repository, and
    view on the remote (of its own type)."""
    repositories = kickstart_bindings.RepositoriesKickstartApi
    key = signing.generate_key("p256")
    remote = kickstart_oci_remote_factory(
        Pusher(kickstart_registry.url, unique("fedora/verify")),
        signature_keys=signing.public_pem(key),
        signature_policy="if_present",
    )
    repository = kickstart_repository_factory()
    body = {"remote": remote.pulp_href}
    alice = gen_user()

    def grant(role, obj):
        pulpcore_bindings.UsersRolesApi.create(
            auth_user_href=alice.user.pulp_href,
            user_role={"role": role, "domain": None, "content_object": obj},
        )

    def status():
        with alice, pytest.raises(kickstart_bindings.ApiException) as refused:
            repositories.verify_signatures(repository.pulp_href, body)
        return refused.value.status

    assert status() == 404  # a repository alice may not view
    grant("kickstart.kickstartrepository_viewer", repository.pulp_href)
    grant("kickstart.kickstartociremote_viewer", remote.pulp_href)
    assert status() == 403  # viewing is not syncing
    grant("kickstart.kickstartrepository_owner", repository.pulp_href)
    other = kickstart_oci_remote_factory(
        Pusher(kickstart_registry.url, unique("fedora/verify")),
        signature_keys=signing.public_pem(key),
        signature_policy="if_present",
    )
    with alice, pytest.raises(kickstart_bindings.ApiException) as refused:
        repositories.verify_signatures(repository.pulp_href, {"remote": other.pulp_href})
    assert refused.value.status == 403  # a remote alice may not view: its credentials
    with alice:
        task = monitor_task(repositories.verify_signatures(repository.pulp_href, body).task)
    assert task.state == "completed"
    assert repositories.read(repository.pulp_href).latest_version_href.endswith("/versions/0/")
