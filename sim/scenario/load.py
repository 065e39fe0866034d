"""Scenario files: YAML and CSV tables -> a validated :class:`~sim.scenario.schema.Scenario`.

Loading runs in two stages.

1. *Read*: each YAML file is parsed, its ``schema_version`` checked, its relative CSV paths
   resolved against its own folder, and its ``extends`` parent read recursively and merged
   (mappings merged recursively with the child winning, lists replaced, ``policies``
   concatenated parent-first, ``name`` never inherited). Every value keeps a record of the file
   that wrote it, so that errors name the right file.
2. *Build*: the merged tree is coerced into the frozen schema dataclasses (types follow the
   dataclass annotations) and validated; the first problem raises
   :class:`~sim.errors.ScenarioError` naming the file, the key path (``region.sectors[2].sigma``)
   or CSV cell (``places.csv row 4, column lat``) and the offending value.

``null`` in YAML and an empty CSV cell both mean "use the field's default" (``None`` for every
optional field). :func:`dump_scenario` writes the fully resolved form (inline tables, full mode
table, every field, ``None`` as ``null``, a link's ``from_`` as ``from``); loading it gives an
equal scenario. The file format is documented in ``docs/scenarios.md``.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import difflib
import functools
import hashlib
import io
import json
import math
import os
import stat
import types
import typing
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

from sim.errors import ScenarioError
from sim.scenario.defaults import DEFAULT_MODES
from sim.scenario.schema import (
    DRIFT_RULES,
    FIRM_DYNAMICS,
    FREENESS_PRECISIONS,
    MIGRATION_RULES,
    POLICY_TYPES,
    RESOLUTIONS,
    SCHEMA_VERSION,
    TRADE_COST_FORMS,
    Agents,
    AmenityPolicy,
    ClusterPolicy,
    CounterpartPolicy,
    EnergyBasePolicy,
    EntryCostPolicy,
    ExternalDemandPolicy,
    FirmSubsidyPolicy,
    InnovationPolicy,
    IntegrationPolicy,
    Link,
    LinkPolicy,
    Mode,
    OpenZonePolicy,
    Parameters,
    Place,
    PlaceSector,
    Policy,
    ProductivityPolicy,
    Region,
    Scenario,
    Sector,
    Solver,
    TimeSpan,
    TourismPolicy,
)

__all__ = [
    "DOC_COLUMNS",
    "SUPPORTED_SCHEMA_VERSIONS",
    "dump_scenario",
    "load_scenario",
    "load_scenario_dict",
    "scenario_hash",
    "scenario_to_dict",
]

SUPPORTED_SCHEMA_VERSIONS = (SCHEMA_VERSION,)
"""Schema versions this loader reads (no migrations exist yet)."""

DOC_COLUMNS = ("source_notes", "notes", "kind")
"""Extra CSV columns that are allowed (and ignored) in region tables."""

SUFFIXES = (".yaml", ".yml")
TABLES: dict[str, type] = {
    "places": Place, "sectors": Sector, "links": Link, "place_sectors": PlaceSector,
}
TOP_KEYS = ("schema_version", "name", "description", "extends", "seed", "resolution", "agents",
            "calibrate", "groups", "time", "region", "parameters", "solver", "policies")
REGION_KEYS = ("places", "sectors", "links", "modes", "place_sectors")
LINK_ACTIONS = ("open", "upgrade", "close")
SHARE_TOL = 1e-9

ALLOW_OUTSIDE_ENV = "SIM_ALLOW_OUTSIDE_TABLES"
"""Set to 1 to let a scenario's CSV tables (and a region pack) lie outside its folder."""
MAX_FILE_BYTES = 64 * 2**20
"""Largest scenario, region.yaml or CSV file read (bigger files are refused unread)."""
MAX_YAML_NODES = 200_000
"""Largest YAML document after expanding aliases (refuses alias bombs)."""
MAX_YAML_DEPTH = 64
"""Deepest nesting of a YAML document."""
MAX_EXTENDS_DEPTH = 32
"""Longest ``extends`` chain."""
YEARS = (1900, 2300)
"""Calendar years a scenario's time span and policies may name."""
MAX_YEARS = 300
"""Longest time span (years)."""

# attribute name <-> key used in files
_TO_ATTR = {"from": "from_"}
_TO_KEY = {"from_": "from"}


# --------------------------------------------------------------------------------------------
# where a value was written


class _OMap(dict):
    """Origin of a mapping: the file that last wrote it, and the origins of its entries."""

    def __init__(self, file: str, entries=()):
        super().__init__(entries)
        self.file = file


def _origin_of(value, file: str):
    if isinstance(value, dict):
        return _OMap(file, {k: _origin_of(v, file) for k, v in value.items()})
    return file  # scalars and lists: written whole by one file


def _file_of(origin, path: tuple) -> str:
    """The file that wrote the value at ``path`` (the deepest recorded writer)."""
    node = origin
    for k in path:
        if isinstance(node, _OMap) and k in node:
            node = node[k]
        elif isinstance(node, list) and isinstance(k, int) and 0 <= k < len(node):
            node = node[k]
        else:
            break
    if isinstance(node, _OMap):
        return node.file
    if isinstance(node, list):
        return origin.file
    return node


def _fmt_path(path: tuple) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top level)"


class _Loc:
    """A place in the input: a key path of the scenario tree, or a row (and column) of a CSV."""

    __slots__ = ("origin", "path", "csv")

    def __init__(self, origin, path: tuple = (), csv: tuple[str, int] | None = None):
        self.origin = origin
        self.path = path
        self.csv = csv

    def at(self, *keys) -> _Loc:
        return _Loc(self.origin, self.path + keys, self.csv)

    @property
    def file(self) -> str:
        return self.csv[0] if self.csv else _file_of(self.origin, self.path)

    def describe(self) -> str:
        if self.csv is None:
            return _fmt_path(self.path)
        file, row = self.csv
        where = f"{Path(file).name} row {row}"
        return f"{where}, column {_fmt_path(self.path)}" if self.path else where

    def fail(self, value, message: str) -> NoReturn:
        raise ScenarioError(self.file, self.describe(), value, message)


# --------------------------------------------------------------------------------------------
# reading files


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""The safe loader, with libyaml's parser when PyYAML has it (four times faster; the same
constructors and resolvers, so the same documents; libyaml refuses nesting beyond 1,000
levels with a syntax error, and :func:`_yaml_size_check` then holds documents to
``MAX_YAML_DEPTH``)."""


class _Loader(_SAFE_LOADER):
    """A safe loader (libyaml's when available) that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    dup = key in seen
                except TypeError:  # unhashable key: the base class reports it
                    continue
                if dup:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _regular_file(path: Path, file, where: str, what: str) -> None:
    """Refuse special files (devices, pipes, sockets) and oversized files before reading."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ScenarioError(file, where, str(path), f"{what} not found") from None
    except OSError as e:
        raise ScenarioError(file, where, str(path), f"cannot read {what}: {e.strerror}") \
            from None
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(file, where, str(path), f"{what} is not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise ScenarioError(file, where, str(path),
                            f"{what} is too large ({st.st_size} bytes; at most "
                            f"{MAX_FILE_BYTES} are read)")


def _yaml_size_check(node) -> None:
    """Refuse documents whose expanded size or depth is unreasonable (alias bombs)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    stack = [(node, False)]
    on_path: set[int] = set()
    while stack:
        n, done = stack.pop()
        k = id(n)
        if done:
            on_path.discard(k)
            kids = _yaml_children(n)
            size[k] = 1 + sum(size[id(c)] for c in kids)
            depth[k] = 1 + max((depth[id(c)] for c in kids), default=0)
            if size[k] > MAX_YAML_NODES:
                raise ValueError(f"the document expands to more than {MAX_YAML_NODES} values "
                                 f"(aliases repeated many times?)")
            if depth[k] > MAX_YAML_DEPTH:
                raise ValueError(f"nesting deeper than {MAX_YAML_DEPTH} levels")
            continue
        if k in size:
            continue
        if k in on_path:
            raise ValueError("a recursive alias")
        on_path.add(k)
        stack.append((n, True))
        stack.extend((c, False) for c in _yaml_children(n) if id(c) not in size)


def _yaml_children(n) -> list:
    if isinstance(n, yaml.MappingNode):
        return [x for kv in n.value for x in kv]
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    return []


_PARSED: dict = {}
"""Parsed YAML documents by (loader, text): a scenario and the files it extends (a plan's
pillars all extend the baseline) and region packs are parsed once per process; callers get
deep copies. At most ``_PARSED_MAX`` documents are kept."""
_PARSED_MAX = 64


def _load_yaml_text(text: str, path, loader=None):
    """Parse YAML safely: safe loader, bounded size and depth (ValueError otherwise).

    Returns a fresh copy of the document (parsed once per process for equal text).
    """
    key = (loader, text)
    hit = _PARSED.get(key)
    if hit is None:
        hit = _parse_yaml_text(text, loader)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = hit
    return copy.deepcopy(hit)


def _parse_yaml_text(text: str, loader=None):
    ld = (loader or _SAFE_LOADER)(text)
    try:
        try:
            node = ld.get_single_node()
        except RecursionError:
            raise ValueError(f"nesting deeper than {MAX_YAML_DEPTH} levels") from None
        if node is None:
            return None
        _yaml_size_check(node)
        return ld.construct_document(node)
    finally:
        ld.dispose()


def _read_yaml(path: Path) -> dict:
    if path.suffix.lower() not in SUFFIXES:
        raise ScenarioError(path, "(file)", str(path),
                            f"a scenario file must end in {' or '.join(SUFFIXES)}")
    _regular_file(path, path, "(file)", "file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "(file)", str(path), "file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(path, "(file)", str(path), f"cannot read file: {e}") from None
    try:
        data = _load_yaml_text(text, path, _Loader)  # a safe loader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        lines = text.splitlines()
        line = lines[mark.line].strip()[:200] if mark and mark.line < len(lines) else ""
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = " ".join(str(x) for x in (e.context, e.problem) if x)
        raise ScenarioError(path, where, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as e:
        raise ScenarioError(path, "(file)", None, f"invalid YAML: {e}") from None
    except ValueError as e:
        raise ScenarioError(path, "(file)", None, f"refused YAML: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(path, "(top level)", data, "a scenario file must be a YAML mapping")
    return data


def _check_version(data: dict, file: str) -> None:
    supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    if "schema_version" not in data:
        raise ScenarioError(file, "schema_version", None,
                            f"missing; every scenario file must state its schema_version "
                            f"(supported: {supported})")
    v = data["schema_version"]
    if type(v) is not int or v not in SUPPORTED_SCHEMA_VERSIONS:
        raise ScenarioError(file, "schema_version", v,
                            f"unsupported schema version; this version of sim reads "
                            f"schema_version {supported}")


PACKS_DIR = Path(__file__).resolve().parents[1] / "data"


def region_pack_path(spec: str, base_dir: Path) -> Path:
    """The ``region.yaml`` of a region pack.

    ``spec`` is a path relative to ``base_dir`` (a pack folder or its ``region.yaml``) if that
    exists, else the name of a built-in pack under ``sim/data/``.
    """
    p = base_dir / spec
    if p.is_dir():
        return p / "region.yaml"
    if p.is_file():
        return p
    if (PACKS_DIR / spec).is_file():  # another manifest of a built-in pack
        return PACKS_DIR / spec
    return PACKS_DIR / spec / "region.yaml"


def _outside_allowed() -> bool:
    return os.environ.get(ALLOW_OUTSIDE_ENV, "").strip().lower() in ("1", "true", "yes")


def _confined(path: Path, root: Path, file, where: str, what: str) -> Path:
    """``path`` made absolute; it must lie inside ``root`` (symbolic links followed)."""
    full = Path(os.path.abspath(path))
    if not _outside_allowed():
        try:
            real, top = full.resolve(), root.resolve()
        except (OSError, RuntimeError):
            raise ScenarioError(file, where, str(path), f"cannot resolve {what} path") from None
        if real != top and top not in real.parents:
            raise ScenarioError(
                file, where, str(path),
                f"{what} lies outside {top}; tables must be inside the folder of the file "
                f"that names them (set {ALLOW_OUTSIDE_ENV}=1 to allow other places)")
    return full


def _resolve_pack(region: dict, base_dir: Path, file: str) -> dict:
    """Fill region tables not given in the scenario from its ``pack`` (docs/scenarios.md)."""
    spec = region.pop("pack")
    if not isinstance(spec, str) or not spec.strip():
        raise ScenarioError(file, "region.pack", spec,
                            "expected a built-in region pack name or a path")
    path = region_pack_path(spec, base_dir)
    if not path.is_file():
        known = sorted(d.name for d in PACKS_DIR.iterdir() if (d / "region.yaml").is_file()) \
            if PACKS_DIR.is_dir() else []
        raise ScenarioError(file, "region.pack", spec,
                            f"region pack not found ({path}); built-in packs: "
                            f"{', '.join(known) or 'none'}")
    if not path.resolve().is_relative_to(PACKS_DIR.resolve()):
        _confined(path, base_dir, file, "region.pack", "the region pack")
    _regular_file(path, file, "region.pack", "region pack file")
    try:
        manifest = _load_yaml_text(path.read_text(encoding="utf-8"), path)
    except yaml.YAMLError as e:
        raise ScenarioError(str(path), "region.yaml", spec, f"invalid YAML: {e}") from None
    except (ValueError, OSError) as e:
        raise ScenarioError(str(path), "region.yaml", spec, f"cannot read: {e}") from None
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    if not isinstance(tables, dict):
        raise ScenarioError(str(path), "tables", tables,
                            "a region pack's region.yaml needs a 'tables' mapping")
    for table, f in tables.items():
        if table not in TABLES:
            raise ScenarioError(str(path), f"tables.{table}", f,
                                f"unknown table (known: {', '.join(TABLES)})")
        if not isinstance(f, str) or not f.strip():
            raise ScenarioError(str(path), f"tables.{table}", f,
                                "expected the path of a CSV file (relative to the pack)")
        if table not in region:
            full = _confined(path.parent / f, path.parent, str(path), f"tables.{table}",
                             "the table")
            region[table] = {"file": str(full), _CHECKED: True}
    return region


# a key no file can write: marks table paths already resolved and confined (pack tables)
_CHECKED = object()


def _resolve_csv_paths(data: dict, base_dir: Path, file: str = "<scenario>") -> dict:
    """Make the CSV paths of ``data``'s region tables absolute (relative to ``base_dir``).

    Each path must stay inside ``base_dir`` (or the pack's folder for a pack's tables) unless
    the environment variable ``SIM_ALLOW_OUTSIDE_TABLES`` is 1.
    """
    region = data.get("region")
    if not isinstance(region, dict):
        return data
    region = dict(region)
    if "pack" in region:
        region = _resolve_pack(region, base_dir, file)
    for table in TABLES:
        spec = region.get(table)
        where = f"region.{table}"
        if isinstance(spec, dict) and spec.get(_CHECKED):
            region[table] = {k: v for k, v in spec.items() if k != _CHECKED}
        elif isinstance(spec, str):
            region[table] = {"file": str(_confined(base_dir / spec, base_dir, file, where,
                                                   "the table"))}
        elif isinstance(spec, dict) and isinstance(spec.get("file"), str):
            region[table] = {**spec, "file": str(_confined(base_dir / spec["file"], base_dir,
                                                           file, where + ".file", "the table"))}
    return {**data, "region": region}


def _merge(parent: dict, child: dict, porigin: _OMap, corigin: _OMap, path: tuple = ()):
    out, origin = dict(parent), _OMap(corigin.file, porigin)
    for k, v in child.items():
        kp = path + (k,)
        atomic = len(kp) == 2 and kp[0] == "region" and kp[1] in TABLES
        pv = parent.get(k)
        if isinstance(pv, dict) and isinstance(v, dict) and not atomic:
            out[k], origin[k] = _merge(pv, v, porigin[k], corigin[k], kp)
        elif kp == ("policies",) and isinstance(pv, list) and isinstance(v, list):
            out[k] = pv + v
            origin[k] = _each(porigin[k], len(pv)) + _each(corigin[k], len(v))
        else:
            out[k], origin[k] = v, corigin[k]
    return out, origin


def _each(origin, n: int) -> list:
    return list(origin) if isinstance(origin, list) else [origin] * n


def _resolve_tree(data: dict, file: str, base_dir: Path, chain: tuple[Path, ...]):
    """Version check, CSV paths, and the ``extends`` chain of one file's tree."""
    _check_version(data, file)
    data = _resolve_csv_paths(data, base_dir, file)
    origin = _origin_of(data, file)
    if "extends" not in data:
        return data, origin
    ext = data.pop("extends")
    origin.pop("extends")
    parents = ext if isinstance(ext, list) and ext else [ext]
    merged = None
    for j, e in enumerate(parents):
        where = "extends" if not isinstance(ext, list) else f"extends[{j}]"
        if not isinstance(e, str) or not e.strip():
            raise ScenarioError(file, where, e, "must be the path of a parent scenario file "
                                                "(or a list of them)")
        parent = base_dir / e
        if parent.suffix.lower() not in SUFFIXES:
            raise ScenarioError(file, where, e, f"a parent scenario file must end in "
                                                f"{' or '.join(SUFFIXES)}")
        key = parent.resolve()
        if key in chain:
            cycle = [p.name for p in chain[chain.index(key):]] + [key.name]
            raise ScenarioError(file, where, e, "extends cycle: " + " -> ".join(cycle))
        if not parent.is_file():
            raise ScenarioError(file, where, e, f"parent scenario file not found: {parent}")
        if len(chain) >= MAX_EXTENDS_DEPTH:
            raise ScenarioError(file, where, e, f"extends chain longer than "
                                                f"{MAX_EXTENDS_DEPTH} files")
        pdata, porigin = _resolve_tree(_read_yaml(parent), str(parent), parent.parent,
                                       chain + (key,))
        pdata.pop("name", None)  # never inherited
        porigin.pop("name", None)
        # several parents merge left to right, like successive diffs (policies appended)
        merged = (pdata, porigin) if merged is None else _merge(merged[0], pdata, merged[1],
                                                                  porigin)
    return _merge(merged[0], data, merged[1], origin)


def _read_csv(file: str, cls: type, loc: _Loc) -> list[tuple[Any, _Loc]]:
    """Rows of a region-table CSV file as ``(record, location)`` pairs."""
    path = Path(file)
    if path.suffix.lower() != ".csv":
        loc.fail(file, "a region table file must end in .csv")
    _regular_file(path, loc.file, loc.describe(), "CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        loc.fail(file, "CSV file not found")
    except (OSError, UnicodeDecodeError) as e:
        loc.fail(file, f"cannot read CSV file: {e}")
    key = (file, cls, text)
    hit = _TABLES.get(key)
    if hit is not None:  # the same table read before in this process (a plan and its baseline)
        return list(hit)
    out = _parse_csv(file, cls, text, path)
    if len(_TABLES) >= _TABLES_MAX:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = tuple(out)
    return out


_TABLES: dict = {}
"""Validated region tables by (file, record type, text): records and row locations are
immutable, so a table read again (the files a plan and its baseline share) is not parsed again.
At most ``_TABLES_MAX`` are kept."""
_TABLES_MAX = 16


def _parse_csv(file: str, cls: type, text: str, path: Path) -> list[tuple[Any, _Loc]]:
    """The rows of :func:`_read_csv` from the file's text."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as e:
        raise ScenarioError(file, f"line {reader.line_num}", None, f"invalid CSV: {e}") from None
    name = path.name
    if not rows:
        raise ScenarioError(file, f"{name} row 0", None, "empty CSV file (no header row)")
    header = [h.strip() for h in rows[0]]
    known = {_TO_KEY.get(f.name, f.name) for f in dataclasses.fields(cls)}
    if not known & set(header):
        # not a region table: say so without echoing any of its content
        raise ScenarioError(file, f"{name} row 0", None,
                            f"not a {cls.__name__} table: its first row names none of the "
                            f"columns {', '.join(sorted(known))}")
    keep = []
    for j, col in enumerate(header):
        if col in header[:j]:
            raise ScenarioError(file, f"{name} row 0, column {col}", col, "duplicate column")
        if col == "":
            if any(j < len(r) and r[j].strip() for r in rows[1:]):
                raise ScenarioError(file, f"{name} row 0, column {j + 1}", col,
                                    "a column with values needs a header")
            continue
        if col not in known and col not in DOC_COLUMNS:
            raise ScenarioError(file, f"{name} row 0, column {col}", col,
                                _unknown(col, sorted(known), f"unknown {cls.__name__} column")
                                + f"; allowed documentation columns: {', '.join(DOC_COLUMNS)}")
        if col in known:
            keep.append(j)
    out = []
    for i, row in enumerate(rows[1:], start=1):
        rloc = _Loc(None, (), (file, i))
        if len(row) != len(header):
            rloc.fail(",".join(row), f"has {len(row)} cells, the header has {len(header)}")
        raw = {header[j]: row[j].strip() for j in keep if row[j].strip() != ""}
        out.append((_record(cls, raw, rloc, csv=True), rloc))
    return out


# --------------------------------------------------------------------------------------------
# coercion


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved field types of a schema dataclass (cached: the schema is fixed; do not mutate)."""
    return typing.get_type_hints(cls)


@functools.cache
def _dict_plan(cls: type, skip: tuple) -> tuple:
    """(field, key, base type) of each field of ``cls`` that :func:`_as_dict` writes (cached)."""
    hints = _hints(cls)
    return tuple((f.name, _TO_KEY.get(f.name, f.name), _base_type(hints[f.name]))
                 for f in dataclasses.fields(cls) if f.name not in skip)


def _unknown(key, allowed, what="unknown key") -> str:
    msg = f"{what} {key!r}"
    close = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1)
    if close:
        return f"{msg}; did you mean {close[0]!r}?"
    return f"{msg}; expected one of: {', '.join(str(a) for a in allowed)}"


def _check_keys(raw: dict, allowed, loc: _Loc) -> None:
    for k, v in raw.items():
        if k not in allowed:
            loc.at(k if isinstance(k, str) else repr(k)).fail(v, _unknown(k, allowed))


def _mapping(raw, loc: _Loc, what: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        loc.fail(raw, f"expected a mapping ({what})")
    return raw


def _to_float(v, loc: _Loc) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        loc.fail(v, "expected a number")
    try:
        x = float(v.strip() if isinstance(v, str) else v)
    except (ValueError, OverflowError):
        loc.fail(v, "expected a number")
    if not math.isfinite(x):
        loc.fail(v, "must be a finite number")
    return x


def _to_int(v, loc: _Loc) -> int:
    if isinstance(v, bool):
        loc.fail(v, "expected an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            pass
    x = _to_float(v, loc)
    if not x.is_integer():
        loc.fail(v, "expected an integer")
    return int(x)


_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def _to_bool(v, loc: _Loc) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE + _FALSE:
        return v.strip().lower() in _TRUE
    loc.fail(v, "expected a boolean (true/false/1/0/yes/no)")


@functools.cache
def _type_plan(tp) -> tuple:
    """(base type, element type or None) of a field type, optional unwrapped (cached).

    A region pack's tables coerce thousands of values; ``typing.get_origin`` on each was a
    third of loading a scenario.
    """
    if typing.get_origin(tp) in (types.UnionType, typing.Union):  # optional field
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is tuple:
        return tuple, typing.get_args(tp)[0]
    return tp, None


def _coerce(v, tp, loc: _Loc):
    tp, elem = _type_plan(tp)
    if tp is tuple:
        if not isinstance(v, list | tuple):
            loc.fail(v, "expected a list")
        return tuple(_coerce(x, elem, loc.at(i)) for i, x in enumerate(v))
    if tp is bool:
        return _to_bool(v, loc)
    if tp is int:
        return _to_int(v, loc)
    if tp is float:
        return _to_float(v, loc)
    if tp is str:
        if not isinstance(v, str):
            loc.fail(v, "expected a string")
        return v
    raise TypeError(f"no coercion for {tp!r}")  # pragma: no cover (schema bug)


@functools.cache
def _field_table(cls: type, skip: tuple) -> tuple[dict, tuple]:
    """Fields of ``cls`` by file key, and (key, name, type, required) of each (cached).

    The schema is fixed: one table per class, in field order.
    """
    fs = {_TO_KEY.get(f.name, f.name): f for f in dataclasses.fields(cls) if f.name not in skip}
    hints = _hints(cls)
    table = tuple((key, f.name, hints[f.name], f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING) for key, f in fs.items())
    return fs, table


def _fields(cls: type, raw, loc: _Loc, *, csv=False, skip=(), required=True) -> dict:
    """Coerce a mapping of file keys into keyword arguments of ``cls``."""
    if not isinstance(raw, dict):
        loc.fail(raw, f"expected a mapping of {cls.__name__} fields")
    fs, table = _field_table(cls, tuple(skip))
    if not csv:
        _check_keys(raw, fs, loc)
    kw = {}
    for key, name, tp, no_default in table:
        v = raw.get(key)
        if v is None:
            if required and no_default:
                loc.at(key).fail(v, f"required field {key!r} is missing")
            continue
        kw[name] = _coerce(v, tp, loc.at(key))
    return kw


def _record(cls: type, raw, loc: _Loc, *, csv=False):
    return cls(**_fields(cls, raw, loc, csv=csv))


# --------------------------------------------------------------------------------------------
# validation rules


def _rule(pred, text):
    return pred, text


_GT0 = _rule(lambda x: x > 0, "must be > 0")
_GE0 = _rule(lambda x: x >= 0, "must be >= 0")
_GT1 = _rule(lambda x: x > 1, "must be > 1")
_GE1 = _rule(lambda x: x >= 1, "must be >= 1")
_GE2 = _rule(lambda x: x >= 2, "must be >= 2")
_UNIT = _rule(lambda x: 0 <= x <= 1, "must be in [0, 1]")
_UNIT_OPEN = _rule(lambda x: 0 <= x < 1, "must be in [0, 1)")
_UNIT_LOPEN = _rule(lambda x: 0 < x <= 1, "must be in (0, 1]")
_GROWTH = _rule(lambda x: -0.2 <= x <= 0.2, "must be in [-0.2, 0.2]")  # a yearly rate
_YEAR = _rule(lambda x: YEARS[0] <= x <= YEARS[1], f"must be in [{YEARS[0]}, {YEARS[1]}]")
_MAX_AGENTS = 10_000_000
_LAT = _rule(lambda x: -90 <= x <= 90, "must be in [-90, 90]")
_LON = _rule(lambda x: -180 <= x <= 180, "must be in [-180, 180]")

_RULES: dict[type, dict[str, tuple]] = {
    Place: {"lat": _LAT, "lon": _LON, "mobile_pop": _GE0, "ag_pop": _GE0,
            "productivity": _GT0, "amenity": _GT0, "ag_productivity": _GT0, "land": _GT0,
            "wage": _GT0, "gdp": _GE0, "natural_growth": _GROWTH, "gdp_growth": _GROWTH,
            "migration_share": _UNIT,
            "net_migration": _rule(lambda x: -0.5 < x < 0.5, "must be in (-0.5, 0.5)"),
            "amenity_drift": _rule(lambda x: -0.5 < x < 0.5, "must be in (-0.5, 0.5)"),
            "productivity_drift": _rule(lambda x: -0.5 < x < 0.5, "must be in (-0.5, 0.5)"),
            "trade_exports": _GT0, "trade_imports": _GT0},
    Sector: {"sigma": _GT1, "expenditure_share": _UNIT, "fixed_cost": _GT0,
             "trade_cost_scale": _GE0, "energy_share": _UNIT_OPEN,
             "tfp_growth": _GROWTH},
    PlaceSector: {"productivity": _GT0, "supply_share": _UNIT},
    Link: {"km": _GE0, "hours": _GE0, "fixed_cost": _GE0, "capacity": _GT0, "opened": _YEAR,
           "closed": _YEAR},
    Mode: {"cost_per_km_freight": _GE0, "cost_per_km_passenger": _GE0,
           "terminal_cost_freight": _GE0, "terminal_cost_passenger": _GE0},
    Parameters: {"agriculture_share": _UNIT_OPEN, "housing_share": _UNIT_OPEN,
                 "distance_elasticity": _GE0, "reference_cost": _GT0,
                 "trade_cost_rate": _GE0,
                 "value_of_time_freight": _GE0, "value_of_time_passenger": _GE0,
                 "sector_elasticity": _GT0, "migration_elasticity": _GT0,
                 "reconsider_share": _UNIT, "migration_cost_fixed": _GE0,
                 "migration_cost_per_hour": _GE0, "migration_cost_external": _GE0,
                 "replicator_speed": _GT0, "hukou_cost": _GE0, "hukou_share": _UNIT,
                 "hukou_conversion": _UNIT, "firm_exit_rate": _UNIT_OPEN,
                 "firm_loss_exit": _UNIT, "firm_profit_noise": _GE0, "firm_entry_rate": _GE0,
                 "firm_entry_logit": _GT0,
                 "firm_entry_cost": _GE0, "firm_relocation_share": _UNIT,
                 "firm_moving_cost": _GE0, "productivity_persistence": _UNIT_OPEN,
                 "productivity_dispersion": _GE0,
                 "productivity_levels": _rule(lambda x: 2 <= x <= 101, "must be in [2, 101]"),
                 "firm_spinup_max": _rule(lambda x: 0 <= x <= 100_000,
                                          "must be in [0, 100000]"),
                 "migration_distance_elasticity": _GE0,
                 "migration_size_elasticity": _GE0, "drift_halflife": _GT0},
    Agents: {"households": _rule(lambda x: 1 <= x <= _MAX_AGENTS,
                                 f"must be in [1, {_MAX_AGENTS}]"),
             "firms": _rule(lambda x: 1 <= x <= _MAX_AGENTS, f"must be in [1, {_MAX_AGENTS}]")},
    Solver: {"tol": _GT0, "max_iter": _rule(lambda x: 1 <= x <= 1_000_000,
                                            "must be in [1, 1000000]"),
             "damping": _UNIT_LOPEN, "anderson": _rule(lambda x: 0 <= x <= 50,
                                                       "must be in [0, 50]")},
    TimeSpan: {"start": _YEAR, "end": _YEAR},
    Policy: {"cost_cny": _GE0, "start": _YEAR, "end": _YEAR, "reference_cost_cny": _GT0,
             "spending_elasticity": _UNIT, "central_share": _UNIT},
    LinkPolicy: {"km": _GE0, "hours": _GE0, "fixed_cost": _GE0, "capacity": _GT0},
    ProductivityPolicy: {"factor": _GT0, "phase_in": _GE0},
    AmenityPolicy: {"factor": _GT0, "phase_in": _GE0},
    ExternalDemandPolicy: {"factor": _GT0, "phase_in": _GE0},
    FirmSubsidyPolicy: {"rate": _UNIT_OPEN, "phase_in": _GE0},
    EntryCostPolicy: {"factor": _GT0, "phase_in": _GE0},
    ClusterPolicy: {"factor": _GT0, "entry_cost_factor": _GT0, "spillover": _UNIT,
                    "phase_in": _GE0},
    InnovationPolicy: {"growth": _rule(lambda x: -1 < x < 1, "must be in (-1, 1)"),
                       "spillover": _UNIT, "halflife_hours": _GT0},
    EnergyBasePolicy: {"price_cut": _UNIT_OPEN, "capacity": _GE0, "phase_in": _GE0},
    IntegrationPolicy: {"trade_cost_factor": _GT0, "migration_cost_factor": _GE0,
                        "pooling": _UNIT, "phase_in": _GE0},
    TourismPolicy: {"visitors": _GE0, "spend_per_visitor": _GE0, "amenity_factor": _GT0,
                    "phase_in": _GE0},
    OpenZonePolicy: {"border_cost_factor": _GE0, "demand_factor": _GT0, "phase_in": _GE0},
    CounterpartPolicy: {"firms_per_year": _GE0},
}


def _check_rules(obj, loc: _Loc) -> None:
    for cls in type(obj).__mro__:
        for attr, (pred, text) in _RULES.get(cls, {}).items():
            v = getattr(obj, attr)
            if v is not None and not pred(v):
                loc.at(_TO_KEY.get(attr, attr)).fail(v, text)


def _check_id(v: str, loc: _Loc, what: str) -> None:
    if not v or v != v.strip():
        loc.fail(v, f"{what} id must be a non-empty string without surrounding spaces")


def _known(ids) -> str:
    ids = list(ids)
    shown = ", ".join(ids[:12]) + (", ..." if len(ids) > 12 else "")
    return f"known: {shown}" if ids else "none defined"


def _check_ref(v: str, ids, loc: _Loc, what: str) -> None:
    if v not in ids:
        close = difflib.get_close_matches(v, list(ids), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" ({_known(ids)})"
        loc.fail(v, f"unknown {what} id{hint}")


# --------------------------------------------------------------------------------------------
# building


def _table(raw, loc: _Loc, cls: type) -> list[tuple[Any, _Loc]]:
    """A region table: inline list, or ``{file: path}`` (string paths were normalised)."""
    if raw is None:
        return []
    if isinstance(raw, str):  # only reached for dicts given without a base dir
        raw = {"file": raw}
    if isinstance(raw, dict):
        _check_keys(raw, ("file",), loc)
        f = raw.get("file")
        if not isinstance(f, str) or not f.strip():
            loc.at("file").fail(f, "expected the path of a CSV file")
        return _read_csv(f, cls, loc)
    if not isinstance(raw, list):
        loc.fail(raw, "expected a list of mappings, a CSV path or {file: path}")
    return [(_record(cls, r, loc.at(i)), loc.at(i)) for i, r in enumerate(raw)]


def _modes(raw, loc: _Loc) -> tuple[Mode, ...]:
    raw = _mapping(raw, loc, "mode id -> {field: value}")
    modes = {m.id: m for m in DEFAULT_MODES}
    for mid, spec in raw.items():
        mloc = loc.at(mid)
        if not isinstance(mid, str):
            mloc.fail(mid, "mode id must be a string")
        _check_id(mid, mloc, "mode")
        kw = _fields(Mode, _mapping(spec, mloc, "mode fields"), mloc, skip=("id",),
                     required=False)
        mode = dataclasses.replace(modes.get(mid, Mode(mid)), **kw)
        _check_rules(mode, mloc)
        modes[mid] = mode
    return tuple(modes.values())


def _region(raw, loc: _Loc, par: Parameters) -> Region:
    if raw is None:
        loc.fail(raw, "required: a region with places and sectors")
    raw = _mapping(raw, loc, "places, sectors, links, modes, place_sectors")
    _check_keys(raw, REGION_KEYS, loc)
    modes = _modes(raw.get("modes"), loc.at("modes"))
    mode_ids = [m.id for m in modes]

    places = _table(raw.get("places"), loc.at("places"), Place)
    place_ids: dict[str, Place] = {}
    for p, ploc in places:
        _check_id(p.id, ploc.at("id"), "place")
        if p.id in place_ids:
            ploc.at("id").fail(p.id, "duplicate place id")
        place_ids[p.id] = p
        _check_rules(p, ploc)
    for p, ploc in places:
        if p.parent is not None:
            _check_ref(p.parent, place_ids, ploc.at("parent"), "place")
            if p.parent == p.id:
                ploc.at("parent").fail(p.parent, "a place cannot be its own parent")
    if not any(not p.external for p, _ in places):
        loc.at("places").fail([p.id for p, _ in places],
                              "at least one internal place (external: false) is required")

    sectors = _table(raw.get("sectors"), loc.at("sectors"), Sector)
    sector_ids: set[str] = set()
    for s, sloc in sectors:
        _check_id(s.id, sloc.at("id"), "sector")
        if s.id in sector_ids:
            sloc.at("id").fail(s.id, "duplicate sector id")
        sector_ids.add(s.id)
        _check_rules(s, sloc)
    if not sectors:
        loc.at("sectors").fail([], "at least one sector is required")
    parts = [s.expenditure_share for s, _ in sectors]
    total = math.fsum(parts + [par.agriculture_share, par.housing_share])
    if abs(total - 1.0) > SHARE_TOL:
        shares = " + ".join(f"{s.id} {s.expenditure_share!r}" for s, _ in sectors)
        loc.at("sectors").fail(
            total,
            f"sector expenditure shares + parameters.agriculture_share + "
            f"parameters.housing_share must sum to 1 (within {SHARE_TOL:g}); got {total!r} = "
            f"sectors ({shares} = {math.fsum(parts)!r}) + agriculture_share "
            f"{par.agriculture_share!r} + housing_share {par.housing_share!r}")

    links = _table(raw.get("links"), loc.at("links"), Link)
    for lk, lloc in links:
        _check_ref(lk.from_, place_ids, lloc.at("from"), "place")
        _check_ref(lk.to, place_ids, lloc.at("to"), "place")
        if lk.to == lk.from_:
            lloc.at("to").fail(lk.to, "a link must join two different places")
        _check_ref(lk.mode, mode_ids, lloc.at("mode"), "mode")
        _check_rules(lk, lloc)
        if lk.opened is not None and lk.closed is not None and not lk.opened < lk.closed:
            lloc.at("closed").fail(lk.closed, f"must be > opened ({lk.opened})")

    pss = _table(raw.get("place_sectors"), loc.at("place_sectors"), PlaceSector)
    seen: set[tuple[str, str]] = set()
    for ps, psloc in pss:
        _check_ref(ps.place, place_ids, psloc.at("place"), "place")
        _check_ref(ps.sector, sector_ids, psloc.at("sector"), "sector")
        if (ps.place, ps.sector) in seen:
            psloc.at("sector").fail(ps.sector, f"duplicate row for place {ps.place!r}")
        seen.add((ps.place, ps.sector))
        _check_rules(ps, psloc)

    return Region(places=tuple(p for p, _ in places), sectors=tuple(s for s, _ in sectors),
                  links=tuple(lk for lk, _ in links), modes=modes,
                  place_sectors=tuple(ps for ps, _ in pss))


def _policies(raw, loc: _Loc, region: Region) -> tuple[Policy, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        loc.fail(raw, "expected a list of policies")
    places = {p.id: p for p in region.places}
    sectors = [s.id for s in region.sectors]
    modes = [m.id for m in region.modes]
    links = {(frozenset((lk.from_, lk.to)), lk.mode) for lk in region.links}
    out = []
    for i, item in enumerate(raw):
        ploc = loc.at(i)
        item = _mapping(item, ploc, "a policy")
        if "type" not in item:
            ploc.at("type").fail(None, f"missing policy type (one of: {', '.join(POLICY_TYPES)})")
        t = item["type"]
        if not isinstance(t, str) or t not in POLICY_TYPES:
            ploc.at("type").fail(t, _unknown(t, list(POLICY_TYPES), "unknown policy type"))
        cls = POLICY_TYPES[t]
        pol = _record(cls, {k: v for k, v in item.items() if k != "type"}, ploc)
        _check_rules(pol, ploc)
        if pol.end is not None and not pol.end > pol.start:
            ploc.at("end").fail(pol.end, f"must be > start ({pol.start}) or null")
        if isinstance(pol, LinkPolicy):
            _check_link_policy(pol, ploc, places, modes, links)
            if pol.action == "open":
                links.add((frozenset((pol.from_, pol.to)), pol.mode))
        else:
            _check_policy_refs(pol, ploc, places, sectors, t)
        out.append(pol)
    return tuple(out)


# which policy fields name places (internal or external) or sectors
_PLACE_REFS = {"places": "internal", "corridor": "internal", "place": "internal",
               "between": "internal", "partners": "external", "origin": "external"}


def _check_policy_refs(pol, ploc: _Loc, places: dict, sectors: list, t: str) -> None:
    for field_, kind in _PLACE_REFS.items():
        if not hasattr(pol, field_):
            continue
        if field_ == "places" and isinstance(pol, ExternalDemandPolicy):
            kind = "external"
        v = getattr(pol, field_)
        items = [(ploc.at(field_), v)] if isinstance(v, str) else \
            [(ploc.at(field_, j), x) for j, x in enumerate(v)]
        if isinstance(v, str) and not v:
            ploc.at(field_).fail(v, f"required field {field_!r} is missing")
        for loc, pid in items:
            _check_ref(pid, places, loc, "place")
            if places[pid].external != (kind == "external"):
                loc.fail(pid, f"{t}.{field_} must name {kind} places")
    if isinstance(pol, IntegrationPolicy) and len(pol.between) != 2:
        ploc.at("between").fail(list(pol.between), "must name exactly two places")
    for j, sid in enumerate(getattr(pol, "sectors", ())):
        _check_ref(sid, sectors, ploc.at("sectors", j), "sector")
    if isinstance(pol, TourismPolicy):
        _check_ref(pol.sector, sectors, ploc.at("sector"), "sector")
        if pol.weights and len(pol.weights) != len(pol.places):
            ploc.at("weights").fail(list(pol.weights), "one weight per place is required")
        if any(w < 0 for w in pol.weights):
            ploc.at("weights").fail(list(pol.weights), "weights must be >= 0")


def _check_link_policy(pol: LinkPolicy, loc: _Loc, places, modes, links) -> None:
    if pol.action not in LINK_ACTIONS:
        loc.at("action").fail(pol.action, f"must be one of: {', '.join(LINK_ACTIONS)}")
    for key, v in (("from", pol.from_), ("to", pol.to)):
        if not v:
            loc.at(key).fail(v, f"required field {key!r} is missing")
        _check_ref(v, places, loc.at(key), "place")
    if pol.from_ == pol.to:
        loc.at("to").fail(pol.to, "a link must join two different places")
    if not pol.mode:
        loc.at("mode").fail(pol.mode, "required field 'mode' is missing")
    _check_ref(pol.mode, modes, loc.at("mode"), "mode")
    if pol.new_mode is not None:
        if pol.action != "upgrade":
            loc.at("new_mode").fail(pol.new_mode, "new_mode applies to action 'upgrade' only")
        _check_ref(pol.new_mode, modes, loc.at("new_mode"), "mode")
    if pol.action == "open":
        for key in ("km", "hours"):
            if getattr(pol, key) is None:
                loc.at(key).fail(None, f"action 'open' needs {key!r}")
    elif (frozenset((pol.from_, pol.to)), pol.mode) not in links:
        loc.fail(f"{pol.from_}-{pol.to} {pol.mode}",
                 f"action {pol.action!r} needs an existing link {pol.from_}-{pol.to} by mode "
                 f"{pol.mode!r} (in region.links, or opened by an earlier policy)")


def _build(data: dict, origin: _OMap, default_name: str, source: str | None) -> Scenario:
    root = _Loc(origin)
    _check_keys(data, TOP_KEYS, root)
    name = data.get("name")
    if name is None:
        name = default_name
    if not isinstance(name, str) or not name.strip() or any(c in name for c in "/\\"):
        root.at("name").fail(name, "must be a non-empty string without '/' or '\\'")
    description = data.get("description")
    if description is None:
        description = ""
    elif not isinstance(description, str):
        root.at("description").fail(description, "expected a string")
    seed = 0 if data.get("seed") is None else _to_int(data["seed"], root.at("seed"))
    if seed < 0:
        root.at("seed").fail(seed, "must be >= 0")
    calib = data.get("calibrate")
    if calib is None:
        calib = False
    elif not isinstance(calib, bool):
        root.at("calibrate").fail(calib, "expected true or false")
    resolution = data.get("resolution")
    if resolution is None:
        resolution = Scenario.__dataclass_fields__["resolution"].default
    if resolution not in RESOLUTIONS:
        root.at("resolution").fail(resolution, f"must be one of: {', '.join(RESOLUTIONS)}")

    tloc = root.at("time")
    time = _record(TimeSpan, _mapping(data.get("time"), tloc, "start, end"), tloc)
    _check_rules(time, tloc)
    if time.start > time.end:
        tloc.at("end").fail(time.end, f"must be >= time.start ({time.start})")
    if time.end - time.start > MAX_YEARS:
        tloc.at("end").fail(time.end, f"a time span of at most {MAX_YEARS} years is simulated "
                                      f"(time.start is {time.start})")

    ploc = root.at("parameters")
    par = _record(Parameters, _mapping(data.get("parameters"), ploc, "parameters"), ploc)
    _check_rules(par, ploc)
    if par.migration_rule not in MIGRATION_RULES:
        ploc.at("migration_rule").fail(par.migration_rule,
                                       f"must be one of: {', '.join(MIGRATION_RULES)}")
    if par.firm_dynamics not in FIRM_DYNAMICS:
        ploc.at("firm_dynamics").fail(par.firm_dynamics,
                                      f"must be one of: {', '.join(FIRM_DYNAMICS)}")
    if par.drift not in DRIFT_RULES:
        ploc.at("drift").fail(par.drift, f"must be one of: {', '.join(DRIFT_RULES)}")
    if par.trade_cost_form not in TRADE_COST_FORMS:
        ploc.at("trade_cost_form").fail(par.trade_cost_form,
                                        f"must be one of: {', '.join(TRADE_COST_FORMS)}")
    aloc = root.at("agents")
    agents = _record(Agents, _mapping(data.get("agents"), aloc, "households, firms"), aloc)
    _check_rules(agents, aloc)
    if resolution == "agents":
        if par.firm_dynamics != "entry_exit":
            ploc.at("firm_dynamics").fail(
                par.firm_dynamics, "resolution 'agents' needs firm_dynamics: entry_exit (firm "
                                   "agents follow entry/exit dynamics; free entry has no firms)")
        if par.migration_rule == "replicator":
            ploc.at("migration_rule").fail(
                par.migration_rule, "resolution 'agents' supports the logit or none rules")
    sloc = root.at("solver")
    solver = _record(Solver, _mapping(data.get("solver"), sloc, "solver settings"), sloc)
    _check_rules(solver, sloc)
    if solver.freeness_precision not in FREENESS_PRECISIONS:
        sloc.at("freeness_precision").fail(solver.freeness_precision,
                                           f"must be one of: {', '.join(FREENESS_PRECISIONS)}")

    region = _region(data.get("region"), root.at("region"), par)
    policies = _policies(data.get("policies"), root.at("policies"), region)
    for i, pol in enumerate(policies):
        if pol.start > time.end:
            root.at("policies", i, "start").fail(
                pol.start, f"after the scenario's last year ({time.end}): the policy would "
                           f"never take effect")
    gloc = root.at("groups")
    groups = []
    internal_ids = {p.id for p in region.places if not p.external}
    external_ids = {p.id for p in region.places if p.external}
    for gname, members in _mapping(data.get("groups"), gloc, "group -> [place ids]").items():
        if not isinstance(gname, str) or not gname.strip():
            gloc.fail(gname, "group names must be non-empty strings")
        # the reserved group `foreign` lists external places abroad (border and port trade,
        # docs/indicators.md I11); every other group lists internal places
        kind = "external place" if gname == "foreign" else "internal place"
        if not isinstance(members, list) or not members:
            gloc.at(gname).fail(members, f"expected a non-empty list of {kind} ids")
        for j, pid in enumerate(members):
            if not isinstance(pid, str):
                gloc.at(gname, j).fail(pid, "expected a place id")
            _check_ref(pid, external_ids if gname == "foreign" else internal_ids,
                       gloc.at(gname, j), kind)
        groups.append((gname, tuple(members)))
    return Scenario(name=name, region=region, description=description, seed=seed,
                    resolution=resolution, agents=agents, calibrate=calib,
                    groups=tuple(groups), time=time, parameters=par, solver=solver,
                    policies=policies, schema_version=data["schema_version"], source=source)


# --------------------------------------------------------------------------------------------
# public API


def load_scenario(path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario YAML file.

    Parameters
    ----------
    path : str or path-like
        A ``.yaml`` or ``.yml`` scenario file.

    Returns
    -------
    Scenario
        The validated, fully resolved scenario; ``source`` is ``str(path)``.

    Raises
    ------
    sim.errors.ScenarioError
        On the first problem: unreadable or invalid YAML or CSV, unsupported schema version,
        ``extends`` cycle, unknown key, bad type or value. The error names the file that wrote
        the offending value, its key path (or CSV row and column) and the value.
    """
    path = Path(path)
    data, origin = _resolve_tree(_read_yaml(path), str(path), path.parent,
                                 (path.resolve(),))
    return _build(data, origin, path.stem, str(path))


def load_scenario_dict(data: Mapping, *, source: str = "<dict>", base_dir=None) -> Scenario:
    """Validate a scenario given as a mapping (the parsed form of a scenario file).

    Parameters
    ----------
    data : mapping
        The scenario tree, as ``yaml.safe_load`` returns it; must hold ``schema_version``.
    source : str
        Name used for the scenario in error messages, and as ``Scenario.source``.
    base_dir : str or path-like, optional
        Folder against which relative CSV paths and ``extends`` are resolved (default: the
        current directory).

    Returns
    -------
    Scenario
        The validated scenario; ``name`` defaults to ``"scenario"``.

    Raises
    ------
    sim.errors.ScenarioError
        As :func:`load_scenario`.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(source, "(top level)", data, "a scenario must be a mapping")
    base = Path.cwd() if base_dir is None else Path(base_dir)
    tree, origin = _resolve_tree(dict(data), source, base, ())
    return _build(tree, origin, "scenario", source)


def _plain(v, tp=None):
    """A schema value as a plain YAML/JSON value (tuples -> lists, numpy scalars -> Python)."""
    if v is None:
        return None
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    if isinstance(v, bool | str):
        return v
    if tp is float:
        return float(v)
    if tp is int:
        return int(v)
    if hasattr(v, "item"):  # numpy scalar
        return v.item()
    return v


def _base_type(tp):
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        (tp,) = [a for a in typing.get_args(tp) if a is not type(None)]
    return tp


def _as_dict(obj, skip=()) -> dict:
    return {key: _plain(getattr(obj, name), tp) for name, key, tp in _dict_plan(type(obj), skip)}


def scenario_to_dict(scenario: Scenario) -> dict:
    """The fully resolved scenario as plain data (the inverse of :func:`load_scenario_dict`).

    Every field is written (``None`` as ``None``), region tables inline, the full mode table as
    ``{mode_id: {field: value}}``, a link's ``from_`` under the key ``from``, policies with
    their ``type``; no ``extends``.

    Parameters
    ----------
    scenario : Scenario
        A scenario (normally a validated one).

    Returns
    -------
    dict
        JSON- and YAML-serialisable; ``load_scenario_dict(scenario_to_dict(s)) == s``.
    """
    s, reg = scenario, scenario.region
    return {
        "schema_version": int(s.schema_version),
        "name": s.name,
        "description": s.description,
        "seed": int(s.seed),
        "resolution": s.resolution,
        "agents": _as_dict(s.agents),
        "calibrate": bool(s.calibrate),
        "groups": {g: list(m) for g, m in s.groups},
        "time": _as_dict(s.time),
        "region": {
            "places": [_as_dict(p) for p in reg.places],
            "sectors": [_as_dict(x) for x in reg.sectors],
            "links": [_as_dict(lk) for lk in reg.links],
            "modes": {m.id: _as_dict(m, skip=("id",)) for m in reg.modes},
            "place_sectors": [_as_dict(ps) for ps in reg.place_sectors],
        },
        "parameters": _as_dict(s.parameters),
        "solver": _as_dict(s.solver),
        "policies": [{"type": p.type, **_as_dict(p)} for p in s.policies],
    }


class _Flow(dict):
    """A mapping written in YAML flow style (one table row per line)."""


class _FlowList(list):
    """A list written in YAML flow style (``[a, b]``)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_str(dumper, data):
    # PyYAML (allow_unicode) mangles these line breaks in plain and single-quoted scalars
    style = '"' if any(c in data for c in _BREAKS) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    _Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))
_Dumper.add_representer(
    _FlowList, lambda d, data: d.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True))


def dump_scenario(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML text (see :func:`scenario_to_dict`).

    Parameters
    ----------
    scenario : Scenario
        The scenario to write.

    Returns
    -------
    str
        YAML text; ``load_scenario_dict(yaml.safe_load(text)) == scenario``, and a file holding
        it loads (:func:`load_scenario`) to an equal scenario.
    """
    d = scenario_to_dict(scenario)
    reg = d["region"]
    for table in TABLES:
        reg[table] = [_Flow(row) for row in reg[table]]
    reg["modes"] = {k: _Flow(v) for k, v in reg["modes"].items()}
    d["policies"] = [{k: _FlowList(v) if isinstance(v, list) else v for k, v in p.items()}
                     for p in d["policies"]]
    return yaml.dump(d, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=1 << 20)


def scenario_hash(scenario: Scenario) -> str:
    """Short content hash of a scenario: the first 8 hex digits of sha256 of its canonical JSON.

    The canonical JSON is :func:`scenario_to_dict` with sorted keys and no whitespace (about 30
    times faster than hashing the YAML dump, which the hash used to be).

    Parameters
    ----------
    scenario : Scenario
        The scenario.

    Returns
    -------
    str
        8 lowercase hexadecimal characters; equal scenarios have equal hashes (``source`` is
        not part of the hash).
    """
    hit = _HASHED.get(id(scenario))
    if hit is not None and hit[0]() is scenario:
        return hit[1]
    text = json.dumps(scenario_to_dict(scenario), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str, allow_nan=True)
    h = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    if len(_HASHED) >= 8:
        _HASHED.pop(next(iter(_HASHED)))
    _HASHED[id(scenario)] = (weakref.ref(scenario), h)
    return h


_HASHED: dict = {}
"""The hashes of the last few scenario objects, by ``id`` with a weak reference (an entry never
keeps a scenario alive; a reused ``id`` finds a dead or different object and misses): a run
hashes its scenario for the folder name and again for the manifest. Scenarios are frozen, so
an object's hash never changes."""
