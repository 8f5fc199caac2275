"""Uploading a locally built tree (issue 20 §3): POST content/kickstart/trees/ and the CLI.

Files go through pulpcore's chunked uploads (``/uploads/``) or are artifacts Pulp holds;
each is named by its path in the tree, which decides its role as a sync decides it. The
tree is made as a sync makes one, so the same files are one tree, served, exported and
booted like a synced tree; what a sync only flags an upload refuses with a 400 naming
the file.
"""

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import productmd.treeinfo
import pytest
import requests

from pulpcore.client.pulp_kickstart_oci import ApiException
from pulpcore.client.pulpcore import ApiException as CoreApiException
from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.app.netboot import served as served_trees
from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora
from tests.functional.test_cli import cli_env, pulp, pulp_argv  # noqa: F401 (fixtures)
from tests.functional.test_rbac import file_repository, grant  # noqa: F401 (fixtures)
from tests.support import guest

RUN = Path(__file__).resolve().parents[2] / ".run"
EXPORTS = RUN / "exports"
MEDIA = RUN / "media"  # the dev stack's MEDIA_ROOT
GiB = 1024**3


def tree_files(salt):
    """{path in the tree: bytes} of a site's tree, unique to ``salt``: each role once."""
    return {
        "images/pxeboot/vmlinuz": fedora.kernel(salt + "-kernel"),
        "images/pxeboot/initrd.img": fedora.initrd(salt + "-initrd"),
        "images/install.img": fedora.stage2(salt + "-stage2"),
        "EFI/BOOT/BOOTX64.EFI": fedora.efi(salt + "-shim"),
        "EFI/BOOT/grubx64.efi": fedora.efi(salt + "-grub"),
        "pxelinux.0": fedora.pxelinux(salt + "-pxelinux"),
        "extra/site/README": b"built by the lab " + salt.encode(),
    }


ROLES = {
    "images/pxeboot/vmlinuz": "kernel",
    "images/pxeboot/initrd.img": "initrd",
    "images/install.img": "stage2",
    "EFI/BOOT/BOOTX64.EFI": "shim",
    "EFI/BOOT/grubx64.efi": "grub",
    "pxelinux.0": "pxelinux",
    "extra/site/README": "other",
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def chunked_upload(pulpcore_bindings, add_to_cleanup):
    """``chunked_upload(data, chunk_size=4096)``: an uncommitted upload holding ``data`` in
    chunks (pulpcore's UploadsApi), its href; deleted after the test unless a task took it.
    ``declared`` overrides the size it declares, ``chunks`` picks which chunks are sent."""

    def _upload(data, chunk_size=4096, declared=None, chunks=None):
        uploads = pulpcore_bindings.UploadsApi
        total = len(data) if declared is None else declared
        href = uploads.create({"size": total}).pulp_href
        add_to_cleanup(uploads, href)
        starts = list(range(0, len(data), chunk_size))
        for start in starts if chunks is None else [starts[i] for i in chunks]:
            part = data[start : start + chunk_size]
            uploads.update(
                f"bytes {start}-{start + len(part) - 1}/{total}",
                href,
                ("chunk", part),
                sha256=sha256(part),
            )
        return href

    return _upload


@pytest.fixture
def upload_tree(kickstart_bindings, monitor_task):
    """``upload_tree(files, version="42", arch="x86_64", **fields)``: POST the tree (``files``:
    {path: {"upload": href} or {"artifact": href}}), wait; the finished task."""

    def _upload(files, version="42", arch="x86_64", **fields):
        body = {
            "version": version,
            "arch": arch,
            "files": [{"path": path, **source} for path, source in files.items()],
            **fields,
        }
        return monitor_task(kickstart_bindings.ContentTreesApi.create(body).task)

    return _upload


@pytest.fixture
def uploaded_into(chunked_upload, upload_tree, kickstart_bindings):
    """``uploaded_into(repository, salt, **fields)``: a tree of ``tree_files(salt)`` uploaded
    in chunks into a new version of ``repository``; (the tree, its files' bytes)."""

    def _uploaded(repository, salt, **fields):
        files = tree_files(salt)
        task = upload_tree(
            {path: {"upload": chunked_upload(data)} for path, data in files.items()},
            repository=repository.pulp_href,
            **fields,
        )
        (href,) = [h for h in task.created_resources if "/content/kickstart/trees/" in h]
        return kickstart_bindings.ContentTreesApi.read(href), files

    return _uploaded


def _refusal(call, *args):
    """The parsed body of the HTTP 400 a bindings call gets."""
    with pytest.raises(ApiException) as raised:
        call(*args)
    assert raised.value.status == 400, raised.value.body
    return json.loads(raised.value.body)


def test_a_tree_uploaded_in_chunks_is_made_as_a_sync_makes_it_and_once(
    kickstart_bindings, pulpcore_bindings, chunked_upload, upload_tree
):
    files = tree_files(unique("upload"))
    uploads = {path: chunked_upload(data) for path, data in files.items()}
    task = upload_tree({path: {"upload": href} for path, href in uploads.items()}, arch="amd64")

    (href,) = task.created_resources  # no repository: the tree only
    tree = kickstart_bindings.ContentTreesApi.read(href)
    assert (tree.version, tree.arch, tree.oci_arch) == ("42", "x86_64", "amd64")
    assert tree.source == {"type": "upload", "uploaded_by": "admin"}
    assert tree.warnings == [] and tree.annotations == {}
    assert {item.path: item.role for item in tree.files} == ROLES
    for item in tree.files:
        assert (item.size, item.sha256) == (len(files[item.path]), sha256(files[item.path]))
    assert {item.name for item in tree.files} >= {"vmlinuz", "BOOTX64.EFI", "site/README"}
    # Each upload became an artifact and is gone, as pulpcore's commit leaves it.
    for upload_href in uploads.values():
        with pytest.raises(CoreApiException) as gone:
            pulpcore_bindings.UploadsApi.read(upload_href)
        assert gone.value.status == 404

    # The same files again, now as the artifacts Pulp holds: the same tree, not a second.
    artifacts = {
        path: pulpcore_bindings.ArtifactsApi.list(sha256=sha256(data)).results[0].pulp_href
        for path, data in files.items()
    }
    again = upload_tree({path: {"artifact": href} for path, href in artifacts.items()})
    assert again.created_resources == [href]
    assert kickstart_bindings.ContentTreesApi.list(identity=tree.identity).count == 1

    # Other paths for the same bytes (the shim also as extra/) make another tree.
    moved = dict(artifacts)
    moved["extra/BOOTX64.EFI.bak"] = artifacts["EFI/BOOT/BOOTX64.EFI"]
    other = upload_tree({path: {"artifact": href} for path, href in moved.items()})
    assert other.created_resources != [href]


def test_an_upload_into_a_repository_is_served_like_a_synced_tree(
    kickstart_repository_factory,
    kickstart_distribution_factory,
    uploaded_into,
    latest_version,
    trees,
):
    repository = kickstart_repository_factory()
    tree, files = uploaded_into(repository, unique("served"), family="CentOS Stream")
    assert tree.source == {"type": "upload", "uploaded_by": "admin", "family": "CentOS Stream"}
    assert latest_version(repository).endswith("/versions/1/")
    assert [t.pulp_href for t in trees(latest_version(repository))] == [tree.pulp_href]

    distribution = kickstart_distribution_factory(repository)
    root = f"{distribution.base_url.rstrip('/')}/42/x86_64/"
    for path, data in files.items():
        response = requests.get(root + path, timeout=60)
        assert response.status_code == 200, path
        assert response.content == data, path

    info = productmd.treeinfo.TreeInfo()
    info.loads(requests.get(root + ".treeinfo", timeout=60).text)
    assert (info.release.name, info.release.version) == ("CentOS Stream", "42")
    assert info.stage2.mainimage == "images/install.img"
    assert info.images.images["x86_64"]["kernel"] == "images/pxeboot/vmlinuz"
    assert info.images.images["x86_64"]["initrd"] == "images/pxeboot/initrd.img"
    ipxe = requests.get(root + "boot.ipxe", timeout=60).text
    assert f"kernel {root}images/pxeboot/vmlinuz" in ipxe
    assert f"initrd {root}images/pxeboot/initrd.img" in ipxe
    grub = requests.get(root + "grub.cfg", timeout=60).text
    where = urlsplit(root)
    assert f"linux (http,{where.netloc}){where.path}images/pxeboot/vmlinuz" in grub, grub

    raw = requests.get(distribution.base_url.rstrip("/") + "/trees.json", timeout=60).content
    (entry,) = json.loads(raw)["trees"]
    assert (entry["identity"], entry["source"]) == (tree.identity, tree.source)
    # An uploaded tree is an install tree (issue 21: a tree has a kind).
    assert (entry["kind"], entry["stream"], tree.kind) == ("anaconda", None, "anaconda")
    assert entry["treeinfo"] == root + ".treeinfo"
    # What a replica of this distribution reads (sources/pulp.py) takes the uploaded tree.
    (replicated,) = served_trees.parse(raw, "upstream", ("rpm",))
    assert replicated.identity == tree.identity
    assert {item.path: item.role for item in replicated.files} == ROLES


def test_a_new_upload_replaces_the_release_unless_overwrite_is_false(
    kickstart_repository_factory,
    uploaded_into,
    chunked_upload,
    upload_tree,
    latest_version,
    trees,
):
    repository = kickstart_repository_factory()
    uploaded_into(repository, unique("first"))
    second, _files = uploaded_into(repository, unique("second"))
    assert latest_version(repository).endswith("/versions/2/")
    assert [t.pulp_href for t in trees(latest_version(repository))] == [second.pulp_href]

    files = tree_files(unique("third"))
    with pytest.raises(PulpTaskError) as failed:
        upload_tree(
            {path: {"upload": chunked_upload(data)} for path, data in files.items()},
            repository=repository.pulp_href,
            overwrite=False,
        )
    error = failed.value.task.error["description"]
    assert "Content overwrite rejected" in error and "kickstart.tree" in error, error
    assert latest_version(repository).endswith("/versions/2/")


def test_the_same_files_with_another_release_name_are_refused_not_renamed(
    kickstart_bindings, pulpcore_bindings, chunked_upload, upload_tree
):
    """The identity leaves the release name out: a second upload of the same files naming
    another one fails, rather than getting the first uploader's name (attack finding F6)."""
    files = tree_files(unique("family"))
    task = upload_tree(_uploads_of(chunked_upload, files), family="CentOS Stream")
    (href,) = task.created_resources
    artifacts = {
        path: {
            "artifact": pulpcore_bindings.ArtifactsApi.list(sha256=sha256(data))
            .results[0]
            .pulp_href
        }
        for path, data in files.items()
    }
    for family in ("AlmaLinux", None):
        fields = {"family": family} if family else {}
        with pytest.raises(PulpTaskError) as failed:
            upload_tree(artifacts, **fields)
        error = failed.value.task.error["description"]
        assert "tree 42/x86_64 of these files is stored already with another release name" in (
            error
        ), error
        assert "CentOS Stream" not in error  # another uploader's value is not shown (F7)
    assert upload_tree(artifacts, family="CentOS Stream").created_resources == [href]
    tree = kickstart_bindings.ContentTreesApi.read(href)
    assert tree.source["family"] == "CentOS Stream"


def test_files_are_served_as_bytes_a_browser_never_runs(
    kickstart_repository_factory, kickstart_distribution_factory, chunked_upload, upload_tree
):
    """An uploaded (or synced, or replicated) tree may hold extra/*.html or *.svg: the content
    app serves every file of a tree as application/octet-stream, not sniffed, sandboxed;
    generated documents keep their own type with the same two headers (attack finding F5)."""
    files = tree_files(unique("active"))
    files["extra/site/index.html"] = b"<html><script>alert(document.cookie)</script></html>"
    files["extra/site/logo.svg"] = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    repository = kickstart_repository_factory()
    upload_tree(_uploads_of(chunked_upload, files), repository=repository.pulp_href)
    root = f"{kickstart_distribution_factory(repository).base_url.rstrip('/')}/42/x86_64/"
    for path, data in files.items():
        response = requests.get(root + path, timeout=60)
        assert response.content == data, path
        assert response.headers["Content-Type"] == "application/octet-stream", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "sandbox" in response.headers["Content-Security-Policy"], path
    document = requests.get(root + "boot.ipxe", timeout=60)
    assert document.headers["Content-Type"].startswith("text/plain"), document.headers
    assert document.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in document.headers["Content-Security-Policy"]


def _uploads_of(chunked_upload, files):
    return {path: {"upload": chunked_upload(data)} for path, data in files.items()}


REFUSALS = {
    # name: (change to the files, the field, what the message names)
    "no kernel": (
        lambda files: files.pop("images/pxeboot/vmlinuz"),
        "files",
        "images/pxeboot/vmlinuz",
    ),
    "no initrd": (
        lambda files: files.pop("images/pxeboot/initrd.img"),
        "files",
        "images/pxeboot/initrd.img",
    ),
    "an ELF as the EFI loader": (
        lambda files: files.update({"EFI/BOOT/BOOTX64.EFI": b"\x7fELF" + b"\x02" * 8000}),
        "files",
        "EFI/BOOT/BOOTX64.EFI",
    ),
    "a placeholder kernel": (
        lambda files: files.update({"images/pxeboot/vmlinuz": b"MZ kernel goes here"}),
        "files",
        "images/pxeboot/vmlinuz",
    ),
    "an initrd that is a kernel": (
        lambda files: files.update({"images/pxeboot/initrd.img": fedora.kernel(unique("k"))}),
        "files",
        "images/pxeboot/initrd.img",
    ),
    # One rule for every tree's paths (netboot/layout.check_paths), before any task.
    "two paths that differ by case": (
        lambda files: files.update({"extra/notes": b"one note", "extra/NOTES": b"two notes"}),
        "files",
        "would shadow the file extra/",
    ),
    "a file below another": (
        lambda files: files.update({"extra/a": b"a file", "extra/a/b": b"below it"}),
        "files",
        "would shadow the file extra/a",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_files_unfit_for_their_paths_are_a_400_naming_the_file(
    kickstart_bindings, kickstart_repository_factory, chunked_upload, latest_version, case
):
    change, field, named = REFUSALS[case]
    repository = kickstart_repository_factory()
    files = tree_files(unique("refused"))
    change(files)
    body = {
        "version": "42",
        "arch": "x86_64",
        "files": [{"path": p, **s} for p, s in _uploads_of(chunked_upload, files).items()],
        "repository": repository.pulp_href,
    }
    errors = _refusal(kickstart_bindings.ContentTreesApi.create, body)
    assert list(errors) == [field]
    assert named in json.dumps(errors[field]), errors
    assert latest_version(repository).endswith("/versions/0/")


def test_paths_versions_and_arches_are_checked_naming_the_field(
    kickstart_bindings,
    bindings_cfg,
    chunked_upload,
    file_repository,  # noqa: F811
):
    trees_api = kickstart_bindings.ContentTreesApi
    files = tree_files(unique("names"))
    kernel = chunked_upload(files["images/pxeboot/vmlinuz"])
    initrd = chunked_upload(files["images/pxeboot/initrd.img"])

    def body(extra=(), **fields):
        return {
            "version": "42",
            "arch": "x86_64",
            "files": [
                {"path": "images/pxeboot/vmlinuz", "upload": kernel},
                {"path": "images/pxeboot/initrd.img", "upload": initrd},
                *extra,
            ],
            **fields,
        }

    shim = chunked_upload(files["EFI/BOOT/BOOTX64.EFI"])
    for path, says in (
        ("boot/vmlinuz", "is served at images/pxeboot/vmlinuz"),
        ("images/pxeboot/shim.efi", "is served at EFI/BOOT/shim.efi"),
        ("../../etc/shadow", "not a relative path of plain segments"),
        ("/EFI/BOOT/BOOTX64.EFI", "not a relative path of plain segments"),
        ("EFI/BOOT/grub.cfg", "is served at extra/grub.cfg"),
    ):
        errors = _refusal(trees_api.create, body([{"path": path, "upload": shim}]))
        (item,) = errors["files"].values()
        assert path in item["path"][0] and says in item["path"][0], errors
    for fields, field, says in (
        ({"repository": file_repository}, "repository", "not supported by this repository"),
        ({"version": "42 ; reboot"}, "version", "'42 ; reboot' is not a release"),
        ({"arch": "x86-64"}, "arch", "Unknown architecture 'x86-64'"),
        ({"family": "Fedora\n[tree]"}, "family", "is not a release name"),
        # Never trimmed into another value (attack finding F11).
        ({"version": " 42"}, "version", "' 42' is not a release"),
        ({"family": "Fedora "}, "family", "is not a release name"),
        ({"arch": "x86_64 "}, "arch", "Unknown architecture 'x86_64 '"),
    ):
        errors = _refusal(trees_api.create, body(**fields))
        assert says in errors[field][0], errors
    errors = _refusal(trees_api.create, body([{"path": "images/pxeboot/vmlinuz", "upload": shim}]))
    assert "images/pxeboot/vmlinuz is listed twice" in errors["files"][0]

    # Not an object, or a file with a field of no meaning: a 400, never a 500.
    # (Bodies the bindings would not send, so plain requests.)
    def raw(body):
        return requests.post(
            f"{bindings_cfg.host}/pulp/api/v3/content/kickstart/trees/",
            json=body,
            auth=(bindings_cfg.username, bindings_cfg.password),
            timeout=60,
        )

    not_an_object = raw("a string")
    assert not_an_object.status_code == 400, not_an_object.text
    unknown = raw(body([{"path": "extra/x", "upload": shim, "sha256": "0" * 64}]))
    assert unknown.status_code == 400, unknown.text
    (item,) = unknown.json()["files"].values()
    assert item == {"sha256": "Unexpected field"}, unknown.text
    for value in (5, [shim], {"href": shim}, True):
        for field in ("upload", "artifact"):
            odd = raw(body([{"path": "extra/x", field: value}]))
            assert odd.status_code == 400, odd.text
            (item,) = odd.json()["files"].values()
            assert item == {field: ["Expected an href or a PRN."]}, odd.text


def test_an_upload_must_hold_its_bytes_and_fit_the_cap(
    kickstart_bindings, pulpcore_bindings, chunked_upload, monitor_task
):
    files = tree_files(unique("partial"))
    initrd = chunked_upload(files["images/pxeboot/initrd.img"])

    def refused(kernel, given="upload"):
        body = {
            "version": "42",
            "arch": "x86_64",
            "files": [
                {"path": "images/pxeboot/vmlinuz", given: kernel},
                {"path": "images/pxeboot/initrd.img", "upload": initrd},
            ],
        }
        return _refusal(kickstart_bindings.ContentTreesApi.create, body)["files"][0]

    kernel = files["images/pxeboot/vmlinuz"]
    missing_chunk = chunked_upload(kernel, chunks=[0, 1, 3])
    assert refused(missing_chunk) == (
        "images/pxeboot/vmlinuz: the upload's chunks do not follow each other at byte 8192"
    )
    no_last = chunked_upload(kernel, chunks=[0, 1, 2])
    assert refused(no_last) == (
        "images/pxeboot/vmlinuz: the upload holds 12288 of its 16384 bytes: upload every chunk"
    )
    huge = chunked_upload(kernel[:4096], declared=9 * GiB)
    assert refused(huge) == (
        f"images/pxeboot/vmlinuz: {9 * GiB} bytes, larger than "
        f"KICKSTART_MAX_UPLOAD_FILE_BYTES ({8 * GiB} bytes)"
    )
    # A committed upload is an artifact (pulpcore's commit); one whose stored file is gone
    # is refused naming the file, never with the storage's path.
    committed = chunked_upload(kernel)
    task = monitor_task(
        pulpcore_bindings.UploadsApi.commit(committed, {"sha256": sha256(kernel)}).task
    )
    (artifact,) = task.created_resources
    digest = sha256(kernel)
    (MEDIA / "artifact" / digest[:2] / digest[2:]).unlink()
    message = refused(artifact, given="artifact")
    assert message == (
        "images/pxeboot/vmlinuz: its stored bytes cannot be read; upload the file again"
    )


def test_users_upload_only_into_repositories_they_may_modify_with_their_own_uploads(
    kickstart_bindings,
    pulpcore_bindings,
    gen_user,
    grant,  # noqa: F811
    kickstart_repository_factory,
    chunked_upload,
    monitor_task,
    latest_version,
):
    trees_api = kickstart_bindings.ContentTreesApi
    repository = kickstart_repository_factory()
    files = tree_files(unique("rbac"))
    alice, bob = gen_user(), gen_user()
    for user in (alice, bob):
        grant(user, "core.upload_creator")
    grant(alice, "kickstart.kickstartrepository_viewer", repository.pulp_href)
    with alice:
        mine = _uploads_of(chunked_upload, files)

    def body(**fields):
        return {
            "version": "42",
            "arch": "x86_64",
            "files": [{"path": p, **s} for p, s in mine.items()],
            **fields,
        }

    with alice:
        # Viewing the repository is not enough to change it.
        with pytest.raises(ApiException) as refused:
            trees_api.create(body(repository=repository.pulp_href))
        assert refused.value.status == 403
        # A tree in no repository would be content only admins see.
        errors = _refusal(trees_api.create, body())
        assert "Destination upload repository was not provided." in errors["repository"][0]
    grant(bob, "kickstart.kickstartrepository_owner", repository.pulp_href)
    with bob:
        # bob may modify the repository, but the uploads are alice's.
        with pytest.raises(ApiException) as refused:
            trees_api.create(body(repository=repository.pulp_href))
        assert refused.value.status == 403
    assert latest_version(repository).endswith("/versions/0/")

    grant(alice, "kickstart.kickstartrepository_owner", repository.pulp_href)
    with alice:
        task = monitor_task(trees_api.create(body(repository=repository.pulp_href)).task)
        (tree_href,) = [h for h in task.created_resources if "/content/kickstart/trees/" in h]
        tree = trees_api.read(tree_href)
    assert tree.source == {"type": "upload", "uploaded_by": alice.username}
    assert latest_version(repository).endswith("/versions/1/")


def test_the_cli_uploads_a_tree_in_chunks_into_a_repository(
    pulp,  # noqa: F811
    kickstart_repository_factory,
    latest_version,
    trees,
    tmp_path,
):
    repository = kickstart_repository_factory()
    files = tree_files(unique("cli"))
    args = []
    for path, data in files.items():
        local = tmp_path / path.replace("/", "_")
        local.write_bytes(data)
        args += ["--file", f"{path}={local}"]

    shown = pulp(
        "kickstart", "tree", "upload", "--version", "42", "--arch", "amd64",
        *args, "--repository", repository.name, "--chunk-size", "4KB",
    )  # fmt: skip
    assert (shown["version"], shown["arch"], shown["source"]["type"]) == ("42", "x86_64", "upload")
    (tree,) = trees(latest_version(repository))
    assert tree.pulp_href == shown["pulp_href"]
    assert {item.path: item.sha256 for item in tree.files} == {
        path: sha256(data) for path, data in files.items()
    }

    elf = tmp_path / "elf.efi"
    elf.write_bytes(b"\x7fELF" + b"\x02" * 8000)
    result = pulp(
        "kickstart", "tree", "upload", "--version", "43", "--arch", "x86_64",
        *args, "--file", f"EFI/BOOT/BOOTX64.EFI={elf}", "--repository", repository.name,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "EFI/BOOT/BOOTX64.EFI is given twice" in result.stderr
    result = pulp(
        "kickstart", "tree", "upload", "--version", "43", "--arch", "x86_64",
        "--file", f"images/pxeboot/vmlinuz={tmp_path / 'images_pxeboot_vmlinuz'}",
        "--file", f"images/pxeboot/initrd.img={tmp_path / 'images_pxeboot_initrd.img'}",
        "--file", f"EFI/BOOT/BOOTX64.EFI={elf}", "--repository", repository.name,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "EFI/BOOT/BOOTX64.EFI: 8004 bytes, does not look like an EFI executable" in (
        result.stderr
    )
    assert latest_version(repository).endswith("/versions/1/")


def test_an_uploaded_tree_exports_to_a_directory(
    kickstart_bindings,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    uploaded_into,
    monitor_task,
    request,
):
    repository = kickstart_repository_factory()
    tree, files = uploaded_into(repository, unique("export"))
    distribution = kickstart_distribution_factory(repository)
    path = EXPORTS / unique("upload-export")
    request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))

    task = monitor_task(
        kickstart_bindings.DistributionsKickstartApi.export(
            distribution.pulp_href, {"path": str(path)}
        ).task
    )
    assert task.state == "completed"
    root = path / "42" / "x86_64"
    for name, data in files.items():
        assert (root / name).read_bytes() == data, name
    assert "images/pxeboot/vmlinuz" in (root / "boot.ipxe").read_text()
    assert tree.identity in (path / "trees.json").read_text()


@pytest.mark.serial  # boots QEMU against the stack's content app: CPU-bound, timed
def test_qemu_boots_an_uploaded_tree(
    kickstart_repository_factory,
    kickstart_distribution_factory,
    chunked_upload,
    upload_tree,
):
    boot = guest.boot_files()
    files = {
        "images/pxeboot/vmlinuz": boot["vmlinuz"],
        "images/pxeboot/initrd.img": boot["initrd.img"],
        "images/install.img": fedora.stage2(unique("boot")),
    }
    repository = kickstart_repository_factory()
    upload_tree(
        {
            path: {"upload": chunked_upload(data, chunk_size=4 * 1024 * 1024)}
            for path, data in files.items()
        },
        repository=repository.pulp_href,
    )
    marker = unique("kickstart.upload")
    distribution = kickstart_distribution_factory(
        repository,
        kernel_args=f"console=ttyS0 panic=-1 {marker}",
        kickstart_url=guest.KICKSTART_URL,
        boot_origin=guest.GUEST_ORIGIN,
    )
    tree_url = f"{guest.GUEST_ORIGIN}/pulp/content/{distribution.base_path}/42/x86_64/"
    assert shutil.which("qemu-system-x86_64"), "no QEMU: install qemu-system-x86 (make test does)"
    console = guest.ipxe_boot(f"{tree_url}boot.ipxe")
    guest.check_install_cmdline(console.cmdline(), tree_url, marker, console.tail())
