"""Checks: what happens after the model has written an answer, before a reader sees it.

The refusal sentence is recognised; the model's own confidence in its names and numbers, and its yes/no that the
sources state the answer, may withhold it; every sentence is checked against the passage it cites (words and
numbers, then the model's yes/no read past the cached sources); the combiner (answerability) decides whether the
answer as a whole is grounded. ``Checks`` is the part of the Assistant (pipeline.py) that does this.
"""
from __future__ import annotations

from typing import Optional, Sequence

from . import reasons
from .answer import Answer, Timings, date_key, make_citation
from .answerability import (Signals, answer_signals, backs, cited_articles, cited_numbers, grounded_probability,
                            load_weights, source_text)
from .citations import (attribute, check_claims, clean_markers, ground_claims, highlight_spans, is_refusal,
                        mark_outdated, split_claims)
from .dates import spoken_date
from .errors import RagError
from .generation import claim_messages, with_last_line
from .relative import annotate
from .retrieval import Passage
from .settings import Settings
from .specifics import mark_unheld
from .text import strip_markers
from .when import TimeFrame


class Checks:
    """The Assistant's checks of a written answer; it brings settings, prompts, generator and index."""

    def refuse(self, question: str, standalone: str, passages: list[Passage], timings: Timings, reason: str,
               withheld: str = "", claims: Sequence = (), score: Optional[float] = None,
               stated: Optional[float] = None, why: str = "", signals: Optional[Signals] = None,
               grounded: Optional[float] = None) -> Answer:
        """The refusal sentence, with the passages it looked at, why it refused and what it withheld."""
        return Answer(question, self.prompts.refusal, True, [], passages, list(claims), timings, self.generator.name,
                      standalone, withheld=withheld, confidence=score, stated=stated, refused_by=reason, reason=why,
                      signals=signals, grounded=grounded)

    def finish(self, question: str, standalone: str, text: str, passages: list[Passage], timings: Timings,
               settings: Optional[Settings] = None, score: Optional[float] = None,
               stated: Optional[float] = None, messages: Optional[list[dict]] = None,
               frame: Optional[TimeFrame] = None) -> Answer:
        """Check the raw answer: refusal, the model's confidence, valid markers, each sentence against what it
        cites (words and numbers, then the model's own yes/no when messages are given, and its names, numbers and
        months: specifics.py), against newer sources it
        does not cite (unless the question asked about a time of its own, frame), and one decision."""
        settings = settings or self.settings
        if is_refusal(text, self.prompts.refusal):
            withheld = "" if text.strip().rstrip(".") == self.prompts.refusal.rstrip(".") else text
            return self.refuse(question, standalone, passages, timings, "model", withheld, score=score, stated=stated)
        if score is not None and score < settings.min_confidence:
            return self.refuse(question, standalone, passages, timings, "confidence", text, score=score, stated=stated)
        if stated is not None and stated < settings.min_stated:
            return self.refuse(question, standalone, passages, timings, "stated", text, score=score, stated=stated)
        text = clean_markers(text, set(range(1, len(passages) + 1)))
        claims = split_claims(text)
        texts = [p.text for p in passages]  # as the article has them: the highlights are offsets into them
        read = [annotate(p.text, p.date) if settings.time_aware else p.text for p in passages]  # as the model read them
        text = attribute(text, claims, read, settings.support_threshold, self.similarity)  # a forgotten "[1]"
        check_claims(claims, read, settings.support_threshold, self.similarity)
        if settings.check_sentences and messages:
            self.check_sentences(claims, messages)
        common = self.retriever.common()
        if settings.check_specifics:
            mark_unheld(claims, [source_text(p) for p in passages], standalone, common)
        ground_claims(claims, settings.min_claim)
        if settings.time_aware and settings.max_outdated and messages and (frame is None or frame.kind != "period"):
            self.check_outdated(claims, passages, messages)
            mark_outdated(claims, settings.max_outdated)
        signals, lacking = answer_signals(standalone, claims, passages, score, frame, common)
        # An answer citing nothing is outside what the combiner was fitted on (no such answer in either set): it is
        # shown with every sentence marked as not found in the sources, or refused by refuse_unsupported.
        judged = settings.min_grounded and cited_numbers(claims)
        grounded = grounded_probability(signals, self.weights()) if judged else None
        refusal = dict(withheld=text, claims=claims, score=score, stated=stated, signals=signals, grounded=grounded)
        if grounded is not None and grounded < settings.min_grounded:
            cited = cited_articles(passages, cited_numbers(claims))
            why = reasons.reason(standalone, lacking, cited, "The passages it cites") if lacking else ""
            return self.refuse(question, standalone, passages, timings, "grounding", why=why, **refusal)
        if settings.refuse_unsupported and not any(claim.grounded for claim in claims):
            return self.refuse(question, standalone, passages, timings, "unsupported", **refusal)
        citations = [make_citation(n, passages[n - 1], backs(claims, n, settings.min_claim),
                                   highlight_spans(claims, n, texts[n - 1], self.similarity))
                     for n in cited_numbers(claims)]
        return Answer(question, text, False, citations, passages, claims, timings, self.generator.name, standalone,
                      confidence=score, stated=stated, signals=signals, grounded=grounded)

    def check_sentences(self, claims: Sequence, messages: list[dict]) -> None:
        """The model's P(yes) that each cited source states its sentence, read past the cached sources."""
        for claim in claims:
            for n in claim.cited:
                claim.checked[n] = self.generator.yes_probability(claim_messages(self.prompts, messages, claim.text, n))

    def check_outdated(self, claims: Sequence, passages: Sequence[Passage], messages: list[dict]) -> None:
        """For each sentence citing dated sources when a newer source was read too: the model's P(yes) that the
        newest of those says otherwise (prompts/newer.txt), read past the cached sources."""
        for claim in claims:
            cited = [passages[n - 1].date for n in claim.cited if passages[n - 1].date]
            newer = [n for n, p in enumerate(passages, 1) if p.date and cited and n not in claim.cited
                     and date_key(p.date) > max(date_key(d) for d in cited)]
            if newer:
                n = max(newer, key=lambda m: date_key(passages[m - 1].date))
                claim.newer[n] = self.generator.yes_probability(with_last_line(messages, self.prompts.newer.format(
                    claim=strip_markers(claim.text), n=n, date=spoken_date(passages[n - 1].date))))

    def weights(self) -> dict:
        """The fitted combiner (answerability.load_weights), read once."""
        if not hasattr(self, "_weights"):
            try:
                self._weights = load_weights()
            except (OSError, ValueError, KeyError) as exc:
                raise RagError(f"The refusal combiner's weights could not be read ({exc}); "
                               "restore rag/refusal_weights.json or set min_grounded to 0.") from None
        return self._weights

    def similarity(self, sentence: str, others: Sequence[str]) -> list[float]:
        """Cosine similarity of one sentence to each of others, with MiniLM (the support threshold was set on it)
        whatever embedder retrieval uses; a stand-in embedder of a test (no key) is used as it is."""
        from .embeddings import similarity, support_embedder

        if not hasattr(self, "_support"):
            own = self.index.embedder
            self._support = own if getattr(own, "key", "minilm") == "minilm" else support_embedder()
        return similarity(self._support, sentence, list(others))
