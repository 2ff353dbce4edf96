"""Data flows one way through gkeml: each top-level component imports only components of lower layers
(config -> naming -> manifests/constructs -> stacks -> cli), no module imports itself through others (a
lazy import inside a function counts), and only the framework seam imports the CDK framework. Imports
under ``if TYPE_CHECKING:`` are annotations, not dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "gkeml"
SCAFFOLD = PACKAGE / "scaffold" / "files"  # what `gkeml init` writes into a platform repository: data, not modules
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


# Loops between modules of one component that are known, each being taken apart: the doctor's package face
# and its preflight (the doctor split), and the extensions' roles in config. No other may appear.
KNOWN_LOOPS = (
    frozenset({"gkeml.doctor", "gkeml.doctor.preflight"}),
    frozenset({"gkeml.config.extensions", "gkeml.config.roles"}),
)


def module_loops(files: list[Path], root: Path = ROOT) -> list[frozenset[str]]:
    """Every set of modules that import one another in a circle (Tarjan's strongly connected components)."""
    modules = {module_of(path, root): path for path in files}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        graph[module] = set()
        for _, target in imports(path):
            while target and target not in modules:  # gkeml.rules.engine.check -> gkeml.rules.engine
                target = target.rpartition(".")[0]
            if target.startswith("gkeml") and target != module:
                graph[module].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            found = set()
            while not found or module not in found:
                found.add(stack.pop())
            if len(found) > 1:
                loops.append(frozenset(found))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return loops


def test_no_module_imports_itself_through_others():
    files = sorted(p for p in PACKAGE.rglob("*.py") if (p.parent / "__init__.py").exists())
    assert [sorted(loop) for loop in module_loops(files) if loop not in KNOWN_LOOPS] == []


def test_a_loop_through_a_lazy_import_is_found(tmp_path):
    package = tmp_path / "gkeml" / "rules"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "engine.py").write_text("def f():\n    from gkeml.rules.sources import g\n")
    (package / "sources.py").write_text("from gkeml.rules.engine import f\n")
    (package / "alone.py").write_text("from gkeml.rules.engine import f\n")
    files = sorted(package.glob("*.py"))
    assert module_loops(files, tmp_path) == [frozenset({"gkeml.rules.engine", "gkeml.rules.sources"})]


def test_every_import_goes_down_the_layers():
    # a .py file outside any package is data (gkeml/scaffold/files: what `gkeml init` writes), not a module
    files = sorted(
        p for p in PACKAGE.rglob("*.py") if (p.parent / "__init__.py").exists() and SCAFFOLD not in p.parents
    )
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
