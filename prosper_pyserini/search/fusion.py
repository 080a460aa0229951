"""Hybrid retrieval: fuse runs of several channels (e.g. PROSPER + BM25) with ranx, tuned on dev queries.

The paper deploys PROSPER as one channel of a multi-channel retriever; these fused runs are rows of the
matrix. ``rrf`` is reciprocal rank fusion (its ``k`` tuned); ``wsum`` is normalised CombSUM: min-max
normalised scores, weighted sum (weights tuned on a grid).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ranx import Qrels, fuse, optimize_fusion
from ranx import Run as RanxRun

from prosper_pyserini.data.formats import Qrels as QrelsDict
from prosper_pyserini.data.formats import Run, ranked

METHODS = {"rrf": None, "wsum": "min-max"}  # method → score normalisation
PLACEHOLDER = "__no_result__"


def _ranx_run(run: Run, qids: Sequence[str], name: str) -> RanxRun:
    # ranx needs every query in every run; a query a channel found nothing for gets one zero-score placeholder
    return RanxRun({q: dict(run.get(q) or {PLACEHOLDER: 0.0}) for q in qids}, name=name)


def tune_fusion(runs: Sequence[Run], qrels: QrelsDict, method: str, metric: str = "mrr@10",
                threshold: int = 2, step: float = 0.1) -> dict[str, Any]:
    """Fusion parameters that maximise ``metric`` on ``qrels`` (binary at ``threshold``)."""
    if method not in METHODS:
        raise ValueError(f"fusion method must be one of {', '.join(METHODS)}, not {method!r}")
    relevant = {q: {d: g for d, g in judged.items() if g >= threshold} for q, judged in qrels.items()}
    relevant = {q: judged for q, judged in relevant.items() if judged}
    qids = sorted(relevant)
    ranx_runs = [_ranx_run(run, qids, f"r{i}") for i, run in enumerate(runs)]
    kwargs: dict[str, Any] = {"step": step} if method == "wsum" else {}
    return optimize_fusion(Qrels(relevant), ranx_runs, norm=METHODS[method], method=method, metric=metric, **kwargs)


def fuse_runs(runs: Sequence[Run], method: str, params: Mapping[str, Any], k: int = 1000) -> Run:
    """Fused top-``k`` ranking for every query any channel answered."""
    qids = sorted(set().union(*(run.keys() for run in runs)))
    fused = fuse([_ranx_run(run, qids, f"r{i}") for i, run in enumerate(runs)], norm=METHODS[method],
                 method=method, params=dict(params)).to_dict()
    out: Run = {}
    for qid in qids:
        scores = {d: float(s) for d, s in fused.get(qid, {}).items() if d != PLACEHOLDER}
        out[qid] = dict(ranked(scores)[:k])
    return out
