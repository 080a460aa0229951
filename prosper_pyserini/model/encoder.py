"""``SparseEncoder`` (PROSPER, SPLADE, SP-LLM) and ``load_encoder``: the model contract of DESIGN.md.

Term weights ``w = log(1 + ReLU(logits))`` over the vocabulary. Causal LMs pool the last real text token
(right padding + appended EOS, index from the attention mask) and apply the LM head at that position only;
MLMs max-pool the saturated logits over unmasked tokens. LRN (eq. 7-9), literal/expansion masks, LFW
(eq. 10) and per-side normalisation (eq. 11) follow, in that order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

import torch
from torch import nn

from .backbone import Arch, Backbone, load_backbone, tokenize
from .lrn import LRN
from .sparse import (
    conditional_topk,
    gather_rows,
    last_token_index,
    literal_indicator,
    log_saturate,
    max_pool_saturate,
    normalise,
    segment_max_saturate,
)

Side = Literal["query", "doc"]
MANIFEST = "prosper.json"
HEADS = "prosper_heads.safetensors"


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

    @property
    def pooling(self) -> str:
        return "last" if self.arch == "causal" else "max"

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

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = tokenize(self.tokenizer, texts, self.config.arch, self.config.max_length)
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

    def save_pretrained(self, directory: str | os.PathLike[str]) -> Path:
        """HF layout (backbone weights as safetensors + tokenizer) plus ``prosper.json`` and extra heads.

        Written to a temporary sibling directory and renamed into place, so a reader never sees half a model.
        """
        from safetensors.torch import save_file

        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            self.backbone.model.save_pretrained(tmp)
            self.tokenizer.save_pretrained(tmp)
            extra = {k: v.detach().cpu().contiguous() for k, v in self._extra_tensors().items()}
            if extra:
                save_file(extra, tmp / HEADS)
            manifest = {"kind": self.kind, "format": 1, "checksum": self.checksum(),
                        "config": dataclasses.asdict(self.config)}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            old = None
            if target.exists():
                old = target.with_name(f".{target.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
            os.replace(tmp, target)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
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


class SparseEncoder(EncoderBase):
    """Learned sparse encoder over the backbone's vocabulary; ``kind = "sparse"``."""

    kind = "sparse"

    def __init__(self, backbone: Backbone, config: SparseConfig):
        super().__init__(backbone, config)
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
        self._pooled_bias = self._defer_decoder_bias() if config.arch != "causal" and config.mlm_head == "model" else None
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
        return extra

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
            pooled = gather_rows(hidden, last_token_index(mask))       # [B, H]: LM head at this position only
            w = log_saturate(self._logits(pooled).float())
            h = log_saturate(pooled.float())
        else:
            head = self._mlm_head()
            if head is not None:
                hidden = (self.model.base_model if cfg.mlm_head == "model" else self.model)(
                    input_ids=ids, attention_mask=mask).last_hidden_state
                w = segment_max_saturate(head(hidden[mask.bool()]), mask, self._pooled_bias)
            else:
                out = self.model(input_ids=ids, attention_mask=mask, output_hidden_states=self.lrn is not None)
                hidden = out.hidden_states[-1] if self.lrn is not None else None
                w = max_pool_saturate(out.logits, mask, self._pooled_bias, inplace=True)
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
        l0_before = (weights != 0).sum(dim=-1)
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


def load_encoder(name_or_path: str | os.PathLike[str], config: str | dict[str, Any] | None = None,
                 **overrides: Any) -> EncoderBase:
    """A trained checkpoint (directory with ``prosper.json``) or a zero-shot encoder on a plain backbone.

    For a plain backbone, ``config`` is a preset name/path or a dict of model keys; by default the
    ``sp-llm`` preset for causal LMs and ``splade`` for MLMs (no LRN: an untrained LRN layer would only
    add random weights). ``overrides`` are model keys (``lrn_q=False``, ``k_q=64`` …).
    """
    from .dense import DenseConfig, DenseEncoder

    path = Path(name_or_path)
    manifest_path = path / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        values = {**manifest["config"], **overrides}
        if manifest["kind"] == "dense":
            encoder: EncoderBase = DenseEncoder.from_backbone(str(path), DenseConfig.from_dict(values))
        else:
            encoder = SparseEncoder.from_backbone(str(path), SparseConfig.from_dict(values))
            # keep the original backbone name for provenance, not the checkpoint directory
            encoder.config.backbone = manifest["config"].get("backbone") or str(path)
        _load_extra(encoder, path)
        return encoder.to(default_device()).eval()
    model_section = _model_section(config, str(name_or_path))
    model_section.update(overrides)
    model_section["backbone"] = str(name_or_path)
    if model_section.get("kind", "sparse") == "dense":
        encoder = DenseEncoder.from_backbone(str(name_or_path), DenseConfig.from_dict(model_section))
    else:
        encoder = SparseEncoder.from_backbone(str(name_or_path), SparseConfig.from_dict(model_section))
    return encoder.to(default_device()).eval()


def default_device() -> torch.device:
    """Where loaded encoders run: ``PROSPER_DEVICE`` if set, else the GPU when there is one."""
    return torch.device(os.environ.get("PROSPER_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu"))


def _model_section(config: str | dict[str, Any] | None, name_or_path: str) -> dict[str, Any]:
    from prosper_pyserini.train.config import load_config

    if isinstance(config, dict):
        return dict(config.get("model", config))
    if config is None:
        from transformers import AutoConfig

        from .backbone import detect_arch, resolve

        location, gguf_file, hint = resolve(name_or_path)
        hf = AutoConfig.from_pretrained(location, **({"gguf_file": gguf_file} if gguf_file else {}))
        config = "sp-llm" if detect_arch(hf, gguf_file, hint)[0] == "causal" else "splade"
    return dict(load_config(config)["model"])
