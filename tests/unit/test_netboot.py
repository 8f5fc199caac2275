"""The netboot file-set rules: titles, layout, tags, architectures, manifests, magic bytes."""

import json

import pytest

from pulp_kickstart_oci.app.netboot import arch, artifact, inspect, layout, tags
from pulp_kickstart_oci.testing import fedora

SHA = "sha256:" + "a" * 64
SHA_B = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    "title, reason",
    [
        ("", "empty"),
        ("/boot/vmlinuz", "absolute"),
        ("../vmlinuz", "'..'"),
        ("images/../../vmlinuz", "'..'"),
        ("EFI\\BOOT\\BOOTX64.EFI", "plain segments"),
        ("vmlinuz\n", "plain segments"),
        ("bad\x00name", "plain segments"),
        ("vmlinuz inst.vnc inst.vncpassword=x", "plain segments"),
        ("vmlinuz;reboot", "plain segments"),
        ("${evil}", "plain segments"),
        ("a//b", "normalised"),
        ("./vmlinuz", "normalised"),
        ("dir/", "normalised"),
    ],
)
def test_unsafe_titles_are_refused(title, reason):
    with pytest.raises(layout.InvalidTitle, match=reason if reason != "empty" else "empty"):
        layout.validate_title(title)


@pytest.mark.parametrize(
    "title, path, role",
    [
        ("vmlinuz", "images/pxeboot/vmlinuz", "kernel"),
        ("initrd.img", "images/pxeboot/initrd.img", "initrd"),
        ("install.img", "images/install.img", "stage2"),
        ("boot.iso", "images/boot.iso", "iso"),
        ("efiboot.img", "images/efiboot.img", "other"),
        ("shimx64.efi", "EFI/BOOT/shimx64.efi", "shim"),
        ("shim.efi", "EFI/BOOT/shim.efi", "shim"),
        ("BOOTX64.EFI", "EFI/BOOT/BOOTX64.EFI", "shim"),
        ("grubaa64.efi", "EFI/BOOT/grubaa64.efi", "grub"),
        ("mmx64.efi", "EFI/BOOT/mmx64.efi", "other"),
        ("grubx64.0", "grubx64.0", "grub"),
        ("pxelinux.0", "pxelinux.0", "pxelinux"),
        ("ldlinux.c32", "ldlinux.c32", "pxelinux"),
        ("README", "extra/README", "other"),
        ("docs/notes.txt", "extra/docs/notes.txt", "other"),
        ("vmlinuz/inside", "extra/vmlinuz/inside", "other"),
    ],
)
def test_titles_are_placed_where_installers_look(title, path, role):
    assert layout.place(title) == layout.Placement(path, role)


def test_tag_selection_defaults_to_releases_and_globs_override():
    upstream = ["41", "41-amd64", "42", "42-arm64", "9.4-x86_64", "latest", "rawhide", "42-rc1"]
    assert tags.select(upstream) == ["41", "41-amd64", "42", "42-arm64", "9.4-x86_64"]
    assert tags.select(upstream, include=["4*"], exclude=["*-amd64"]) == [
        "41",
        "42",
        "42-arm64",
        "42-rc1",
    ]
    assert tags.select(upstream, include=["rawhide"]) == ["rawhide"]


@pytest.mark.parametrize(
    "tag, expected",
    [
        ("42", ("42", None)),
        ("42-amd64", ("42", "amd64")),
        ("42-x86_64", ("42", "amd64")),
        ("9.4-arm64", ("9.4", "arm64")),
        ("f42-beta", ("f42-beta", None)),
        ("-amd64", ("-amd64", None)),
    ],
)
def test_tags_split_into_release_and_arch(tag, expected):
    assert tags.split(tag) == expected


def test_architecture_names_convert_both_ways():
    assert arch.to_fedora("amd64") == "x86_64"
    assert arch.to_fedora("aarch64") == "aarch64"
    assert arch.to_oci("aarch64") == "arm64"
    assert arch.to_oci("s390x") == "s390x"
    with pytest.raises(arch.UnknownArchitecture):
        arch.to_oci("sparc")


def _manifest(layers, **extra):
    document = {
        "schemaVersion": 2,
        "mediaType": artifact.OCI_MANIFEST,
        "artifactType": artifact.NETBOOT_ARTIFACT_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": SHA, "size": 2},
        "layers": layers,
        "annotations": {artifact.NETBOOT_VERSION: "1"},
    }
    document.update(extra)
    return json.dumps(document).encode()


def _layer(title, digest=SHA, size=10, media_type=artifact.NETBOOT_FILE):
    layer = {"mediaType": media_type, "digest": digest, "size": size}
    if title is not None:
        layer["annotations"] = {artifact.TITLE: title}
    return layer


def test_manifest_layers_become_tree_files():
    parsed = artifact.parse_manifest(
        _manifest([_layer("vmlinuz"), _layer("install.img", SHA_B), _layer("boot.iso", SHA_B)]),
        "sha256:m",
    )
    assert [(f.name, f.path, f.role, f.sha256) for f in parsed.files] == [
        ("vmlinuz", "images/pxeboot/vmlinuz", "kernel", "a" * 64),
        ("install.img", "images/install.img", "stage2", "b" * 64),
        ("boot.iso", "images/boot.iso", "iso", "b" * 64),
    ]
    assert parsed.warnings == []


def test_untitled_layers_are_skipped_with_a_warning_and_repeats_collapse():
    parsed = artifact.parse_manifest(
        _manifest([_layer("vmlinuz"), _layer("vmlinuz"), _layer(None, SHA_B)]), "sha256:m"
    )
    assert [f.name for f in parsed.files] == ["vmlinuz"]
    assert len(parsed.warnings) == 1 and "no title" in parsed.warnings[0]


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{not json", "not valid JSON"),
        (_manifest([_layer("../x")]), "'..' segment"),
        (_manifest([_layer("vmlinuz"), _layer("VMLINUZ", SHA_B)]), "already takes"),
        (_manifest([_layer("vmlinuz", digest="sha512:" + "a" * 128)]), "only sha256"),
        (_manifest([_layer("vmlinuz", size=-1)]), "invalid size"),
        (
            _manifest([_layer("vmlinuz", media_type="application/x-netboot-file+zstd")]),
            "compressed",
        ),
        (_manifest([]), "no titled layers"),
        # Read one way only: a key twice could mean one thing here and another to the next
        # reader of the kept bytes (a push, an import, another Pulp's replica).
        (_manifest([_layer("vmlinuz")])[:-1] + b', "layers": []}', "'layers' appears twice"),
        (b'{"schemaVersion": NaN}', "NaN is not a JSON number"),
        (
            _manifest([_layer("vmlinuz")], artifactType="application/vnd.example.sbom"),
            "not a netboot",
        ),
        (
            _manifest(
                [_layer("vmlinuz", media_type="application/vnd.oci.image.layer.v1.tar+gzip")],
                artifactType=None,
            ),
            "container image",
        ),
    ],
)
def test_bad_manifests_are_refused_with_a_reason(raw, message):
    with pytest.raises(artifact.InvalidArtifact, match=message):
        artifact.parse_manifest(raw, "sha256:m")


def test_manifests_without_netboot_metadata_are_accepted_with_warnings():
    raw = _manifest([_layer("vmlinuz")], artifactType=None, annotations={})
    parsed = artifact.parse_manifest(raw, "sha256:m")
    assert len(parsed.warnings) == 2
    assert parsed.artifact_type == ""


def test_index_entries_skip_attestations_and_foreign_payloads():
    index = {
        "schemaVersion": 2,
        "mediaType": artifact.OCI_INDEX,
        "manifests": [
            {
                "mediaType": artifact.OCI_MANIFEST,
                "digest": SHA,
                "size": 5,
                "platform": {"architecture": "amd64", "os": "linux", "os.version": "fedora-42"},
            },
            {
                "mediaType": artifact.OCI_MANIFEST,
                "digest": SHA_B,
                "size": 5,
                "platform": {"architecture": "unknown", "os": "unknown"},
            },
            {
                "mediaType": artifact.OCI_INDEX,
                "digest": SHA_B,
                "size": 5,
                "platform": {"architecture": "arm64", "os": "linux"},
            },
        ],
        "annotations": {artifact.NETBOOT_VERSION: "1"},
    }
    entries, annotations = artifact.parse_index(json.dumps(index).encode(), "sha256:i")
    assert [(e.digest, e.oci_arch, e.os_version) for e in entries] == [(SHA, "amd64", "fedora-42")]
    assert annotations == {artifact.NETBOOT_VERSION: "1"}


@pytest.mark.parametrize(
    "name, role, data",
    [
        ("vmlinuz", "kernel", fedora.kernel("k")),
        ("initrd.img", "initrd", fedora.initrd("i")),
        ("install.img", "stage2", fedora.stage2("s")),
        ("boot.iso", "iso", fedora.iso("b")),
        ("shimx64.efi", "shim", fedora.efi("e")),
        ("grubx64.efi", "grub", fedora.efi("g")),
        ("pxelinux.0", "pxelinux", fedora.pxelinux("p")),
        ("README", "other", b"x"),
    ],
)
def test_real_looking_files_pass_the_checks(name, role, data):
    assert inspect.check(name, role, len(data), data[: inspect.HEAD_SIZE]) is None


@pytest.mark.parametrize(
    "name, role, data, message",
    [
        ("boot.iso", "iso", b"x" * 196, "196 bytes, too small"),
        ("boot.iso", "iso", fedora.stage2("s", size=0x9000), "ISO 9660"),
        ("vmlinuz", "kernel", b"\0" * 8192, "Linux kernel"),
        ("install.img", "stage2", fedora.iso("i"), "installer image"),
        ("shimx64.efi", "shim", b"\0" * 4096, "EFI executable"),
        ("initrd.img", "initrd", b"\0" * 4096, "initramfs"),
    ],
)
def test_placeholders_and_mislabelled_files_are_flagged(name, role, data, message):
    warning = inspect.check(name, role, len(data), data[: inspect.HEAD_SIZE])
    assert warning is not None and message in warning and warning.startswith(name)


def test_without_the_bytes_only_size_is_judged():
    assert "too small" in inspect.check("boot.iso", "iso", 196)
    assert inspect.check("vmlinuz", "kernel", 10_000_000) is None


def test_lenient_names_convert_known_and_keep_unknown():
    assert arch.oci_name("x86_64") == arch.oci_name("amd64") == "amd64"
    assert arch.fedora_name("arm64") == arch.fedora_name("aarch64") == "aarch64"
    assert arch.oci_name("mips64le") == arch.fedora_name("mips64le") == "mips64le"


_DJANGO_LAYERS = ("models", "serializers", "viewsets", "tasks", "serving", "content")


@pytest.mark.parametrize("package", ["netboot", "boot"])
def test_low_layers_import_nothing_from_django_layers(package):
    import ast
    import importlib.util
    from pathlib import Path

    app = Path(artifact.__file__).resolve().parent.parent
    forbidden = ("django", "pulpcore", "rest_framework") + tuple(
        f"pulp_kickstart_oci.app.{layer}" for layer in _DJANGO_LAYERS
    )
    here = f"pulp_kickstart_oci.app.{package}"
    for source in (app / package).glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), here)
                modules = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                assert not any(
                    module == name or module.startswith(name + ".") for name in forbidden
                ), (source.name, module)


def test_user_facing_messages_go_through_gettext(monkeypatch):
    monkeypatch.setattr(artifact, "_", lambda text: "T:" + text)
    monkeypatch.setattr(layout, "_", lambda text: "T:" + text)
    monkeypatch.setattr(inspect, "_", lambda text: "T:" + text)
    with pytest.raises(artifact.InvalidArtifact, match="^T:T:manifest .* is not valid JSON"):
        artifact.parse_manifest(b"{", SHA)
    with pytest.raises(layout.InvalidTitle, match="^T:title '/x' is an absolute path"):
        layout.validate_title("/x")
    assert inspect.check("boot.iso", "iso", 196).startswith("T:boot.iso: 196 bytes")
