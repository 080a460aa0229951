"""prosper-repro end to end on the embedded sample: real data code, JVM, Lucene, SPLADE-tiny, ranx, report."""

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from prosper_pyserini.eval.repro import main

ROOT = Path(__file__).resolve().parents[1]


def write_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((ROOT / "eval" / "sample.yaml").read_text())
    config.update(work_dir=str(tmp_path / "work"), runs_dir=str(tmp_path / "runs"), report_dir=str(tmp_path / "report"))
    keep = {"bm25", "splade-tiny-zs"}
    config["systems"] = [s for s in config["systems"] if s["name"] in keep] + [
        {"name": "zs+bm25", "type": "fusion", "runs": ["splade-tiny-zs", "bm25"], "method": "rrf"}]
    path = tmp_path / "sample.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_repro_runs_the_matrix_reuses_steps_and_takes_overrides(tmp_path):
    config = write_config(tmp_path)
    first = CliRunner().invoke(main, ["--config", str(config)])
    assert first.exit_code == 0, first.output
    report = tmp_path / "report"
    for name in ("report.html", "report.md", "results.json", "hit_at_k.png", "hit_at_k.svg", "per_query.tsv"):
        assert (report / name).is_file(), name
    results = json.loads((report / "results.json").read_text())
    assert set(results["results"]) == {"bm25", "splade-tiny-zs", "zs+bm25"}
    runs = sorted(p.name for p in (tmp_path / "runs").glob("*.trec"))
    assert runs == ["bm25.trec", "splade-tiny-zs.trec", "zs+bm25.trec"]
    html = (report / "report.html").read_text()
    assert "Sparsity" in html and "flops" in html and "prosper-repro" in html and "anserini" in html.lower()

    # unchanged inputs: every step is reused, results identical
    second = CliRunner().invoke(main, ["--config", str(config)])
    assert second.exit_code == 0, second.output
    assert json.loads((report / "results.json").read_text())["results"] == results["results"]
    assert "(reused)" in (report / "report.md").read_text()

    # other queries without code changes: evaluate on all judged queries of the sample
    third = CliRunner().invoke(main, ["--config", str(config), "evaluation.split=all"])
    assert third.exit_code == 0, third.output
    assert json.loads((report / "results.json").read_text())["evaluated_queries"] > results["evaluated_queries"]


def test_unknown_system_type_is_a_clear_error(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"] = [{"name": "x", "type": "magic"}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code != 0 and "unknown type 'magic'" in result.output
