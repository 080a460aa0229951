"""Anserini-style reproduction checks: expected scores beside each system's config, OK / OKISH / FAIL on rerun.

A system of an experiment YAML may carry ``expected: {metric: score}`` (the numbers its README table shows);
the YAML's ``verify: {ok: …, okish: …}`` sets the tolerances. ``prosper-repro --verify`` reruns (cached steps
are reused), then every expected cell is OK within ``ok`` (the rounding of a 4-decimal table), OKISH within
``okish`` (run-to-run noise: thread scheduling, another CPU) and FAIL beyond, as Anserini's
``ReproduceFromDocumentCollection`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

DEFAULT_TOLERANCE = {"ok": 1e-4, "okish": 5e-3}


@dataclass(frozen=True)
class Check:
    system: str
    metric: str
    expected: float
    actual: float | None   # None: the system or metric was not evaluated
    status: str            # OK | OKISH | FAIL

    def line(self) -> str:
        actual = "missing" if self.actual is None else f"{self.actual:.4f}"
        delta = "" if self.actual is None else f" ({self.actual - self.expected:+.4f})"
        return f"[{self.status}] {self.system:<28} {self.metric:<12} expected {self.expected:.4f}  actual {actual}{delta}"


def expected_scores(config: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """``{system: {metric: score}}`` of every system that states ``expected`` scores."""
    return {s["name"]: dict(s["expected"]) for s in config.get("systems") or [] if isinstance(s, dict) and s.get("expected")}


def tolerances(config: Mapping[str, Any]) -> dict[str, float]:
    return {**DEFAULT_TOLERANCE, **(config.get("verify") or {})}


def status(expected: float, actual: float | None, tolerance: Mapping[str, float]) -> str:
    """OK / OKISH / FAIL for one cell (a missing value fails)."""
    if actual is None:
        return "FAIL"
    gap = abs(actual - expected)
    return "OK" if gap <= tolerance["ok"] + 1e-12 else "OKISH" if gap <= tolerance["okish"] + 1e-12 else "FAIL"


def check(config: Mapping[str, Any], means: Mapping[str, Mapping[str, float]], systems: list[str]) -> list[Check]:
    """Every expected cell of the ``systems`` that ran, against ``means`` (``{system: {metric: value}}``).

    Args:
        config: the experiment config (its ``expected`` scores and ``verify`` tolerances).
        means: the evaluated means, metric names as the config writes them.
        systems: the systems this run evaluated (``--only`` leaves others unchecked).
    """
    tolerance = tolerances(config)
    out = []
    for system, cells in expected_scores(config).items():
        if system not in systems:
            continue
        for metric, expected in cells.items():
            actual = means.get(system, {}).get(metric)
            out.append(Check(system, metric, float(expected), actual, status(float(expected), actual, tolerance)))
    return out
