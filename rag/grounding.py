"""Grounding: what a question pins down, and whether the sources name it.

News questions hinge on a few specifics: a year ("the 2018 Tour de France"), a code ("the H20 chip",
"gpt-oss-120b"), a name ("Huawei", "Wimbledon"), a qualifier ("women's"). A small model asked about a
specific that no source names answers from the nearest passage, so each is looked for in the sources
before the model is asked, and in the passages the answer cites after it. Spellings are compared
normalised: case, possessives, dotted acronyms ("U.S." = "US"), a plural "s", ordinals ("21st" = 21),
and a few country aliases ("US" = "United States"). A name of several words ("Academy Awards Ceremony") is found when
each of its distinctive words is (distinctive.py: a word common in the language or the collection, "Ceremony", need
not be, as long as another word of the name is), so "Sam Altman's Marlow memo" is not found by "Altman".

Everything here is a pure function of text; answerability.py and the pipeline decide what to do with it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Optional, Sequence

from .distinctive import Common, in_language, zipf
from .text import HAN

# Words that name nothing when capitalised: question words, auxiliaries, pronouns, imperatives, articles.
NOT_SPECIFIC = frozenset("""who what when where which why how whom whose is are was were did does do can could will
would should shall might may must has have had the a an in on at of for to by from and or i it its he she they we
you this that these those there according yes no also but so if then than as with about after before during
name tell list give describe explain summarize summarise compare please show find say said says
his her their our my your me us them him please""".split()) - {"us"}
QUALIFIERS_WRITTEN = "women men woman man female male girls boys mixed junior senior singles doubles"
ORDINALS = {w: str(i) for i, w in enumerate("zeroth first second third fourth fifth sixth seventh eighth ninth tenth "
                                           "eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth "
                                           "eighteenth nineteenth twentieth".split())}
ALIASES = {"us": ("united states", "america", "american"), "usa": ("united states", "us", "america"),
           "uk": ("united kingdom", "britain", "british"), "eu": ("european union", "europe", "european"),
           "un": ("united nations",)}
TOKEN = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+(?:['’][sS])?", re.UNICODE)  # Chinese characters apart from the rest
CODE = re.compile(rf"(?<![^\W{HAN}])(?<!-)[^\W_{HAN}]+(?:[-.][^\W_{HAN}]+)*(?![^\W{HAN}]|-)", re.UNICODE)
ACRONYM = re.compile(r"\b((?:[A-Za-z]\.){2,})")
CONNECTORS = frozenset("de del della di da du la le von van der of the and y".split())


@dataclass(frozen=True)
class Constraint:
    """One specific of a question: its kind, as written, and its normalised tokens (all must be found).

    A name also knows the run of capitalised words it stands in (its phrase): "Ceremony" of "Academy Awards
    Ceremony", a common word, is found when another word of the phrase is, so a source that says "the 92nd Academy
    Awards" names it; "Marlow" of "Marlow Academy Awards" must be found itself.
    """
    kind: str  # "number", "code", "name" or "qualifier"
    text: str
    tokens: tuple[str, ...]
    phrase: tuple[str, ...] = ()


def collapse_acronyms(text: str) -> str:
    """``collapse_acronyms('The U.S. and U.K. met.') -> 'The US and UK met.'``"""
    return ACRONYM.sub(lambda m: m.group(1).replace(".", ""), text)


def norm(word: str) -> str:
    """A word as compared: lower case, no possessive, no plural s, ordinals as numbers.

    ``[norm(w) for w in ["Altman's", 'Chips', '21st', 'Second', 'US', 'H20']] -> ['altman', 'chip', '21', '2', 'us', 'h20']``
    """
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w in ORDINALS:
        return ORDINALS[w]
    ordinal = re.fullmatch(r"(\d+)(st|nd|rd|th)", w)
    if ordinal:
        return ordinal.group(1)
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss") and not w[-2].isdigit():
        w = w[:-1]
    return w


QUALIFIERS = frozenset(norm(w) for w in QUALIFIERS_WRITTEN.split())


def tokens(text: str) -> list[str]:
    """Normalised words of a text: ``tokens("The U.S.'s 2nd H20 chips") -> ['the', 'us', '2', 'h20', 'chip']``."""
    return [norm(w) for w in TOKEN.findall(collapse_acronyms(text))]


def constraints(question: str) -> list[Constraint]:
    """The specifics a question pins down, in order, each once.

    ``[(c.kind, c.text) for c in constraints("Which company makes the H20 chip, and did the U.S. approve it in 2025?")]``
    -> ``[('code', 'H20'), ('name', 'US'), ('number', '2025')]``
    ``[(c.kind, c.text) for c in constraints("Who won the women's singles at Wimbledon in 2019?")]``
    -> ``[('qualifier', 'women'), ('qualifier', 'singles'), ('name', 'Wimbledon'), ('number', '2019')]``
    """
    text = collapse_acronyms(question)
    found: dict[tuple, Constraint] = {}
    for match in CODE.finditer(text):
        raw = match.group(0).rstrip(".")
        parts = [p for p in re.split(r"[-.]", raw) if p]
        if any(switches(p) >= 3 for p in parts):  # "s1c0x3f": an identifier, not a name a source would use
            continue
        if len(parts) > 1 and re.fullmatch(r"\d", parts[-1]):  # "x-0": a lone digit decides nothing
            raw, parts = raw[:raw.rfind(parts[-1]) - 1], parts[:-1]
        if any(c.isdigit() for c in raw) and (any(c.isalpha() for c in raw) or len(parts) > 1):
            kind = "number" if re.fullmatch(r"\d+(st|nd|rd|th)?", raw, re.I) else "code"
        elif raw.isdigit():
            kind = "number" if len(raw) >= 2 else ""
        else:
            kind = ""
        if kind == "number" and len(norm(raw)) < 2 and not raw[-1].isalpha():
            kind = ""
        if kind:
            found.setdefault((kind, norm(raw)), Constraint(kind, raw, tuple(tokens(raw))))
            continue
        for word_match in TOKEN.finditer(raw):
            word = word_match.group(0)
            key = norm(word)
            if key in QUALIFIERS:
                found.setdefault(("qualifier", key), Constraint("qualifier", word, (key,)))
            elif word[0].isupper() and key not in NOT_SPECIFIC and word.lower().removesuffix("'s") not in NOT_SPECIFIC \
                    and len(key) > 1 and not key.isdigit() and not opens_sentence(text, match.start() + word_match.start()):
                found.setdefault(("name", key), Constraint("name", word.removesuffix("'s").removesuffix("’s"), (key,)))
    names = {c.tokens[0] for c in found.values() if c.kind == "name"}
    runs = name_runs(text, names)
    return [replace(c, phrase=next((run for run in runs if c.tokens[0] in run), c.tokens)) if c.kind == "name" else c
            for c in found.values()]


def name_runs(text: str, names: set[str]) -> list[tuple[str, ...]]:
    """The runs of adjacent words of a text that are names (normalised, among names): names of several words. A
    possessive ends a run (in "Altman's Marlow memo" the memo is not Altman's name), and so does punctuation.

    ``name_runs('Who won Best Actor at the 92nd Academy Awards Ceremony?', {'best', 'actor', 'academy', 'award',
    'ceremony'})`` -> ``[('best', 'actor'), ('academy', 'award', 'ceremony')]``
    ``name_runs("Sam Altman's Marlow memo", {'sam', 'altman', 'marlow'}) -> [('sam', 'altman'), ('marlow',)]``
    """
    return [tuple(norm(TOKEN.match(text, a).group(0)) for a, _ in run) for run in name_spans(text, names)]


def name_spans(text: str, names: set[str]) -> list[list[tuple[int, int]]]:
    """The (start, end) of each word of each run name_runs finds, a possessive "'s" left out of its word's end.

    ``name_spans("Ann's Marlow Cup.", {'ann', 'marlow', 'cup'}) -> [[(0, 3)], [(6, 12), (13, 16)]]``
    """
    runs, run = [], []
    for match in [*TOKEN.finditer(text), None]:
        word = match.group(0) if match else ""
        if run and word and text[run[-1][1]:match.start()].strip():  # "Biden, Trump": two names
            runs.append(run)
            run = []
        if word and norm(word) in names:
            possessive = word[-2:].lower() in ("'s", "’s")
            run.append((match.start(), match.end() - 2 * possessive))
            if not possessive:
                continue
        if run:
            runs.append(run)
            run = []
    return runs


def switches(word: str) -> int:
    """How often a word switches between letters and digits: ``switches('H20') -> 1``; ``switches('s1c0x3f') -> 6``."""
    kinds = [c.isdigit() for c in word if c.isalnum()]
    return sum(a != b for a, b in zip(kinds, kinds[1:]))


def opens_sentence(text: str, start: int) -> bool:
    """Whether a plain capitalised word at start is only capitalised because a sentence begins there ("Besides",
    "Under"); a word with another capital ("OpenAI", "GPU") is a name wherever it stands.

    ``opens_sentence('Besides chips, what?', 0) -> True``; ``opens_sentence('OpenAI said. Why?', 0) -> False``
    """
    word = TOKEN.match(text, start).group(0)
    if any(c.isupper() for c in word[1:]):
        return False
    before = text[:start].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?\n:"


def present(constraint: Constraint, vocabulary: set[str], joined: str, common: Common = in_language) -> bool:
    """Whether a text (its normalised word set and its words joined by spaces) names the constraint.

    A name of five letters or more also matches a word sharing its stem ("Chinese" ~ "China"); a common word of a
    name (common: distinctive.py) is named when another word of its phrase is; a code must appear as the same run of
    words ("gpt oss 120b"); an alias counts ("US" ~ "United States").
    """
    if len(constraint.tokens) > 1:
        return f" {' '.join(constraint.tokens)} " in joined
    word = constraint.tokens[0] if constraint.tokens else ""
    if word in vocabulary or any(f" {' '.join(tokens(alias))} " in joined for alias in ALIASES.get(word, ())):
        return True
    if constraint.kind == "name":
        return named(word, vocabulary) or (common(constraint.text) and any(named(w, vocabulary) for w in constraint.phrase))
    return False


def named(word: str, vocabulary: set[str]) -> bool:
    """A name's word in a vocabulary, or one sharing its stem when it has five letters or more and English knows it
    ("Chinese" ~ "China"; a word no English text uses, "Meason", is no derived form of "measures").

    ``named('chinese', {'china'}) -> True``; ``named('huawei', {'nvidia'}) -> False``; ``named('meason', {'measure'}) -> False``
    """
    if word in vocabulary:
        return True
    stem = word[:max(4, len(word) - 3)]
    return len(word) >= 5 and zipf(word) > 0 and any(v.startswith(stem) for v in vocabulary)


def missing(question_constraints: Sequence[Constraint], texts: Iterable[str], kinds: Optional[set] = None,
            common: Common = in_language) -> list[Constraint]:
    """The constraints (of the given kinds) that none of texts names (common: which words of a name need not be named).

    ``[c.text for c in missing(constraints('Who makes the H20 chip?'), ['Nvidia makes the H200.'])] -> ['H20']``
    ``missing(constraints('Did the U.S. act?'), ['The United States acted.']) -> []``
    ``[c.text for c in missing(constraints("What did Sam Altman's Marlow memo say?"), ['Altman spoke.'])] -> ['Marlow']``
    """
    vocabulary, joined = searchable(texts)
    return [c for c in question_constraints
            if (kinds is None or c.kind in kinds) and not present(c, vocabulary, joined, common)]


def unwritten(lacking: Sequence[Constraint], texts: Iterable[str]) -> list[Constraint]:
    """The lacking constraints that are not a name of several words written in full in texts: "Kestrel Dome", which
    the passages read lack but another article found writes, is a real name, not a made-up one beside a real word.

    ``[c.text for c in unwritten(constraints('When did Kestrel Dome restart?'), ['Drilling began at Kestrel Dome.'])]
    -> []``; ``[c.text for c in unwritten(constraints("Altman's Marlow memo?"), ['Altman and Marlow met.'])] -> ['Marlow']``
    """
    _, joined = searchable(texts)
    return [c for c in lacking if not (c.kind == "name" and len(c.phrase) > 1 and f" {' '.join(c.phrase)} " in joined)]


def searchable(texts: Iterable[str]) -> tuple[set[str], str]:
    """Texts as present() searches them: their normalised word set, and their words joined by spaces.

    ``searchable(['U.S. chips']) -> ({'us', 'chip', '\\n'}, ' us chip \\n ')``
    """
    words = [w for text in texts for w in [*tokens(text), "\n"]]
    return set(words), f" {' '.join(words)} "
