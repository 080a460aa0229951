"""The one config loader: YAML files, ``extends``, deep merge, ``key=value`` overrides, typed sections.

Every config of the project goes through here: experiment YAMLs (``eval/*.yaml``, :func:`load_config`) and
training presets (:mod:`prosper_pyserini.presets`, which also turns the merged mapping into typed sections
with :func:`typed`). Errors name the key's dotted path, so a typo fails before any work starts.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, TypeVar, Union

import yaml

from prosper_pyserini.data.formats import InputError

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value or key that cannot be used; the message names the key's dotted path."""


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


def read_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (an empty file is an empty mapping)."""
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise InputError(path, 1, "a config must be a YAML mapping")
    return data


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


def merge(base: dict[str, Any], update: dict[str, Any], strict: bool = False, where: str = "") -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else (lists included) is replaced.

    Args:
        strict: a key of ``update`` absent from ``base`` is a :class:`KeyError` naming its path (a typo
            would otherwise silently do nothing).
    Returns:
        a new mapping; neither argument is changed.
    """
    out = copy.deepcopy(base)
    for key, value in update.items():
        dotted = f"{where}{key}"
        if strict and key not in out:
            raise KeyError(f"unknown config key {dotted!r}")
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = merge(out[key], value, strict, f"{dotted}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """A YAML config; ``extends: FILE`` (relative to this file) starts from that config, deep-merged.

    So a sweep beside a matrix restates only what differs, not the data and evaluation settings.
    """
    config = read_mapping(path)
    base = config.pop("extends", None)
    if base is not None:
        config = merge(load_config(Path(path).parent / base), config)
    return apply_overrides(config, overrides)


def typed(cls: type[T], values: Any, where: str = "") -> T:
    """``values`` (a mapping from YAML) as the dataclass ``cls``, every key checked against its type hints.

    Unknown and missing keys and wrong types are :class:`ConfigError` naming the dotted path. Numbers YAML
    reads as text (``3e-5``) become floats where a float is expected; an int is a valid float and kept as
    written (so a config's identity does not change with its spelling).
    """
    if not isinstance(values, dict):
        raise ConfigError(f"{where.rstrip('.') or 'config'}: expected a mapping, found {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"unknown config key {where + unknown[0]!r} (known: {', '.join(sorted(fields))})")
    missing = sorted(fields - set(values))
    if missing:
        raise ConfigError(f"missing config key {where + missing[0]!r}")
    return cls(**{name: _value(hints[name], values[name], where + name) for name in fields})


def _value(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _value(option, value, where)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if dataclasses.is_dataclass(hint):
        return typed(hint, value, where + ".")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, args))}, not {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, not {value!r}")
        return [_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)] if args else value
    if hint is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{where}={value!r} is not a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}={value!r} is not a number")
        return value
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}={value!r} must be an integer")
    if hint in (bool, str) and not isinstance(value, hint):
        raise ConfigError(f"{where}={value!r} must be a {hint.__name__}")
    return value
