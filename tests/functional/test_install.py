"""docs/install.md, followed on a freshly built wheel: the production install is tested.

The module builds the plugin's wheel from the checkout's files (tracked and new, as
``git ls-files`` lists them) in a temporary copy, and makes a new virtualenv
``.run/install/venv`` with the project's pulpcore version. It installs the wheel there
with the page's own pip commands, which pin pulpcore. The wheel must carry every file of
the package. A second Pulp (tests/support/second_pulp.py) then runs from that virtualenv
on a new database, migrated from scratch with the wheel's migrations. The page's
commands then run against it, taken from the page itself: the CLI's configuration,
``pulp status``, the migration check and the smoke sync (its upstream, quay.io, replaced
by a local registry). So the page cannot drift from the code. Leaving out a migration
or a module of the wheel fails the test.
"""

import fcntl
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from pulp_kickstart_oci.testing.oci import Pusher
from tests.support.second_pulp import SecondPulp

pytestmark = pytest.mark.serial

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "install.md"
INSTALL = ROOT / ".run" / "install"
VENV = INSTALL / "venv"
DEV_BIN = ROOT / ".venv" / "bin"  # pulp-cli with the `pulp kickstart` commands (cli/)
MIGRATIONS = ROOT / "pulp_kickstart_oci" / "app" / "migrations"


def shell_blocks(heading):
    """The ```sh blocks of docs/install.md between ``heading`` and the next heading."""
    lines = PAGE.read_text().splitlines()
    start = lines.index(heading)  # ValueError: the page lost a section the test follows
    blocks, fence, inside = [], None, False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            if inside:
                if fence is not None:
                    blocks.append("\n".join(fence) + "\n")
                fence, inside = None, False
            else:
                fence, inside = ([] if line == "```sh" else None), True
            continue
        if inside:
            if fence is not None:
                fence.append(line)
        elif line.startswith("#"):
            break
    return blocks


def replace_once(text, old, new):
    assert text.count(old) == 1, f"docs/install.md changed: {old!r} is not in {text!r} once"
    return text.replace(old, new)


def bash(script, env, cwd):
    """Run ``script`` (a block of the page) as a shell does, stopping at the first error."""
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{script}\nfailed ({result.returncode}):\n{result.stderr}"
    return result


def build_wheel(into):
    """The plugin's wheel, built as `pip wheel --no-deps` builds it, from a copy of the
    checkout's files (so nothing is written into the checkout, and a stale build/ or
    egg-info there cannot add a file)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    source = into / "source"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = into / "dist"
    subprocess.run(
        # No build isolation: the dev venv's setuptools, with no download.
        [str(DEV_BIN / "pip"), "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("pulp_kickstart_oci-*-py3-none-any.whl")
    return wheel


class Clock:
    """Seconds per step, kept in .run/install/timings.json (what the install costs CI)."""

    def __init__(self):
        self.last = time.monotonic()
        self.steps = {}

    def lap(self, step):
        now = time.monotonic()
        self.steps[f"{step}_seconds"] = round(now - self.last, 1)
        self.last = now
        self.record()

    def record(self, more=None):
        self.steps.update(more or {})
        (INSTALL / "timings.json").write_text(json.dumps(self.steps, indent=1) + "\n")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel, freshly built and installed into a new venv beside pulpcore (the page's
    pip commands); the venv is locked while this module runs."""
    INSTALL.mkdir(parents=True, exist_ok=True)
    with open(INSTALL / "venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        work = tmp_path_factory.mktemp("install")
        clock = Clock()
        wheel = build_wheel(work)
        clock.lap("wheel")
        shutil.rmtree(VENV, ignore_errors=True)
        # The dev venv's interpreter: venv builds the new one on the same base Python.
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pulpcore = importlib.metadata.version("pulpcore")  # the project's venv's
        # "A Pulp that already runs": pulpcore alone, as in the page.
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", f"pulpcore=={pulpcore}"],
            check=True,
            capture_output=True,
        )
        clock.lap("venv_with_pulpcore")
        pip_block = shell_blocks("## pip next to pulpcore")[0]
        script = re.sub(r"(?m)^VENV=.*$", f"VENV={VENV}", pip_block, count=1)
        bash(script, env=None, cwd=work)
        clock.lap("plugin_install")
        yield {"wheel": wheel, "pulpcore": pulpcore, "work": work, "clock": clock}


@pytest.fixture(scope="module")
def pulp(installed):
    """A Pulp (API, content app, one worker) run from the new venv on a new database,
    migrated from scratch by the wheel's migrations."""
    with SecondPulp("install", venv=VENV, migrate=True) as running:
        installed["clock"].record(running.timings)
        yield running


@pytest.fixture(scope="module")
def shell_env(pulp, installed):
    """The environment of the page's commands: the new Pulp's settings (for
    pulpcore-manager), its venv first, then pulp-cli, with a CLI config of their own."""
    env = pulp.env()
    env["PATH"] = f"{VENV / 'bin'}:{DEV_BIN}:{env['PATH']}"
    home = installed["work"] / "cli"
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_CACHE_HOME"] = str(home / "cache")
    (cli_block,) = shell_blocks("## The CLI")
    (config_line,) = [line for line in cli_block.splitlines() if line.startswith("pulp config")]
    config_line = replace_once(config_line, "https://pulp.example.com", pulp.base)
    config_line = replace_once(config_line, "--password ...", "--password password")
    bash(config_line, env=env, cwd=installed["work"])
    return env


def test_the_page_names_real_settings():
    """Each KICKSTART_* setting the page names (or KICKSTART_X_* family) is the plugin's,
    and its settings example is Python that sets what the page says it sets."""
    from pulp_kickstart_oci.app import settings as plugin_settings

    known = {name for name in dir(plugin_settings) if name.startswith("KICKSTART_")}
    named = set(re.findall(r"\bKICKSTART_[A-Z_]*[A-Z](?:_\*)?", PAGE.read_text()))
    assert named, "the page names no plugin setting"
    for name in named:
        if name.endswith("_*"):
            assert any(k.startswith(name[:-1]) for k in known), name
        else:
            assert name in known, f"docs/install.md names {name}, which the plugin does not have"
    lines = PAGE.read_text().splitlines()
    start = lines.index("```python", lines.index("## Settings"))
    example = {}
    exec("\n".join(lines[start + 1 : lines.index("```", start)]), example)
    assert {"CONTENT_ORIGIN", "CACHE_ENABLED", "ALLOWED_EXPORT_PATHS"} <= set(example)
    assert set(example) & known


def test_the_wheel_carries_every_file_of_the_package(installed):
    """Each file of pulp_kickstart_oci in the checkout (modules, migrations, anything the
    app loads) is in the wheel, byte for byte, and the venv runs the wheel's code."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "pulp_kickstart_oci"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    with zipfile.ZipFile(installed["wheel"]) as wheel:
        names = set(wheel.namelist())
        missing = [name for name in listed if name not in names]
        assert not missing, f"not in the wheel: {missing}"
        changed = [n for n in listed if wheel.read(n) != (ROOT / n).read_bytes()]
        assert not changed, f"different in the wheel: {changed}"
    assert any(name.startswith(str(MIGRATIONS.relative_to(ROOT))) for name in listed)
    where = subprocess.run(
        [
            str(VENV / "bin" / "python"),
            "-c",
            "import pulp_kickstart_oci; print(pulp_kickstart_oci.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed["work"],
    ).stdout.strip()
    assert where.startswith(str(VENV / "lib")), f"the venv imports the plugin from {where}"
    pip_list = subprocess.run(
        [str(VENV / "bin" / "pip"), "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    versions = {p["name"].lower(): p for p in json.loads(pip_list)}
    assert versions["pulpcore"]["version"] == installed["pulpcore"]
    assert "editable_project_location" not in versions["pulp-kickstart-oci"]


def test_status_and_migrations_as_the_page_checks_them(pulp, installed, shell_env):
    """`pulp --refresh-api status` lists the plugin with the wheel's version; every
    migration of the checkout was applied from the wheel; the models need no new one."""
    wheel_version = installed["wheel"].name.split("-")[1]
    blocks = shell_blocks("## Check the installation")
    status = json.loads(bash(blocks[0], shell_env, installed["work"]).stdout)
    (kickstart,) = [v for v in status["versions"] if v["component"] == "kickstart"]
    assert kickstart["version"] == wheel_version
    assert kickstart["package"] == "pulp-kickstart-oci"
    assert status["online_workers"] and status["online_content_apps"]
    only = json.loads(bash(blocks[1], shell_env, installed["work"]).stdout)
    assert only == kickstart

    # The page's check: `migrate --check` exits with 0, showmigrations lists them applied.
    shown = bash(blocks[2], shell_env, installed["work"])
    applied = set(re.findall(r"\[X\] (\S+)", shown.stdout))
    expected = {path.stem for path in MIGRATIONS.glob("[0-9]*.py")}
    assert applied == expected, f"applied from the wheel: {sorted(applied)}"
    # The pip section's migrate line, as written (a no-op now: all applied).
    (migrate,) = [
        line
        for line in shell_blocks("## pip next to pulpcore")[1].splitlines()
        if "pulpcore-manager" in line
    ]
    bash(f"VENV={VENV}\n{migrate}", shell_env, installed["work"])
    # The wheel's migrations describe its models: nothing left for makemigrations.
    bash(
        "pulpcore-manager makemigrations kickstart --check --dry-run",
        shell_env,
        installed["work"],
    )


def test_the_smoke_sync_of_the_page(
    pulp, installed, shell_env, kickstart_registry, kickstart_publish_release
):
    """The page's smoke sync, on_demand from a registry (a local one instead of quay.io):
    the kernel comes through the content app with upstream's bytes."""
    pusher = Pusher(kickstart_registry.url, "install/fedora-kickstart-artifacts")
    published = kickstart_publish_release(pusher, "42", archs=("amd64",))
    kernel = dict(published["files"]["amd64"])["vmlinuz"]
    sync, fetch, cleanup = shell_blocks("### A smoke sync")
    sync = replace_once(sync, "--url https://quay.io", f"--url {pusher.base}")
    sync = replace_once(sync, "pulp/fedora-kickstart-artifacts", pusher.name)
    cwd = installed["work"]
    bash(sync, shell_env, cwd)

    urls = json.loads(bash("pulp kickstart distribution urls --name smoke", shell_env, cwd).stdout)
    assert [(u["version"], u["arch"]) for u in urls] == [("42", "x86_64")]
    assert urls[0]["kernel"].startswith(f"{pulp.content}/pulp/content/smoke/42/x86_64/")
    fetched = bash(fetch, shell_env, cwd).stdout
    assert fetched.startswith(f"200 {len(kernel)}\n"), fetched[:200]
    assert "[general]" in fetched or "[header]" in fetched, fetched[:500]
    assert requests.get(urls[0]["kernel"], timeout=60).content == kernel

    bash(cleanup, shell_env, cwd)
    api = pulp.api()
    for collection in ("distributions/", "repositories/", "remotes/"):
        assert api.get(collection, name="smoke")["count"] == 0, collection
