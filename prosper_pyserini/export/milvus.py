"""A sealed collection in Milvus, and searched there: the embedded engine (a local ``.db`` file, ``milvus-lite``
2.5, Milvus's own C++ core) and a cluster (``http://host:19530``) through the same ``MilvusClient`` code.

A load is all or nothing for its readers: rows go into collection ``NAME``, and only once every product is in,
counted, indexed and loaded does a small marker collection ``NAME__prosper_sealed`` appear, whose description
records the model checksum and the collection's seal (the embedded engine has no rename or alias to swap a
finished collection into place). A search refuses ``NAME`` without its marker, so an interrupted load is never
searched as a whole one; the next load drops it and starts clean. A second load of the same vectors is a no-op,
one of other vectors under the same name is refused unless asked to replace it, and a search with another
model's queries is refused, as a Lucene index's ``prosper-index.json`` makes ``prosper-search`` do.

Impacts go in as float32, which holds every integer below 2**24 exactly, so Milvus's inner products equal the
exact integer scores (``drop_ratio_search`` 0: no query term is dropped).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from prosper_pyserini.data.formats import InputError, Run
from prosper_pyserini.encode.parts import check_sealed, metadata_path, read_vectors

TOKEN_ENV = "MILVUS_TOKEN"          # a cluster's token comes from the environment, never from a flag
CONNECT_TIMEOUT_S = 5.0
SEALED = "__prosper_sealed"         # suffix of the marker collection a finished load creates
DESCRIPTION = "prosper-pyserini "   # prefix of the description of every collection a load creates
INSERT_ROWS = 2_000                 # rows per insert request (Milvus caps a request at 64 MB)
ID_MAX_LENGTH = 512                 # VARCHAR primary key
MAX_EXACT_IMPACT = 2**24            # float32 holds every integer below this exactly
MAX_TOP_K = 16_384                  # Milvus's largest search limit


class MilvusError(RuntimeError):
    """Milvus cannot be reached, or holds something other than what was asked for; one line says which."""


def connect(uri: str) -> Any:
    """A ``MilvusClient`` for a local ``.db`` file (created if absent) or a cluster URI (token: ``$MILVUS_TOKEN``).

    Raises:
        MilvusError: within :data:`CONNECT_TIMEOUT_S` when nothing answers at ``uri``.
    """
    remote = uri.startswith(("http://", "https://", "tcp://", "grpc://"))
    if not remote:
        if not uri.endswith(".db"):
            raise MilvusError(f"{uri}: a local Milvus file must end in .db (or give a cluster URI, http://host:19530)")
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise MilvusError(f"Milvus needs pymilvus and milvus-lite 2.5 (pip install -e '.[milvus]'): {exc}") from None
    try:
        return MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""), timeout=CONNECT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001  (pymilvus raises its own MilvusException, grpc errors and OSError)
        raise MilvusError(f"{uri}: cannot reach Milvus ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def term_ids(vocab_terms: Iterable[str]) -> dict[str, int]:
    """``{term: id}``: positions in the model's Lucene-safe term list, as the quantiser numbers them."""
    from prosper_pyserini.encode.quantize import TermWeights

    return {term: j for j, term in enumerate(TermWeights(list(vocab_terms)).terms)}


def collection_record(collection_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What identifies a sealed collection: its model checksum, the SHA-256 of its sealed parts, its size."""
    check_sealed(collection_dir)
    summary_path = metadata_path(collection_dir, "summary")
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    if not summary.get("part_records") or not summary.get("model_checksum"):
        raise InputError(collection_dir, None, "not a collection sealed by prosper-encode (no parts recorded in "
                                               f"{summary_path.name}); encode it with prosper-encode first")
    seal = hashlib.sha256(json.dumps(summary["part_records"], sort_keys=True).encode()).hexdigest()
    return {"format": 1, "model_checksum": str(summary["model_checksum"]), "collection_sha256": seal,
            "products": int(summary["products_indexed"])}


def milvus_row(doc_id: str, vector: Mapping[str, int], ids: Mapping[str, int], where: str) -> dict[str, Any]:
    """One row ``{"id", "vec": {term id: float impact}}``, checked as a cluster would check it (milvus-lite
    accepts empty, zero and negative vectors that a cluster rejects).

    Raises:
        InputError: naming ``where`` (the collection) and the product.
    """
    if not doc_id or len(doc_id.encode("utf-8")) > ID_MAX_LENGTH:
        raise InputError(where, None, f"product id {doc_id!r} is empty or longer than {ID_MAX_LENGTH} bytes")
    if not vector:
        raise InputError(where, None, f"product {doc_id!r} has an empty vector, which Milvus rejects")
    row: dict[int, float] = {}
    for term, impact in vector.items():
        if term not in ids:
            raise InputError(where, None, f"product {doc_id!r}: term {term!r} is not in the model's vocabulary "
                                          "(encoded by another model?)")
        if isinstance(impact, bool) or not isinstance(impact, int) or not 0 < impact < MAX_EXACT_IMPACT:
            raise InputError(where, None, f"product {doc_id!r}: impact {impact!r} of {term!r} is not an integer "
                                          f"from 1 to {MAX_EXACT_IMPACT - 1} (float32 would round it)")
        row[ids[term]] = float(impact)
    return {"id": doc_id, "vec": row}


def _description(client: Any, name: str) -> str | None:
    """Collection ``name``'s description, or None when there is no such collection."""
    return (client.describe_collection(name).get("description") or "") if client.has_collection(name) else None


def loaded_record(client: Any, name: str) -> dict[str, Any] | None:
    """The record of a finished load of collection ``name`` (its marker's description), or None: no finished load."""
    description = _description(client, name + SEALED)
    if not description or not description.startswith(DESCRIPTION):
        return None
    try:
        return json.loads(description[len(DESCRIPTION):])
    except json.JSONDecodeError:
        return None


def _create(client: Any, name: str) -> None:
    """Collection ``name`` (id, sparse ``vec``, an inner-product inverted index) marked as made by a load."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False, description=DESCRIPTION + "rows")
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_MAX_LENGTH)
    schema.add_field("vec", DataType.SPARSE_FLOAT_VECTOR)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_name="vec", index_type="SPARSE_INVERTED_INDEX", metric_type="IP",
                    params={"inverted_index_algo": "DAAT_MAXSCORE"})
    client.create_collection(name, schema=schema, index_params=index)


def _seal(client: Any, name: str, record: dict[str, Any]) -> None:
    """The marker that says collection ``name`` is whole: a collection of no rows whose description is the record."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False,
                                  description=DESCRIPTION + json.dumps(record, sort_keys=True))
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name + SEALED, schema=schema)


def load_collection(collection_dir: str | os.PathLike[str], uri: str, name: str, ids: Mapping[str, int],
                    model_checksum: str, replace: bool = False) -> dict[str, Any]:
    """Load a sealed collection into Milvus collection ``name`` (see the module docstring).

    Args:
        ids: the model's term ids (:func:`term_ids`).
        model_checksum: the model's; it must be the one that encoded the collection.
        replace: load over an existing collection of other vectors instead of refusing.

    Returns:
        ``{"collection", "uri", "reused", ...}`` and the record stored in Milvus.
    """
    record = collection_record(collection_dir)
    if record["model_checksum"] != str(model_checksum):
        raise MilvusError(f"{collection_dir} was encoded by another model (checksum {record['model_checksum'][:12]}…, "
                          f"the model given is {str(model_checksum)[:12]}…)")
    client = connect(uri)
    found, description = loaded_record(client, name), _description(client, name)
    if found == record and description is not None:
        client.load_collection(name)
        return {"collection": name, "uri": uri, "reused": True, **record}
    interrupted = found is None and description is not None and description.startswith(DESCRIPTION)
    if description is not None and not interrupted and not replace:
        what = "loaded from other vectors" if found else "not loaded by prosper-export"
        raise MilvusError(f"{uri}: collection {name!r} already exists ({what}); give another --collection, or "
                          "--replace to load these vectors in its place")
    for stale in (name + SEALED, name):   # the marker first: from here on no reader takes NAME for whole
        if client.has_collection(stale):
            client.drop_collection(stale)
    rows = (milvus_row(doc_id, vector, ids, str(collection_dir)) for doc_id, vector in read_vectors(collection_dir))
    count = fill_collection(client, name, rows)
    if count != record["products"]:
        raise MilvusError(f"{uri}: {count} rows arrived in {name!r} for {record['products']} products; not sealed")
    _seal(client, name, record)
    return {"collection": name, "uri": uri, "reused": False, **record}


def fill_collection(client: Any, name: str, rows: Iterable[dict[str, Any]]) -> int:
    """Create collection ``name``, insert ``rows`` in requests of :data:`INSERT_ROWS`, flush, index and load it.

    Returns:
        The row count Milvus reports once flushed (the caller compares it with what it sent).
    """
    _create(client, name)
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_ROWS:
            client.insert(name, batch)
            batch = []
    if batch:
        client.insert(name, batch)
    client.flush(name)
    client.load_collection(name)
    return int(client.get_collection_stats(name)["row_count"])


def search_vectors(client: Any, name: str, vectors: list[dict[int, float]], k: int) -> list[list[tuple[str, float]]]:
    """Each query vector's (id, score) hits, best first: inner product, every query term kept."""
    params = {"metric_type": "IP", "params": {"drop_ratio_search": 0.0}}
    hits = client.search(name, data=vectors, anns_field="vec", limit=k, search_params=params)
    return [[(str(hit["id"]), float(hit["distance"])) for hit in found] for found in hits]


def holds(uri: str, name: str, loaded: Mapping[str, Any]) -> bool:
    """Whether collection ``name`` at ``uri`` still holds what a load reported (``loaded``: its return value)."""
    client = connect(uri)
    if not client.has_collection(name):
        return False
    record = loaded_record(client, name)
    return record is not None and all(loaded.get(key) == value for key, value in record.items())


def search_collection(uri: str, name: str, queries: Mapping[str, Mapping[str, int]], ids: Mapping[str, int],
                      k: int = 1000, model_checksum: str | None = None, batch_size: int = 32) -> Run:
    """``{qid: {product id: score}}``: each query's top ``k`` by inner product, every query term kept.

    Raises:
        MilvusError: no such collection, one loaded from another model's vectors, or ``k`` above Milvus's limit.
    """
    if not 1 <= k <= MAX_TOP_K:
        raise MilvusError(f"k must be from 1 to {MAX_TOP_K} for Milvus, not {k}")
    client = connect(uri)
    if not client.has_collection(name):
        raise MilvusError(f"{uri}: no collection {name!r}; load one with prosper-export milvus")
    record = loaded_record(client, name)
    if record is None:
        raise MilvusError(f"{uri}: collection {name!r} is not a finished prosper-export load (interrupted, or made "
                          "elsewhere); load it with prosper-export milvus")
    if model_checksum is not None and record["model_checksum"] != str(model_checksum):
        raise MilvusError(f"{uri}: collection {name!r} holds another model's vectors "
                          f"(checksum {record['model_checksum'][:12]}…); search it with that model")
    client.load_collection(name)
    run: Run = {qid: {} for qid in queries}
    asked = [(qid, {ids[t]: float(w) for t, w in vector.items() if t in ids and w > 0})
             for qid, vector in queries.items()]
    asked = [(qid, vector) for qid, vector in asked if vector]   # an empty query matches nothing
    for start in range(0, len(asked), batch_size):
        batch = asked[start:start + batch_size]
        for (qid, _), found in zip(batch, search_vectors(client, name, [vector for _, vector in batch], k)):
            run[qid] = dict(found)
    return run
