"""docs/architecture.md's import-layers diagram is the code's: every unit, every arrow.

A unit is a package (``registry/``) or a module (``models.py``) of
``pulp_kickstart_oci/app/`` (``migrations/`` is Django's). The diagram lists each
unit once, on the left of an arrow, with the units it imports on the right (``(nothing
of the plugin)`` for none), above or below the line that separates the Django layers
from the low layers. The test fails when a unit is added, an import appears or goes,
or a low unit imports one above the line, until the diagram says so.
"""

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "pulp_kickstart_oci" / "app"
DOC = ROOT / "docs" / "architecture.md"
NOTHING = "(nothing of the plugin)"
ARROW = re.compile(r"^\s*(?P<left>\S.*?)\s+-+>\s+(?P<right>\S.*?)\s*$")


def _units():
    return {
        path.name + "/" if path.is_dir() else path.name
        for path in APP.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists() and path.name != "migrations")
        or (path.suffix == ".py" and path.name != "__init__.py")
    }


def _unit_of(module):
    parts = module.split(".")
    if parts[:2] != ["pulp_kickstart_oci", "app"] or len(parts) < 3:
        return None
    return parts[2] + "/" if (APP / parts[2]).is_dir() else parts[2] + ".py"


def _imports_by_unit():
    found = {unit: set() for unit in _units()}
    for path in APP.rglob("*.py"):
        relative = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in relative:
            continue
        name = ".".join(relative[:-1] if relative[-1] == "__init__" else relative)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        unit = _unit_of(name)
        if unit is None:
            continue  # app/__init__.py: the Django app config, which loads signal receivers
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                # "from . import tasks" names a unit in the imported names.
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
                modules = names if base == "pulp_kickstart_oci.app" else [base]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                target = _unit_of(module)
                if target and target != unit and target in found:
                    found[unit].add(target)
    return found


def _diagram():
    """{unit: (set of units it imports, "upper" or "low")} as the doc draws them."""
    text = DOC.read_text()
    section = text[text.index("## Import layers") :]
    block = section.split("```", 2)[1]
    drawn, layer = {}, "upper"
    for line in block.splitlines():
        if line.strip().startswith("low layers"):
            layer = "low"
        match = ARROW.match(line)
        if not match:
            continue
        right = match["right"]
        targets = set() if right == NOTHING else {t.strip() for t in right.split(",")}
        for unit in (u.strip() for u in match["left"].split(",")):
            assert unit not in drawn, f"{unit} is drawn twice"
            drawn[unit] = (targets, layer)
    return drawn


def test_the_diagram_lists_every_unit_once():
    drawn = _diagram()
    assert set(drawn) == _units(), {
        "in the code, not drawn": sorted(_units() - set(drawn)),
        "drawn, not in the code": sorted(set(drawn) - _units()),
    }


def test_each_arrow_list_is_what_the_unit_imports():
    drawn = _diagram()
    wrong = {
        unit: {"drawn": sorted(drawn[unit][0]), "imports": sorted(imports)}
        for unit, imports in _imports_by_unit().items()
        if unit in drawn and drawn[unit][0] != imports
    }
    assert not wrong, wrong


def test_nothing_below_the_line_imports_above_it():
    drawn = _diagram()
    upper = {unit for unit, (_, layer) in drawn.items() if layer == "upper"}
    reaching_up = {
        unit: sorted(targets & upper)
        for unit, (targets, layer) in drawn.items()
        if layer == "low" and targets & upper
    }
    assert not reaching_up, reaching_up
