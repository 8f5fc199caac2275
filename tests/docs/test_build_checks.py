"""The site's build refuses what `make docs-check` promises to catch, each on a tiny docs tree.

Each tree is built by dev/docs/build (what `make docs` runs) with the real mkdocs.yml (same
validation settings, same hook) and a navigation of its own, so a failure here is the failure
`make docs` would have.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REST_NAV = """  - REST API: []
  - changes.md
"""


def _spec(description):
    return {
        "paths": {
            "/pulp/api/v3/remotes/kickstart/oci/": {
                "get": {
                    "operationId": "remotes_kickstart_oci_list",
                    "summary": "List kickstart OCI remotes",
                    "description": description,
                    "tags": ["Remotes: Oci"],
                    "responses": {"200": {"description": ""}},
                }
            }
        }
    }


@pytest.fixture
def tree(tmp_path):
    """A docs tree that builds: two pages linking to each other, a spec, a changelog."""
    config = (ROOT / "mkdocs.yml").read_text()
    config = config.split("\nnav:\n", 1)[0]
    config = config.replace("dev/docs/hooks.py", str(ROOT / "dev" / "docs" / "hooks.py"))
    (tmp_path / "mkdocs.base.yml").write_text(config)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "CHANGES").mkdir()
    (tmp_path / "CHANGES" / "1.feature").write_text("A feature.\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "kickstart-api.json").write_text(json.dumps(_spec("Lists remotes.")))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](guide.md#step-2-serve).\n")
    (docs / "guide.md").write_text("# Guide\n\n## Step 2: serve\n\nBack [home](index.md).\n")
    return tmp_path


def build(tree, nav=("index.md", "guide.md")):
    entries = "".join(f"  - {page}\n" for page in nav)
    (tree / "mkdocs.yml").write_text(
        (tree / "mkdocs.base.yml").read_text() + "\nnav:\n" + entries + REST_NAV
    )
    # The command `make docs` runs, on this tree's mkdocs.yml.
    return subprocess.run(
        [str(ROOT / "dev" / "docs" / "build")],
        capture_output=True,
        text=True,
        env={"DOCS_CONFIG": str(tree / "mkdocs.yml"), "PATH": "/usr/bin:/bin"},
    )


def test_a_good_tree_builds(tree):
    result = build(tree)
    assert result.returncode == 0, result.stderr
    site = tree / ".run" / "site"
    assert "Lists remotes." in (site / "restapi" / "remotes-oci" / "index.html").read_text()
    assert "A feature." in (site / "changes" / "index.html").read_text()


def test_a_broken_link_fails(tree):
    (tree / "docs" / "guide.md").write_text("# Guide\n\n## Step 2: serve\n\nSee [x](gone.md).\n")
    result = build(tree)
    assert result.returncode != 0
    assert "contains a link 'gone.md'" in result.stderr


def test_a_broken_anchor_fails(tree):
    (tree / "docs" / "index.md").write_text("# Home\n\nSee [the guide](guide.md#step-3).\n")
    result = build(tree)
    assert result.returncode != 0
    assert re.search(r"does not contain an anchor '#step-3'", result.stderr), result.stderr


def test_a_page_missing_from_the_navigation_fails(tree):
    result = build(tree, nav=("index.md",))
    assert result.returncode != 0
    assert "guide.md" in result.stderr and 'not included in the "nav"' in result.stderr


def test_a_new_rest_tag_gets_its_page_in_the_navigation(tree):
    """The REST API section follows the spec: a new tag needs no edit of mkdocs.yml."""
    spec = _spec("Lists remotes.")
    oci = spec["paths"]["/pulp/api/v3/remotes/kickstart/oci/"]["get"]
    spec["paths"]["/pulp/api/v3/remotes/kickstart/dnf/"] = {
        "get": dict(oci, operationId="remotes_kickstart_dnf_list", tags=["Remotes: Dnf"])
    }
    (tree / "api" / "kickstart-api.json").write_text(json.dumps(spec))
    result = build(tree)
    assert result.returncode == 0, result.stderr
    home = (tree / ".run" / "site" / "index.html").read_text()
    assert 'href="restapi/remotes-dnf/"' in home and 'href="restapi/remotes-oci/"' in home


def test_a_rest_operation_without_a_description_fails(tree):
    (tree / "api" / "kickstart-api.json").write_text(json.dumps(_spec("")))
    result = build(tree)
    assert result.returncode != 0
    assert "REST operations without a description" in result.stderr
    assert "GET /pulp/api/v3/remotes/kickstart/oci/" in result.stderr
