"""The generated pages of the documentation site (dev/docs/pages.py): REST reference, changelog.

The site's build checks (links, anchors, navigation, a build refused for an undocumented
operation) and the browser test are in tests/docs, run by `make docs-check` in the docs venv.
"""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("docs_pages", ROOT / "dev" / "docs" / "pages.py")
pages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pages)

TOWNCRIER = (ROOT / "pyproject.toml").read_text()


def _spec_with(description):
    return {
        "paths": {
            "{kickstart_kickstart_repository_href}push/": {
                "post": {
                    "operationId": "push",
                    "summary": "Push to a registry",
                    "description": description,
                    "tags": ["Repositories: Kickstart"],
                    "parameters": [
                        {
                            "in": "path",
                            "name": "repo",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Push"}}
                        },
                    },
                    "responses": {"202": {"description": "", "content": {}}},
                }
            },
            "/pulp/api/v3/tasks/": {"get": {"operationId": "tasks_list", "description": ""}},
        },
        "components": {
            "schemas": {
                "Push": {
                    "type": "object",
                    "properties": {
                        "remote": {"type": "string", "description": "The <remote> | its href"},
                        "policy": {"$ref": "#/components/schemas/Policy"},
                    },
                    "required": ["remote"],
                },
                "Policy": {"enum": ["immediate", "on_demand"], "type": "string"},
                "Unused": {"type": "object"},
            }
        },
    }


def test_an_operation_without_a_description_is_reported():
    spec = _spec_with("   ")
    assert pages.missing_descriptions(spec) == ["POST {kickstart_kickstart_repository_href}push/"]
    # Only this plugin's operations: pulpcore's own (tasks) are not rendered nor checked.
    assert pages.missing_descriptions(_spec_with("Pushes the trees.")) == []


def test_the_committed_spec_describes_every_kickstart_operation():
    spec = json.loads((ROOT / "api" / "kickstart-api.json").read_text())
    assert len(list(pages.kickstart_operations(spec))) > 50
    assert pages.missing_descriptions(spec) == []


def test_rest_pages_render_each_operation_and_the_schemas_it_uses():
    rendered = pages.rest_pages(_spec_with("Pushes the trees."))
    assert set(rendered) == {
        "restapi/index.md",
        "restapi/repositories-kickstart.md",
        "restapi/schemas.md",
    }
    page = rendered["restapi/repositories-kickstart.md"]
    assert "### Push to a registry {#push}" in page
    assert "`POST {kickstart_kickstart_repository_href}push/`" in page
    assert "Pushes the trees." in page
    assert "| `repo` | path | string | yes |" in page
    assert "[Push](schemas.md#push)" in page
    assert "tasks" not in page
    schemas = rendered["restapi/schemas.md"]
    # Reached through Push: listed; never referenced: left out.
    assert "## Policy {#policy}" in schemas and "Unused" not in schemas
    # A description cannot inject HTML nor break the table.
    assert "The &lt;remote&gt; \\| its href" in schemas
    assert "[Policy](schemas.md#policy)" in schemas
    assert "[Repositories: Kickstart](repositories-kickstart.md)" in rendered["restapi/index.md"]
    # The navigation lists the same pages (hooks.py puts it under REST API).
    assert pages.rest_nav(_spec_with("Pushes the trees.")) == [
        "restapi/index.md",
        {"Repositories: Kickstart": "restapi/repositories-kickstart.md"},
        {"Schemas": "restapi/schemas.md"},
    ]


def test_changelog_reads_fragments_with_any_suffix_and_the_released_notes(tmp_path):
    (tmp_path / "pyproject.toml").write_text(TOWNCRIER)
    changes = tmp_path / "CHANGES"
    changes.mkdir()
    (changes / ".TEMPLATE.md").write_text("template")
    (changes / "20.feature.a1").write_text("Trees from CoreOS.\n")
    (changes / "20.feature.a2").write_text("Trees from dnf.\n")
    (changes / "3.bugfix").write_text("A fix.\n")
    (changes / "4.misc").write_text("Internal.\n")
    (changes / "notes.txt").write_text("not a fragment")
    (tmp_path / "CHANGES.md").write_text(
        "# Changelog\n\n[//]: # (towncrier release notes start)\n\n"
        "## 0.1.0 (2026-12-01)\n\n- Old.\n"
    )
    page = pages.changelog(tmp_path)
    assert page.index("### Features") < page.index("### Bugfixes") < page.index("### Misc")
    assert "- Trees from CoreOS.\n  #20" in page and "- Trees from dnf.\n  #20" in page
    assert "- A fix.\n  #3" in page
    assert "Internal." not in page and "- #4" in page  # misc: showcontent = false
    assert "not a fragment" not in page and "template" not in page
    assert page.index("## Unreleased") < page.index("## 0.1.0 (2026-12-01)")
    assert "towncrier release notes start" not in page
