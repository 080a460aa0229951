"""Why a sparse model retrieves what it does: a text's top-weighted terms, literal and expansion apart.

This is the view of the paper's case tables (its Tables 1, 7, 8) for any checkpoint: *literal* terms are
the input's own tokens (the ones the Literal Residual Network protects), *expansion* terms are the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch


@dataclass(frozen=True)
class TermView:
    text: str
    literal: list[tuple[str, float]]  # (term, weight), heaviest first
    expansion: list[tuple[str, float]]

    @property
    def active_terms(self) -> int:
        return len(self.literal) + len(self.expansion)

    def format(self, top: int = 10) -> str:
        def part(terms: list[tuple[str, float]]) -> str:
            return ", ".join(f"{t} {w:.2f}" for t, w in terms[:top]) or "—"

        return f"literal: {part(self.literal)} | expansion: {part(self.expansion)}"


def explain_texts(encoder: Any, texts: Sequence[str], side: str = "query") -> list[TermView]:
    """Every active term of each text's final representation, split by whether the text contains it."""
    texts = list(texts)
    weights = encoder.encode(texts, side=side)
    literal = encoder.literal_mask(texts).to(torch.bool)
    vocab = encoder.vocab_terms
    views = []
    for row, mask in zip(weights, literal):
        active = torch.nonzero(row > 0).flatten().tolist()
        active.sort(key=lambda j: -float(row[j]))
        lit = [(vocab[j], float(row[j])) for j in active if mask[j]]
        exp = [(vocab[j], float(row[j])) for j in active if not mask[j]]
        views.append(TermView(texts[len(views)], lit, exp))
    return views
