"""The house stays as drawn (DEVELOPING.md, "Architecture"): which folder may import which.

Every `import` and `from ... import` in albert_nb/, top-level or inside functions, is read with
`ast`; a module's layer is its first folder under albert_nb/ ("cli" etc. for top-level files).
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "albert_nb"
PLUMBING = {"errors", "io_utils", "paths", "_lazy", "__init__", "_quiet", "faults"}
# layer -> the layers it may import (plumbing is open to all; a layer may import itself).
ALLOWED = {
    "tokenizers": set(),
    "corpora": set(),
    "model": set(),
    "interop": {"model", "tokenizers"},
    "analysis": {"model", "tokenizers"},
    "tasks": {"corpora", "tokenizers"},
    "training": {"model", "interop"},
    "pretraining": {"model", "tokenizers", "corpora", "training", "interop"},
    "finetuning": {"model", "tokenizers", "tasks", "training", "interop"},
    # Experiments that test a claim by training (notebooks 05 and 09): on top of both trainers.
    "experiments": {"model", "tokenizers", "corpora", "tasks", "training", "interop",
                    "pretraining", "finetuning"},
    "plots": {"model", "tokenizers", "analysis", "pretraining", "finetuning", "tasks", "corpora",
              "interop", "training", "notebook"},
}
# Top-level modules (the CLIs, which are flags -> one library call, and the notebook plumbing)
# may reach every library layer but plots/.
LIBRARY = {"tokenizers", "corpora", "model", "interop", "analysis", "tasks", "training",
           "pretraining", "finetuning", "experiments", "cli", "notebook"}


def layer_of(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def allowed_for(layer: str, path: pathlib.Path) -> set:
    if layer in PLUMBING:
        return set()
    if path.parent == PACKAGE:          # a top-level module
        return LIBRARY
    assert layer in ALLOWED, f"{path}: folder {layer!r} is not in the architecture table"
    return ALLOWED[layer]


def imported_layers(path: pathlib.Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "albert_nb":
                names = [f"albert_nb.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "albert_nb" and len(parts) > 1:
                yield parts[1], node.lineno


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    layer = layer_of(path)
    allowed = allowed_for(layer, path)
    bad = [(target, line) for target, line in imported_layers(path)
           if target not in PLUMBING and target != layer and target not in allowed]
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}; {layer}/ may import {sorted(allowed)}"


def test_nothing_but_plots_imports_plots():
    users = {str(p.relative_to(PACKAGE)) for p in MODULES if layer_of(p) != "plots"
             and any(t == "plots" for t, _ in imported_layers(p))}
    assert not users


def _module_name(path: pathlib.Path) -> str:
    parts = ("albert_nb",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: pathlib.Path, known: set) -> set:
    """The albert_nb modules `path` imports when it is itself imported (module-level statements
    only: a function's import runs later). `from albert_nb.x import y` names the submodule x.y
    when y is one, else the module x."""
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return out & known


def test_no_import_cycle():
    """Importing any module never re-enters a module that is still being imported. Package
    `__init__`s are lazy (`albert_nb._lazy`), so they take no part."""
    known = {_module_name(p) for p in MODULES}
    packages = {_module_name(p) for p in MODULES if p.name == "__init__.py"}
    graph = {_module_name(p): _top_level_imports(p, known) - packages
             for p in MODULES if p.name != "__init__.py"}
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"
