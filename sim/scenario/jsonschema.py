"""JSON Schema and key reference of scenario files, generated from the schema dataclasses.

The frozen dataclasses of :mod:`sim.scenario.schema` are the one source of truth of the
scenario format: their fields give the keys, types and defaults, their field metadata the unit
and meaning of every key, the range rules of :mod:`sim.scenario.load` the bounds. From them this
module generates

* :func:`scenario_json_schema`: a JSON Schema (draft 2020-12) for editors
  (``sim schema > scenario.schema.json``; VS Code's YAML extension validates and completes
  scenario files with it), and
* :func:`reference_markdown`: the key reference of ``docs/scenarios.md`` (one table per block
  and per policy type: key, type, unit, default, meaning); :func:`update_docs` rewrites that
  section (``python -m sim.scenario.jsonschema --write-docs``).

The loader (:func:`sim.scenario.load.load_scenario`) stays the authority: it also checks what a
JSON Schema cannot express (ids that must exist, expenditure shares summing to 1, ``end >
start``, the merged result of ``extends``, CSV table contents). Keys of the file format that no
dataclass field describes (``extends``, ``region.pack``, a policy's ``type``, ``{file: path}``
tables, the mode-id keys of ``region.modes``) are described explicitly here.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

from sim.scenario import load as _load
from sim.scenario.defaults import DEFAULT_MODES
from sim.scenario.schema import (
    POLICY_TYPES,
    Agents,
    CounterpartPolicy,
    EnergyBasePolicy,
    InnovationPolicy,
    IntegrationPolicy,
    Link,
    LinkPolicy,
    Mode,
    Parameters,
    Place,
    PlaceSector,
    Policy,
    Region,
    Scenario,
    Sector,
    Solver,
    TimeSpan,
    TourismPolicy,
)

__all__ = [
    "DOCS_END",
    "DOCS_START",
    "JSON_SCHEMA_DIALECT",
    "docs_section",
    "reference_markdown",
    "scenario_json_schema",
    "update_docs",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DOCS_START = "<!-- keys: start -->"
DOCS_END = "<!-- keys: end -->"
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
REGENERATE = "python -m sim.scenario.jsonschema --write-docs"

_ID = r"^\S(.*\S)?$"  # non-empty, no surrounding spaces (load._check_id)
_NONBLANK = r"\S"

# fields with a default in the dataclass that the loader nevertheless requires in files
# (load._check_link_policy, load._check_policy_refs)
_REQUIRED_IN_FILES: dict[type, tuple[str, ...]] = {
    LinkPolicy: ("from_", "to", "mode"),
    InnovationPolicy: ("place",),
    EnergyBasePolicy: ("place",),
    CounterpartPolicy: ("origin",),
    IntegrationPolicy: ("between",),
}

# further checks of the loader that a JSON Schema can express
_EXTRA: dict[tuple[type, str], dict[str, Any]] = {
    (Scenario, "seed"): {"minimum": 0},
    (Place, "id"): {"pattern": _ID},
    (Sector, "id"): {"pattern": _ID},
    (LinkPolicy, "from_"): {"minLength": 1},
    (LinkPolicy, "to"): {"minLength": 1},
    (LinkPolicy, "mode"): {"minLength": 1},
    (InnovationPolicy, "place"): {"minLength": 1},
    (EnergyBasePolicy, "place"): {"minLength": 1},
    (CounterpartPolicy, "origin"): {"minLength": 1},
    (IntegrationPolicy, "between"): {"minItems": 2, "maxItems": 2},
    (TourismPolicy, "weights"): {"items": {"minimum": 0}},
}
_EXTRA_TEXT: dict[tuple[type, str], str] = {
    (Scenario, "seed"): "≥ 0",
    (IntegrationPolicy, "between"): "exactly 2",
    (TourismPolicy, "weights"): "each ≥ 0",
}

_PY_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean"}
_PY_TO_TEXT = {str: "str", int: "int", float: "float", bool: "bool"}


# --------------------------------------------------------------------------------------------
# reading the dataclasses


def _key(name: str) -> str:
    """The key of a field in files (``from_`` is written ``from``)."""
    return _load._TO_KEY.get(name, name)


def _unwrap(tp) -> tuple[Any, bool]:
    """``(type, optional)`` of a type hint: ``float | None`` -> ``(float, True)``."""
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner, True
    return tp, False


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _required(cls: type, f: dataclasses.Field) -> bool:
    """Whether the key must be written in a file (no default, or required by the loader)."""
    return not _has_default(f) or f.name in _REQUIRED_IN_FILES.get(cls, ())


def _own_fields(cls: type) -> list[dataclasses.Field]:
    """Fields of ``cls``; for policy types only those not inherited from :class:`Policy`."""
    base = {f.name for f in dataclasses.fields(Policy)} \
        if issubclass(cls, Policy) and cls is not Policy else set()
    return [f for f in dataclasses.fields(cls) if f.name not in base]


def _number(text: str) -> int | float:
    x = float(text)
    return int(x) if x.is_integer() else x


def _rule_bounds(text: str) -> dict[str, Any]:
    """JSON Schema bounds of a range rule of the loader, from its message."""
    m = re.fullmatch(r"must be (>=|>) (-?[\d.]+)", text)
    if m:
        return {"minimum" if m[1] == ">=" else "exclusiveMinimum": _number(m[2])}
    m = re.fullmatch(r"must be in ([\[(])(-?[\d.]+), (-?[\d.]+)([\])])", text)
    if m:
        lo = "minimum" if m[1] == "[" else "exclusiveMinimum"
        hi = "maximum" if m[4] == "]" else "exclusiveMaximum"
        return {lo: _number(m[2]), hi: _number(m[3])}
    raise ValueError(f"no JSON Schema bounds for the range rule {text!r}")


def _rule(cls: type, name: str) -> str | None:
    """Message of the loader's range rule of a field (``must be > 0``), if any."""
    for klass in cls.__mro__:
        rule = _load._RULES.get(klass, {}).get(name)
        if rule is not None:
            return rule[1]
    return None


def _doc(f: dataclasses.Field) -> str:
    return f.metadata.get("doc", "")


def _unit(f: dataclasses.Field) -> str:
    return f.metadata.get("unit", "")


def _choices(f: dataclasses.Field) -> tuple[str, ...] | None:
    """The allowed values of a string field (``choices`` metadata), if fixed."""
    return f.metadata.get("choices")


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _docstring(cls: type, summary_only: bool = False) -> str:
    """A class docstring as Markdown paragraphs (numpy sections dropped)."""
    text = inspect.cleandoc(cls.__doc__ or "")
    text = re.split(r"\n\s*(Attributes|Parameters)\n\s*-+\n", text)[0]
    paras = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    if summary_only:
        paras = paras[:1]
    return "\n\n".join(p.replace("``", "`") for p in paras)


# --------------------------------------------------------------------------------------------
# JSON Schema


def _describe(f: dataclasses.Field) -> str:
    unit = _unit(f)
    return _doc(f) + (f" Unit: {unit}." if unit else "")


def _field_schema(cls: type, f: dataclasses.Field) -> dict[str, Any]:
    """JSON Schema of one field's value in a file (``null`` allowed where it means default)."""
    tp, optional = _unwrap(typing.get_type_hints(cls)[f.name])
    out: dict[str, Any] = {"description": _describe(f)}
    extra = dict(_EXTRA.get((cls, f.name), {}))
    if typing.get_origin(tp) is tuple:
        elem = typing.get_args(tp)[0]
        out["type"] = ["array"]
        out["items"] = {"type": _PY_TO_JSON[elem], **extra.pop("items", {})}
    else:
        out["type"] = [_PY_TO_JSON[tp]]
        choices = _choices(f)
        if choices:
            out["enum"] = list(choices)
        rule = _rule(cls, f.name)
        if rule:
            out.update(_rule_bounds(rule))
    out.update(extra)
    if not _required(cls, f):
        # null means "use the default" (docs/scenarios.md)
        out["type"].append("null")
        if "enum" in out:
            out["enum"].append(None)
    if len(out["type"]) == 1:
        out["type"] = out["type"][0]
    if f.default is not dataclasses.MISSING and not _required(cls, f):
        out["default"] = _plain(f.default)
    return out


def _object(cls: type, fs, *, description: str, extra_props=None, extra_required=(),
            optional=False, nullable=False) -> dict[str, Any]:
    """A closed object schema (unknown keys are errors, as in the loader) of ``fs``.

    ``optional``: no key is required; ``nullable``: ``null`` (all defaults) is allowed too.
    """
    props = dict(extra_props or {})
    required = list(extra_required)
    for f in fs:
        props[_key(f.name)] = _field_schema(cls, f)
        if _required(cls, f) and not optional:
            required.append(_key(f.name))
    out = {"type": ["object", "null"] if nullable else "object", "description": description,
           "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _table_schema(row: str, description: str) -> dict[str, Any]:
    """A region table: inline rows, a CSV path, ``{file: path}`` or null (no rows)."""
    return {
        "description": description + " An inline list of rows, the path of a CSV file "
                                     "(relative to this file) or {file: path}.",
        "type": ["array", "string", "object", "null"],
        "items": {"$ref": f"#/$defs/{row}"},
        "pattern": _NONBLANK,
        "properties": {"file": {"type": "string", "pattern": _NONBLANK,
                                "description": "Path of a CSV file, relative to this file."}},
        "required": ["file"],
        "additionalProperties": False,
    }


_ROWS = {"places": ("place", Place), "sectors": ("sector", Sector), "links": ("link", Link),
         "place_sectors": ("place_sector", PlaceSector)}
_BLOCKS = {"agents": Agents, "time": TimeSpan, "parameters": Parameters, "solver": Solver}

_EXTENDS_DOC = ("Parent scenario file(s), relative to this file; this file is a diff against "
                "them (several parents merge left to right). Mappings merge recursively (the "
                "child wins), lists are replaced, `policies` are appended (the parent's first), "
                "`name` is never inherited.")
_PACK_DOC = ("Region pack: the name of a built-in pack under `sim/data/` (e.g. `jilin`) or a "
             "path, relative to this file, to a pack folder or its `region.yaml`. Tables not "
             "given here come from the pack's `tables`; `modes` come from the scenario.")
_TYPE_DOC = "Policy type, one of: " + ", ".join(f"`{t}`" for t in POLICY_TYPES) + "."
_MODE_KEY_DOC = ("The keys are mode ids (`id`): a built-in mode ("
                 + ", ".join(f"`{m.id}`" for m in DEFAULT_MODES)
                 + "), whose fields are overridden one by one, or a new mode, whose other "
                 "fields take the defaults below.")


def _policy_schema(t: str, cls: type) -> dict[str, Any]:
    fs = dataclasses.fields(cls)
    out = _object(cls, fs, description=_docstring(cls),
                  extra_props={"type": {"const": t, "description": _TYPE_DOC}},
                  extra_required=("type",))
    if cls is LinkPolicy:
        out["allOf"] = [
            {  # action open (the default) needs km and hours
                "if": {"properties": {"action": {"enum": ["open", None]}}},
                "then": {"required": ["km", "hours"],
                         "properties": {"km": {"type": "number"},
                                        "hours": {"type": "number"}}},
            },
            {  # new_mode applies to upgrades only
                "if": {"required": ["new_mode"],
                       "properties": {"new_mode": {"type": "string"}}},
                "then": {"required": ["action"], "properties": {"action": {"const": "upgrade"}}},
            },
        ]
    return out


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one scenario file, generated from the schema dataclasses.

    It describes a single file as written (before ``extends`` is merged): ``schema_version`` is
    required in every file, ``region`` (with ``places`` and ``sectors``, or a ``pack``) only in
    files without ``extends``. Unknown keys are errors everywhere, as in the loader; ``null``
    is allowed where it means "the default". Numbers must be YAML numbers (the loader also
    accepts numeric strings) and booleans YAML booleans.

    Returns
    -------
    dict
        The schema; ``json.dumps`` it to get the file for editors (``sim schema``).
    """
    sf = {f.name: f for f in dataclasses.fields(Scenario)}
    rf = {f.name: f for f in dataclasses.fields(Region)}
    defs: dict[str, Any] = {}
    for key, (row, cls) in _ROWS.items():
        defs[row] = _object(cls, dataclasses.fields(cls),
                            description=f"A row of region.{key}: " + _docstring(cls, True))
    defs["mode"] = _object(Mode, [f for f in dataclasses.fields(Mode) if f.name != "id"],
                           description=_docstring(Mode, True) + " Fields not given keep the "
                           "built-in mode's values (new modes: the defaults).", optional=True,
                           nullable=True)
    for key, cls in _BLOCKS.items():
        defs[key] = _object(cls, dataclasses.fields(cls), description=_docstring(cls, True),
                            nullable=True)
    region_props: dict[str, Any] = {
        "pack": {"type": "string", "pattern": _NONBLANK, "description": _PACK_DOC}}
    for key in _load.REGION_KEYS:
        if key == "modes":
            region_props[key] = {
                "description": _describe(rf[key]) + " A mapping mode id -> mode fields.",
                "type": ["object", "null"],
                "propertyNames": {"pattern": _ID, "description": _MODE_KEY_DOC},
                "additionalProperties": {"$ref": "#/$defs/mode"},
            }
        else:
            region_props[key] = _table_schema(_ROWS[key][0], _describe(rf[key]))
    defs["region"] = {"type": "object", "description": _describe(sf["region"]),
                      "properties": region_props, "additionalProperties": False}
    for t, cls in POLICY_TYPES.items():
        defs[f"policy_{t}"] = _policy_schema(t, cls)
    defs["policy"] = {
        "type": "object",
        "description": "A policy lever; its `type` selects its keys. " + _docstring(Policy, True),
        "required": ["type"],
        "properties": {"type": {"enum": list(POLICY_TYPES), "description": _TYPE_DOC}},
        "allOf": [{"if": {"properties": {"type": {"const": t}}, "required": ["type"]},
                   "then": {"$ref": f"#/$defs/policy_{t}"}} for t in POLICY_TYPES],
    }

    top: dict[str, Any] = {}
    for key in _load.TOP_KEYS:
        if key == "extends":
            top[key] = {"description": _EXTENDS_DOC, "type": ["string", "array"],
                        "pattern": _NONBLANK, "minItems": 1,
                        "items": {"type": "string", "pattern": _NONBLANK}}
        elif key == "schema_version":
            top[key] = {"description": _describe(sf[key]), "type": "integer",
                        "enum": list(_load.SUPPORTED_SCHEMA_VERSIONS)}
        elif key == "name":
            top[key] = {"description": _describe(sf[key]), "type": ["string", "null"],
                        "pattern": r"^[^/\\]*[^/\\\s][^/\\]*$"}
        elif key == "region":
            top[key] = {"$ref": "#/$defs/region"}
        elif key in _BLOCKS:
            top[key] = {"$ref": f"#/$defs/{key}", "description": _describe(sf[key])}
        elif key == "groups":
            top[key] = {"description": _describe(sf[key]), "type": ["object", "null"],
                        "propertyNames": {"pattern": _NONBLANK},
                        "additionalProperties": {"type": "array", "minItems": 1,
                                                 "items": {"type": "string"}},
                        "default": {}}
        elif key == "policies":
            top[key] = {"description": _describe(sf[key]), "type": ["array", "null"],
                        "items": {"$ref": "#/$defs/policy"}, "default": []}
        else:
            top[key] = _field_schema(Scenario, sf[key])
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "sim scenario file",
        "description": "A scenario file of sim (docs/scenarios.md), generated from the schema "
                       "dataclasses (sim/scenario/schema.py) by `sim schema`.",
        "type": "object",
        "properties": top,
        "additionalProperties": False,
        "required": ["schema_version"],
        # a file without a parent must define the region itself
        "if": {"not": {"required": ["extends"]}},
        "then": {"required": ["region"],
                 "properties": {"region": {"if": {"not": {"required": ["pack"]}},
                                           "then": {"required": ["places", "sectors"]}}}},
        "$defs": defs,
    }


# --------------------------------------------------------------------------------------------
# Markdown key reference


def _fmt_value(v) -> str:
    if v is None:
        return "`null`"
    if isinstance(v, bool):
        return f"`{str(v).lower()}`"
    if isinstance(v, tuple):
        return "`[" + ", ".join(str(x) for x in v) + "]`"
    if isinstance(v, str):
        return f"`{v}`" if v else '`""`'
    return f"`{v!r}`"


def _type_text(cls: type, f: dataclasses.Field) -> str:
    tp, optional = _unwrap(typing.get_type_hints(cls)[f.name])
    if typing.get_origin(tp) is tuple:
        text = f"list of {_PY_TO_TEXT[typing.get_args(tp)[0]]}"
    else:
        text = _PY_TO_TEXT[tp]
    choices = _choices(f)
    if choices:
        text += ": " + ", ".join(f"`{c}`" for c in choices)
    rule = _rule(cls, f.name)
    if rule:
        text += " " + rule.removeprefix("must be ").replace(">=", "≥")
    if (cls, f.name) in _EXTRA_TEXT:
        sep = " " if text in _PY_TO_TEXT.values() else ", "
        text += sep + _EXTRA_TEXT[(cls, f.name)]
    if optional:
        text += " or null"
    return text


def _default_text(cls: type, f: dataclasses.Field) -> str:
    if _required(cls, f):
        return "required"
    if f.default_factory is not dataclasses.MISSING:
        return f"see `{f.name}`"
    return _fmt_value(f.default)


_HEADER = "| key | type | unit | default | meaning |\n|---|---|---|---|---|\n"


def _row(key: str, type_: str, unit: str, default: str, doc: str) -> str:
    for cell in (key, type_, unit, default, doc):
        if "|" in cell or "\n" in cell:
            raise ValueError(f"table cell with '|' or a line break: {cell!r}")
    return f"| `{key}` | {type_} | {unit} | {default} | {doc} |\n"


def _table(cls: type, fs, overrides=None) -> str:
    """Markdown table of fields ``fs`` of ``cls``; ``overrides[name] = (type, default)``."""
    out = _HEADER
    for f in fs:
        type_, default = (overrides or {}).get(f.name, (None, None))
        out += _row(_key(f.name), type_ or _type_text(cls, f), _unit(f),
                    default or _default_text(cls, f), _doc(f))
    return out


def reference_markdown() -> str:
    """The key reference of ``docs/scenarios.md``, generated from the schema dataclasses.

    One table per block (top level, ``region`` and its tables, ``time``, ``agents``,
    ``parameters``, ``solver``), the keys common to all policies and one table per policy type;
    columns: key, type, unit, default, meaning.

    Returns
    -------
    str
        Markdown text, ending in a newline.
    """
    sf = {f.name: f for f in dataclasses.fields(Scenario)}
    out = [f"<!-- generated from sim/scenario/schema.py by `{REGENERATE}`; do not edit -->\n\n"]

    out.append("### Top level\n\n" + _HEADER)
    for key in _load.TOP_KEYS:
        if key == "extends":
            out.append(_row(key, "path or list of paths", "", "none", _EXTENDS_DOC))
            continue
        f = sf[key]
        type_, default = None, None
        if key in _BLOCKS or key == "region":
            type_ = f"mapping (see `{key}`)"
        if key == "policies":
            type_ = "list of mappings (see `policies`)"
        if key == "groups":
            type_, default = "mapping: group name → list of place ids", "`{}`"
        if key == "name":
            type_, default = "str", "file stem"
        if key == "schema_version":
            type_, default = "int: `1`", "required"
        if key == "region":
            default = "required (or from `extends`)"
        out.append(_row(key, type_ or _type_text(Scenario, f), _unit(f),
                        default or _default_text(Scenario, f), _doc(f)))
    hidden = [f.name for f in dataclasses.fields(Scenario) if f.name not in _load.TOP_KEYS]
    out.append("\nNot a key in files: " + "; ".join(
        f"`{n}` ({_doc(sf[n])[0].lower()}{_doc(sf[n])[1:].rstrip('.')})" for n in hidden) + ".\n")

    out.append("\n### `region`\n\n" + _HEADER)
    out.append(_row("pack", "str", "", "none", _PACK_DOC))
    for f in dataclasses.fields(Region):
        if f.name == "modes":
            type_, default = "mapping: mode id → mode fields", "the built-in modes"
        else:
            type_ = "list of mappings, CSV path or `{file: path}`"
            default = "required (or from `pack`)" if not _has_default(f) else "`[]`"
        out.append(_row(f.name, type_, _unit(f), default, _doc(f)))
    doc_cols = ", ".join(f"`{c}`" for c in _load.DOC_COLUMNS)
    out.append(f"\nIn CSV tables the header row names the keys below; empty cells take the "
               f"default; documentation columns {doc_cols} are allowed and ignored.\n")
    for key, (_row_name, cls) in _ROWS.items():
        out.append(f"\n### `region.{key}`\n\n{_docstring(cls, True)}\n\n")
        out.append(_table(cls, dataclasses.fields(cls)))
        if key == "links":  # the mode table follows the links
            mf = {f.name: f for f in dataclasses.fields(Mode)}
            out.append(f"\n### `region.modes`\n\n{_docstring(Mode, True)} A mapping "
                       f"`mode id: {{key: value}}`. {_MODE_KEY_DOC}\n\n")
            out.append(_table(Mode, [f for f in mf.values() if f.name != "id"]))

    for key in ("time", "agents", "parameters", "solver"):
        cls = _BLOCKS[key]
        out.append(f"\n### `{key}`\n\n{_docstring(cls, True)}\n\n")
        out.append(_table(cls, dataclasses.fields(cls)))

    out.append("\n### `policies`\n\nEvery entry of `policies` has a `type` and the common "
               "keys; the other keys depend on the type.\n\n" + _HEADER)
    out.append(_row("type", "str", "", "required", _TYPE_DOC))
    for f in dataclasses.fields(Policy):
        out.append(_row(_key(f.name), _type_text(Policy, f), _unit(f),
                        _default_text(Policy, f), _doc(f)))
    for t, cls in POLICY_TYPES.items():
        out.append(f"\n#### `type: {t}`\n\n{_docstring(cls)}\n\n")
        out.append(_table(cls, _own_fields(cls)))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# docs/scenarios.md


def docs_section(text: str) -> str:
    """The generated part of a document: the text between the key-reference markers."""
    if DOCS_START not in text or DOCS_END not in text:
        raise ValueError(f"markers {DOCS_START} ... {DOCS_END} not found")
    return text.split(DOCS_START, 1)[1].split(DOCS_END, 1)[0].removeprefix("\n")


def update_docs(path=DOCS_PATH) -> bool:
    """Rewrite the key reference between the markers of ``path`` (``docs/scenarios.md``).

    Parameters
    ----------
    path : str or path-like
        The Markdown file holding the markers.

    Returns
    -------
    bool
        True if the file changed.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    docs_section(text)  # markers present
    head, rest = text.split(DOCS_START, 1)
    tail = rest.split(DOCS_END, 1)[1]
    new = f"{head}{DOCS_START}\n{reference_markdown()}{DOCS_END}{tail}"
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def _main(argv=None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m sim.scenario.jsonschema",
                                description="Print the scenario JSON Schema, or regenerate the "
                                            "key reference of docs/scenarios.md.")
    p.add_argument("--write-docs", nargs="?", const=str(DOCS_PATH), default=None, metavar="PATH",
                   help=f"rewrite the key reference in PATH (default {DOCS_PATH})")
    p.add_argument("--markdown", action="store_true", help="print the key reference")
    args = p.parse_args(argv)
    if args.write_docs:
        changed = update_docs(args.write_docs)
        print(f"{args.write_docs}: {'updated' if changed else 'up to date'}")
    elif args.markdown:
        print(reference_markdown(), end="")
    else:
        print(json.dumps(scenario_json_schema(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
