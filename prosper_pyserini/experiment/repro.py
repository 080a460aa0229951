"""Run a declared experiment (data × systems → runs → evaluation → report) with one command.

The config (``eval/*.yaml``) names the data, the systems and the evaluation queries; every step is cached
(:mod:`prosper_pyserini.steps`), so a re-run only redoes what changed and ``--force`` redoes everything.
Any config key can be overridden as ``key=value`` (e.g. ``evaluation.queries=test.tsv
evaluation.qrels=test.qrels``) to point the same experiment at other queries without touching code.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from pathlib import Path
from typing import Any, Callable

from prosper_pyserini.checksums import sha256_tree
from prosper_pyserini.config import ConfigError, load_config
from prosper_pyserini.data.formats import InputError, read_qrels, read_queries, read_run, run_checksum, write_run
from prosper_pyserini.data.prepared import DEFAULT_DEV_FRACTION, DEFAULT_SEED, PreparedDataset
from prosper_pyserini.encode.quantize import DEFAULT_QUERY_TOP_K, DEFAULT_SCALE
from prosper_pyserini.options import (
    COUNT,
    FRACTION,
    INTEGER,
    NON_NEGATIVE,
    OPEN_UNIT,
    POSITIVE,
    POSITIVE_NUMBER,
    UNIT,
    WORD,
    Rule,
)
from prosper_pyserini.steps import Steps

log = logging.getLogger(__name__)
ENCODE_BATCH_SIZE = 64   # texts per model call when a matrix encodes; part of each encode step's cache key


class Experiment:
    """One config, resolved: where things go, which data, which queries are evaluated."""

    def __init__(self, config: dict[str, Any], config_path: Path, overrides: list[str], force: bool,
                 verbose: bool = False):
        self.config, self.config_path, self.overrides = config, config_path, overrides
        self.verbose = verbose
        self.name: str = config.get("name", config_path.stem)
        self.work = Path(config.get("work_dir", f"work/{self.name}"))
        self.runs_dir = Path(config.get("runs_dir", f"runs/{self.name}"))
        self.report_dir = Path(config.get("report_dir", f"reports/{self.name}"))
        self.search = {"k": 1000, "threads": 2, **config.get("search", {})}
        self.threshold: int = config.get("evaluation", {}).get("threshold", 2)
        self.steps = Steps(force=force)
        self.data: PreparedDataset | None = None
        self.stats: dict[str, dict[str, Any]] = {}
        self.checksums: dict[str, str] = {}
        self.model_checksums: dict[str, str] = {}

    def system_named(self, name: str) -> dict[str, Any]:
        """The system of the config called ``name`` (names are checked before any work)."""
        return next(s for s in self.config["systems"] if s["name"] == name)

    def sparsity_table(self) -> list[dict[str, Any]] | str:
        rows = [{"system": name, **stats["sparsity"]} for name, stats in self.stats.items() if "sparsity" in stats]
        return rows or "no sparse system in this experiment"

    # ------------------------------------------------------------------------------------------ data

    def prepare_data(self) -> PreparedDataset:
        from prosper_pyserini.data.homedepot import prepare_homedepot, prepare_sample

        spec = {"source": "sample", "seed": DEFAULT_SEED, "dev_fraction": DEFAULT_DEV_FRACTION,
                **self.config.get("data", {})}
        if spec["source"] == "prepared":
            self.data = PreparedDataset.load(spec["prepared"])
        else:
            inputs = dict(spec)
            for key in ("raw", "products"):
                if spec.get(key):
                    inputs[f"{key}_sha256"] = sha256_tree(spec[key])

            def produce(out: Path) -> None:
                if spec["source"] == "sample":
                    prepare_sample(out, seed=spec["seed"], dev_fraction=spec["dev_fraction"])
                elif spec["source"] == "homedepot":
                    prepare_homedepot(spec["raw"], out, products=spec.get("products"), seed=spec["seed"],
                                      dev_fraction=spec["dev_fraction"])
                else:
                    raise ConfigError(f"data.source must be sample, homedepot or prepared, not {spec['source']!r}")

            self.data = PreparedDataset.load(self.steps.run("data", self.work / "data", inputs, produce))
        self.checksums["corpus"] = sha256_tree(self.data.corpus)
        return self.data

    def query_set(self, role: str) -> tuple[Path, Path]:
        """Queries and qrels for ``evaluation`` (the reported table) or ``tuning`` (dev, for fusion weights)."""
        assert self.data is not None
        spec = {"split": "dev", **self.config.get("evaluation", {})}
        if role == "tuning":
            return self.data.queries_path("dev"), self.data.qrels_path("dev")
        queries = Path(spec["queries"]) if spec.get("queries") else self.data.queries_path(spec["split"])
        qrels = Path(spec["qrels"]) if spec.get("qrels") else self.data.qrels_path(spec["split"])
        return queries, qrels

    # --------------------------------------------------------------------------------------- systems

    def run_system(self, system: dict[str, Any], queries: Path, tag: str) -> Path:
        kind = system.get("type")
        handler = SYSTEMS.get(kind)
        if handler is None:
            raise ConfigError(f"system {system.get('name')!r}: unknown type {kind!r} (known: {', '.join(SYSTEMS)})")
        return handler(self, system, queries, tag)

    def java_step(self, step: str, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``work(*args, **kwargs)`` with the terminal kept for progress and tables: Anserini's INFO lines and
        Java's warnings go to ``WORK/logs/STEP.log`` (everything stays on the terminal with ``-v``)."""
        from prosper_pyserini.java import output_to

        log_path = None if self.verbose else self.work / "logs" / f"{step.replace(':', '-')}.log"
        if log_path is not None:
            log.info("%s: Java output in %s", step, log_path)
        with output_to(log_path):
            return work(*args, **kwargs)

    def search_step(self, system: dict[str, Any], queries: Path, tag: str, upstream: dict[str, Any],
                    search: Callable[[dict[str, str]], dict[str, dict[str, float]]]) -> Path:
        name = system["name"]
        out = self.runs_dir / f"{name}{tag}.trec"
        inputs = {"system": identity(system), "search": self.search, "queries": sha256_tree(queries), **upstream}

        def produce(partial: Path) -> None:
            write_run(self.java_step(f"search:{name}{tag}", search, read_queries(queries)), partial, tag=name)

        return self.steps.run(f"search:{name}{tag}", out, inputs, produce)


# ------------------------------------------------------------------------------------------- systems


def identity(system: dict[str, Any]) -> dict[str, Any]:
    """What makes a system's outputs: its config without the ``expected`` scores checked against them."""
    return {k: v for k, v in system.items() if k != "expected"}


def bm25_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    from prosper_pyserini.index.lucene import run_indexer
    from prosper_pyserini.search.bm25 import DEFAULT_B, DEFAULT_K1, bm25_search

    assert exp.data is not None
    corpus_key = exp.checksums["corpus"]
    index = exp.steps.run(
        "index:bm25", exp.work / "indexes" / "bm25", {"corpus": corpus_key},
        lambda out: exp.java_step("index:bm25", run_indexer, [
            "-collection", "JsonCollection", "-input", str(exp.data.corpus.parent), "-index", str(out), "-generator",
            "DefaultLuceneDocumentGenerator", "-threads", str(exp.search["threads"]), "-storePositions",
            "-storeDocvectors", "-storeRaw"]),
    )
    k1, b = system.get("k1", DEFAULT_K1), system.get("b", DEFAULT_B)
    return exp.search_step(system, queries, tag, {"index": corpus_key},
                           lambda topics: bm25_search(str(index), topics, k=exp.search["k"], k1=k1, b=b,
                                                      threads=exp.search["threads"]))


def train_presets(spec: dict[str, Any]) -> list[str]:
    """A system's ``train.config``: one preset or a list merged in order (``[splade, cpu]``); ``prosper`` if unset.

    Raises:
        ConfigError: ``train.config`` is neither a name nor a list of names.
    """
    presets = spec.get("config", "prosper")
    if isinstance(presets, str):
        return [presets]
    if not (isinstance(presets, list) and all(isinstance(p, str) for p in presets)):
        raise ConfigError(f"train.config must be a preset (or file) name or a list of them, not {presets!r}")
    return list(presets)


def train_overrides(spec: dict[str, Any]) -> list[str]:
    """A system's ``train.overrides`` mapping as ``prosper-train`` key=value arguments."""
    return [f"{k}={json.dumps(v)}" for k, v in (spec.get("overrides") or {}).items()]


def hard_negative_overrides(negatives: dict[str, Any], run: str | Path) -> list[str]:
    """A system's ``train.hard_negatives`` spec as ``prosper-train`` overrides, mining from ``run``."""
    return [f"data.hard_negatives.run={run}", f"data.hard_negatives.n={negatives.get('n', 1)}",
            f"data.hard_negatives.top={negatives.get('top', 100)}"]


def mined_run_checksum(run: Path) -> str:
    """:func:`~prosper_pyserini.data.formats.run_checksum` of a hard-negative run, computed once per file version."""
    stat = run.stat()
    return _run_checksum(str(run), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _run_checksum(path: str, size: int, mtime_ns: int) -> str:   # a 9k-query run takes about 12 s to read
    return run_checksum(path)


def judged_negatives_step(exp: Experiment, fallback_run: Path) -> Path:
    """The train queries' judged grade-0 products as a run (``hard_negatives.judged: true``), else the system's."""
    from prosper_pyserini.train.data import judged_negatives_run

    assert exp.data is not None
    qrels = exp.data.qrels_path("train")
    out = exp.work / "negatives" / f"judged-{fallback_run.stem}.trec"
    inputs = {"qrels": sha256_tree(qrels), "fallback": sha256_tree(fallback_run)}
    return exp.steps.run(f"negatives:judged-{fallback_run.stem}", out, inputs, lambda partial: write_run(
        judged_negatives_run(read_qrels(qrels), read_run(fallback_run)), partial, tag="judged"))


def model_step(exp: Experiment, system: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model a system searches with: trained here (``train:``), used as given (``model:``) or another
    system's (``model_of:``, the same model encoded or searched with other settings, not trained twice).

    Returns the model path or name and the cache inputs that identify it.
    """
    if system.get("model_of"):
        return model_step(exp, exp.system_named(system["model_of"]))
    spec = system.get("train")
    if not spec:
        return system["model"], {"model": system["model"]}
    from prosper_pyserini.presets import cache_identity, load_train_config
    from prosper_pyserini.train.trainer import resumable, train

    assert exp.data is not None
    overrides = train_overrides(spec)
    # what identifies the model is the resolved config below, not how the YAML spelled it (a preset or overrides)
    inputs: dict[str, Any] = {"data": exp.checksums["corpus"], "train_qrels": sha256_tree(exp.data.qrels_path("train"))}
    negatives = spec.get("hard_negatives")
    if negatives:
        source = exp.system_named(negatives["system"])
        mined = exp.run_system(source, exp.data.queries_path("train"), ".train")
        if negatives.get("judged"):
            mined = judged_negatives_step(exp, mined)
        overrides += hard_negative_overrides(negatives, mined)
        inputs["hard_negatives"] = mined_run_checksum(mined)
    config = load_train_config(train_presets(spec), overrides)
    inputs["config"] = cache_identity(config)  # the resolved config: a changed preset file retrains too
    if negatives:   # the mined run is keyed by its content above, not by where this experiment keeps it
        del inputs["config"]["data"]["hard_negatives"]["run"]
    # a stopped training continues from its last checkpoint when the same command runs again
    # shared: the same training under another name in this work_dir (another experiment's row) is not run twice
    out = exp.steps.run(f"train:{system['name']}", exp.work / "checkpoints" / system["name"], inputs,
                        lambda partial: train(resumable(config, partial), exp.data.root, partial), resumable=True,
                        shared=True)
    exp.stats.setdefault(system["name"], {})["training"] = json.loads((out / "summary.json").read_text())
    best = out / "best"
    return str(best if best.is_dir() else out / "last"), inputs


def encode_settings(system: dict[str, Any]) -> dict[str, Any]:
    """A sparse system's ``encode:`` over the defaults; ``doc_top_k`` only when stated, so older keys stay."""
    return {"scale": DEFAULT_SCALE, "batch_size": ENCODE_BATCH_SIZE, "query_top_k": DEFAULT_QUERY_TOP_K,
            **system.get("encode", {})}


def sparse_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    """Learned sparse model: (train) → encode the corpus → Lucene impact index → impact search."""
    from prosper_pyserini.encode.collection import encode_corpus, read_vectors
    from prosper_pyserini.encode.queries import encode_queries, read_query_vectors, write_query_vectors
    from prosper_pyserini.eval.sparsity import sparsity_stats
    from prosper_pyserini.index.lucene import run_indexer
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.search.impact import ProsperQueryEncoder, impact_search, vectors_by_text

    assert exp.data is not None
    name = system["name"]
    model, model_inputs = model_step(exp, system)
    enc = encode_settings(system)
    loaded: dict[str, Any] = {}

    def encoder() -> Any:
        if "encoder" not in loaded:
            loaded["encoder"] = load_encoder(model, system.get("model_config"))
        return loaded["encoder"]

    # the corpus steps key on the default query cut (a query-side setting): changing it re-encodes the queries only
    corpus = {**model_inputs, "model_config": system.get("model_config"),
              "encode": {**enc, "query_top_k": DEFAULT_QUERY_TOP_K}}
    upstream = {**corpus, "encode": enc}
    # the step's folder holds the collection (vectors/, what Anserini reads) and its metadata beside it
    encoded = exp.steps.run(
        f"encode:{name}", exp.work / "collections" / name, corpus,
        lambda out: encode_corpus(encoder(), exp.data.corpus, out / "vectors", model_name=model,
                                  scale=enc["scale"], batch_size=enc["batch_size"],
                                  top_k=enc.get("doc_top_k") or None), shared=True)
    collection = encoded / "vectors"
    exp.model_checksums[name] = json.loads((encoded / "vectors.summary.json").read_text())["model_checksum"]
    milvus = system.get("engine", "lucene") == "milvus"
    if milvus:   # the same collection served by Milvus's embedded engine instead of Lucene
        uri, target = milvus_step(exp, name, collection, corpus, lambda: encoder().vocab_terms)
    else:
        index = exp.steps.run(
            f"index:{name}", exp.work / "indexes" / name, corpus,
            lambda out: exp.java_step(f"index:{name}", run_indexer, [
                "-collection", "JsonVectorCollection", "-input", str(collection), "-index", str(out), "-generator",
                "DefaultLuceneDocumentGenerator", "-threads", str(exp.search["threads"]), "-impact", "-pretokenized"]),
            shared=True)
    query_vectors = exp.work / "queries" / f"{name}{tag}.jsonl"
    def encode_query_file(out: Path) -> None:
        topics = read_queries(queries)
        top_k = enc["query_top_k"] or None   # 0 keeps every term, as prosper-search --query-top-k 0
        write_query_vectors(encode_queries(encoder(), topics, top_k=top_k, scale=enc["scale"]), topics, out)

    exp.steps.run(f"encode-queries:{name}{tag}", query_vectors, {**upstream, "queries": sha256_tree(queries)},
                  encode_query_file)
    vectors = read_query_vectors(query_vectors)
    if not tag:
        exp.stats.setdefault(name, {})["sparsity"] = sparsity_stats((v for _, v in read_vectors(collection)),
                                                                    vectors.values())
    if milvus:
        from prosper_pyserini.export.milvus import search_collection, term_ids

        return exp.search_step(system, queries, tag, {**upstream, "query_vectors": sha256_tree(query_vectors)},
                               lambda topics: search_collection(
                                   uri, target, {q: vectors[q] for q in topics}, term_ids(encoder().vocab_terms),
                                   k=exp.search["k"], model_checksum=exp.model_checksums[name]))
    return exp.search_step(system, queries, tag, {**upstream, "query_vectors": sha256_tree(query_vectors)},
                           lambda topics: impact_search(str(index), topics, ProsperQueryEncoder(
                               vectors=vectors_by_text(vectors, topics)), k=exp.search["k"],
                               threads=exp.search["threads"]))


def milvus_target(exp: Experiment, name: str) -> tuple[str, str]:
    """The embedded Milvus file and collection name that serve sparse system ``name`` (``engine: milvus``)."""
    collection = "".join(ch if ch.isalnum() else "_" for ch in name)
    return str(exp.work / "milvus" / f"{name}.db"), collection if not collection[0].isdigit() else f"_{collection}"


def milvus_step(exp: Experiment, name: str, collection: Path, inputs: dict[str, Any],
                vocab_terms: Callable[[], Any]) -> tuple[str, str]:
    """Load ``collection`` into its Milvus file (a cached step whose output is the load's record), again if the
    file no longer holds those vectors. Returns the URI and collection name."""
    from prosper_pyserini.export.milvus import holds, load_collection, term_ids

    uri, target = milvus_target(exp, name)
    record = exp.work / "milvus" / f"{name}.json"
    if record.is_file() and not holds(uri, target, json.loads(record.read_text())):
        record.unlink()   # the file was removed or changed since: the step's record no longer describes it

    def produce(out: Path) -> None:
        loaded = load_collection(collection, uri, target, term_ids(vocab_terms()), exp.model_checksums[name],
                                 replace=True)
        out.write_text(json.dumps(loaded, indent=2))

    exp.steps.run(f"milvus:{name}", record, inputs, produce)
    return uri, target


def dense_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    """Dense bi-encoder: (train) → embed the corpus into a FAISS flat inner-product index → search."""
    from prosper_pyserini.index.faiss import build_faiss_index
    from prosper_pyserini.model import load_encoder
    from prosper_pyserini.search.dense import dense_search

    assert exp.data is not None
    name = system["name"]
    model, model_inputs = model_step(exp, system)
    loaded: dict[str, Any] = {}

    def encoder() -> Any:
        if "encoder" not in loaded:
            loaded["encoder"] = load_encoder(model, system.get("model_config") or {"model": {"kind": "dense"}})
        return loaded["encoder"]

    upstream = {**model_inputs, "model_config": system.get("model_config")}
    index = exp.steps.run(f"index:{name}", exp.work / "indexes" / name, upstream,
                          lambda out: build_faiss_index(encoder(), exp.data.corpus, out, model_name=model),
                          shared=True)
    return exp.search_step(system, queries, tag, upstream,
                           lambda topics: dense_search(str(index), topics, encoder(), k=exp.search["k"]))


def fusion_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    """Fuse the runs of other systems of the matrix, with parameters tuned on the dev queries."""
    from prosper_pyserini.search.fusion import fuse_runs, tune_fusion

    components = [exp.system_named(n) for n in system["runs"]]   # check_systems named any unknown one before work
    method, metric = system.get("method", "rrf"), system.get("metric", "mrr@10")
    tune_queries, tune_qrels = exp.query_set("tuning")
    tune_tag = tag if tune_queries == queries else ".dev"
    tune_runs = [exp.run_system(c, tune_queries, tune_tag) for c in components]
    eval_runs = [exp.run_system(c, queries, tag) for c in components]
    params_file = exp.work / "fusion" / f"{system['name']}.json"
    inputs = {"system": identity(system), "runs": [sha256_tree(p) for p in tune_runs], "qrels": sha256_tree(tune_qrels)}
    exp.steps.run(f"tune:{system['name']}", params_file, inputs, lambda out: out.write_text(json.dumps(
        tune_fusion([read_run(p) for p in tune_runs], read_qrels(tune_qrels), method, metric=metric,
                    threshold=exp.threshold))))
    params = json.loads(params_file.read_text())
    exp.stats.setdefault(system["name"], {})["fusion"] = {"method": method, "params": params, "tuned_on": str(tune_queries)}
    return exp.search_step(system, queries, tag, {"runs": [sha256_tree(p) for p in eval_runs], "params": params},
                           lambda topics: fuse_runs([read_run(p) for p in eval_runs], method, params, k=exp.search["k"]))


def run_file_system(exp: Experiment, system: dict[str, Any], queries: Path, tag: str) -> Path:
    """A run made elsewhere (``path:``, e.g. on a lent GPU by ``made_by:``), evaluated beside the others.

    Only for the evaluation queries it was made for; ``stats:`` optionally names a JSON file whose
    ``sparsity`` and ``training`` entries join the report, as a sparse system's would.
    """
    path = Path(system["path"])
    if not path.is_file():
        raise InputError(path, None, f"no such run (system {system['name']!r} is made by: "
                                     f"{system.get('made_by', 'not stated')})")
    if tag or queries != exp.query_set("evaluation")[0]:
        raise ConfigError(f"system {system['name']!r} is a run file made for the evaluation queries "
                          "only; it cannot be searched for other queries or mine hard negatives")
    if system.get("stats"):
        stats = json.loads(Path(system["stats"]).read_text(encoding="utf-8"))
        exp.stats.setdefault(system["name"], {}).update({k: stats[k] for k in ("sparsity", "training") if k in stats})
    return path


SYSTEMS: dict[str, Callable[[Experiment, dict[str, Any], Path, str], Path]] = {
    "bm25": bm25_system,
    "sparse": sparse_system,
    "dense": dense_system,
    "fusion": fusion_system,
    "run": run_file_system,
}


# The keys a config may have: a misspelt key (``serach.k``, ``kl:``) would otherwise be ignored without a word.
# Top-level keys starting with ``x-`` hold YAML anchors and are free-form.
CONFIG_KEYS: dict[str, set[str] | None] = {
    "name": None, "work_dir": None, "runs_dir": None, "report_dir": None, "systems": None, "verify": {"ok", "okish"},
    "data": {"source", "seed", "dev_fraction", "raw", "products", "prepared"},
    "search": {"k", "threads"},
    "evaluation": {"split", "queries", "qrels", "threshold", "metrics", "baseline", "test", "correction", "alpha"},
}
SYSTEM_KEYS: dict[str, set[str]] = {
    "bm25": {"k1", "b"},
    "sparse": {"model", "train", "model_of", "encode", "model_config", "engine"},
    "dense": {"model", "train", "model_of", "model_config"},
    "fusion": {"runs", "method", "metric"},
    "run": {"path", "stats", "made_by"},
}
DATA_SOURCES = ("sample", "homedepot", "prepared")
NESTED_KEYS: dict[str, set[str]] = {
    "train": {"config", "overrides", "hard_negatives"},
    "encode": {"scale", "batch_size", "query_top_k", "doc_top_k"},
    "hard_negatives": {"system", "n", "top", "judged"},
}


def _unknown(where: str, mapping: Any, known: set[str]) -> list[str]:
    if not isinstance(mapping, dict):
        return [f"{where}: expected a mapping, found {mapping!r}"]
    return [f"unknown config key '{where}.{k}' (known: {', '.join(sorted(known))})" if where
            else f"unknown config key {k!r} (known: {', '.join(sorted(known))})"
            for k in mapping if k not in known]


# The range of every scalar setting, stated once (prosper_pyserini/options.py holds the rules the CLIs use too).
VALUE_RULES: dict[str, Rule] = {
    "name": WORD, "data.seed": INTEGER, "data.dev_fraction": FRACTION, "search.k": POSITIVE, "search.threads": POSITIVE,
    "evaluation.threshold": COUNT, "evaluation.alpha": OPEN_UNIT, "evaluation.baseline": WORD,
}
SYSTEM_VALUE_RULES: dict[str, Rule] = {
    "name": WORD, "k1": NON_NEGATIVE, "b": UNIT, "encode.scale": POSITIVE_NUMBER, "encode.batch_size": POSITIVE,
    "train.hard_negatives.n": COUNT, "train.hard_negatives.top": POSITIVE,
}


def _at(mapping: Any, dotted: str) -> Any:
    """The value at ``a.b.c`` of nested mappings, or None where any level is absent."""
    for key in dotted.split("."):
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping


def check_values(config: dict[str, Any]) -> list[str]:
    """Values out of their range (a seed of 1.5, a cutoff of 0, alpha 1.5, a path as a system name), by path."""
    problems = [rule.problem(path, value) for path, rule in VALUE_RULES.items()
                if (value := _at(config, path)) is not None]
    for i, system in enumerate(config.get("systems") or []):
        problems += [rule.problem(f"systems[{i}].{path}", value) for path, rule in SYSTEM_VALUE_RULES.items()
                     if (value := _at(system, path)) is not None]
    metrics = _at(config, "evaluation.metrics")
    if metrics is not None:
        from prosper_pyserini.eval.metrics import Metric

        if not isinstance(metrics, list) or not metrics:
            problems.append(f"evaluation.metrics must be a non-empty list of metric names, not {metrics!r}")
        else:
            for metric in metrics:
                try:
                    Metric.parse(str(metric), 2)
                except ValueError as err:
                    problems.append(f"evaluation.metrics: {err}")
    return [p for p in problems if p]


def check_keys(config: dict[str, Any]) -> list[str]:
    """Unknown or misplaced keys of an experiment config, each named by its path (``search.kk``)."""
    problems = _unknown("", {k: v for k, v in config.items() if not str(k).startswith("x-")}, set(CONFIG_KEYS))
    for section, known in CONFIG_KEYS.items():
        if known is not None and config.get(section) is not None:
            problems += _unknown(section, config[section], known)
    source = (config.get("data") or {}).get("source", "sample") if isinstance(config.get("data"), dict) else None
    if source not in (None, *DATA_SOURCES):
        problems.append(f"data.source must be {', '.join(DATA_SOURCES)}, not {source!r}")
    problems += check_values(config)
    systems = config.get("systems")
    if not isinstance(systems, list) or not systems:
        return problems + ["'systems' must be a non-empty list of systems"]
    for i, system in enumerate(systems):
        if not isinstance(system, dict):
            problems.append(f"systems[{i}]: expected a mapping, found {system!r}")
            continue
        where, kind = f"systems[{i}]", system.get("type")
        if kind in SYSTEM_KEYS:
            problems += _unknown(where, system, {"name", "type", "expected", *SYSTEM_KEYS[kind]})
        for key in ("train", "encode"):
            if isinstance(system.get(key), dict):
                problems += _unknown(f"{where}.{key}", system[key], NESTED_KEYS[key])
        for key in ("query_top_k", "doc_top_k"):
            top_k = system["encode"].get(key, 0) if isinstance(system.get("encode"), dict) else 0
            if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
                problems.append(f"{where}.encode.{key} must be 0 (every term) or a positive integer, not {top_k!r}")
        if kind == "sparse" and system.get("engine", "lucene") not in ("lucene", "milvus"):
            problems.append(f"{where}.engine must be lucene or milvus, not {system.get('engine')!r}")
        negatives = (system.get("train") or {}).get("hard_negatives") if isinstance(system.get("train"), dict) else None
        if negatives is not None:
            problems += _unknown(f"{where}.train.hard_negatives", negatives, NESTED_KEYS["hard_negatives"])
    return problems


def check_expected(config: dict[str, Any]) -> list[str]:
    """Problems of the ``expected`` scores and ``verify`` tolerances: numbers, of metrics the matrix evaluates."""
    from prosper_pyserini.eval.metrics import DEFAULT_METRICS

    metrics = set((config.get("evaluation") or {}).get("metrics") or DEFAULT_METRICS)
    problems = []
    for system in config.get("systems") or []:
        expected = system.get("expected") if isinstance(system, dict) else None
        if expected is None:
            continue
        if not isinstance(expected, dict):
            problems.append(f"system {system.get('name')!r}: expected must map metrics to scores")
            continue
        for metric, value in expected.items():
            if metric not in metrics:
                problems.append(f"system {system.get('name')!r}: expected {metric!r} is not evaluated "
                                f"(metrics: {', '.join(sorted(metrics))})")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"system {system.get('name')!r}: expected {metric}={value!r} is not a number")
    for key, value in (config.get("verify") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append(f"verify.{key}={value!r} must be a non-negative number")
    return problems


def check_systems(config: dict[str, Any]) -> None:
    """Every problem of the ``systems`` list at once, before any work: a typo must not surface after an hour.

    Checks names, types, what each system searches with, training configs (resolved as ``prosper-train``
    would, so unknown keys fail here) and the systems that hard negatives and fusions refer to.
    """
    from prosper_pyserini.presets import load_train_config

    problems = check_keys(config)
    systems = [s for s in config.get("systems") or [] if isinstance(s, dict)]
    names = [s.get("name") for s in systems]
    problems += [f"system #{i + 1}: no name" for i, n in enumerate(names) if not n]
    problems += check_expected(config)
    problems += [f"system {n!r}: defined twice" for n in sorted({n for n in names if n and names.count(n) > 1})]
    for system in systems:
        name, kind = system.get("name"), system.get("type")
        if kind not in SYSTEMS:
            problems.append(f"system {name!r}: unknown type {kind!r} (known: {', '.join(SYSTEMS)})")
        elif kind == "fusion":
            problems += [f"system {name!r}: fuses unknown system {n!r}" for n in system.get("runs") or [] if n not in names]
        elif kind == "run" and not system.get("path"):
            problems.append(f"system {name!r}: a run system needs 'path'")
        elif kind in ("sparse", "dense"):
            spec, source = system.get("train"), system.get("model_of")
            if sum(bool(system.get(k)) for k in ("train", "model", "model_of")) != 1:
                problems.append(f"system {name!r}: needs one of 'train', 'model' or 'model_of'")
            if source and not any(s.get("name") == source and s.get("type") == kind and not s.get("model_of")
                                  for s in systems):
                problems.append(f"system {name!r}: model_of must name a {kind} system that trains or names its "
                                f"model, not {source!r}")
            if spec:
                negatives = (spec.get("hard_negatives") or {}).get("system")
                if negatives and negatives not in names:
                    problems.append(f"system {name!r}: hard negatives from unknown system {negatives!r}")
                try:
                    presets = train_presets(spec)
                except ConfigError as err:
                    problems.append(f"system {name!r}: {err}")
                    continue
                try:
                    load_train_config(presets, train_overrides(spec))
                except (ValueError, KeyError, FileNotFoundError) as err:
                    problems.append(f"system {name!r}: training config: {err.args[0] if isinstance(err, KeyError) else err}")
    if problems:
        raise ConfigError("; ".join(problems))


# ---------------------------------------------------------------------------------------- evaluation


def evaluate_and_report(exp: Experiment, run_files: dict[str, Path], qrels: Path, command: str,
                        readme: Path | None = None, elapsed: float = 0.0) -> tuple[Path, Any]:
    """The ranx table (printed and written) and the report folder with plots, statistics and provenance.

    Returns the report's path and the :class:`~prosper_pyserini.eval.metrics.EvalResults`.
    """
    from prosper_pyserini.eval import tables
    from prosper_pyserini.eval.metrics import DEFAULT_METRICS, evaluate_files
    from prosper_pyserini.eval.plots import plot_hit_curves
    from prosper_pyserini.eval.report import collect_provenance, splice_block, write_report
    from prosper_pyserini.eval.significance import mark_significance
    from prosper_pyserini.java import java_info

    spec = {"metrics": list(DEFAULT_METRICS), "baseline": None, "test": "student", "correction": "holm",
            "alpha": 0.05, **exp.config.get("evaluation", {})}
    results, _, _ = evaluate_files([str(p) for p in run_files.values()], str(qrels), spec["metrics"],
                                   exp.threshold, spec["test"])
    if spec["baseline"] in run_files:
        mark_significance(results, spec["baseline"], spec["correction"], spec["alpha"])
    for report in results.validation:
        for message in report.messages():
            log.warning("%s", message)
    tables.print_table(results)
    folder = exp.report_dir
    tables.write_tables(results, folder / "results")
    tables.write_per_query(results, folder / "per_query.tsv")
    plots = plot_hit_curves(results, folder / "hit_at_k")
    assert exp.data is not None
    sections = {
        "sparsity": exp.sparsity_table(),
        "timings": {step: f"{seconds:.1f} s" + (" (reused)" if step in exp.steps.reused else "")
                    for step, seconds in exp.steps.timings.items()},
        "config": exp.config,
        "overrides": exp.overrides or "none",
        "data": exp.data.manifest(),
        "training": {name: stats["training"] for name, stats in exp.stats.items() if "training" in stats} or "none",
        "fusion": {name: stats["fusion"] for name, stats in exp.stats.items() if "fusion" in stats} or "none",
    }
    provenance = collect_provenance(command=command, java=java_info(), models=exp.model_checksums,
                                    data_files={"corpus": exp.data.corpus, "queries": queries_of(exp),
                                                "qrels": qrels})
    report = write_report(folder, results, plots, sections, provenance, title=f"prosper-repro: {exp.name}")
    if readme is not None:
        splice_block(readme, f"prosper-repro:{exp.name}",
                     readme_block(exp, results, command, elapsed))
    return report, results


def readme_block(exp: Experiment, results: Any, command: str, seconds: float) -> str:
    """The results section a README carries: command, table with significance, sparsity, time per step kind."""
    from tabulate import tabulate

    from prosper_pyserini.eval import tables

    kinds: dict[str, dict[str, float]] = {}
    for step, took in exp.steps.timings.items():
        kind, _, name = step.partition(":")
        if not name or kind == "data":
            continue
        name = name.removesuffix(".dev").removesuffix(".train")
        kinds.setdefault(name, {})[kind] = kinds.setdefault(name, {}).get(kind, 0.0) + took / 60
    columns = sorted({k for row in kinds.values() for k in row})
    timing = tabulate([[name] + [f"{row[k]:.1f}" if k in row else "" for k in columns] for name, row in kinds.items()],
                      ["system (minutes)"] + columns, tablefmt="github", disable_numparse=True)
    sparsity = exp.sparsity_table()
    parts = [f"```bash\n{command}\n```",
             f"Wall time {seconds / 60:.1f} min on {time.strftime('%Y-%m-%d')}, reusing {len(exp.steps.reused)} "
             "steps of earlier runs (the step times below are each step's own, as recorded when it ran).",
             tables.to_markdown(results).strip()]
    if isinstance(sparsity, list):
        parts.append(tabulate(sparsity, headers="keys", tablefmt="github", floatfmt=".2f"))
    parts.append(timing)
    return "\n\n".join(parts)


def queries_of(exp: Experiment) -> Path:
    return exp.query_set("evaluation")[0]


def load_experiment(config_path: str | Path, overrides: list[str], only: list[str] = (),
                    force: bool = False, verbose: bool = False) -> tuple[Experiment, list[dict[str, Any]]]:
    """The experiment of a YAML config and the systems to run, every problem found before any work.

    Args:
        config_path: the experiment YAML.
        overrides: ``key=value`` items applied to it.
        only: system names to run (all when empty).
        force: redo every step even where a cached output matches.
        verbose: leave Java's output on the terminal instead of each step's log file.
    Raises:
        ConfigError: unknown keys, systems or types; InputError: the YAML itself at FILE:LINE.
    """
    config = load_config(config_path, overrides)
    check_systems(config)
    unknown = sorted(set(only) - {s.get("name") for s in config["systems"]})
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: no such system (systems: "
                          f"{', '.join(str(s.get('name')) for s in config['systems'])})")
    systems = [s for s in config["systems"] if not only or s["name"] in only]
    return Experiment(config, Path(config_path), list(overrides), force, verbose), systems


def run_experiment(exp: Experiment, systems: list[dict[str, Any]], readme: Path | None = None,
                   command: str = "prosper-repro") -> tuple[Path, Any]:
    """Run ``systems`` end to end and write the report (and ``readme``'s block).

    Returns the report's path and the evaluation results (:class:`~prosper_pyserini.eval.metrics.EvalResults`).

    Raises:
        LockedError: another process is running an experiment in the same ``work_dir``.
    """
    from prosper_pyserini.locks import exclusive

    started = time.perf_counter()
    with exclusive(exp.work, "work_dir"):   # two runs would remove each other's partial outputs
        exp.prepare_data()
        queries, qrels = exp.query_set("evaluation")
        run_files = {s["name"]: exp.run_system(s, queries, tag="") for s in systems}
        return evaluate_and_report(exp, run_files, qrels, command, readme, time.perf_counter() - started)
