"""The single-query path: one text → ``{term: int}`` with nothing around the model's forward but what it needs.

:func:`~prosper_pyserini.encode.queries.encode_queries` is built for batches (progress bar, padded batch tokenizer,
a stable sort of every ``[B, V]`` row); for one query at a time those costs are a visible share of a few
milliseconds. :class:`SingleQueryEncoder` gives the same vectors (same term strings, top-k cut on float weights
with ties to the lower term index, rounding half to even) with:

* the Rust tokenizer called directly on one string (no padding, no batch conversion), checked once against the
  encoder's own batch tokenization, falling back to it when they differ;
* the forward under ``torch.inference_mode``;
* the top-k cut as ``torch.topk`` plus a stable sort of the few candidates tied at the cut, not a sort of the
  whole vocabulary; quantization of those ``k`` weights only.

:meth:`forward_only` runs just the model on pre-tokenized input: the floor the path is measured against.
"""

from __future__ import annotations

from typing import Any

import torch

from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE, TermWeights


class SingleQueryEncoder:
    """``encoder`` (a sparse PROSPER/SPLADE encoder) as a fast ``text -> {term: int}`` callable."""

    def __init__(
        self,
        encoder: Any,
        top_k: int | None = DEFAULT_QUERY_TOP_K,
        scale: float = DEFAULT_SCALE,
        weights: TermWeights | None = None,
    ):
        self.encoder = encoder.eval()
        self.top_k = top_k
        self.weights = weights or TermWeights(encoder.vocab_terms, scale)
        self.scale = self.weights.scale
        self._terms = self.weights.terms
        self._merge = self.weights.collisions > 0
        self._rust = self._rust_tokenizer()

    # -- tokenization --------------------------------------------------------------------------------------
    def _rust_tokenizer(self) -> Any:
        """The tokenizers-library object behind a fast MLM tokenizer, set to truncate as the encoder does; else None."""
        tok = self.encoder.tokenizer
        if self.encoder.config.arch == "causal" or not getattr(tok, "is_fast", False):
            return None
        rust = tok.backend_tokenizer
        try:
            import copy

            rust = copy.deepcopy(rust)  # our truncation setting must not leak into the shared tokenizer
            rust.no_padding()
            rust.enable_truncation(self.encoder.config.max_length)
        except Exception:  # an exotic tokenizer: use the encoder's own path
            return None
        for probe in ("dewalt 20v max cordless drill", "a", "x" * 4000, "Rust-Oleum 12 oz. Gloss Black Spray"):
            if rust.encode(probe).ids != self.encoder.tokenize([probe])["input_ids"][0].tolist():
                return None
        return rust

    def tokenize(self, text: str) -> dict[str, torch.Tensor]:
        if self._rust is None:
            return self.encoder.tokenize([text])
        ids = torch.tensor([self._rust.encode(text).ids], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    # -- model ---------------------------------------------------------------------------------------------
    def forward_only(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's final query weights ``[1, V]`` for a tokenized batch: the floor of :meth:`__call__`."""
        with torch.inference_mode():
            return self.encoder.represent(batch, "query")

    def __call__(self, text: str) -> dict[str, int]:
        with torch.inference_mode():
            weights = self.encoder.represent(self.tokenize(text), "query")
            return self.quantize(weights[0])

    # -- top-k and quantization ----------------------------------------------------------------------------
    def quantize(self, row: torch.Tensor) -> dict[str, int]:
        """One ``[V]`` row → ``{term: int}``, equal to ``TermWeights.int_vectors(row[None], top_k)[0]``."""
        row = row.detach().float().cpu()
        if self._merge:
            row = self.weights.merge(row[None])[0]
        if self.top_k is None or self.top_k >= row.numel():
            ids = torch.nonzero(row > 0).flatten()
        else:
            kth = torch.topk(row, self.top_k, sorted=False).values.min()
            # every term tied with the k-th weight is a candidate; a stable sort picks the lower term ids first
            candidates = torch.nonzero(row >= kth).flatten() if kth > 0 else torch.nonzero(row > 0).flatten()
            order = torch.sort(row[candidates], descending=True, stable=True).indices[: self.top_k]
            ids = candidates[order]
        impacts = torch.round(row[ids].double() * self.scale).long()
        keep = impacts > 0
        ids, impacts = ids[keep].tolist(), impacts[keep].tolist()
        return {self._terms[j]: w for j, w in zip(ids, impacts)}
