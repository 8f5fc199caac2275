"""docs/security.md is checked against the code: every test it cites exists, every
setting of the plugin is documented, and the defaults it states are the code's."""

import re
from pathlib import Path

from pulp_kickstart_oci.app import settings as plugin_settings

ROOT = Path(__file__).resolve().parents[2]
SECURITY = (ROOT / "docs" / "security.md").read_text()
TESTS = {path: path.read_text() for path in (ROOT / "tests").rglob("test_*.py")}


def _defined(name):
    pattern = re.compile(r"def " + re.escape(name.rstrip("*")))
    return any(pattern.search(text) for text in TESTS.values())


def test_every_cited_test_exists():
    missing = []
    for match in re.finditer(r"`((?:unit|functional)/\w+\.py)(?:::(\w+\*?))?`", SECURITY):
        path = ROOT / "tests" / match[1]
        if not path.exists() or (match[2] and not _defined(match[2])):
            missing.append(match[0])
    for match in re.finditer(r"`::(\w+\*?)`", SECURITY):
        if not _defined(match[1]):
            missing.append(match[0])
    for match in re.finditer(r"`(bench/\w+\.py)`", SECURITY):
        if not (ROOT / match[1]).exists():
            missing.append(match[0])
    assert missing == []


def test_every_setting_is_documented():
    documented = SECURITY + (ROOT / "docs" / "serving.md").read_text()
    names = [name for name in vars(plugin_settings) if name.startswith("KICKSTART_")]
    assert names and [name for name in names if f"`{name}`" not in documented] == []


def _stated(value):
    """How the docs write a default: 1 MiB, 64 KiB, 2 GiB, 100,000, 5, `[]`, `False`."""
    if not isinstance(value, int) or isinstance(value, bool):
        return f"`{value!r}`"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if isinstance(value, int) and value >= size and value % size == 0:
            return f"{value // size:,} {unit}"
    return f"{value:,}"


def test_the_defaults_in_the_tables_are_the_codes():
    rows = re.findall(r"^\| `(KICKSTART_\w+)` \| ([^|]+) \|", SECURITY, re.MULTILINE)
    assert len(rows) >= 15
    wrong = [
        (name, stated.strip(), _stated(getattr(plugin_settings, name)))
        for name, stated in rows
        if stated.strip() != _stated(getattr(plugin_settings, name))
    ]
    assert wrong == []
