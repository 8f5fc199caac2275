"""A message template raised as it is shows its placeholders to the admin ("the cosign tag
of {digest}", found by attacking replication): every ``raise E(_("...{x}..."))`` in the
plugin must be formatted first."""

import ast
import re
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "pulp_kickstart_oci" / "app"
_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _template(node):
    """The text of ``_("...")`` with a named placeholder, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and _FIELD.search(node.args[0].value)
    ):
        return node.args[0].value
    return None


def _constructs_an_exception(node):
    """``Error(...)`` or ``module.Error(...)``: a class (CapWords), not a helper that formats."""
    if not isinstance(node, ast.Call):
        return False
    name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
    return name[:1].isupper()


def _unformatted_raises(root=PLUGIN):
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or not _constructs_an_exception(node.exc):
                continue
            for argument in node.exc.args:
                text = _template(argument)
                if text is not None:
                    found.append(f"{path.relative_to(root)}:{node.lineno}: {text!r}")
    return found


def test_no_message_is_raised_with_its_placeholders():
    assert _unformatted_raises() == []


def test_the_check_sees_a_raised_template(tmp_path):
    """The walk finds the shape it looks for, and not a helper that formats its template."""
    (tmp_path / "sample.py").write_text(
        'raise ValueError(_("the tag of {digest}"))\n'
        'raise ValueError(_("the tag of {digest}").format(digest=1))\n'
        'raise self._error(_("blob {digest}"), blob)\n'
    )
    assert _unformatted_raises(tmp_path) == ["sample.py:1: 'the tag of {digest}'"]
