"""Check the package's import graph: no cycles, no stage importing a stage above it, no library module
importing a command-line module or click (docs/DESIGN.md).

    python tools/check_imports.py [PACKAGE_DIR]        # exit 1 and one line per problem

Every ``import`` counts, at module level or inside a function, read from the source (nothing is imported).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# data → model → train / encode → index / export → search → eval → experiment; a module may import its own layer and
# those below it. Top-level modules not listed here (checksums, config, presets, steps, java, weights,
# cli_errors, explain, cli) are shared helpers: layer 0, except the ones named below.
LAYERS = {"data": 0, "model": 1, "explain": 1, "train": 2, "encode": 2, "index": 3, "export": 3, "search": 4, "eval": 5,
          "experiment": 6, "cli": 7}
SIBLINGS = {("train", "encode"), ("encode", "train")}   # same layer, but neither needs the other


CLI_HELPERS = {"cli_errors", "cli_options"}   # what the command lines share (one-line errors, option types)


def is_cli(module: str) -> bool:
    """Command-line modules sit on top of everything: they may compose stages, but nothing imports them."""
    last = module.rpartition(".")[2]
    return last == "cli" or last.endswith("_cli")


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_click(path: Path) -> bool:
    """Whether the file imports click anywhere (module level or inside a function)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        if any(n == "click" or n.startswith("click.") for n in names):
            return True
    return False


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports (``from . import x`` resolved; a package means its __init__)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(module: str) -> tuple[str, int]:
    parts = module.split(".")
    stage = parts[1] if len(parts) > 1 else ""
    return stage, LAYERS.get(stage, 0)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "prosper_pyserini")
    known = modules(root)
    graph = {name: imports(name, path, known) for name, path in known.items()}
    problems = [f"cycle: {' <-> '.join(c)}" for c in cycles(graph)]
    for source, targets in sorted(graph.items()):
        src_stage, src_layer = layer(source)
        for target in sorted(targets):
            dst_stage, dst_layer = layer(target)
            if is_cli(target) and not is_cli(source):
                problems.append(f"cli: library module {source} imports the command-line module {target}")
            elif not is_cli(source) and (dst_layer > src_layer or (src_stage, dst_stage) in SIBLINGS):
                problems.append(f"layer: {source} ({src_stage or 'shared'}) imports {target} ({dst_stage})")
    problems += [f"click: library module {name} imports click (raise a typed error; the CLI turns it into a message)"
                 for name, path in sorted(known.items())
                 if not is_cli(name) and name.rpartition(".")[2] not in CLI_HELPERS and imports_click(path)]
    for problem in problems:
        print(problem)
    print(f"{len(known)} modules, {sum(map(len, graph.values()))} import edges, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
