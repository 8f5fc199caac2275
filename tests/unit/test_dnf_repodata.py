"""RPM version order (rpm-rs) as dnf applies it, and the repodata errors users see."""

import pytest

from pulp_kickstart_oci.app.dnf import repodata
from pulp_kickstart_oci.app.dnf.errors import DnfError


@pytest.mark.parametrize(
    "older, newer",
    [
        (("0", "1.0", "1"), ("0", "1.0", "2")),
        (("0", "1.9", "1"), ("0", "1.10", "1")),  # numeric runs by value
        (("0", "1.0~rc1", "1"), ("0", "1.0", "1")),  # ~ sorts before everything
        (("0", "1.0", "1"), ("0", "1.0^git1", "1")),  # ^ after the base version
        (("0", "1.0^git1", "1"), ("0", "1.0.1", "1")),  # ... and before the next one
        (("0", "1.a", "1"), ("0", "1.1", "1")),  # letters before digits
        (("0", "2.0", "1"), ("1", "1.0", "1")),  # the epoch first
        (("9", "1", "1"), ("10", "1", "1")),  # epochs by value
        (("0", "15.6", "2"), ("0", "15.8", "3")),
        (("0", "6.04", "0.27"), ("0", "6.04", "0.27.fc42")),
    ],
)
def test_compare_evr_orders_as_rpm_does(older, newer):
    assert repodata.compare_evr(older, newer) == -1
    assert repodata.compare_evr(newer, older) == 1


@pytest.mark.parametrize(
    "a, b",
    [
        (("0", "1.0", "1"), ("0", "1.0", "1")),
        (("", "1.0", "1"), ("0", "1.0", "1")),  # no epoch is epoch 0
        (("00", "1.0", "1"), ("0", "1.0", "1")),
        (("0", "2.02", "1"), ("0", "2.2", "1")),  # leading zeros do not count
        (("0", "1_0", "1"), ("0", "1.0", "1")),  # separators are only separators
    ],
)
def test_compare_evr_equal(a, b):
    assert repodata.compare_evr(a, b) == 0


def test_package_ref_nevra_omits_a_zero_epoch():
    ref = repodata.PackageRef("shim-x64", "0", "15.8", "3", "x86_64", "P/s.rpm", "sha256", "a", 1)
    assert ref.nevra == "shim-x64-15.8-3.x86_64"
    assert ref.evr == ("0", "15.8", "3")
    epoch = repodata.PackageRef("g", "1", "2", "3", "noarch", "", "", "", 0)
    assert epoch.nevra == "g-1:2-3.noarch"


def test_an_unreadable_repomd_names_the_tree(tmp_path):
    repomd = tmp_path / "repomd.xml"
    repomd.write_text("<html>not repodata</html>")
    with pytest.raises(DnfError, match=r"^tree: repodata/repomd.xml"):
        repodata.primary_location(str(repomd), "tree")


def test_unreadable_primary_metadata_names_the_tree(tmp_path):
    primary = tmp_path / "primary.xml"
    primary.write_text("<metadata><package type='rpm'><name>x")
    with pytest.raises(DnfError, match="^tree: the primary metadata cannot be parsed"):
        repodata.newest_packages(str(primary), ["x"], {"noarch"}, "tree")
