"""bootc.ks on the stack (issue 22, section 3): a distribution naming a bootable container
serves, for every Anaconda tree, a kickstart that installs it; pykickstart (Anaconda's
parser) accepts it with the handler of the tree's release; boot configs point inst.ks at
it when asked; listings, exports, trees.json and the API's trees view name it; a change
is served at once through pulpcore's content cache; malformed references are 400s.
"""

import json
import shutil
import warnings

import pytest
import requests
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

from pulp_kickstart_oci.pytest_plugin import unique
from tests.functional.test_export import EXPORTS

RELEASES = ("41", "42", "43", "44")  # ostreecontainer before 43, bootc from 43
IMAGE = "quay.io/fedora/fedora-bootc:42"
SITE_KICKSTART = "http://ks.example/site.ks"


def _get(url):
    response = requests.get(url, timeout=60)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return response


def _parse(text, release):
    """bootc.ks as Anaconda of ``release`` reads it (the %include is the site's, not fetched
    here; tests/unit/test_bootc.py follows one); every warning is an error."""
    handler = makeVersion(f"F{release}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KickstartParser(handler, followIncludes=False).readKickstartFromString(text)
    return handler


@pytest.fixture
def bootc_served(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
):
    """Releases 41 to 44 (amd64) synced and served by a distribution naming a bootc image."""
    for release in RELEASES:
        kickstart_publish_release(kickstart_upstream, release, archs=("amd64",))
    repository = kickstart_repository_factory()
    kickstart_sync(repository, kickstart_oci_remote_factory(kickstart_upstream))
    distribution = kickstart_distribution_factory(
        repository, bootc_image=IMAGE, kickstart_url=SITE_KICKSTART
    )
    return {"distribution": distribution, "base": distribution.base_url.rstrip("/")}


def _update(kickstart_bindings, monitor_task, distribution, **fields):
    monitor_task(
        kickstart_bindings.DistributionsKickstartApi.partial_update(
            distribution.pulp_href, fields
        ).task
    )


def test_every_release_serves_a_bootc_ks_its_pykickstart_accepts(bootc_served):
    base = bootc_served["base"]
    for release in RELEASES:
        url = f"{base}/{release}/x86_64/bootc.ks"
        response = _get(url)
        assert response.headers["Content-Type"].startswith("text/plain")
        handler = _parse(response.text, release)
        if int(release) >= 43:
            assert handler.bootc.seen and not handler.ostreecontainer.seen
            assert handler.bootc.sourceImgRef == f"registry:{IMAGE}"
            assert handler.bootc.targetImgRef == IMAGE
        else:
            assert handler.ostreecontainer.seen and not hasattr(handler, "bootc")
            assert handler.ostreecontainer.url == IMAGE
            assert not handler.ostreecontainer.noSignatureVerification
        assert handler.clearpart.initAll and handler.reqpart.addBoot
        assert response.text.endswith(f"%include {SITE_KICKSTART}\n")
        head = requests.head(url, timeout=60)
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == len(response.content)
        listing = _get(f"{base}/{release}/x86_64/").text
        assert 'href="./bootc.ks"' in listing
    # The stable path serves the newest tree's.
    assert _get(f"{base}/latest/x86_64/bootc.ks").text == _get(f"{base}/44/x86_64/bootc.ks").text


def test_trees_json_and_the_api_name_each_trees_bootc_ks(kickstart_bindings, bootc_served):
    base = bootc_served["base"]
    index = _get(f"{base}/trees.json").json()
    assert {tree["version"]: tree["bootc"] for tree in index["trees"]} == {
        release: f"{base}/{release}/x86_64/bootc.ks" for release in RELEASES
    }
    through_api = kickstart_bindings.DistributionsKickstartApi.trees(
        bootc_served["distribution"].pulp_href
    )
    assert through_api.to_dict() == index


def test_boot_configs_point_inst_ks_at_bootc_ks_when_asked_and_at_once(
    kickstart_bindings, monitor_task, bootc_served
):
    base, distribution = bootc_served["base"], bootc_served["distribution"]
    paths = ("boot.ipxe", "grub.cfg", "pxelinux.cfg/default")
    for path in paths:
        url = f"{base}/42/x86_64/{path}"
        assert f"inst.ks={SITE_KICKSTART}" in _get(url).text
        assert _get(url).headers.get("X-PULP-CACHE") == "HIT"  # cached now
    _update(kickstart_bindings, monitor_task, distribution, bootc_kickstart=True)
    for release in RELEASES:
        for path in paths:
            text = _get(f"{base}/{release}/x86_64/{path}").text
            assert text.count("inst.ks=") == 1, path
            assert f"inst.ks={base}/{release}/x86_64/bootc.ks" in text, path
    # The boot menu chains to the same configs; bootc.ks itself still includes the site's.
    assert _get(f"{base}/42/x86_64/bootc.ks").text.endswith(f"%include {SITE_KICKSTART}\n")


def test_a_new_image_is_served_at_once(kickstart_bindings, monitor_task, bootc_served):
    base, distribution = bootc_served["base"], bootc_served["distribution"]
    url = f"{base}/43/x86_64/bootc.ks"
    assert IMAGE in _get(url).text
    assert _get(url).headers.get("X-PULP-CACHE") == "HIT"
    moved = f"registry.example.com:5000/site/bootc@sha256:{'ab' * 32}"
    _update(kickstart_bindings, monitor_task, distribution, bootc_image=moved)
    fresh = _get(url)
    assert fresh.headers.get("X-PULP-CACHE") != "HIT"
    assert _parse(fresh.text, "43").bootc.sourceImgRef == f"registry:{moved}"
    assert _get(f"{base}/trees.json").json()["trees"][0]["bootc"].endswith("/bootc.ks")

    # A disconnected site: an OCI layout on the install media, signatures not checked.
    _update(
        kickstart_bindings,
        monitor_task,
        distribution,
        bootc_image="/run/install/repo/bootc:42",
        bootc_transport="oci",
        bootc_verify_signature=False,
    )
    old = _parse(_get(f"{base}/42/x86_64/bootc.ks").text, "42").ostreecontainer
    assert (old.url, old.transport, old.noSignatureVerification) == (
        "/run/install/repo/bootc:42",
        "oci",
        True,
    )
    new = _parse(_get(url).text, "43").bootc
    assert new.sourceImgRef == "oci:/run/install/repo/bootc:42"

    # No image: no bootc.ks, trees.json says null, and boot configs keep kickstart_url.
    _update(kickstart_bindings, monitor_task, distribution, bootc_image=None)
    assert requests.get(url, timeout=60).status_code == 404
    assert all(tree["bootc"] is None for tree in _get(f"{base}/trees.json").json()["trees"])
    assert 'href="./bootc.ks"' not in _get(f"{base}/43/x86_64/").text


def test_an_export_writes_bootc_ks_as_served(kickstart_bindings, monitor_task, bootc_served):
    base, distribution = bootc_served["base"], bootc_served["distribution"]
    path = EXPORTS / unique("bootc-export")
    try:
        monitor_task(
            kickstart_bindings.DistributionsKickstartApi.export(
                distribution.pulp_href, {"path": str(path)}
            ).task
        )
        for release in RELEASES:
            written = (path / release / "x86_64" / "bootc.ks").read_bytes()
            assert written == _get(f"{base}/{release}/x86_64/bootc.ks").content
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"bootc_image": "quay.io/fedora/bootc:42;reboot"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc:$(reboot)"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc:42\n%pre\nreboot\n%end"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc:42 --no-signature-verification"}, "bootc_image"),
        ({"bootc_image": " quay.io/fedora/bootc:42"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc:\u0664\u0662"}, "bootc_image"),
        ({"bootc_image": "quay.io/f\u0435dora/bootc"}, "bootc_image"),
        ({"bootc_image": "quay.io/" + "a" * 300}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc:" + "t" * 129}, "bootc_image"),
        ({"bootc_image": "fedora/fedora-bootc:42"}, "bootc_image"),  # no registry host
        ({"bootc_image": "quay.io/Fedora/bootc"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc@sha256:1234"}, "bootc_image"),
        ({"bootc_image": "quay.io/fedora/bootc", "bootc_transport": "oci"}, "bootc_image"),
        ({"bootc_image": "run/install/repo/bootc", "bootc_transport": "oci"}, "bootc_image"),
        ({"bootc_image": "/run/install/../../etc", "bootc_transport": "oci"}, "bootc_image"),
        ({"bootc_kickstart": True}, "bootc_kickstart"),
        ({"bootc_image": "quay.io/a/b", "kickstart_url": "nfs:server:/ks.cfg"}, "bootc_image"),
    ],
)
def test_malformed_bootc_settings_are_400s_naming_the_field(
    kickstart_bindings, kickstart_repository_factory, gen_object_with_cleanup, fields, field
):
    body = {
        "name": unique("bootc"),
        "base_path": unique("bootc"),
        "repository": kickstart_repository_factory().pulp_href,
        **fields,
    }
    # Were it accepted, the distribution is deleted after the test all the same.
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        gen_object_with_cleanup(kickstart_bindings.DistributionsKickstartApi, body)
    assert raised.value.status == 400
    assert field in json.loads(raised.value.body)


def test_an_update_is_checked_against_what_the_distribution_has(
    kickstart_bindings, bindings_cfg, kickstart_distribution_factory
):
    """A partial update (a raw PATCH: the generated client fills in defaults) is held to the
    stored fields: a transport that does not fit the stored image, and dropping the image
    while boot configs still point at bootc.ks."""
    distribution = kickstart_distribution_factory(bootc_image=IMAGE, bootc_kickstart=True)
    url = f"{bindings_cfg.host}{distribution.pulp_href}"
    auth = (bindings_cfg.username, bindings_cfg.password)
    for fields, field in (
        ({"bootc_transport": "oci"}, "bootc_image"),
        ({"bootc_image": None}, "bootc_kickstart"),
        ({"bootc_transport": "docker"}, "bootc_transport"),
    ):
        response = requests.patch(url, json=fields, auth=auth, timeout=60)
        assert response.status_code == 400 and field in response.json(), fields
    stored = kickstart_bindings.DistributionsKickstartApi.read(distribution.pulp_href)
    assert (stored.bootc_image, stored.bootc_transport, stored.bootc_kickstart) == (
        IMAGE,
        "registry",
        True,
    )
    assert stored.bootc_verify_signature is True
