"""BM25 over a Lucene ``JsonCollection`` index, through Pyserini's ``LuceneSearcher``."""

from __future__ import annotations

from typing import Any, Mapping

from tqdm import tqdm

from prosper_pyserini.data.formats import Run
from prosper_pyserini.java import ensure_jvm

# Pyserini's defaults for LuceneSearcher.set_bm25
DEFAULT_K1 = 0.9
DEFAULT_B = 0.4


def search_all(searcher: Any, queries: Mapping[str, str], k: int, threads: int, batch_size: int, desc: str) -> Run:
    """Pyserini ``batch_search`` over every query in chunks (with progress), then close the searcher.

    Shared by BM25 and impact search; a query with no hit gets an empty ranking, not a missing key.
    """
    run: Run = {qid: {} for qid in queries}
    qids = list(queries)
    with tqdm(total=len(qids), desc=desc, unit="q") as bar:
        for start in range(0, len(qids), batch_size):
            chunk = qids[start : start + batch_size]
            hits = searcher.batch_search([queries[q] for q in chunk], chunk, k=k, threads=threads)
            for qid in chunk:
                run[qid] = {hit.docid: float(hit.score) for hit in hits.get(qid, [])}
            bar.update(len(chunk))
    searcher.close()
    return run


def bm25_search(
    index_dir: str,
    queries: Mapping[str, str],
    k: int = 1000,
    k1: float = DEFAULT_K1,
    b: float = DEFAULT_B,
    threads: int = 1,
    batch_size: int = 256,
) -> Run:
    """Top-``k`` BM25 results for every query."""
    ensure_jvm()
    from pyserini.search.lucene import LuceneSearcher

    searcher = LuceneSearcher(index_dir)
    searcher.set_bm25(k1, b)
    return search_all(searcher, queries, k, threads, batch_size, "BM25 search")
