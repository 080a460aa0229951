"""The PROSPER trainer: InfoNCE + ramped FLOPS, LFW schedule, AdamW with warm-up/decay, validation, resume, DDP.

One process works without ``torch.distributed``; under ``torchrun`` each rank takes a DistributedSampler
shard, in-batch negatives are gathered across ranks, and rank 0 validates, logs and saves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm.auto import tqdm

from prosper_pyserini.data.formats import InputError, Qrels, Run, atomic_write, write_run
from prosper_pyserini.data.prepared import PreparedDataset
from prosper_pyserini.model import EncoderBase, SparseEncoder, load_encoder
from prosper_pyserini.model.backbone import trim_heap
from prosper_pyserini.model.base import restore_interrupted_save
from prosper_pyserini.model.family import family_default
from prosper_pyserini.model.lfw import LFWSchedule
from prosper_pyserini.model.losses import flops, gather_with_grad, graded_listwise, info_nce, ramp
from prosper_pyserini.model.sparse import l0
from prosper_pyserini.presets import TrainConfig

from .data import Example, HardNegatives, examples

log = logging.getLogger(__name__)
STATE = "trainer_state.pt"


class NonFiniteError(FloatingPointError):
    """A loss or gradient was NaN/inf; the message names the batch so it can be reproduced."""


class _Pair(nn.Module):
    """Encodes queries and docs in ONE forward call, as DistributedDataParallel expects."""

    def __init__(self, encoder: EncoderBase):
        super().__init__()
        self.encoder = encoder

    def forward(self, q: dict[str, torch.Tensor], d: dict[str, torch.Tensor]):
        return self.encoder(q, "query"), self.encoder(d, "doc")


@dataclass
class _Dist:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed() -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return _Dist(world, dist.get_rank(), local)


def mrr_at_10(ranked: dict[str, list[str]], qrels: Qrels, threshold: int) -> float:
    """MRR@10 of ranked lists, grade ≥ ``threshold`` relevant, by ranx (the library ``prosper-eval`` scores with).

    Every query of ``ranked`` counts (0 when none of its top 10 is relevant, or it has no relevant doc).
    """
    from ranx import Qrels as RanxQrels
    from ranx import Run as RanxRun
    from ranx import evaluate

    judged = {q: {d: g for d, g in qrels.get(q, {}).items() if g >= threshold} for q in ranked}
    scored = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in ranked.items() if docs}
    if not scored or not any(judged.values()):
        return 0.0
    run = RanxRun.from_dict(scored)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*unsafe cast.*")   # numba note about ranx's doc-id hashes
        per_query = evaluate(RanxQrels.from_dict({q: j for q, j in judged.items() if j}), run, "mrr@10",
                             return_mean=False, make_comparable=True)
    return float(sum(per_query)) / len(ranked)


def resident_gib() -> float | None:
    """This process's resident memory in GiB (Linux ``/proc``; None elsewhere): logged to show it stays flat."""
    try:
        with open("/proc/self/statm") as fh:
            return round(int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30, 3)
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class GradedLists:
    """Per query row of a batch: the doc columns of its judged products (its positive first) and their grades."""

    columns: list[list[int]]
    grades: list[list[int]]


class RunningTopK:
    """The ``k`` best scores of each row, and their column indices, over column blocks added one at a time."""

    def __init__(self, rows: int, k: int, device: torch.device):
        self.k = k
        self.scores = torch.full((rows, 0), float("-inf"), device=device)
        self.index = torch.zeros((rows, 0), dtype=torch.long, device=device)

    def add(self, block: torch.Tensor, first_column: int) -> None:
        """Fold in ``block`` [rows, n], whose column ``j`` is column ``first_column + j`` overall."""
        columns = torch.arange(first_column, first_column + block.size(1), device=block.device)
        scores = torch.cat([self.scores, block], dim=1)
        index = torch.cat([self.index, columns.expand(block.size(0), -1)], dim=1)
        self.scores, pos = scores.topk(min(self.k, scores.size(1)), dim=1)
        self.index = index.gather(1, pos)

    def hits(self) -> list[list[tuple[int, float]]]:
        """Per row, (column, score) best first; columns never filled (−inf) are left out."""
        return [[(i, s) for i, s in zip(idx, sc) if s > float("-inf")]
                for idx, sc in zip(self.index.cpu().tolist(), self.scores.cpu().tolist())]


TRIM_EVERY = 50   # CPU updates between two heap trims (model.backbone.trim_heap)


class Trainer:
    """Train one encoder on a prepared dataset folder; writes ``best/``, ``last/``, ``train_log.jsonl``."""

    def __init__(self, config: TrainConfig, data_dir: str | Path, output_dir: str | Path):
        self.cfg = config
        self.out = Path(output_dir)
        self.dist = _setup_distributed()
        tc = config.train
        torch.set_num_threads(tc.num_threads)
        self.device = torch.device(f"cuda:{self.dist.local_rank}" if torch.cuda.is_available() else "cpu")
        random.seed(tc.seed)
        torch.manual_seed(tc.seed)
        self.autocast = self.device.type == "cuda" and tc.bf16

        self.data = PreparedDataset(Path(data_dir))
        self.corpus = self.data.texts()
        self.train_queries, self.train_qrels = self.data.judged_split("train", self.corpus)
        self.items = examples(self.train_queries, self.train_qrels, config.data.min_grade)
        hn = config.data.hard_negatives
        self.n_neg = hn.n
        self.self_mine = hn.self_mine
        if self.self_mine and self.n_neg < 1:
            raise ValueError("data.hard_negatives.self_mine=true needs data.hard_negatives.n >= 1")
        self.hard: HardNegatives | None = None
        if self.n_neg > 0 and hn.run:
            self.hard = self._negatives_from(Path(hn.run), tc.seed)
        elif self.n_neg > 0 and not self.self_mine:
            raise ValueError("data.hard_negatives.n > 0 needs data.hard_negatives.run=RUN "
                             "(a TREC run over queries.train.tsv, e.g. BM25) or data.hard_negatives.self_mine=true")
        self.mined_path: Path | None = None   # the latest self-mined run (kept in the trainer state for resume)
        self._catalogue: tuple[int, list[tuple[int, torch.Tensor]]] | None = None   # (step, encoded products)
        self.graded_rng = random.Random(tc.seed + 1)   # which judged products join a batch (data.graded_docs)
        self.doc_ids = sorted(self.corpus)
        self.dev_queries, self.dev_qrels = self.data.judged_split("dev", self.corpus) if config.val.enabled else ({}, {})

        backbone = tc.resume or config.model.backbone   # a checkpoint keeps its own model config
        self.encoder = load_encoder(backbone, config=dataclasses.asdict(config.model))
        self.encoder.to(self.device)
        if tc.grad_checkpointing:
            # non-reentrant checkpointing works with DDP's find_unused_parameters and frozen inputs
            model, kwargs = self.encoder.model, {"use_reentrant": False}
            if hasattr(model, "activation_checkpointing_enable"):   # transformers ≥ 5 name
                model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        self.sparse = isinstance(self.encoder, SparseEncoder)
        clip = tc.max_grad_norm
        # null: the family's value (model/family.py); a huge first gradient would otherwise fill Adam's second moment
        self.max_grad_norm = float(family_default(self.encoder.config.arch, "max_grad_norm") if clip is None else clip)
        self.last_grad_norm: float | None = None
        windows = config.lfw.schedule or [(config.model.k_d, config.model.k_q)]
        self.lfw = LFWSchedule([tuple(w) for w in windows], config.lfw.warmup_steps, config.lfw.ready_fraction,
                               config.lfw.history)

        self.pair: nn.Module = _Pair(self.encoder)
        if self.dist.world > 1:
            self.pair = nn.parallel.DistributedDataParallel(
                self.pair, device_ids=[self.dist.local_rank] if self.device.type == "cuda" else None,
                find_unused_parameters=True)
        if self.dist.world > 1:
            sampler = DistributedSampler(self.items, self.dist.world, self.dist.rank, shuffle=True, seed=tc.seed)
        else:
            sampler = RandomSampler(self.items, generator=torch.Generator().manual_seed(tc.seed))
        self.sampler = sampler
        self.loader = DataLoader(self.items, batch_size=tc.batch_size, sampler=sampler,
                                 collate_fn=list, drop_last=self.dist.world > 1)
        accum = tc.grad_accum
        self.steps_per_epoch = max(1, math.ceil(len(self.loader) / accum))
        self.total_steps = tc.epochs * self.steps_per_epoch
        if tc.max_steps:
            self.total_steps = min(self.total_steps, tc.max_steps)
        decay = [p for n, p in self.encoder.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.encoder.named_parameters() if p.ndim < 2]
        self.optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                                            {"params": no_decay, "weight_decay": 0.0}], lr=tc.lr)
        from transformers import get_linear_schedule_with_warmup

        warmup = int(round(tc.warmup_epochs * self.steps_per_epoch))
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, warmup, self.total_steps)
        ramp_steps = config.loss.flops_ramp_steps
        self.ramp_steps = ramp_steps if ramp_steps is not None else self.steps_per_epoch
        self.step, self.epoch, self.skip_batches, self.best = 0, 0, 0, -1.0
        self.updates = 0   # optimizer updates applied in this process (steps minus skipped batches)
        self.seconds_before, self.resumed_at = 0.0, None   # training time of the runs resumed from, and where
        self._start = time.time()
        if tc.resume:
            self._load_state(Path(tc.resume))

    # ---------------------------------------------------------------------------------------- steps

    def _batch_inputs(self, batch: list[Example], queries: dict[str, str], qrels: Qrels,
                      hard: HardNegatives | None, graded_docs: int = 0
                      ) -> tuple[dict, dict, torch.Tensor, GradedLists | None]:
        """Tokenized queries and docs + the false-negative mask (+ each query's graded judgments, if asked).

        Docs are the positives, then ``hard`` negatives if any, then up to ``graded_docs`` more of each
        query's own judged products (for :func:`~prosper_pyserini.model.losses.graded_listwise`).
        """
        docids = [e.docid for e in batch]
        if hard is not None:
            for e in batch:
                docids += hard.sample(e.qid, self.n_neg, self.doc_ids, qrels.get(e.qid, {}))
        graded = None
        if graded_docs > 0:
            graded = GradedLists([], [])
            for row, e in enumerate(batch):
                judged = qrels.get(e.qid, {})
                others = sorted(d for d in judged if d != e.docid)
                picked = self.graded_rng.sample(others, min(graded_docs, len(others)))
                graded.columns.append([row] + list(range(len(docids), len(docids) + len(picked))))
                graded.grades.append([judged[e.docid]] + [judged[d] for d in picked])
                docids += picked
        q = self.encoder.tokenize([queries[e.qid] for e in batch])
        d = self.encoder.tokenize([self.corpus[i] for i in docids])
        exclude = torch.tensor([[qrels.get(e.qid, {}).get(doc, 0) >= self.cfg.data.min_grade
                                 for doc in docids] for e in batch], device=self.device)
        if not self.cfg.data.mask_false_negatives:
            exclude[:] = False
        return q, d, exclude, graded

    def _loss(self, batch: list[Example], model: nn.Module, gather: bool, *, dev: bool = False
              ) -> tuple[torch.Tensor, dict[str, float]]:
        """InfoNCE (+ ramped FLOPS) of one batch: a training batch, or with ``dev`` a dev-pair batch.

        A dev batch reads the dev queries and judgments, takes no hard negatives, and leaves the dynamic
        LFW window alone (only training batches move it).
        """
        if dev:
            q_in, d_in, exclude, graded = self._batch_inputs(batch, self.dev_queries, self.dev_qrels, None)
        else:
            q_in, d_in, exclude, graded = self._batch_inputs(batch, self.train_queries, self.train_qrels, self.hard,
                                                             self.cfg.data.graded_docs)
        with torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast else contextlib.nullcontext():
            q_out, d_out = model(q_in, d_in)
        q = q_out.final if self.sparse else q_out
        d = d_out.final if self.sparse else d_out
        offset = 0
        if gather:
            d, offset = gather_with_grad(d)
            if d.size(0) != exclude.size(1):
                full = torch.zeros(exclude.size(0), d.size(0), dtype=torch.bool, device=exclude.device)
                full[:, offset:offset + exclude.size(1)] = exclude
                exclude = full
        positives = torch.arange(q.size(0), device=q.device) + offset
        lc = self.cfg.loss
        nce = info_nce(q.float(), d.float(), positives, lc.temperature, exclude)
        stats = {"nce": nce.item()}
        loss = nce
        if graded is not None and lc.graded_weight > 0:
            columns = [[c + offset for c in row] for row in graded.columns]
            listwise = graded_listwise((q @ d.T).float(), columns, graded.grades, lc.graded_temperature)
            loss = loss + lc.graded_weight * listwise
            stats["graded"] = listwise.item()
        if self.sparse:
            lam_q = ramp(lc.lambda_q, self.step, self.ramp_steps)
            lam_d = ramp(lc.lambda_d, self.step, self.ramp_steps)
            fq, fd = flops(q_out.raw), flops(d_out.raw)
            loss = loss + lam_q * fq + lam_d * fd
            stats.update(flops_q=fq.item(), flops_d=fd.item(), lambda_q=lam_q, lambda_d=lam_d,
                         l0_q=l0(q_out.final), l0_d=l0(d_out.final), l0_q_raw=l0(q_out.raw), l0_d_raw=l0(d_out.raw))
            if not dev:
                # every rank sees the same L0 statistics, so the dynamic window moves in step everywhere
                l0_d, _ = gather_with_grad(d_out.l0_before_lfw.detach())
                l0_q, _ = gather_with_grad(q_out.l0_before_lfw.detach())
                self.lfw.observe(l0_d.tolist(), l0_q.tolist())
        stats["loss"] = loss.item()
        return loss, stats

    def _apply_lfw(self) -> None:
        if self.sparse:
            self.encoder.lfw_enabled = self.cfg.model.lfw and self.lfw.active(self.step)
            self.encoder.lfw_override = self.lfw.window

    def _check_finite(self, loss: torch.Tensor, where: str) -> bool:
        """False (and a warning) for a non-finite loss/gradient under ``on_nonfinite=skip``; raises otherwise."""
        bad = None
        if not torch.isfinite(loss):
            bad = f"loss={loss.item()}"
        else:
            for name, p in self.encoder.named_parameters():
                if p.grad is not None and not torch.isfinite(p.grad).all():
                    bad = f"non-finite gradient in {name}"
                    break
        if bad is None:
            return True
        message = f"{bad} at {where}"
        if self.cfg.train.on_nonfinite == "skip":
            log.warning("skipping update: %s", message)
            return False
        raise NonFiniteError(message)

    # ------------------------------------------------------------------------------------- training

    def train(self) -> dict[str, Any]:
        """Train to ``total_steps``: epochs of optimizer steps, each epoch ended by validation and saving."""
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.out / "config.yaml") as fh:
                yaml.safe_dump(self.cfg.to_dict(), fh, sort_keys=False)
            self._trim_log()
        logf = open(self.out / "train_log.jsonl", "a", encoding="utf-8") if self.dist.main else None
        bar = tqdm(total=self.total_steps, initial=self.step, desc="train", disable=not self.dist.main)
        summary: dict[str, Any] = {"epochs": self._epochs_before_resume()}
        start = self._start = time.time()
        try:
            while self.step < self.total_steps:
                self._train_epoch(logf, bar, summary, start)
                if len(self.loader) == 0:
                    raise ValueError("no training batch: fewer training pairs than needed for one batch")
                if self.skip_batches >= len(self.loader) or self.step >= self.total_steps:
                    summary["epochs"].append(self._end_epoch())
                    self.epoch += 1
                    self.skip_batches = 0
        finally:
            bar.close()
            if logf is not None:
                logf.close()
        summary.update(steps=self.step, updates=self.updates, best_dev_mrr10=self.best,
                       seconds=round(self.seconds_before + time.time() - start, 1))
        if self.resumed_at is not None:
            summary["resumed_at_step"] = self.resumed_at
        if self.dist.main:
            with atomic_write(self.out / "summary.json") as fh:
                json.dump(summary, fh, indent=2)
        return summary

    def _trim_log(self) -> None:
        """Drop the log records of steps this run redoes (after the checkpoint it resumes from, or all of them
        when it starts afresh), so ``train_log.jsonl`` lists every step once."""
        path = self.out / "train_log.jsonl"
        if not path.is_file():
            return
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= self.step]
        if len(kept) != len(lines):
            with atomic_write(path) as fh:
                fh.writelines(kept)

    def _epochs_before_resume(self) -> list[dict[str, Any]]:
        """The end-of-epoch records of the run resumed from (its ``train_log.jsonl``), so the summary has them all."""
        if self.resumed_at is None:
            return []
        log_path = Path(self.cfg.train.resume).parent / "train_log.jsonl"
        done: dict[int, dict[str, Any]] = {}
        if log_path.is_file():
            for line in log_path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line) if line.strip() else {}
                if record.get("event") == "epoch_end" and record["epoch"] < self.epoch:
                    done[record["epoch"]] = {k: v for k, v in record.items() if k != "event"}
        return [done[e] for e in sorted(done)]

    def _train_epoch(self, logf: Any, bar: Any, summary: dict[str, Any], start: float) -> None:
        """The batches of this epoch not yet seen (all of them unless resumed mid-epoch), until max steps."""
        tc = self.cfg.train
        accum = tc.grad_accum
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)
        else:
            self.sampler.generator.manual_seed(tc.seed + self.epoch)
        self.encoder.train()
        self.optimizer.zero_grad(set_to_none=True)
        micro = 0
        for index, batch in enumerate(self.loader):
            if index < self.skip_batches:
                continue
            last_micro = (micro + 1) % accum == 0 or index + 1 == len(self.loader)
            loss, stats = self._forward_backward(batch, accum, last_micro)
            micro += 1
            finite = bool(torch.isfinite(loss))
            if finite and not last_micro:
                continue
            # a skipped (non-finite) batch still consumes its step, so schedules and max_steps move on
            micro = 0
            self._update(loss, f"epoch {self.epoch} batch {index} (step {self.step}, first qid {batch[0].qid})")
            self.step += 1
            self.skip_batches = index + 1
            self._log_step(logf, bar, index, stats)
            if tc.save_every and self.step % tc.save_every == 0:
                self._save_last()
            if self._out_of_time(start):
                log.warning("train.max_seconds=%s reached at step %d of %d: ending this epoch now",
                            tc.max_seconds, self.step, self.total_steps)
                summary["stopped_at_step"], self.total_steps = self.step, self.step
            if self.step >= self.total_steps:
                break

    def _forward_backward(self, batch: list[Example], accum: int, last_micro: bool) -> tuple[torch.Tensor, dict]:
        """Loss of one micro-batch and its gradients (accumulated; DDP syncs only on the last micro-batch)."""
        self._apply_lfw()
        skip_sync = self.dist.world > 1 and not last_micro
        with self.pair.no_sync() if skip_sync else contextlib.nullcontext():
            loss, stats = self._loss(batch, self.pair, self.cfg.loss.gather)
            if bool(torch.isfinite(loss)) or self.dist.world > 1:
                # under DDP every rank must join the gradient all-reduce; a NaN then reaches
                # every rank's gradients, so all ranks skip the same update
                (loss / accum).backward()
        return loss, stats

    def _update(self, loss: torch.Tensor, where: str) -> None:
        """One optimizer and scheduler step, unless the loss or a gradient is not finite (then see on_nonfinite)."""
        if self._check_finite(loss, where):
            if self.max_grad_norm > 0:
                self.last_grad_norm = float(nn.utils.clip_grad_norm_(self.encoder.parameters(), self.max_grad_norm))
            self.optimizer.step()
            self.scheduler.step()
            self.updates += 1
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cpu" and self.updates % TRIM_EVERY == 0:
            trim_heap()

    def _log_step(self, logf: Any, bar: Any, index: int, stats: dict[str, float]) -> None:
        """One ``train_log.jsonl`` record per optimizer step (resident memory included) and the progress bar."""
        if logf is None:
            return
        record = {"step": self.step, "epoch": self.epoch, "batch": index, "lr": self.scheduler.get_last_lr()[0],
                  "rss_gib": resident_gib(), "k_d": self.lfw.window[0], "k_q": self.lfw.window[1], **stats}
        if self.max_grad_norm > 0:
            record["grad_norm"] = self.last_grad_norm   # before clipping
        logf.write(json.dumps(record) + "\n")
        logf.flush()
        bar.update(1)
        shown = {"loss": f"{stats['loss']:.3f}"}
        if self.sparse:
            shown.update(l0_q=f"{stats['l0_q']:.0f}", l0_d=f"{stats['l0_d']:.0f}")
        bar.set_postfix(**shown)

    def _out_of_time(self, start: float) -> bool:
        budget = self.cfg.train.max_seconds
        return budget is not None and time.time() - start > budget

    def _end_epoch(self) -> dict[str, Any]:
        result: dict[str, Any] = {"epoch": self.epoch, "step": self.step}
        if self.dist.main:
            self._finalise_lfw_config()
            if self.cfg.val.enabled:
                result.update(self.validate())
                if result["dev_mrr10"] > self.best:
                    self.best = result["dev_mrr10"]
                    self.encoder.save_pretrained(self.out / "best")
            else:
                self.encoder.save_pretrained(self.out / "best")
        if self.self_mine and self.step < self.total_steps:
            result["mined_queries"] = self._refresh_negatives()
        self._catalogue = None
        if self.dist.main:
            self._save_last(epoch_done=True)
            with open(self.out / "train_log.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"event": "epoch_end", **result}) + "\n")
            log.info("epoch %d: %s", self.epoch, result)
        if self.dist.world > 1:
            import torch.distributed as dist

            dist.barrier()
        return result

    def _finalise_lfw_config(self) -> None:
        """The saved model infers with the window training reached (the last one of a dynamic schedule)."""
        if self.sparse:
            self.encoder.config.k_d, self.encoder.config.k_q = self.lfw.window
            self.encoder.lfw_override = None
            self.encoder.lfw_enabled = self.encoder.config.lfw

    # ----------------------------------------------------------------------------------- checkpoints

    def _save_last(self, epoch_done: bool = False) -> None:
        if not self.dist.main:
            return
        self._finalise_lfw_config()
        state = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                 "step": self.step, "epoch": self.epoch + (1 if epoch_done else 0),
                 "skip_batches": 0 if epoch_done else self.skip_batches, "best": self.best,
                 "lfw": self.lfw.state_dict(), "python_random": random.getstate(),
                 "mined_negatives": str(self.mined_path) if self.mined_path else None,
                 "seconds": self.seconds_before + time.time() - self._start}
        # written into the model's temporary folder, which is renamed into place whole
        self.encoder.save_pretrained(self.out / "last", also=lambda folder: torch.save(state, folder / STATE))

    def _load_state(self, directory: Path) -> None:
        path = directory / STATE
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no trainer state to resume from (use a 'last' checkpoint)")
        state = torch.load(path, map_location="cpu", weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch = int(state["step"]), int(state["epoch"])
        self.skip_batches, self.best = int(state["skip_batches"]), float(state["best"])
        self.lfw.load_state_dict(state["lfw"])
        random.setstate(state["python_random"])
        self.seconds_before, self.resumed_at = float(state.get("seconds", 0.0)), self.step
        if state.get("mined_negatives"):
            mined = Path(state["mined_negatives"])
            if not mined.is_file():   # written in OUT.partial, which the finished step renamed to OUT
                mined = directory.parent / mined.name
            self._use_mined(mined)
        log.info("resumed from %s at step %d (epoch %d)", directory, self.step, self.epoch)

    # ------------------------------------------------------------------------------------ validation

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Dev loss on dev pairs and dev MRR@10 by exact brute-force scoring against the candidate docs."""
        vc = self.cfg.val
        threshold = vc.rel_threshold
        qids = [q for q in self.dev_queries if any(g >= threshold for g in self.dev_qrels.get(q, {}).values())]
        if vc.max_queries:
            qids = qids[: vc.max_queries]
        if not qids:
            raise ValueError(f"no dev query has a doc with grade >= {threshold}")
        judged = sorted({d for q in qids for d in self.dev_qrels.get(q, {})})
        docs = self.doc_ids
        if vc.max_docs and vc.max_docs < len(docs):
            rest = sorted(set(docs) - set(judged))
            extra = max(0, vc.max_docs - len(judged))
            docs = judged + random.Random(self.cfg.train.seed).sample(rest, min(extra, len(rest)))
        self.encoder.eval()
        bs = vc.batch_size
        qvec = self.encoder.encode([self.dev_queries[q] for q in qids], "query", bs).to(self.device)
        top = self._top_products(qvec, docs, 10, "dev")
        ranked = {q: [docs[i] for i, _ in hits] for q, hits in zip(qids, top.hits())}
        mrr = mrr_at_10(ranked, self.dev_qrels, threshold)
        pairs = examples({q: self.dev_queries[q] for q in qids}, self.dev_qrels, self.cfg.data.min_grade)
        size = self.cfg.train.batch_size
        chunks = [pairs[i:i + size] for i in range(0, len(pairs), size)]
        losses = [float(self._loss(c, self.encoder_pair_local, gather=False, dev=True)[0]) for c in chunks if len(c) >= 2]
        self.encoder.train()
        return {"dev_mrr10": round(mrr, 6), "dev_loss": round(sum(losses) / max(1, len(losses)), 6),
                "dev_queries": len(qids), "dev_docs": len(docs)}

    def _top_products(self, qvec: torch.Tensor, docs: list[str], k: int, desc: str) -> RunningTopK:
        """Exact top ``k`` of ``docs`` for each row of ``qvec`` (dense or sparse CSR), products encoded batch by batch."""
        top = RunningTopK(qvec.size(0), k, self.device)
        for start, dvec in self._product_blocks(docs, desc):
            dvec = dvec.to(self.device)
            top.add(qvec @ (dvec.T if qvec.layout == torch.strided else dvec.T.contiguous()), start)   # CSR wants it
        return top

    def _product_blocks(self, docs: list[str], desc: str) -> Iterator[tuple[int, torch.Tensor]]:
        """``docs`` encoded ``val.batch_size`` at a time, as (first column, vectors).

        The whole catalogue's vectors are kept until the next optimizer step (sparse ones as CSR, ~12 bytes a
        term: ~0.3 GB for 55k products), so validation and self-mining at one epoch end encode it once.
        """
        whole = docs is self.doc_ids
        if whole and self._catalogue is not None and self._catalogue[0] == self.step:
            for start, block in self._catalogue[1]:
                yield start, block.to_dense() if block.layout == torch.sparse_csr else block
            return
        bs = self.cfg.val.batch_size
        kept: list[tuple[int, torch.Tensor]] = []
        for start in tqdm(range(0, len(docs), bs), desc=desc, leave=False):
            dvec = self.encoder.encode([self.corpus[d] for d in docs[start:start + bs]], "doc", bs)
            if whole:
                with warnings.catch_warnings():   # "sparse CSR support is in beta"
                    warnings.simplefilter("ignore", UserWarning)
                    kept.append((start, dvec.to_sparse_csr() if self.sparse else dvec))
            yield start, dvec
        if whole:
            self._catalogue = (self.step, kept)

    @torch.no_grad()
    def mine_negatives(self) -> Run:
        """The current model's top ``data.hard_negatives.top`` products of the WHOLE catalogue per training query.

        Exact float dot products; the queries are a sparse matrix (tens of active terms each), so ranking the
        ~9k training queries costs about one encoding pass over the catalogue.
        """
        qids = sorted({e.qid for e in self.items})
        k = self.cfg.data.hard_negatives.top
        bs = self.cfg.val.batch_size
        with warnings.catch_warnings():   # "sparse CSR support is in beta": CSR x dense is all this needs
            warnings.simplefilter("ignore", UserWarning)
            qvec = self.encoder.encode([self.train_queries[q] for q in qids], "query", bs).to(self.device).to_sparse_csr()
        docs = self.doc_ids
        top = self._top_products(qvec, docs, k, "mine")
        self.encoder.train()
        return {q: {docs[i]: score for i, score in hits} for q, hits in zip(qids, top.hits())}

    def _refresh_negatives(self) -> int:
        """Replace the hard-negative pool with the model's own ranking (written as ``negatives.epoch{N}.trec``)."""
        path = self.out / f"negatives.epoch{self.epoch}.trec"
        if self.dist.main:
            started = time.time()
            write_run(self.mine_negatives(), path, tag=f"self-epoch{self.epoch}")
            log.info("self-mined negatives for epoch %d in %.0f s: %s", self.epoch + 1, time.time() - started, path)
        if self.dist.world > 1:
            import torch.distributed as dist

            dist.barrier()   # the other ranks read the file rank 0 wrote
        self._use_mined(path)
        return len(self.hard.pool) if self.hard else 0

    def _use_mined(self, path: Path) -> None:
        self.hard = self._negatives_from(path, self.cfg.train.seed + self.epoch + 1)
        self.mined_path = path

    def _negatives_from(self, run: Path, seed: int) -> HardNegatives:
        """The hard negatives a run offers the training queries, as ``data.hard_negatives`` (top, skip) says."""
        hn = self.cfg.data.hard_negatives
        return HardNegatives.from_file(run, self.train_qrels, self.corpus, hn.top, seed, hn.skip)

    @property
    def encoder_pair_local(self) -> nn.Module:
        return self.pair.module if isinstance(self.pair, nn.parallel.DistributedDataParallel) else self.pair


def train(config: TrainConfig, data_dir: str | Path, output_dir: str | Path) -> dict[str, Any]:
    """Build a :class:`Trainer` and run it; returns the summary (also written to ``summary.json``)."""
    return Trainer(config, data_dir, output_dir).train()


RUN_ONLY_KEYS = ("resume", "save_every")   # train settings that say how a run goes, not what it trains


def continue_training(config: TrainConfig, output_dir: str | Path) -> tuple[TrainConfig, int | None]:
    """``config`` set to resume the training interrupted in ``output_dir``, as ``prosper-repro`` does.

    Returns:
        The config (:func:`resumable`) and the step it resumes from (None for a fresh start).

    Raises:
        InputError: ``output_dir`` holds a finished training, or an interrupted one made with another config
            (rerunning would silently overwrite it, or mix two trainings in one log).
    """
    out = Path(output_dir)
    if (out / "summary.json").is_file():
        raise InputError(out, None, "already holds a finished training (summary.json); give another --output "
                                    "or remove this one")
    resumed = resumable(config, out)
    if not resumed.train.resume:
        return resumed, None
    saved_path = out / "config.yaml"
    saved = _flat(yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}) if saved_path.is_file() else {}
    wanted = _flat(config.to_dict())
    ignored = {f"train.{key}" for key in RUN_ONLY_KEYS}
    differ = sorted(key for key in set(saved) | set(wanted) if key not in ignored and saved.get(key) != wanted.get(key))
    if differ:
        raise InputError(out, None, "holds an interrupted training made with another config "
                                    f"({', '.join(differ[:4]) if saved else 'its config.yaml is missing'}); rerun "
                                    "it with the same config to resume, or give another --output")
    state = torch.load(Path(resumed.train.resume) / STATE, map_location="cpu", weights_only=False)
    return resumed, int(state["step"])


def _flat(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1}}`` → ``{"train.lr": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def resumable(config: TrainConfig, output_dir: str | Path, save_every: int = 50) -> TrainConfig:
    """``config`` set to continue the training interrupted in ``output_dir`` (from its ``last/``, if it has one).

    It also saves ``last/`` every ``save_every`` steps unless the config says otherwise, so a stopped run loses at
    most that many. Neither setting changes what is trained: callers key their caches on the original config.
    """
    last = restore_interrupted_save(Path(output_dir) / "last")
    restore_interrupted_save(Path(output_dir) / "best")
    train = dataclasses.replace(config.train, save_every=config.train.save_every or save_every)
    if (last / STATE).is_file():
        train = dataclasses.replace(train, resume=str(last))
    return dataclasses.replace(config, train=train)
