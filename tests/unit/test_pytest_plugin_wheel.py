"""The installed pytest plugin works from the wheel, outside this checkout.

The wheel is built from the checkout's packaging files and package, installed with pip
into a fresh virtualenv (its dependencies come from the stack's .venv through a .pth
line, which neither installs nor activates the checkout's editable copy), and pytest
runs there from an empty directory: the plugin loads from its pytest11 entry point, its
fixtures are listed, and a test drives the upstream fixtures (a real docker-registry, a
push, a token registry over TLS, a fault proxy, a static tree server), so every lazy
import of the fixtures is made from the installed package.
"""

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ("setup.py", "pyproject.toml", "MANIFEST.in", "requirements.txt", "README.md")
# The checkout's own pytest plugins whose clients the checkout does not install.
PLUGIN_ARGS = ("-p", "no:pulp_file", "-p", "no:pulp_certguard", "-p", "no:cacheprovider")

FIXTURES = (
    "kickstart_bindings",
    "kickstart_oci_remote_factory",
    "kickstart_dnf_remote_factory",
    "kickstart_repository_factory",
    "kickstart_distribution_factory",
    "kickstart_sync",
    "kickstart_registry",
    "kickstart_upstream",
    "kickstart_publish_release",
    "kickstart_workdir",
    "kickstart_token_registry_factory",
    "kickstart_fault_proxy_factory",
    "kickstart_dnf_tree_factory",
    "kickstart_tree_server_factory",
)

UPSTREAMS_TEST = """
import requests

import pulp_kickstart_oci


def test_upstream_fixtures_run_from_the_wheel(
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_token_registry_factory,
    kickstart_fault_proxy_factory,
    kickstart_tree_server_factory,
    tmp_path,
):
    assert "site-packages" in pulp_kickstart_oci.__file__, pulp_kickstart_oci.__file__
    published = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    assert set(published["manifests"]) == {"amd64"}

    issuer, registry = kickstart_token_registry_factory(tls=True)
    assert requests.get(registry.url + "/v2/", timeout=10).status_code == 401

    proxy = kickstart_fault_proxy_factory(kickstart_upstream.base)
    assert requests.get(proxy.url + "/v2/", timeout=10).status_code == 200

    (tmp_path / ".treeinfo").write_text("[general]\\n")
    server = kickstart_tree_server_factory(tmp_path)
    assert requests.get(server.url.rstrip("/") + "/.treeinfo", timeout=10).text == "[general]\\n"
"""


def _run(argv, cwd, timeout=120):
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (argv, result.stdout[-4000:], result.stderr[-4000:])
    return result.stdout


def test_the_pytest_plugin_works_from_an_installed_wheel(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in PACKAGING:
        shutil.copy2(ROOT / name, source / name)
    # tests/ and bench/ are Python packages too: the wheel must leave them out.
    for name in ("pulp_kickstart_oci", "tests", "bench"):
        shutil.copytree(
            ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        + ["--quiet", "--wheel-dir", str(wheels), str(source)],
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("pulp_kickstart_oci-*.whl")
    shipped = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {name for name in shipped if not name.endswith(".dist-info")} == {"pulp_kickstart_oci"}
    assert any(
        name.startswith("pulp_kickstart_oci/testing/") for name in zipfile.ZipFile(wheel).namelist()
    )

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
        ).strip()
    )
    # The dependencies (pulpcore, pytest, the bindings) from the stack's environment; its
    # editable pulp_kickstart_oci is not reachable this way (a .pth line is a path only).
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
        + ["--no-index", "--quiet", str(wheel)],
        cwd=tmp_path,
    )

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "pytest.ini").write_text("[pytest]\n")
    listed = _run([str(python), "-m", "pytest", *PLUGIN_ARGS, "--fixtures"], cwd=work)
    assert "ImportError" not in listed and "ModuleNotFoundError" not in listed
    assert "pulp_kickstart_oci/pytest_plugin.py" in listed or "pytest_plugin" in listed
    missing = [name for name in FIXTURES if f"\n{name} " not in listed]
    assert not missing, missing

    (work / "test_upstreams.py").write_text(UPSTREAMS_TEST)
    outcome = _run([str(python), "-m", "pytest", *PLUGIN_ARGS, "-q", "test_upstreams.py"], work)
    assert "1 passed" in outcome, outcome
