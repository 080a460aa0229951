"""Literal Residual Network (eq. 7-9): one FC layer, shared by queries and items, that re-weights literal terms."""

from __future__ import annotations

import torch
from torch import nn

from .sparse import LrnMode, log_saturate, lrn_combine


class LRN(nn.Module):
    """``w' = FC(h)`` with ``h = log(1 + ReLU(pooled hidden))``; :meth:`combine` applies eq. 9.

    The same layer serves both sides (the paper shares it); per-side on/off lives in the encoder config.
    """

    def __init__(self, hidden_size: int, vocab_size: int):
        super().__init__()
        self.fc = nn.Linear(hidden_size, vocab_size, bias=True)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, pooled_saturated_hidden: torch.Tensor) -> torch.Tensor:
        """[B, H] already saturated hidden → w' [B, V]."""
        return self.fc(pooled_saturated_hidden)

    @staticmethod
    def saturate(hidden: torch.Tensor) -> torch.Tensor:
        return log_saturate(hidden)

    def combine(self, w: torch.Tensor, w_prime: torch.Tensor, literal: torch.Tensor, mode: LrnMode) -> torch.Tensor:
        return lrn_combine(w, w_prime, literal, mode)
