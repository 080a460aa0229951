"""``prosper-repro --dry-run``: the command a user would type for each step of a matrix, nothing run.

The paths and flags are the ones :mod:`.repro` uses (same work folder, same defaults), so the printed
commands rebuild what ``prosper-repro`` builds, one stage at a time, with the stock ``prosper-*`` tools and
``prosper-pyserini`` (Pyserini's own modules on our JVM). Fusion has no standalone command: it is listed with
what it fuses.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from prosper_pyserini.data.prepared import DEFAULT_DEV_FRACTION, DEFAULT_SEED

from .repro import Experiment, encode_settings, hard_negative_overrides, milvus_target, train_overrides, train_presets


def _cmd(*parts: Any) -> str:
    return " ".join(shlex.quote(str(p)) for p in parts)


class Planner:
    """Walks a matrix as :func:`~.repro.run_experiment` would and records each step's command once."""

    def __init__(self, exp: Experiment):
        self.exp = exp
        self.lines: list[str] = []
        self.done: set[str] = set()
        spec = {"source": "sample", "seed": DEFAULT_SEED, "dev_fraction": DEFAULT_DEV_FRACTION,
                **exp.config.get("data", {})}
        self.data = Path(spec["prepared"]) if spec["source"] == "prepared" else exp.work / "data"
        self.data_spec = spec
        self.threads = exp.search["threads"]

    def emit(self, key: str, line: str) -> None:
        if key not in self.done:
            self.done.add(key)
            self.lines.append(line)

    def queries(self, split: str) -> Path:
        return self.data / f"queries.{split}.tsv"

    def evaluation(self) -> tuple[Path, Path]:
        spec = {"split": "dev", **self.exp.config.get("evaluation", {})}
        return (Path(spec["queries"]) if spec.get("queries") else self.queries(spec["split"]),
                Path(spec["qrels"]) if spec.get("qrels") else self.data / f"qrels.{spec['split']}.txt")

    def prepare(self) -> None:
        s = self.data_spec
        if s["source"] == "prepared":
            self.emit("data", f"# data: the prepared folder {self.data}")
        elif s["source"] == "sample":
            self.emit("data", _cmd("prosper-data", "sample", "--out", self.data, "--seed", s["seed"],
                                   "--dev-fraction", s["dev_fraction"]))
        else:
            extra = ["--products", s["products"]] if s.get("products") else []
            self.emit("data", _cmd("prosper-data", "homedepot", "--raw", s["raw"], *extra, "--out", self.data,
                                   "--seed", s["seed"], "--dev-fraction", s["dev_fraction"]))

    def system(self, system: dict[str, Any], queries: Path, tag: str) -> Path:
        """Emit the commands that make ``system``'s run for ``queries``; returns that run's path."""
        name, kind = system["name"], system["type"]
        run = self.exp.runs_dir / f"{name}{tag}.trec"
        k = self.exp.search["k"]
        if kind == "bm25":
            index = self.exp.work / "indexes" / "bm25"
            self.emit("index:bm25", _cmd("prosper-pyserini", "index.lucene", "--collection", "JsonCollection",
                                         "--input", self.data / "corpus", "--index", index, "--generator",
                                         "DefaultLuceneDocumentGenerator", "--threads", self.threads,
                                         "--storePositions", "--storeDocvectors", "--storeRaw"))
            self.emit(f"search:{name}{tag}", _cmd(
                "prosper-search", "--bm25", "--index", index, "--topics", queries, "--hits", k,
                "--k1", system.get("k1", 0.9), "--b", system.get("b", 0.4), "--threads", self.threads,
                "--name", name, "--output", run))
        elif kind in ("sparse", "dense"):
            model = self.model(system)
            if system.get("model_config"):
                self.emit(f"config:{name}", f"# {name}: {model} loaded with model_config {system['model_config']} "
                                            "(prosper-repro only; the commands below use the model's own config)")
            if kind == "sparse":
                self.sparse(system, model, queries, run, tag)
            else:
                index = self.exp.work / "indexes" / name
                self.emit(f"index:{name}", _cmd("prosper-encode", "--data", self.data, "--model", model,
                                                "--output", index))
                self.emit(f"search:{name}{tag}", _cmd("prosper-search", "--system", "dense", "--model", model,
                                                      "--index", index, "--topics", queries, "--hits", k,
                                                      "--name", name, "--output", run))
        elif kind == "fusion":
            parts = [self.system(self.exp.system_named(n), queries, tag) for n in system["runs"]]
            self.emit(f"fuse:{name}{tag}", f"# {name}: {system.get('method', 'rrf')} fusion of "
                      f"{', '.join(map(str, parts))}, tuned on the dev queries (prosper-repro only) -> {run}")
        else:
            run = Path(system["path"])
            self.emit(f"run:{name}", f"# {name}: a run made elsewhere, {run} (made by: {system.get('made_by', 'not stated')})")
        return run

    def model(self, system: dict[str, Any]) -> str:
        if system.get("model_of"):
            return self.model(self.exp.system_named(system["model_of"]))
        spec = system.get("train")
        if not spec:
            return str(system["model"])
        out = self.exp.work / "checkpoints" / system["name"]
        overrides = train_overrides(spec)
        negatives = spec.get("hard_negatives")
        if negatives:
            mined = self.system(self.exp.system_named(negatives["system"]), self.queries("train"), ".train")
            if negatives.get("judged"):
                self.emit("judged", f"# judged negatives: the train qrels' grade-0 products, else {mined} "
                                    "(prosper-repro only)")
            overrides += hard_negative_overrides(negatives, mined)
        presets = [arg for preset in train_presets(spec) for arg in ("--config", preset)]
        self.emit(f"train:{system['name']}", _cmd("prosper-train", *presets, "--data", self.data, "--output", out,
                                                 *overrides))
        return str(out / "best")

    def sparse(self, system: dict[str, Any], model: str, queries: Path, run: Path, tag: str) -> None:
        name = system["name"]
        enc = encode_settings(system)
        vectors = self.exp.work / "collections" / name / "vectors"
        index = self.exp.work / "indexes" / name
        self.emit(f"encode:{name}", _cmd("prosper-encode", "--data", self.data, "--model", model, "--output", vectors,
                                         "--scale", enc["scale"], "--batch-size", enc["batch_size"],
                                         *(["--doc-top-k", enc["doc_top_k"]] if enc.get("doc_top_k") else [])))
        if system.get("engine", "lucene") == "milvus":
            uri, collection = milvus_target(self.exp, name)
            self.emit(f"milvus:{name}", _cmd("prosper-export", "milvus", "--input", vectors, "--uri", uri,
                                             "--collection", collection, "--model", model, "--replace"))
            self.emit(f"search:{name}{tag}", _cmd("prosper-search", "--system", "milvus", "--uri", uri,
                                                  "--collection", collection, "--model", model, "--queries", queries,
                                                  "--k", self.exp.search["k"], "--query-top-k", enc["query_top_k"],
                                                  "--scale", enc["scale"], "--name", name, "--output", run))
            return
        self.emit(f"index:{name}", _cmd("prosper-pyserini", "index.lucene", "--collection", "JsonVectorCollection",
                                        "--input", vectors, "--index", index, "--generator",
                                        "DefaultLuceneDocumentGenerator", "--threads", self.threads, "--impact",
                                        "--pretokenized"))
        self.emit(f"search:{name}{tag}", _cmd("prosper-search", "--impact", "--encoder", model, "--index", index,
                                              "--topics", queries, "--hits", self.exp.search["k"], "--query-top-k",
                                              enc["query_top_k"], "--scale", enc["scale"], "--threads", self.threads,
                                              "--name", name, "--output", run))


def dry_run(exp: Experiment, systems: list[dict[str, Any]]) -> list[str]:
    """Every step's command for ``systems``, in the order ``prosper-repro`` runs them, ending with the evaluation."""
    planner = Planner(exp)
    planner.prepare()
    queries, qrels = planner.evaluation()
    runs = [planner.system(s, queries, "") for s in systems]
    spec = exp.config.get("evaluation", {})
    baseline = ["--baseline", spec["baseline"]] if spec.get("baseline") in {s["name"] for s in systems} else []
    planner.lines.append(_cmd("prosper-eval", *runs, "--qrels", qrels, "--threshold", exp.threshold, *baseline))
    return planner.lines
