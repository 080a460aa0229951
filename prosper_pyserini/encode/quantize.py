"""Float term weights → the integer impacts a Lucene impact index stores.

Anserini reads each ``JsonVectorCollection`` weight with ``asInt()`` (it truncates floats) and stores it as a
term frequency; a query weight is an integer boost. So we quantize ourselves, on both sides, with the same
rule: ``q = round(w * scale)`` (round half to even), and drop every term whose ``q <= 0`` -- a zero impact
is not indexable and a negative one cannot be represented.

``DEFAULT_SCALE = 100`` is Anserini's convention for SPLADE (two decimal digits). With it, a Lucene score is
an exact integer ``sum(q_query * q_doc)``: as long as that sum stays below 2**24, float32 accumulation in
Lucene loses nothing, and integer scores can be compared exactly with :mod:`prosper_pyserini.search.exact`.
How little scale 100 changes rankings is pinned by
``tests/test_search_impact.py::test_quantized_ranking_agrees_with_float_ranking`` (top-10 overlap with
float scoring ≥ 0.95).
"""

from __future__ import annotations

from typing import Sequence

import torch

from prosper_pyserini.encode.parts import MAX_IMPACT
from prosper_pyserini.encode.terms import lucene_terms

DEFAULT_SCALE = 100.0
DEFAULT_QUERY_TOP_K = 16


class TermWeights:
    """Turns ``[B, V]`` weight tensors into ``{term: int}`` maps over Lucene-safe terms.

    Vocabulary ids whose terms collide (see :mod:`.terms`) are merged by max before anything else.
    """

    def __init__(self, vocab_terms: Sequence[str], scale: float = DEFAULT_SCALE):
        if not scale > 0:
            raise ValueError(f"quantization scale must be > 0, not {scale}")
        per_id = lucene_terms(vocab_terms)
        self.scale = float(scale)
        self.terms: list[str] = list(dict.fromkeys(per_id))  # unique terms, first-seen order
        position = {term: j for j, term in enumerate(self.terms)}
        self.term_of_id = torch.tensor([position[t] for t in per_id], dtype=torch.long)
        self.collisions = len(per_id) - len(self.terms)

    def merge(self, weights: torch.Tensor, keep_device: bool = False) -> torch.Tensor:
        """``[B, V]`` → ``[B, T]`` (T unique terms), colliding ids merged by max; on the CPU unless ``keep_device``."""
        weights = weights.detach().float()
        weights = weights if keep_device else weights.cpu()
        if weights.dim() != 2 or weights.shape[1] != len(self.term_of_id):
            raise ValueError(f"expected weights of shape [B, {len(self.term_of_id)}], got {tuple(weights.shape)}")
        if not self.collisions:
            return weights
        index = self.term_of_id.to(weights.device).expand_as(weights)
        out = torch.full((weights.shape[0], len(self.terms)), float("-inf"), device=weights.device)
        return out.scatter_reduce(1, index, weights, reduce="amax", include_self=True)

    def dense_impacts(self, weights: torch.Tensor, top_k: int | None = None) -> torch.Tensor:
        """``[B, V]`` → ``[B, T]`` float64 impacts, 0 where :meth:`int_vectors` keeps no term; on ``weights``' device.

        The same integers as :meth:`int_vectors` (same merge, top-k cut and rounding), as a dense matrix a GPU
        multiplies directly: exact scoring without writing and re-reading a collection.
        """
        merged = self.merge(weights, keep_device=True)
        impacts = torch.round(merged.double() * self.scale).clamp(min=0)
        if top_k is None:
            return impacts
        _, order = torch.sort(merged, dim=1, descending=True, stable=True)
        columns = order[:, :top_k]
        return torch.zeros_like(impacts).scatter_(1, columns, impacts.gather(1, columns))

    def float_vectors(self, weights: torch.Tensor, top_k: int | None = None) -> list[dict[str, float]]:
        """Positive float weights per row (the top ``top_k`` by weight, ties to the lower term index)."""
        merged = self.merge(weights)
        rows: list[dict[str, float]] = []
        for row in merged:
            if top_k is not None:
                values, order = torch.sort(row, descending=True, stable=True)
                keep = order[:top_k][values[:top_k] > 0]
            else:
                keep = torch.nonzero(row > 0).flatten()
            ids, vals = keep.tolist(), row[keep].tolist()
            rows.append({self.terms[j]: w for j, w in zip(ids, vals)})
        return rows

    def int_vectors(self, weights: torch.Tensor, top_k: int | None = None) -> list[dict[str, int]]:
        """Quantized weights per row; terms whose impact rounds to 0 are dropped (after the top-k cut).

        Rounds whole rows at once (float64, half to even, as ``np.round``): a per-term Python loop is far too
        slow for LLM vocabularies with tens of thousands of active terms per product.
        """
        merged = self.merge(weights)
        rounded = torch.round(merged.double() * self.scale)
        largest = float(rounded.max()) if rounded.numel() else 0.0
        if largest > MAX_IMPACT:   # .long() would wrap it to a negative number, and the term would vanish
            raise ValueError(f"scale {self.scale:g} makes an impact of {largest:.3g}, above the largest Anserini "
                             f"indexes ({MAX_IMPACT}); use a smaller --scale (the default is {DEFAULT_SCALE:g})")
        quantized = rounded.long()
        if top_k is not None:  # the cut is on float weights, heaviest first (ties to the lower term index)
            _, order = torch.sort(merged, dim=1, descending=True, stable=True)
            columns = order[:, :top_k]
        out = []
        for r in range(quantized.shape[0]):
            if top_k is not None:
                ids = columns[r][quantized[r, columns[r]] > 0]
            else:
                ids = torch.nonzero(quantized[r] > 0).flatten()
            terms = self.terms
            out.append(dict(zip([terms[j] for j in ids.tolist()], quantized[r, ids].tolist())))
        return out
