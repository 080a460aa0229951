"""``load_encoder``: a saved checkpoint or a plain backbone → the right encoder, on the right device.

The name→class step of the model layer (as pyserini's ``encode/__init__.py``): it alone knows both the
sparse and the dense encoder, so neither imports the other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from .base import HEADS, MANIFEST, EncoderBase
from .dense import DenseConfig, DenseEncoder
from .encoder import SparseConfig, SparseEncoder
from .family import LEGACY_SPARSE

log = logging.getLogger(__name__)


def _load_extra(encoder: EncoderBase, directory: Path) -> None:
    from safetensors.torch import load_file

    path = directory / HEADS
    if not path.exists():
        return
    tensors = load_file(str(path))
    lrn = {k.removeprefix("lrn."): v for k, v in tensors.items() if k.startswith("lrn.")}
    if lrn:
        encoder.lrn.load_state_dict(lrn)
    if "head_bias" in tensors:
        encoder.head_bias.data.copy_(tensors["head_bias"])
    if "logit_threshold" in tensors:
        encoder.logit_threshold.data.copy_(tensors["logit_threshold"])


def load_encoder(name_or_path: str | os.PathLike[str], config: str | dict[str, Any] | None = None,
                 **overrides: Any) -> EncoderBase:
    """A trained checkpoint (directory with ``prosper.json``) or a zero-shot encoder on a plain backbone.

    For a plain backbone, ``config`` is a preset name/path or a dict of model keys; by default the
    ``sp-llm`` preset for causal LMs and ``splade`` for MLMs (no LRN: an untrained LRN layer would only
    add random weights). ``overrides`` are model keys (``lrn_q=False``, ``k_q=64`` …).
    """
    path = Path(name_or_path)
    manifest_path = path / MANIFEST
    if manifest_path.is_file():
        if config is not None:
            log.info("%s is a checkpoint: its own %s model config applies", path, MANIFEST)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        # a checkpoint from before the family defaults keeps the inputs and head it was trained with
        legacy = LEGACY_SPARSE if manifest.get("format", 1) < 2 else {}
        encoder = _build(manifest["kind"], str(path), {**legacy, **manifest["config"], **overrides})
        if isinstance(encoder, SparseEncoder):
            # keep the original backbone name for provenance, not the checkpoint directory
            encoder.config.backbone = manifest["config"].get("backbone") or str(path)
        _load_extra(encoder, path)
        return encoder.to(default_device()).eval()
    model_section = {**_model_section(config, str(name_or_path)), **overrides, "backbone": str(name_or_path)}
    encoder = _build(model_section.get("kind", "sparse"), str(name_or_path), model_section)
    return encoder.to(default_device()).eval()


def _build(kind: str, backbone: str, values: dict[str, Any]) -> EncoderBase:
    """The one sparse/dense switch: ``kind`` → encoder class, ``values`` → its config."""
    if kind == "dense":
        return DenseEncoder.from_backbone(backbone, DenseConfig.from_dict(values))
    if kind == "sparse":
        return SparseEncoder.from_backbone(backbone, SparseConfig.from_dict(values))
    raise ValueError(f"model.kind must be sparse or dense, not {kind!r}")

def default_device() -> torch.device:
    """Where loaded encoders run: ``PROSPER_DEVICE`` if set, else the GPU when there is one."""
    return torch.device(os.environ.get("PROSPER_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))


def _model_section(config: str | dict[str, Any] | None, name_or_path: str) -> dict[str, Any]:
    from prosper_pyserini.presets import load_train_config

    if isinstance(config, dict):
        return dict(config.get("model", config))
    if config is None:
        from transformers import AutoConfig

        from .backbone import detect_arch, resolve

        location, gguf_file, hint = resolve(name_or_path)
        hf = AutoConfig.from_pretrained(location, **({"gguf_file": gguf_file} if gguf_file else {}))
        config = "sp-llm" if detect_arch(hf, gguf_file, hint)[0] == "causal" else "splade"
    return dataclasses.asdict(load_train_config(config).model)
