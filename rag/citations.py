"""Citations: parse [n] markers, drop the ones pointing nowhere, check each cited passage.

A sentence's citation is *supported* when the cited passage contains a sentence close to it,
by word overlap or by embedding similarity (the higher of the two is compared with a threshold).
Refusals are recognised so they carry no citation at all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from .text import WORD, content_words, numbers_of, parse_markers, rewrite_markers, sentences, strip_markers

REFUSAL_PATTERNS = re.compile(
    r"(?i)\b(i don'?t know|i do not know|(do|does|did) not (answer|say|mention|contain|provide|specify|state)|"
    r"(isn'?t|is not|are not|aren'?t) (mentioned|stated|specified|provided|covered)|no information|not enough information|"
    r"cannot (answer|find|determine)|can'?t (answer|find|determine)|unable to (answer|find|determine))\b"
    r"|没有(提到|提及|提供|说明|回答|相关信息|这方面的信息)|未(提及|提到|说明)|无法(回答|确定|找到)|不知道"
    r"|(?i:beantworten (diese|die) frage nicht|ne répondent pas|no responden|nicht erwähnt|n'est pas mentionné|no se menciona)")

SimilarityFn = Callable[[str, Sequence[str]], list[float]]


@dataclass
class Claim:
    """One answer sentence, the sources it cites and those that support it."""
    text: str
    cited: list[int] = field(default_factory=list)
    supported: list[int] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    checked: dict[int, float] = field(default_factory=dict)  # the model's P(yes) that source n states it
    grounded: Optional[bool] = None  # the sentence's verdict (ground_claims); None before it is given
    newer: dict[int, float] = field(default_factory=dict)  # the model's P(yes) that newer source n says otherwise
    outdated_by: Optional[int] = None  # the newer source that says otherwise (mark_outdated)
    unheld: list[str] = field(default_factory=list)  # its names, numbers, months none of its sources holds (specifics.py)

    def best_check(self) -> Optional[float]:
        """The model's highest P(yes) over the sources it was checked against; None when unchecked."""
        return max(self.checked.values()) if self.checked else None


def clean_markers(text: str, valid: set[int]) -> str:
    """Keep only valid source numbers, one [n] per source, and tidy the spacing.

    ``clean_markers('A [1][7]. B [2, 9].', {1, 2}) -> 'A [1]. B [2].'``
    """
    def rewrite(numbers: list[int]) -> str:
        kept = [n for n in dict.fromkeys(numbers) if n in valid]
        return (" " + "".join(f"[{n}]" for n in kept)) if kept else ""

    cleaned = rewrite_markers(text, rewrite)
    cleaned = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", cleaned)  # [1] [1] -> [1]
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned).strip()


def split_claims(text: str) -> list[Claim]:
    """Answer sentences with their cited numbers; a marker right after a sentence's end belongs to it.

    ``[(c.text, c.cited) for c in split_claims('A is 1 [1]. B [2][3].')] -> [('A is 1.', [1]), ('B.', [2, 3])]``
    ``[(c.text, c.cited) for c in split_claims('The U.S. may act [1].')] -> [('The U.S. may act.', [1])]``
    """
    claims: list[Claim] = []
    for start, end in sentences(text):
        raw = text[start:end]
        numbers = numbers_of(ns for _, _, ns in parse_markers(raw))
        plain = strip_markers(raw)
        if not plain and claims:  # a lone marker after the previous sentence
            claims[-1].cited += [n for n in numbers if n not in claims[-1].cited]
        elif plain or numbers:
            claims.append(Claim(plain, numbers))
    return claims


def lexical_support(claim: str, passage: str) -> float:
    """Share of the claim's content words found in the passage (1.0 when the claim has none)."""
    words = content_words(claim)
    return len(words & content_words(passage)) / len(words) if words else 1.0


def unbacked_specifics(claim: str, passage: str) -> set[str]:
    """Numbers and capitalised names of the claim (past its first word) that the passage lacks.

    Word overlap alone would accept "It was released in May [1]" from a passage that never says
    when; a claim's specifics must be in the passage. Words of five letters or more match on a
    prefix, so "Chinese" is backed by "China". ``unbacked_specifics('Out in May 2024.', 'Out in 2024.') -> {'may'}``
    """
    words = WORD.findall(claim)
    specifics = {w.lower() for i, w in enumerate(words) if w[0].isdigit() or (i > 0 and w[0].isupper())}
    present = {w.lower() for w in WORD.findall(passage)}
    return {w for w in specifics if w not in present
            and not (len(w) >= 5 and any(p.startswith(w[:max(4, len(w) - 3)]) for p in present))}


def passage_sentences(passage: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of a passage (text.sentences).

    ``passage_sentences('In the U.S. focus is on chips. Yes.') -> [(0, 30), (31, 35)]``
    """
    return sentences(passage)


def check_claims(claims: list[Claim], passages: Sequence[str], threshold: float,
                 similarity: Optional[SimilarityFn] = None) -> list[Claim]:
    """Score every (claim, cited passage) pair and record which citations support their claim.

    The score is max(word overlap, best embedding similarity to one sentence of the passage); a
    citation supports its claim when the score reaches threshold and the passage holds every
    number and name of the claim.
    """
    for claim in claims:
        claim.supported, claim.scores = [], {}
        for n in claim.cited:
            if not 1 <= n <= len(passages):
                continue
            passage = passages[n - 1]
            score = support(claim.text, passage, threshold, similarity)
            claim.scores[n] = round(float(score), 3)
            if score >= threshold and not unbacked_specifics(claim.text, passage):
                claim.supported.append(n)
    return claims


def support(claim: str, passage: str, threshold: float, similarity: Optional[SimilarityFn] = None) -> float:
    """How well a passage backs a sentence: its word overlap, or, below threshold, the best embedding similarity of
    one of its sentences when that is higher. ``support('Prices rose in May.', 'In May prices rose.', 0.5) -> 1.0``"""
    score = lexical_support(claim, passage)
    if similarity is not None and score < threshold:
        sentences = [passage[s:e] for s, e in passage_sentences(passage)] or [passage]
        score = max(score, max(similarity(claim, sentences)))
    return score


def attribute(text: str, claims: list[Claim], passages: Sequence[str], threshold: float,
              similarity: Optional[SimilarityFn] = None) -> str:
    """Cite, for each sentence the model left without a marker, the one source that backs it best, when one backs
    it as check_claims counts support (the score reaches threshold, every number and name of it there); returns the
    text with those markers written in. The checks then read such a sentence as any cited one: an uncited sentence
    is never grounded, so the model forgetting "[1]" greyed a sentence copied from [1] (measured in docs/time.md).
    A sentence of fewer than three content words ("Yes.") is left as it is.

    ``attribute('Prices rose in May. Yes.', claims, ['Rain fell.', 'In May prices rose sharply.'], 0.5)``
    -> ``'Prices rose in May [2]. Yes.'`` (claims from split_claims of that text; the first now cites [2])
    """
    given = set()
    for i, claim in enumerate(claims):
        if claim.cited or len(content_words(claim.text)) < 3:
            continue
        scores = {n: support(claim.text, passage, threshold, similarity) for n, passage in enumerate(passages, 1)}
        backing = [n for n, score in scores.items()
                   if score >= threshold and not unbacked_specifics(claim.text, passages[n - 1])]
        if backing:
            claim.cited = [max(backing, key=lambda n: (scores[n], -n))]
            given.add(i)
    return with_markers(text, claims, given)


def with_markers(text: str, claims: Sequence[Claim], given: set[int]) -> str:
    """The text with the markers of the claims numbered in given (0-based, as split_claims made them from this text)
    written before each one's final punctuation; everything else as written.

    ``with_markers('Prices rose. Yes [1].', [Claim('Prices rose.', [2]), Claim('Yes.', [1])], {0})
    -> 'Prices rose [2]. Yes [1].'``
    """
    pieces, at, i = [], 0, -1
    for start, end in sentences(text):
        raw = text[start:end]
        if not strip_markers(raw):
            continue  # a lone marker belongs to the sentence before it
        i += 1
        if i not in given or i >= len(claims):
            continue
        claim = claims[i]
        body = raw.rstrip()
        cut = len(body) - 1 if body[-1:] in ".!?。！？" else len(body)
        markers = "".join(f"[{n}]" for n in claim.cited)
        pieces += [text[at:start], body[:cut], f" {markers}" if cut == len(body) or body[cut] in ".!?" else markers,
                   body[cut:]]
        at = start + len(body)
    return "".join(pieces) + text[at:]


def highlight_spans(claims: list[Claim], n: int, passage: str, similarity: Optional[SimilarityFn] = None) -> list[tuple[int, int]]:
    """Spans of the passage sentences that best match the claims citing source n.

    A sentence's match is its word overlap with the claim plus, when given, its embedding similarity:
    MiniLM alone prefers a sentence that shares the claim's subject ("OpenAI's new models gpt-oss…")
    over the one that holds what the claim says about it ("To build a broader developer ecosystem…").
    """
    spans = passage_sentences(passage)
    if not spans:
        return []
    chosen = set()
    sentences = [passage[s:e] for s, e in spans]
    for claim in claims:
        if n not in claim.cited:
            continue
        scores = [lexical_support(claim.text, sentence) for sentence in sentences]
        if similarity is not None:
            scores = [w + float(d) for w, d in zip(scores, similarity(claim.text, sentences))]
        chosen.add(max(range(len(spans)), key=lambda i: scores[i]))
    return [spans[i] for i in sorted(chosen)]


def is_refusal(answer: str, refusal: str) -> bool:
    """True when the answer *is* a refusal: empty, or every sentence is the refusal sentence (markers
    ignored) or, uncited, says the sources lack the answer. A cited sentence with a negation is an answer.

    ``is_refusal('The articles do not answer this question.', 'The articles do not answer this question.') -> True``
    ``is_refusal('The company provided no information about pricing [2].', '…') -> False``
    """
    template = refusal.strip().lower().rstrip(".")
    return all(claim.text.lower().rstrip(".") == template or (not claim.cited and REFUSAL_PATTERNS.search(claim.text))
               for claim in split_claims(answer))


UNSUPPORTED_NOTE = "(not found in the sources)"
OUTDATED_NOTE = "(a newer source, [{n}], says otherwise)"


def ground_claims(claims: list[Claim], min_claim: float) -> list[Claim]:
    """Give each sentence its verdict: grounded when the model checked it against what it cites and found it
    stated (P(yes) >= min_claim), or, when the model did not check it, when the word/number check supports it.

    A sentence citing nothing is never grounded, nor is one stating a name, number or month that none of its sources
    holds (Claim.unheld), whatever the check says. ``[c.grounded for c in ground_claims([Claim('A.', [1], [1],
    checked={1: 0.9}), Claim('B.', [1], [1], checked={1: 0.1}), Claim('C.', [2], [2]), Claim('D.'),
    Claim('E.', [1], [1], checked={1: 0.9}, unheld=['May'])], 0.5)]`` -> ``[True, False, True, False, False]``
    """
    for claim in claims:
        check = claim.best_check()
        claim.grounded = bool(claim.cited) and not claim.unheld and (
            check >= min_claim if check is not None else bool(claim.supported))
    return claims


def mark_outdated(claims: list[Claim], max_outdated: float) -> list[Claim]:
    """Mark each sentence that a newer source says otherwise (the model's P(yes) at or above max_outdated) as out of
    date: not grounded, naming that source. ``[c.outdated_by for c in mark_outdated([Claim('A.', [1], newer={3: 0.8}),
    Claim('B.', [2], newer={3: 0.1})], 0.5)] -> [3, None]``"""
    for claim in claims:
        said = [n for n, p in claim.newer.items() if p >= max_outdated]
        if max_outdated and said:
            claim.outdated_by, claim.grounded = max(said, key=lambda n: claim.newer[n]), False
    return claims


def note_of(claim: Claim) -> str:
    """What a sentence that is not grounded is marked with: out of date (naming the newer source), or not found."""
    return OUTDATED_NOTE.format(n=claim.outdated_by) if claim.outdated_by else UNSUPPORTED_NOTE


def marked_text(claims: Sequence[Claim]) -> str:
    """The answer with its markers, each sentence that is not grounded carrying UNSUPPORTED_NOTE.

    ``marked_text([Claim('A is 1.', [1], grounded=True), Claim('B is 2.', [2], grounded=False)])``
    -> ``'A is 1 [1]. B is 2 [2] (not found in the sources).'``
    """
    out = []
    for claim in claims:
        body, end = (claim.text[:-1], claim.text[-1]) if claim.text[-1:] in ".!?" else (claim.text, "")
        markers = "".join(f"[{n}]" for n in claim.cited)
        note = f" {note_of(claim)}" if claim.grounded is False else ""
        out.append(f"{body}{' ' + markers if markers else ''}{note}{end}")
    return " ".join(out)


def grounded_history(answer: str, refusal: str) -> str:
    """What an earlier answer may tell the follow-up rewrite: nothing when it was a refusal, else its sentences
    without those marked as not found in the sources (they are not facts).

    ``grounded_history('A [1]. B [2] (not found in the sources).', 'No.') -> 'A [1].'``;
    ``grounded_history('No.', 'No.') -> ''``
    """
    if is_refusal(answer, refusal):
        return ""
    kept = [answer[s:e] for s, e in sentences(answer)
            if UNSUPPORTED_NOTE not in answer[s:e] and not re.search(r"\(a newer source, \[\d+\], says otherwise\)", answer[s:e])]
    return " ".join(kept)
