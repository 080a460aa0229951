"""Vocabulary strings → terms that survive Lucene's whitespace analyzer unchanged.

Impact indexes are built with ``-pretokenized``: Anserini writes each term of a ``JsonVectorCollection``
vector ``weight`` times, separated by spaces, and Lucene's ``WhitespaceTokenizer`` splits that text again.
A term with whitespace inside would be split, an empty term would vanish, and a term longer than the
tokenizer's 255-character limit would be cut in two: all three silently change scores. The mapping below
is deterministic and applied to documents and queries alike, so the two sides always match.

Rules, in order, for the string of vocabulary id ``i``:

1. a leading word-start marker -- any run of whitespace, ``Ġ`` (byte-level BPE) or ``▁`` (SentencePiece) --
   becomes one ``▁``, so ``" shoe"``, ``"Ġshoe"`` and ``"▁shoe"`` are the same term ``▁shoe``;
   WordPiece strings (``shoe``, ``##ing``, ``[CLS]``) are kept as they are;
2. any other whitespace character becomes ``▁``;
3. an empty result, a string that is not valid Unicode text, or one longer than 255 UTF-16 units becomes
   ``⟦i⟧`` (the vocabulary id), which no tokenizer produces.

Distinct ids may map to the same term (rule 1 merges ``Ġshoe`` and ``▁shoe``); :mod:`.quantize` merges
their weights by max, the natural extension of max pooling over the vocabulary.
"""

from __future__ import annotations

import re
from typing import Sequence

MARKER = "\u2581"  # ▁
MAX_TERM_CHARS = 255  # Lucene's StandardTokenizer/WhitespaceTokenizer default max token length
_LEADING = re.compile(r"^(?:\s|\u0120|\u2581)+")
_SPACE = re.compile(r"\s")


def lucene_term(surface: str, vocab_id: int) -> str:
    """The Lucene term for one vocabulary string (see the module docstring for the rules)."""
    term = _LEADING.sub(MARKER, surface)
    term = _SPACE.sub(MARKER, term)
    try:
        term.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot be written to UTF-8 JSON
        term = ""
    if not term or len(term.encode("utf-16-le")) // 2 > MAX_TERM_CHARS:  # Java counts UTF-16 units
        term = f"\u27e6{vocab_id}\u27e7"
    return term


def lucene_terms(vocab_terms: Sequence[str]) -> list[str]:
    """Lucene-safe term for every vocabulary id (same length and order as ``vocab_terms``)."""
    return [lucene_term(surface, i) for i, surface in enumerate(vocab_terms)]
