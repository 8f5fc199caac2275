"""Pages of the documentation site that are generated, and the checks mkdocs cannot make.

Standard library only, so the unit tests import it from the project venv; `hooks.py`
(run by mkdocs from the docs venv) adds these pages to the site. Two generated parts:
the REST reference from the committed OpenAPI spec (api/kickstart-api.json, the kickstart
operations only, one page per tag) and the changelog (CHANGES.md plus the unreleased
fragments in CHANGES/, read with the towncrier settings of pyproject.toml).
"""

import json
import re
import tomllib
from pathlib import Path

METHODS = ("get", "post", "put", "patch", "delete")
REST_DIR = "restapi"


def kickstart_operations(spec):
    """(path, method, operation) of this plugin's operations, in the spec's order."""
    for path, item in spec.get("paths", {}).items():
        if "kickstart" not in path:
            continue
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def missing_descriptions(spec):
    """'METHOD path' of each kickstart operation whose description is empty."""
    return [
        f"{method.upper()} {path}"
        for path, method, op in kickstart_operations(spec)
        if not (op.get("description") or "").strip()
    ]


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text):
    """One table cell or line of text from an API description: no raw HTML, no table breaks.

    `<name>` outside code spans would be taken for an HTML tag and vanish.
    """
    parts = re.split(r"(`[^`]*`)", " ".join((text or "").split()))
    out = []
    for part in parts:
        if not part.startswith("`"):
            part = part.replace("<", "&lt;").replace(">", "&gt;")
        out.append(part.replace("|", "\\|"))
    return "".join(out)


def _schema_name(ref):
    return ref.rsplit("/", 1)[-1]


def _type(schema):
    """A schema as a short phrase, linking named schemas to the schemas page."""
    if not schema:
        return "any"
    if "$ref" in schema:
        name = _schema_name(schema["$ref"])
        return f"[{name}](schemas.md#{slug(name)})"
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            text = " or ".join(_type(s) for s in schema[key])
            break
    else:
        kind = schema.get("type", "object")
        if isinstance(kind, list):  # OpenAPI 3.1: ["string", "null"]
            kind = " or ".join(kind)
        if kind == "array":
            text = f"array of {_type(schema.get('items'))}"
        else:
            text = kind + (f" ({schema['format']})" if "format" in schema else "")
    if "enum" in schema:
        text += ": one of " + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None)
    if schema.get("nullable"):
        text += ", nullable"
    return text


def _refs(node, found):
    """Names of every schema reachable from node (transitively through components)."""
    if isinstance(node, dict):
        if "$ref" in node:
            found.add(_schema_name(node["$ref"]))
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)
    return found


def _body_schema(content):
    """The schema of a body, one line per media type that has a schema of its own."""
    shown = []
    for media, body in (content or {}).items():
        text = _type(body.get("schema"))
        if text not in [t for _, t in shown]:
            shown.append((media, text))
    return shown


def _operation(path, method, op):
    lines = [
        f"### {op.get('summary') or op['operationId']} {{#{slug(op['operationId'])}}}",
        "",
        f"`{method.upper()} {path}`",
        "",
        _inline(op.get("description")),
        "",
    ]
    params = op.get("parameters", [])
    if params:
        lines += ["| Parameter | In | Type | Required | Description |", "|---|---|---|---|---|"]
        for p in params:
            lines.append(
                f"| `{p['name']}` | {p['in']} | {_type(p.get('schema'))} | "
                f"{'yes' if p.get('required') else 'no'} | {_inline(p.get('description'))} |"
            )
        lines.append("")
    body = op.get("requestBody")
    if body:
        lines.append("**Request body**" + (" (required)" if body.get("required") else "") + ":")
        lines.append("")
        for media, text in _body_schema(body.get("content")):
            lines.append(f"- `{media}`: {text}")
        lines.append("")
    lines += ["**Responses**:", ""]
    for status, response in op.get("responses", {}).items():
        shown = _body_schema(response.get("content"))
        schema = "; ".join(text for _, text in shown) or "no body"
        desc = _inline(response.get("description"))
        lines.append(f"- `{status}`: {schema}" + (f" ({desc})" if desc else ""))
    lines.append("")
    return lines


def rest_nav(spec):
    """The REST API section of the navigation: the index, a page per tag, the schemas."""
    tags = sorted({(op.get("tags") or ["Other"])[0] for _, _, op in kickstart_operations(spec)})
    return (
        [f"{REST_DIR}/index.md"]
        + [{tag.replace("_", " "): f"{REST_DIR}/{slug(tag)}.md"} for tag in tags]
        + [{"Schemas": f"{REST_DIR}/schemas.md"}]
    )


def rest_pages(spec):
    """{site path: markdown} of the REST reference: an index, a page per tag, the schemas."""
    by_tag = {}
    used = set()
    for path, method, op in kickstart_operations(spec):
        tag = (op.get("tags") or ["Other"])[0]
        by_tag.setdefault(tag, []).append((path, method, op))
        _refs(op, used)
    schemas = spec.get("components", {}).get("schemas", {})
    pending = list(used)
    while pending:
        for name in _refs(schemas.get(pending.pop(), {}), set()) - used:
            used.add(name)
            pending.append(name)

    pages = {}
    index = [
        "# REST API",
        "",
        "The REST reference of this plugin's endpoints, rendered from the committed OpenAPI",
        "spec `api/kickstart-api.json` (`make bindings` regenerates it from the code). Task",
        "endpoints, users, exporters and the rest of Pulp's API are in pulpcore's reference.",
        "Every endpoint takes HTTP basic authentication; operations that start a task answer",
        "`202` with the task's href.",
        "",
        "| Endpoints | Operations |",
        "|---|---|",
    ]
    for tag in sorted(by_tag):
        ops = by_tag[tag]
        index.append(f"| [{tag}]({slug(tag)}.md) | {len(ops)} |")
        page = [f"# {tag}", ""]
        for path, method, op in ops:
            page += _operation(path, method, op)
        pages[f"{REST_DIR}/{slug(tag)}.md"] = "\n".join(page)
    index += ["", "Request and response bodies: [Schemas](schemas.md).", ""]
    pages[f"{REST_DIR}/index.md"] = "\n".join(index)

    page = ["# Schemas", "", "The request and response bodies of the operations above.", ""]
    for name in sorted(used):
        schema = schemas.get(name, {})
        page += [f"## {name} {{#{slug(name)}}}", ""]
        if schema.get("description"):
            page += [_inline(schema["description"]), ""]
        props = schema.get("properties", {})
        if props:
            required = set(schema.get("required", []))
            page += ["| Field | Type | Required | Description |", "|---|---|---|---|"]
            for field, prop in props.items():
                flags = "read-only" if prop.get("readOnly") else ""
                flags = flags or ("write-only" if prop.get("writeOnly") else "")
                need = "yes" if field in required and not prop.get("readOnly") else "no"
                desc = _inline(prop.get("description"))
                page.append(
                    f"| `{field}` | {_type(prop)} | {need} | "
                    + (f"({flags}) " if flags else "")
                    + f"{desc} |"
                )
            page.append("")
        elif "enum" in schema or "type" in schema:
            page += [f"Type: {_type(schema)}", ""]
    pages[f"{REST_DIR}/schemas.md"] = "\n".join(page)
    return pages


def load_spec(root):
    return json.loads((Path(root) / "api" / "kickstart-api.json").read_text())


def _towncrier(root):
    return tomllib.loads((Path(root) / "pyproject.toml").read_text())["tool"]["towncrier"]


def fragments(root):
    """{type name: [(issue, text)]} of the unreleased fragments, in towncrier's type order.

    Read here rather than with `towncrier build --draft`: a fragment is <issue>.<type> with
    any suffix (CHANGES/20.feature.a1); towncrier takes only a number as the suffix.
    """
    config = _towncrier(root)
    directory = Path(root) / config.get("directory", "changes")
    types = config["type"]
    found = {t["name"]: [] for t in types}
    by_dir = {t["directory"]: t for t in types}
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        parts = path.name.split(".")
        if path.name.startswith(".") or len(parts) < 2 or parts[1] not in by_dir:
            continue
        kind = by_dir[parts[1]]
        text = path.read_text().strip() if kind.get("showcontent", True) else ""
        found[kind["name"]].append((parts[0], text))
    for items in found.values():
        items.sort(key=lambda item: (int(item[0]) if item[0].isdigit() else 0, item[0]))
    return {name: items for name, items in found.items() if items}


def changelog(root):
    """The changelog page: the unreleased fragments, then the released notes of CHANGES.md."""
    config = _towncrier(root)
    issue_format = config.get("issue_format", "#{issue}")
    lines = ["# Changes", "", "## Unreleased", ""]
    unreleased = fragments(root)
    if not unreleased:
        lines += ["Nothing yet.", ""]
    for name, items in unreleased.items():
        lines += [f"### {name}", ""]
        for issue, text in items:
            ref = issue_format.format(issue=issue)
            if text:
                body = text.replace("\n", "\n  ")
                lines.append(f"- {body}\n  {ref}")
            else:
                lines.append(f"- {ref}")
        lines.append("")
    released = Path(root) / config.get("filename", "CHANGES.md")
    if released.exists():
        text = released.read_text()
        start = config.get("start_string", "").strip()
        if start and start in text:
            text = text.split(start, 1)[1]
        lines.append(text.strip())
    return "\n".join(lines) + "\n"
