"""One optimizer step of our trainer vs a bare PyTorch loop: SPLADE-tiny, batch 32, max length 64, CPU.

    python benchmarks/train_step.py [--quick] [--steps 10] [--threads 2]

``ours``: exactly what ``Trainer.train`` runs per step -- ``_apply_lfw``, ``_loss`` (tokenization, the
query/doc forward through ``SparseEncoder``, InfoNCE with the false-negative mask, FLOPS, L0 statistics),
``backward``, the finiteness check, ``AdamW.step``, scheduler step, ``zero_grad`` -- on the ``splade``
preset (no hard negatives) over the embedded sample's training pairs.
``bare``: the same HF model (a fresh copy of the same weights), pre-tokenized inputs, the loss written by
hand (max-pooled log(1+ReLU(logits)), in-batch cross-entropy, FLOPS), ``backward``, ``AdamW.step``.
Both run the same batch; steps alternate between the two so load changes hit both. Target: ours ≤ 1.5× bare.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import _common
import torch
import torch.nn.functional as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 timed steps each (~1 min)")
    parser.add_argument("--steps", type=int, help="timed steps per loop (default 10; quick 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    from transformers import AutoModelForMaskedLM

    from prosper_pyserini.data.homedepot import prepare_sample
    from prosper_pyserini.presets import load_train_config
    from prosper_pyserini.train.trainer import Trainer
    from prosper_pyserini.weights import resolve_model

    steps = args.steps or (3 if args.quick else 10)
    torch.set_num_threads(args.threads)
    payload: dict[str, Any] = {"command": _common.command_line(), "machine": _common.machine()}
    work = Path(tempfile.mkdtemp(prefix="bench-train-"))
    prepare_sample(work / "data")
    config = load_train_config("splade", {"model": {"max_length": args.max_length},
                                     "data": {"hard_negatives": {"n": 0}}, "val": {"enabled": False},
                                     "train": {"batch_size": args.batch_size, "num_threads": args.threads}})
    trainer = Trainer(config, work / "data", work / "out")
    batch = next(iter(trainer.loader))
    enc = trainer.encoder
    enc.train()

    def ours() -> None:
        trainer._apply_lfw()
        loss, _ = trainer._loss(batch, trainer.pair, False)
        loss.backward()
        trainer._check_finite(loss, "benchmark")
        trainer.optimizer.step()
        trainer.scheduler.step()
        trainer.optimizer.zero_grad(set_to_none=True)

    q_in, d_in, _, _ = trainer._batch_inputs(batch, trainer.train_queries, trainer.train_qrels, None)
    model = AutoModelForMaskedLM.from_pretrained(resolve_model("splade-tiny").path, dtype=torch.float32).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.train.lr,
                                  weight_decay=config.train.weight_decay)
    lam_q, lam_d = config.loss.lambda_q, config.loss.lambda_d

    def pool(inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = model(**inputs).logits
        return (torch.log1p(torch.relu(logits)) * inputs["attention_mask"].unsqueeze(-1)).max(dim=1).values

    def bare() -> None:
        q, d = pool(q_in), pool(d_in)
        loss = F.cross_entropy(q @ d.T, torch.arange(q.size(0)))
        loss = loss + lam_q * q.mean(0).pow(2).sum() + lam_d * d.mean(0).pow(2).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def tokenize() -> None:
        trainer._batch_inputs(batch, trainer.train_queries, trainer.train_qrels, None)

    times: dict[str, list[float]] = {"ours": [], "bare": [], "tokenize": []}
    for fn in (ours, bare, ours, bare):  # warm-up
        fn()
    for _ in range(steps):
        for name, fn in (("ours", ours), ("bare", bare), ("tokenize", tokenize)):
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    row = {"model": "splade-tiny", "batch": args.batch_size, "max_length": args.max_length,
           "tokens_q": int(q_in["attention_mask"].sum()), "tokens_d": int(d_in["attention_mask"].sum()),
           "padded_len_q": q_in["input_ids"].shape[1], "padded_len_d": d_in["input_ids"].shape[1],
           "ours_step_ms": round(med["ours"], 1), "bare_step_ms": round(med["bare"], 1),
           "tokenize_ms": round(med["tokenize"], 1), "ours_over_bare": round(med["ours"] / med["bare"], 3),
           "ours_min_ms": round(min(times["ours"]), 1), "bare_min_ms": round(min(times["bare"]), 1),
           "target_le_1.5x": med["ours"] / med["bare"] <= 1.5}
    payload.update(steps=steps, times_ms={k: [round(x, 1) for x in v] for k, v in times.items()}, result=row)
    shutil.rmtree(work, ignore_errors=True)
    _common.finish("train_step" + ("-quick" if args.quick else ""), payload, {f"Train step (median of {steps})": _common.markdown_table([row])})


if __name__ == "__main__":
    main()
