"""The README's `make run` on a machine where everything is already set up installs nothing.

It still syncs the sample under signature_policy 'required', each tree vouched for by the
sample's publisher key (.run/sample/cosign.pub).
"""

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
    assert "signature_policy required, trusting only .run/sample/cosign.pub" in output
    trees = output.count("\ntree ")
    assert trees == 3, output[-3000:]
    signed = output.count("publisher signature verified: cosign, key sha256:")
    assert signed == trees, f"{signed} of {trees} trees show a verified signature:\n{output}"
    assert "with pulp-cli:" in output
