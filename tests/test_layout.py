"""Package layout: every import in ``sim/`` follows the table in ``docs/architecture.md``.

The table (between the ``layout-table`` markers) is the single source of truth: each unit may
import only the units its row names. The checker walks every module with ``ast`` (imports inside
functions count as well), maps each ``sim.*`` import to its unit and reports imports that break
the table, third-party imports that a row forbids (kernels: numpy and scipy only, and numba in
the compiled kernels ``sim.kernels.dense`` and ``sim.kernels.paths``; Mesa only in the engine)
and import circles between modules.
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
FOUNDATION = {"sim", "sim.errors", "sim._types", "sim.rng", "sim.progress", "sim._deferred",
              "sim._one_thread"}
#: The compiled kernels: the only modules that may import numba (docs/architecture.md).
NUMBA_MODULES = {"sim.kernels.dense", "sim.kernels.paths"}
ALIASES = {"sim.__main__": "sim.cli"}  # the entry point belongs to the command line
STDLIB = set(sys.stdlib_module_names)


def layout_table(doc: Path = DOC) -> dict[str, set[str]]:
    """Allowed imports by unit, read from the architecture document."""
    text = doc.read_text()
    body = text.split("<!-- layout-table: start -->")[1].split("<!-- layout-table: end -->")[0]
    allowed = {}
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        unit = cells[0].strip("`")
        may = cells[2]
        if may.strip() == "everything":
            allowed[unit] = {"*"}
            continue
        units = set(re.findall(r"`(sim[\w.]*)`", may.split("third party")[0]))
        if "foundation" in may:
            units.add("foundation")
        allowed[unit] = units | {unit}
    return allowed


def unit_of(module: str, units) -> str:
    """The unit a dotted module name belongs to (longest matching unit prefix)."""
    if module in FOUNDATION:
        return "foundation"
    module = ALIASES.get(module, module)
    best = None
    for u in units:
        if u != "foundation" and (module == u or module.startswith(u + ".")):
            if best is None or len(u) > len(best):
                best = u
    if best is None:
        raise AssertionError(f"module {module} belongs to no unit of the layout table")
    return best


def _modules(pkg_root: Path) -> dict[str, Path]:
    out = {}
    for f in sorted(pkg_root.rglob("*.py")):
        rel = f.relative_to(pkg_root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(name: str, path: Path, modules) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    base = name if is_pkg else name.rpartition(".")[0]
    top = {id(n) for n in tree.body}
    for node in tree.body:  # module-level imports inside if/try blocks are module level too
        if isinstance(node, ast.If | ast.Try):
            top |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                found.append((a.name, node.lineno, id(node) in top))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pkg = base.split(".")
                pkg = pkg[: len(pkg) - (node.level - 1)]
                mod = ".".join(pkg + ([node.module] if node.module else []))
            else:
                mod = node.module
            for a in node.names:
                sub = f"{mod}.{a.name}"
                found.append((sub if sub in modules else mod, node.lineno, id(node) in top))
    return found


def check_layout(pkg_root: Path, doc: Path = DOC) -> list[str]:
    """Every violation of the layout table in package ``pkg_root`` (empty list: all good)."""
    allowed = layout_table(doc)
    modules = _modules(pkg_root)
    problems = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        unit = unit_of(name, allowed)
        may = allowed[unit]
        for target, line, _top in _imports(name, path, modules):
            where = f"{path.relative_to(pkg_root.parent)}:{line}"
            root = target.split(".")[0]
            if root == "sim":
                tunit = unit_of(target, allowed)
                if "*" not in may and tunit not in may:
                    problems.append(f"{where}: {unit} may not import {target} ({tunit})")
                if target in modules and target != name:
                    graph[name].add(target)
            elif root == "mesa" and unit not in ("sim.engine", "sim.cli", "sim._testing"):
                problems.append(f"{where}: {unit} may not import Mesa")
            elif root == "numba" and name not in NUMBA_MODULES:
                problems.append(f"{where}: numba only in {', '.join(sorted(NUMBA_MODULES))}, "
                                f"not in {name}")
            elif unit == "sim.kernels" and root not in STDLIB | {"numpy", "scipy", "numba",
                                                                 "__future__"}:
                problems.append(f"{where}: kernels may import numpy and scipy only, not {target}")
    # import circles between modules (a package importing its own submodules is not a circle
    # unless a submodule imports the package back)
    problems += [f"import circle: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_sim_follows_the_layout_table():
    problems = check_layout(ROOT / "sim")
    assert problems == [], "\n".join(problems)


def test_every_unit_has_a_docstring_saying_what_it_owns():
    for unit in layout_table():
        if unit == "foundation":
            continue
        init = ROOT / Path(*unit.split(".")) / "__init__.py"
        if not init.exists():
            init = ROOT / Path(*unit.split(".")).with_suffix(".py")
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 20, f"{unit}: no module docstring saying what it owns"


def _plant(tmp_path, rel, line):
    import uuid

    copy = tmp_path / uuid.uuid4().hex / "sim"
    shutil.copytree(ROOT / "sim", copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    f = copy / rel
    f.write_text(f.read_text() + f"\n\n{line}\n")
    return check_layout(copy)


def test_layout_check_fails_on_a_planted_bad_import(tmp_path):
    """Analysis reaching into the engine is caught, with file, line and the broken arrow."""
    problems = _plant(tmp_path, "analysis/indicators.py",
                      "def _bad():\n    from sim.engine.model import SimModel  # noqa\n")
    assert len(problems) == 1
    assert "analysis/indicators.py" in problems[0]
    assert "sim.analysis may not import sim.engine.model" in problems[0]


def test_layout_check_fails_on_a_planted_circle_and_third_party(tmp_path):
    problems = _plant(tmp_path, "analysis/headline.py",
                      "from sim.analysis import comparison  # noqa")
    assert any(p.startswith("import circle") for p in problems), problems
    problems = _plant(tmp_path, "kernels/migration.py", "import pandas  # noqa")
    assert any("kernels may import numpy and scipy only" in p for p in problems), problems
    problems = _plant(tmp_path, "kernels/migration.py", "import numba  # noqa")
    assert any("numba only in sim.kernels.dense, sim.kernels.paths, not in "
               "sim.kernels.migration" in p for p in problems), problems
    problems = _plant(tmp_path, "results/folder.py", "import mesa  # noqa")
    assert any("may not import Mesa" in p for p in problems), problems
