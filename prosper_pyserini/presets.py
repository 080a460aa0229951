"""Training configs, typed: ``configs/prosper.yaml`` holds every default once; a preset and overrides change it.

:func:`load_train_config` merges defaults ← preset ← ``key=value`` overrides with :func:`config.merge
<prosper_pyserini.config.merge>` (unknown keys rejected) and returns a :class:`TrainConfig` whose sections
are checked dataclasses (wrong types fail with the key's path). The dataclasses carry no defaults: the
YAML does, so a value is never stated twice. Below every layer that reads them (the model layer for
zero-shot encoders, the trainer, the experiment driver), so none of them imports another for a preset.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from prosper_pyserini.config import ConfigError, apply_overrides, merge, read_mapping, typed

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULTS = "prosper"


@dataclass(frozen=True)
class ModelSection:
    """The encoder (sparse keys are :class:`~prosper_pyserini.model.encoder.SparseConfig`'s, dense ones DenseConfig's)."""

    kind: Literal["sparse", "dense"]
    backbone: str
    arch: Literal["causal", "mlm"] | None
    lrn_q: bool
    lrn_d: bool
    lrn_mode: Literal["paper", "add", "review"]
    literal_only: bool
    expansion_only: bool
    lfw: bool
    k_q: int
    k_d: int
    norm_q: Literal["none", "l1", "l2"]
    norm_d: Literal["none", "l1", "l2"]
    max_length: int
    pooling: Literal["cls", "mean", "last"]
    norm: Literal["none", "l2"]
    text_form: Literal["raw", "lower_space"] | None
    bos: bool | None
    term_pooling: Literal["last", "max", "echo"] | None
    logit_norm: Literal["none", "standardise", "rescale"] | None
    logit_threshold: float | None


@dataclass(frozen=True)
class LFWSection:
    schedule: list[list[int]] | None
    warmup_steps: int
    ready_fraction: float
    history: int


@dataclass(frozen=True)
class LossSection:
    temperature: float
    lambda_q: float
    lambda_d: float
    flops_ramp_steps: int | None
    gather: bool
    graded_weight: float
    graded_temperature: float


@dataclass(frozen=True)
class HardNegativesSection:
    run: str | None
    n: int
    top: int
    skip: int
    self_mine: bool


@dataclass(frozen=True)
class DataSection:
    min_grade: int
    mask_false_negatives: bool
    graded_docs: int
    hard_negatives: HardNegativesSection


@dataclass(frozen=True)
class TrainSection:
    epochs: int
    batch_size: int
    grad_accum: int
    lr: float
    weight_decay: float
    warmup_epochs: float
    bf16: bool
    grad_checkpointing: bool
    max_steps: int | None
    max_seconds: float | None
    seed: int
    log_every: int
    num_threads: int
    resume: str | None
    save_every: int | None
    on_nonfinite: Literal["stop", "skip"]
    max_grad_norm: float | None


@dataclass(frozen=True)
class ValSection:
    enabled: bool
    max_queries: int | None
    max_docs: int | None
    rel_threshold: int
    batch_size: int


@dataclass(frozen=True)
class TrainConfig:
    """A whole training config, as ``prosper-train`` and ``prosper-repro`` resolve it."""

    model: ModelSection
    lfw: LFWSection
    loss: LossSection
    data: DataSection
    train: TrainSection
    val: ValSection

    def to_dict(self) -> dict[str, Any]:
        """The plain nested mapping (what ``config.yaml`` in a checkpoint folder holds)."""
        return dataclasses.asdict(self)

    def replace(self, **sections: Any) -> TrainConfig:
        """A copy with whole sections swapped, e.g. ``cfg.replace(train=dataclasses.replace(cfg.train, lr=1e-4))``."""
        return dataclasses.replace(self, **sections)


_POSITIVE = ("train.batch_size", "train.grad_accum", "train.epochs", "val.batch_size")


def preset_path(name_or_path: str | Path) -> Path:
    """A preset name (``prosper``, ``splade``, ``sp-llm``, ``dense``, ``cpu``; ``.yaml`` optional) or a file path."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if candidate.is_file():
        return candidate
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"{name_or_path}: no such config file or preset (presets: {known})")


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``a.b=value`` strings → nested dict; values parsed as YAML (``1e-5``, ``true``, ``[[512, 256]]``, ``null``)."""
    return apply_overrides({}, items)


def load_train_config(presets: str | Path | Sequence[str | Path] = DEFAULTS,
                      overrides: Iterable[str] | dict[str, Any] = ()) -> TrainConfig:
    """Defaults ← preset(s) ← overrides, as a checked :class:`TrainConfig`.

    Args:
        presets: a preset name or a YAML file holding only the keys it changes, or several merged in order
            (a model preset, then a training recipe: ``["splade", "cpu"]``).
        overrides: ``key=value`` strings or a nested mapping.
    Returns:
        the typed config. An unknown key is a ``KeyError``, a wrong type or a non-positive batch size a
        :class:`~prosper_pyserini.config.ConfigError`, each naming the key's path.
    """
    defaults = CONFIG_DIR / f"{DEFAULTS}.yaml"
    config = read_mapping(defaults)
    for name in [presets] if isinstance(presets, (str, Path)) else presets:
        path = preset_path(name)
        if path.resolve() != defaults.resolve():
            config = merge(config, read_mapping(path), strict=True)
    extra = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
    result = typed(TrainConfig, merge(config, extra, strict=True))
    for dotted in _POSITIVE:   # a zero batch fails deep inside torch, after the model has loaded
        section, key = dotted.split(".")
        value = getattr(getattr(result, section), key)
        if value < 1:
            raise ConfigError(f"{dotted}={value!r} must be a positive integer")
    clip = result.train.max_grad_norm
    if clip is not None and not 0 <= clip < float("inf"):
        raise ConfigError(f"train.max_grad_norm={clip!r} must be a finite number >= 0 (0 = no clipping)")
    hn = result.data.hard_negatives
    if not 0 <= hn.skip < hn.top:   # otherwise every query would silently fall back to random products
        raise ConfigError(f"data.hard_negatives.skip={hn.skip!r} must be >= 0 and below data.hard_negatives.top={hn.top!r}")
    return result


# Keys added to the presets after results were cached, each with the value every earlier run had. A config
# that leaves such a key at that value keeps the cache identity it had before the key existed, so adding an
# option to the trainer retrains nothing (see :func:`cache_identity`).
ADDED_KEYS: dict[tuple[str, ...], Any] = {("data", "hard_negatives", "self_mine"): False, ("data", "graded_docs"): 0,
                                          ("data", "hard_negatives", "skip"): 0,
                                          ("loss", "graded_weight"): 0.0, ("loss", "graded_temperature"): 1.0,
                                          # null = the family default (model/family.py): for MLMs the behaviour
                                          # before the key existed; no causal row was ever cached on CPU
                                          ("model", "text_form"): None, ("model", "bos"): None,
                                          ("model", "term_pooling"): None, ("model", "logit_norm"): None,
                                          ("model", "logit_threshold"): None, ("train", "max_grad_norm"): None}


def cache_identity(config: TrainConfig) -> dict[str, Any]:
    """``config`` as a mapping without the :data:`ADDED_KEYS` at their old implicit value: what identifies a model."""
    out = copy.deepcopy(config.to_dict())
    for path, old_value in ADDED_KEYS.items():
        *parents, leaf = path
        section = out
        for name in parents:
            section = section.get(name, {})
        if leaf in section and section[leaf] == old_value:
            del section[leaf]
    return out
