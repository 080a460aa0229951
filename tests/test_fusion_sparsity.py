"""Fusion of two channels, with parameters tuned on judged queries."""

import pytest

from prosper_pyserini.search.fusion import fuse_runs, tune_fusion


def channels():
    # channel A is right on q1,q2; channel B on q3,q4; each misses where the other is right
    a = {"q1": {"d1": 3.0, "x": 1.0}, "q2": {"d2": 2.0, "x": 1.0}, "q3": {"x": 5.0, "d3": 1.0}, "q4": {"x": 9.0, "d4": 8.0}}
    b = {"q1": {"x": 0.9, "d1": 0.8}, "q2": {"x": 0.7, "d2": 0.1}, "q3": {"d3": 0.9, "x": 0.1}, "q4": {"d4": 0.5}}
    qrels = {q: {f"d{q[1]}": 2, "x": 0} for q in a}
    return a, b, qrels


def test_rrf_hand_computed():
    a, b, _ = channels()
    fused = fuse_runs([a, b], "rrf", {"k": 60})
    # q1: d1 = 1/61 + 1/62, x = 1/62 + 1/61 → a tie, broken by docid descending (trec_eval's order)
    assert fused["q1"]["d1"] == pytest.approx(1 / 61 + 1 / 62)
    assert list(fused["q1"]) == ["x", "d1"]
    # q4: x only in A (rank 1), d4 in A (rank 2) and B (rank 1)
    assert fused["q4"]["d4"] == pytest.approx(1 / 62 + 1 / 61) and fused["q4"]["x"] == pytest.approx(1 / 61)


def test_wsum_weights_are_tuned_and_applied():
    a, b, qrels = channels()
    params = tune_fusion([a, b], qrels, "wsum", metric="mrr@10")
    assert set(params) == {"weights"} and sum(params["weights"]) == pytest.approx(1.0)
    fused = fuse_runs([a, b], "wsum", params)

    def mrr(run):
        return sum(1 / (1 + sorted(run[q], key=lambda d: (-run[q][d], d)).index(f"d{q[1]}")) for q in run) / len(run)

    # A alone: 1, 1, 1/2, 1/2; B alone: 1/2, 1/2, 1, 1; the tuned mix does at least as well as either
    assert mrr(a) == mrr(b) == 0.75
    assert mrr(fused) >= 0.75


def test_unknown_method():
    a, b, qrels = channels()
    with pytest.raises(ValueError, match="fusion method"):
        tune_fusion([a, b], qrels, "borda")


def test_sparsity_flops_hand_computed():
    from prosper_pyserini.eval.sparsity import sparsity_stats

    docs = [{"drill": 5, "dewalt": 3}, {"drill": 2}, {"paint": 1}, {"paint": 4, "gal": 1}]
    queries = [{"drill": 10}, {"paint": 7, "drill": 1}]
    stats = sparsity_stats(docs, queries)
    # p_q(drill) = 1, p_q(paint) = 1/2; p_d(drill) = 1/2, p_d(paint) = 1/2 → 1·1/2 + 1/2·1/2 = 0.75
    assert stats == {"products": 4, "queries": 2, "avg_terms_per_product": 1.5, "avg_terms_per_query": 1.5,
                     "flops": 0.75}
