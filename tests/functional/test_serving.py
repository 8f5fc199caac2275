"""Serving synced trees: files, .treeinfo, boot configs, menu, index, HEAD/Range, guards."""

import base64
import hashlib
import io
import json

import productmd.treeinfo
import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import fedora


@pytest.fixture
def served(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """Releases 41 (amd64) and 42 (amd64, arm64, with boot.iso) synced and distributed."""
    upstream = kickstart_upstream
    published = {
        "41": kickstart_publish_release(upstream, "41", archs=("amd64",)),
        "42": kickstart_publish_release(upstream, "42", with_iso=True),
    }
    remote = kickstart_oci_remote_factory(upstream)
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    distribution = kickstart_distribution_factory(
        repository,
        kernel_args="console=ttyS0 inst.text",
        kickstart_url="http://ks.example/fedora.cfg",
    )
    return {
        "base": distribution.base_url.rstrip("/"),
        "base_path": distribution.base_path,
        "distribution": distribution,
        "published": published,
        "remote": remote,
        "repository": repository,
        "upstream": upstream,
    }


def _get(url, **headers):
    response = requests.get(url, headers=headers, timeout=60)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response


def test_every_file_is_served_byte_identical(served, latest_version, trees):
    for release, published in served["published"].items():
        for oci_arch, files in published["files"].items():
            arch = {"amd64": "x86_64", "arm64": "aarch64"}[oci_arch]
            (tree,) = [
                t
                for t in trees(latest_version(served["repository"]))
                if (t.version, t.arch) == (release, arch)
            ]
            upstream = dict(files)
            for item in tree.files:
                body = _get(f"{served['base']}/{release}/{arch}/{item.path}").content
                assert hashlib.sha256(body).hexdigest() == item.sha256
                assert body == upstream[item.name]


def test_treeinfo_loads_with_productmd_and_its_checksums_match(served):
    root = f"{served['base']}/42/x86_64/"
    info = productmd.treeinfo.TreeInfo()
    info.loads(_get(root + ".treeinfo").text)

    assert info.release.version == "42"
    assert info.release.name == "Fedora"
    assert info.tree.arch == "x86_64"
    assert info.stage2.mainimage == "images/install.img"
    assert info.images.images["x86_64"] == {
        "kernel": "images/pxeboot/vmlinuz",
        "initrd": "images/pxeboot/initrd.img",
        "boot.iso": "images/boot.iso",
    }
    assert set(info.checksums.checksums) == {
        "images/pxeboot/vmlinuz",
        "images/pxeboot/initrd.img",
        "images/install.img",
        "images/boot.iso",
    }
    for path, (algorithm, digest) in info.checksums.checksums.items():
        assert algorithm == "sha256"
        assert hashlib.sha256(_get(root + path).content).hexdigest() == digest


@pytest.fixture
def served_at(served, kickstart_distribution_factory):
    """``served_at(boot_origin)``: the served repository under a new distribution with that
    boot_origin (and the same boot options); its base URL and base path."""

    def _distribution(boot_origin):
        distribution = kickstart_distribution_factory(
            served["repository"],
            kernel_args="console=ttyS0 inst.text",
            kickstart_url="http://ks.example/fedora.cfg",
            boot_origin=boot_origin,
        )
        return distribution.base_url, distribution.base_path

    return _distribution


@pytest.mark.parametrize(
    "boot_origin, origin",
    [
        (None, "127.0.0.1:24816"),  # CONTENT_ORIGIN
        # QEMU's user network: dev/stack lists it in KICKSTART_BOOT_HOSTS.
        ("http://10.0.2.2:24816", "10.0.2.2:24816"),
    ],
)
@pytest.mark.parametrize("host", [None, "10.0.2.2", "pulp.example:8080"])
def test_boot_configs_point_at_the_distributions_boot_origin(served_at, boot_origin, origin, host):
    base_url, base_path = served_at(boot_origin)
    tree = f"http://{origin}/pulp/content/{base_path}/42/x86_64/"
    args = f"inst.stage2={tree} console=ttyS0 inst.text inst.ks=http://ks.example/fedora.cfg"
    url = f"{base_url}42/x86_64/"
    # Whatever the client's Host: documents are a function of the distribution.
    headers = {"Host": host} if host else {}

    ipxe = _get(url + "boot.ipxe", **headers).text
    assert ipxe.startswith("#!ipxe\n")
    assert f"kernel {tree}images/pxeboot/vmlinuz initrd=initrd.img {args}\n" in ipxe
    assert f"initrd {tree}images/pxeboot/initrd.img\n" in ipxe
    assert ipxe.rstrip().endswith("boot")

    grub = _get(url + "grub.cfg", **headers).text
    grub_root = f"(http,{origin})/pulp/content/{base_path}/42/x86_64/"
    assert f"  linux {grub_root}images/pxeboot/vmlinuz {args}\n" in grub
    assert f"  initrd {grub_root}images/pxeboot/initrd.img\n" in grub

    # UEFI HTTP boot loads GRUB from EFI/BOOT/, which reads grub.cfg beside itself.
    assert _get(url + "EFI/BOOT/grub.cfg", **headers).text == grub

    pxelinux = _get(url + "pxelinux.cfg/default", **headers).text
    assert f"  KERNEL {tree}images/pxeboot/vmlinuz\n" in pxelinux
    assert f"  APPEND initrd={tree}images/pxeboot/initrd.img {args}\n" in pxelinux

    index = _get(f"{base_url}trees.json", **headers).json()
    assert index["base_url"] == f"http://{origin}/pulp/content/{base_path}/"


@pytest.mark.parametrize(
    "boot_origin",
    [
        "http://evil.example",  # not listed by the admin
        "http://10.0.2.2:1",  # a listed address on another port
        "http://10.0.2.20:24816",
        "http://10.0.2.2:24816/pulp",  # a path
        "http://user@10.0.2.2:24816",  # userinfo
        "http://10.0.2.2:24816?x=1",
        "gopher://10.0.2.2:24816",
        "http://10.0.2.2:24816\nchain http://evil/x",
        "10.0.2.2:24816",
    ],
)
def test_a_tenant_cannot_choose_an_origin_the_admin_did_not_list(
    kickstart_bindings, served, gen_object_with_cleanup, monitor_task, boot_origin
):
    body = {
        "name": unique("dist"),
        "base_path": unique("dist"),
        "repository": served["repository"].pulp_href,
        "boot_origin": boot_origin,
    }
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        gen_object_with_cleanup(kickstart_bindings.DistributionsKickstartApi, body)
    assert raised.value.status == 400 and "boot_origin" in json.loads(raised.value.body)
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            served["distribution"].pulp_href, {"boot_origin": boot_origin}
        )
    assert raised.value.status == 400 and "boot_origin" in json.loads(raised.value.body)
    assert "evil" not in _get(f"{served['base']}/42/x86_64/boot.ipxe").text


def test_changing_the_boot_origin_changes_the_served_documents(
    kickstart_bindings, served, monitor_task
):
    url = f"{served['base']}/42/x86_64/grub.cfg"
    assert "(http,127.0.0.1:24816)" in _get(url).text
    _get(url)  # cached now (the stack runs pulpcore's content cache)
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            served["distribution"].pulp_href, {"boot_origin": "http://10.0.2.2:24816"}
        ).task
    )
    moved = _get(url)
    assert "(http,10.0.2.2:24816)" in moved.text and moved.headers.get("X-PULP-CACHE") != "HIT"
    assert _get(url).headers.get("X-PULP-CACHE") == "HIT"
    assert (
        kickstart_bindings.DistributionsKickstartApi.read(
            served["distribution"].pulp_href
        ).boot_origin
        == "http://10.0.2.2:24816"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"},
        {"X-Forwarded-Host": "10.0.2.2:24816"},  # a listed host: still not the request's to choose
        {"Host": "evil.example"},
    ],
)
def test_request_headers_never_decide_where_a_machine_boots(served, headers):
    expected = f"http://127.0.0.1:24816/pulp/content/{served['base_path']}/"
    for path in ("boot.ipxe", "trees.json", "42/x86_64/boot.ipxe", "42/x86_64/grub.cfg"):
        body = _get(f"{served['base']}/{path}", **headers).text
        assert "evil" not in body and "10.0.2.2" not in body and "reboot" not in body
        assert expected in body or "(http,127.0.0.1:24816)" in body, path


def test_a_host_header_that_is_no_host_name_is_a_bad_request(served):
    for host in ("10.0.2.2:24816;reboot", "a b", "evil.example/x"):
        response = requests.get(f"{served['base']}/boot.ipxe", headers={"Host": host}, timeout=30)
        assert response.status_code == 400, host


def test_the_api_serves_the_same_index_as_trees_json(kickstart_bindings, served):
    href = served["distribution"].pulp_href
    through_api = kickstart_bindings.DistributionsKickstartApi.trees(href)
    trees_json = _get(f"{served['base']}/trees.json").json()
    assert through_api.to_dict() == trees_json
    # The model drops nothing the API sends: the raw answer is the same document.
    raw = kickstart_bindings.DistributionsKickstartApi.trees_without_preload_content(href)
    assert raw.status == 200 and json.loads(raw.read()) == trees_json
    assert len(through_api.trees) == 3


def test_a_pre_release_tree_gets_a_treeinfo_productmd_loads(
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    latest_version,
    trees,
):
    upstream = kickstart_upstream
    upstream.netboot("42-beta-amd64", fedora.tree_files("42-beta", "amd64", salt=upstream.name))
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(upstream, include_tags=["42-beta*"]))
    (tree,) = trees(latest_version(repository))
    assert tree.version == "42-beta"
    base = kickstart_distribution_factory(repository).base_url
    text = _get(f"{base}42-beta/x86_64/.treeinfo").text
    info = productmd.treeinfo.TreeInfo()
    info.loads(text)
    assert info.release.version == "42" and "\nname = Fedora 42-beta\n" in text


def test_menu_and_index_list_every_tree(served):
    expected = {("41", "x86_64"), ("42", "x86_64"), ("42", "aarch64")}
    menu = _get(f"{served['base']}/boot.ipxe").text
    for release, arch in expected:
        assert f"item {release}-{arch} Install {release} {arch}\n" in menu
        assert f"chain {served['base']}/{release}/{arch}/boot.ipxe\n" in menu

    index = _get(f"{served['base']}/trees.json").json()
    assert index["base_url"] == f"{served['base']}/"
    assert {(t["version"], t["arch"]) for t in index["trees"]} == expected
    tree = next(t for t in index["trees"] if (t["version"], t["arch"]) == ("42", "x86_64"))
    assert tree["boot"]["ipxe"] == f"{served['base']}/42/x86_64/boot.ipxe"
    kernel = next(f for f in tree["files"] if f["role"] == "kernel")
    body = _get(kernel["url"]).content
    assert len(body) == kernel["size"] and hashlib.sha256(body).hexdigest() == kernel["sha256"]


def test_listings_show_generated_files(served):
    root = _get(f"{served['base']}/").text
    assert 'href="./boot.ipxe"' in root and 'href="./trees.json"' in root and 'href="./42/"' in root
    tree = _get(f"{served['base']}/42/x86_64/").text
    for name in (".treeinfo", "boot.ipxe", "grub.cfg", "pxelinux.cfg/", "images/", "EFI/"):
        assert f'href="./{name}"' in tree, name
    assert 'href="./grub.cfg"' in _get(f"{served['base']}/42/x86_64/EFI/BOOT/").text
    assert 'href="./default"' in _get(f"{served['base']}/42/x86_64/pxelinux.cfg/").text


@pytest.mark.parametrize("path", ["boot.ipxe", ".treeinfo", "grub.cfg"])
def test_generated_documents_answer_head_and_ignore_ranges(served, path):
    url = f"{served['base']}/42/x86_64/{path}"
    whole = _get(url).content
    head = requests.head(url, timeout=60)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(whole)
    # A partial document could be cached as the whole: Range is ignored (RFC 9110 allows it).
    for wanted in ("bytes=0-0", "bytes=10-19", "bytes=-7", "bytes=abc-def", "bytes=5-2"):
        part = requests.get(url, headers={"Range": wanted}, timeout=60)
        assert part.status_code == 200 and part.content == whole, wanted
        assert "Content-Range" not in part.headers
    assert part.headers["Accept-Ranges"] == "none"


@pytest.mark.parametrize("path", ["images/pxeboot/vmlinuz", "images/install.img"])
def test_head_and_range_work_on_files(served, path):
    url = f"{served['base']}/42/x86_64/{path}"
    whole = _get(url).content

    head = requests.head(url, timeout=60)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(whole)
    assert head.content == b""

    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=60)
    assert part.status_code == 206
    assert part.content == whole[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(whole)}"

    tail = requests.get(url, headers={"Range": "bytes=-7"}, timeout=60)
    assert tail.status_code == 206 and tail.content == whole[-7:]

    beyond = requests.get(url, headers={"Range": f"bytes={len(whole) + 5}-"}, timeout=60)
    assert beyond.status_code == 416


def test_foreman_medium_path_resolves(served):
    # Foreman medium: http://HOST/pulp/content/<base_path>/$major/$arch/
    medium = f"{served['base']}/{{major}}/{{arch}}/".format(major="42", arch="x86_64")
    assert _get(medium + "images/pxeboot/vmlinuz").content
    assert _get(medium + "images/pxeboot/initrd.img").content
    assert "mainimage = images/install.img" in _get(medium + ".treeinfo").text


def test_a_new_release_appears_without_other_calls_and_a_failed_sync_changes_nothing(
    served, kickstart_publish_release, kickstart_sync
):
    kickstart_publish_release(served["upstream"], "43", archs=("amd64",))
    kickstart_sync(served["repository"], served["remote"])
    assert _get(f"{served['base']}/43/x86_64/boot.ipxe").text.startswith("#!ipxe")
    assert "43-x86_64" in _get(f"{served['base']}/boot.ipxe").text
    before = _get(f"{served['base']}/trees.json").json()

    served["upstream"].netboot("44-amd64", [("vmlinuz", fedora.kernel("44")), ("../escape", b"no")])
    task = kickstart_sync(served["repository"], served["remote"], expect_failure=True)

    assert task.state == "failed"
    assert _get(f"{served['base']}/trees.json").json() == before
    assert requests.get(f"{served['base']}/44/x86_64/boot.ipxe", timeout=60).status_code == 404


def test_a_fixed_repository_version_keeps_serving_what_it_had(
    served,
    kickstart_distribution_factory,
    kickstart_publish_release,
    kickstart_sync,
    latest_version,
):
    version = latest_version(served["repository"])
    pinned = kickstart_distribution_factory(repository_version=version)
    kickstart_publish_release(served["upstream"], "43", archs=("amd64",))
    kickstart_sync(served["repository"], served["remote"])

    pinned_index = _get(f"{pinned.base_url}trees.json").json()
    assert "43" not in {t["version"] for t in pinned_index["trees"]}
    live_index = _get(f"{served['base']}/trees.json").json()
    assert "43" in {t["version"] for t in live_index["trees"]}


def test_a_guarded_distribution_refuses_anonymous_clients(
    kickstart_bindings, pulpcore_bindings, gen_object_with_cleanup, monitor_task, served
):
    secret = unique("token")
    guard = gen_object_with_cleanup(
        pulpcore_bindings.ContentguardsHeaderApi,
        {"name": unique("guard"), "header_name": "X-Boot-Token", "header_value": secret},
    )
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            served["distribution"].pulp_href, {"content_guard": guard.pulp_href}
        ).task
    )

    for path in ("42/x86_64/images/pxeboot/vmlinuz", "42/x86_64/boot.ipxe", "trees.json"):
        url = f"{served['base']}/{path}"
        assert requests.get(url, timeout=60).status_code == 403, path
        # The header guard compares the base64-decoded header with its value.
        token = base64.b64encode(secret.encode()).decode()
        assert requests.get(url, headers={"X-Boot-Token": token}, timeout=60).status_code == 200


@pytest.mark.parametrize(
    "fields",
    [
        {"kernel_args": "quiet\ninitrd http://evil/x"},
        {"kernel_args": "a; reboot"},
        {"kernel_args": "quiet # inst.ks dropped"},
        {"kickstart_url": "http://ks.example/a.cfg?x=1&&reboot"},
        {"kickstart_url": "not a url"},
        {"kickstart_url": "http://ks.example/a b.cfg"},
        # Printable ASCII only: no bidirectional controls or look-alikes in a boot script.
        {"kickstart_url": "http://ks.example/\u202eglf.cfg"},
        {"kickstart_url": "http://ks.\u0435xample/a.cfg"},
        {"ignition_url": "http://ign.example/\u202ejson.ign"},
        {"ignition_url": "http://ign.example/\u00e9.ign"},
        {"kernel_args": "console=ttyS0 \u200binst.text"},
        # Linux keeps 2048 bytes of the command line: the distribution's part must leave
        # room for the tree's URLs, or what comes last (inst.ks, Ignition) is cut silently.
        {"ignition_url": "http://ign.example/" + "a" * 1600 + ".ign"},
        {"kernel_args": "x" * 1000, "kickstart_url": "http://ks.example/" + "k" * 600},
    ],
)
def test_boot_options_that_could_break_a_config_are_refused(
    kickstart_bindings, kickstart_repository_factory, gen_object_with_cleanup, fields
):
    body = {
        "name": unique("dist"),
        "base_path": unique("dist"),
        "repository": kickstart_repository_factory().pulp_href,
        **fields,
    }
    # Were it accepted, the distribution is deleted after the test all the same.
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        gen_object_with_cleanup(kickstart_bindings.DistributionsKickstartApi, body)
    assert raised.value.status == 400
    assert set(fields) <= set(json.loads(raised.value.body))


def test_treeinfo_renders_from_the_io_of_a_string(served):
    # The same document parses from a file object, as pulp_rpm and Anaconda read it.
    text = _get(f"{served['base']}/41/x86_64/.treeinfo").text
    info = productmd.treeinfo.TreeInfo()
    info.load(io.StringIO(text))
    assert info.release.version == "41"
