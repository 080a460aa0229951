"""The trainer on real backbones and a tiny hand-written prepared folder: loss goes down, presets, resume, guards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from prosper_pyserini.config import ConfigError
from prosper_pyserini.data.formats import InputError, read_queries, write_run
from prosper_pyserini.model import DenseEncoder, SparseEncoder, load_encoder
from prosper_pyserini.presets import cache_identity, load_train_config, parse_overrides
from prosper_pyserini.train.cli import main
from prosper_pyserini.train.data import HardNegatives
from prosper_pyserini.train.trainer import STATE, NonFiniteError, RunningTopK, Trainer, mrr_at_10, resumable

torch.set_num_threads(2)


def small(backbone: str, preset: str = "prosper", **extra: object) -> dict:
    overrides = {"model": {"backbone": backbone, "max_length": 24},
                 "train": {"batch_size": 8, "epochs": 1, "log_every": 1},
                 "val": {"max_docs": None, "batch_size": 16}}
    for key, value in extra.items():
        section, name = key.split("__")
        overrides.setdefault(section, {})[name] = value
    return load_train_config(preset, overrides)


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_config_layers_and_overrides() -> None:
    base = load_train_config()
    assert base.model.k_q == 256 and base.model.k_d == 512 and base.model.norm_q == "l2"
    assert base.loss.lambda_q == 5e-3 and base.loss.lambda_d == 1e-3
    assert base.train.lr == 3e-5 and base.train.weight_decay == 0.1 and base.model.max_length == 64
    splade = load_train_config("splade.yaml")
    assert not splade.model.lrn_q and not splade.model.lfw and splade.data.hard_negatives.n == 1
    assert load_train_config("dense").model.kind == "dense"
    assert parse_overrides(["a.b=1e-5", "c=[[512, 256]]", "d=true", "e=null"]) == \
        {"a": {"b": "1e-5"}, "c": [[512, 256]], "d": True, "e": None}
    # a model preset, then a training recipe: merged in order, so the later one wins where both set a key
    cpu_splade = load_train_config(["splade", "cpu"], ["train.lr=3e-4"])
    assert cpu_splade.model.backbone == "minilm-l6" and not cpu_splade.model.lfw and cpu_splade.train.batch_size == 64
    assert cpu_splade.train.lr == 3e-4 and not cpu_splade.val.enabled and cpu_splade.train.bf16 is False
    assert load_train_config(["cpu", "splade"]).model.backbone == "splade-tiny"
    assert load_train_config([]) == base
    cfg = load_train_config("sp-llm", ["train.lr=1e-5", "lfw.schedule=[[512, 256], [256, 128]]"])
    assert cfg.train.lr == 1e-5 and cfg.lfw.schedule == [[512, 256], [256, 128]]
    with pytest.raises(KeyError, match="model.kq"):
        load_train_config("prosper", ["model.kq=3"])
    with pytest.raises(FileNotFoundError, match="presets"):
        load_train_config("nope")
    for override, message in [("train.lr=fast", "train.lr='fast' is not a number"),
                              ("train.epochs=1.5", "train.epochs=1.5 must be an integer"),
                              ("model.norm_q=l3", "model.norm_q must be one of none, l1, l2, not 'l3'"),
                              ("data.hard_negatives.n=[1]", r"data.hard_negatives.n=\[1\] must be an integer"),
                              ("val.batch_size=0", "val.batch_size=0 must be a positive integer"),
                              ("data.hard_negatives.skip=100", "skip=100 must be >= 0 and below data.hard_negatives.top=100"),
                              ("train.max_grad_norm=-1", "train.max_grad_norm=-1 must be a finite number >= 0"),
                              ("model.logit_norm=zscore", "model.logit_norm must be one of none, standardise, rescale"),
                              ("model.term_pooling=mean", "model.term_pooling must be one of last, max, echo")]:
        with pytest.raises(ConfigError, match=message):
            load_train_config("prosper", [override])
    # an option added later, left at its old implicit value, does not change a cached model's identity
    assert "self_mine" not in cache_identity(base)["data"]["hard_negatives"] and base.data.hard_negatives.self_mine is False
    assert "graded_docs" not in cache_identity(base)["data"] and "graded_weight" not in cache_identity(base)["loss"]
    mined = load_train_config("prosper", ["data.hard_negatives.self_mine=true"])
    assert cache_identity(mined)["data"]["hard_negatives"]["self_mine"] is True
    assert "skip" not in cache_identity(base)["data"]["hard_negatives"] and base.data.hard_negatives.skip == 0
    # the family-default keys (model/family.py) left at null keep every cached row's identity
    assert not {"text_form", "bos", "term_pooling", "logit_norm", "logit_threshold"} & set(cache_identity(base)["model"])
    assert "max_grad_norm" not in cache_identity(base)["train"]
    assert cache_identity(load_train_config("prosper", ["model.logit_norm=standardise"]))["model"]["logit_norm"] == "standardise"


def test_hard_negatives_skip_the_first_ranks_and_judged_products() -> None:
    run = {"q": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}}
    corpus = {d: d for d in "abcde"}
    qrels = {"q": {"c": 1}}
    assert HardNegatives(run, qrels, corpus, top=4, seed=0, source="run").pool == {"q": ["a", "b", "d"]}
    skipped = HardNegatives(run, qrels, corpus, top=4, seed=0, source="run", skip=2)
    assert skipped.pool == {"q": ["d"]}   # a, b: the first two ranks; c: judged; e: below the top 4
    assert skipped.sample("q", 1, fallback=["a"], judged=qrels["q"]) == ["d"]


def test_mrr_at_10() -> None:
    qrels = {"a": {"x": 2, "y": 1}, "b": {"z": 2}}
    assert mrr_at_10({"a": ["y", "x"], "b": [f"n{i}" for i in range(10)] + ["z"]}, qrels, 2) == pytest.approx(0.25)
    assert mrr_at_10({"a": ["x"], "b": [], "c": ["x"]}, qrels, 2) == pytest.approx(1 / 3)   # empty or unjudged: 0


def _train_loss(trainer: Trainer) -> float:
    """Mean InfoNCE+FLOPS over every training pair in fixed batches, eval mode (no dropout), no grad."""
    trainer.encoder.eval()
    with torch.no_grad():
        losses = [float(trainer._loss(trainer.items[i:i + 8], trainer.encoder_pair_local, False)[0])
                  for i in range(0, len(trainer.items), 8)]
    return sum(losses) / len(losses)


def test_tiny_training_lowers_loss(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    cfg = small(splade_dir, train__lr=3e-4, train__epochs=3, val__enabled=False, loss__flops_ramp_steps=0,
                model__k_q=64, model__k_d=128)
    trainer = Trainer(cfg, data_dir, tmp_path / "run")
    before = _train_loss(trainer)
    summary = trainer.train()
    after = _train_loss(trainer)
    assert summary["steps"] == 15                      # 33 pairs / 8 → 5 batches × 3 epochs
    assert after < 0.8 * before, (before, after)
    log = [r for r in read_log(tmp_path / "run") if "step" in r and "loss" in r]
    assert [r["step"] for r in log] == list(range(1, 16))
    assert {"nce", "flops_q", "flops_d", "l0_q", "l0_d", "lr"} <= log[0].keys()
    assert all(r["l0_q"] <= 64 and r["l0_d"] <= 128 for r in log)
    best = load_encoder(tmp_path / "run" / "best")
    assert best.checksum() == trainer.encoder.checksum() and best.lrn is not None
    # a checkpoint as backbone is evaluated as saved (LRN weights and LFW windows included)
    again = Trainer(small(str(tmp_path / "run" / "best"), val__enabled=True), data_dir, tmp_path / "again")
    assert again.encoder.checksum() == best.checksum() and again.encoder.config.k_q == 64


def test_prosper_validation_best_checkpoint_and_resume(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    cfg = small(splade_dir, train__max_steps=2, train__save_every=1, lfw__schedule=[[200, 100], [100, 50]],
                lfw__warmup_steps=1)
    summary = Trainer(cfg, data_dir, out).train()
    epoch, first_seconds = summary["epochs"][0], summary["seconds"]
    assert 0.0 <= epoch["dev_mrr10"] <= 1.0 and epoch["dev_queries"] == 6 and epoch["dev_docs"] == 24
    assert epoch["dev_loss"] > 0 and (out / "best" / "prosper.json").is_file()
    assert (out / "last" / "trainer_state.pt").is_file()
    # resume: continues the step count and the schedule from last/
    cfg2 = small(splade_dir, train__max_steps=4, train__resume=str(out / "last"), val__enabled=False,
                 lfw__schedule=[[200, 100], [100, 50]], lfw__warmup_steps=1)
    trainer = Trainer(cfg2, data_dir, out)
    assert trainer.step == 2
    summary = trainer.train()
    assert summary["steps"] == 4
    steps = [r["step"] for r in read_log(out) if "loss" in r]
    assert steps == [1, 2, 3, 4]
    # the summary keeps the epochs and the time of the run it resumed
    assert summary["epochs"][0] == epoch and summary["resumed_at_step"] == 2 and len(summary["epochs"]) == 2
    assert summary["seconds"] >= first_seconds


def test_resumable_config_continues_from_last_without_touching_the_cache_key(tmp_path: Path) -> None:
    config = load_train_config("prosper", ["train.max_steps=9"])
    key = cache_identity(config)
    fresh = resumable(config, tmp_path / "run.partial")
    assert fresh.train.resume is None and fresh.train.save_every == 50
    (tmp_path / "run.partial" / "last").mkdir(parents=True)
    (tmp_path / "run.partial" / "last" / STATE).write_bytes(b"")
    again = resumable(config, tmp_path / "run.partial", save_every=7)
    assert again.train.resume == str(tmp_path / "run.partial" / "last") and again.train.save_every == 7
    assert config.train.resume is None and config.train.save_every is None and cache_identity(config) == key


def test_resume_finds_a_checkpoint_a_kill_left_set_aside(tmp_path: Path) -> None:
    # save_pretrained moves the old last/ aside, then renames the new one in: a kill in between leaves .last.old
    config = load_train_config("prosper", ["train.max_steps=9"])
    run = tmp_path / "run.partial"
    (run / ".last.old").mkdir(parents=True)
    (run / ".last.old" / STATE).write_bytes(b"state")
    (run / ".best.old").mkdir()
    again = resumable(config, run)
    assert again.train.resume == str(run / "last") and (run / "last" / STATE).read_bytes() == b"state"
    assert (run / "best").is_dir() and sorted(p.name for p in run.iterdir()) == ["best", "last"]
    (run / ".last.old").mkdir()   # with last/ in place, a leftover is not put over it
    assert resumable(config, run).train.resume == str(run / "last") and (run / ".last.old").is_dir()


def test_running_top_k_over_column_blocks() -> None:
    top = RunningTopK(2, 3, torch.device("cpu"))
    top.add(torch.tensor([[1.0, 5.0], [0.5, 0.2]]), 0)
    top.add(torch.tensor([[4.0], [0.9]]), 2)
    top.add(torch.tensor([[2.0, 6.0], [0.1, 0.3]]), 3)
    assert top.hits() == [[(4, 6.0), (1, 5.0), (2, 4.0)], [(2, pytest.approx(0.9)), (0, 0.5), (4, pytest.approx(0.3))]]
    short = RunningTopK(1, 3, torch.device("cpu"))
    short.add(torch.tensor([[1.0, 2.0]]), 0)
    assert short.hits() == [[(1, 2.0), (0, 1.0)]]   # fewer columns than k: no −inf filler


def test_self_mined_negatives_rank_the_catalogue_and_survive_resume(data_dir: Path, splade_dir: str,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "mine"
    negatives = {"run": None, "n": 1, "top": 5, "self_mine": True}
    cfg = small(splade_dir, train__epochs=2, train__max_steps=6, data__hard_negatives=negatives, val__enabled=False)
    trainer = Trainer(cfg, data_dir, out)
    assert trainer.hard is None                        # the first epoch has in-batch negatives only
    # mining = the exact top 5 of the whole catalogue, by dense float scores
    run = trainer.mine_negatives()
    qids = sorted({e.qid for e in trainer.items})
    qv = trainer.encoder.encode([trainer.train_queries[q] for q in qids], "query")
    dv = trainer.encoder.encode([trainer.corpus[d] for d in trainer.doc_ids], "doc")
    dense = qv @ dv.T
    column = {d: i for i, d in enumerate(trainer.doc_ids)}
    assert list(run) == qids
    for j, q in enumerate(qids):   # the five best scores, each the listed product's own (ties may swap products)
        assert list(run[q].values()) == pytest.approx(dense[j].topk(5).values.tolist(), rel=1e-5)
        assert [float(dense[j, column[d]]) for d in run[q]] == pytest.approx(list(run[q].values()), rel=1e-5)
    summary = trainer.train()
    # 5 batches an epoch: epoch 0 ends at step 5 and mines for epoch 1; the last epoch mines nothing
    assert summary["epochs"][0]["mined_queries"] == len(qids) and "mined_queries" not in summary["epochs"][1]
    assert (out / "negatives.epoch0.trec").is_file() and not (out / "negatives.epoch1.trec").exists()
    for qid, pool in trainer.hard.pool.items():        # judged-relevant products never become negatives
        assert all(trainer.train_qrels.get(qid, {}).get(d, 0) < 1 for d in pool)
    resumed = Trainer(small(splade_dir, train__epochs=2, train__max_steps=7, train__resume=str(out / "last"),
                            data__hard_negatives=negatives, val__enabled=False), data_dir, out)
    assert resumed.mined_path == out / "negatives.epoch0.trec" and resumed.hard.pool == trainer.hard.pool
    moved = tmp_path / "moved"
    out.rename(moved)   # as a finished prosper-repro step renames OUT.partial to OUT: the run is found beside last/
    again = Trainer(small(splade_dir, train__epochs=2, train__max_steps=7, train__resume=str(moved / "last"),
                          data__hard_negatives=negatives, val__enabled=False), data_dir, moved)
    assert again.mined_path == moved / "negatives.epoch0.trec" and again.hard.pool == trainer.hard.pool
    with pytest.raises(ValueError, match="self_mine=true needs data.hard_negatives.n"):
        Trainer(small(splade_dir, data__hard_negatives={"self_mine": True}), data_dir, tmp_path / "bad")


def test_validation_and_mining_share_one_catalogue_encoding(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    negatives = {"run": None, "n": 1, "top": 5, "self_mine": True}
    trainer = Trainer(small(splade_dir, data__hard_negatives=negatives), data_dir, tmp_path / "share")
    encoded: list[int] = []
    encode = trainer.encoder.encode

    def counting(texts, side="doc", batch_size=32):
        texts = list(texts)
        encoded.extend([len(texts)] if side == "doc" else [])
        return encode(texts, side, batch_size)

    trainer.encoder.encode = counting
    trainer.validate()                                 # whole catalogue (val.max_docs null): encoded once ...
    shared = trainer.mine_negatives()                  # ... and reused by mining at the same step
    assert sum(encoded) == len(trainer.doc_ids)
    trainer._catalogue = None                          # the same ranking when mining encodes afresh
    assert trainer.mine_negatives() == shared and sum(encoded) == 2 * len(trainer.doc_ids)
    trainer.step += 1                                  # a later step never reuses the vectors
    trainer.mine_negatives()
    assert sum(encoded) == 3 * len(trainer.doc_ids)


def test_graded_listwise_joins_each_querys_judged_products(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    cfg = small(splade_dir, data__graded_docs=2, loss__graded_weight=1.0, val__enabled=False, train__max_steps=2)
    trainer = Trainer(cfg, data_dir, tmp_path / "graded")
    batch = trainer.items[:4]
    _, docs, exclude, graded = trainer._batch_inputs(batch, trainer.train_queries, trainer.train_qrels, None, 2)
    extra = [len(cols) - 1 for cols in graded.columns]
    assert docs["input_ids"].size(0) == exclude.size(1) == 4 + sum(extra) and max(extra) <= 2
    for row, e in enumerate(batch):
        judged = trainer.train_qrels[e.qid]
        assert graded.columns[row][0] == row and graded.grades[row][0] == judged[e.docid] == 2
        assert len(graded.grades[row]) == 1 + min(2, len(judged) - 1)
    summary = trainer.train()
    log = [r for r in read_log(tmp_path / "graded") if "loss" in r]
    assert summary["steps"] == 2 and all("graded" in r and r["graded"] >= 0 for r in log)


def test_time_budget_ends_the_epoch_early_validated_and_saved(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "budget"
    cfg = small(splade_dir, train__epochs=3, train__max_seconds=0)
    summary = Trainer(cfg, data_dir, out).train()
    # the budget is spent after the first step: one epoch record, validated, and a best checkpoint
    assert summary["steps"] == 1 and summary["stopped_at_step"] == 1
    assert len(summary["epochs"]) == 1 and "dev_mrr10" in summary["epochs"][0]
    assert (out / "best" / "prosper.json").is_file()


def test_non_finite_loss_is_stopped_with_the_batch_named(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    cfg = small(splade_dir, loss__temperature=0.0, val__enabled=False, train__max_steps=1)
    with pytest.raises(NonFiniteError, match=r"epoch 0 batch 0 \(step 0, first qid"):
        Trainer(cfg, data_dir, tmp_path / "nan").train()
    cfg = small(splade_dir, loss__temperature=0.0, val__enabled=False, train__max_steps=2,
                train__on_nonfinite="skip")
    summary = Trainer(cfg, data_dir, tmp_path / "skip").train()
    assert summary["steps"] == 2 and summary["updates"] == 0   # batches skipped, none applied, run ends cleanly


def test_gradient_clipping_logs_the_norm_and_bounds_what_the_optimizer_sees(data_dir: Path, splade_dir: str,
                                                                             tmp_path: Path) -> None:
    assert Trainer(small(splade_dir, train__max_steps=1, val__enabled=False), data_dir, tmp_path / "mlm").max_grad_norm == 0
    cfg = small(splade_dir, train__max_steps=2, train__max_grad_norm=0.01, val__enabled=False)
    trainer = Trainer(cfg, data_dir, tmp_path / "clip")
    seen: list[float] = []
    step = trainer.optimizer.step

    def spy(*args, **kwargs):
        grads = [p.grad for p in trainer.encoder.parameters() if p.grad is not None]
        seen.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
        return step(*args, **kwargs)

    trainer.optimizer.step = spy
    trainer.train()
    log = [r for r in read_log(tmp_path / "clip") if "loss" in r]
    assert len(seen) == 2 and all(n <= 0.01 * 1.001 for n in seen)
    assert all(r["grad_norm"] > 0.01 for r in log)      # the logged norm is the one before clipping


def test_gradient_checkpointing_and_accumulation(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    cfg = small(splade_dir, train__max_steps=1, train__grad_accum=2, train__grad_checkpointing=True,
                train__warmup_epochs=0, val__enabled=False)
    trainer = Trainer(cfg, data_dir, tmp_path / "ckpt")
    before = trainer.encoder.checksum()
    summary = trainer.train()
    assert summary["steps"] == 1 and summary["updates"] == 1
    assert [r["batch"] for r in read_log(tmp_path / "ckpt") if "loss" in r] == [1]   # step 1 = micro-batches 0+1
    assert trainer.encoder.checksum() != before


@pytest.mark.slow
def test_torchrun_two_processes(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    """DDP on CPU (gloo): 2 ranks, DistributedSampler shards, negatives gathered across ranks, rank 0 saves."""
    import os
    import socket
    import subprocess
    import sys

    out = tmp_path / "ddp"
    with socket.socket() as sock:          # a free port, so parallel runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", port,
           "-m", "prosper_pyserini.train.cli", "--data", str(data_dir), "--output", str(out),
           f"model.backbone={splade_dir}", "model.max_length=24", "train.batch_size=4", "train.max_steps=2",
           "train.num_threads=1", "val.max_docs=null"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()
             if '"loss"' in line]
    assert steps == [1, 2]                      # only rank 0 logs
    assert isinstance(load_encoder(out / "best"), SparseEncoder)


def _overlap_run(data_dir: Path, path: Path) -> None:
    """A stand-in for a BM25 run: rank products by word overlap with each training query."""
    corpus = [json.loads(line) for line in (data_dir / "corpus" / "products.jsonl").read_text().splitlines()]
    run = {}
    for qid, text in read_queries(data_dir / "queries.train.tsv").items():
        words = set(text.lower().split())
        run[qid] = {d["id"]: len(words & set(d["contents"].lower().split())) + 0.01 for d in corpus}
    write_run(run, path, "overlap")


def test_cli_presets_splade_and_dense(data_dir: Path, splade_dir: str, tmp_path: Path) -> None:
    runner = CliRunner()
    common = ["--data", str(data_dir), f"model.backbone={splade_dir}", "model.max_length=24",
              "train.batch_size=8", "train.max_steps=2", "val.max_docs=null"]
    _overlap_run(data_dir, tmp_path / "bm25.trec")
    res = runner.invoke(main, ["--config", "splade", "--output", str(tmp_path / "splade"), *common,
                               f"data.hard_negatives.run={tmp_path / 'bm25.trec'}"])
    assert res.exit_code == 0, res.output
    enc = load_encoder(tmp_path / "splade" / "best")
    assert isinstance(enc, SparseEncoder) and enc.lrn is None and not enc.config.lfw
    res = runner.invoke(main, ["--config", "splade", "--config", "cpu", "--output", str(tmp_path / "p"), *common,
                               "--print-config"])
    assert res.exit_code == 0 and "lfw: false" in res.output and "lr: 0.0001" in res.output, res.output
    res = runner.invoke(main, ["--config", "dense", "--output", str(tmp_path / "dense"), *common, "model.pooling=mean"])
    assert res.exit_code == 0, res.output
    enc = load_encoder(tmp_path / "dense" / "best")
    assert isinstance(enc, DenseEncoder) and enc.config.pooling == "mean"
    res = runner.invoke(main, ["--config", "dense", "--output", str(tmp_path / "zs"), *common, "--validate-only"])
    assert res.exit_code == 0, res.output
    assert 0.0 <= json.loads(res.output.strip().splitlines()[-1])["dev_mrr10"] <= 1.0
    assert enc.encode(["drill"], "query").shape == (1, 128)
    # the SPLADE preset without a run is a clear error, as is a typo in a key
    res = runner.invoke(main, ["--config", "splade", "--output", str(tmp_path / "x"), *common])
    assert res.exit_code == 1 and "prosper-train: error:" in res.output and "hard_negatives.run" in res.output
    res = runner.invoke(main, ["--output", str(tmp_path / "x"), *common, "train.lrr=1"])
    assert res.exit_code == 2 and "train.lrr" in res.output


@pytest.mark.slow
def test_smollm2_gguf_trains_two_steps(data_dir: Path, smollm2_gguf: str, tmp_path: Path) -> None:
    cfg = small(smollm2_gguf, train__batch_size=2, model__max_length=16, train__max_steps=2, val__enabled=False,
                train__save_every=None)
    trainer = Trainer(cfg, data_dir, tmp_path / "smol")
    before = trainer.encoder.checksum()
    summary = trainer.train()
    assert summary["steps"] == 2
    log = [r for r in read_log(tmp_path / "smol") if "loss" in r]
    assert len(log) == 2 and all(r["loss"] == r["loss"] and r["loss"] < float("inf") for r in log)
    assert trainer.encoder.checksum() != before


def test_judged_negatives_run_prefers_judged_low_grades_and_falls_back():
    from prosper_pyserini.train.data import judged_negatives_run

    qrels = {"q1": {"a": 2, "b": 0, "c": 1, "d": 0}, "q2": {"e": 2}}
    fallback = {"q1": {"x": 9.0}, "q2": {"y": 3.0, "z": 2.0}, "q3": {"w": 1.0}}
    run = judged_negatives_run(qrels, fallback)
    assert run == {"q1": {"b": 2.0, "d": 1.0}, "q2": {"y": 3.0, "z": 2.0}, "q3": {"w": 1.0}}
    assert judged_negatives_run(qrels, fallback, max_grade=1)["q1"] == {"b": 3.0, "c": 2.0, "d": 1.0}


def test_tiny_dataset_reads_back(data_dir: Path) -> None:
    """The hand-written catalog makes a valid prepared folder (every judged id is in the corpus)."""
    from prosper_pyserini.data.prepared import PreparedDataset
    from prosper_pyserini.train.data import examples

    data = PreparedDataset(data_dir)
    corpus = data.texts()
    queries, qrels = data.judged_split("train", corpus)
    assert len(queries) == 30 and len(corpus) == 24
    assert len(examples(queries, qrels, 2)) == 33   # three queries have two relevant products
    assert data.judged_split("dev", corpus)[0]
    with pytest.raises(InputError, match=r"qrels.train.txt: 1 judged doc id\(s\) not in the corpus"):
        data.judged_split("train", set(corpus) - {"p01"})
