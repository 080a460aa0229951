"""Paired significance marks the way a paper table reads them.

ranx gives the raw two-sided p-value of every pair of systems (paired Student's t-test or Fisher's
randomization test, per query). Here we correct them for multiple testing and turn them into marks:

* ``▲`` / ``▼`` after a value: significantly better / worse than the baseline. The family corrected
  together is, per metric, the (n - 1) comparisons against the baseline.
* superscript letters: the systems (by their letter a, b, c, … in table order) this value is significantly
  better than, like ranx's own report. The family is, per metric, all n(n - 1)/2 pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from prosper_pyserini.eval.metrics import EvalResults

CORRECTIONS = ("holm", "bonferroni", "none")
TESTS = {"student": "paired Student's t-test", "fisher": "Fisher's randomization test"}
UP, DOWN = "▲", "▼"
_SUPERSCRIPT = str.maketrans("abcdefghijklmnoprstuvwxyz", "ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ")


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Family-wise corrected p-values: Bonferroni (p·m) or Holm's step-down, capped at 1."""
    m = len(p_values)
    if method == "none" or m == 0:
        return list(p_values)
    if method == "bonferroni":
        return [min(1.0, p * m) for p in p_values]
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}; use one of {CORRECTIONS}")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted, running = [0.0] * m, 0.0
    for step, i in enumerate(order):
        running = max(running, min(1.0, (m - step) * p_values[i]))
        adjusted[i] = running
    return adjusted


def letter(index: int) -> str:
    return "abcdefghijklmnoprstuvwxyz"[index] if index < 25 else f"s{index}"


def superscript(letters: str) -> str:
    return letters.translate(_SUPERSCRIPT)


@dataclass
class Significance:
    baseline: str
    test: str
    correction: str
    alpha: float
    letters: dict[str, str]  # system -> its letter
    vs_baseline: dict[str, dict[str, dict[str, float | str]]] = field(default_factory=dict)
    # metric -> system -> {"p": raw, "p_adj": corrected, "mark": "▲" | "▼" | ""}
    beats: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # metric -> system -> letters beaten

    def mark(self, metric: str, system: str) -> str:
        return str(self.vs_baseline.get(metric, {}).get(system, {}).get("mark", ""))

    def legend(self) -> str:
        how = f"{TESTS.get(self.test, self.test)}, {self.correction} correction" if self.correction != "none" else (
            f"{TESTS.get(self.test, self.test)}, no correction"
        )
        return (
            f"{UP}/{DOWN}: significantly better/worse than the baseline {self.baseline!r}; superscript letters: "
            f"significantly better than the system with that letter ({how}, α = {self.alpha:g}, two-sided)."
        )

    def to_json(self) -> dict:
        return {
            "baseline": self.baseline,
            "test": self.test,
            "correction": self.correction,
            "alpha": self.alpha,
            "letters": self.letters,
            "vs_baseline": self.vs_baseline,
            "beats": self.beats,
        }


def mark_significance(
    results: EvalResults, baseline: str, correction: str = "holm", alpha: float = 0.05
) -> Significance:
    """Correct the pairwise p-values in ``results`` and attach the marks (also stored on ``results``)."""
    if baseline not in results.systems:
        raise ValueError(f"baseline {baseline!r} is not one of the systems: {', '.join(results.systems)}")
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; use one of {CORRECTIONS}")
    systems = results.systems
    sig = Significance(baseline, results.stat_test, correction, alpha, {s: letter(i) for i, s in enumerate(systems)})
    others = [s for s in systems if s != baseline]
    pairs = [(a, b) for i, a in enumerate(systems) for b in systems[i + 1 :]]
    for metric in results.metrics:
        means, p = results.means, results.p_values[metric.name]
        raw = [p[(s, baseline)] for s in others]
        sig.vs_baseline[metric.name] = {}
        for s, p_raw, p_adj in zip(others, raw, adjust(raw, correction), strict=True):
            diff = means[s][metric.name] - means[baseline][metric.name]
            mark = (UP if diff > 0 else DOWN if diff < 0 else "") if p_adj <= alpha else ""
            sig.vs_baseline[metric.name][s] = {"p": p_raw, "p_adj": p_adj, "mark": mark}
        sig.beats[metric.name] = {s: [] for s in systems}
        for (a, b), p_adj in zip(pairs, adjust([p[pair] for pair in pairs], correction), strict=True):
            if p_adj <= alpha:
                winner, loser = (a, b) if means[a][metric.name] > means[b][metric.name] else (b, a)
                if means[a][metric.name] != means[b][metric.name]:
                    sig.beats[metric.name][winner].append(sig.letters[loser])
        for s in systems:
            sig.beats[metric.name][s].sort()
    results.significance = sig
    return sig
