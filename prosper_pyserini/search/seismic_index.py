"""Seismic (``pyseismic-lsr``): approximate learned-sparse retrieval with pruned, clustered, summarised postings.

Built from the collection's integer impacts, streamed in CSR batches (``SeismicDataset.add_documents_by_id``):
terms become integer components in order of first appearance, kept in ``terms.json``; queries address them by
id, and query terms the collection never holds are dropped (they score nothing). Values are the integers as
float32, so every score Seismic computes is the exact integer dot product; what it trades away is which
products it looks at (``n_postings`` per term on average, at most ``max_fraction`` times that, and the blocks
whose summary beats the running threshold, loosened by ``heap_factor``).

Defaults: tuned on Home Depot dev queries (400, PROSPER SPLADE-tiny ``recipe-selfneg``, 54,667 products of ~330
terms, top-16 query terms) for recall@1000 >= 0.99 against ``prosper-search --system exact`` at the lowest search
time, measured one query at a time on one thread of an idle machine (2026-11-30, ``benchmarks/seismic_sweep.py``
with ``--builds N:0.4:0.05``). At k = 1000 the running
threshold is low and nearly every block is scored, so time follows the postings visited (``n_postings`` times the
query terms traversed), not ``heap_factor``:

==========  =========  ===========  ==============  =========  ========
n_postings  query_cut  heap_factor  recall@1000     p50 ms     build s
==========  =========  ===========  ==============  =========  ========
12,000      16         0.8          0.998           12.9       302
2,000       16         0.8          0.995           6.7        95
2,000       10         0.8          **0.991**       **4.9**    95
2,000       8          0.8          0.987           4.7        95
1,000       16         0.8          0.979           4.9        66
==========  =========  ===========  ==============  =========  ========

(build on two threads from n_postings 2,000; the 12,000 row on one niced thread). ``query_cut`` traverses the
posting lists of the heaviest query terms only; every product found is still scored with the whole query.
Centroid fraction 0.05 and summary energy 0.4 keep the block summaries (most of the index, which lives in memory)
small: 0.1 and 0.5 gave the same recall at 1.6x the bytes.

Sparser products need richer summaries. On ``recipe-selfneg-lambda-d`` (117 terms per product, same 400 dev
queries) these defaults reach only 0.955 (query_cut 10) to 0.966 (n_postings 4,000, query_cut 16), and a lower
heap factor does not fix it (0.976 at 0.3); centroid fraction 0.1 with summary energy 0.7 does: 0.993 at
n_postings 2,000 (2.5 ms) and 0.998 at 4,000 (3.3 ms), query_cut 16, heap factor 0.8 (``--builds 2000:0.7:0.1
4000:0.7:0.1``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from prosper_pyserini.search.backend import Backend, Hits, iter_batches

INDEX_STEM = "index"  # Seismic writes index.index.seismic
TERMS = "terms.json"


@dataclass
class SeismicParams:
    n_postings: int = 2_000  # average postings kept per term
    max_fraction: float = 1.5  # a term keeps at most max_fraction * n_postings
    centroid_fraction: float = 0.05  # clusters per posting list, as a fraction of its length
    summary_energy: float = 0.4  # share of each cluster's mass its summary keeps
    heap_factor: float = 0.8  # search: a block is scored when summary > threshold * heap_factor
    query_cut: int = 10  # search: posting lists of this many heaviest query terms are traversed
    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ("heap_factor", "query_cut")


class SeismicBackend(Backend):
    name = "seismic"
    package = "pyseismic-lsr"
    module = "seismic"
    Params = SeismicParams

    def __init__(self, folder: Path, params: SeismicParams, index: Any, term_ids: dict[str, int]):
        super().__init__(folder, params)
        self.index, self.term_ids = index, term_ids
        import seismic

        self._string = seismic.get_seismic_string()

    @classmethod
    def build(cls, collection_dir: Path, folder: Path, params: SeismicParams, threads: int = 1) -> int:
        import seismic

        dataset = seismic.SeismicDataset()
        term_ids: dict[str, int] = {}
        docs = 0
        for batch in iter_batches(collection_dir):
            ids, components, values, offsets = [], [], [], [0]
            for docid, vector in batch:
                row = sorted((term_ids.setdefault(t, len(term_ids)), w) for t, w in vector.items() if w > 0)
                if not row:  # Seismic skips an empty row with its id; it can never be retrieved anyway
                    continue
                ids.append(docid)
                components.extend(c for c, _ in row)
                values.extend(w for _, w in row)
                offsets.append(len(components))
            if ids:
                docs += dataset.add_documents_by_id(
                    ids,
                    np.asarray(components, dtype=np.int64),
                    np.asarray(values, dtype=np.float32),
                    np.asarray(offsets, dtype=np.int64),
                )
        index = seismic.SeismicIndex.build_from_dataset(
            dataset,
            n_postings=params.n_postings,
            max_fraction=params.max_fraction,
            centroid_fraction=params.centroid_fraction,
            summary_energy=params.summary_energy,
            num_threads=threads,
        )
        del dataset
        index.save(str(folder / INDEX_STEM))
        terms = [""] * len(term_ids)
        for term, i in term_ids.items():
            terms[i] = term
        (folder / TERMS).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        return docs

    @classmethod
    def load(cls, folder: Path, params: SeismicParams) -> "SeismicBackend":
        import seismic

        files = sorted(folder.glob(f"{INDEX_STEM}*.seismic"))
        if not files:
            raise FileNotFoundError(f"{folder}: no {INDEX_STEM}*.seismic file")
        terms = json.loads((folder / TERMS).read_text(encoding="utf-8"))
        return cls(folder, params, seismic.SeismicIndex.load(str(files[0])), {t: i for i, t in enumerate(terms)})

    def query_arrays(self, vector: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Component ids (as Seismic's strings) and float32 weights of the query terms the collection holds."""
        items = [(self.term_ids[t], w) for t, w in vector.items() if w > 0 and t in self.term_ids]
        return (np.array([str(c) for c, _ in items], dtype=self._string), np.array([w for _, w in items], dtype=np.float32))

    def search(self, vector: Mapping[str, int], k: int) -> Hits:
        components, values = self.query_arrays(vector)
        if not len(components):
            return []
        hits = self.index.search("q", components, values, k=k, query_cut=min(self.params.query_cut, len(components)),
                                 heap_factor=self.params.heap_factor)
        return [(docid, float(round(score))) for _, score, docid in hits]

    def batch_search(self, vectors: Sequence[Mapping[str, int]], k: int, threads: int = 1) -> list[Hits]:
        arrays = [self.query_arrays(v) for v in vectors]
        live = [i for i, (c, _) in enumerate(arrays) if len(c)]
        out: list[Hits] = [[] for _ in vectors]
        if not live:
            return out
        results = self.index.batch_search(
            np.array([str(i) for i in live], dtype=self._string),
            [arrays[i][0] for i in live],
            [arrays[i][1] for i in live],
            k=k,
            query_cut=self.params.query_cut,
            heap_factor=self.params.heap_factor,
            num_threads=threads,
        )
        for hits in results:   # with several threads the lists may come back in any order: each names its query
            if hits:
                out[int(hits[0][0])] = [(docid, float(round(score))) for _, score, docid in hits]
        return out
