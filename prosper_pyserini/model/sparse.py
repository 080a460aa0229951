"""The PROSPER equations as pure tensor functions, so each one can be pinned by a hand-computed test.

Shapes: ``B`` texts, ``T`` tokens, ``H`` hidden size, ``V`` vocabulary size. Every function is
differentiable where training needs it (LRN, LFW masks, normalisation).
"""

from __future__ import annotations

import warnings
from typing import Literal

import torch

LrnMode = Literal["paper", "add", "review"]
Norm = Literal["none", "l1", "l2"]


def log_saturate(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + ReLU(x))``: the SPLADE/PROSPER saturation of logits (and of hidden states in LRN)."""
    return torch.log1p(torch.relu(x))


def standardise_logits(logits: torch.Tensor, threshold: torch.Tensor | float, eps: float = 1e-6) -> torch.Tensor:
    """``(z − mean(z)) / std(z) − τ`` over the vocabulary of each row: [..., V] → [..., V].

    An LM head's logits carry a large per-text offset (the mean logit at SmolLM2's pooled position ranges from
    about −11 to +14 across titles while the spread inside one text is about 3, issue #34), so ``log(1+ReLU(z))``
    keeps 44–49k of 49k terms, and which ones depends on the offset, not on the text. Standardised, a term is
    active only when it stands ``τ`` (learnable) standard deviations above its own text's mean.
    """
    centred = logits - logits.mean(dim=-1, keepdim=True)
    return centred / (centred.pow(2).mean(dim=-1, keepdim=True).sqrt() + eps) - threshold


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of each row's last real text token under RIGHT padding with an appended EOS.

    A row is ``text tokens, EOS, pad...`` with mask ``1...1, 1, 0...``; the last text token sits at
    ``sum(mask) - 2``. Right padding is used because left padding left fully masked leading rows in SDPA,
    whose backward produced NaN. A row holding only EOS (empty text) pools the EOS itself (index 0).
    """
    return (attention_mask.long().sum(dim=1) - 2).clamp(min=0)


def gather_rows(hidden: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``hidden[b, index[b], :]`` for each row: [B, T, H] × [B] → [B, H]."""
    return hidden[torch.arange(hidden.size(0), device=hidden.device), index]


def max_pool_saturate(values: torch.Tensor, attention_mask: torch.Tensor, bias: torch.Tensor | None = None,
                      inplace: bool = False) -> torch.Tensor:
    """``max_t log(1+ReLU(values[:, t]))`` over real tokens: [B, T, D] × [B, T] → [B, D].

    ``bias`` (per dimension) is added after pooling. ``log(1+ReLU(·))`` is monotone, so pooling the raw
    values first gives the same result (and the same gradient, which flows to the arg-max token) while the
    elementwise work shrinks from [B, T, D] to [B, D]: for an MLM head D is the vocabulary, and those
    [B, T, V] passes dominated encoding time.
    """
    pad = ~attention_mask.bool().unsqueeze(-1)
    # ``inplace`` for a fresh head output that backward does not need (autograd would object otherwise)
    fill = values.masked_fill_ if inplace else values.masked_fill
    pooled = fill(pad, torch.finfo(values.dtype).min).amax(dim=1)
    if bias is not None:  # a per-dimension constant commutes with the max over tokens
        pooled = pooled + bias
    return log_saturate(pooled.float())


def segment_max_saturate(values: torch.Tensor, attention_mask: torch.Tensor,
                         bias: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`max_pool_saturate` for the real tokens only, stacked row by row: [N, D] × [B, T] → [B, D].

    ``values`` holds ``x[attention_mask.bool()]``, so each text's tokens are one contiguous segment. A text
    with no real token pools to 0, as a fully masked row does there.
    """
    lengths = attention_mask.bool().sum(dim=1)
    lowest = torch.finfo(values.dtype).min
    if torch.is_grad_enabled() and values.requires_grad:   # the two are equal; each is fastest on its side
        pooled = torch.segment_reduce(values, "max", lengths=lengths, axis=0, unsafe=True, initial=lowest)
    else:
        rows = torch.repeat_interleave(torch.arange(lengths.numel(), device=values.device), lengths)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # "index_reduce() is in beta"
            pooled = values.new_full((lengths.numel(), values.size(1)), lowest).index_reduce_(0, rows, values, "amax")
    if bias is not None:
        pooled = pooled + bias
    return log_saturate(pooled.float())


def masked_max(values: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Max over tokens of NON-NEGATIVE values, padding excluded: [B, T, D] × [B, T] → [B, D].

    Padding is set to 0, which is neutral because the inputs (saturated logits/hidden) are ≥ 0.
    """
    return (values * attention_mask.unsqueeze(-1).to(values.dtype)).max(dim=1).values


def lrn_combine(w: torch.Tensor, w_prime: torch.Tensor, literal: torch.Tensor, mode: LrnMode = "paper") -> torch.Tensor:
    """Eq. 9 and its variants: re-weight the input's own (literal) terms.

    paper:  ``W = w + I ⊙ (max(w') − w')``   (max over the vocabulary, per row)
    add:    ``W = w + I ⊙ w'``
    review: ``W = w + I ⊙ (max(w) − w')``
    """
    ind = literal.to(w.dtype)
    if mode == "paper":
        return w + ind * (w_prime.max(dim=-1, keepdim=True).values - w_prime)
    if mode == "add":
        return w + ind * w_prime
    if mode == "review":
        return w + ind * (w.max(dim=-1, keepdim=True).values - w_prime)
    raise ValueError(f"lrn_mode must be paper, add or review, not {mode!r}")


def conditional_topk(weights: torch.Tensor, k: int) -> torch.Tensor:
    """Eq. 10 (LFW): keep the ``k`` largest entries of a row only when it has more than ``k`` non-zeros.

    Rows with ``‖W‖₀ ≤ k`` are returned unchanged. Gradients flow through the kept entries.
    """
    if k <= 0:
        raise ValueError(f"LFW window k must be positive, not {k}")
    if k >= weights.size(-1):
        return weights
    over = active_terms(weights) > k
    if not bool(over.any()):
        return weights
    keep = torch.zeros_like(weights, dtype=torch.bool)
    keep.scatter_(-1, weights.topk(k, dim=-1).indices, True)
    keep |= ~over.unsqueeze(-1)
    return weights * keep.to(weights.dtype)


def normalise(x: torch.Tensor, norm: Norm, eps: float = 1e-12) -> torch.Tensor:
    """Row normalisation (eq. 11 uses ℓ2 on queries only); ``none`` is the identity."""
    if norm == "none":
        return x
    if norm in ("l1", "l2"):
        return torch.nn.functional.normalize(x, p=1 if norm == "l1" else 2, dim=-1, eps=eps)
    raise ValueError(f"norm must be none, l1 or l2, not {norm!r}")


def literal_indicator(input_ids: torch.Tensor, attention_mask: torch.Tensor, vocab_size: int,
                      exclude_ids: list[int] | set[int]) -> torch.Tensor:
    """``I``: [B, V] 0/1 indicator of the vocabulary ids present in each input (pad and special ids excluded)."""
    valid = attention_mask.bool()
    if exclude_ids:
        valid &= ~torch.isin(input_ids, torch.tensor(sorted(exclude_ids), device=input_ids.device))
    ind = torch.zeros(input_ids.size(0), vocab_size, dtype=torch.bool, device=input_ids.device)
    ids = input_ids.clamp(0, vocab_size - 1)
    ind.scatter_(1, torch.where(valid, ids, torch.zeros_like(ids)), valid)
    # scatter with value False for invalid positions may overwrite a True at id 0; redo id 0 explicitly
    ind[:, 0] = ((input_ids == 0) & valid).any(dim=1)
    return ind


def active_terms(weights: torch.Tensor) -> torch.Tensor:
    """‖w‖₀ of each row: its number of active (non-zero) terms (the window LFW bounds, the sparsity we log)."""
    return (weights != 0).sum(dim=-1)


def l0(weights: torch.Tensor) -> float:
    """Mean ‖w‖₀ over the rows, for monitoring."""
    return float(active_terms(weights).float().mean())
