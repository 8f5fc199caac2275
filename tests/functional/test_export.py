"""Exporting a distribution to a directory (issue 13): files, generated configs, re-export."""

import json
import os
import shutil
from pathlib import Path

import pytest
import requests

from pulpcore.client.pulp_kickstart_oci import ApiException
from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.pytest_plugin import unique

RUN = Path(__file__).resolve().parents[2] / ".run"
EXPORTS = RUN / "exports"
MEDIA = RUN / "media"  # the dev stack's MEDIA_ROOT
ORIGIN = "http://boot.example:8080"


def _tree_set(root):
    """Every file below ``root``, relative; fails on a symbolic link."""
    found = set()
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            assert not os.path.islink(os.path.join(current, name)), name
        found |= {os.path.relpath(os.path.join(current, name), root) for name in files}
    return found


def _expected(trees, base):
    """What an export of ``trees`` (bindings objects) holds: files and generated documents.

    EFI/BOOT/grub.cfg is generated only for a tree with a GRUB binary: asked of ``base``.
    """
    paths = {"boot.ipxe", "trees.json"}
    for tree in trees:
        prefix = f"{tree.version}/{tree.arch}/"
        paths |= {prefix + item.path for item in tree.files}
        paths |= {prefix + name for name in (".treeinfo", "boot.ipxe", "grub.cfg")}
        paths.add(prefix + "pxelinux.cfg/default")
        efi = prefix + "EFI/BOOT/grub.cfg"
        if requests.get(f"{base}/{efi}", timeout=60).status_code == 200:
            paths.add(efi)
    return paths


@pytest.fixture
def exported(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    monitor_task,
):
    """Release 41 (amd64) synced (immediate), distributed, and an export function.

    The export directory (below the dev stack's ALLOWED_EXPORT_PATHS) is removed after.
    """
    kickstart_publish_release(kickstart_upstream, "41", archs=("amd64",))
    remote = kickstart_oci_remote_factory(kickstart_upstream)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    distribution = kickstart_distribution_factory(repository)
    path = EXPORTS / unique("export")

    def _export(**body):
        response = kickstart_bindings.DistributionsKickstartApi.export(
            distribution.pulp_href, {"path": str(path), **body}
        )
        return monitor_task(response.task)

    yield {
        "distribution": distribution,
        "export": _export,
        "path": path,
        "repository": repository,
        "upstream": kickstart_upstream,
    }
    shutil.rmtree(path, ignore_errors=True)


def test_export_is_what_the_content_app_serves(exported, latest_version, trees):
    exported["export"]()
    root = exported["path"]
    served = trees(latest_version(exported["repository"]))
    base = exported["distribution"].base_url.rstrip("/")
    assert _tree_set(root) == _expected(served, base)
    for rel in sorted(_tree_set(root)):
        response = requests.get(f"{base}/{rel}", timeout=60)
        assert response.status_code == 200, rel
        assert (root / rel).read_bytes() == response.content, rel
    for tree in served:
        for item in tree.files:
            assert (root / tree.version / tree.arch / item.path).stat().st_nlink > 1, item.path


def test_configs_point_at_the_origin_and_files_stay_linked(exported):
    exported["export"]()
    root = exported["path"]
    kernel = root / "41" / "x86_64" / "images" / "pxeboot" / "vmlinuz"
    inode = kernel.stat().st_ino
    task = exported["export"](origin=ORIGIN)
    assert task.state == "completed"
    prefix = f"{ORIGIN}/pulp/content/{exported['distribution'].base_path}/41/x86_64/"
    for name in ("boot.ipxe", "grub.cfg", "pxelinux.cfg/default"):
        assert prefix in (root / "41" / "x86_64" / name).read_text(), name
    assert prefix in (root / "boot.ipxe").read_text()
    assert prefix in (root / "trees.json").read_text()
    assert kernel.stat().st_ino == inode


@pytest.fixture
def outside(request):
    """A directory beside the exports, holding ``keep``: what a planted link points at."""
    path = EXPORTS / unique("outside")
    path.mkdir(parents=True)
    request.addfinalizer(lambda: shutil.rmtree(path, ignore_errors=True))
    (path / "keep").write_text("keep")
    return path


def _only_42(exported, kickstart_publish_release, kickstart_oci_remote_factory, kickstart_sync):
    """Release 42 published, and the repository mirrored to it alone (version 2)."""
    kickstart_publish_release(exported["upstream"], "42", archs=("amd64",))
    only_42 = kickstart_oci_remote_factory(exported["upstream"], include_tags=["42*"])
    kickstart_sync(exported["repository"], only_42, mirror=True)


def test_re_export_follows_the_version_and_removes_only_what_it_wrote(
    exported,
    outside,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_sync,
    trees,
):
    root = exported["path"]
    exported["export"]()
    # Someone else's files in the directory (an admin's, a link): not the export's to remove.
    stray = root / "stray" / "file"
    stray.parent.mkdir()
    stray.write_text("not exported")
    extra = root / "41" / "x86_64" / "README"
    extra.write_text("an admin's note")
    (root / "link").symlink_to(outside)

    _only_42(exported, kickstart_publish_release, kickstart_oci_remote_factory, kickstart_sync)
    exported["export"]()

    served = trees(exported["repository"].pulp_href + "versions/2/")
    assert {(t.version, t.arch) for t in served} == {("42", "x86_64")}
    base = exported["distribution"].base_url.rstrip("/")
    (root / "link").unlink()  # _tree_set fails on links: this one was checked to stay
    assert _tree_set(root) == _expected(served, base) | {"stray/file", "41/x86_64/README"}
    assert stray.read_text() == "not exported"
    assert extra.read_text() == "an admin's note"
    assert sorted(os.listdir(root / "41")) == ["x86_64"]  # 41's files left, the note kept
    assert (outside / "keep").read_text() == "keep"


def test_links_planted_in_the_directory_are_never_followed(
    exported,
    outside,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_sync,
    trees,
):
    """A link where the export writes is replaced; one on the way to a stale file is left."""
    root = exported["path"]
    exported["export"]()
    kernel = "x86_64/images/pxeboot/vmlinuz"
    exported_kernel = (root / "41" / kernel).read_bytes()

    # 41/x86_64 replaced by a link to a directory outside: the re-export writes through
    # a real directory again and leaves the link's target alone.
    shutil.rmtree(root / "41" / "x86_64")
    (root / "41" / "x86_64").symlink_to(outside)
    exported["export"]()
    assert not (root / "41" / "x86_64").is_symlink()
    assert (root / "41" / kernel).read_bytes() == exported_kernel
    assert sorted(os.listdir(outside)) == ["keep"]

    # 41 replaced by a link to a directory holding a file at a path 41 had: when 41
    # leaves the version, the export does not remove a file through the link.
    (outside / "x86_64" / "images" / "pxeboot").mkdir(parents=True)
    (outside / kernel).write_text("not the export's")
    shutil.rmtree(root / "41")
    (root / "41").symlink_to(outside)
    _only_42(exported, kickstart_publish_release, kickstart_oci_remote_factory, kickstart_sync)
    task = exported["export"]()
    assert task.state == "completed"
    assert (outside / kernel).read_text() == "not the export's"
    assert (outside / "keep").read_text() == "keep"
    assert (root / "42" / kernel).exists()


def test_export_directories_do_not_nest(
    request, exported, kickstart_distribution_factory, kickstart_bindings
):
    """Not even for an administrator: each export would write into the other's directory."""
    outer = EXPORTS / unique("nest")
    request.addfinalizer(lambda: shutil.rmtree(outer, ignore_errors=True))
    exported["export"](path=str(outer / "tenant"))
    other = kickstart_distribution_factory()
    name = exported["distribution"].name
    for path, relation in ((outer / "tenant" / "inner", "is inside"), (outer, "holds")):
        with pytest.raises(ApiException) as raised:
            kickstart_bindings.DistributionsKickstartApi.export(
                other.pulp_href, {"path": str(path)}
            )
        assert raised.value.status == 400, path
        message = json.loads(raised.value.body)["path"][0]
        expected = f"'{path}' {relation} the export directory of distribution '{name}': "
        assert message == expected + "export directories do not nest.", message
    assert sorted(os.listdir(outer)) == ["tenant"]
    assert not (outer / "tenant" / "inner").exists()


def test_an_administrator_claims_a_directory_holding_files(exported):
    """Files nobody exported (an earlier plugin's export, an admin's) stay where they are."""
    root = exported["path"]
    root.mkdir(parents=True)
    (root / "pxelinux.0").write_bytes(b"an admin's loader")
    (root / "boot.ipxe").write_text("#!ipxe\necho the admin's menu\n")
    assert exported["export"]().state == "completed"
    assert (root / "pxelinux.0").read_bytes() == b"an admin's loader"
    assert "echo the admin's menu" not in (root / "boot.ipxe").read_text()  # the export's path
    assert (root / "41" / "x86_64" / "images" / "pxeboot" / "vmlinuz").exists()


def test_export_errors_name_the_exported_path_not_the_storage(exported, latest_version, trees):
    """A storage failure names the file in the export, never a path under MEDIA_ROOT."""
    (tree,) = trees(latest_version(exported["repository"]))
    (kernel,) = [item for item in tree.files if item.path == "images/pxeboot/vmlinuz"]
    stored = MEDIA / "artifact" / kernel.sha256[:2] / kernel.sha256[2:]
    assert stored.exists()
    stored.unlink()  # this test's own artifact: its bytes are salted with a unique name
    with pytest.raises(PulpTaskError) as raised:
        exported["export"]()
    description = raised.value.task.error["description"]
    assert "41/x86_64/images/pxeboot/vmlinuz" in description
    assert "No such file or directory" in description
    assert str(MEDIA) not in description and "artifact/" not in description, description


def test_a_path_outside_the_allowed_paths_is_refused(
    exported, kickstart_bindings, tmp_path, bindings_cfg
):
    distributions = kickstart_bindings.DistributionsKickstartApi
    for path in (
        str(tmp_path / "export"),
        "relative/dir",
        str(EXPORTS / ".." / "escape"),
        str(EXPORTS / "line\nbreak"),
        str(EXPORTS / ("\u00e9" * 250) / ("\u00e9" * 250)),  # < 1,024 characters, > 1,024 bytes
    ):
        with pytest.raises(ApiException) as raised:
            distributions.export(exported["distribution"].pulp_href, {"path": path})
        assert raised.value.status == 400, path
    # Longer than 1,024 characters: the bindings refuse it already, so a plain request.
    too_long = str(EXPORTS / ("x" * 200) / ("y" * 200) / ("z" * 200) / ("w" * 200) / ("v" * 200))
    response = requests.post(
        f"{bindings_cfg.host}{exported['distribution'].pulp_href}export/",
        json={"path": too_long},
        auth=(bindings_cfg.username, bindings_cfg.password),
        timeout=60,
    )
    assert response.status_code == 400 and "path" in response.json(), response.text
    with pytest.raises(ApiException) as raised:
        distributions.export(
            exported["distribution"].pulp_href,
            {"path": str(exported["path"]), "origin": "http://user:secret@boot.example/"},
        )
    assert raised.value.status == 400


@pytest.mark.parametrize(
    "origin",
    [
        "http://boot;reboot",  # a GRUB command separator in the host
        "http://boot\nshell",  # a newline: urlparse drops it, the documents would not
        "http://boot${net0/mac}",  # iPXE expansion
        'http://bo"ot',
        "http://boot.example:0",
        "http://boot.example:65536",
        "ftp://boot.example",
        "http://" + ".".join(["a" * 63] * 4),  # a host name longer than 253 characters
        "http://" + "a" * 64 + ".example",  # a label longer than 63
    ],
)
def test_an_origin_unfit_for_boot_scripts_is_refused(exported, kickstart_bindings, origin):
    """An origin goes into every generated document: a host name, IP address or [IPv6]
    literal and a port, or HTTP 400 on ``origin`` (never an export whose boot configs
    the renderers then leave out)."""
    with pytest.raises(ApiException) as raised:
        kickstart_bindings.DistributionsKickstartApi.export(
            exported["distribution"].pulp_href, {"path": str(exported["path"]), "origin": origin}
        )
    assert raised.value.status == 400, origin
    assert "origin" in json.loads(raised.value.body)
    assert not exported["path"].exists()


def test_an_origin_may_be_an_address_with_a_port(exported):
    for origin in ("http://192.0.2.7:8080", "https://[2001:db8::7]:8443/", "http://boot.example."):
        assert exported["export"](origin=origin).state == "completed"
        assert origin.rstrip("/") + "/pulp/content/" in (exported["path"] / "boot.ipxe").read_text()


def test_export_needs_the_change_permission(
    exported, kickstart_bindings, gen_user, pulpcore_bindings
):
    distribution = exported["distribution"]
    alice = gen_user()
    pulpcore_bindings.UsersRolesApi.create(
        auth_user_href=alice.user.pulp_href,
        user_role={
            "role": "kickstart.kickstartdistribution_viewer",
            "domain": None,
            "content_object": distribution.pulp_href,
        },
    )
    with alice:
        with pytest.raises(ApiException) as raised:
            kickstart_bindings.DistributionsKickstartApi.export(
                distribution.pulp_href, {"path": str(exported["path"])}
            )
    assert raised.value.status == 403
    assert not exported["path"].exists()


def test_files_not_downloaded_yet_fail_the_export(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    monitor_task,
):
    kickstart_publish_release(kickstart_upstream, "41", archs=("amd64",))
    remote = kickstart_oci_remote_factory(kickstart_upstream, policy="on_demand")
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    distribution = kickstart_distribution_factory(repository)
    path = EXPORTS / unique("export")
    response = kickstart_bindings.DistributionsKickstartApi.export(
        distribution.pulp_href, {"path": str(path)}
    )
    with pytest.raises(PulpTaskError) as raised:
        monitor_task(response.task)
    assert "41/x86_64/images/pxeboot/vmlinuz" in raised.value.task.error["description"]
    assert not path.exists()
