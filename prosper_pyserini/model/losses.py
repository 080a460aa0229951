"""Losses (eq. 12-13): in-batch InfoNCE with optional hard negatives and cross-device gathering, FLOPS;
and (ours) a listwise loss over a query's own graded judgments."""

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


def graded_listwise(scores: torch.Tensor, columns: list[list[int]], grades: list[list[int]],
                    temperature: float = 1.0) -> torch.Tensor:
    """Listwise KL over each query's judged products: the score distribution should follow the grades (ours).

    Row ``i`` of ``scores`` [B, N] ranks its judged products ``columns[i]`` (grades ``grades[i]``); the target is
    ``softmax(grades / temperature)``, so grade 2 > 1 > 0 (Home Depot judges about six products per query, and
    InfoNCE alone never sees the difference between a grade-1 near miss and a grade-0 one). The loss is
    ``KL(target || softmax(scores))`` summed over a row's products, averaged over the rows whose products
    have at least two different grades (others carry no order); 0 when there are none.
    """
    losses = []
    for row, (cols, row_grades) in enumerate(zip(columns, grades)):
        if len(set(row_grades)) < 2:
            continue
        target = torch.softmax(torch.tensor(row_grades, dtype=scores.dtype, device=scores.device) / temperature, 0)
        predicted = torch.log_softmax(scores[row, cols], 0)
        losses.append(F.kl_div(predicted, target, reduction="sum"))
    return torch.stack(losses).mean() if losses else scores.sum() * 0.0
