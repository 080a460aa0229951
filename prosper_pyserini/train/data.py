"""Training examples from a prepared dataset: (query, positive) pairs and the hard negatives that join them."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

from prosper_pyserini.data.formats import InputError, Qrels, Run, ranked, read_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    qid: str
    docid: str


def examples(queries: dict[str, str], qrels: Qrels, min_grade: int) -> list[Example]:
    """Every (query, product) pair with grade ≥ ``min_grade``, in a stable order."""
    out = [Example(qid, docid) for qid in queries for docid, grade in sorted(qrels.get(qid, {}).items())
           if grade >= min_grade]
    if not out:
        raise ValueError(f"no training pairs with grade >= {min_grade}")
    return out


class HardNegatives:
    """Samples negatives per query among a run's ranks ``skip + 1 … top``, excluding docs judged relevant (grade ≥ 1).

    ``skip`` leaves the run's first ranks out: Home Depot judges about six products per query, so the top of a
    good ranking holds relevant products nobody judged, which would be trained as negatives.
    """

    def __init__(self, run: Run, qrels: Qrels, corpus: dict[str, str], top: int, seed: int, source: str | Path,
                 skip: int = 0):
        self.pool: dict[str, list[str]] = {}
        for qid, scores in run.items():
            judged = qrels.get(qid, {})
            ordered = ranked(scores)[skip:top]
            self.pool[qid] = [d for d, _ in ordered if judged.get(d, 0) < 1 and d in corpus]
        self.rng = random.Random(seed)
        covered = sum(1 for q in qrels if self.pool.get(q))
        log.info("hard negatives: %d/%d train queries have candidates in %s", covered, len(qrels), source)
        if not covered:
            raise InputError(source, None, "no query of the training qrels has hard-negative candidates")

    @classmethod
    def from_file(cls, run_path: str | Path, qrels: Qrels, corpus: dict[str, str], top: int, seed: int,
                  skip: int = 0) -> HardNegatives:
        """Negatives mined from a TREC run file (e.g. BM25 over the train queries)."""
        return cls(read_run(run_path), qrels, corpus, top, seed, run_path, skip)

    def sample(self, qid: str, n: int, fallback: list[str], judged: dict[str, int]) -> list[str]:
        """``n`` negatives; a query short of candidates gets random corpus docs not judged relevant for it."""
        pool = self.pool.get(qid, [])
        picked = self.rng.sample(pool, min(n, len(pool)))
        for _ in range(100 * n):
            if len(picked) >= n:
                break
            doc = self.rng.choice(fallback)
            if judged.get(doc, 0) < 1:
                picked.append(doc)
        return picked


def judged_negatives_run(qrels: Qrels, fallback: dict[str, dict[str, float]], max_grade: int = 0) -> dict[str, dict[str, float]]:
    """A hard-negative run of each query's own *judged* non-relevant products (grade ≤ ``max_grade``).

    Home Depot judges about six products per query; its low-grade ones are topical near misses, harder than
    a random product and, unlike BM25's top ranks, known not to be unjudged relevant ones. A query with no
    such judgment keeps its ``fallback`` ranking (e.g. BM25's), so every query still gets hard negatives.
    Used as ``data.hard_negatives.run``; :class:`HardNegatives` samples uniformly among the listed products.
    """
    run: dict[str, dict[str, float]] = {}
    for qid in sorted(set(qrels) | set(fallback)):
        judged = sorted(d for d, grade in qrels.get(qid, {}).items() if grade <= max_grade)
        if judged:
            run[qid] = {d: float(len(judged) - i) for i, d in enumerate(judged)}
        elif qid in fallback:
            run[qid] = dict(fallback[qid])
    return run
