"""Distinctive words: which words of a name tell it apart, decided from word frequencies, not a hand list.

"Academy Awards Ceremony" is named by a source saying "the 92nd Academy Awards", while "Sam Altman's Marlow memo"
is not named by one saying "Altman": "Ceremony" is a common word, "Marlow" is not. A word is *common* when it is
frequent in the language (wordfreq's general English list: at least ZIPF_COMMON on the Zipf scale, i.e. once in
100,000 words or more) or in the collection (held by at least SHARE_COMMON of its passages); every other word
of a name is distinctive and must itself be found (grounding.present).

Why wordfreq: its lists (Wikipedia, subtitles, news, books and web text, frozen in 2021) ship inside its wheel,
so nothing is downloaded at run time, and it gives a frequency for any word, proper names included ("Altman" 2.96,
"Ceremony" 4.42) — a tokenizer's vocabulary only tells whether a word got its own token.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Callable, Iterable, Mapping

ZIPF_COMMON = 4.0  # chosen on the bundled set's and RGB's names (docs/grounding.md, "Distinctive words")
SHARE_COMMON = 0.2  # a word in a fifth of the collection's passages or more does not tell one apart
MIN_PASSAGES = 20  # below this many passages the collection's shares say nothing (one article: every word is "common")

Common = Callable[[str], bool]  # a lower-cased written word -> whether it is common


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """A lower-cased word's frequency in general English on the Zipf scale (log10 of uses per billion words), 0 when
    unknown: ``zipf('ceremony') -> 4.42``; ``zipf('marlow') -> 2.86``; ``zipf('deepseek') -> 0.0``."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def in_language(word: str) -> bool:
    """Whether a word is common in general English: ``in_language('Awards') -> True``; ``in_language('marlow') -> False``."""
    return zipf(word.lower()) >= ZIPF_COMMON


def document_frequencies(tokenised: Iterable[Iterable[str]]) -> tuple[dict[str, int], int]:
    """How many of the texts (each as its words) hold each word, and how many texts there are.

    ``document_frequencies([['a', 'b', 'a'], ['b']]) -> ({'a': 1, 'b': 2}, 2)``
    """
    counts: Counter = Counter()
    total = 0
    for words in tokenised:
        counts.update(set(words))
        total += 1
    return dict(counts), total


def in_collection(frequencies: Mapping[str, int], passages: int) -> Common:
    """Whether a word is common in the language or held by SHARE_COMMON of the collection's passages (when it has at
    least MIN_PASSAGES of them).

    ``in_collection({'altman': 30}, 100)('Altman') -> True``; ``in_collection({'altman': 30}, 10)('Altman') -> False``;
    ``in_collection({}, 100)('Ceremony') -> True``
    """
    floor = SHARE_COMMON * passages if passages >= MIN_PASSAGES else float("inf")

    def common(word: str) -> bool:
        word = word.lower()
        return frequencies.get(word, 0) >= floor or in_language(word)

    return common
