"""Hit@K curves (K = 1…1000, log x axis), one line per system, as PNG and SVG.

The curve comes from each query's rank of the first relevant doc, the same tie-broken ranking the metrics
use, so the curve at K = 1, 10, 100, 1000 equals the table's Hit@K.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from prosper_pyserini.data.formats import atomic_write
from prosper_pyserini.eval.metrics import EvalResults


def plot_hit_curves(results: EvalResults, prefix: str | os.PathLike[str], max_k: int = 1000) -> list[Path]:
    """Write ``PREFIX.png`` and ``PREFIX.svg``; returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ks = np.arange(1, max_k + 1)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    try:
        for system in results.systems:
            ax.step(ks, results.hit_curve(system, max_k), where="post", label=system, linewidth=1.6)
        ax.set_xscale("log")
        ax.set_xlim(1, max_k)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("K (log scale)")
        ax.set_ylabel(f"Hit@K (grade ≥ {results.threshold})")
        ax.set_title(f"Hit@K over {len(results.qids)} queries")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        prefix = Path(prefix)
        paths = []
        for suffix in (".png", ".svg"):
            buffer = io.BytesIO()
            fig.savefig(buffer, format=suffix[1:], metadata={"Date": None} if suffix == ".svg" else None)
            path = prefix.with_name(prefix.name + suffix)
            with atomic_write(path, "wb") as out:
                out.write(buffer.getvalue())
            paths.append(path)
    finally:
        plt.close(fig)
    return paths
