"""Which kinds of product query one system wins over another: model numbers, quantities, brands, unknown words.

Every query falls in the first bucket whose rule matches, in this order:

1. ``model number``: a token mixing letters and digits that is not a quantity ("hd2000", "r19", "c13");
2. ``quantity``: any other token with a digit ("20v", "1/2", "2x4", "3", "60in");
3. ``brand``: a token that starts at least 3 product titles and starts at least half of the titles it occurs
   in ("dewalt", "behr", "ryobi": brands lead Home Depot titles; "house" does not qualify);
4. ``unknown word``: an alphabetic token of 3+ letters found in no product title (mostly misspellings:
   "gcfi", "teir");
5. ``other``.

Rules rather than a model, so a count can be checked by reading its queries.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Collection, Iterable, Mapping

from prosper_pyserini.data.formats import ranked

BUCKETS = ("model number", "quantity", "brand", "unknown word", "other")
_TOKEN = re.compile(r"[a-z0-9]+(?:[./][a-z0-9]+)*")
_UNITS = ("v|volt|volts|ft|feet|foot|in|inch|inches|gal|gallon|w|watt|watts|amp|amps|a|lb|lbs|oz|mm|cm|m|btu|"
          "psi|hp|gpm|pc|pcs|pk|pack|qt|ah|k|x|mil|cu|sq|yd|l|ml|g|kg|d|gauge|ga|awg|tpi|grit|pin|way|light|lite")
_QUANTITY = re.compile(rf"^(\d+([./x-]\d+)*({_UNITS})?|(\d+x)+\d+({_UNITS})?)$")


def tokens(text: str) -> list[str]:
    """Lower-cased tokens; ``1/2``, ``2.5`` and ``2x4`` stay whole."""
    return _TOKEN.findall(text.lower())


def brand_tokens(titles: Iterable[str], min_count: int = 3, min_share: float = 0.5) -> set[str]:
    """Tokens that start at least ``min_count`` titles and start ``min_share`` of the titles holding them."""
    first: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for title in titles:
        words = tokens(title)
        if words and not any(c.isdigit() for c in words[0]):
            first[words[0]] += 1
        anywhere.update(set(words))
    return {w for w, n in first.items() if n >= min_count and n >= min_share * anywhere[w]}


def query_bucket(text: str, brands: set[str], vocabulary: set[str]) -> str:
    """The bucket of one query (module docstring), given the brand tokens and the title vocabulary."""
    words = tokens(text)
    if any(re.search(r"[a-z]", w) and re.search(r"\d", w) and not _QUANTITY.match(w) for w in words):
        return "model number"
    if any(re.search(r"\d", w) for w in words):
        return "quantity"
    if any(w in brands for w in words):
        return "brand"
    if any(w.isalpha() and len(w) >= 3 and w not in vocabulary for w in words):
        return "unknown word"
    return "other"


@dataclass
class BucketRow:
    bucket: str
    queries: int = 0
    a_better: int = 0
    b_better: int = 0
    ties: int = 0
    a_better_b_unjudged: int = 0                         # of ``a_better``: B's top-ranked product is unjudged
    delta: float = 0.0                                   # sum of (b − a); mean in :attr:`mean_delta`
    examples: list[tuple[float, str]] = field(default_factory=list)   # (b − a, query text) where a wins

    @property
    def mean_delta(self) -> float:
        return self.delta / self.queries if self.queries else 0.0


def top_unjudged(run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]) -> set[str]:
    """The queries whose top-ranked product (trec_eval's tie order) has no judgment at all.

    A loss there may be no loss: Home Depot judged about six products per query, so a system that ranks another,
    unjudged product first scores 0 for it whether it is relevant or not.
    """
    return {qid for qid, scores in run.items() if scores and ranked(scores)[0][0] not in qrels.get(qid, {})}


def win_table(scores_a: Mapping[str, float], scores_b: Mapping[str, float], queries: Mapping[str, str],
              brands: set[str], vocabulary: set[str], examples: int = 3,
              unjudged_b: Collection[str] = ()) -> list[BucketRow]:
    """Per bucket: how many evaluated queries system A and system B each win on a per-query metric.

    Args:
        scores_a, scores_b: ``{qid: score}`` per evaluated query (e.g. reciprocal rank at 10).
        queries: ``{qid: text}``; every scored query must be here.
        unjudged_b: queries whose top product in B is unjudged (:func:`top_unjudged`), counted where A wins.
    Returns:
        One row per bucket in :data:`BUCKETS` order, then a total row; each row keeps the ``examples``
        queries A wins by the most.
    """
    rows = {name: BucketRow(name) for name in BUCKETS}
    for qid, a in scores_a.items():
        b = scores_b.get(qid, 0.0)
        row = rows[query_bucket(queries[qid], brands, vocabulary)]
        row.queries += 1
        row.delta += b - a
        if a > b:
            row.a_better += 1
            row.a_better_b_unjudged += qid in unjudged_b
            row.examples.append((b - a, queries[qid]))
        elif b > a:
            row.b_better += 1
        else:
            row.ties += 1
    total = BucketRow("all")
    for row in rows.values():
        row.examples = sorted(row.examples)[:examples]
        for name in ("queries", "a_better", "a_better_b_unjudged", "b_better", "ties", "delta"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return [*rows.values(), total]
