"""The house's plan holds: the pipeline never imports its faces, no import cycle, no oversized module."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RAG = ROOT / "rag"
FACES = ("rag.web", "rag.evaluation", "rag.bench", "rag.cli", "rag.cli_common", "rag.__main__")  # __main__: the CLI's entry point; cli_common: what its commands share
MAX_LINES = 330  # "modules under ~300 lines" (STYLE.md)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every rag module a file imports, at top level or inside functions, absolute or relative."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {m for m in found if m == "rag" or m.startswith("rag.") or m == "app"}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in RAG.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def is_face(module: str) -> bool:
    return any(module == face or module.startswith(face + ".") for face in FACES)


def find_cycle(edges: dict[str, set[str]]):
    """A list of modules forming an import cycle, or None: ``find_cycle({'a': {'b'}, 'b': {'a'}}) -> ['a', 'b', 'a']``."""
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_rag():
    # the package itself (rag/__init__) re-exports the pipeline's entry points; every module imports through it
    edges = {name: {m for m in deps if m != "rag"} for name, deps in graph().items()}
    assert find_cycle(edges) is None


@pytest.mark.parametrize("module", sorted(m for m in graph() if not is_face(m)))
def test_pipeline_module_imports_no_face(module):
    assert not [m for m in graph()[module] if is_face(m)], f"{module} imports a face of the pipeline"


def test_report_does_not_import_the_run():
    assert "rag.evaluation.run" not in graph()["rag.evaluation.report"]


def test_nothing_imports_app():
    users = [p for p in [*RAG.rglob("*.py"), *(ROOT / "tests").glob("*.py"), *(ROOT / "scripts").glob("*.py")]
             if "app" in imports_of(p)]
    assert not users


@pytest.mark.parametrize("path", sorted(RAG.rglob("*.py")) + [ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_module_size(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= (100 if path.name == "app.py" else MAX_LINES), f"{path.name}: {lines} lines"
