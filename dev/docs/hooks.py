"""mkdocs hooks (mkdocs.yml `hooks:`): add the generated pages; refuse an undocumented operation.

The REST reference and the changelog are generated at build time from the files they come
from (pages.py), never committed, so they cannot go stale.
"""

import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402  (dev/docs/pages.py)


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
