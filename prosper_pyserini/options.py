"""The one place where a setting's range is stated, for command-line options and experiment YAML keys alike.

A nonsense setting (a cutoff of 0, a significance level of 1.5, a negative count, a path where a name
belongs, a seed of ``1.5``) is refused with one line naming the option before any model or JVM starts,
instead of surfacing as a ``ZeroDivisionError``, a Java ``OverflowError`` or a silently empty result.
A :class:`Rule` is a test and the words of its message; :mod:`prosper_pyserini.cli_options` turns rules into
click option types, and ``prosper-repro`` checks its config's values against the same rules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

JAVA_INT_MAX = 2**31 - 1   # Lucene's and Anserini's counts and cutoffs are Java ints


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Rule:
    """What a value must be: ``test`` decides, ``describe`` completes "X must be …"."""

    describe: str
    test: Callable[[Any], bool]

    def problem(self, where: str, value: Any) -> str | None:
        """``"WHERE must be …, not VALUE"`` when ``value`` breaks the rule, else None."""
        return None if self.test(value) else f"{where} must be {self.describe}, not {value!r}"


INTEGER = Rule("an integer", _integer)
POSITIVE = Rule(f"an integer from 1 to {JAVA_INT_MAX}", lambda v: _integer(v) and 1 <= v <= JAVA_INT_MAX)
COUNT = Rule(f"an integer from 0 to {JAVA_INT_MAX}", lambda v: _integer(v) and 0 <= v <= JAVA_INT_MAX)
FINITE = Rule("a finite number", _number)
NON_NEGATIVE = Rule("a finite number >= 0", lambda v: _number(v) and v >= 0)
POSITIVE_NUMBER = Rule("a finite number > 0", lambda v: _number(v) and v > 0)
UNIT = Rule("a number from 0 to 1", lambda v: _number(v) and 0 <= v <= 1)
SHARE = Rule("a number above 0, at most 1", lambda v: _number(v) and 0 < v <= 1)
AT_LEAST_ONE = Rule("a finite number >= 1", lambda v: _number(v) and v >= 1)
FRACTION = Rule("a number from 0 up to, not including, 1", lambda v: _number(v) and 0 <= v < 1)
OPEN_UNIT = Rule("a number strictly between 0 and 1", lambda v: _number(v) and 0 < v < 1)
WORD = Rule("one word (no spaces, no path separators)",
            lambda v: isinstance(v, str) and bool(v) and not any(c.isspace() or c in "/\\" for c in v))
MILVUS_NAME = Rule("a Milvus name: a letter or _, then letters, digits or _ (at most 255)",
                   lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", v) is not None)
