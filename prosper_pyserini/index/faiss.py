"""Dense retrieval index: FAISS ``IndexFlatIP`` (exact inner product) with the docids beside it.

Layout of an index folder::

    index.faiss    faiss.write_index of an IndexFlatIP over the document embeddings, in corpus order
    docids.txt     one docid a line; line i is FAISS row i
    summary.json   model checksum, corpus sha256, counts, dimension

Flat (exhaustive) search is exact, so a dense run differs from a sparse run only by the model, never by
approximate search. Built with ``prosper-encode --corpus ... --model DENSE_CKPT --output indexes/NAME``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

import faiss
import numpy as np
import torch
from tqdm import tqdm

from prosper_pyserini.data.formats import Doc, InputError, OnError, SkipReport, atomic_write, read_corpus
from prosper_pyserini.encode.collection import encode_texts, file_sha256, length_sorted_batches


def embed(encoder: Any, texts: Sequence[str], side: str) -> np.ndarray:
    out = encode_texts(encoder, list(texts), side)
    array = out.detach().float().cpu().numpy() if isinstance(out, torch.Tensor) else np.asarray(out, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"dense encoder returned shape {array.shape}, expected [B, H]")
    return np.ascontiguousarray(array, dtype=np.float32)


def build_faiss_index(encoder: Any, corpus: str | os.PathLike[str], output: str | os.PathLike[str], *,
                      model_name: str, batch_size: int = 32, on_error: OnError = "raise",
                      text_fields: Sequence[str] | None = None) -> dict[str, Any]:
    """Embed every product of ``corpus`` (``side="doc"``) into a flat inner-product index at ``output``."""
    folder = Path(output)
    report = SkipReport(str(corpus))
    docs: list[Doc] = list(read_corpus(corpus, text_fields=text_fields, on_error=on_error, report=report))
    if not docs:
        raise InputError(corpus, None, "no products to encode")
    started = time.perf_counter()
    rows: list[np.ndarray | None] = [None] * len(docs)
    with tqdm(total=len(docs), desc=f"dense encoding {folder.name}", unit="doc") as bar:
        for batch in length_sorted_batches(docs, batch_size, getattr(encoder, "tokenizer", None)):
            for i, vector in zip(batch, embed(encoder, [docs[i].text for i in batch], side="doc")):
                rows[i] = vector
            bar.update(len(batch))
    matrix = np.stack(rows)  # type: ignore[arg-type]
    if not np.isfinite(matrix).all():
        raise ValueError("the dense encoder produced NaN or infinite values")
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".index.faiss.tmp"
    faiss.write_index(index, str(tmp))
    os.replace(tmp, folder / "index.faiss")
    with atomic_write(folder / "docids.txt") as out:
        out.writelines(doc.id + "\n" for doc in docs)
    summary = {
        "model": model_name, "model_checksum": str(encoder.checksum()), "corpus": str(corpus),
        "corpus_sha256": file_sha256(corpus), "products_indexed": len(docs), "dimension": int(matrix.shape[1]),
        "corpus_lines_skipped": report.total, "corpus_skip_reasons": dict(report.reasons),
        "encode_seconds": round(time.perf_counter() - started, 2),
    }
    with atomic_write(folder / "summary.json") as out:
        json.dump(summary, out, indent=2, ensure_ascii=False)
    return summary


def load_faiss_index(folder: str | os.PathLike[str]) -> tuple[Any, list[str]]:
    """The FAISS index and its docids; their counts must agree."""
    folder = Path(folder)
    for name in ("index.faiss", "docids.txt"):
        if not (folder / name).is_file():
            raise InputError(folder / name, None, "missing; build the index with prosper-encode and a dense model")
    index = faiss.read_index(str(folder / "index.faiss"))
    docids = (folder / "docids.txt").read_text(encoding="utf-8").splitlines()
    if index.ntotal != len(docids):
        raise InputError(folder, None, f"index.faiss has {index.ntotal} rows but docids.txt {len(docids)} lines")
    return index, docids
