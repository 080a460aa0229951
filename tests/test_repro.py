"""prosper-repro end to end on the embedded sample: real data code, JVM, Lucene, SPLADE-tiny, ranx, report."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prosper_pyserini.config import load_config
from prosper_pyserini.encode.collection import read_vectors
from prosper_pyserini.experiment.cli import main
from prosper_pyserini.experiment.repro import check_systems

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
    readme = tmp_path / "README.md"
    readme.write_text("# Results\nbefore\n<!-- prosper-repro:sample:begin -->\nold table\n"
                      "<!-- prosper-repro:sample:end -->\nafter\n")
    first = CliRunner().invoke(main, ["--config", str(config), "--readme", str(readme)])
    assert first.exit_code == 0, first.output
    text = readme.read_text()
    assert text.startswith("# Results\nbefore\n") and text.endswith("<!-- prosper-repro:sample:end -->\nafter\n")
    assert "old table" not in text and "| zs+bm25" in text and "```bash" in text and "| system (minutes)" in text
    assert "| splade-tiny-zs" in text.split("| system (minutes)")[1]     # every system's step times
    report = tmp_path / "report"
    for name in ("report.html", "report.md", "results.json", "hit_at_k.png", "hit_at_k.svg", "per_query.tsv"):
        assert (report / name).is_file(), name
    results = json.loads((report / "results.json").read_text())
    assert set(results["results"]) == {"bm25", "splade-tiny-zs", "zs+bm25"}
    runs = sorted(p.name for p in (tmp_path / "runs").glob("*.trec"))
    assert runs == ["bm25.trec", "splade-tiny-zs.trec", "zs+bm25.trec"]
    # Anserini's INFO lines went to each Java step's log, not to the terminal
    assert "Indexing Complete" in (tmp_path / "work" / "logs" / "index-bm25.log").read_text()
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

    # another query cut re-encodes the queries and searches again, but keeps the encoded corpus and its index
    work = tmp_path / "work"
    stamps = {"collections": work / "collections" / ".splade-tiny-zs.step.json",
              "indexes": work / "indexes" / ".splade-tiny-zs.step.json",
              "queries": work / "queries" / ".splade-tiny-zs.jsonl.step.json"}
    before = {step: stamp.stat().st_mtime_ns for step, stamp in stamps.items()}
    edited = yaml.safe_load(config.read_text())
    next(s for s in edited["systems"] if s["name"] == "splade-tiny-zs")["encode"] = {"query_top_k": 0}
    config.write_text(yaml.safe_dump(edited))
    fourth = CliRunner().invoke(main, ["--config", str(config)])
    assert fourth.exit_code == 0, fourth.output
    after = {step: stamp.stat().st_mtime_ns for step, stamp in stamps.items()}
    assert after["collections"] == before["collections"] and after["indexes"] == before["indexes"]
    assert after["queries"] != before["queries"]


def test_unknown_system_type_is_a_clear_error(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"] = [{"name": "x", "type": "magic"}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code != 0 and "unknown type 'magic'" in result.output


def test_readme_without_a_results_block_fails_before_any_work(tmp_path):
    config = write_config(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    result = CliRunner().invoke(main, ["--config", str(config), "--readme", str(readme)])
    assert result.exit_code != 0 and "prosper-repro:sample:begin" in result.output
    assert not (tmp_path / "work").exists() and readme.read_text() == "# no markers\n"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "eval").glob("*.yaml")))
def test_committed_experiment_configs_resolve(name):
    # the LLM config cannot run here (no GPU): resolving every system's training config is what can be checked
    check_systems(load_config(ROOT / "eval" / name, []))


def test_config_problems_are_all_reported_before_any_work(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"].append({"name": "p", "type": "sparse", "train": {"config": "prosper", "overrides": {"model.k_qq": 3}}})
    config["systems"] += [{"name": "f", "type": "fusion", "runs": ["bm25", "nope"]}, {"name": "bm25", "type": "bm25"},
                          {"name": "q", "type": "sparse", "model": "splade-tiny", "encode": {"query_top_k": -1}},
                          {"name": "r", "type": "sparse", "train": {"config": ["prosper", 3]}}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code != 0 and not (tmp_path / "work").exists()
    for problem in ("unknown config key 'model.k_qq'", "fuses unknown system 'nope'", "'bm25': defined twice",
                    "systems[6].encode.query_top_k must be 0 (every term) or a positive integer, not -1",
                    "system 'r': train.config must be a preset (or file) name or a list of them, not ['prosper', 3]"):
        assert problem in result.output


def test_a_config_extends_another_and_replaces_its_top_level_keys():
    sweep, matrix = load_config(ROOT / "eval" / "homedepot-cpu-sweep.yaml"), load_config(ROOT / "eval" / "homedepot-cpu.yaml")
    assert "extends" not in sweep and sweep["name"] == "homedepot-cpu-sweep"
    assert {k: sweep[k] for k in ("data", "evaluation", "search")} == {k: matrix[k] for k in ("data", "evaluation", "search")}
    assert [s["name"] for s in sweep["systems"]] == ["bm25", "prosper-bert-ramp250", "prosper-bert-no-norm-ramp250"]


def test_a_run_made_elsewhere_is_evaluated_beside_the_others(tmp_path):
    """A ``run`` system (e.g. made on a lent GPU) joins the table, its statistics the report."""
    from prosper_pyserini.data.formats import read_qrels, write_run
    from prosper_pyserini.data.homedepot import prepare_sample

    dev = read_qrels(prepare_sample(tmp_path / "split", dev_fraction=0.3).qrels_path("dev"))   # sample.yaml's split
    ideal = {q: {d: float(g) for d, g in judged.items()} for q, judged in dev.items()}
    write_run(ideal, tmp_path / "ideal.trec", tag="ideal")
    (tmp_path / "ideal.json").write_text(json.dumps({"sparsity": {"products": 1, "queries": 1, "flops": 0.5}}))
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"] = [s for s in config["systems"] if s["name"] == "bm25"] + [
        {"name": "ideal", "type": "run", "path": str(tmp_path / "ideal.trec"), "stats": str(tmp_path / "ideal.json")}]
    path = tmp_path / "with-run.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "report"
    means = json.loads((report / "results.json").read_text())["results"]
    assert means["ideal"]["mrr@10"] == pytest.approx(1.0) and means["bm25"]["mrr@10"] < 1.0
    assert "0.5" in (report / "report.md").read_text().split("parsity")[1]

    (tmp_path / "ideal.trec").unlink()
    missing = CliRunner().invoke(main, ["--config", str(path)])
    assert missing.exit_code != 0 and "ideal.trec: no such run" in missing.output
    config["systems"][-1].pop("path")
    path.write_text(yaml.safe_dump(config))
    assert "a run system needs 'path'" in CliRunner().invoke(main, ["--config", str(path)]).output


def test_verify_reports_ok_okish_and_fail_per_cell(tmp_path):
    """Expected scores beside a system: OK within rounding, OKISH within noise, FAIL beyond (exit 1)."""
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"] = [{k: v for k, v in s.items() if k != "expected"} for s in config["systems"] if s["name"] == "bm25"]
    path = tmp_path / "verify.yaml"
    path.write_text(yaml.safe_dump(config))
    none = CliRunner().invoke(main, ["--config", str(path), "--verify"])
    assert none.exit_code == 2 and "no system to run has 'expected' scores" in none.output
    assert CliRunner().invoke(main, ["--config", str(path)]).exit_code == 0
    means = json.loads((tmp_path / "report" / "results.json").read_text())["results"]["bm25"]
    config["systems"][0]["expected"] = {"hit@1": round(means["hit@1"], 4), "mrr@10": round(means["mrr@10"] + 0.003, 4),
                                        "ndcg@10": round(means["ndcg@10"] - 0.02, 4)}
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path), "--verify"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("[")]
    assert [line.split()[0] for line in lines] == ["[OK]", "[OKISH]", "[FAIL]"]
    assert lines[0].split()[1:3] == ["bm25", "hit@1"] and "verify: 1 of 3 expected scores FAIL" in result.output
    assert "(reused)" in (tmp_path / "report" / "report.md").read_text()   # expected scores do not redo any step
    config["systems"][0]["expected"] = {"hit@3": 0.5}
    path.write_text(yaml.safe_dump(config))
    bad = CliRunner().invoke(main, ["--config", str(path), "--verify"])
    assert bad.exit_code == 2 and "expected 'hit@3' is not evaluated" in bad.output


def test_dry_run_prints_every_step_command_and_runs_nothing(tmp_path):
    config = write_config(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(config), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    work = tmp_path / "work"
    assert lines[0] == f"prosper-data sample --out {work}/data --seed 13 --dev-fraction 0.3"
    assert [line.split()[0] for line in lines] == ["prosper-data", "prosper-pyserini", "prosper-search", "prosper-encode",
                                                   "prosper-pyserini", "prosper-search", "#", "prosper-eval"]
    assert f"--topics {work}/data/queries.dev.tsv" in lines[2] and "--impact --encoder splade-tiny" in lines[5]
    assert lines[-1].startswith(f"prosper-eval {tmp_path}/runs/bm25.trec {tmp_path}/runs/splade-tiny-zs.trec")
    assert not work.exists() and not (tmp_path / "runs").exists()   # nothing was run


def test_model_of_searches_another_systems_model_with_a_narrower_product_window(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    trained = {"name": "p", "type": "sparse", "train": {"config": "prosper", "overrides": {
        "model.backbone": "splade-tiny", "train.max_steps": 2, "train.batch_size": 8, "val.enabled": False}}}
    narrow = {"name": "p-top4", "type": "sparse", "model_of": "p", "encode": {"doc_top_k": 4, "query_top_k": 0}}
    config["systems"] = [s for s in config["systems"] if s["name"] == "bm25"] + [trained, narrow]
    path = tmp_path / "model-of.yaml"
    path.write_text(yaml.safe_dump(config))
    dry = CliRunner().invoke(main, ["--config", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert sum(line.startswith("prosper-train") for line in dry.output.splitlines()) == 1
    assert "--doc-top-k 4" in dry.output
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code == 0, result.output
    work = tmp_path / "work"
    assert sorted(p.name for p in (work / "checkpoints").iterdir()) == [".p.step.json", "p"]   # trained once
    full, cut = (dict(read_vectors(work / "collections" / n / "vectors")) for n in ("p", "p-top4"))
    assert full.keys() == cut.keys() and any(len(v) > 4 for v in full.values())
    for doc, vector in cut.items():   # the same model's four heaviest terms (quantized ties may swap)
        assert len(vector) == min(4, len(full[doc]))
        assert min(vector.values()) >= sorted(full[doc].values(), reverse=True)[len(vector) - 1]
        assert all(full[doc][t] == w for t, w in vector.items())
    summary = json.loads((work / "collections" / "p-top4" / "vectors.summary.json").read_text())
    assert summary["top_k"] == 4 and summary["avg_terms_per_product"] <= 4


def test_another_experiment_in_the_same_work_dir_reuses_a_model_trained_under_another_name(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    negatives = {"system": "bm25", "n": 1, "top": 10}
    recipe = {"model": {"backbone": "splade-tiny"}, "train": {"max_steps": 2, "batch_size": 8}, "val": {"enabled": False}}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    # the same training spelled as overrides in one experiment and as a second preset in the other
    specs = {"study-row": {"config": "prosper", "overrides": {"model.backbone": "splade-tiny", "train.max_steps": 2,
                                                              "train.batch_size": 8, "val.enabled": False}},
             "matrix-row": {"config": ["prosper", str(tmp_path / "recipe.yaml")]}}
    bm25 = next(s for s in config["systems"] if s["name"] == "bm25")
    results = {}
    for name, spec in specs.items():   # each experiment keeps its runs (and so its mined BM25 run) apart
        config.update(name=name, runs_dir=str(tmp_path / "runs" / name), report_dir=str(tmp_path / "report" / name))
        config["systems"] = [bm25, {"name": name, "type": "sparse", "train": {**spec, "hard_negatives": negatives}}]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config))
        dry = CliRunner().invoke(main, ["--config", str(path), "--dry-run"])
        presets = " ".join(f"--config {p}" for p in ([spec["config"]] if isinstance(spec["config"], str) else spec["config"]))
        assert dry.exit_code == 0 and f"prosper-train {presets} --data" in dry.output, dry.output
        result = CliRunner().invoke(main, ["--config", str(path)])
        assert result.exit_code == 0, result.output
        results[name] = json.loads((tmp_path / "report" / name / "results.json").read_text())["results"][name]
    work = tmp_path / "work"
    for step in ("checkpoints", "collections", "indexes"):   # trained, encoded and indexed once
        assert not (work / step / "matrix-row").exists() and (work / step / "study-row").is_dir(), step
    assert (tmp_path / "runs" / "matrix-row" / "matrix-row.trec").is_file() and results["matrix-row"] == results["study-row"]


def test_model_of_must_name_a_system_with_a_model(tmp_path):
    config = yaml.safe_load(write_config(tmp_path).read_text())
    config["systems"] += [{"name": "a", "type": "sparse", "model_of": "zs+bm25"},
                          {"name": "b", "type": "sparse", "model_of": "splade-tiny-zs", "model": "splade-tiny"}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["--config", str(path)])
    assert result.exit_code != 0 and not (tmp_path / "work").exists()
    assert "system 'a': model_of must name a sparse system that trains or names its model, not 'zs+bm25'" in result.output
    assert "system 'b': needs one of 'train', 'model' or 'model_of'" in result.output
