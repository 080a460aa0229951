"""Bulk files that load a sealed collection into an engine this machine cannot run: Milvus bulk import, and the
``_bulk`` NDJSON of OpenSearch and Elasticsearch, each with the mapping or schema to create first.

Every value is checked against the target's documented limits before a byte is written, at the collection's
FILE:LINE: Milvus takes integer term ids with float32 weights (exact below 2**24); OpenSearch ``rank_features``
and Elasticsearch ``sparse_vector`` keep 9 significant bits of a strictly positive weight (every integer impact
below 512 is exact; 513 would become 512), and Elasticsearch refuses keys with a dot. Keys are the model's term
ids (``keys="ids"``) or the term strings (``keys="tokens"``). The output folder is written whole or not at all.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

from prosper_pyserini.data.formats import InputError, replace_dir
from prosper_pyserini.encode.parts import read_vector_lines
from prosper_pyserini.export.milvus import ID_MAX_LENGTH, MAX_EXACT_IMPACT, collection_record

Target = Literal["milvus-bulk", "opensearch", "elasticsearch"]
Keys = Literal["ids", "tokens"]
SIGNIFICANT_BITS = 9                     # Lucene's FeatureField keeps 9 significant bits of a weight
MAX_EXACT_FEATURE = 2**SIGNIFICANT_BITS  # every integer weight below this survives exactly
TARGETS: tuple[Target, ...] = ("milvus-bulk", "opensearch", "elasticsearch")


def feature_problem(term: str, impact: int, target: Target, key: str) -> str | None:
    """Why one ``term: impact`` pair, written under ``key``, cannot go to ``target`` exactly, or None."""
    if isinstance(impact, bool) or not isinstance(impact, int) or impact < 1:
        return f"impact {impact!r} of {term!r} is not a positive integer"
    if target == "milvus-bulk":
        return None if impact < MAX_EXACT_IMPACT else f"impact {impact} of {term!r} is not exact in float32"
    if impact >= MAX_EXACT_FEATURE:
        return (f"impact {impact} of {term!r} keeps only {SIGNIFICANT_BITS} significant bits in {target} (integers "
                f"below {MAX_EXACT_FEATURE} are exact); encode with a smaller --scale")
    if target == "elasticsearch" and "." in key:
        return f"key {key!r} holds a dot, which an Elasticsearch sparse_vector key may not; use --keys ids"
    if not key:
        return "an empty key"
    return None


def mapping(target: Target, index: str) -> dict[str, Any]:
    """What to create before loading: a Milvus schema, or an index mapping with a sample query."""
    if target == "milvus-bulk":
        return {"collection": index, "fields": [
            {"name": "id", "type": "VARCHAR", "is_primary": True, "max_length": ID_MAX_LENGTH},
            {"name": "vec", "type": "SPARSE_FLOAT_VECTOR"}],
            "index": {"field": "vec", "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"},
            "search_params": {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}}
    if target == "opensearch":
        return {"index": index, "mappings": {"properties": {"vec": {"type": "rank_features"}}},
                "query": {"neural_sparse": {"vec": {"query_tokens": {"TERM": 1.0}}}}}
    return {"index": index, "mappings": {"properties": {"vec": {"type": "sparse_vector",
                                                                "index_options": {"prune": False}}}},
            "query": {"sparse_vector": {"field": "vec", "query_vector": {"TERM": 1.0}, "prune": False}}}


def _milvus_line(doc_id: str, vector: Mapping[str, float], index: str) -> str:
    return json.dumps({"id": doc_id, "vec": vector}, ensure_ascii=False)


def _action_lines(doc_id: str, vector: Mapping[str, float], index: str) -> str:
    action = json.dumps({"index": {"_index": index, "_id": doc_id}}, ensure_ascii=False)
    return action + "\n" + json.dumps({"vec": vector}, ensure_ascii=False)


WRITERS: dict[Target, tuple[str, Callable[[str, Mapping[str, float], str], str]]] = {
    "milvus-bulk": (".json", _milvus_line), "opensearch": (".ndjson", _action_lines),
    "elasticsearch": (".ndjson", _action_lines)}


def write_bulk(collection_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str], target: Target,
               index: str, ids: Mapping[str, int], keys: Keys = "ids") -> dict[str, Any]:
    """Write ``target``'s bulk files for a sealed collection into ``out_dir`` (one file per collection part).

    Milvus files are JSON arrays of rows (``{"id", "vec": {"101": 12.0}}``); OpenSearch and Elasticsearch files
    are ``_bulk`` NDJSON (an action line, then the document). ``mapping.json`` says what to create first and
    ``prosper-export.json`` records the collection, model checksum and counts.

    Raises:
        InputError: at the collection's FILE:LINE, for the first value the target cannot hold exactly.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if target == "milvus-bulk" and keys != "ids":
        raise ValueError("Milvus sparse vectors are keyed by integer ids: --keys ids")
    record = collection_record(collection_dir)
    suffix, line_of = WRITERS[target]
    out = Path(out_dir)
    building = out.with_name(f".{out.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)   # a leftover of this pid's earlier, interrupted write
    building.mkdir(parents=True)
    files: dict[str, int] = {}
    handle, current = None, None
    try:
        for path, number, doc_id, vector in read_vector_lines(collection_dir):
            if not doc_id or len(doc_id.encode("utf-8")) > ID_MAX_LENGTH:
                raise InputError(path, number, f"product id {doc_id!r} is empty or longer than {ID_MAX_LENGTH} bytes")
            if not vector:
                raise InputError(path, number, f"product {doc_id!r} has an empty vector, which {target} rejects")
            doc: dict[str, float] = {}
            for term, impact in vector.items():
                if term not in ids:
                    raise InputError(path, number, f"term {term!r} is not in the model's vocabulary")
                key = str(ids[term]) if keys == "ids" else term
                if problem := feature_problem(term, impact, target, key):
                    raise InputError(path, number, problem)
                doc[key] = float(impact)
            if path.name != current:
                if handle is not None:
                    handle.write("\n]\n" if suffix == ".json" else "")
                    handle.close()
                current = path.name
                handle = open(building / (Path(path.name).stem + suffix), "w", encoding="utf-8")
                handle.write("[\n" if suffix == ".json" else "")
                files[current] = 0
            elif suffix == ".json":
                handle.write(",\n")
            handle.write(line_of(doc_id, doc, index) + ("" if suffix == ".json" else "\n"))
            files[current] += 1
        if handle is not None:
            handle.write("\n]\n" if suffix == ".json" else "")
            handle.close()
            handle = None
        summary = {**record, "target": target, "index": index, "keys": keys, "collection": str(collection_dir),
                   "documents": sum(files.values()), "files": {Path(n).stem + suffix: c for n, c in files.items()}}
        (building / "mapping.json").write_text(json.dumps(mapping(target, index), indent=2) + "\n", encoding="utf-8")
        (building / "prosper-export.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        replace_dir(building, out, out.with_name(f".{out.name}.old-{os.getpid()}"))
    finally:
        if handle is not None:
            handle.close()
        shutil.rmtree(building, ignore_errors=True)
    return summary
