"""The import layers of pulp_kickstart_oci/app hold: low code never reaches up.

``netboot/`` and ``boot/`` are pure (test_netboot checks they import no Django
or pulpcore at all). ``dnf/``, ``registry/`` and ``downloads.py`` may read
settings and use pulpcore's downloader classes, but never the plugin's Django
layers, its sources or its serving code; and no module of the app imports
itself back through a cycle.
"""

import ast
import importlib.util
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "pulp_kickstart_oci" / "app"
UPPER = (
    "models",
    "serializers",
    "viewsets",
    "tasks",
    "sources",
    "serving",
    "content",
    "documents",
)


def _module_name(path):
    relative = path.relative_to(APP.parent.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path):
    """Every module a file imports, with relative imports resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _app_modules():
    return {
        _module_name(path): path for path in APP.rglob("*.py") if "migrations" not in path.parts
    }


@pytest.mark.parametrize(
    "low", ["dnf", "registry", "downloads.py", "netboot", "boot", "signatures"]
)
def test_low_layers_import_nothing_above_them(low):
    forbidden = tuple(f"pulp_kickstart_oci.app.{layer}" for layer in UPPER)
    target = APP / low
    files = [target] if target.suffix == ".py" else sorted(target.glob("*.py"))
    assert files
    for path in files:
        for module in _imports(path):
            assert not any(module == name or module.startswith(name + ".") for name in forbidden), (
                path.name,
                module,
            )


def test_the_app_has_no_import_cycle():
    modules = _app_modules()
    edges = {}
    for name, path in modules.items():
        edges[name] = {
            target
            for module in _imports(path)
            for target in (module, module.rsplit(".", 1)[0])
            if target in modules and target != name
        }
    # A package imports its own modules (sources/__init__ registers them): not a cycle.
    for name in edges:
        edges[name] = {t for t in edges[name] if not t.startswith(name + ".")}
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                pytest.fail(" -> ".join(path + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
