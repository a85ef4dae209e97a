"""The layer rule of docs/architecture.md, read from the source with `ast` (nothing is imported).

Every module of simulator/, strategies/ and experiments/ belongs to one layer; a module imports only
modules of its own layer or of layers below (function-level and TYPE_CHECKING imports count too:
they are dependencies all the same). The pure lifecycle model has a narrower rule of its own, and
no modules import each other in a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_PACKAGES = ("simulator", "strategies", "experiments")

# Bottom to top. A module belongs to the layer of its longest listed prefix (a prefix is a module or a
# package and everything in it); "simulator" itself is only the package's __init__.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "simulator", "simulator.errors", "simulator.units", "simulator.progress", "simulator.records",
        "simulator.records.kinds", "simulator.country_intensity", "simulator.results.atomic", "simulator.names",
        "simulator.stopping", "simulator.collector",
        # 95 % intervals over repeated measurements: arithmetic only.
        "simulator.intervals",
        # The quarantine modules: the only ones that touch non-public Flower and CodeCarbon names.
        "simulator.flower.flwr_internals", "simulator.probes.codecarbon_compat",
    )),
    ("scenario", ("simulator.scenario",)),
    ("measurement, data, training, strategies", (
        "simulator.probes", "simulator.ledger", "simulator.data", "simulator.models", "simulator.training",
        "simulator.analytics", "strategies",
    )),
    ("run records, run folder, lifecycle model", (
        "simulator.records.run", "simulator.records.measurement", "simulator.results.run_dir", "simulator.results.checkpoint",
        "simulator.results.host", "simulator.results.integrity", "simulator.results.emissions_csv",
        "simulator.results.cl_checkpoint", "simulator.results.run_lock",
        "simulator.lifecycle", "simulator.to_target",
    )),
    ("federation", ("simulator.flower", "simulator.centralized")),
    ("deployment", ("simulator.deployment",)),
    ("runners", ("simulator.flower.runners",)),
    ("application", (
        "simulator.pipeline", "simulator.app_pipeline", "simulator.repeats", "simulator.estimate", "simulator.query",
        "simulator.planner", "simulator.results", "simulator.terminal", "simulator.progress_bar",
    )),
    ("entry points", ("simulator.cli", "simulator.__main__", "simulator.docs_tables", "experiments")),
)
EXACT_ONLY = frozenset({"simulator"})

# Narrower rules: modules under the key may import (of ours) only modules under these prefixes.
ONLY_IMPORTS: dict[str, tuple[str, ...]] = {
    # The pure lifecycle model receives numbers: it never loads a dataset, trains, measures or runs Flower.
    "simulator.lifecycle": (
        "simulator.lifecycle", "simulator.scenario", "simulator.ledger", "simulator.records.kinds",
        "simulator.country_intensity", "simulator.units", "simulator.errors", "simulator.probes.codecarbon_compat",
    ),
    # The quarantine modules wrap a library; they build on nothing of ours but errors and units.
    "simulator.flower.flwr_internals": ("simulator.errors", "simulator.units"),
    "simulator.probes.codecarbon_compat": ("simulator.errors", "simulator.units"),
}


def source_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the source packages under `root`."""
    modules = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imported_modules(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The modules of ours that `name` imports anywhere in its file (a `from package import module`
    counts as the module; `from module import name` as the module)."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                if f"{module}.{alias.name}" in known:
                    found.add(f"{module}.{alias.name}")
                elif module in known:
                    found.add(module)
    found.discard(name)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = source_modules(root)
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def layer_of(module: str, layers=LAYERS) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer index)
    for index, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            matches = module == prefix or (prefix not in EXACT_ONLY and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_problems(graph: dict[str, set[str]], layers=LAYERS, only_imports=ONLY_IMPORTS) -> list[str]:
    """Every module without a layer, every import of a higher layer, every import a narrower rule forbids."""
    problems = []
    for module in sorted(graph):
        layer = layer_of(module, layers)
        if layer is None:
            problems.append(f"{module}: in no layer (add it to LAYERS and to docs/architecture.md)")
            continue
        for target in sorted(graph[module]):
            target_layer = layer_of(target, layers)
            if target_layer is not None and target_layer > layer:
                problems.append(
                    f"{module} ({layers[layer][0]}) imports {target} ({layers[target_layer][0]}), a higher layer"
                )
        for prefix, allowed in only_imports.items():
            if _under(module, prefix):
                for target in sorted(graph[module]):
                    if not any(_under(target, ok) for ok in allowed):
                        problems.append(f"{module} imports {target}; modules of {prefix} may import only {', '.join(allowed)}")
    return problems


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a circle (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_every_module_imports_only_its_own_layer_and_below():
    problems = layer_problems(import_graph(REPO_ROOT))
    assert not problems, "\n".join(problems)


def test_no_modules_import_each_other_in_a_circle():
    cycles = import_cycles(import_graph(REPO_ROOT))
    assert not cycles, "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_checks_see_an_upward_import_and_a_circle(tmp_path):
    # The rule itself, on a made-up tree: a scenario module that imports a probe, and two probes
    # importing each other inside functions.
    (tmp_path / "simulator" / "scenario").mkdir(parents=True)
    (tmp_path / "simulator" / "probes").mkdir(parents=True)
    (tmp_path / "simulator" / "__init__.py").write_text("")
    (tmp_path / "simulator" / "scenario" / "__init__.py").write_text("")
    (tmp_path / "simulator" / "scenario" / "schema.py").write_text("from simulator.probes import energy\n")
    (tmp_path / "simulator" / "probes" / "__init__.py").write_text("")
    (tmp_path / "simulator" / "probes" / "energy.py").write_text("def f():\n    from simulator.probes.idle import g\n")
    (tmp_path / "simulator" / "probes" / "idle.py").write_text("def g():\n    from . import energy\n")
    graph = import_graph(tmp_path)
    assert layer_problems(graph) == [
        "simulator.scenario.schema (scenario) imports simulator.probes.energy "
        "(measurement, data, training, strategies), a higher layer"
    ]
    assert import_cycles(graph) == [["simulator.probes.energy", "simulator.probes.idle"]]
