"""Data flows one way through gkeml: each top-level component imports only components of lower layers
(config -> naming -> manifests/constructs -> stacks -> cli), and only the framework seam imports the
CDK framework. Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies.

Within a component too, no two modules import each other, however far apart: the import graph of all modules
(imports at the top and inside functions) has no cycle. A lazy import inside a function hides a cycle from
Python at import time, not from this test; cycles closed by ``if TYPE_CHECKING:`` imports are listed."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "gkeml"
# Lowest first. A component may import its own modules and components of LOWER layers only.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("platform_serving",),  # serving facts, which platform imports
    # facts, exit codes, quantities ("gkeml": the version), the one registry of checks (every layer registers)
    ("gkeml", "platform", "telemetry", "exitcodes", "units", "registry"),
    ("text", "answers", "interrupts"),  # one-line text and tables, bounded API answers, signals
    ("config", "release"),
    ("naming", "stackfile", "iam", "cost", "scaffold", "extension"),
    ("manifests", "observability"),
    ("rules", "framework"),
    ("environments", "jobs", "lifecycle", "checkov"),  # environments: loading runs the request-range rules
    ("constructs", "toolkit", "docs", "envcopy"),  # envcopy: `gkeml env new`, a copy that must load and not clash
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


@dataclass(frozen=True)
class Import:
    """One import in a file: the module it imports (the submodule, for ``from package import submodule``),
    whether it runs inside a function (lazy) and whether only ``if TYPE_CHECKING:`` runs it."""

    line: int
    target: str
    lazy: bool = False
    typing_only: bool = False


def module_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _inside(tree: ast.AST, kinds: tuple[type, ...], test: str | None = None) -> set[int]:
    """ids of the nodes inside a node of ``kinds`` (whose test mentions ``test``, when given)."""
    return {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, kinds) and (test is None or test in ast.unparse(node.test))
        for n in ast.walk(node)
    }


def all_imports(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in a file, wherever it stands (relative ones resolved)."""
    tree = ast.parse(path.read_text())
    typing_only = _inside(tree, (ast.If,), "TYPE_CHECKING")
    lazy = _inside(tree, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    here = module_of(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = []
    for node in ast.walk(tree):
        where = {"lazy": id(node) in lazy, "typing_only": id(node) in typing_only}
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # from gkeml import platform: the module gkeml.platform
                sub = f"{module}.{alias.name}"
                found.append(Import(node.lineno, sub if _is_module(sub, root) else module, **where))
        elif isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name, **where) for alias in node.names]
    return found


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, imported module) of every import in a file, leaving out ``if TYPE_CHECKING:`` blocks."""
    return [(i.line, i.target) for i in all_imports(path, root) if not i.typing_only]


def violations(files: list[Path], root: Path = ROOT) -> list[str]:
    found = []
    for path in files:
        here = component(module_of(path, root))
        for line, target in imports(path, root):
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


# Cycles that only annotations close: the config sections' cross-section checks take the Environment that is
# made of them. Python never runs these imports. The list must stay exactly this: a new one fails, and so does
# one that is gone (then delete it here).
TYPE_ONLY_CYCLES = [
    [
        "gkeml.config.exposure",
        "gkeml.config.kueue",
        "gkeml.config.model",
        "gkeml.config.reservations",
        "gkeml.config.services",
        "gkeml.config.volumes",
    ]
]


def package_files(package: Path = PACKAGE) -> list[Path]:
    """The modules of the package: a .py file outside any package, or in gkeml/scaffold/files (what `gkeml init`
    writes into a platform repository), is data, not a module."""
    return sorted(
        p
        for p in package.rglob("*.py")
        if (p.parent / "__init__.py").exists() and package / "scaffold" / "files" not in p.parents
    )


def import_graph(files: list[Path], root: Path = ROOT, typing: bool = True) -> dict[str, dict[str, Import]]:
    """module -> {module it imports: its first import of it}, between the modules of ``files``, lazy imports
    included (and the ``if TYPE_CHECKING:`` ones unless ``typing`` is False)."""
    modules = {module_of(path, root): path for path in files}
    graph: dict[str, dict[str, Import]] = {module: {} for module in modules}
    for module, path in modules.items():
        for found in all_imports(path, root):
            if found.target in modules and found.target != module and (typing or not found.typing_only):
                graph[module].setdefault(found.target, found)
    return graph


def cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

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
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def explain(graph: dict[str, dict[str, Import]], component: list[str]) -> str:
    """The imports inside a cycle, ``a -> b (line 12, lazy)`` each."""
    return "; ".join(
        f"{module} -> {target} (line {found.line}{', lazy' if found.lazy else ''}"
        f"{', TYPE_CHECKING' if found.typing_only else ''})"
        for module in component
        for target, found in sorted(graph[module].items())
        if target in component
    )


def test_every_import_goes_down_the_layers():
    files = package_files()
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
        "config (layer 3) imports cli (layer 12)",
        "imports cdktf",
        "config imports the framework seam",
    ]


def test_no_two_modules_import_each_other_not_even_lazily():
    graph = import_graph(package_files(), typing=False)
    assert [explain(graph, c) for c in cycles(graph)] == []


def test_the_only_cycles_through_type_checking_imports_are_the_known_ones():
    graph = import_graph(package_files())
    found = cycles(graph)
    assert found == TYPE_ONLY_CYCLES, [explain(graph, c) for c in found]


def test_a_cycle_through_a_lazy_or_a_type_checking_import_is_reported(tmp_path):
    package = tmp_path / "gkeml" / "doctor"
    package.mkdir(parents=True)
    (tmp_path / "gkeml" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("def diagnose():\n    from gkeml.doctor import preflight\n")
    (package / "preflight.py").write_text("from gkeml.doctor import diagnose\n")
    (package / "api.py").write_text("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .kinds import x\n")
    (package / "kinds.py").write_text("from . import api\n")
    graph = import_graph(package_files(tmp_path / "gkeml"), tmp_path)
    assert cycles(graph) == [["gkeml.doctor", "gkeml.doctor.preflight"], ["gkeml.doctor.api", "gkeml.doctor.kinds"]]
    assert explain(graph, cycles(graph)[0]) == (
        "gkeml.doctor -> gkeml.doctor.preflight (line 2, lazy); gkeml.doctor.preflight -> gkeml.doctor (line 1)"
    )
    assert explain(graph, cycles(graph)[1]) == (
        "gkeml.doctor.api -> gkeml.doctor.kinds (line 4, TYPE_CHECKING); gkeml.doctor.kinds -> gkeml.doctor.api (line 1)"
    )
    runtime = import_graph(package_files(tmp_path / "gkeml"), tmp_path, typing=False)
    assert cycles(runtime) == [["gkeml.doctor", "gkeml.doctor.preflight"]]
