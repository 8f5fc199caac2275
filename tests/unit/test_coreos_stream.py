"""CoreOS stream metadata as a CoreOS sync reads it (netboot/coreos.py).

The fixture has the shape Fedora serves at builds.coreos.fedoraproject.org/streams/
stable.json (coreos/stream-metadata-go's schema): per architecture, metal artifacts
with a release and formats (pxe kernel/initramfs/rootfs, raw.xz, 4k.raw.xz, iso), each
file with location, signature and sha256; other platforms and cloud images beside.
"""

import copy
import json

import pytest

from pulp_kickstart_oci.app.netboot import coreos, layout

RELEASE = "44.20260707.3.1"
BASE = f"https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/{RELEASE}"
WHERE = "CoreOS stream https://builds.coreos.fedoraproject.org/streams/stable.json"


def _artifact(name, arch, digit):
    location = f"{BASE}/{arch}/fedora-coreos-{RELEASE}-{name}"
    return {"location": location, "signature": location + ".sig", "sha256": digit * 64}


def _arch(arch, kernel=None):
    return {
        "artifacts": {
            "metal": {
                "release": RELEASE,
                "formats": {
                    "4k.raw.xz": {"disk": _artifact(f"metal4k.{arch}.raw.xz", arch, "1")},
                    "iso": {"disk": _artifact(f"live-iso.{arch}.iso", arch, "2")},
                    "pxe": {
                        "kernel": _artifact(kernel or f"live-kernel.{arch}", arch, "3"),
                        "initramfs": _artifact(f"live-initramfs.{arch}.img", arch, "4"),
                        "rootfs": _artifact(f"live-rootfs.{arch}.img", arch, "5"),
                    },
                    "raw.xz": {"disk": _artifact(f"metal.{arch}.raw.xz", arch, "6")},
                },
            },
            "qemu": {"release": RELEASE, "formats": {"qcow2.xz": {"disk": {}}}},
        },
        "images": {"gcp": {"release": RELEASE, "project": "fedora-coreos-cloud"}},
    }


def _document(**changes):
    document = {
        "stream": "stable",
        "metadata": {"last-modified": "2026-07-21T14:07:12Z"},
        "architectures": {
            "x86_64": _arch("x86_64"),
            # The older kernel name (before stable 42.20250410.3.1): names come from location.
            "aarch64": _arch("aarch64", kernel="live-kernel-aarch64"),
            "riscv128": _arch("riscv128"),  # unknown here: ignored, not refused
        },
    }
    document.update(changes)
    return document


def _parse(document, **kwargs):
    return coreos.parse(json.dumps(document).encode(), WHERE, **kwargs)


def test_each_architecture_is_one_release_with_its_pxe_files_named_by_their_location():
    stream, releases = _parse(_document())
    assert stream == "stable"
    assert [(r.arch, r.release) for r in releases] == [("aarch64", RELEASE), ("x86_64", RELEASE)]
    aarch64, x86_64 = releases
    assert [(f.role, f.name) for f in x86_64.files] == [
        (layout.KERNEL, f"fedora-coreos-{RELEASE}-live-kernel.x86_64"),
        (layout.INITRD, f"fedora-coreos-{RELEASE}-live-initramfs.x86_64.img"),
        (layout.ROOTFS, f"fedora-coreos-{RELEASE}-live-rootfs.x86_64.img"),
    ]
    assert aarch64.files[0].name == f"fedora-coreos-{RELEASE}-live-kernel-aarch64"
    kernel = x86_64.files[0]
    assert kernel.url == f"{BASE}/x86_64/{kernel.name}" and kernel.sha256 == "3" * 64
    assert kernel.signature_url == kernel.url + ".sig"


def test_a_disk_image_and_the_iso_are_read_when_asked_for():
    (release,) = _parse(_document(), architectures=["x86_64"], extras=("disk", "iso"))[1]
    assert [(f.role, f.name.rsplit("-", 1)[-1]) for f in release.files][3:] == [
        (layout.DISK, "metal.x86_64.raw.xz"),
        (layout.ISO, "iso.x86_64.iso"),
    ]


def test_an_rhcos_stream_signs_nothing_and_ships_gzip_disks():
    document = _document()
    metal = document["architectures"]["x86_64"]["artifacts"]["metal"]
    metal["formats"]["raw.gz"] = metal["formats"].pop("raw.xz")
    for files in (metal["formats"]["pxe"], metal["formats"]["raw.gz"]):
        for item in files.values():
            item.pop("signature")
    (release,) = _parse(document, architectures=["x86_64"], extras=("disk",))[1]
    assert [f.signature_url for f in release.files] == [None, None, None, None]
    assert release.files[-1].name.endswith("metal.x86_64.raw.xz")  # named by its location


def _changed(path, value):
    document = _document()
    node = document
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


PXE = ("architectures", "x86_64", "artifacts", "metal", "formats", "pxe")
KERNEL = (*PXE, "kernel")


@pytest.mark.parametrize(
    "document, problem",
    [
        (_changed(("stream",), "stable\n#!ipxe"), "'stream' is not a stream name"),
        (_changed(("architectures",), []), "'architectures' is not an object"),
        (
            _changed(("architectures", "x86_64", "artifacts", "metal", "release"), "44 ; reboot"),
            "x86_64: metal release is not a release",
        ),
        (_changed((*PXE, "rootfs"), KeyError), "pxe rootfs is not an object"),
        (_changed((*KERNEL, "sha256"), "A" * 64), "pxe kernel: sha256 is not 64"),
        (_changed((*KERNEL, "location"), "ftp://h/k"), "is not an http(s) URL"),
        (_changed((*KERNEL, "location"), "https://u:p@h/k"), "without credentials"),
        (_changed((*KERNEL, "location"), "https://h/k?token=x"), "without credentials, query"),
        (_changed((*KERNEL, "location"), "https://h/k\nx"), "not a URL of printable ASCII"),
        (_changed((*KERNEL, "location"), "https://h/k\u202ex"), "not a URL of printable ASCII"),
        (_changed((*KERNEL, "location"), "https://h/k x"), "location holds a space"),
        (_changed((*KERNEL, "location"), "https://h/" + "k" * 4096), "longer than"),
        (_changed((*KERNEL, "location"), 7), "location is not a string"),
        (_changed((*KERNEL, "location"), "https://h/dir/"), "not a plain file name"),
        (_changed((*KERNEL, "location"), "https://h/k%20x"), "not a plain file name"),
        (_changed((*KERNEL, "signature"), "https://elsewhere/k.sig"), "'.sig' appended"),
    ],
)
def test_values_outside_their_grammar_are_refused_naming_where(document, problem):
    with pytest.raises(
        coreos.StreamError, match=problem.replace("(", r"\(").replace(")", r"\)")
    ) as refused:
        _parse(document, architectures=["x86_64"])
    assert str(refused.value).startswith(WHERE)


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b"[]", "not a JSON object"),
        (b'{"stream": "stable", "stream": "next"}', "appears twice"),
        (b'{"stream": NaN}', "not a JSON number"),
        (b"\xff", "not valid JSON"),
    ],
)
def test_a_document_that_is_not_strict_json_is_refused(raw, problem):
    with pytest.raises(coreos.StreamError, match=problem):
        coreos.parse(raw, WHERE)


def test_an_architecture_asked_for_and_missing_is_named():
    with pytest.raises(coreos.StreamError, match="stream stable has no architecture s390x"):
        _parse(_document(), architectures=["s390x"])


def test_a_missing_disk_image_asked_for_is_named():
    document = copy.deepcopy(_document())
    del document["architectures"]["x86_64"]["artifacts"]["metal"]["formats"]["raw.xz"]
    with pytest.raises(coreos.StreamError, match="no metal disk image"):
        _parse(document, architectures=["x86_64"], extras=("disk",))
