"""prosper-eval numbers: a hand-checked tiny case, agreement with ranx on real files, significance marks."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from prosper_pyserini.data.formats import write_qrels, write_run
from prosper_pyserini.eval.cli import evaluate_command
from prosper_pyserini.eval.metrics import DEFAULT_METRICS, Metric, evaluate_files, evaluate_runs
from prosper_pyserini.eval.significance import adjust, mark_significance
from prosper_pyserini.eval.tables import to_latex, to_markdown

FIXTURES = Path(__file__).parent / "fixtures" / "eval"

# tiny.qrels (threshold 2 → relevant = grade 2):
#   q1: d1=2 d2=1 d3=0 d4=2    q2: d5=2    q3: d6=1 d7=0 (no grade-2 doc → not evaluated)    q4: d8=2
# tiny_a.trec:
#   q1: d3(g0) d2(g1) d1(g2) d9(unjudged) d4(g2)     → first relevant at rank 3
#   q2: d5 1.0, dz 1.0 (tie; broken by docid descending, as trec_eval → dz first) → first relevant at rank 2
#   q3: d6 (not evaluated)   q5: d1 (not in qrels)   q4: absent → scores 0
# Evaluated queries: q1, q2, q4 (3).
#   Hit@1   = (0 + 0 + 0) / 3 = 0
#   Hit@10  = (1 + 1 + 0) / 3 = 2/3           (Hit@100, Hit@1000 the same)
#   MRR@10  = (1/3 + 1/2 + 0) / 3 = 5/18
#   R@3     = (1/2 + 1 + 0) / 3 = 1/2         (q1: only d1 of {d1, d4} in the top 3)
#   R@100   = (2/2 + 1 + 0) / 3 = 2/3
#   nDCG@10 graded, gain = grade, discount log2(rank + 1):
#     q1 DCG  = 0/log2(2) + 1/log2(3) + 2/log2(4) + 0 + 2/log2(6) = 0.630930 + 1 + 0.773706 = 2.404636
#     q1 IDCG = 2/log2(2) + 2/log2(3) + 1/log2(4)                 = 2 + 1.261860 + 0.5     = 3.761860
#     q2 DCG  = 0/log2(2) + 2/log2(3) = 1.261860, IDCG = 2/log2(2) = 2
#     q1 = 0.639215, q2 = 0.630930, q4 = 0  → mean = 1.270145 / 3 = 0.423382
Q1_NDCG = (1 / math.log2(3) + 2 / math.log2(4) + 2 / math.log2(6)) / (2 + 2 / math.log2(3) + 1 / math.log2(4))
Q2_NDCG = 1 / math.log2(3)
HAND = {
    "hit@1": 0.0, "hit@10": 2 / 3, "hit@100": 2 / 3, "hit@1000": 2 / 3, "mrr@10": 5 / 18,
    "recall@3": 1 / 2, "recall@100": 2 / 3, "recall@1000": 2 / 3, "ndcg@10": (Q1_NDCG + Q2_NDCG) / 3,
}


def test_hand_checked_tiny_case():
    assert Q1_NDCG == pytest.approx(0.639215, abs=1e-6)
    results, _, _ = evaluate_files([str(FIXTURES / "tiny_a.trec")], str(FIXTURES / "tiny.qrels"),
                                      list(HAND), threshold=2)
    assert results.qids == ["q1", "q2", "q4"]
    assert results.missing == {"tiny_a": 1}
    for name, value in HAND.items():
        assert results.means["tiny_a"][name] == pytest.approx(value, abs=1e-9), name
    assert results.per_query["tiny_a"]["ndcg@10"]["q1"] == pytest.approx(Q1_NDCG)
    assert results.first_relevant["tiny_a"] == {"q1": 3, "q2": 2, "q4": 0}
    curve = results.hit_curve("tiny_a")
    assert curve[0] == pytest.approx(0) and curve[1] == pytest.approx(1 / 3) and curve[2] == pytest.approx(2 / 3)


def test_threshold_one_counts_grade_one_as_relevant():
    # At threshold 1, q3 (d6 = 1) is evaluated too, and q1's first relevant doc is d2 at rank 2 (q2's d5 too).
    results, _, _ = evaluate_files([str(FIXTURES / "tiny_a.trec")], str(FIXTURES / "tiny.qrels"),
                                      ["hit@1", "mrr@10"], threshold=1)
    assert results.qids == ["q1", "q2", "q3", "q4"]
    assert results.means["tiny_a"]["hit@1"] == pytest.approx(1 / 4)  # q3
    assert results.means["tiny_a"]["mrr@10"] == pytest.approx((1 / 2 + 1 / 2 + 1 + 0) / 4)


def test_metric_names():
    assert Metric.parse("hit@10", 2).ranx == "hit_rate@10-l2"
    assert Metric.parse("MRR@10", 3).ranx == "mrr@10-l3"
    assert Metric.parse("ndcg@10", 2).ranx == "ndcg@10"
    assert Metric.parse("recall@100-l1", 2).ranx == "recall@100-l1"
    assert Metric.parse("hit@10", 2).label == "Hit@10"
    with pytest.raises(ValueError):
        Metric.parse("nonsense@10", 2)


def test_trec_eval_names_and_output():
    assert [Metric.parse(m, 2).name for m in ("success.1", "recip_rank", "ndcg_cut.10", "recall.1000", "P.10", "map")] == \
        ["hit@1", "mrr", "ndcg@10", "recall@1000", "precision@10", "map"]
    result = CliRunner().invoke(evaluate_command, [str(FIXTURES / "tiny_a.trec"), "--qrels", str(FIXTURES / "tiny.qrels"),
                                                   "--metrics", "success.1,success.10,recip_rank,mrr@10,ndcg_cut.10",
                                                   "--format", "trec_eval"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.output.splitlines() if "\tall\t" in line]
    assert [(m.strip(), v) for m, _, v in lines] == [
        ("runid", "tiny_a"), ("num_q", "3"), ("success_1", "0.0000"), ("success_10", "0.6667"),
        ("recip_rank", f"{(1 / 3 + 1 / 2) / 3:.4f}"), ("mrr@10", f"{5 / 18:.4f}"), ("ndcg_cut_10", f"{HAND['ndcg@10']:.4f}")]


def _synthetic(tmp_path: Path, n_queries: int = 40, seed: int = 7) -> tuple[Path, list[Path]]:
    """Qrels where every query has a grade-2 doc, and three tie-free runs (one lacks some queries)."""
    rng = random.Random(seed)
    docs = [f"p{i:03d}" for i in range(300)]
    qrels = {}
    for q in range(n_queries):
        judged = rng.sample(docs, 12)
        qrels[f"q{q:02d}"] = {d: (2 if i < 2 else rng.choice([0, 1, 2])) for i, d in enumerate(judged)}
    paths = []
    for name, skill, drop in (("bm25", 0.3, 0), ("prosper", 0.8, 0), ("splade", 0.6, 5)):
        run = {}
        for qid, judged in list(qrels.items())[drop:]:
            pool = rng.sample(docs, 150) + list(judged)
            scores = {d: rng.random() + (skill * judged.get(d, 0)) for d in pool}
            run[qid] = scores
        path = tmp_path / f"{name}.trec"
        write_run(run, path, tag=name)
        paths.append(path)
    qrels_path = tmp_path / "synthetic.qrels"
    write_qrels(qrels, qrels_path)
    return qrels_path, paths


def test_numbers_equal_ranx_on_the_same_files(tmp_path):
    from ranx import Qrels, Run, evaluate

    qrels_path, runs = _synthetic(tmp_path)
    result = CliRunner().invoke(
        evaluate_command,
        [*map(str, runs), "--qrels", str(qrels_path), "--out", str(tmp_path / "out"),
         "--per-query", str(tmp_path / "pq.tsv")],
    )
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["evaluated_queries"] == 40
    assert written["missing_queries"] == {"bm25": 0, "prosper": 0, "splade": 5}
    ranx_names = {m: Metric.parse(m, 2).ranx for m in DEFAULT_METRICS}
    for path in runs:
        run = Run.from_file(str(path), kind="trec")
        expected = evaluate(Qrels.from_file(str(qrels_path), kind="trec"), run, list(ranx_names.values()),
                            make_comparable=True)
        for name, ranx_name in ranx_names.items():
            assert written["results"][path.stem][name] == pytest.approx(expected[ranx_name], abs=1e-12)
            assert f"{expected[ranx_name]:.4f}" in result.output  # the printed table shows the same numbers
    # the per-query file averages back to the table
    rows = [line.split("\t") for line in (tmp_path / "pq.tsv").read_text().splitlines()]
    header = rows[0]
    prosper = [r for r in rows[1:] if r[0] == "prosper"]
    assert len(prosper) == 40
    col = header.index("mrr@10")
    assert sum(float(r[col]) for r in prosper) / 40 == pytest.approx(written["results"]["prosper"]["mrr@10"], abs=1e-5)
    # Hit@K curve agrees with ranx's hit_rate
    results, _, _ = evaluate_files([str(p) for p in runs], str(qrels_path), ["hit@1", "hit@10", "hit@100"])
    for system in results.systems:
        curve = results.hit_curve(system)
        for k in (1, 10, 100):
            assert curve[k - 1] == pytest.approx(results.means[system][f"hit@{k}"])
    for suffix in (".md", ".tex", ".csv", ".hitk.png", ".hitk.svg"):
        assert (tmp_path / f"out{suffix}").stat().st_size > 100


def _two_systems(n: int = 30) -> tuple[dict, dict]:
    """'good' puts the relevant doc first on 27 of 30 queries, 'poor' puts it 8th on 27 of 30."""
    qrels, good, poor, same = {}, {}, {}, {}
    for i in range(n):
        qid, rel = f"q{i:02d}", f"rel{i}"
        qrels[qid] = {rel: 2}
        filler = {f"x{i}_{j}": 10.0 - j for j in range(10)}
        good[qid] = {**filler, rel: 11.0 if i % 10 else 2.5}
        poor[qid] = {**filler, rel: 2.5 if i % 10 else 11.0}
        same[qid] = dict(poor[qid])
    return qrels, {"poor": poor, "good": good, "same": same}


@pytest.mark.parametrize("test", ["student", "fisher"])
def test_significance_marks_against_baseline(test):
    qrels, runs = _two_systems()
    results = evaluate_runs(runs, qrels, ["mrr@10", "hit@1"], stat_test=test)
    assert results.means["good"]["hit@1"] == pytest.approx(27 / 30)
    assert results.means["poor"]["hit@1"] == pytest.approx(3 / 30)
    sig = mark_significance(results, "poor", correction="holm")
    assert sig.mark("mrr@10", "good") == "▲"
    assert sig.mark("mrr@10", "same") == ""  # identical per-query scores: p = 1
    assert sig.beats["mrr@10"]["good"] == ["a", "c"]  # beats poor (a) and same (c)
    table = to_markdown(results)
    assert "▲ᵃᶜ" in table and "(baseline)" in table and "Holm".lower() in table.lower()
    assert r"\blacktriangle" in to_latex(results)
    # the other way round: the poor system is marked as worse than the good baseline
    sig = mark_significance(results, "good", correction="bonferroni")
    assert sig.mark("hit@1", "poor") == "▼" and sig.mark("hit@1", "same") == "▼"


def test_no_marks_without_a_difference():
    qrels, runs = _two_systems()
    results = evaluate_runs({"poor": runs["poor"], "same": runs["same"]}, qrels, ["mrr@10"])
    sig = mark_significance(results, "poor")
    assert sig.mark("mrr@10", "same") == "" and sig.beats["mrr@10"] == {"poor": [], "same": []}


def test_multiple_testing_corrections():
    p = [0.01, 0.04, 0.03]
    assert adjust(p, "bonferroni") == pytest.approx([0.03, 0.12, 0.09])
    # Holm: sorted 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04·1) = 0.06
    assert adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06])
    assert adjust(p, "none") == p
    assert adjust([0.5, 0.9], "bonferroni") == [1.0, 1.0]


def test_cli_baseline_marks_and_bad_baseline(tmp_path):
    qrels, runs = _two_systems()
    write_qrels(qrels, tmp_path / "q.txt")
    for name, run in runs.items():
        write_run(run, tmp_path / f"{name}.trec", tag=name)
    paths = [str(tmp_path / f"{n}.trec") for n in runs]
    result = CliRunner().invoke(evaluate_command, [*paths, "--qrels", str(tmp_path / "q.txt"), "--baseline", "poor",
                                                   "--metrics", "mrr@10,hit@1,mrr@10", "--out", str(tmp_path / "t"),
                                                   "--report", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert "▲" in result.output
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "▲" in page and 'src="hit_at_k.svg"' in page and (tmp_path / "rep" / "hit_at_k.png").is_file()
    assert "--baseline poor" in page  # the command to regenerate it
    data = json.loads((tmp_path / "t.json").read_text())
    assert [m["name"] for m in data["metrics"]] == ["mrr@10", "hit@1"]
    assert data["significance"]["vs_baseline"]["mrr@10"]["good"]["mark"] == "▲"
    assert data["significance"]["vs_baseline"]["mrr@10"]["good"]["p_adj"] < 0.05
    result = CliRunner().invoke(evaluate_command, [*paths, "--qrels", str(tmp_path / "q.txt"), "--baseline", "nope"])
    assert result.exit_code != 0 and "baseline 'nope' is not one of the systems" in result.output
