"""softphone_assist has no import cycle: not at module level, and not hidden in a function.

A cycle "broken" by moving one import into a function still ties the two modules together (each
needs the other, and the import order decides what works); the fix is to move the shared part to a
third module. So this counts every import that runs, at module level or inside a function, and
leaves out only `if TYPE_CHECKING:` blocks, which never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "softphone_assist"

def module_names() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in PKG.rglob("*.py"):
        parts = ("softphone_assist", *path.relative_to(PKG).with_suffix("").parts)
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo += node.orelse
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        todo += ast.iter_child_nodes(node)
    return found


def _owner(name: str, mods: dict[str, Path]) -> str | None:
    """The package module that `name` (a module, or a name inside one) belongs to."""
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports. `from pkg import sub` is an edge to pkg.sub, not
    to pkg: that a submodule's package is imported first is not a dependency of the importer."""
    mods = module_names()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {t for a in node.names if (t := _owner(a.name, mods))}
                continue
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            for a in node.names:
                if (t := _owner(f"{base}.{a.name}", mods)):
                    targets.add(t)
        graph[name] = {t for t in targets if t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_lazy_imports_and_finds_cycles() -> None:
    """The checker itself: a function-level import is an edge, TYPE_CHECKING is not, and a cycle
    of three is reported in order."""
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\ndef f():\n    from c import d\n")
    assert sorted(n.names[0].name if isinstance(n, ast.Import) else n.module or "" for n in
                  _runtime_imports(tree)) == ["a", "c"]
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == ["x", "y", "z", "x"]
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": set()}) is None


def test_the_graph_has_the_edges_the_code_has() -> None:
    graph = import_graph()
    assert "softphone_assist.audio.devices" in graph["softphone_assist.audio.backends"]
    assert "softphone_assist.commands" in graph["softphone_assist.cli"]  # a function-level import
    # fixed cycles stay fixed: the CLI's commands do not reach back into cli.py, devices not into capture
    assert "softphone_assist.cli" not in graph["softphone_assist.commands"]
    assert "softphone_assist.audio.capture" not in graph["softphone_assist.audio.devices"]
