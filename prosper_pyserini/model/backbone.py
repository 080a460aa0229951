"""Load any Hugging Face backbone offline: a causal LM (hub id, local dir, GGUF) or an MLM (BERT family).

Weights are always float32 on CPU here (GGUF is dequantized on load); the trainer moves them to the device
and uses bf16 autocast there. Names such as ``splade-tiny`` or ``smollm2-135m`` are resolved through
``prosper_pyserini.weights.resolve_model`` when that module is available.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

log = logging.getLogger(__name__)

Arch = Literal["causal", "mlm"]
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4   # glibc mallopt parameters


def keep_freed_memory() -> None:
    """Let glibc keep freed memory for reuse instead of returning each large block to the system.

    Every training step allocates and frees [tokens, vocabulary] tensors of hundreds of MB; by default glibc
    maps and unmaps each one, and the page faults of the fresh mappings cost a large share of a CPU step
    (measured by ``benchmarks/train_step.py``; README, "Performance"). A no-op where the C library is not glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_MAX, 0)                  # large blocks come from the heap, not fresh mappings
        libc.mallopt(M_TRIM_THRESHOLD, 2**30)        # and up to 1 GiB of freed heap stays for the next step
    except (OSError, AttributeError):
        pass


def trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc ``malloc_trim``; a no-op elsewhere).

    :func:`keep_freed_memory` keeps freed blocks for reuse; CPU training frees ``[batch, vocabulary]``
    tensors whose sizes vary with each batch's token count, so over a multi-epoch row the arenas fragment and
    resident memory climbs without any more live tensors. The trainer trims every so many updates, paying the
    page faults of a trim once in that many steps.
    """
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class Backbone:
    model: nn.Module          # *ForCausalLM, *ForMaskedLM, or a bare encoder (AutoModel)
    tokenizer: object
    arch: Arch
    has_lm_head: bool         # False: a sentence encoder, the sparse encoder ties a head to its embeddings
    source: str               # what the user asked for, for provenance


def resolve(name_or_path: str) -> tuple[str, str | None, str | None]:
    """(directory or hub id, gguf file name or None, kind hint or None), via ``weights.resolve_model`` if present."""
    try:
        from prosper_pyserini.weights import resolve_model  # lazy: written in parallel, optional here
    except ImportError:
        resolve_model = None
    if resolve_model is not None:
        ref = resolve_model(name_or_path)
        return str(ref.path), ref.gguf_file, getattr(ref, "kind", None)
    path = Path(name_or_path)
    if path.suffix == ".gguf" and path.is_file():
        return str(path.parent), path.name, "causal"
    return name_or_path, None, None


def detect_arch(config, gguf_file: str | None, hint: str | None) -> tuple[Arch, bool]:
    """Causal or MLM, and whether an LM head exists, from the config (GGUF files are always causal LMs)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if gguf_file or hint == "causal":
        return "causal", True
    if hint == "sentence":
        return "mlm", False
    archs = getattr(config, "architectures", None) or []
    if any(a.endswith("ForCausalLM") for a in archs):
        return "causal", True
    if any(a.endswith("ForMaskedLM") for a in archs):
        return "mlm", True
    if archs:  # e.g. BertModel / MPNetModel: a sentence encoder without an MLM head
        return "mlm", False
    if config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "mlm", hint == "mlm"
    if config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "causal", True
    raise ValueError(f"cannot tell whether {config.model_type!r} is a causal LM or an MLM")


def load_backbone(name_or_path: str, arch: Arch | None = None, with_head: bool | None = None) -> Backbone:
    """Load model + tokenizer in float32 on CPU; ``arch``/``with_head`` override detection (checkpoints pin them)."""
    keep_freed_memory()
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    location, gguf_file, hint = resolve(name_or_path)
    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    config = AutoConfig.from_pretrained(location, **kwargs)
    detected, head = detect_arch(config, gguf_file, hint)
    arch = arch or detected
    head = head if with_head is None else with_head
    cls = AutoModelForCausalLM if arch == "causal" else (AutoModelForMaskedLM if head else AutoModel)
    model = cls.from_pretrained(location, dtype=torch.float32, **kwargs)
    quantizer = getattr(model, "hf_quantizer", None)
    if gguf_file and quantizer is not None:
        # GGUF tensors are dequantized to float32 on load: drop the quantizer so the model trains and saves
        # as a regular safetensors checkpoint
        quantizer.remove_quantization_config(model)
        for module in model.modules():
            if hasattr(module, "config") and hasattr(module.config, "_is_quantized"):
                module.config._is_quantized = False
    tokenizer = AutoTokenizer.from_pretrained(location, **kwargs)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.sep_token
    if arch == "causal" and tokenizer.eos_token_id is None:
        raise ValueError(f"{name_or_path}: a causal backbone needs an EOS token")
    model.eval()
    return Backbone(model, tokenizer, arch, head, name_or_path)


TextForm = Literal["raw", "lower_space"]


def normalise_text(text: str, form: TextForm) -> str:
    """The text as the tokenizer should see it: ``raw``, or ``lower_space`` (lowercased, one leading space).

    Home Depot queries are 95% lowercase and titles Title Case; byte-level BPE and SentencePiece tokenizers
    (SmolLM2, Gemma) are case-sensitive and mark word starts with a space symbol, so ``"Drill"`` at the start of
    a title and ``" drill"`` inside a query are different ids. Lowercased with a leading space, 70% of a query's
    ids occur in its relevant product instead of 25% (issue #34), which the LRN's literal indicator depends on.
    """
    if form == "raw":
        return text
    if form == "lower_space":
        text = text.lower()
        return text if not text or text.startswith(" ") else " " + text   # an empty text stays empty
    raise ValueError(f"text_form must be raw or lower_space, not {form!r}")


def adds_bos(tokenizer) -> bool:
    """Whether the tokenizer itself starts a text with its BOS token (Gemma: yes; SmolLM2: no).

    A model trained with a ``<bos>`` in front expects it: Gemma-3's next-token loss on product titles is 8.60
    nats/token without it and 4.14 with it (issue #34).
    """
    bos = getattr(tokenizer, "bos_token_id", None)
    if bos is None:
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == bos


def tokenize(tokenizer, texts: list[str], arch: Arch, max_length: int, *, text_form: TextForm = "raw",
             bos: bool = False, echo: bool = False) -> dict[str, torch.Tensor]:
    """Batch-encode texts, always RIGHT padded, each text first put in ``text_form`` (:func:`normalise_text`).

    Causal LMs: ``[BOS]`` if ``bos``, the text (truncated to fit), then EOS appended, so :func:`last_token_index`
    finds the last text token as ``sum(mask) − 2``; ``echo`` repeats the text (each copy truncated to half the
    room) and marks the second copy in ``pool_mask``, the positions that have read the whole text once.
    Otherwise ``pool_mask`` marks the text tokens (BOS and EOS excluded). MLMs: the tokenizer's own special
    tokens ([CLS] … [SEP]), no ``pool_mask``.
    """
    texts = [normalise_text(t, text_form) for t in texts]
    if arch == "causal":
        room = max_length - 1 - int(bos)
        if echo:
            room = max(1, room // 2)
        ids = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=room)["input_ids"]
        head = [tokenizer.bos_token_id] if bos else []
        rows, pools = [], []
        for row in ids:
            copies = [row, row] if echo else [row]
            rows.append(head + [t for c in copies for t in c] + [tokenizer.eos_token_id])
            pooled = [0] * (len(head) + (len(row) if echo else 0)) + [1] * len(row)
            pools.append(pooled + [0] * (len(rows[-1]) - len(pooled)))
        width = max(len(r) for r in rows)
        pad = tokenizer.pad_token_id
        input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=torch.long)
        mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], dtype=torch.long)
        pool_mask = torch.tensor([p + [0] * (width - len(p)) for p in pools], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": mask, "pool_mask": pool_mask}
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
