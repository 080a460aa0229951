"""``SparseEncoder`` (PROSPER, SPLADE, SP-LLM): the model contract of DESIGN.md.

Term weights ``w = log(1 + ReLU(logits))`` over the vocabulary, the logits optionally standardised per text
first (``logit_norm``). Causal LMs pool the last real text token (right padding + appended EOS, index from the
attention mask) and apply the LM head at that position only, or max-pool over the text (``term_pooling: max``)
or over its second copy (``echo``); MLMs max-pool the saturated logits over unmasked tokens. LRN (eq. 7-9),
literal/expansion masks, LFW (eq. 10) and per-side normalisation (eq. 11) follow, in that order. Keys left
``None`` take their family's default (:mod:`.family`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Literal

import torch
from torch import nn

from .backbone import Arch, Backbone, TextForm, load_backbone
from .base import EncoderBase, Side
from .family import resolve_sparse_defaults
from .lrn import LRN
from .sparse import (
    active_terms,
    conditional_topk,
    gather_rows,
    last_token_index,
    literal_indicator,
    log_saturate,
    max_pool_saturate,
    normalise,
    segment_max_saturate,
    standardise_logits,
)


@dataclass
class SparseConfig:
    """Everything that defines a sparse encoder beyond the backbone weights (saved as ``prosper.json``)."""

    backbone: str = ""
    arch: Arch | None = None          # None: detected from the backbone
    mlm_head: Literal["model", "tied"] | None = None   # tied: sentence encoders without an MLM head
    lrn_q: bool = True
    lrn_d: bool = True
    lrn_mode: Literal["paper", "add", "review"] = "paper"
    lfw: bool = True
    k_q: int = 256
    k_d: int = 512
    norm_q: Literal["none", "l1", "l2"] = "l2"
    norm_d: Literal["none", "l1", "l2"] = "none"
    literal_only: bool = False
    expansion_only: bool = False
    max_length: int = 64
    vocab_size: int = 0
    hidden_size: int = 0
    # None: the family default (model/family.py), resolved when the encoder is built
    text_form: TextForm | None = None                              # raw | lower_space
    bos: bool | None = None                                        # None: as the tokenizer itself does
    term_pooling: Literal["last", "max", "echo"] | None = None     # last/echo: causal LMs only
    logit_norm: Literal["none", "standardise", "rescale"] | None = None
    logit_threshold: float | None = None   # standardise: the starting τ (learnt; the trained value is in the heads file)

    def __post_init__(self) -> None:
        if self.lrn_mode not in ("paper", "add", "review"):
            raise ValueError(f"lrn_mode must be paper, add or review, not {self.lrn_mode!r}")
        for name in ("norm_q", "norm_d"):
            if getattr(self, name) not in ("none", "l1", "l2"):
                raise ValueError(f"{name} must be none, l1 or l2, not {getattr(self, name)!r}")
        if self.literal_only and self.expansion_only:
            raise ValueError("literal_only and expansion_only exclude each other")
        if self.k_q <= 0 or self.k_d <= 0 or self.max_length < 2:
            raise ValueError("k_q, k_d must be positive and max_length ≥ 2")
        if self.text_form not in (None, "raw", "lower_space"):
            raise ValueError(f"text_form must be raw or lower_space, not {self.text_form!r}")
        if self.term_pooling not in (None, "last", "max", "echo"):
            raise ValueError(f"term_pooling must be last, max or echo, not {self.term_pooling!r}")
        if self.logit_norm not in (None, "none", "standardise", "rescale"):
            raise ValueError(f"logit_norm must be none, standardise or rescale, not {self.logit_norm!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SparseConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass
class SparseOutput:
    raw: torch.Tensor        # w: saturated logits, before LRN/LFW/normalisation (FLOPS is taken on this)
    final: torch.Tensor      # W: after LRN, literal/expansion masks, LFW, normalisation
    literal: torch.Tensor    # I: [B, V] bool
    l0_before_lfw: torch.Tensor   # [B] active terms per vector before LFW (drives the dynamic LFW schedule)


class SparseEncoder(EncoderBase):
    """Learned sparse encoder over the backbone's vocabulary; ``kind = "sparse"``."""

    kind = "sparse"

    def __init__(self, backbone: Backbone, config: SparseConfig):
        super().__init__(backbone, config)
        resolve_sparse_defaults(config, backbone.tokenizer)
        config.mlm_head = None if config.arch == "causal" else ("model" if backbone.has_lm_head else "tied")
        embeddings = self.model.get_input_embeddings()
        hidden = self.model.config.get_text_config().hidden_size
        if config.mlm_head == "tied":
            # a sentence encoder: score the vocabulary against its own input embeddings (+ a learned bias)
            self.head_bias = nn.Parameter(torch.zeros(embeddings.weight.size(0)))
            vocab = embeddings.weight.size(0)
        else:
            self.head_bias = None
            vocab = self.model.get_output_embeddings().weight.size(0)
        defer = config.arch != "causal" and config.mlm_head == "model" and config.logit_norm == "none"
        self._pooled_bias = self._defer_decoder_bias() if defer else None
        self.logit_threshold = (nn.Parameter(torch.tensor([float(config.logit_threshold)]))
                                if config.logit_norm == "standardise" else None)
        config.vocab_size, config.hidden_size = vocab, hidden
        self.config = config
        self.lrn = LRN(hidden, vocab) if (config.lrn_q or config.lrn_d) else None
        self.lfw_override: tuple[int, int] | None = None   # (k_d, k_q) set by the trainer's LFW schedule
        self.lfw_enabled = config.lfw
        self._exclude = set(self.tokenizer.all_special_ids) | {self.tokenizer.pad_token_id}
        softcap = getattr(self.model.config.get_text_config(), "final_logit_softcapping", None)
        self._softcap = float(softcap) if softcap else None

    def _defer_decoder_bias(self) -> torch.Tensor | None:
        """Make the MLM decoder skip its bias; :meth:`forward` adds it after max pooling instead.

        ``max_t(x_t + b) = max_t(x_t) + b``, so the result is unchanged, but adding a [V] bias to every
        token's [V] logits was a full extra pass over the [B, T, V] tensor (a third of encoding time).
        Only the instance's ``forward`` changes: parameters and saved checkpoints are untouched.
        """
        decoder = self.model.get_output_embeddings()
        if not isinstance(decoder, nn.Linear) or decoder.bias is None:
            return None
        decoder.forward = lambda x: nn.functional.linear(x, decoder.weight)  # type: ignore[method-assign]
        return decoder.bias

    @property
    def output_dim(self) -> int:
        return self.config.vocab_size

    def _extra_tensors(self) -> dict[str, torch.Tensor]:
        extra = {f"lrn.{k}": v for k, v in self.lrn.state_dict().items()} if self.lrn is not None else {}
        if self.head_bias is not None:
            extra["head_bias"] = self.head_bias
        if self.logit_threshold is not None:
            extra["logit_threshold"] = self.logit_threshold
        return extra

    def input_form(self) -> dict[str, Any]:
        cfg = self.config
        return {"text_form": cfg.text_form, "bos": cfg.bos, "echo": cfg.term_pooling == "echo"}

    def _normalise_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """``logit_norm`` on head outputs [..., V], before any pooling (a per-text offset is per position too)."""
        norm = self.config.logit_norm
        if norm == "standardise":
            return standardise_logits(logits.float(), self.logit_threshold)
        if norm == "rescale":   # Zeng et al. 2025: the head scaled by hidden^-1/4
            return logits * self.config.hidden_size ** -0.25
        return logits

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.head_bias is not None:
            logits = hidden @ self.model.get_input_embeddings().weight.T + self.head_bias
        else:
            logits = self.model.get_output_embeddings()(hidden)
        if self._softcap:  # Gemma-style final logit soft-capping, as the LM itself would apply it
            logits = torch.tanh(logits / self._softcap) * self._softcap
        return logits

    def _mlm_head(self):
        """The MLM head as a callable on [N, H] hidden states, or None when it cannot be split off.

        Applying the head to the real tokens only, not to the padded [B, T, H] batch, skips the padding's
        share of the [·, V] logits, which is over half of a random training batch of product titles.
        """
        if self.config.mlm_head == "tied":
            return self._logits
        for name in ("cls", "lm_head"):   # BERT-style and RoBERTa-style MLM heads
            head = getattr(self.model, name, None)
            if isinstance(head, nn.Module) and not self._softcap:
                return head
        return None

    def forward(self, batch: dict[str, torch.Tensor], side: Side) -> SparseOutput:
        ids, mask = batch["input_ids"], batch["attention_mask"]
        cfg = self.config
        if cfg.arch == "causal":
            hidden = self.model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
            if cfg.term_pooling == "last":
                pooled = gather_rows(hidden, last_token_index(mask))       # [B, H]: LM head at this position only
                w = log_saturate(self._normalise_logits(self._logits(pooled)).float())
                h = log_saturate(pooled.float())
            else:   # max over the text's positions (echo: over its second copy), the head at those only
                pool = batch["pool_mask"]
                w = segment_max_saturate(self._normalise_logits(self._logits(hidden[pool.bool()])), pool)
                h = max_pool_saturate(hidden, pool)
        else:
            head = self._mlm_head()
            if head is not None:
                hidden = (self.model.base_model if cfg.mlm_head == "model" else self.model)(
                    input_ids=ids, attention_mask=mask).last_hidden_state
                w = segment_max_saturate(self._normalise_logits(head(hidden[mask.bool()])), mask, self._pooled_bias)
            else:
                out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=self.lrn is not None)
                hidden = out.hidden_states[-1] if self.lrn is not None else None
                logits = self._normalise_logits(out.logits)
                w = max_pool_saturate(logits, mask, self._pooled_bias, inplace=logits is out.logits)
            # LRN input for MLMs: the analogue of Last(·) is the max over tokens of the saturated hidden states
            h = max_pool_saturate(hidden, mask) if hidden is not None else None
        literal = literal_indicator(ids, mask, w.size(-1), self._exclude)
        weights = w
        if self.lrn is not None and (cfg.lrn_q if side == "query" else cfg.lrn_d):
            weights = self.lrn.combine(w, self.lrn(h), literal, cfg.lrn_mode)
        if cfg.literal_only:
            weights = weights * literal.to(weights.dtype)
        elif cfg.expansion_only:
            weights = weights * (~literal).to(weights.dtype)
        l0_before = active_terms(weights)
        if self.lfw_enabled:
            k_d, k_q = self.lfw_override or (cfg.k_d, cfg.k_q)
            weights = conditional_topk(weights, k_q if side == "query" else k_d)
        weights = normalise(weights, cfg.norm_q if side == "query" else cfg.norm_d)
        return SparseOutput(w, weights, literal, l0_before)

    def represent(self, batch: dict[str, torch.Tensor], side: Side) -> torch.Tensor:
        return self(batch, side).final

    @cached_property
    def vocab_terms(self) -> list[str]:
        """Surface string of each vocabulary id (model rows the tokenizer lacks get ``[unusedN]``)."""
        tokens = self.tokenizer.convert_ids_to_tokens(list(range(self.config.vocab_size)))
        return [t if t is not None else f"[unused{i}]" for i, t in enumerate(tokens)]

    @torch.no_grad()
    def literal_mask(self, texts: Iterable[str]) -> torch.Tensor:
        """[B, V] bool: the vocabulary ids of each text's own tokens (pad/special tokens excluded)."""
        enc = self.tokenize(list(texts))
        return literal_indicator(enc["input_ids"], enc["attention_mask"], self.config.vocab_size, self._exclude).cpu()

    @classmethod
    def from_backbone(cls, name_or_path: str, config: SparseConfig) -> "SparseEncoder":
        with_head = None if config.mlm_head is None else config.mlm_head == "model"
        config.backbone = config.backbone or name_or_path
        return cls(load_backbone(name_or_path, config.arch, with_head), config)
