"""Term strings, quantization and the query top-k cut (no model needed)."""

from __future__ import annotations

import json

import pytest
import torch

from prosper_pyserini.encode.quantize import TermWeights
from prosper_pyserini.encode.queries import read_query_vectors, write_query_vectors
from prosper_pyserini.encode.terms import MARKER, lucene_terms

VOCAB = ["[CLS]", "shoe", "##ing", "Ġshoe", "▁shoe", " shoe", "a b", "", "x" * 300, "\ud800", "ĠĠ", "\u3000cup",
         "Ċ", "tab\tbed", "😀" * 200]


def test_terms_have_no_whitespace_and_are_not_empty():
    terms = lucene_terms(VOCAB)
    assert len(terms) == len(VOCAB)
    for term in terms:
        assert term and not any(ch.isspace() for ch in term)
        assert len(term.encode("utf-16-le")) // 2 <= 255
        term.encode("utf-8")  # writable to JSON as UTF-8


def test_term_mapping_rules():
    terms = lucene_terms(VOCAB)
    assert terms[:3] == ["[CLS]", "shoe", "##ing"]  # WordPiece strings unchanged
    assert terms[3] == terms[4] == terms[5] == MARKER + "shoe"  # word-start markers unified
    assert terms[6] == "a" + MARKER + "b"
    assert terms[7] == "⟦7⟧" and terms[8] == "⟦8⟧" and terms[9] == "⟦9⟧"  # empty, too long, lone surrogate
    assert terms[10] == MARKER and terms[11] == MARKER + "cup"
    assert terms[12] == "Ċ"  # byte-level BPE newline stand-in is not whitespace: kept
    assert terms[14] == "⟦14⟧"  # 200 emoji = 400 UTF-16 units > Lucene's 255
    assert lucene_terms(VOCAB) == terms  # deterministic


def test_collisions_are_merged_by_max():
    weights = TermWeights(["Ġshoe", "▁shoe", "red", " shoe"], scale=100)
    assert weights.collisions == 2 and weights.terms == [MARKER + "shoe", "red"]
    w = torch.tensor([[0.5, 1.25, 0.0, 0.75], [0.2, 0.0, 0.3, 0.1]])
    assert weights.int_vectors(w) == [{MARKER + "shoe": 125}, {MARKER + "shoe": 20, "red": 30}]


def test_quantization_rounds_and_drops_non_positive():
    weights = TermWeights(["a", "b", "c", "d", "e"], scale=4)  # binary-exact values: no float noise
    w = torch.tensor([[0.0625, 0.125, 0.375, -1.0, 58.625]])
    # 0.25 -> 0 dropped, 0.5 -> 0 (half to even) dropped, 1.5 -> 2, negative dropped, 234.5 -> 234
    assert weights.int_vectors(w) == [{"c": 2, "e": 234}]
    with pytest.raises(ValueError):
        TermWeights(["a"], scale=0)
    with pytest.raises(ValueError):
        weights.int_vectors(torch.zeros(1, 4))


def test_query_top_k_cut_keeps_heaviest_terms():
    vocab = [f"t{i}" for i in range(40)]
    weights = TermWeights(vocab, scale=10)
    w = torch.arange(40, dtype=torch.float32).unsqueeze(0) / 10  # t39 heaviest; t0 is zero
    top = weights.int_vectors(w, top_k=16)[0]
    assert list(top) == [f"t{i}" for i in range(39, 23, -1)]
    assert top["t39"] == 39 and len(top) == 16
    assert len(weights.int_vectors(w)[0]) == 39  # no cut: every positive weight
    few = torch.zeros(1, 40)
    few[0, 3] = 1.0
    assert weights.int_vectors(few, top_k=16) == [{"t3": 10}]  # zeros never fill the top-k


def test_query_vector_files(tmp_path):
    vectors = {"q1": {"drill": 3, "##less": 1}, "q2": {}}
    queries = {"q1": "cordless drill", "q2": "zzz"}
    write_query_vectors(vectors, queries, tmp_path / "q.jsonl")
    assert read_query_vectors(tmp_path / "q.jsonl") == vectors
    first = json.loads((tmp_path / "q.jsonl").read_text().splitlines()[0])
    assert first == {"id": "q1", "contents": "cordless drill", "vector": {"drill": 3, "##less": 1}}
    write_query_vectors(vectors, queries, tmp_path / "q.tsv")  # Anserini: repetition = weight
    assert (tmp_path / "q.tsv").read_text() == "q1\tdrill drill drill ##less\nq2\t\n"
    with pytest.raises(ValueError):
        write_query_vectors(vectors, queries, tmp_path / "q.txt")
