"""The plugin uses pulpcore through its plugin API only (``pulpcore.plugin.*``).

What pulpcore may change without notice is everything else: its ``pulpcore.app``
modules, and any name starting with ``_``, however it is reached. So, for every module
of ``pulp_kickstart_oci`` (an AST walk, then the classes as Python built them):

- every ``import pulpcore...`` / ``from pulpcore... import`` is from ``pulpcore.plugin``;
- no name starting with ``_`` is imported from pulpcore, and no module path has one;
- no ``_name`` is read from a name bound to a pulpcore import (``Handler._base_paths``);
- a class built on a pulpcore class neither calls nor overrides a ``_method`` that a
  pulpcore class of its MRO defines (``self._match_and_stream``, ``super()._permit``).

Two exceptions, by where the code runs:

- ``migrations/``: Django writes them, naming each base and field by the module that
  defines it (``pulpcore.app.models.access_policy.AutoAddObjPermsMixin``); they are
  frozen history, never edited by hand.
- ``pytest_plugin.py`` is test harness, never loaded by Pulp's processes: like
  pulp_file's and pulp_rpm's fixtures it builds on pulpcore's public test harness
  (``pulpcore.tests.functional.utils``: ``BindingsNamespace``, ``PulpTaskError``, the
  helpers of the ``pulpcore.pytest_plugin`` it extends) and imports the generated
  client (``pulpcore.client.pulp_kickstart_oci``, a package of this project's bindings).

Private data attributes reached through ``self`` are not seen by the last rule (only
methods and properties are): Python gives no mark that tells pulpcore's from Django's.
"""

import ast
import importlib
import inspect
from functools import cached_property
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pulp_kickstart_oci"
HARNESS_IMPORTS = {
    "pytest_plugin.py": ("pulpcore.tests.functional.utils", "pulpcore.client.pulp_kickstart_oci"),
}


def _sources():
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.relative_to(PACKAGE).parts
    )


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_plugin_api(module):
    return module == "pulpcore.plugin" or module.startswith("pulpcore.plugin.")


def _pulpcore_imports(tree):
    """(node, module, imported name or None, local name) for each pulpcore import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "pulpcore":
                    local = alias.asname or alias.name.split(".")[0]
                    yield node, alias.name, None, local
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "pulpcore":
                for alias in node.names:
                    yield node, node.module, alias.name, alias.asname or alias.name


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pulpcore_is_imported_from_its_plugin_api(path):
    allowed = HARNESS_IMPORTS.get(str(path.relative_to(PACKAGE)), ())
    tree = ast.parse(path.read_text())
    bad = []
    for node, module, name, _local in _pulpcore_imports(tree):
        if any(_private(part) for part in module.split(".")) or (name and _private(name)):
            bad.append((node.lineno, module, name))
        elif not _is_plugin_api(module) and not any(
            imported == prefix or imported.startswith(prefix + ".")
            for imported in (module, f"{module}.{name}")
            for prefix in allowed
        ):
            bad.append((node.lineno, module, name))
    assert not bad, f"{path.name}: imports outside pulpcore.plugin: {bad}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_is_read_from_pulpcore(path):
    tree = ast.parse(path.read_text())
    bound = {local for _node, _module, _name, local in _pulpcore_imports(tree)}
    bad = [
        (node.lineno, f"{node.value.id}.{node.attr}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in bound
        and _private(node.attr)
    ]
    assert not bad, f"{path.name}: private pulpcore names: {bad}"


def _pulpcore_private_methods(cls):
    """The ``_methods`` (and properties) a pulpcore class of ``cls``'s MRO defines."""
    kinds = (staticmethod, classmethod, property, cached_property)
    found = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("pulpcore."):
            continue
        for name, value in vars(klass).items():
            if _private(name) and (inspect.isfunction(value) or isinstance(value, kinds)):
                found.setdefault(name, f"{klass.__module__}.{klass.__qualname__}")
    return found


def _uses(class_node, names):
    """Where a class body reaches or overrides one of ``names`` through self, cls or super()."""
    for node in ast.walk(class_node):
        if isinstance(node, ast.Attribute) and node.attr in names:
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                yield node.lineno, node.attr
            elif (
                isinstance(owner, ast.Call)
                and isinstance(owner.func, ast.Name)
                and owner.func.id == "super"
            ):
                yield node.lineno, node.attr
    for node in class_node.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            yield node.lineno, f"def {node.name}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_class_reaches_into_a_pulpcore_base(path):
    tree = ast.parse(path.read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if not classes:
        return
    module = importlib.import_module(_module_name(path))
    bad = []
    for class_node in classes:
        cls = getattr(module, class_node.name, None)
        if not isinstance(cls, type):
            continue
        private = _pulpcore_private_methods(cls)
        bad += [
            (line, name, private[name.removeprefix("def ")])
            for line, name in _uses(class_node, private)
        ]
    assert not bad, f"{path.name}: private pulpcore methods used: {bad}"


def test_the_rules_see_what_they_forbid():
    """The checks catch the three shapes they exist for (so a pass means something)."""
    source = (
        "from pulpcore.app.models import Task\n"
        "from pulpcore.plugin.content import Handler\n"
        "keys = Handler._base_paths('x')\n"
    )
    tree = ast.parse(source)
    modules = [module for _node, module, _name, _local in _pulpcore_imports(tree)]
    assert [m for m in modules if not _is_plugin_api(m)] == ["pulpcore.app.models"]
    bound = {local for *_, local in _pulpcore_imports(tree)}
    assert any(
        isinstance(n, ast.Attribute) and n.value.id in bound and _private(n.attr)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    )
    from pulpcore.plugin.content import Handler

    assert "_match_and_stream" in _pulpcore_private_methods(type("H", (Handler,), {}))
    class_node = ast.parse(
        "class H(Handler):\n"
        "    async def get(self, request):\n"
        "        return await self._match_and_stream('p', request)\n"
    ).body[0]
    assert list(_uses(class_node, {"_match_and_stream"})) == [(3, "_match_and_stream")]
