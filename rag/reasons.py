"""Reasons: why a refusal refused, in one sentence in the reader's terms.

"The articles found do not mention a Marlow memo." or "The articles found cover the 2019 Tour de France, not
2018.": the specifics a question pins down (grounding.constraints) that the sources lack, named as the question
wrote them. Pure functions of the question and the texts.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from .grounding import (CONNECTORS, NOT_SPECIFIC, TOKEN, Constraint, collapse_acronyms, constraints, name_spans, norm,
                        tokens)


def event_phrase(question: str) -> str:
    """The question's longest run of capitalised words (with connectors like "de"), its event or subject.

    ``event_phrase('Who won the 2018 Tour de France?') -> 'Tour de France'``; ``event_phrase('why?') -> ''``
    """
    words = TOKEN.findall(collapse_acronyms(question))
    best, run = [], []
    for word in [*words, ""]:
        capital = word[:1].isupper() and norm(word) not in NOT_SPECIFIC
        if capital or (run and word.lower() in CONNECTORS):
            run.append(word)
            continue
        while run and run[-1].lower() in CONNECTORS:
            run.pop()
        if len(run) > len(best):
            best = run
        run = []
    return " ".join(best)


def years_about(event: str, texts: Iterable[str]) -> list[str]:
    """The years (1900–2099) named by the texts that mention the event's words; all texts' years without one.

    ``years_about('Tour de France', ['Bernal won the 2019 Tour de France.', 'The 2020 Giro.']) -> ['2019']``
    """
    keys = [norm(w) for w in TOKEN.findall(event) if w.lower() not in CONNECTORS]
    years = set()
    for text in texts:
        words = set(tokens(text))
        if all(k in words for k in keys):
            years |= set(re.findall(r"\b(?:19|20)\d\d\b", text))
    return sorted(years)


def listing(items: Sequence[str], joiner: str = "and") -> str:
    """``listing(['a']) -> 'a'``; ``listing(['a', 'b', 'c'], 'or') -> 'a, b or c'``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {joiner} {items[-1]}"


def reason(question: str, lacking: Sequence[Constraint], texts: Sequence[str], where: str = "The articles found") -> str:
    """One sentence, in the reader's terms, for constraints that the texts do not name.

    ``reason('Which company makes the H20 chip?', constraints('the H20 chip'), ['OpenAI released gpt-oss.'])``
    -> ``'The articles found do not mention H20.'``
    ``reason('Who won the 2018 Tour de France?', constraints('2018'), ['Bernal won the 2019 Tour de France.'])``
    -> ``'The articles found cover the 2019 Tour de France, not 2018.'``
    """
    if not lacking:
        return ""
    years = [c.text for c in lacking if c.kind == "number" and re.fullmatch(r"(?:19|20)\d\d", c.text)]
    event = event_phrase(question)
    covered = [y for y in years_about(event, texts) if y not in years] if years else []
    if years and covered and len(years) == len(lacking):
        subject = f"the {listing(covered)} {event}" if event else listing(covered)
        return f"{where} cover {subject}, not {listing(years, 'or')}."
    return f"{where} do not mention {listing(mentions(question, lacking), 'or')}."


OWNERS = frozenset("his her its their our my your".split())


def mentions(question: str, lacking: Sequence[Constraint]) -> list[str]:
    """How the question names each lacking specific: a name as its run from the first lacking word on, with the noun
    it qualifies after an owner ("Altman's Marlow memo" -> "a Marlow memo") or "the"; anything else as written.

    ``mentions("What did Sam Altman's Marlow memo say?", constraints('a Marlow')) -> ['a Marlow memo']``;
    ``mentions('What did the Harrow Report say?', constraints('the Harrow')) -> ['the Harrow Report']``
    """
    text = collapse_acronyms(question)
    lacked = {c.tokens[0] for c in lacking if c.kind == "name"}
    runs = name_spans(text, {c.tokens[0] for c in constraints(question) if c.kind == "name"} | lacked)
    out = []
    for c in lacking:
        run = next((r for r in runs if c.kind == "name" and any(norm(text[a:b]) == c.tokens[0] for a, b in r)), None)
        first = next(i for i, (a, b) in enumerate(run) if norm(text[a:b]) in lacked) if run else 0
        out.append(written_name(text, run[first][0], run[-1][1], owned=first > 0) if run else c.text)
    return list(dict.fromkeys(out))


def written_name(text: str, start: int, end: int, owned: bool = False) -> str:
    """The name at text[start:end] as a reader would say it is missing, with "the" or "a" and the noun it qualifies.

    ``written_name("Altman's Marlow memo says", 9, 15) -> 'a Marlow memo'``; ``written_name('Did Nvidia say', 4, 10) -> 'Nvidia'``
    """
    before = TOKEN.findall(text[:start])[-1:] or [""]
    after = re.match(r"\s+([a-z]+)\b", text[end:])
    one_word = " " not in text[start:end]  # "the Pemberton Review conclude": after two words a verb is as likely
    head = after.group(1) if one_word and after and after.group(1) not in NOT_SPECIFIC and len(after.group(1)) > 2 else ""
    owned = owned or before[0].lower() in OWNERS or before[0][-2:].lower() in ("'s", "’s")
    name = text[start:end] + (f" {head}" if head and (owned or before[0].lower() == "the") else "")
    if before[0].lower() == "the":
        return f"the {name}"
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}" if owned and head else name
