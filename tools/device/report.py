"""What device calls returned → run files beside their statistics, the recipe table, the GPU throughput table.

    python tools/device/report.py FOLDER [FOLDER ...] [--readme eval/README.md]

Each FOLDER is what one call of ``tools/device/run.sh`` returned: any of ``summary.json`` (``full`` or
``score``), ``logs.tar.gz`` (training logs) and ``NAME.trec.gz`` runs. This

* copies each run to ``runs/homedepot-device/NAME.trec.gz`` with ``NAME.json`` beside it (sparsity and
  training summary), which the ``run`` systems of ``eval/homedepot-device.yaml`` read: the ranx table
  with significance comes from ``prosper-repro --config eval/homedepot-device.yaml --readme eval/README.md``;
* unpacks the training logs to ``runs/homedepot-device/logs/``;
* writes ``benchmarks/results/gpu_encode.{md,json}``;
* with ``--readme``, rewrites its ``device:homedepot-recipe-gpu`` block: per system, the dev MRR@10 of every
  epoch as the trainer validated it (all dev queries against the whole catalogue), cost, sparsity, memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from prosper_pyserini.eval.report import splice_block  # noqa: E402

RUNS = ROOT / "runs" / "homedepot-device"
RESULTS = ROOT / "benchmarks" / "results"
PEAK_BF16_TFLOPS = 989.0   # H200 SXM dense bf16, the vendor's datasheet (the H100's rate)


def read_logs(folders: list[Path]) -> dict[str, dict[str, Any]]:
    """Per system: its training summary (None if the process was stopped first) and train_log.jsonl records."""
    logs_dir = RUNS / "logs"
    shutil.rmtree(logs_dir, ignore_errors=True)
    logs_dir.mkdir(parents=True)
    for folder in folders:
        if (folder / "logs.tar.gz").is_file():
            with tarfile.open(folder / "logs.tar.gz") as tar:
                tar.extractall(logs_dir, filter="data")
    systems: dict[str, dict[str, Any]] = {}
    for system in sorted(p for p in logs_dir.iterdir() if (p / "train_log.jsonl").is_file()):
        summary = system / "summary.json"
        systems[system.name] = {
            "records": [json.loads(line) for line in (system / "train_log.jsonl").read_text().splitlines()],
            "summary": json.loads(summary.read_text()) if summary.is_file() else None}
    return systems


def scored(folders: list[Path]) -> dict[str, dict[str, Any]]:
    """Per encoded system: what its scoring reported (sparsity, timings, forward throughput)."""
    out: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for name in ("summary.json", "scored.json"):   # scored.json: the first calls' scoring script
            path = folder / name
            if path.is_file():
                data = json.loads(path.read_text())
                out.update(data.get("encoded", data) if name == "summary.json" else data)
    return out


def recipe_table(logs: dict[str, dict[str, Any]], scores: dict[str, dict[str, Any]]) -> str:
    """One row per system: per-epoch dev MRR@10 (whole catalogue), best, cost, sparsity and memory."""
    from tabulate import tabulate

    rows = []
    for name, entry in logs.items():
        epochs = [r for r in entry["records"] if r.get("event") == "epoch_end" and "dev_mrr10" in r]
        steps = [r for r in entry["records"] if "loss" in r]
        summary = entry["summary"]
        if summary is None:
            status = "stopped by the call's limit after the last epoch shown"
        elif "stopped_at_step" in summary:
            status = f"time budget reached at step {summary['stopped_at_step']}"
        else:
            status = f"done in {summary['seconds']:.0f} s"
        rss = [r["rss_gib"] for r in steps if r.get("rss_gib")]
        sparsity = (scores.get(name) or {}).get("sparsity") or {}
        rows.append([name, steps[-1]["step"] if steps else 0,
                     " · ".join(f"{r['dev_mrr10']:.4f}" for r in epochs) or "—",
                     f"{max(r['dev_mrr10'] for r in epochs):.4f}" if epochs else "—",
                     f"{sparsity['avg_terms_per_product']:.0f}" if sparsity else "—",
                     f"{rss[0]:.2f} → {rss[-1]:.2f}" if rss else "—", status])
    return tabulate(rows, ["system", "steps", "dev MRR@10 after each epoch", "best",
                           "terms per product (best, quantized)", "RSS GiB first → last step", "training"],
                    tablefmt="github", disable_numparse=True)


def throughput(scores: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The forward-pass rows measured by ``run.sh full``/``score`` (absent where a call was cut short)."""
    from tabulate import tabulate

    rows, data = [], {}
    for name, result in scores.items():
        forward = result.get("forward")
        if not forward:
            continue
        share = forward["tflops_per_s"] / PEAK_BF16_TFLOPS
        data[name] = {**forward, "fraction_of_peak_bf16": round(share, 4)}
        rows.append([name, forward["device"], forward["batch_size"], f"{forward['products_per_s']:,.0f}",
                     f"{forward['tokens_per_s']:,}", f"{forward['tflops_per_s']:.2f}", f"{100 * share:.2f}%"])
    return tabulate(rows, ["system", "GPU", "batch", "products/s", "tokens/s", "TFLOP/s", "of 989 bf16 peak"],
                    tablefmt="github", disable_numparse=True), data


def lower_bounds(scores: dict[str, dict[str, Any]], corpus: Path) -> tuple[str, dict[str, Any]]:
    """Throughput bounds for systems scored by the first calls' script, which timed only its whole encoding.

    Its ``encode_s`` spans loading the checkpoint, tokenizing, encoding 54,667 products and 1,030 queries
    and quantizing them on the GPU, so products/s and TFLOP/s computed from it are lower bounds. Tokens are
    counted here with the backbone's tokenizer, FLOPs by ``gpu_rows.encode_flops``.
    """
    from gpu_rows import encode_flops
    from tabulate import tabulate

    from prosper_pyserini.data.formats import read_corpus
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.model.backbone import tokenize

    texts = [d.text for d in read_corpus(corpus)]
    rows, data, encoders = [], {}, {}
    for name, result in scores.items():
        if "forward" in result or "encode_s" not in result:
            continue
        backbone = "smollm2-135m" if "smollm2" in name else "splade-tiny"
        lrn = name.startswith(("prosper", "recipe")) and "splade" not in name
        if backbone not in encoders:
            encoders[backbone] = load_encoder(backbone, "prosper")
        encoder = encoders[backbone]
        cfg = encoder.config
        tokens = sum(int(tokenize(encoder.tokenizer, texts[i:i + 1024], cfg.arch, cfg.max_length)["attention_mask"].sum())
                     for i in range(0, len(texts), 1024))
        flops, _ = encode_flops(encoder, tokens, len(texts), lrn)
        tflops = flops / result["encode_s"] / 1e12
        data[name] = {"bound": "lower", "products": len(texts), "tokens": tokens, "seconds": result["encode_s"],
                      "products_per_s": round(len(texts) / result["encode_s"], 1), "flops": flops,
                      "tflops_per_s": round(tflops, 3), "fraction_of_peak_bf16": round(tflops / PEAK_BF16_TFLOPS, 5)}
        rows.append([name, f"≥ {len(texts) / result['encode_s']:,.0f}", f"≥ {tokens / result['encode_s']:,.0f}",
                     f"≥ {tflops:.2f}", f"≥ {100 * tflops / PEAK_BF16_TFLOPS:.2f}%"])
    return tabulate(rows, ["system", "products/s", "tokens/s", "TFLOP/s", "of 989 bf16 peak"], tablefmt="github",
                    disable_numparse=True), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="what the device calls returned")
    parser.add_argument("--readme", type=Path, help="rewrite its device:homedepot-recipe-gpu block")
    parser.add_argument("--corpus", type=Path, default=ROOT / "work" / "homedepot" / "data" / "corpus" / "products.jsonl",
                        help="the products the device encoded (for token counts)")
    args = parser.parse_args()
    RUNS.mkdir(parents=True, exist_ok=True)
    logs, scores = read_logs(args.folders), scored(args.folders)
    for folder in args.folders:
        for run in folder.glob("*.trec.gz"):
            name = run.name.removesuffix(".trec.gz")
            shutil.copy(run, RUNS / run.name)
            stats = {"sparsity": (scores.get(name) or {}).get("sparsity"),
                     "training": (logs.get(name) or {}).get("summary")}
            (RUNS / f"{name}.json").write_text(json.dumps(stats, indent=2) + "\n")
            print(f"{RUNS / run.name}")
    table, data = throughput(scores)
    bound_table, bounds = lower_bounds(scores, args.corpus)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gpu_encode.json").write_text(json.dumps({"forward": data, "lower_bounds": bounds}, indent=2) + "\n")
    text = ["# GPU encoding throughput (one H200, bf16 autocast over fp32 weights)",
            f"Generated by `python tools/device/report.py {' '.join(str(f) for f in args.folders)}` from what the "
            "device calls of `tools/device/run.sh` returned. FLOPs = 2 × non-embedding parameters per token + "
            "the vocabulary projections (LM head at the pooled position of a causal LM, at every token of an MLM; "
            "LRN's once per product); the peak is the datasheet's dense bf16 rate.",
            "Forward pass alone over all 54,667 Home Depot products (`run.sh full` or `score`):",
            table if data else "(none measured yet)"]
    if bounds:
        text += ["Lower bounds from the whole encoding phase of the first calls' scoring script (checkpoint "
                 "load, tokenization, 54,667 products and 1,030 queries, quantization on the GPU), while "
                 "nothing else ran on the GPU:", bound_table]
    (RESULTS / "gpu_encode.md").write_text("\n\n".join(text) + "\n")
    print("\n\n".join(text[2:]))
    recipe = recipe_table(logs, scores)
    print(recipe)
    if args.readme:
        splice_block(args.readme, "device:homedepot-recipe-gpu",
                     "Generated by `python tools/device/report.py FOLDER... --readme eval/README.md` from the "
                     "training logs the device calls returned.\n\n" + recipe)


if __name__ == "__main__":
    main()
