"""Context: fit the retrieved passages to a small token budget by keeping the sentences that matter.

On a laptop CPU the model reads its prompt at roughly 45–100 tokens/s, so every token of context is
waiting time before the first word. Each retrieved passage is split into sentences, every sentence
is scored against the question (IDF-weighted word overlap), and the best are kept, each with the sentences next to it, until the budget is spent;
sentences that share nothing with the question are not sent at all. Every contiguous run of kept
sentences becomes its own numbered source carrying exact ``start``/``end`` offsets into its document,
so a citation still points at text the user can see.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from .implied import WEIGHT, implied
from .retrieval import Passage
from .text import content_words, join_spans, language, sentences

CountFn = Callable[[str], int]
RUN_COST = 4  # tokens of "[n] " and the blank line around each source
RANK_BONUS = 0.05  # per retrieval rank: near-ties go to the passage retrieval trusted more
SEED_SHARE = 0.25  # a sentence is worth sending when it scores at least this share of the best
MIN_TOKENS = 6  # a shorter piece ("The goal?", "the U.S.") is read together with the next one
OTHER_LANGUAGE = 0.5  # the score of a sentence of the best passage in another language than the question's


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passages
    start: int  # character offsets into that passage's text
    end: int
    tokens: int


def split_sentences(passages: Sequence[Passage], count: CountFn) -> list[Sentence]:
    """Every sentence of every passage, in passage order then text order.

    Sentences are text.sentences; a piece shorter than MIN_TOKENS ("The goal?") is read with the next one.
    ``[(s.passage, s.start, s.end) for s in split_sentences([p('A b c d e f. G h i j k l.')], words)]
    -> [(0, 0, 12), (0, 13, 25)]``
    """
    found = []
    for i, passage in enumerate(passages):
        text = passage.text
        spans = join_spans(sentences(text), lambda previous, span: count(text[slice(*previous)]) < MIN_TOKENS)
        found += [Sentence(i, start, end, count(text[start:end])) for start, end in spans]
    return found


def lexical_scores(question: str, texts: Sequence[str]) -> list[float]:
    """IDF-weighted share of the question's content words that each text contains (0..1).

    ``lexical_scores('export controls', ['Export controls fail.', 'Chips.']) -> [1.0, 0.0]``
    """
    wanted = content_words(question)
    if not wanted or not texts:
        return [0.0] * len(texts)
    bags = [content_words(text) for text in texts]
    idf = {w: math.log(1 + len(bags) / (1 + sum(w in bag for bag in bags))) for w in wanted}
    total = sum(idf.values())
    return [sum(idf[w] for w in wanted & bag) / total for bag in bags]


def score_sentences(question: str, passages: Sequence[Passage], sentences: Sequence[Sentence]) -> list[float]:
    """Relevance of each sentence to the question: IDF-weighted word overlap (lexical_scores); a passage in another
    language than the question's shares no words with it, so its sentences score by the passage's retrieval rank
    (``OTHER_LANGUAGE / (1 + rank)``), read from its start: dense retrieval already judged it relevant.

    A sentence that shares a word with the question and holds a word the question implies (implied.py: "who runs X"
    is answered by "chief executive") scores implied.WEIGHT more.

    Adding MiniLM similarity was measured and dropped: the evidence reached the model for 0.95 of the
    bundled answerable questions instead of 1.00, and no more on RGB dev (2026-11-26).
    """
    texts = [passages[s.passage].text[s.start:s.end] for s in sentences]
    scores = lexical_scores(question, texts)
    extra = content_words(implied(question))
    if extra:  # a sentence saying who leads something: "… who became the authority's chief executive"
        scores = [score + WEIGHT if score and extra & content_words(text) else score
                  for score, text in zip(scores, texts)]
    asked = language(question)
    other = {i for i, p in enumerate(passages) if language(p.text) != asked}
    return [OTHER_LANGUAGE / (1 + s.passage) if s.passage in other else score for s, score in zip(sentences, scores)]


def choose(sentences: Sequence[Sentence], relevance: Sequence[float], budget: int, spread: bool = False) -> set[int]:
    """Indices of the sentences to keep, within budget.

    Seeds are the sentences scoring at least SEED_SHARE of the best, best first (ties to the better-ranked
    passage); each seed comes with the sentences next to it, which often hold the answer to what the seed names.
    With spread, every seed that fits is kept first and the neighbours only with what is left: for a question
    about time, whose answer is read across several dated articles (the newest fact, and what it replaced), a
    second article's best sentence is worth more than the first one's neighbours. The cost is each sentence's
    tokens plus one, and RUN_COST for each new run.
    ``choose([s(10), s(10), s(10)], [0.1, 0.9, 0.2], 12) -> {1}``;
    ``choose([s(10), s(10), s(10)], [0.9, 0.1, 0.8], 30) -> {0, 1}``; with spread ``-> {0, 2}``
    """
    best = max(relevance, default=0.0)
    seeds = sorted((i for i in range(len(sentences)) if relevance[i] > 0 and relevance[i] >= SEED_SHARE * best),
                   key=lambda i: (-(relevance[i] + RANK_BONUS / (1 + sentences[i].passage)), i))
    steps = [(i, j) for i in seeds for j in (i, i + 1, i - 1)]
    if spread:
        steps = [(i, i) for i in seeds] + [(i, j) for i, j in steps if j != i]
    chosen: set[int] = set()
    used = 0
    for i, j in steps:
        if j in chosen or not 0 <= j < len(sentences) or sentences[j].passage != sentences[i].passage:
            continue
        if j != i and i not in chosen:
            continue  # neighbours give a kept sentence its context; alone they are not worth it
        joins = any(k in chosen and sentences[k].passage == sentences[j].passage for k in (j - 1, j + 1))
        cost = sentences[j].tokens + 1 + (0 if joins else RUN_COST)
        if used + cost <= budget:
            chosen.add(j)
            used += cost
    return chosen


def runs(sentences: Sequence[Sentence], chosen: set[int]) -> list[tuple[int, int, int]]:
    """(passage, start, end) of each contiguous run of chosen sentences, in passage then text order.

    ``runs([s(0, 0, 4), s(0, 5, 9), s(0, 10, 14)], {0, 1}) -> [(0, 0, 9)]``
    """
    spans: list[tuple[int, int, int]] = []
    previous = None
    for i in sorted(chosen):
        s = sentences[i]
        if previous is not None and previous == i - 1 and spans[-1][0] == s.passage:
            spans[-1] = (s.passage, spans[-1][1], s.end)
        else:
            spans.append((s.passage, s.start, s.end))
        previous = i
    return spans


def cost_of(texts: Sequence[str], count: CountFn) -> int:
    """Tokens the given sources take in the prompt, RUN_COST each for their number and spacing."""
    return sum(count(text) + RUN_COST for text in texts)


def select_sentences(question: str, passages: Sequence[Passage], count: CountFn, budget: int,
                     spread: bool = False) -> list[Passage]:
    """The passages cut down to their best sentences, one source per contiguous run, within budget (spread: every
    best sentence before any neighbour, choose()).

    Every returned source is ``replace(p, text=p.text[a:b], start=p.start + a, end=p.start + b)`` of one
    input passage, so its text is exactly the document's text between its offsets.
    """
    sentences = split_sentences(passages, count)
    if not sentences:
        return []
    scores = score_sentences(question, passages, sentences)
    chosen = choose(sentences, scores, budget, spread)
    while chosen:  # the estimate may miss by a token or two: the real count of the joined runs decides
        spans = runs(sentences, chosen)
        if cost_of([passages[i].text[a:b] for i, a, b in spans], count) <= budget:
            break
        chosen.discard(min(chosen, key=lambda i: (scores[i], -i)))
    return [replace(passages[i], text=passages[i].text[a:b], start=passages[i].start + a,
                    end=passages[i].start + b) for i, a, b in runs(sentences, chosen)]
