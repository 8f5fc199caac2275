"""mkdocs hooks (mkdocs.yml `hooks:`): add the generated pages; refuse an undocumented operation.

The REST pages (one per tag) are listed in the navigation here, under the section
`REST API` of mkdocs.yml: a new tag needs no edit there. Hand-written pages are listed
in mkdocs.yml, and a page it does not list fails the build.

The REST reference and the changelog are generated at build time from the files they come
from (pages.py), never committed, so they cannot go stale.
"""

import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402  (dev/docs/pages.py)

REST_SECTION = "REST API"


def on_config(config):
    """Fill the navigation's REST API section with a page per tag of the spec (they follow it)."""
    spec = pages.load_spec(Path(config["config_file_path"]).parent)

    def fill(items):
        for item in items or []:
            if isinstance(item, dict):
                for title, value in item.items():
                    if title == REST_SECTION:
                        item[title] = pages.rest_nav(spec)
                    elif isinstance(value, list):
                        fill(value)

    fill(config["nav"])
    return config


def on_files(files, config):
    root = Path(config["config_file_path"]).parent
    spec = pages.load_spec(root)
    missing = pages.missing_descriptions(spec)
    if missing:
        raise PluginError(
            "REST operations without a description in api/kickstart-api.json (add a docstring "
            "or extend_schema(description=...) in the viewset, then make bindings): "
            + ", ".join(missing)
        )
    generated = pages.rest_pages(spec)
    generated["changes.md"] = pages.changelog(root)
    for src_uri, content in generated.items():
        files.append(File.generated(config, src_uri, content=content))
    return files
