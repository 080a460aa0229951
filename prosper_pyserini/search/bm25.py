"""BM25 over a Lucene ``JsonCollection`` index, through Pyserini's ``LuceneSearcher``."""

from __future__ import annotations

from typing import Mapping

from tqdm import tqdm

from prosper_pyserini.data.formats import Run
from prosper_pyserini.java import ensure_jvm

# Pyserini's defaults for LuceneSearcher.set_bm25
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


def batched(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bm25_search(
    index_dir: str,
    queries: Mapping[str, str],
    k: int = 1000,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    threads: int = 1,
    batch_size: int = 256,
) -> Run:
    """Top-``k`` BM25 results for every query; queries with no hit get an empty ranking, not a missing key."""
    ensure_jvm()
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(index_dir)
    searcher.set_bm25(k1, b)
    run: Run = {qid: {} for qid in queries}
    qids = list(queries)
    with tqdm(total=len(qids), desc="BM25 search", unit="q") as bar:
        for chunk in batched(qids, batch_size):
            hits = searcher.batch_search([queries[q] for q in chunk], chunk, k=k, threads=threads)
            for qid in chunk:
                run[qid] = {hit.docid: float(hit.score) for hit in hits.get(qid, [])}
            bar.update(len(chunk))
    searcher.close()
    return run
