"""Apply a single-line mutation of benchmarks/mutation/mutations.toml in-process (for tests).

The function (or method) of the package whose source holds the original line is recompiled with the
line replaced, in its module's namespace, and every reference to the old function object in the
loaded ``volterra_sym`` modules is monkeypatched to the new one; pytest's ``monkeypatch`` undoes it.
(benchmarks/mutation/run.py applies the same list to files in a copy of the tree instead.)
"""

from __future__ import annotations

import ast
import functools
import importlib
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS_FILE = ROOT / "benchmarks" / "mutation" / "mutations.toml"


def load_mutations() -> dict[str, dict]:
    """The mutation list by id."""
    data = tomllib.loads(MUTATIONS_FILE.read_text(encoding="utf-8"))
    return {m["id"]: m for m in data["mutation"]}


def _enclosing(tree: ast.Module, line: int) -> tuple[ast.AST | None, ast.FunctionDef]:
    """(class or None, top-level function or method) whose body holds ``line``."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= node.end_lineno:
            return None, node
        if isinstance(node, ast.ClassDef) and node.lineno <= line <= node.end_lineno:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.lineno <= line <= item.end_lineno:
                    return node, item
    raise ValueError(f"line {line} is not inside a function")


def apply_in_process(monkeypatch, mutation: dict) -> None:
    """Recompile the function holding ``mutation["original"]`` with the line mutated (see module docstring)."""
    path = ROOT / mutation["file"]
    if path.suffix != ".py":
        raise ValueError(f"{mutation['id']}: only Python modules can be mutated in-process")
    source = path.read_text(encoding="utf-8")
    assert source.count(mutation["original"]) == 1, f"{mutation['id']}: the original line is not unique in {path}"
    line = source[: source.index(mutation["original"])].count("\n") + 1
    cls, func = _enclosing(ast.parse(source), line)
    lines = source.splitlines(keepends=True)
    first = min([func.lineno] + [d.lineno for d in func.decorator_list])
    segment = "".join(lines[first - 1: func.end_lineno])
    mutated = textwrap.dedent(segment.replace(mutation["original"], mutation["mutated"]))
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    module = importlib.import_module(name)
    namespace: dict = {}
    exec(compile("\n" * (first - 1) + mutated, str(path), "exec"), module.__dict__, namespace)
    new = namespace[func.name]
    _fresh_caches(monkeypatch)
    if cls is not None:
        monkeypatch.setattr(getattr(module, cls.name), func.name, new)
        return
    old = getattr(module, func.name)
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "__name__", "").startswith("volterra_sym"):
            for attr, value in list(vars(loaded).items()):
                if value is old:
                    monkeypatch.setattr(loaded, attr, new)


def _fresh_caches(monkeypatch) -> None:
    """Every functools cache of the loaded package replaced by an empty one for the mutated run (values
    cached before it would hide the mutation; values cached during it must not outlive it)."""
    for loaded in list(sys.modules.values()):
        if not getattr(loaded, "__name__", "").startswith("volterra_sym"):
            continue
        for attr, value in list(vars(loaded).items()):
            if callable(getattr(value, "cache_clear", None)) and hasattr(value, "__wrapped__") \
                    and getattr(value, "__module__", None) == loaded.__name__:
                params = value.cache_parameters() if hasattr(value, "cache_parameters") else {"maxsize": None}
                monkeypatch.setattr(loaded, attr, functools.lru_cache(maxsize=params["maxsize"])(value.__wrapped__))
