"""Training presets: ``configs/prosper.yaml`` holds the paper's defaults; a preset and ``key=value`` override it.

Below every layer that reads them (the model layer for zero-shot encoders, the trainer, the experiment
driver), beside :mod:`prosper_pyserini.config`, so none of them imports another for a preset.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

from prosper_pyserini.config import apply_overrides, read_yaml

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULTS = "prosper"


def _read(path: Path) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}:1: a config must be a YAML mapping")
    return data


def preset_path(name_or_path: str | Path) -> Path:
    """A preset name (``prosper``, ``splade``, ``sp-llm``, ``dense``, with or without ``.yaml``) or a file path."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / (path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml")
    if candidate.is_file():
        return candidate
    known = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"{name_or_path}: no such config file or preset (presets: {known})")


def merge(base: dict[str, Any], update: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Deep merge; a key absent from ``base`` is an error (catches typos that would silently do nothing)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{where}{key}"
        if key not in out:
            raise KeyError(f"unknown config key {dotted!r}")
        if isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = merge(out[key], value, f"{dotted}.")
        else:
            out[key] = value
    return out


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``a.b=value`` strings → nested dict; values parsed as YAML (``1e-5``, ``true``, ``[[512, 256]]``, ``null``)."""
    return apply_overrides({}, items)


def load_train_config(name_or_path: str | Path = DEFAULTS, overrides: Iterable[str] | dict[str, Any] = ()) -> dict[str, Any]:
    """Defaults ← preset ← overrides. Numbers written like ``3e-5`` (which YAML reads as text) are coerced."""
    config = _read(CONFIG_DIR / f"{DEFAULTS}.yaml")
    path = preset_path(name_or_path)
    if path.resolve() != (CONFIG_DIR / f"{DEFAULTS}.yaml").resolve():
        config = merge(config, _read(path))
    extra = overrides if isinstance(overrides, dict) else parse_overrides(overrides)
    config = merge(config, extra)
    for section, key in _NUMERIC:
        value = config[section][key]
        if isinstance(value, str):
            try:
                config[section][key] = float(value)
            except ValueError:
                raise ValueError(f"{section}.{key}={value!r} is not a number") from None
    for section, key in _POSITIVE:  # a zero batch fails deep inside torch, after the model has loaded
        value = config[section][key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{section}.{key}={value!r} must be a positive integer")
    return config


# Keys added to the presets after results were cached, each with the value every earlier run had. A config
# that leaves such a key at that value keeps the cache identity it had before the key existed, so adding an
# option to the trainer retrains nothing (see :func:`cache_identity`).
ADDED_KEYS: dict[tuple[str, ...], Any] = {("data", "hard_negatives", "self_mine"): False}


def cache_identity(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without the :data:`ADDED_KEYS` that sit at their old implicit value: what identifies a model."""
    out = copy.deepcopy(config)
    for path, old_value in ADDED_KEYS.items():
        *parents, leaf = path
        section = out
        for name in parents:
            section = section.get(name, {})
        if leaf in section and section[leaf] == old_value:
            del section[leaf]
    return out


_POSITIVE = [("train", "batch_size"), ("val", "batch_size")]
_NUMERIC = [("loss", "temperature"), ("loss", "lambda_q"), ("loss", "lambda_d"), ("train", "lr"),
            ("train", "weight_decay"), ("train", "warmup_epochs")]
