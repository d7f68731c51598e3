"""Evaluation metrics: pure functions from answers, passages and references to scores.

- Retrieval, over answerable questions: a passage given to the model holds evidence when a quote is
  inside it (case, typographic quotes and whitespace ignored), or when 80% of the quote's words are one
  unbroken run of it (a quote cut by a chunk boundary); hit@k and reciprocal rank follow.
- Answers, over answerable questions, markers removed: keyword recall, SQuAD token F1, embedding
  similarity. A refused (or failed) answerable question scores 0 on all three.
- Citations, over non-refused answers: ALCE-style precision and recall from the pipeline's own
  support verdicts (``Claim.supported``), and, independent of them, by the evidence (records.py).
- Latency percentiles. Nothing here loads a model; run.py asks the questions, records.py scores them.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from typing import Iterable, Optional, Sequence

from ..text import is_han

STRADDLE_SHARE = 0.8  # a quote cut by a chunk boundary counts when this share of its words is one unbroken run
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
ARTICLES = re.compile(r"\b(a|an|the)\b")
PUNCTUATION = frozenset(string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014\u2026")


def fold(text: str) -> str:
    """Lower-case, typographic quotes and dashes made plain, whitespace collapsed.

    ``fold('Don\u2019t  \\n Work') -> "don't work"``
    """
    return " ".join(text.translate(QUOTES).lower().split())


def longest_run(needle: Sequence[str], haystack: Sequence[str]) -> int:
    """Length of the longest run of consecutive needle words that appears consecutively in haystack.

    ``longest_run('a b c d'.split(), 'x c d y a b'.split()) -> 2``
    """
    best, previous = 0, [0] * (len(haystack) + 1)
    for word in needle:
        current = [0] * (len(haystack) + 1)
        for j, other in enumerate(haystack, 1):
            if word == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def contains_evidence(passage: str, quote: str, share: float = STRADDLE_SHARE) -> bool:
    """True when the quote is in the passage (case- and whitespace-insensitive), or, for a quote cut
    by a chunk boundary, when at least ``share`` of its words appear in it as one unbroken run.

    ``contains_evidence('... the world was gonna head to', 'The world was gonna head to be mostly built') -> False`` (6/9)
    """
    quote, passage = fold(quote), fold(passage)
    if not quote:
        return False
    if quote in passage:
        return True
    words = quote.split()
    return longest_run(words, passage.split()) >= share * len(words)


def evidence_rank(passages: Sequence[str], evidence: Sequence[str]) -> Optional[int]:
    """1-based rank of the first passage holding any evidence quote; None when none does.

    ``evidence_rank(['cats purr', 'dogs bark'], ['Dogs  bark']) -> 2``
    """
    for rank, passage in enumerate(passages, 1):
        if any(contains_evidence(passage, quote) for quote in evidence):
            return rank
    return None


def reciprocal_rank(rank: Optional[int]) -> float:
    """``reciprocal_rank(2) -> 0.5``; 0.0 when no passage holds evidence."""
    return 1.0 / rank if rank else 0.0


def keyword_recall(answer: str, groups: Sequence[Sequence[str]]) -> Optional[float]:
    """Share of required facts (keyword groups) with any alternative named in the answer.

    An alternative matches as whole words, case-insensitive ("lack" does not match "Blackwell"); one
    ending in ``*`` matches as a prefix (``worr*``: worried, worries); a match negated by one of the three
    words before it ("he isn't worried") does not count. None when there are no groups.
    ``keyword_recall('Biden, then Trump.', [['Biden'], ['Trump', 'Donald'], ['Obama']]) -> 0.667`` (2 of 3)
    """
    if not groups:
        return None
    text = fold(answer)
    found = sum(any(names(text, alt) for alt in group) for group in groups)
    return found / len(groups)


NEGATION = re.compile(r"(?:\b(?:not|no|never|neither|nor|without)\b|n't)\W*(?:\w+\W+){0,2}$")


def names(text: str, keyword: str) -> bool:
    """Whether folded text names keyword (whole words, ``*`` = prefix) without negating it. Chinese has no spaces: a
    word boundary next to a Chinese character is any edge ("1361万" is named in "新增1361万人", "70" not in "170").

    ``names("he isn't worried", 'worr*') -> False``; ``names('export controls don't work', "don't work") -> True``;
    ``names('答案是武汉。', '武汉') -> True``
    """
    prefix = keyword.endswith("*")
    wanted = fold(keyword.rstrip("*"))
    if not wanted:
        return False
    for m in re.finditer(re.escape(wanted), text):
        before, after = text[m.start() - 1:m.start()], text[m.end():m.end() + 1]
        if not (edge(before, wanted[0]) and (prefix or edge(after, wanted[-1]))):
            continue
        if not NEGATION.search(text[:m.start()]):
            return True
    return False


def edge(neighbour: str, inner: str) -> bool:
    """Whether a match may end between inner (its own character) and neighbour: at the text's end, at a
    non-word character, or where either is a Chinese character. ``edge('', 'a') -> True``; ``edge('b', 'a') -> False``"""
    return not neighbour or not (neighbour.isalnum() or neighbour == "_") or is_han(neighbour) or is_han(inner)


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation: lower-case, no punctuation, no articles, split on whitespace.

    ``squad_tokens('The U.S. chips!') -> ['us', 'chips']``
    """
    text = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall after SQuAD normalisation.

    ``token_f1('Biden and Trump', 'the Biden administration') -> 0.4`` (1 shared of 3 and 2 tokens)
    """
    pred, ref = squad_tokens(prediction), squad_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    shared = sum((Counter(pred) & Counter(ref)).values())
    if not shared:
        return 0.0
    precision, recall = shared / len(pred), shared / len(ref)
    return 2 * precision * recall / (precision + recall)


def citation_scores(claims: Sequence) -> tuple[Optional[float], Optional[float]]:
    """ALCE-style (precision, recall) of one answer from its checked claims.

    Precision: share of (sentence, cited source) pairs whose source supports the sentence.
    Recall: share of sentences with at least one supporting cited source (uncited sentences count
    against it). An answer with sentences but no citation scores (0, 0), as in ALCE; one with no
    sentence (a refusal) scores (None, None).
    ``citation_scores([Claim('A.', [1], [1]), Claim('B.', [1, 2], [2]), Claim('C.', [], [])]) -> (0.667, 0.667)``
    """
    if not claims:
        return None, None
    pairs = sum(len(c.cited) for c in claims)
    supported = sum(len(set(c.supported) & set(c.cited)) for c in claims)
    precision = supported / pairs if pairs else 0.0
    recall = sum(bool(set(c.supported) & set(c.cited)) for c in claims) / len(claims)
    return precision, recall


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The q-th percentile with linear interpolation between ranks (numpy's default); None when empty.

    ``percentile([10, 20, 30, 40], 50) -> 25.0``; ``percentile([10, 20, 30, 40], 95) -> 38.5``
    """
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Iterable[Optional[float]]) -> Optional[float]:
    """Mean of the values that are not None; None when there are none: ``mean([1, None, 0]) -> 0.5``."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def share(flags: Iterable[bool]) -> Optional[float]:
    """Share of true flags; None for no flags: ``share([True, False, False, True]) -> 0.5``."""
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None
