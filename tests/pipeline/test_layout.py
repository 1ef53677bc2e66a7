"""The pipeline's modules import each other without a cycle (every import counted: lazy, typing-only).

A cycle means two modules cannot be understood, tested or moved apart; the graph is read from the
source with `ast`, so an import inside a function or under `TYPE_CHECKING` counts as much as one at the
top of the file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pipeline

PIPELINE_DIR = Path(pipeline.__file__).resolve().parent


def module_name(path: Path, package_dir: Path = PIPELINE_DIR) -> str:
    """`pipeline/preview/check.py` -> `pipeline.preview.check`; a package's `__init__` -> the package."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: set[str], package_dir: Path = PIPELINE_DIR) -> set[str]:
    """The modules of `known` that the file at `path` imports, resolving relative and `from x import y`."""
    name = module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for candidate in candidates:
            # `import a.b.c` imports a.b.c itself; the packages above it are initialised, not depended on.
            if candidate in known and candidate != name:
                found.add(candidate)
    return found


def import_graph(package_dir: Path = PIPELINE_DIR) -> dict[str, set[str]]:
    files = sorted(package_dir.rglob("*.py"))
    known = {module_name(f, package_dir) for f in files}
    return {module_name(f, package_dir): imported_modules(f, known, package_dir) for f in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_pipeline_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "pipeline.preview.check" in graph and "pipeline.promotion.promote" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_lazy_and_typing_only_imports(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "errors.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipeline.sub.runner import Run\n"
    )
    (package / "sub" / "runner.py").write_text("def go():\n    from ..errors import Failure\n")
    graph = import_graph(package)
    assert graph["pipeline.errors"] == {"pipeline.sub.runner"}
    assert graph["pipeline.sub.runner"] == {"pipeline.errors"}
    assert find_cycle(graph) == ["pipeline.errors", "pipeline.sub.runner", "pipeline.errors"]


def test_the_cycle_finder_accepts_a_chain(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pipeline import b\n")
    (package / "b.py").write_text("import pipeline.c\n")
    (package / "c.py").write_text("import json\n")
    graph = import_graph(package)
    assert graph["pipeline.a"] == {"pipeline", "pipeline.b"} and graph["pipeline.b"] == {"pipeline.c"}
    assert find_cycle(graph) is None


def test_no_comment_or_docstring_cites_an_issue_number() -> None:
    """Comments describe the code as it is; the history of its issues belongs to version control."""
    citing = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
    found = [
        f"{path.relative_to(PIPELINE_DIR.parent)}:{n}"
        for path in sorted(PIPELINE_DIR.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if citing.search(line)
    ]
    assert found == []
