"""Lexical Focusing Window (eq. 10): conditional top-k, static or with a coarse-to-fine schedule."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .sparse import conditional_topk

__all__ = ["conditional_topk", "LFWSchedule"]


@dataclass
class LFWSchedule:
    """Decides, step by step, whether LFW is on and which ``(k_d, k_q)`` window applies.

    ``windows`` runs from wide to narrow. After ``warmup_steps`` LFW turns on at the first window; the
    schedule moves to the next window once at least ``ready_fraction`` of the vectors seen in the last
    ``history`` batches already fit the current window (so narrowing never cuts a still-dense model hard).
    A single window is the static LFW of the paper.
    """

    windows: list[tuple[int, int]]
    warmup_steps: int = 0
    ready_fraction: float = 0.9
    history: int = 20
    stage: int = 0
    _fits: deque = field(default_factory=deque, repr=False)

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("LFW schedule needs at least one (k_d, k_q) window")
        self.windows = [(int(kd), int(kq)) for kd, kq in self.windows]
        self._fits = deque(maxlen=self.history)

    def active(self, step: int) -> bool:
        return step >= self.warmup_steps

    @property
    def window(self) -> tuple[int, int]:
        return self.windows[self.stage]

    def observe(self, l0_docs: list[int] | None, l0_queries: list[int] | None) -> bool:
        """Record per-vector L0 (before LFW) of one batch; returns True when the window narrowed."""
        kd, kq = self.window
        fits = [n <= kd for n in (l0_docs or [])] + [n <= kq for n in (l0_queries or [])]
        if fits:
            self._fits.append((sum(fits), len(fits)))
        if self.stage + 1 >= len(self.windows) or len(self._fits) < self._fits.maxlen:
            return False
        ok, total = map(sum, zip(*self._fits))
        if ok >= self.ready_fraction * total:
            self.stage += 1
            self._fits.clear()
            return True
        return False

    def state_dict(self) -> dict:
        return {"stage": self.stage}

    def load_state_dict(self, state: dict) -> None:
        self.stage = int(state.get("stage", 0))
