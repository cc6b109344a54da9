"""The package's architecture, checked on its source (README, "Architecture"):

* imports point one way: core <- classes <- {verification, codegen, features} <- report <- cli, and
  verification and codegen never import each other;
* no import cycle between modules (function-level imports included);
* only the CLI imports argparse, prints, or names ``--flags``;
* private names (``_name``) are imported only inside their own subpackage;
* no module is much longer than 500 lines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "volterra_sym"
LAYERS = {"core": 0, "classes": 1, "verification": 2, "codegen": 2, "features": 2, "report": 3, "cli": 4}
#: modules that stand outside the layers on purpose
ENTRY_POINTS = {"volterra_sym.__main__": "runs the CLI", "volterra_sym.loader": "public alias of codegen.loader"}
MAX_LINES = 520
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _group(module: str) -> str:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "core"


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, path, node)
            names = [alias.name for alias in node.names]
            if f"{target}.{names[0]}" in MODULES:  # from package import submodule
                found += [(f"{target}.{n}", [], node.lineno) for n in names if f"{target}.{n}" in MODULES]
            else:
                found.append((target, names, node.lineno))
    return found


def _internal(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_imports_point_one_way():
    bad = []
    for module, path in MODULES.items():
        if module in ENTRY_POINTS:
            continue
        source = _group(module)
        for target, _, line in _imports(module, path):
            internal = _internal(target) if target.startswith("volterra_sym") else None
            if internal is None or internal == "volterra_sym":
                continue
            dest = _group(internal)
            if LAYERS[dest] > LAYERS[source] or {source, dest} == {"verification", "codegen"}:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {source} imports {dest} ({internal})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    graph = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for target, _, _ in _imports(module, path):
            internal = _internal(target) if target.startswith("volterra_sym") else None
            if internal and internal != module and internal != "volterra_sym":
                graph[module].add(internal)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, " -> ".join(cycle)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_only_the_cli_parses_prints_or_names_flags():
    bad = []
    for module, path in MODULES.items():
        if _group(module) == "cli" or module in ENTRY_POINTS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        where = path.relative_to(PACKAGE.parent)
        for target, _, line in _imports(module, path):
            if target == "argparse":
                bad.append(f"{where}:{line}: imports argparse")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                bad.append(f"{where}:{node.lineno}: print()")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if FLAG.search(node.value):
                    bad.append(f"{where}:{node.lineno}: names a flag: {FLAG.search(node.value).group(0)}")
    assert not bad, "\n".join(bad)


def test_private_names_stay_in_their_subpackage():
    bad = []
    for module, path in MODULES.items():
        for target, names, line in _imports(module, path):
            internal = _internal(target) if target.startswith("volterra_sym") else None
            if internal is None or _group(internal) == _group(module):
                continue
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {', '.join(private)} from {internal}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_short(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines; split it by job"


def test_the_class_is_decided_by_the_registry_only():
    """No module outside classes/ asks a model which class it is."""
    pattern = re.compile(r"\.(affine|linear)\b|is_gradient_class")
    bad = []
    for module, path in MODULES.items():
        if _group(module) in ("classes", "core"):
            continue
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = text.split("#", 1)[0]
            if pattern.search(code):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {text.strip()}")
    assert not bad, "\n".join(bad)
