"""Retrieval metrics through ranx, with the conventions product search needs spelled out.

* **Which queries count.** Every mean is over the qrels queries that have at least one doc graded
  ``>= threshold`` (default 2, the Home Depot convention). A query the run lacks scores 0 and is counted
  (``EvalResults.missing``); run queries not in that set are ignored and counted by ``validate``.
* **Binary vs graded.** Hit@K, MRR@K, Recall@K (and any other ranx metric except (n)DCG) count a doc as
  relevant only if its grade is ``>= threshold``: we ask ranx for ``"<metric>-l<threshold>"``. nDCG uses
  the grades themselves as gains (ranx ``ndcg``: Järvelin linear gain, rel_lvl 1, so grade 1 counts 1 and
  grade 2 counts 2); ``ndcg_burges`` gives the ``2^g - 1`` variant.
* **Ties.** ranx orders equal scores arbitrarily; we first re-score each query's list by its rank after
  sorting by (score descending, docid descending) — trec_eval's order, which ``formats.write_run`` writes —
  so results are deterministic and equal trec_eval's on any run, tied or not (``tests/test_trec_eval_parity.py``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from prosper_pyserini.data.formats import Qrels, Run, ranked
from prosper_pyserini.eval.validate import ValidationReport, evaluated_queries, load_qrels, load_run, system_name

DEFAULT_METRICS = ["hit@1", "hit@10", "hit@100", "hit@1000", "mrr@10", "recall@100", "recall@1000", "ndcg@10"]
GRADED = {"ndcg", "ndcg_burges", "dcg", "dcg_burges"}
_ALIASES = {"hit": "hit_rate", "success": "hit_rate", "r": "recall", "rr": "mrr"}
_LABELS = {"hit_rate": "Hit", "mrr": "MRR", "recall": "R", "ndcg": "nDCG", "ndcg_burges": "nDCG(2^g-1)",
           "precision": "P", "map": "MAP", "dcg": "DCG", "f1": "F1", "r-precision": "R-Prec", "hits": "Hits"}
# trec_eval measure → ours (its MRR has no cutoff: recip_rank is mrr over the whole list)
TREC_EVAL_NAMES = {"success": "hit", "recip_rank": "mrr", "ndcg_cut": "ndcg", "recall": "recall", "p": "precision",
                   "map": "map", "map_cut": "map", "ndcg": "ndcg", "rprec": "r-precision"}
_TREC_SPEC = re.compile(r"^(?P<name>[A-Za-z_]+)(?:\.(?P<k>\d+))?$")
_SPEC = re.compile(r"^(?P<name>[a-z_\-]+?)(?:@(?P<k>\d+))?(?:-l(?P<lvl>\d+))?$")


@dataclass(frozen=True)
class Metric:
    """A user-facing metric name with the ranx string that computes it."""

    name: str  # as the user wrote it, normalised: "hit@10"
    ranx: str  # "hit_rate@10-l2"
    label: str  # table header: "Hit@10"

    @staticmethod
    def parse(spec: str, threshold: int) -> "Metric":
        """Our names (``hit@10``, ``mrr@10``, ``ndcg@10``, ``recall@100-l1``) or trec_eval's (``success.10``,
        ``recip_rank``, ``ndcg_cut.10``, ``recall.1000``, ``P.10``, ``map``)."""
        spec = trec_eval_name(spec)
        match = _SPEC.match(spec.strip().lower())
        if not match:
            raise ValueError(f"unknown metric {spec!r}; use e.g. hit@10, mrr@10, recall@100, ndcg@10")
        base = _ALIASES.get(match["name"], match["name"])
        k, lvl = match["k"], match["lvl"]
        if k is not None and int(k) < 1:   # ranx would divide by it, or count nothing
            raise ValueError(f"metric {spec!r}: the cutoff must be at least 1")
        if lvl is None and base not in GRADED:
            lvl = str(threshold)
        ranx_name = base + (f"@{k}" if k else "") + (f"-l{lvl}" if lvl is not None else "")
        try:
            from ranx.meta.evaluate import extract_metric_and_params
            from ranx.metrics import metric_switch

            metric_switch(extract_metric_and_params(ranx_name)[0])
        except ValueError as exc:
            raise ValueError(f"unknown metric {spec!r}: {exc}") from None
        label = _LABELS.get(base, base) + (f"@{k}" if k else "")
        if match["lvl"] is not None:
            label += f" (≥{lvl})"
        name = spec.strip().lower()
        return Metric(name, ranx_name, label)


@dataclass
class EvalResults:
    """Everything the tables, plots and report show: means, per-query scores, p-values, validation."""

    systems: list[str]
    metrics: list[Metric]
    threshold: int
    qids: list[str]  # evaluated queries, sorted
    means: dict[str, dict[str, float]]  # system -> metric name -> mean
    per_query: dict[str, dict[str, dict[str, float]]]  # system -> metric name -> qid -> score
    first_relevant: dict[str, dict[str, int]]  # system -> qid -> rank of first relevant doc (0: none)
    missing: dict[str, int]  # system -> evaluated queries absent from its run
    stat_test: str = "student"
    p_values: dict[str, dict[tuple[str, str], float]] = field(default_factory=dict)  # metric -> (a, b) -> p
    validation: list[ValidationReport] = field(default_factory=list)
    significance: object | None = None  # significance.Significance, when a baseline was given

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if name.lower() in (metric.name, metric.ranx, metric.label.lower()):
                return metric
        raise KeyError(f"metric {name!r} was not computed (have: {', '.join(m.name for m in self.metrics)})")

    def hit_curve(self, system: str, max_k: int = 1000) -> np.ndarray:
        """Hit@K for K = 1..max_k (index K-1), from the rank of the first relevant doc per query."""
        ranks = np.array([self.first_relevant[system].get(q, 0) for q in self.qids])
        found = ranks[ranks > 0]
        counts = np.bincount(np.minimum(found, max_k + 1), minlength=max_k + 2)[1 : max_k + 1]
        return np.cumsum(counts) / len(self.qids)


def trec_eval_name(spec: str) -> str:
    """``success.10`` → ``hit@10``, ``recip_rank`` → ``mrr``, ``ndcg_cut.10`` → ``ndcg@10``; other names unchanged."""
    match = _TREC_SPEC.match(spec.strip())
    if not match or match["name"].lower() not in TREC_EVAL_NAMES or ("@" in spec):
        return spec
    name = TREC_EVAL_NAMES[match["name"].lower()]
    return name + (f"@{match['k']}" if match["k"] else "")


def rank_order(scores: Mapping[str, float]) -> list[str]:
    """Doc ids in :func:`~prosper_pyserini.data.formats.ranked` order."""
    return [doc for doc, _ in ranked(scores)]


def deterministic(run: Run, qids: Sequence[str]) -> dict[str, dict[str, float]]:
    """The run restricted to ``qids`` (absent ones empty), scores replaced by ``n - rank`` so nothing ties."""
    out: dict[str, dict[str, float]] = {}
    for qid in qids:
        order = rank_order(run.get(qid, {}))
        out[qid] = {doc: float(len(order) - i) for i, doc in enumerate(order)}
    return out


def evaluate_runs(
    runs: Mapping[str, Run],
    qrels: Qrels,
    metrics: Sequence[str] = DEFAULT_METRICS,
    relevance_threshold: int = 2,
    stat_test: str = "student",
    n_permutations: int = 1000,
) -> EvalResults:
    """Evaluate named runs with ranx; paired p-values for every pair of systems come along (``ranx.compare``).

    ``runs`` maps a system name to ``{qid: {docid: score}}``; ``qrels`` maps ``{qid: {docid: grade}}``.
    Significance marks against a baseline are :func:`prosper_pyserini.eval.significance.mark_significance`'s job.
    """
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import compare

    if not runs:
        raise ValueError("no runs to evaluate")
    parsed = [Metric.parse(m, relevance_threshold) for m in metrics]
    qids = evaluated_queries(qrels, relevance_threshold)
    if not qids:
        raise ValueError(f"no qrels query has a doc with grade >= {relevance_threshold}")
    ranx_qrels = RanxQrels.from_dict({q: dict(qrels[q]) for q in qids})
    ranx_runs, first_relevant, missing = [], {}, {}
    for name, run in runs.items():
        fixed = deterministic(run, qids)
        missing[name] = sum(1 for q in qids if not run.get(q))
        present = {q: docs for q, docs in fixed.items() if docs}
        ranx_run = RanxRun.from_dict(present, name=name)
        ranx_run.make_comparable(ranx_qrels)  # empty results for missing queries: they score 0
        ranx_runs.append(ranx_run)
        first_relevant[name] = {}
        for q in qids:
            judged = qrels[q]  # fixed[q] is in rank order (dicts keep insertion order)
            first_relevant[name][q] = next(
                (i for i, d in enumerate(fixed[q], 1) if judged.get(d, 0) >= relevance_threshold), 0
            )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")  # numba note about ranx's doc-id hashes
        # scipy's t-test warns when all per-query differences are equal; the p-value (0 or 1) is still right
        warnings.filterwarnings("ignore", message=".*[Pp]recision loss.*")
        report = compare(
            ranx_qrels,
            ranx_runs,
            [m.ranx for m in parsed],
            stat_test=stat_test,
            n_permutations=n_permutations,
            max_p=1.0,  # significance is decided later, after multiple-testing correction
        )
    means = {name: {m.name: float(report.results[name][m.ranx]) for m in parsed} for name in runs}
    per_query = {
        run.name: {m.name: {q: float(run.scores[m.ranx][q]) for q in qids} for m in parsed} for run in ranx_runs
    }
    p_values: dict[str, dict[tuple[str, str], float]] = {m.name: {} for m in parsed}
    names = list(runs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for m in parsed:
                p = float(report.comparisons[a, b][m.ranx]["p_value"])
                p_values[m.name][(a, b)] = p_values[m.name][(b, a)] = 1.0 if np.isnan(p) else p
    results = EvalResults(
        systems=names,
        metrics=parsed,
        threshold=relevance_threshold,
        qids=qids,
        means=means,
        per_query=per_query,
        first_relevant=first_relevant,
        missing=missing,
        stat_test=stat_test,
        p_values=p_values,
    )
    return results


class RunNameError(ValueError):
    """Two run files with one name: systems are named by file stem, so they would overwrite each other."""


def evaluate_files(
    run_paths: Sequence[str],
    qrels_path: str,
    metrics: Sequence[str] = DEFAULT_METRICS,
    threshold: int = 2,
    stat_test: str = "student",
    permutations: int = 1000,
) -> tuple[EvalResults, dict[str, Run], Qrels]:
    """Read, validate and evaluate run files; systems are named by file stem (which must be unique)."""
    names = [system_name(p) for p in run_paths]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RunNameError(f"run files must have distinct names (stems), repeated: {', '.join(dupes)}")
    qrels, qrels_report = load_qrels(qrels_path, threshold)
    qids = evaluated_queries(qrels, threshold)
    runs: dict[str, Run] = {}
    reports = [qrels_report]
    for name, path in zip(names, run_paths, strict=True):
        runs[name], report = load_run(path, qrels, qids)
        reports.append(report)
    results = evaluate_runs(runs, qrels, metrics, threshold, stat_test=stat_test, n_permutations=permutations)
    results.validation = reports
    return results, runs, qrels
