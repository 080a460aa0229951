"""``DenseEncoder``: a DPR-style bi-encoder baseline trained by the same trainer (InfoNCE, no FLOPS)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch

from .backbone import Arch, Backbone, load_backbone
from .base import EncoderBase, Side
from .sparse import gather_rows, last_token_index, normalise


@dataclass
class DenseConfig:
    backbone: str = ""
    arch: Arch | None = None
    pooling: Literal["cls", "mean", "last"] = "cls"
    norm: Literal["none", "l2"] = "none"
    max_length: int = 64
    hidden_size: int = 0

    def __post_init__(self) -> None:
        if self.pooling not in ("cls", "mean", "last"):
            raise ValueError(f"dense pooling must be cls, mean or last, not {self.pooling!r}")
        if self.norm not in ("none", "l2"):
            raise ValueError(f"dense norm must be none or l2, not {self.norm!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DenseConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in names}
        if "norm" not in values and "norm_d" in values:
            values["norm"] = values["norm_d"]
        return cls(**values)


class DenseEncoder(EncoderBase):
    """Pools the backbone's last hidden layer ([CLS], masked mean, or last real token) into one vector."""

    kind = "dense"

    def __init__(self, backbone: Backbone, config: DenseConfig):
        super().__init__(backbone, config)
        config.hidden_size = self.model.config.get_text_config().hidden_size
        self.config = config

    @property
    def output_dim(self) -> int:
        return self.config.hidden_size

    def forward(self, batch: dict[str, torch.Tensor], side: Side) -> torch.Tensor:
        ids, mask = batch["input_ids"], batch["attention_mask"]
        hidden = self.model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
        if self.config.pooling == "cls":
            pooled = hidden[:, 0]
        elif self.config.pooling == "mean":
            m = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1)
        elif self.config.arch == "causal":
            pooled = gather_rows(hidden, last_token_index(mask))
        else:  # MLM: the last unmasked position ([SEP])
            pooled = gather_rows(hidden, mask.long().sum(1) - 1)
        return normalise(pooled, self.config.norm)

    def represent(self, batch: dict[str, torch.Tensor], side: Side) -> torch.Tensor:
        return self(batch, side)

    @classmethod
    def from_backbone(cls, name_or_path: str, config: DenseConfig) -> "DenseEncoder":
        config.backbone = config.backbone or name_or_path
        return cls(load_backbone(name_or_path, config.arch, with_head=False if config.arch != "causal" else None),
                   config)
