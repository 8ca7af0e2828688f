#!/usr/bin/env python3
"""Render the field reference of routes/referral.schema.json as a Markdown table.

Usage:
  scripts/schema-doc.py                 print the table (pasted into docs/schema.md)
  scripts/schema-doc.py --paths         print one dotted path per line
  scripts/schema-doc.py --update-docs   rewrite the table between the markers in docs/schema.md

The table is generated, never edited by hand, so docs/schema.md stays in step with
the schema; scripts/check-examples.py fails when they differ.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "routes" / "referral.schema.json"
DOC_PATH = ROOT / "docs" / "schema.md"
BEGIN = "<!-- fields:begin -->"
END = "<!-- fields:end -->"


def resolve(schema, node):
    """Merge a local `$ref` target under the node's own keywords (own keywords win)."""
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SystemExit(f"unsupported $ref {ref}")
        target = schema
        for token in ref[2:].split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    return node


def branch_note(node, rule):
    """How the Required column names a requirement that a `then`/`else` branch imposes."""
    if rule:
        return f"when {rule} applies"
    title = node.get("title")
    return title[0].lower() + title[1:] if title else "conditionally"


def conditional_requirements(schema, node, rule=None):
    """Map relative property paths (tuples) to notes for requirements that apply only sometimes.

    Looks through allOf/anyOf/oneOf/if/then/else, and properties inside `then`/`else`,
    for `required` lists: that is how this schema writes its conditional rules.
    """
    notes = {}
    node = resolve(schema, node)
    title = node.get("title", "")
    if title.startswith("Rule "):
        rule = title.split(":", 1)[0]
    for key in ("anyOf", "oneOf"):
        branches = [resolve(schema, b) for b in node.get(key, [])]
        if branches and all(set(b) == {"required"} and len(b["required"]) == 1 for b in branches):
            names = [b["required"][0] for b in branches]
            label = "exactly one of " if key == "oneOf" else "at least one of "
            for name in names:
                notes.setdefault((name,), label + ", ".join(names))
    for sub in node.get("allOf", []):
        for path, note in conditional_requirements(schema, sub, rule).items():
            notes.setdefault(path, note)
    for branch in ("then", "else"):
        if branch in node:
            for path, note in branch_requirements(schema, node[branch], branch_note(node, rule)).items():
                notes.setdefault(path, note)
    return notes


def branch_requirements(schema, node, note):
    node = resolve(schema, node)
    notes = {(name,): note for name in node.get("required", [])}
    for name, prop in node.get("properties", {}).items():
        for path, inner in branch_requirements(schema, prop, note).items():
            notes.setdefault((name,) + path, inner)
    return notes


def constraints(node):
    parts = []
    if "const" in node:
        parts.append(f"always `{json.dumps(node['const'])}`")
    if "format" in node:
        parts.append(f"format `{node['format']}`")
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    if "pattern" in node:
        parts.append(f"pattern `{node['pattern']}`")
    if "minimum" in node or "maximum" in node:
        parts.append(f"{node.get('minimum', '')}–{node.get('maximum', '')}")
    if node.get("type") == "string" and "enum" not in node and "const" not in node:
        if node.get("minLength", 0) > 0 and "pattern" not in node and "format" not in node:
            parts.append(f"{node['minLength']}–{node.get('maxLength', 'unlimited')} chars")
        else:
            parts.append(f"max {node.get('maxLength', 'unlimited')} chars")
    if node.get("type") == "array":
        parts.append(f"{node.get('minItems', 0)}–{node.get('maxItems', 'unlimited')} items"
                     + (", unique" if node.get("uniqueItems") else ""))
    if node.get("type") == "object" and "minProperties" in node:
        parts.append(f"at least {node['minProperties']} member")
    return "; ".join(parts)


def type_name(schema, node):
    kind = node.get("type", "")
    if kind == "array":
        items = resolve(schema, node.get("items", {}))
        return f"array of {items.get('type', 'any')}"
    return kind


def walk(schema, node, path, note, inherited, rows):
    """Append one row per field: the field itself, then its members (array items as `[]`)."""
    node = resolve(schema, node)
    target, prefix = node, path
    if node.get("type") == "array":
        items = resolve(schema, node.get("items", {}))
        target, prefix = items, path + "[]"
        row_rules = constraints(node)
        if items.get("type") != "object":
            item_rules = constraints(items)
            row_rules += f"; each: {item_rules}" if item_rules else ""
        rows.append((path, type_name(schema, node), note, row_rules, node.get("description", "")))
    elif path:
        rows.append((path, type_name(schema, node), note, constraints(node), node.get("description", "")))
    if target.get("type") != "object":
        return
    required = set(target.get("required", []))
    conditional = conditional_requirements(schema, target)
    conditional.update(inherited)
    for name, prop in target.get("properties", {}).items():
        member_note = "yes" if name in required else conditional.get((name,), "no")
        nested = {p[1:]: n for p, n in conditional.items() if len(p) > 1 and p[0] == name}
        walk(schema, prop, f"{prefix}.{name}" if prefix else name, member_note, nested, rows)


def field_rows(schema):
    rows = []
    walk(schema, schema, "", "", {}, rows)
    return rows


def escape(text):
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(schema):
    lines = ["| Path | Type | Required | Format / values | Description |",
             "|---|---|---|---|---|"]
    for path, kind, required, rules, description in field_rows(schema):
        lines.append(f"| `{path}` | {kind} | {escape(required)} | {escape(rules)} | {escape(description)} |")
    return "\n".join(lines) + "\n"


def main(argv):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if "--paths" in argv:
        for row in field_rows(schema):
            print(row[0])
        return 0
    table = markdown_table(schema)
    if "--update-docs" in argv:
        text = DOC_PATH.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        DOC_PATH.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
        return 0
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
