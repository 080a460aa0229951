"""``prosper-eval`` against trec_eval itself (pytrec-eval-terrier): every default measure, per query, on runs
whose scores tie (integer impacts do) and on a fused run -- equal to 1e-4."""

from __future__ import annotations

import random

import pytest
import pytrec_eval

from prosper_pyserini.data.formats import ranked
from prosper_pyserini.eval.metrics import DEFAULT_METRICS, evaluate_runs
from prosper_pyserini.search.fusion import fuse_runs

# our name → (trec_eval measure, its key in pytrec_eval's output); MRR@10 is trec_eval's recip_rank on the top 10
TREC_EVAL = {"hit@1": ("success.1", "success_1"), "hit@10": ("success.10", "success_10"),
             "hit@100": ("success.100", "success_100"), "hit@1000": ("success.1000", "success_1000"),
             "mrr@10": ("recip_rank", "recip_rank"), "recall@100": ("recall.100", "recall_100"),
             "recall@1000": ("recall.1000", "recall_1000"), "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10")}


def _world(seed: int = 7) -> tuple[dict, dict[str, dict]]:
    rng = random.Random(seed)
    docs = [f"d{i:03d}" for i in range(80)]
    qrels = {f"q{i:02d}": {d: rng.choice([0, 1, 1, 2, 2]) for d in rng.sample(docs, 8)} for i in range(40)}
    tied = {q: {d: float(rng.randint(0, 4)) for d in rng.sample(docs, 60)} for q in qrels}   # many exact ties
    coarse = {q: {d: round(rng.random(), 1) for d in rng.sample(docs, 50)} for q in qrels}
    runs = {"tied": tied, "coarse": coarse,
            "rrf": fuse_runs([tied, coarse], "rrf", {"k": 60}),
            "combsum": fuse_runs([tied, coarse], "wsum", {"weights": [0.5, 0.5]})}
    return qrels, runs


def _trec_eval(qrels: dict, run: dict, measure: str, key: str) -> dict[str, float]:
    if measure == "recip_rank":   # MRR@10: the run cut to its top 10 in trec_eval's own order
        run = {q: dict(ranked(scores)[:10]) for q, scores in run.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {measure}, relevance_level=2)
    return {q: values[key] for q, values in evaluator.evaluate(run).items()}


def test_every_default_measure_equals_trec_eval_per_query_on_tied_and_fused_runs() -> None:
    qrels, runs = _world()
    assert set(TREC_EVAL) == set(DEFAULT_METRICS)
    tied_queries = sum(len(set(s.values())) < len(s) for s in runs["tied"].values())
    assert tied_queries == len(runs["tied"])          # the test is about ties: every query has some
    results = evaluate_runs(runs, qrels)
    checked = 0
    for system, run in runs.items():
        for metric, (measure, key) in TREC_EVAL.items():
            theirs = _trec_eval(qrels, run, measure, key)
            ours = results.per_query[system][metric]
            for qid in results.qids:
                assert ours[qid] == pytest.approx(theirs[qid], abs=1e-4), (system, metric, qid)
                checked += 1
    assert checked == len(runs) * len(TREC_EVAL) * len(results.qids) and len(results.qids) > 30
