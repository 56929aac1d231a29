"""The layers of the code, kept: no import cycles anywhere, the engine free of any UI, the
app free of the CLI, the drawing layer free of both, and commands that need no model free
of torch. Read from the source (every import, in functions too) and from fresh interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "tui")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Every module of ours -> the modules of ours it imports (anywhere in its body)."""
    modules = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1]
                        + ([base] if base else [])
                    )
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                # the deepest module of ours the import names
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        graph[name] = found
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def code_lines(path: Path) -> int:
    """Lines of an ``__init__.py`` that are code: not its docstring, imports or ``__all__``
    (a table of contents holds none)."""
    count = 0
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [
            "__all__"
        ]:
            continue
        count += node.end_lineno - node.lineno + 1
    return count


def contents_only() -> set[str]:
    """Packages whose ``__init__.py`` holds no code: Python loads one before its modules,
    but it runs nothing of theirs but the imports it lists."""
    return {module_name(p.parent / "__init__.py") for pkg in PACKAGES
            for p in (ROOT / pkg).rglob("__init__.py") if code_lines(p) == 0}  # fmt: skip


def exempt(a: str, b: str, tables: set[str]) -> bool:
    """An edge between a package and its own module, where the package is a table of
    contents (``tui.cli`` and ``tui.cli.options``); every other package edge counts."""
    if b.startswith(a + "."):
        return a in tables
    if a.startswith(b + "."):
        return b in tables
    return False


def test_no_import_cycles_anywhere_counting_packages_that_hold_code():
    graph = import_graph()
    tables = contents_only()
    pruned = {m: {t for t in targets if not exempt(m, t, tables)} for m, targets in graph.items()}
    assert find_cycle(pruned) is None, " -> ".join(find_cycle(pruned))


INIT_CODE_MOST = 40


def test_package_init_files_are_tables_of_contents():
    heavy = {str(p.relative_to(ROOT)): code_lines(p) for pkg in PACKAGES
             for p in (ROOT / pkg).rglob("__init__.py") if code_lines(p) > INIT_CODE_MOST}  # fmt: skip
    assert not heavy, heavy


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def imports_of(prefix: str) -> set[str]:
    graph = import_graph()
    return {
        t
        for m, targets in graph.items()
        if m == prefix or m.startswith(prefix + ".")
        for t in targets
    }


def third_party_imports(prefix: str) -> set[str]:
    found = set()
    for path in (
        (ROOT / Path(*prefix.split("."))).rglob("*.py")
        if (ROOT / Path(*prefix.split("."))).is_dir()
        else [ROOT / (prefix.replace(".", "/") + ".py")]
    ):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("engine", ("tui",)),
        ("tui.draw", ("tui.cli", "tui.app", "tui.screens", "tui.widgets")),
        ("tui.screens", ("tui.cli",)),
        ("tui.widgets", ("tui.cli", "tui.screens")),
        ("tui.app", ("tui.cli",)),
    ],
)
def test_layers_import_only_downwards(layer, forbidden):
    bad = {t for t in imports_of(layer) if any(t == f or t.startswith(f + ".") for f in forbidden)}
    assert not bad, f"{layer} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "layer, library",
    [("engine", "textual"), ("engine", "rich"), ("tui.draw", "textual"), ("tui.cli", "textual")],
)
def test_no_ui_library_where_it_does_not_belong(layer, library):
    assert library not in third_party_imports(layer)


def test_the_cli_imports_the_app_only_to_open_it():
    source = (ROOT / "tui/cli/main.py").read_text()
    tree = ast.parse(source)
    top_level = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    assert "tui.app" not in top_level
    assert "from tui.app import run_app" in source


def loaded_modules(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return set(done.stdout.split())


def test_engine_imports_no_ui():
    loaded = loaded_modules(
        "import engine.runs, engine.launch, engine.training.loop, engine.subject"
    )
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "rich", "tui")}


@pytest.mark.parametrize(
    "argv", [["--help"], ["runs"], ["stop", "x"], ["follow", "x"], ["data", "--help"]]
)
def test_commands_that_need_no_model_do_not_import_torch(argv, tmp_path):
    code = (
        "import sys\nfrom tui.cli.main import main\n"
        f"try:\n    main({['--home', str(tmp_path), *argv]!r})\nexcept SystemExit:\n    pass\n"
    )
    assert "torch" not in loaded_modules(code)


def test_every_model_the_settings_name_can_be_built():
    from engine.config import MODEL_NAMES
    from engine.models.zoo import MODELS

    assert tuple(MODELS) == MODEL_NAMES
