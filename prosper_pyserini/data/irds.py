"""An ``ir_datasets`` data set (docs + queries + qrels) → prepared dataset folder.

Documents become ``{"id": doc_id, "contents": text}`` with the text of the chosen fields (default: the
data set's own ``default_text()``, e.g. title + body). Graded relevance is mapped onto 0/1/2 so that the
project's "relevant = grade 2" keeps the data set's own meaning of relevant:

* binary qrels (highest level 1, e.g. MS MARCO): 1 → 2, else 0;
* graded qrels (highest level >= 2, e.g. TREC DL 0-3): >= 2 → 2, 1 → 1, else 0 (TREC's binary cut at 2);
* or an explicit map, ``{3: 2, 2: 2, 1: 1, 0: 0}``; levels it does not name are an error.

Queries are split into train/dev by the seeded rule of ``prepared.py``.
"""

from __future__ import annotations

import os
from typing import Any, Iterator, Mapping, Sequence

from tqdm import tqdm

from prosper_pyserini.data.formats import Doc
from prosper_pyserini.data.prepared import DEFAULT_DEV_FRACTION, DEFAULT_SEED, PreparedDataset, write_prepared


def _text(record: Any, fields: Sequence[str] | None, skip: str) -> str:
    """``default_text()`` when no fields are named (ir_datasets' own choice), else the named fields."""
    if not fields:
        if hasattr(record, "default_text"):
            return " ".join(record.default_text().split())
        fields = [f for f in record._fields if f != skip and isinstance(getattr(record, f), str)]
    missing = [f for f in fields if f not in record._fields]
    if missing:
        raise ValueError(f"{type(record).__name__} has no field(s) {', '.join(missing)} (has {', '.join(record._fields)})")
    return " ".join(" ".join(str(getattr(record, f) or "").split()) for f in fields).strip()


def grade_map(levels: Sequence[int], explicit: Mapping[int, int] | None = None):
    """The function from a data set's relevance levels to our 0/1/2 (see the module docstring)."""
    if explicit is not None:
        bad = {g for g in explicit.values() if g not in (0, 1, 2)}
        if bad:
            raise ValueError(f"grades must be 0, 1 or 2, not {sorted(bad)}")

        def mapped(level: int) -> int:
            if level not in explicit:
                raise ValueError(f"relevance level {level} is not in the grade map {dict(explicit)}")
            return explicit[level]

        return mapped
    top = max(levels) if levels else 1
    if top <= 1:
        return lambda level: 2 if level >= 1 else 0
    return lambda level: 2 if level >= 2 else (1 if level == 1 else 0)


def prepare_from_irds_dataset(
    dataset: Any,
    out: str | os.PathLike[str],
    name: str,
    doc_fields: Sequence[str] | None = None,
    query_fields: Sequence[str] | None = None,
    grades: Mapping[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    dev_size: int | None = None,
) -> PreparedDataset:
    """Any object with ir_datasets' ``docs_iter``/``queries_iter``/``qrels_iter`` (+ ``qrels_defs``)."""
    for api in ("docs_iter", "queries_iter", "qrels_iter"):
        if not (hasattr(dataset, f"has_{api.split('_')[0]}") and getattr(dataset, f"has_{api.split('_')[0]}")()):
            raise ValueError(f"ir_datasets {name!r} provides no {api.split('_')[0]}; it cannot be prepared")
    queries = {q.query_id: _text(q, query_fields, "query_id") for q in dataset.queries_iter()}
    queries = {qid: text for qid, text in queries.items() if text}
    raw = [(j.query_id, j.doc_id, int(j.relevance)) for j in dataset.qrels_iter()]
    defs = dataset.qrels_defs() if hasattr(dataset, "qrels_defs") else {}
    levels = sorted(set(defs) | {rel for _, _, rel in raw})
    to_grade = grade_map(levels, grades)
    qrels: dict[str, dict[str, int]] = {}
    for qid, docid, rel in raw:
        if qid in queries:
            judged = qrels.setdefault(qid, {})
            judged[docid] = max(judged.get(docid, 0), to_grade(rel))
    orphan = sum(1 for qid, _, _ in raw if qid not in queries)

    def docs() -> Iterator[Doc]:
        total = dataset.docs_count() if hasattr(dataset, "docs_count") else None
        for doc in tqdm(dataset.docs_iter(), total=total, desc=f"{name} docs", unit=" docs", leave=False):
            text = _text(doc, doc_fields, "doc_id")
            if text:  # documents without text are left out, with their judgments (counted in the manifest)
                yield Doc(doc.doc_id, text)
            else:
                empty.append(doc.doc_id)

    empty: list[str] = []

    source = {"name": name, "kind": "ir_datasets", "doc_fields": list(doc_fields or ["default_text()"]),
              "query_fields": list(query_fields or ["default_text()"]),
              "grades": {str(level): to_grade(level) for level in levels}}
    return write_prepared(out, source=source, docs=docs(), queries=queries, qrels=qrels, seed=seed,
                          dev_fraction=dev_fraction, dev_size=dev_size,
                          stats={"qrels_of_unknown_queries": orphan, "documents_without_text": lambda: len(empty)},
                          drop_missing_products=True)


def prepare_irds(dataset_id: str, out: str | os.PathLike[str], **kwargs: Any) -> PreparedDataset:
    """``ir_datasets.load(dataset_id)`` → prepared folder (downloads go through ir_datasets' own cache)."""
    import ir_datasets

    try:
        dataset = ir_datasets.load(dataset_id)
    except KeyError:
        raise ValueError(f"unknown ir_datasets id {dataset_id!r} (see https://ir-datasets.com)") from None
    return prepare_from_irds_dataset(dataset, out, name=dataset_id, **kwargs)
