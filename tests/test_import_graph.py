"""The package's import layers (docs/DESIGN.md), checked from the source by tools/check_imports.py."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = ROOT / "tools" / "check_imports.py"


def run(package: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(package)], capture_output=True, text=True)


def test_the_package_has_no_cycle_no_upward_import_and_no_click_outside_the_clis():
    result = run(ROOT / "prosper_pyserini")
    assert result.returncode == 0, result.stdout


def test_the_checker_finds_a_cycle_an_upward_import_a_library_importing_a_cli_and_click(tmp_path):
    pkg = tmp_path / "prosper_pyserini"
    for folder in ("model", "train", "eval"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "model" / "a.py").write_text("from . import b\n")
    (pkg / "model" / "b.py").write_text("def f():\n    from prosper_pyserini.model import a\n")
    (pkg / "model" / "c.py").write_text("from prosper_pyserini.train.loop import x\n")
    (pkg / "train" / "loop.py").write_text("x = 1\n")
    (pkg / "eval" / "cli.py").write_text("from prosper_pyserini.train import loop\n")   # a CLI may compose stages
    (pkg / "eval" / "tables.py").write_text("from prosper_pyserini.eval.cli import main\n")
    (pkg / "eval" / "plots.py").write_text("def f():\n    from click import UsageError\n")   # click outside a CLI
    (pkg / "train" / "cli.py").write_text("import click\n")
    result = run(pkg)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "cycle: prosper_pyserini.model.a <-> prosper_pyserini.model.b" in lines
    assert any(line.startswith("layer: prosper_pyserini.model.c (model) imports prosper_pyserini.train.loop")
               for line in lines)
    assert "cli: library module prosper_pyserini.eval.tables imports the command-line module prosper_pyserini.eval.cli" in lines
    assert any(line.startswith("click: library module prosper_pyserini.eval.plots imports click") for line in lines)
    assert lines[-1].endswith("4 problems")


def test_importing_the_search_and_index_modules_starts_no_jvm():
    """The JVM starts on first use (java.ensure_jvm), so a command can reject bad input before paying for it."""
    code = ("import sys; import prosper_pyserini.search.impact, prosper_pyserini.search.bm25, "
            "prosper_pyserini.index.lucene, prosper_pyserini.experiment.repro; "
            "print('jnius' in sys.modules, 'pyserini' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.split() == ["False", "False"], result.stderr
