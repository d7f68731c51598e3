"""Answer-side specifics: the names, codes, numbers and months an answer sentence states that its sources do not.

"OpenAI released gpt-oss-120b in May [1]" from a source that never says when: everything but "May" is in the
source, so a yes/no check reading the whole sentence may back it. Each specific of the sentence is looked for in
the sources it cites instead (and in the question, which may supply it); one that none holds marks the sentence
as not found in the sources, whatever the model's check said (pipeline.finish).

- Names and codes: grounding.constraints of the sentence (capitalised words past its start, codes like "H20"),
  compared as the question's are (grounding.present: case, possessives, plurals, "U.S." = "US", a common word of
  a name found with the rest of it). Month names are dates, not names.
- Numbers are compared as numbers: "1,200" = "1200", "two" = "2", "21st" = "21", "1.2 million" = "1,200,000",
  and a source's "second" = "2nd". A number word in an answer counts from "two" on ("one of them" is not a count),
  an ordinal word not at all ("the first time").
- Dates as dates: a month, written or abbreviated ("August", "Aug."), is held by a source naming it in either
  form or in a date of numbers ("2025-08-05", "6/19/2020"); the day and year of a date are numbers, so "5 August
  2025" is held by "Aug. 5, 2025", by "8/5/2025" and by a source dated 2025-08-05, and "6/19/2020" by "June 19, 2020".
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from . import grounding
from .distinctive import Common, in_language

MONTHS = {name: i for i, names in enumerate(
    ["january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul", "august aug",
     "september sep sept", "october oct", "november nov", "december dec"], 1) for name in names.split()}
UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen " \
        "seventeen eighteen nineteen".split()
TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
NUMBER_WORDS = {**{w: i for i, w in enumerate(UNITS)}, **TENS}
SCALES = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "b": 1e9,
          "trillion": 1e12, "k": 1e3}
NUMBER = re.compile(r"(?<![\w.-])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:st|nd|rd|th)?(?:\s*(hundred|thousand|million|"
                    r"billion|trillion)\b|(bn|m|b|k)\b)?", re.IGNORECASE)
WORD_NUMBER = re.compile(r"\b(" + "|".join(TENS) + r")-(" + "|".join(UNITS[1:10]) + r")\b|\b(" +
                         "|".join(NUMBER_WORDS) + r")\b(?:\s+(hundred|thousand|million|billion|trillion)\b)?",
                         re.IGNORECASE)
MONTH = re.compile(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?", re.IGNORECASE)
ORDINAL_WORD = re.compile(r"\b(?:" + "|".join(grounding.ORDINALS) + r")\b", re.IGNORECASE)
ISO_DATE = re.compile(r"\b(?:19|20)\d\d-(0[1-9]|1[0-2])(?:-(\d\d))?\b")
SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})\b")  # 6/19/2020 or 19/6/2020: either may be the month


def readings(digits: str, decimals: str = "", scale: str = "") -> set[float]:
    """The values a written number may stand for: as written, and times its scale word.

    ``readings('1,200') -> {1200.0}``; ``readings('1', '.2', 'million') -> {1.2, 1200000.0}``
    """
    value = float(digits.replace(",", "") + (decimals or ""))
    factor = SCALES.get((scale or "").lower())
    return {value, round(value * factor, 6)} if factor else {value}


def numbers(text: str, answer: bool = False) -> dict[str, set[float]]:
    """Each number of a text, as written, with its readings; in an answer, number words count from "two" on.

    ``numbers('Two chips cost $1,200 [1].', answer=True) -> {'1,200': {1200.0}, 'Two': {2.0}}`` (a marker is no number)
    ``numbers('one of twenty-five') -> {'one': {1.0}, 'twenty-five': {25.0}}``;
    ``numbers('Dated 2025-08-05.') -> {'2025': {2025.0}, '08': {8.0}, '05': {5.0}}`` (a source's ISO date: its day too;
    a source's ordinal words: ``numbers('the second') -> {'second': {2.0}}``)
    """
    text = re.sub(r"\[\d+(?:\s*,\s*\d+)*\]", " ", text)
    found = {m.group(0).strip(): readings(m.group(1), m.group(2), m.group(3) or m.group(4)) for m in NUMBER.finditer(text)}
    for m in WORD_NUMBER.finditer(text):
        if m.group(1):
            value = float(TENS[m.group(1).lower()] + NUMBER_WORDS[m.group(2).lower()])
        else:
            value = float(NUMBER_WORDS[m.group(3).lower()])
            if answer and value < 2:
                continue
        found[m.group(0)] = readings(str(int(value)), "", m.group(4) or "")
    if not answer:
        found.update({part: {float(part)} for m in ISO_DATE.finditer(text) for part in m.groups() if part})
        found.update({m.group(0): {float(grounding.ORDINALS[m.group(0).lower()])} for m in ORDINAL_WORD.finditer(text)})
    return found


def months(text: str, answer: bool = False) -> dict[str, int]:
    """Each month a text names, as written, with its number. A source's months include ISO dates' ("2025-08-05"); an
    answer's are capitalised month names not opening it ("May I" is no date), or any followed by a number.

    ``months('Out in Aug. 2025, dated 2024-05-01.') -> {'Aug': 8, '2024-05-01': 5}``;
    ``months('Release: 6/19/2020') -> {'6/19/2020#1': 6}`` (a slashed date: either number may be its month)
    ``months('May it ship in May?', answer=True) -> {'May': 5}``
    """
    found = {}
    for m in MONTH.finditer(text):
        word = m.group(1)
        if not word[0].isupper():
            continue
        opens = not text[:m.start()].strip(" \"'“‘(")
        if answer and opens and not re.match(r"\s*\d", text[m.end():]):
            continue
        found[word] = MONTHS[word.lower()]
    if not answer:
        found.update({m.group(0): int(m.group(1)) for m in ISO_DATE.finditer(text)})
        found.update({f"{m.group(0)}#{i}": int(m.group(i)) for m in SLASH_DATE.finditer(text) for i in (1, 2)
                      if 1 <= int(m.group(i)) <= 12})
    return found


def names(sentence: str) -> list[grounding.Constraint]:
    """The names and codes of a sentence (grounding.constraints), months left out (they are dates).

    ``[c.text for c in names('Nvidia sold the H20 to China in August 2025.')] -> ['H20', 'China']``
    """
    return [c for c in grounding.constraints(sentence)
            if c.kind in ("name", "code") and not (c.kind == "name" and c.text.lower() in MONTHS)]


def unheld(sentence: str, sources: Iterable[str], question: str = "", common: Common = in_language) -> list[str]:
    """The specifics of an answer sentence (as written) that none of the sources holds and the question does not name.

    ``unheld('OpenAI released gpt-oss-120b in May [1].', ['OpenAI released gpt-oss-120b and 20b.'])`` -> ``['May']``
    ``unheld('It cost 1200 dollars in two rounds.', ['It cost $1,200, paid in 2 rounds.']) -> []``
    ``unheld('Huang met Altman.', ['Altman spoke.'], 'What did Huang say?') -> []``
    """
    texts = [*sources, question]
    vocabulary, joined = grounding.searchable(texts)
    held_numbers = {v for text in texts for values in numbers(text).values() for v in values}
    held_months = {v for text in texts for v in months(text).values()}
    held_numbers |= {float(v) for v in held_months}  # "6/19/2020" is held by "June 19, 2020"
    lacking = [c.text for c in names(sentence) if not grounding.present(c, vocabulary, joined, common)]
    lacking += [w for w, values in numbers(sentence, answer=True).items() if not values & held_numbers]
    lacking += [w for w, month in months(sentence, answer=True).items() if month not in held_months]
    return lacking


def unheld_share(claims: Sequence) -> float:
    """The share of an answer's sentences citing a source that state a specific none of their sources holds.

    ``unheld_share([Claim('A.', [1], unheld=['May']), Claim('B.', [1]), Claim('C.')]) -> 0.5``
    """
    cited = [claim for claim in claims if claim.cited]
    return round(sum(bool(claim.unheld) for claim in cited) / len(cited), 4) if cited else 0.0


def mark_unheld(claims: Sequence, sources: Sequence[str], question: str = "", common: Common = in_language) -> Sequence:
    """Record on each sentence (Claim.unheld) the specifics that none of the sources it cites holds (sources[n - 1]).

    ``[c.unheld for c in mark_unheld([Claim('Out in May.', [1]), Claim('Out.')], ['Out in 2025.'])] -> [['May'], []]``
    """
    for claim in claims:
        cited = [sources[n - 1] for n in claim.cited if 1 <= n <= len(sources)]
        claim.unheld = unheld(claim.text, cited, question, common) if cited else []
    return claims
