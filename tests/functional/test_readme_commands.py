"""The README's `make run` on a machine where everything is already set up installs nothing."""

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_LINES = (
    "creating the virtualenv",
    "installing Debian packages",
    "initialising PostgreSQL",
)


@pytest.mark.serial  # runs `make run` (dev/stack start, the sample) on the shared stack
def test_make_run_again_installs_nothing_and_syncs_the_sample():
    # make test started the stack (and so installed the venv and the CLI) just before.
    result = subprocess.run(
        ["make", "run"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for line in INSTALL_LINES:
        assert line not in output, f"a repeated make run printed {line!r}:\n{output[-3000:]}"
    assert "kernel served and sha256 verified: yes" in output
    assert "with pulp-cli:" in output
