"""Losses (eq. 12-13): in-batch InfoNCE with optional hard negatives and cross-device gathering, FLOPS."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flops(w: torch.Tensor) -> torch.Tensor:
    """FLOPS regulariser ``Σ_j (mean_i w_ij)²`` on the RAW term weights (before LRN/LFW/normalisation)."""
    return w.mean(dim=0).pow(2).sum()


def ramp(lam: float, step: int, ramp_steps: int) -> float:
    """Quadratic warm-up of a regularisation weight: ``λ · min(1, t/T)²`` (``T ≤ 0`` means no ramp)."""
    if ramp_steps <= 0:
        return lam
    return lam * min(1.0, step / ramp_steps) ** 2


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """All-gather ``x`` over the process group (keeping the local slice's gradient); returns (all, offset).

    Without an initialised process group (single process) this is the identity with offset 0.
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x, 0
    from torch.distributed.nn.functional import all_gather

    parts = all_gather(x.contiguous())
    return torch.cat(parts, dim=0), dist.get_rank() * x.size(0)


def info_nce(q: torch.Tensor, d: torch.Tensor, positives: torch.Tensor | None = None,
             temperature: float = 1.0, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE over dot products ``q·d`` (eq. 12): row ``i`` of ``q`` must rank ``d[positives[i]]`` first.

    ``d`` holds every candidate of the batch (positives, then any hard negatives); ``positives`` defaults to
    ``arange(B)``. ``exclude`` [B, N] marks known false negatives (another query's positive that is also
    judged relevant for this query), which get −inf and so drop out of the softmax.
    """
    scores = q @ d.T / temperature
    if positives is None:
        positives = torch.arange(q.size(0), device=q.device)
    if exclude is not None:
        exclude = exclude.clone()
        exclude[torch.arange(q.size(0), device=q.device), positives] = False
        scores = scores.masked_fill(exclude, float("-inf"))
    return F.cross_entropy(scores, positives)
