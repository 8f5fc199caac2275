"""The changelog a release builds: `towncrier build` takes every fragment in CHANGES/.

towncrier reads `<issue>.<type>[.<number>]` only: a fragment named otherwise (`22.feature.pc`)
makes the release's `towncrier build` fail ("multiple files for 22.feature"), long after the
change that added it. The docs site's changelog reads the fragments itself (dev/docs/pages.py),
so only this test notices.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOWNCRIER = Path(sys.executable).with_name("towncrier")  # the docs venv's (dev/docs/requirements)
FRAGMENT = re.compile(r"\d+\.(feature|bugfix|doc|removal|misc)(\.\d+)?")


def test_every_fragment_is_named_as_towncrier_reads_it():
    names = [p.name for p in (ROOT / "CHANGES").iterdir() if not p.name.startswith(".")]
    assert names
    wrong = [name for name in names if not FRAGMENT.fullmatch(name)]
    assert not wrong, f"rename to <issue>.<type>[.<number>]: {wrong}"


def test_a_release_changelog_builds_with_every_fragment():
    built = subprocess.run(
        [str(TOWNCRIER), "build", "--draft", "--version", "0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    for fragment in (ROOT / "CHANGES").glob("2[0-9].feature*"):
        first_words = " ".join(fragment.read_text().split()[:4])
        assert first_words in " ".join(built.stdout.split()), fragment.name


def test_a_fragment_with_a_word_for_its_number_breaks_the_build(tmp_path):
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "CHANGES").mkdir()
    (tmp_path / "CHANGES" / ".TEMPLATE.md").write_text((ROOT / "CHANGES/.TEMPLATE.md").read_text())
    (tmp_path / "CHANGES.md").write_text((ROOT / "CHANGES.md").read_text())
    (tmp_path / "CHANGES" / "7.feature.a1").write_text("One.\n")
    (tmp_path / "CHANGES" / "7.feature.a2").write_text("Two.\n")
    built = subprocess.run(
        [str(TOWNCRIER), "build", "--draft", "--version", "0.0.0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode != 0 and "multiple files" in built.stdout + built.stderr
    assert not FRAGMENT.fullmatch("7.feature.a1")
