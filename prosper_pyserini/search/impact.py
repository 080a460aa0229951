"""Learned sparse retrieval over a Lucene impact index, through Pyserini's ``LuceneImpactSearcher``.

:class:`ProsperQueryEncoder` has Pyserini's ``QueryEncoder`` interface: ``encode(text) -> {term: int}`` with
the same term strings, quantization and top-k cut as ``prosper-encode``, so it plugs into
``LuceneImpactSearcher(index, query_encoder=ProsperQueryEncoder(model))`` as any Pyserini encoder does. It
does not subclass Pyserini's class (``LuceneImpactSearcher`` only calls ``encode``), so importing this module
does not start the JVM: :func:`impact_search` starts it on first use.
Pyserini's ``batch_search`` calls ``encode`` one query at a time; :func:`impact_search` first encodes all
queries in model batches (:meth:`ProsperQueryEncoder.prime`) so those calls are cache lookups.

Lucene refuses a query of more than 1,024 terms (``IndexSearcher.getMaxClauseCount()``), and Anserini's batch
search reports that only as ``queryCount = 1 is not equal to completedTaskCount = 0``; a model without a
focusing window (SPLADE-v2 on a dense-start backbone) gives queries thousands of terms, so
:func:`impact_search` raises the limit to the longest query first.
The searcher is opened with ``min_idf=-1`` by default: Pyserini's default ``0`` silently drops query terms that
occur in every document (idf = log(N/df) = 0), which would make Lucene disagree with the exact dot product.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from prosper_pyserini.data.formats import Run
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE, TermWeights
from prosper_pyserini.encode.queries import QueryVectors, encode_queries
from prosper_pyserini.java import autoclass, ensure_jvm
from prosper_pyserini.model.base import MANIFEST
from prosper_pyserini.search.bm25 import search_all


class ProsperQueryEncoder:
    """Pyserini query encoder for a PROSPER/SPLADE sparse model (or for pre-encoded query vectors)."""

    has_encoded_query = False   # Pyserini's QueryEncoder attributes

    def __init__(self, encoder: Any | None = None, *, top_k: int | None = DEFAULT_QUERY_TOP_K,
                 scale: float = DEFAULT_SCALE, batch_size: int = 64, vectors: Mapping[str, dict[str, int]] | None = None):
        self.encoder, self.top_k, self.batch_size = encoder, top_k, batch_size
        self.weights = TermWeights(encoder.vocab_terms, scale) if encoder is not None else None
        self.cache: dict[str, dict[str, int]] = dict(vectors or {})  # query text -> vector
        self.has_model = encoder is not None

    def prime(self, texts: list[str], progress: bool = True) -> None:
        """Encode ``texts`` in model batches and cache them for :meth:`encode`."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing and self.encoder is not None:
            vectors = encode_queries(self.encoder, dict(enumerate(missing)), top_k=self.top_k, weights=self.weights,
                                     batch_size=self.batch_size, progress=progress)
            self.cache.update((missing[i], vectors[i]) for i in vectors)

    def encode(self, text: str, **kwargs: Any) -> dict[str, int]:
        if text not in self.cache:
            if self.encoder is None:
                raise KeyError(f"no pre-encoded vector for query {text!r}")
            self.prime([text], progress=False)
        return self.cache[text]


def impact_search(index_dir: str, queries: Mapping[str, str], query_encoder: ProsperQueryEncoder, k: int = 1000,
                  threads: int = 1, batch_size: int = 256, min_idf: float = -1.0) -> Run:
    """Top-``k`` impact-scored results for every query (empty ranking when no query term is in the index)."""
    ensure_jvm()
    from pyserini.search.lucene import LuceneImpactSearcher

    query_encoder.prime(list(queries.values()))
    allow_query_terms(max((len(query_encoder.encode(text)) for text in queries.values()), default=0))
    searcher = LuceneImpactSearcher(index_dir, query_encoder=query_encoder, min_idf=min_idf)
    return search_all(searcher, queries, k, threads, batch_size, "impact search")


def allow_query_terms(n: int) -> None:
    """Let Lucene run queries of ``n`` terms (one clause each); the JVM-wide limit only ever goes up."""
    index_searcher = autoclass("org.apache.lucene.search.IndexSearcher")
    if n > index_searcher.getMaxClauseCount():
        index_searcher.setMaxClauseCount(n)


def accept_checkpoints_as_encoders() -> None:
    """Let Pyserini's ``LuceneImpactSearcher`` take a PROSPER checkpoint folder as its ``--encoder`` string.

    Pyserini resolves an encoder name by substrings (``unicoil``, ``splade``…) and returns None for anything
    else, which fails later as ``'NoneType' object has no attribute 'encode'``. A folder holding
    ``prosper.json`` becomes a :class:`ProsperQueryEncoder` (defaults of ``prosper-search``: top-16 query
    terms, scale 100); every other name goes to Pyserini unchanged. Starts the JVM.
    """
    ensure_jvm()
    from pyserini.search.lucene import LuceneImpactSearcher

    original = LuceneImpactSearcher._init_query_encoder_from_str
    if getattr(original, "prosper", False):
        return

    def init_query_encoder(query_encoder: str | None) -> Any:
        if query_encoder and (Path(query_encoder) / MANIFEST).is_file():
            from prosper_pyserini.model import load_encoder

            encoder = load_encoder(query_encoder)
            allow_query_terms(len(encoder.vocab_terms))   # Pyserini's searcher does not know its queries ahead
            return ProsperQueryEncoder(encoder)
        return original(query_encoder)

    init_query_encoder.prosper = True   # type: ignore[attr-defined]
    LuceneImpactSearcher._init_query_encoder_from_str = staticmethod(init_query_encoder)


def vectors_by_text(vectors: QueryVectors, queries: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Pre-encoded ``{qid: vector}`` → ``{text: vector}``, the key Pyserini's ``batch_search`` passes."""
    missing = [qid for qid in queries if qid not in vectors]
    if missing:
        raise KeyError(f"{len(missing)} queries have no pre-encoded vector, e.g. {missing[0]!r}")
    return {queries[qid]: vectors[qid] for qid in queries}
