"""The quirks TolerantTreeInfo reads through, and the ones it still refuses."""

import pytest

from pulp_kickstart_oci.app.dnf import treeinfo
from pulp_kickstart_oci.app.dnf.errors import DnfError

WHERE = "tree/.treeinfo"
HEADER = "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n"
RELEASE = "[release]\nname = Fedora\nshort = Fedora\nversion = 42\n\n"
TREE = "[tree]\narch = x86_64\nbuild_timestamp = 1\nplatforms = x86_64\nvariants = Everything\n\n"
VARIANT = "[variant-Everything]\nid = Everything\nname = Everything\ntype = variant\n"
VARIANT += "uid = Everything\n\n"
IMAGES = "[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n\n"
STAGE2 = "[stage2]\nmainimage = images/install.img\n\n"
GOOD = HEADER + RELEASE + TREE + VARIANT + IMAGES + STAGE2
SHA = "ab" * 32
GENERAL = "[general]\nfamily = Fedora\nversion = 42\n\n"


def parse(text):
    return treeinfo.parse(text, WHERE)


def lenient(facts):
    return [w for w in facts.warnings if "read leniently" in w]


def test_a_well_formed_file_is_read_without_warnings():
    facts = parse(GOOD)
    assert (facts.family, facts.version, facts.arch) == ("Fedora", "42", "x86_64")
    assert facts.images == {
        "kernel": "images/pxeboot/vmlinuz",
        "initrd": "images/pxeboot/initrd.img",
    }
    assert facts.stage2 == "images/install.img"
    assert facts.warnings == []


def test_the_reader_is_a_productmd_treeinfo():
    import productmd.treeinfo

    info = treeinfo.TolerantTreeInfo(WHERE)
    info.loads(GOOD)
    assert isinstance(info, productmd.treeinfo.TreeInfo)
    assert info.release.short == "Fedora" and info.quirks == []


@pytest.mark.parametrize(
    "text, quirk",
    [
        # productmd: "Invalid variant UID value" for an empty list
        (HEADER + RELEASE + TREE.replace("Everything", "") + IMAGES, "no usable variant"),
        # productmd: NoSectionError for a listed variant without its section
        (HEADER + RELEASE + TREE + IMAGES, "no usable variant"),
        (HEADER + RELEASE + TREE.replace("build_timestamp = 1\n", "") + VARIANT + IMAGES, "[tree]"),
        (HEADER + RELEASE + TREE.replace("platforms = x86_64\n", "") + VARIANT + IMAGES, "[tree]"),
        (RELEASE + TREE + VARIANT + IMAGES, "no [header]"),
        (HEADER.replace("productmd.treeinfo", "other") + RELEASE + TREE + VARIANT + IMAGES, "type"),
        (HEADER.replace("1.2", "two") + RELEASE + TREE + VARIANT + IMAGES, "MAJOR.MINOR"),
        # [release] only in the legacy [general] of a modern file
        (
            HEADER + "[general]\nfamily = Fedora\nversion = 42\n\n" + TREE + VARIANT + IMAGES,
            "release",
        ),
        # is_layered without [base_product]
        (
            HEADER + RELEASE.replace("\n\n", "\nis_layered = true\n\n") + TREE + VARIANT + IMAGES,
            "base product",
        ),
        (GOOD + "[media]\ndiscnum = one\ntotaldiscs = 1\n", "[media]"),
    ],
)
def test_quirks_are_read_with_a_warning_naming_them(text, quirk):
    facts = parse(text)
    assert (facts.version, facts.arch) == ("42", "x86_64")
    assert facts.images["kernel"] == "images/pxeboot/vmlinuz"
    (warning,) = lenient(facts)
    assert warning.startswith(f"{WHERE}: ") and quirk in warning


def test_a_legacy_general_only_file_is_read_by_productmd_legacy_reader():
    text = (
        "[general]\nfamily = Fedora\nversion = 42\narch = x86_64\ntimestamp = 1\n"
        "variant = Everything\npackagedir = Packages\n\n" + IMAGES + STAGE2
    )
    facts = parse(text)
    assert (facts.family, facts.version, facts.arch) == ("Fedora", "42", "x86_64")
    assert facts.stage2 == "images/install.img"
    assert facts.warnings == []


def test_a_legacy_file_without_variant_or_images_still_names_release_and_arch():
    facts = parse("[general]\nfamily = Fedora\nversion = 42\narch = x86_64\n")
    assert (facts.family, facts.version, facts.arch, facts.images) == ("Fedora", "42", "x86_64", {})
    assert len(lenient(facts)) == 1


def test_legacy_absolute_image_paths_are_made_relative_as_productmd_does():
    text = "[general]\nfamily = Fedora\nversion = 42\narch = x86_64\nvariant = Everything\n\n"
    text += "[images-x86_64]\nkernel = /pub/fedora/os/images/pxeboot/vmlinuz\n"
    assert parse(text).images == {"kernel": "images/pxeboot/vmlinuz"}


def test_a_missing_family_is_unknown():
    facts = parse(HEADER + "[release]\nversion = 42\n\n" + TREE + VARIANT + IMAGES)
    assert facts.family == "Unknown"
    assert lenient(facts)


def test_duplicate_keys_keep_the_last_value():
    text = GOOD + "[checksums]\nimages/pxeboot/vmlinuz = sha256:" + "0" * 64 + "\n"
    text += "images/pxeboot/vmlinuz = sha256:" + SHA + "\n"
    assert parse(text).checksums["images/pxeboot/vmlinuz"] == ("sha256", SHA)


def test_a_percent_sign_is_a_value_not_an_interpolation():
    # productmd's own parser raises InterpolationSyntaxError, naming no key.
    text = GOOD + "[checksums]\nimages/100%.img = sha256:" + SHA + "\n"
    with pytest.raises(DnfError, match=r"\[checksums\] entry 'images/100%.img'"):
        parse(text)


def test_a_percent_path_is_refused_by_the_grammar_naming_the_key():
    text = GOOD.replace("images/install.img", "images/install%20.img")
    with pytest.raises(DnfError, match=r"\[stage2\] mainimage"):
        parse(text)


def test_checksums_are_lower_cased_and_bare_digests_typed_by_length():
    text = GOOD + "[checksums]\n"
    text += "images/pxeboot/vmlinuz = SHA256:" + SHA.upper() + "\n"
    text += "images/pxeboot/initrd.img = " + "c" * 64 + "\n"
    text += "images/install.img = " + "d" * 32 + "\n"
    facts = parse(text)
    assert facts.checksums == {
        "images/pxeboot/vmlinuz": ("sha256", SHA),
        "images/pxeboot/initrd.img": ("sha256", "c" * 64),
        "images/install.img": ("md5", "d" * 32),
    }


def test_a_bare_digest_of_no_known_length_is_an_error_naming_the_path():
    text = GOOD + "[checksums]\nimages/install.img = abcdef\n"
    with pytest.raises(DnfError, match=r"\[checksums\] images/install.img is not ALGORITHM:HEX"):
        parse(text)


def test_an_image_platform_missing_from_tree_platforms_is_tolerated():
    facts = parse(GOOD + "[images-xen]\nkernel = images/xen/vmlinuz\n")
    assert facts.images["kernel"] == "images/pxeboot/vmlinuz"


@pytest.mark.parametrize(
    "text, message",
    [
        ("<!DOCTYPE html><html><body>Not Found</body></html>", "HTML page"),
        ("just text\n", "is not an INI file"),
        (HEADER + RELEASE + "[tree]\nbuild_timestamp = 1\n\n" + IMAGES, "no release version or"),
        (HEADER + "[release]\nname = Fedora\n\n" + TREE + VARIANT + IMAGES, "no release version"),
        ("[general]\nfamily = Fedora\narch = x86_64\n", "no release version or architecture"),
    ],
)
def test_what_is_not_a_treeinfo_is_refused(text, message):
    with pytest.raises(DnfError, match=message) as failure:
        parse(text)
    assert str(failure.value).startswith(WHERE)


@pytest.mark.parametrize(
    "text, key",
    [
        (GOOD.replace("version = 42", "version = 42\n  chain http://x/"), r"\[release\] version"),
        (GOOD.replace("arch = x86_64", "arch = x86 64"), r"\[tree\] arch"),
        (GOOD.replace("name = Fedora", "name = Fedora\n  x"), r"\[release\] name"),
        (GOOD.replace("images/install.img", "/images/install.img"), r"\[stage2\] mainimage"),
        (GOOD.replace("initrd = images", "initrd = ../images"), r"\[images-x86_64\] initrd"),
    ],
)
def test_tolerance_stops_at_values_every_value_meets_its_grammar(text, key):
    with pytest.raises(DnfError, match=key):
        parse(text)
