"""Shared plumbing for the benchmark scripts: machine record, corpus choice, timing and result files.

Every script compares numbers measured in ONE run on ONE machine; the machine (CPU model, cores, threads,
load average, versions) is written next to the numbers because the cores here are shared and noisy.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SAMPLE_CORPUS = ROOT / "prosper_pyserini" / "data" / "sample" / "products.jsonl"
SAMPLE_TRAIN = ROOT / "prosper_pyserini" / "data" / "sample" / "train.csv"
HOMEDEPOT = Path(os.environ.get("PROSPER_HOMEDEPOT", Path(__file__).resolve().parents[2] / "shared" / "data" / "homedepot"))
REAL_CORPUS = HOMEDEPOT / "products.jsonl"
REAL_TRAIN = HOMEDEPOT / "train.csv.zip"

sys.path.insert(0, str(ROOT))


def default_corpus(quick: bool) -> Path:
    """The embedded sample for ``--quick``; the real Home Depot products when present otherwise."""
    return SAMPLE_CORPUS if quick or not REAL_CORPUS.exists() else REAL_CORPUS


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """What the numbers were measured on (call at the start; :func:`finish` adds the load at the end)."""
    import torch

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu_model": cpu,
        "cpu_count": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {p: _version(p) for p in ("torch", "transformers", "pyserini", "numpy", "scipy",
                                                "pyseismic-lsr", "prosper-pyserini")},
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def percentiles(values_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean of a list of milliseconds (nearest-rank percentiles)."""
    xs = sorted(values_ms)
    if not xs:
        return {"n": 0}

    def rank(p: float) -> float:
        return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))]

    return {"n": len(xs), "p50": round(rank(50), 3), "p95": round(rank(95), 3), "p99": round(rank(99), 3),
            "mean": round(statistics.fmean(xs), 3)}


def best_of(fn: Callable[[], Any], repeats: int) -> float:
    """Fastest wall time (s) of ``repeats`` calls: the least-disturbed run on a shared machine."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def markdown_table(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    from tabulate import tabulate

    columns = list(columns or (rows[0].keys() if rows else []))
    return tabulate([[r.get(c, "") for c in columns] for r in rows], headers=columns, tablefmt="github",
                    floatfmt=".4g")


def finish(name: str, payload: dict[str, Any], tables: dict[str, str], out_dir: Path = RESULTS) -> None:
    """Add the end load average, print JSON + Markdown, write ``results/NAME.json`` and ``.md`` atomically."""
    from prosper_pyserini.data.formats import atomic_write

    payload["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    m = payload["machine"]
    header = (f"# {name}\n\nMachine: {m['cpu_model']}, {m['cores_available']} cores available, torch threads "
              f"{m['torch_threads']}, GPU {m['gpu'] or 'none'}; load average start {m['loadavg_start']}, "
              f"end {m['loadavg_end']}; {m['started']}. Command: `{payload['command']}`\n")
    md = header + "".join(f"\n## {title}\n\n{table}\n" for title, table in tables.items())
    print(text)
    print(md)
    with atomic_write(out_dir / f"{name}.json") as fh:
        fh.write(text + "\n")
    with atomic_write(out_dir / f"{name}.md") as fh:
        fh.write(md)


def command_line() -> str:
    return "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])   # quoted: copy-pastable
