"""Answerability: say "not in the articles" when the sources do not state the answer.

A small model asked about something the articles do not cover answers from the nearest passage ("Who won
the 2018 Tour de France?" → the 2019 winner). Two rules catch what can be caught without a larger model,
each measured on the bundled test set and confirmed on RGB dev (docs/refusals.md):

1. Before the model is asked: a number of the question (a year, an edition, a season) that no source
   names. News questions hinge on them, and the index holds the same event in other years.
2. After the answer is written: the model's own confidence in the names and numbers it wrote — the
   geometric mean of their tokens' probabilities. Invented names and years are written with low
   probability; an answer below ``min_confidence`` is withheld and the refusal shown instead.

Both are pure functions of data the pipeline already has: the question, the sources, and the sampled
tokens' log-probabilities (kvcache.record_sampled_logprobs).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from . import grounding, reasons
from .relative import annotate
from .distinctive import Common, in_language
from .specifics import unheld_share
from .text import WORD, language, numbers
from .chronology import uncovered
from .when import TimeFrame

if TYPE_CHECKING:
    from .retrieval import Passage
    from .settings import Settings

REASONS = {  # Answer.refused_by -> why, in words a reader can check (the page and the terminal show it)
    "relevance": "No passage of the articles is close to it.",
    "period": "It asks about a time that none of the articles on its subject covers.",
    "numbers": "It asks about a year or number that none of the passages found mentions.",
    "confidence": "A draft answer was written but withheld: the model was unsure of its names and numbers.",
    "stated": "A draft answer was written but withheld: the model did not find it stated in the sources.",
    "unsupported": "A draft answer was written but withheld: no cited passage supported it.",
    "missing": "It names something that none of the passages found mentions.",
    "grounding": "A draft answer was written but withheld: the passages it cites do not state it.",
}

# Capitalised words that name nothing: question words, auxiliaries, pronouns, articles.
NOT_SPECIFIC = frozenset("""who what when where which why how whom whose is are was were did does do can could will
would should shall might has have had the a an in on at of for to by from and or i it its he she they we you this
that these those there according yes no also but so""".split())


def missing_numbers(question: str, sources: Sequence[str]) -> list[str]:
    """The question's numbers of two digits or more (years, editions, seasons) that no source names; a
    single digit ("top 3", "item 2", a chat's "-0") is too common to decide on.

    ``missing_numbers('Who won the 2018 Tour de France?', ['Bernal won the 2019 Tour.']) -> ['2018']``
    ``missing_numbers('Name 3 chips (conversation x-0).', ['Chips.']) -> []``
    """
    named = set().union(*(numbers(source) for source in sources)) if sources else set()
    return sorted(n for n in numbers(question) - named if len(n) >= 2)


def specific_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the names and numbers of an answer: words with a digit, and capitalised words
    past the first that are not question words; words inside ``[n]`` markers are not the answer's.

    ``specific_spans('Geraint Thomas won in 2018 [1].') -> [(8, 14), (22, 26)]``
    """
    spans = []
    for i, match in enumerate(WORD.finditer(text)):
        word, start = match.group(0), match.start()
        inside_marker = text.rfind("[", 0, start) > text.rfind("]", 0, start)
        specific = any(c.isdigit() for c in word) or (i > 0 and word[0].isupper() and word.lower() not in NOT_SPECIFIC)
        if specific and not inside_marker:
            spans.append((start, match.end()))
    return spans


def confidence(tokens: Sequence[tuple[str, float]]) -> Optional[float]:
    """Geometric mean probability of the tokens that spell the answer's names and numbers; None without any.

    tokens are (text, log probability) of each sampled token, in order.
    ``confidence([('It', -0.1), (' was', -2.0), (' Ger', -0.1), ('aint', -0.3), (' in', -0.1), (' 2018', -1.1)])
    -> 0.6065`` (the tokens of "Geraint" and "2018": exp(mean(-0.1, -0.3, -1.1)))
    """
    text, bounds = "", []
    for piece, _ in tokens:
        bounds.append((len(text), len(text) + len(piece)))
        text += piece
    spans = specific_spans(text)
    chosen = [lp for (a, b), (_, lp) in zip(bounds, tokens) if any(a < end and start < b for start, end in spans)]
    return round(math.exp(sum(chosen) / len(chosen)), 4) if chosen else None


# -- one decision from several signals -------------------------------------------------------------------
FEATURES = ("claim_min", "confidence", "cited_missing", "top_similarity", "support_min", "unheld_share")
WEIGHTS_FILE = Path(__file__).with_name("refusal_weights.json")  # written by scripts/fit_refusal.py


@dataclass
class Signals:
    """What the checks measured about one written answer, each in [0, 1] (None: not measured).

    claim_min: over the answer's sentences, the lowest of the model's best P(yes) that a cited source states
    it; confidence: the names-and-numbers confidence above; cited_missing: the share of the question's
    specifics (grounding.constraints) that its cited passages do not name; top_similarity: the best
    passage's cosine similarity to the question; support_min: the lowest word/embedding support score;
    unheld_share: the share of the sentences citing a source that state a name, number or month none of their
    sources holds (specifics.py).
    """
    claim_min: Optional[float] = None
    confidence: Optional[float] = None
    cited_missing: Optional[float] = None
    top_similarity: Optional[float] = None
    support_min: Optional[float] = None
    unheld_share: Optional[float] = None

    def vector(self) -> list[float]:
        """The features in FEATURES order; an unmeasured one takes its neutral value (see NEUTRAL).

        ``Signals(claim_min=0.2, cited_missing=0.5).vector() -> [0.2, 1.0, 0.5, 0.5, 1.0, 0.0]``
        """
        return [NEUTRAL[name] if getattr(self, name) is None else float(getattr(self, name)) for name in FEATURES]


# An answer with no names or numbers leaves nothing to doubt (confidence 1); no cited sentence, nothing cited.
NEUTRAL = {"claim_min": 0.0, "confidence": 1.0, "cited_missing": 0.0, "top_similarity": 0.5, "support_min": 1.0,
           "unheld_share": 0.0}


def load_weights(path: Path = WEIGHTS_FILE) -> dict:
    """The fitted combiner: ``{"features": [...], "coef": [...], "intercept": b, "threshold": t, ...}``."""
    weights = json.loads(Path(path).read_text(encoding="utf-8"))
    if tuple(weights["features"]) != FEATURES:
        raise ValueError(f"{path} was fitted on features {weights['features']}, not {list(FEATURES)}: refit it.")
    return weights


def grounded_probability(signals: Signals, weights: dict) -> float:
    """The combiner's probability that the answer is grounded: a logistic function of the signals.

    ``grounded_probability(Signals(claim_min=1.0), {"coef": [4, 0, 0, 0, 0, 0], "intercept": -2}) -> 0.8808``
    """
    z = weights["intercept"] + sum(w * x for w, x in zip(weights["coef"], signals.vector()))
    return round(1 / (1 + math.exp(-max(-50.0, min(50.0, z)))), 4)


# -- the rules the pipeline applies ------------------------------------------------------------------
def refusal_before_asking(question: str, passages: Sequence[Passage], settings: Settings,
                          frame: Optional[TimeFrame] = None, pool: Sequence[Passage] = (),
                          on_subject=None, common: Common = in_language) -> tuple[str, str]:
    """Why to refuse without asking the model, as (rule, sentence), or ("", ""): no passage, none close enough,
    a time the question asks about that no article on its subject covers (chronology.uncovered, over the candidates
    in pool, on_subject telling which are about the question's subject), a number of the question that no source
    names (answerability.missing_numbers), or a code or name of the question that no source names
    (grounding.missing; common: the words of a name that need not be), said in the reader's terms. The years and
    months of the question's own time frame ("in 2020") are the time rule's, not the numbers rule's, where the
    articles are dated."""
    if not passages or not relevant_enough(passages, settings.min_relevance):
        return "relevance", ""
    texts = [source_text(p) for p in passages]
    timed = frame is not None and frame.kind == "period" and any(p.date for p in pool)
    if timed and not frame.event:  # a period placed by an event starts or ends at an article found: it is covered
        why = uncovered(question, frame, pool, on_subject or (lambda passage: True))
        if why:
            return "period", why
    own = set(grounding.tokens(frame.words)) | frame.years if timed else set()
    lacking_numbers = [n for n in missing_numbers(question, texts) if n not in own]
    if settings.refuse_missing_numbers and lacking_numbers:
        lacking = [c for c in grounding.constraints(question) if c.text in lacking_numbers]
        return "numbers", reasons.reason(question, lacking, texts)
    kinds = missing_kinds(settings.refuse_missing)
    wanted = comparable([c for c in grounding.constraints(question) if not own.intersection(c.tokens)], question, texts)
    lacking = grounding.missing(wanted, texts, kinds, common) if kinds else []
    if lacking and pool:  # a name another article found writes in full is real, only not read ("Kestrel Dome")
        lacking = grounding.unwritten(lacking, [source_text(p) for p in pool])
    if lacking:
        return "missing", reasons.reason(question, lacking, texts)
    return "", ""


def comparable(wanted: Sequence, question: str, texts: Sequence[str]) -> list:
    """The question's specifics that can be looked for in texts: all of them when every text is in the question's own
    language; when one is not, only numbers and codes, since a name is written otherwise in another language
    ("Vellmora" is 维尔莫拉) and that text may name it.

    ``[c.text for c in comparable(grounding.constraints('Did Vellmora spend 4200?'), 'Did Vellmora spend 4200?',
    ['维尔莫拉花了4200万元。'])] -> ['4200']``
    """
    asked = language(question)
    if all(language(text[:2000]) == asked for text in texts):
        return list(wanted)
    return [c for c in wanted if c.kind in ("number", "code")]


def missing_kinds(setting: str) -> set[str]:
    """The kinds of the refuse_missing setting: ``missing_kinds('code+name') -> {'code', 'name'}``; 'none' -> set()."""
    return set(setting.split("+")) - {"none", ""}


def source_text(passage: Passage) -> str:
    """What a source tells about itself and its article: title, date when known, text with its relative dates
    resolved beside them ("on Sunday [18 June 2023]", relative.annotate)."""
    date = getattr(passage, "date", "") or ""
    return " ".join(part for part in (passage.title, date, annotate(passage.text, date)) if part)


def cited_articles(passages: Sequence[Passage], numbers: Sequence[int]) -> list[str]:
    """What each cited source (numbered from 1) tells together with the other sources cut from its article: a
    cited sentence is the article's, so a question's name that only its dateline writes ("DUNMORE, Oct 19 - "),
    read by the model in another source of the article, is not missing from it.

    ``cited_articles([Passage(doc_id='a', text='DUNMORE - Trams.'), Passage(doc_id='a', text='Novak said.')], [2])
    -> ['Novak said. DUNMORE - Trams.']`` (titles and dates as source_text gives them)
    """
    texts = []
    for n in numbers:
        cited = passages[n - 1]
        same = [p for p in passages if p is not cited and p.doc_id and p.doc_id == cited.doc_id]
        texts.append(" ".join(source_text(p) for p in [cited, *same]))
    return texts


def cited_numbers(claims: Sequence) -> list[int]:
    """``cited_numbers([Claim('a', [2]), Claim('b', [1, 2])]) -> [1, 2]``"""
    return sorted({n for claim in claims for n in claim.cited})


def backs(claims: Sequence, n: int, min_claim: float) -> bool:
    """Whether source n backs a sentence citing it: the model found it stated there, or, unchecked, the
    word/number check supports it; never a sentence naming what its sources do not hold (Claim.unheld)."""
    return any(not claim.unheld and (claim.checked.get(n, 0.0) >= min_claim if claim.checked else n in claim.supported)
               for claim in claims if n in claim.cited)


def answer_signals(question: str, claims: Sequence, passages: Sequence[Passage],
                   score: Optional[float], frame: Optional[TimeFrame] = None,
                   common: Common = in_language) -> tuple[Signals, list]:
    """The combiner's signals for a written answer, and the question's specifics its cited passages lack.

    cited_missing is the share of the question's specifics (grounding.constraints) that no cited passage
    names, the words of the question's own time frame left out (a source dated June 2024 answers "as of 2024"
    without writing the year); claim_min, support_min and unheld_share are over the sentences that cite something.
    """
    cited = [claim for claim in claims if claim.cited]
    own = set(grounding.tokens(frame.words)) | frame.years if frame is not None and frame.kind == "period" else set()
    texts = cited_articles(passages, cited_numbers(claims))
    wanted = comparable([c for c in grounding.constraints(question) if not own.intersection(c.tokens)], question, texts)
    lacking = grounding.missing(wanted, texts, common=common) if texts else wanted
    checks = [claim.best_check() for claim in cited if claim.checked]
    sims = [p.similarity for p in passages if p.similarity is not None]
    return Signals(claim_min=min(checks) if checks else None, confidence=score,
                   cited_missing=round(len(lacking) / len(wanted), 4) if wanted else 0.0,
                   top_similarity=max(sims) if sims else None,
                   support_min=min((max(c.scores.values()) if c.scores else 0.0) for c in cited) if cited else None,
                   unheld_share=unheld_share(claims) if cited else None), lacking


def relevant_enough(passages: Sequence[Passage], floor: float) -> bool:
    """True when a passage reached the floor by dense similarity, or when dense search judged none of them.

    A BM25-only passage (similarity None) has no cosine and is not judged: it neither passes nor fails
    the question. It cannot rescue a question either: in hybrid mode it was left out of dense search's
    candidates, so its cosine is no higher than theirs, all below the floor. When no passage has a
    similarity (BM25 mode), the model is asked and may refuse by itself.
    ``relevant_enough([sim(0.05), sim(0.4)], 0.1) -> True``; ``relevant_enough([sim(0.05), bm25()], 0.1) -> False``;
    ``relevant_enough([bm25(), bm25()], 0.1) -> True``; ``relevant_enough([], 0.1) -> True``.
    """
    sims = [p.similarity for p in passages if p.similarity is not None]
    return not sims or max(sims) >= floor
