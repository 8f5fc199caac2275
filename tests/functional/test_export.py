"""Exporting a distribution to a directory (issue 13): files, generated configs, re-export."""

import os
import shutil
from pathlib import Path

import pytest
import requests

from pulpcore.client.pulp_kickstart_oci import ApiException
from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.pytest_plugin import unique

EXPORTS = Path(__file__).resolve().parents[2] / ".run" / "exports"
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


def test_re_export_follows_the_version(
    request,
    exported,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_sync,
    trees,
):
    root = exported["path"]
    exported["export"]()
    stray = root / "stray" / "file"
    stray.parent.mkdir()
    stray.write_text("not exported")
    outside = EXPORTS / unique("outside")
    outside.mkdir(parents=True)
    request.addfinalizer(lambda: shutil.rmtree(outside, ignore_errors=True))
    (outside / "keep").write_text("keep")
    (root / "link").symlink_to(outside)

    kickstart_publish_release(exported["upstream"], "42", archs=("amd64",))
    only_42 = kickstart_oci_remote_factory(exported["upstream"], include_tags=["42*"])
    kickstart_sync(exported["repository"], only_42, mirror=True)
    exported["export"]()

    served = trees(exported["repository"].pulp_href + "versions/2/")
    assert {(t.version, t.arch) for t in served} == {("42", "x86_64")}
    base = exported["distribution"].base_url.rstrip("/")
    assert _tree_set(root) == _expected(served, base)
    assert not (root / "41").exists()
    assert not (root / "link").exists()
    assert (outside / "keep").read_text() == "keep"


def test_a_path_outside_the_allowed_paths_is_refused(exported, kickstart_bindings, tmp_path):
    distributions = kickstart_bindings.DistributionsKickstartApi
    for path in (str(tmp_path / "export"), "relative/dir", str(EXPORTS / ".." / "escape")):
        with pytest.raises(ApiException) as raised:
            distributions.export(exported["distribution"].pulp_href, {"path": path})
        assert raised.value.status == 400, path
    with pytest.raises(ApiException) as raised:
        distributions.export(
            exported["distribution"].pulp_href,
            {"path": str(exported["path"]), "origin": "http://user:secret@boot.example/"},
        )
    assert raised.value.status == 400


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
