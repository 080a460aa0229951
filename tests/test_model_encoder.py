"""SparseEncoder / DenseEncoder on a real backbone (SPLADE-tiny, BertForMaskedLM) and SmolLM2 GGUF."""

from __future__ import annotations

import json
import time

import pytest
import torch

from prosper_pyserini.model import DenseEncoder, SparseConfig, SparseEncoder, load_encoder
from prosper_pyserini.model.sparse import log_saturate

torch.set_num_threads(2)
TEXTS = ["cordless drill 18v", "BEHR white interior paint, one gallon can"]


@pytest.fixture(scope="module")
def prosper_mlm(splade_dir: str) -> SparseEncoder:
    torch.manual_seed(0)
    return load_encoder(splade_dir, config="prosper", k_q=8, k_d=12)


def test_zero_shot_default_is_splade_for_an_mlm(splade_dir: str) -> None:
    enc = load_encoder(splade_dir)
    assert isinstance(enc, SparseEncoder) and enc.config.arch == "mlm" and enc.config.mlm_head == "model"
    assert enc.lrn is None and not enc.config.lfw and enc.config.norm_q == "none"
    assert len(enc.vocab_terms) == enc.config.vocab_size == 30522
    ids = enc.tokenizer("drill", add_special_tokens=False)["input_ids"]
    mask = enc.literal_mask(["drill"])
    assert mask.shape == (1, 30522) and mask[0].nonzero().flatten().tolist() == sorted(ids)
    assert enc.vocab_terms[ids[0]] == "drill"


def test_mlm_max_pooling_matches_manual_computation(splade_dir: str) -> None:
    enc = load_encoder(splade_dir)
    out = enc.encode(TEXTS, "doc")
    batch = enc.tokenize(TEXTS)
    from transformers import AutoModelForMaskedLM

    reference = AutoModelForMaskedLM.from_pretrained(splade_dir).eval()  # the untouched HF model, bias included
    with torch.no_grad():
        logits = reference(**batch).logits
    sat = log_saturate(logits) * batch["attention_mask"].unsqueeze(-1)
    assert torch.allclose(out, sat.max(dim=1).values, atol=1e-6)
    short = enc.encode(TEXTS[:1], "doc")        # padding in the batch must not change a row
    assert torch.allclose(short[0], out[0], atol=1e-5)


def test_prosper_sides_lfw_and_query_l2(prosper_mlm: SparseEncoder) -> None:
    q, d = prosper_mlm.encode(TEXTS, "query"), prosper_mlm.encode(TEXTS, "doc")
    assert q.shape == d.shape == (2, 30522) and q.dtype == torch.float32 and q.device.type == "cpu"
    assert torch.allclose(q.norm(dim=1), torch.ones(2), atol=1e-5)     # ℓ2 on queries only
    assert not torch.allclose(d.norm(dim=1), torch.ones(2))
    assert ((q != 0).sum(1) <= 8).all() and ((d != 0).sum(1) <= 12).all()   # LFW windows
    assert (d >= 0).all()


def test_lrn_only_moves_literal_terms(prosper_mlm: SparseEncoder) -> None:
    batch = prosper_mlm.tokenize(TEXTS)
    with torch.no_grad():
        prosper_mlm.lfw_enabled = False
        out = prosper_mlm(batch, "doc")
        prosper_mlm.lfw_enabled = True
    literal = out.literal
    assert torch.equal(out.final[~literal], out.raw[~literal])
    assert (out.final[literal] >= out.raw[literal]).all()          # paper mode adds max(w') − w' ≥ 0
    assert (out.final[literal] > out.raw[literal]).any()


def test_literal_only_and_expansion_only(splade_dir: str) -> None:
    lit = load_encoder(splade_dir, literal_only=True)
    exp = load_encoder(splade_dir, expansion_only=True)
    mask = lit.literal_mask(TEXTS)
    a, b = lit.encode(TEXTS, "doc"), exp.encode(TEXTS, "doc")
    assert (a[~mask] == 0).all() and (a[mask] > 0).any()
    assert (b[mask] == 0).all() and (b[~mask] > 0).any()
    full = load_encoder(splade_dir).encode(TEXTS, "doc")
    assert torch.allclose(a + b, full, atol=1e-6)
    with pytest.raises(ValueError):
        load_encoder(splade_dir, literal_only=True, expansion_only=True)


def test_save_load_round_trip(prosper_mlm: SparseEncoder, tmp_path) -> None:
    before_q, before_d = prosper_mlm.encode(TEXTS, "query"), prosper_mlm.encode(TEXTS, "doc")
    checksum = prosper_mlm.checksum()
    prosper_mlm.save_pretrained(tmp_path / "ckpt")
    manifest = json.loads((tmp_path / "ckpt" / "prosper.json").read_text())
    assert manifest["kind"] == "sparse" and manifest["checksum"] == checksum
    assert manifest["config"]["k_q"] == 8 and manifest["config"]["vocab_size"] == 30522
    loaded = load_encoder(tmp_path / "ckpt")
    assert loaded.checksum() == checksum
    assert torch.equal(loaded.encode(TEXTS, "query"), before_q)
    assert torch.equal(loaded.encode(TEXTS, "doc"), before_d)
    prosper_mlm.save_pretrained(tmp_path / "ckpt")         # overwriting an existing checkpoint works
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_files_saved_with_a_model_appear_with_it_or_not_at_all(prosper_mlm: SparseEncoder, tmp_path) -> None:
    # the trainer's state goes in before the rename: a checkpoint never shows a model without its state
    prosper_mlm.save_pretrained(tmp_path / "last", also=lambda folder: (folder / "state.pt").write_bytes(b"one"))
    assert (tmp_path / "last" / "state.pt").read_bytes() == b"one"

    def fail(folder):
        (folder / "state.pt").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        prosper_mlm.save_pretrained(tmp_path / "last", also=fail)
    assert (tmp_path / "last" / "state.pt").read_bytes() == b"one"   # the earlier checkpoint is whole
    assert load_encoder(tmp_path / "last").checksum() == prosper_mlm.checksum()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sentence_encoder_gets_head_tied_to_input_embeddings(splade_dir: str, tmp_path) -> None:
    config = SparseConfig(lrn_q=False, lrn_d=False, lfw=False, norm_q="none", mlm_head="tied")
    enc = SparseEncoder.from_backbone(splade_dir, config)
    assert enc.config.mlm_head == "tied" and enc.head_bias is not None
    batch = enc.tokenize(TEXTS[:1])
    with torch.no_grad():
        hidden = enc.model(**batch).last_hidden_state
        expected = log_saturate(hidden @ enc.model.get_input_embeddings().weight.T).max(dim=1).values
    assert torch.allclose(enc.encode(TEXTS[:1], "doc"), expected, atol=1e-5)
    enc.head_bias.data.fill_(0.25)
    enc.save_pretrained(tmp_path / "tied")
    again = load_encoder(tmp_path / "tied")
    assert again.config.mlm_head == "tied" and torch.equal(again.head_bias, enc.head_bias)
    assert again.checksum() == enc.checksum()


@pytest.mark.parametrize("pooling", ["cls", "mean", "last"])
def test_dense_encoder_pooling(splade_dir: str, pooling: str) -> None:
    enc = load_encoder(splade_dir, config="dense", pooling=pooling, norm="l2")
    assert isinstance(enc, DenseEncoder)
    out = enc.encode(TEXTS, "query")
    assert out.shape == (2, 128) and torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    batch = enc.tokenize(TEXTS)
    with torch.no_grad():
        hidden = enc.model(**batch).last_hidden_state
    mask = batch["attention_mask"]
    if pooling == "cls":
        ref = hidden[:, 0]
    elif pooling == "mean":
        ref = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    else:
        ref = hidden[torch.arange(2), mask.sum(1) - 1]
    assert torch.allclose(out, torch.nn.functional.normalize(ref, dim=-1), atol=1e-5)


@pytest.mark.slow
def test_causal_gguf_last_token_head_and_round_trip(smollm2_gguf: str, tmp_path) -> None:
    """SmolLM2 GGUF: the LM head at the pooled position equals the full LM's logits there, standardised per text
    (the causal family default); save/load is exact."""
    path = smollm2_gguf
    start = time.time()
    enc = load_encoder(path, config="prosper", max_length=16)
    assert enc.config.arch == "causal" and enc.config.vocab_size == 49152 and enc.lrn is not None
    batch = enc.tokenize(TEXTS)
    assert batch["input_ids"][0, batch["attention_mask"][0].sum() - 1] == enc.tokenizer.eos_token_id
    with torch.no_grad():
        out = enc(batch, "doc")
        logits = enc.model(**batch).logits
    idx = batch["attention_mask"].sum(1) - 2
    pooled = logits[torch.arange(2), idx]
    expected = log_saturate((pooled - pooled.mean(1, keepdim=True)) / pooled.std(1, unbiased=False, keepdim=True) - 3.0)
    assert enc.config.logit_norm == "standardise" and enc.logit_threshold.item() == 3.0
    assert torch.allclose(out.raw, expected, atol=1e-4) and 0 < int((out.raw > 0).sum()) < 2000
    q = enc.encode(TEXTS, "query")
    assert torch.allclose(q.norm(dim=1), torch.ones(2), atol=1e-5) and ((q != 0).sum(1) <= 256).all()
    enc.save_pretrained(tmp_path / "smol")
    again = load_encoder(tmp_path / "smol")
    assert again.checksum() == enc.checksum()
    assert torch.equal(again.encode(TEXTS, "query"), q)
    print(f"GGUF test body: {time.time() - start:.1f} s")
