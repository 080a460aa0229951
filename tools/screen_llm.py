"""Screening rows for the causal-LM fixes of issue #34: short trainings, one change per row, on 2 CPU cores.

    python tools/screen_llm.py --data work/homedepot/data --negatives runs/homedepot-llm-cpu/bm25.train.trec \
        [--only ROW ...] [--readme eval/README.md]

Every row is one ``prosper-train`` process with the screening recipe below (SmolLM2-135M, ``STEPS`` steps at
batch 16, one BM25 negative, lr 1e-4 after a 10-step warm-up, the FLOPS weights ramped over the run) and one
change of model keys against ``defaults`` (the family defaults of ``prosper_pyserini/model/family.py``). A
finished row (its ``summary.json`` beside the config it ran) is reused, so the rows run in parts. The table
reads each row's ``train_log.jsonl`` (the step-1 record is the freshly loaded model: its loss is computed before
any update) and the trainer's end-of-run validation: MRR@10 of ``VAL_QUERIES`` dev queries against a pool of
their judged products plus a seeded sample up to ``VAL_DOCS`` products, which flatters every row alike (a
screening number, not a dev result).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prosper_pyserini.eval.report import splice_block  # noqa: E402

STEPS, BATCH, VAL_QUERIES, VAL_DOCS = 40, 16, 200, 2000
RECIPE = [f"train.max_steps={STEPS}", f"train.batch_size={BATCH}", "train.lr=1.0e-4", "train.warmup_epochs=0.006",
          f"loss.flops_ramp_steps={STEPS}", "train.bf16=false", "train.save_every=null", "train.log_every=1",
          "val.enabled=true", f"val.max_queries={VAL_QUERIES}", f"val.max_docs={VAL_DOCS}", "val.batch_size=64",
          "model.backbone=smollm2-135m", "data.hard_negatives.n=1", "data.hard_negatives.top=100"]
LEGACY = ["model.text_form=raw", "model.logit_norm=none", "train.max_grad_norm=0"]

CLIP, NO_CLIP = ["train.max_grad_norm=1.0"], ["train.max_grad_norm=0"]

# name → (preset, overrides, what the row changes); every row states its clipping, the rest is the family default
ROWS: dict[str, tuple[str, list[str], str]] = {
    "legacy": ("prosper", LEGACY, "before issue #34: raw text, raw logits, no clipping"),
    "clip": ("prosper", CLIP, "causal defaults: lower_space, standardise (τ 3), last-token pooling, clipping at 1.0"),
    "no-clip": ("prosper", NO_CLIP, "clip without gradient clipping"),
    "clip-raw-text": ("prosper", ["model.text_form=raw", *CLIP], "clip, text as written (case, no leading space)"),
    "clip-raw-logits": ("prosper", ["model.logit_norm=none", *CLIP], "clip, logits not standardised"),
    "clip-echo": ("prosper", ["model.term_pooling=echo", *CLIP],
                  "clip, echo pooling (text twice, max over the second copy; τ 4)"),
    "clip-max": ("prosper", ["model.term_pooling=max", *CLIP], "clip, max pooling over the text's positions (τ 4)"),
    "sp-llm-legacy": ("sp-llm", LEGACY, "SP-LLM before issue #34"),
    "sp-llm-clip": ("sp-llm", CLIP, "SP-LLM with the causal defaults (clipping at 1.0)"),
    "sp-llm-no-clip": ("sp-llm", NO_CLIP, "sp-llm-clip without gradient clipping"),
}


def command(name: str, data: Path, negatives: Path, out: Path) -> list[str]:
    preset, overrides, _ = ROWS[name]
    return [sys.executable, "-m", "prosper_pyserini.train.cli", "--config", preset, "--data", str(data),
            "--output", str(out), *RECIPE, f"data.hard_negatives.run={negatives}", *overrides]


def run_row(name: str, data: Path, negatives: Path, work: Path) -> None:
    """Train one row unless the same command already finished in its folder (a changed one starts over)."""
    out = work / name
    cmd = command(name, data, negatives, out)
    stamp = out / "screen_command.json"
    if (out / "summary.json").is_file() and stamp.is_file() and json.loads(stamp.read_text())[1:] == cmd[1:]:
        print(f"{name}: reusing {out}")
        return
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    out.mkdir(parents=True)
    stamp.write_text(json.dumps(cmd))
    print(f"{name}: {' '.join(cmd[3:])}", flush=True)
    with open(out / "screen.log", "w", encoding="utf-8") as log:
        code = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    if code:   # a row that cannot train is a result too: the table says so, and the other rows still run
        print(f"{name}: prosper-train exited {code}; see {out / 'screen.log'}", flush=True)


def row_stats(out: Path) -> dict[str, Any] | None:
    """The table's figures from one finished row's ``train_log.jsonl`` and ``summary.json``; None if unfinished."""
    if not (out / "summary.json").is_file():
        return None
    summary = json.loads((out / "summary.json").read_text())
    steps = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines() if '"step"' in line]
    steps = [s for s in steps if "nce" in s]
    first, tail = steps[0], steps[-10:]
    last_epoch = summary["epochs"][-1]
    return {"nce_1": first["nce"], "terms_d_1": first["l0_d_raw"], "terms_q_1": first["l0_q_raw"],
            "nce_end": sum(s["nce"] for s in tail) / len(tail), "terms_d_end": tail[-1]["l0_d_raw"],
            "terms_d_final": tail[-1]["l0_d"], "mrr": last_epoch.get("dev_mrr10"),
            "minutes": summary["seconds"] / 60}


def table(work: Path) -> str:
    lines = ["| row | change | InfoNCE, step 1 | terms/product, step 1 | terms/query, step 1 | InfoNCE, last 10 steps "
             f"| terms/product, step {STEPS} (after LFW) | pool MRR@10 | minutes (training + validation) |", "|---" * 9 + "|"]
    for name, (_, _, what) in ROWS.items():
        stats = row_stats(work / name)
        if stats is None:
            state = "did not finish (its screen.log says why)" if (work / name / "screen.log").is_file() else "not run"
            lines.append(f"| `{name}` | {what} | {state} | | | | | | |")
            continue
        lines.append(f"| `{name}` | {what} | {stats['nce_1']:.4g} | {stats['terms_d_1']:,.0f} | {stats['terms_q_1']:,.0f} "
                     f"| {stats['nce_end']:.4g} | {stats['terms_d_end']:,.0f} ({stats['terms_d_final']:,.0f}) "
                     f"| {stats['mrr']:.4f} | {stats['minutes']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="prepared Home Depot folder (prosper-data)")
    parser.add_argument("--negatives", type=Path, required=True, help="BM25 run over queries.train.tsv")
    parser.add_argument("--work", type=Path, default=ROOT / "work" / "screen-llm", help="one folder per row")
    parser.add_argument("--only", action="append", choices=sorted(ROWS), help="rows to train (default: all)")
    parser.add_argument("--table-only", action="store_true", help="train nothing; print (and splice) the table")
    parser.add_argument("--readme", type=Path, help="rewrite its screen-llm block with the table")
    args = parser.parse_args()
    if args.readme:
        splice_block(args.readme, "screen-llm", None)   # fail now, not after hours of training
    if not args.table_only:
        for name in args.only or list(ROWS):
            run_row(name, args.data, args.negatives, args.work)
    text = table(args.work)
    print(text)
    if args.readme:
        recipe = " ".join(RECIPE)
        splice_block(args.readme, "screen-llm", f"Generated by `python tools/screen_llm.py --data {args.data} "
                     f"--negatives {args.negatives} --readme {args.readme}` (recipe: `{recipe}`).\n\n{text}")


if __name__ == "__main__":
    main()
