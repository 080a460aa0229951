"""``EncoderBase``: what every encoder shares (batching, device, checksum, atomic HF-layout saving).

The interface module of the model layer, as pyserini's ``encode/_base.py``: the sparse and dense encoders
subclass it, :mod:`.loading` builds them; nothing here imports either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

import torch
from torch import nn

from prosper_pyserini.data.formats import replace_dir

from .backbone import Backbone, tokenize

Side = Literal["query", "doc"]
MANIFEST = "prosper.json"
HEADS = "prosper_heads.safetensors"
MANIFEST_FORMAT = 2   # 2: sparse configs record text_form, bos, term_pooling and logit_norm (model/family.py)


def set_aside_name(target: Path) -> Path:
    """Where :meth:`save_pretrained` moves the model it replaces while the new one is renamed into place."""
    return target.with_name(f".{target.name}.old")


def restore_interrupted_save(directory: str | os.PathLike[str]) -> Path:
    """Put back a model that a kill between :meth:`save_pretrained`'s two renames left only set aside.

    The old model is moved aside before the new one is renamed into place; a kill in between (milliseconds)
    leaves ``.NAME.old`` and no ``NAME``. That old model is whole, so it is the one to resume from.

    Returns:
        ``directory`` as a path.
    """
    target = Path(directory)
    aside = set_aside_name(target)
    if not target.exists() and aside.is_dir():
        os.replace(aside, target)
    return target


class EncoderBase(nn.Module):
    """Shared plumbing: batching, device, checksum and atomic HF-layout saving."""

    backbone: Backbone

    def __init__(self, backbone: Backbone, config: Any):
        super().__init__()
        self.backbone = backbone
        self.model = backbone.model
        config.arch = config.arch or backbone.arch  # detected from the backbone unless the config fixes it

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def tokenizer(self):
        return self.backbone.tokenizer

    def input_form(self) -> dict[str, Any]:
        """How texts become ids beyond arch and length (:func:`~.backbone.tokenize`'s keyword options)."""
        return {}

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = tokenize(self.tokenizer, texts, self.config.arch, self.config.max_length, **self.input_form())
        return {k: v.to(self.device) for k, v in enc.items()}

    def checksum(self) -> str:
        """sha256 over every tensor of the state dict (name, dtype, shape, bytes), in name order.

        Identical before saving and after :func:`load_encoder` of the saved directory, so it pins provenance.
        """
        digest = hashlib.sha256()
        for name, tensor in sorted(self.state_dict().items()):
            t = tensor.detach().to("cpu").contiguous()
            digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
            digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        return digest.hexdigest()

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def save_pretrained(self, directory: str | os.PathLike[str],
                        also: Callable[[Path], None] | None = None) -> Path:
        """HF layout (backbone weights as safetensors + tokenizer) plus ``prosper.json`` and extra heads.

        Written to a temporary sibling directory and renamed into place, so a reader never sees half a model;
        ``also(folder)`` adds files before the rename (the trainer's state: a kill never parts it from its model).
        """
        from safetensors.torch import save_file

        target = restore_interrupted_save(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            self.backbone.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            extra = {k: v.detach().cpu().contiguous() for k, v in self._extra_tensors().items()}
            if extra:
                save_file(extra, tmp / HEADS)
            manifest = {"kind": self.kind, "format": MANIFEST_FORMAT, "checksum": self.checksum(),
                        "config": dataclasses.asdict(self.config)}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            if also is not None:
                also(tmp)
            replace_dir(tmp, target, set_aside_name(target))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @torch.no_grad()
    def encode(self, texts: Iterable[str], side: Side = "doc", batch_size: int = 32) -> torch.Tensor:
        """Final representations of ``texts`` as a CPU float tensor, batched, without gradients."""
        parts = [batch.float().cpu() for batch in self.encode_batches(list(texts), side, batch_size)]
        if not parts:
            return torch.zeros(0, self.output_dim)
        return torch.cat(parts)

    @torch.no_grad()
    def encode_batches(self, texts: list[str], side: Side, batch_size: int) -> Iterator[torch.Tensor]:
        """Final representations of ``texts``, ``batch_size`` at a time, left on the model's device."""
        if side not in ("query", "doc"):
            raise ValueError(f"side must be 'query' or 'doc', not {side!r}")
        was_training = self.training
        self.eval()
        # on a GPU: bf16 autocast over fp32 weights, as in training; on CPU plain fp32 (bf16 is slow there)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        try:
            for i in range(0, len(texts), batch_size):
                with autocast:
                    batch = self.represent(self.tokenize(texts[i:i + batch_size]), side)
                yield batch
        finally:
            self.train(was_training)
