"""Data flows one way through gkeml: each top-level component imports only components of lower layers
(config -> naming -> manifests/constructs -> stacks -> cli), and only the framework seam imports the
CDK framework; within a component no two modules import each other, lazily inside a function either.
Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "gkeml"
# Lowest first. A component may import its own modules and components of LOWER layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("gkeml", "platform", "telemetry", "exitcodes", "units"),  # facts, exit codes, quantities ("gkeml": the version)
    ("text", "answers", "interrupts"),  # printing, bounded API answers, signals: below everything that uses them
    ("config", "release"),
    ("naming", "stackfile", "iam", "cost", "scaffold", "extension"),
    ("manifests", "observability"),
    ("rules", "framework"),
    ("environments", "jobs", "lifecycle", "checkov"),  # environments: loading runs the request-range rules
    ("constructs", "toolkit", "docs"),
    ("stacks",),
    ("synth",),
    ("diagram", "doctor", "images"),
    ("cli",),
)
LAYER = {component: rank for rank, components in enumerate(LAYERS) for component in components}
# The only components that build Terraform through the framework seam.
FRAMEWORK_USERS = {"framework", "constructs", "stacks", "synth"}
FRAMEWORK_PACKAGES = ("cdktf", "cdktn", "constructs", "jsii")


def component(module: str) -> str:
    """``gkeml.config.model`` -> ``config``; ``gkeml`` -> ``gkeml``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gkeml"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import in a file, leaving out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gkeml":  # from gkeml import platform
                found += [(node.lineno, f"gkeml.{a.name}" if a.name != "__version__" else "gkeml") for a in node.names]
            else:
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


def module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def violations(files: list[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        here = component(module_of(path, root))
        for line, target in imports(path):
            where = f"{path.relative_to(root)}:{line}"
            top = target.split(".")[0]
            if top in FRAMEWORK_PACKAGES and here != "framework":
                found.append(f"{where}: imports {target}; framework imports go through gkeml.framework")
            if not target.startswith("gkeml"):
                continue
            there = component(target)
            if there == here:
                continue
            if there == "framework" and here not in FRAMEWORK_USERS:
                found.append(
                    f"{where}: {here} imports the framework seam; only {sorted(FRAMEWORK_USERS)} build Terraform"
                )
            elif here not in LAYER or there not in LAYER:
                found.append(f"{where}: {here if here not in LAYER else there} is in no layer of tests/test_layers.py")
            elif LAYER[there] >= LAYER[here]:
                found.append(f"{where}: {here} (layer {LAYER[here]}) imports {there} (layer {LAYER[there]})")
    return found


def test_every_import_goes_down_the_layers():
    # a .py file outside any package is data (gkeml/scaffold/files: what `gkeml init` writes), not a module
    files = sorted(p for p in PACKAGE.rglob("*.py") if (p.parent / "__init__.py").exists())
    assert len(files) > 50
    assert violations(files) == []


def test_every_component_has_a_layer():
    components = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")
    }
    assert components <= set(LAYER), components - set(LAYER)


def test_an_upward_import_and_a_stray_framework_import_are_reported(tmp_path):
    package = tmp_path / "gkeml" / "config"
    package.mkdir(parents=True)
    bad = package / "bad.py"
    bad.write_text("from gkeml.cli import main\nimport cdktf\nfrom gkeml.framework import App\n")
    found = violations([bad], tmp_path)
    assert [f.split(": ", 1)[1].split(";")[0] for f in found] == [
        "config (layer 2) imports cli (layer 11)",
        "imports cdktf",
        "config imports the framework seam",
    ]


# Loops between modules of one component that are still there (each closed by a lazy import); the list may
# only shrink: a new loop fails the test below.
KNOWN_LOOPS = (
    ("gkeml.doctor", "gkeml.doctor.preflight"),  # the package face holds the types preflight uses
    ("gkeml.rules.engine", "gkeml.rules.sources"),  # a values file is read with the engine's own Manifest
)


def module_graph(files: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    """Which gkeml modules each module imports, at its top or inside a function (``if TYPE_CHECKING:`` left
    out); ``from gkeml.config import model`` imports the module ``gkeml.config.model``."""
    modules = {module_of(path, root): path for path in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def loops(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The import loops of ``graph``: each strongly connected set of two or more modules, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[tuple[str, ...]] = set()

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            members = []
            while not members or members[-1] != module:
                members.append(stack.pop())
            if len(members) > 1:
                found.add(tuple(sorted(members)))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_new_import_loop_lazy_imports_included():
    files = sorted(p for p in PACKAGE.rglob("*.py") if (p.parent / "__init__.py").exists())
    assert loops(module_graph(files)) <= set(KNOWN_LOOPS)


def test_a_loop_closed_by_a_lazy_import_is_found(tmp_path):
    package = tmp_path / "gkeml" / "config"
    package.mkdir(parents=True)
    for init in (tmp_path / "gkeml" / "__init__.py", package / "__init__.py"):
        init.write_text("")
    (package / "a.py").write_text("from gkeml.config.b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gkeml.config.c import C\n"
        "def b():\n    from gkeml.config import a\n"
    )
    (package / "c.py").write_text("from gkeml.config.b import b\n")
    files = sorted((tmp_path / "gkeml").rglob("*.py"))
    assert loops(module_graph(files, tmp_path)) == {("gkeml.config.a", "gkeml.config.b")}
