"""YAML configs with command-line ``key=value`` overrides (dotted keys reach into nested mappings)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import yaml

from prosper_pyserini.data.formats import InputError


def parse_override(item: str) -> tuple[list[str], Any]:
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"override {item!r} is not key=value")
    try:
        return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ValueError(f"override {item!r}: the value is not YAML ({getattr(exc, 'problem', None) or exc})") from None


def read_yaml(path: str | Path) -> Any:
    """A YAML file; bad YAML (a tab in the indentation, say) is an :class:`InputError` at FILE:LINE."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            return yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise InputError(path, mark.line + 1 if mark else None, f"invalid YAML ({problem})") from None


def apply_overrides(config: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``config`` with each ``a.b.c=value`` applied; values are parsed as YAML scalars/lists."""
    result = copy.deepcopy(config)
    for item in overrides:
        path, value = parse_override(item)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a mapping")
            node = child
        node[path[-1]] = value
    return result


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """``extends: FILE`` (relative to this file) starts from that config; this file's top-level keys replace its.

    So a sweep beside a matrix restates only what differs, not the data and evaluation settings.
    """
    config = read_yaml(path) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a config must be a YAML mapping")
    base = config.pop("extends", None)
    if base is not None:
        config = {**load_config(Path(path).parent / base), **config}
    return apply_overrides(config, overrides)
