"""Near-miss questions: answerable questions of a test set with one specific swapped for one the corpus does not
pair with the rest, labelled unanswerable.

"Who won the 2019 Tour de France?" becomes "Who won the 2017 Tour de France?" when no paragraph of the corpus
names 2017 together with Tour and France (while one names 2019 with them). These are the questions a small
model gets wrong most: the nearest passage is about the same event in another year. ``rag eval --near-misses``
builds them for any test set and corpus, so a user can measure refusals on their own articles. The check is
a search of every paragraph of the corpus (grounding.missing), so a variant is only kept when the corpus
really lacks it. The swaps are years (±1 to ±3) and the women's/men's qualifier: swapping names for other
names of the corpus made nonsense ("the Nintendo's Creed movie") as often as near misses, so it is not done.

``rag eval --near-misses names`` makes the other kind: an invented name beside a real one, added ("Altman's
memo" -> "Altman's Brandow memo", "the Tour de France" -> "the Brandow Tour de France") or swapped for the
least common word of a name of several ("Sam Altman" -> "Sam Brandow"). The invented name is spelled from
letters by a hash of the question, and kept only when no English word (wordfreq) and no word of the corpus is
spelled so: the question then asks about something the articles cannot hold.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Iterable, Optional, Sequence

from .. import grounding
from ..documents import find_documents, load_document
from ..errors import RagError
from ..text import sentences

WINDOW = 3  # sentences: specifics named further apart than this are not "named together"
# Capitalised words that are dates, not names: never swapped in for a name.
CALENDAR = frozenset("""jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august
september october november december monday tuesday wednesday thursday friday saturday sunday""".split())
YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
QUALIFIER_SWAPS = {"women": "men", "men": "women", "woman": "man", "man": "woman", "female": "male", "male": "female"}


def paragraphs(texts: Iterable[tuple[str, str]], size: int = WINDOW) -> list[str]:
    """Each (title, text) document cut into runs of at most size sentences within a paragraph, each run prefixed
    with its title: what "the corpus names these together" means.

    ``paragraphs([('Tour', 'Bernal won in 2019.\\n\\nThomas won in 2018.')])``
    -> ``['Tour Bernal won in 2019.', 'Tour Thomas won in 2018.']``
    """
    out = []
    for title, text in texts:
        for para in re.split(r"\n\s*\n", text):
            spans = sentences(para)
            for i in range(0, len(spans), size):
                out.append(f"{title} {para[spans[i][0]:spans[min(i + size, len(spans)) - 1][1]]}")
    return out


def pairs_in(question: str, paras: Sequence) -> bool:
    """Whether one paragraph (a text, or grounding.searchable of one) names every specific of the question together."""
    wanted = grounding.constraints(question)
    indexed = [grounding.searchable([p]) if isinstance(p, str) else p for p in paras]
    return bool(wanted) and any(all(grounding.present(c, *p) for c in wanted) for p in indexed)


def swaps(question: str) -> list[tuple[str, str]]:
    """Candidate (variant, what changed) pairs, nearest first: years ±1..3, then the qualifier.

    ``swaps('Who won the 2019 Tour?')[:2] -> [('Who won the 2018 Tour?', '2019 -> 2018'),
    ('Who won the 2020 Tour?', '2019 -> 2020')]``
    """
    out = []
    for match in YEAR.finditer(question):
        year = int(match.group(1))
        for delta in (-1, 1, -2, 2, -3, 3):
            new = str(year + delta)
            out.append((question[:match.start()] + new + question[match.end():], f"{match.group(1)} -> {new}"))
    for word, other in QUALIFIER_SWAPS.items():
        pattern = re.compile(rf"\b{word}(?=('s|’s)?\b)", re.IGNORECASE)
        if pattern.search(question):
            swapped = pattern.sub(lambda m: other.capitalize() if m.group(0)[0].isupper() else other, question, count=1)
            out.append((swapped, f"{word} -> {other}"))
    return out


def near_misses(items: Sequence[dict], paras: Sequence[str], per_question: int = 1) -> list[dict]:
    """Unanswerable variants of the answerable items, per_question each at most, checked against paras.

    An item qualifies only when one paragraph names all its specifics together, so that "no paragraph names the
    variant's specifics together" is a real test; the variant keeps the item's id with a ``~nm`` suffix.
    """
    paras = [grounding.searchable([p]) for p in paras]
    out = []
    for item in items:
        if not item.get("answerable") or not pairs_in(item["question"], paras):
            continue
        made = 0
        for variant, change in swaps(item["question"]):
            if made >= per_question:
                break
            if variant != item["question"] and not pairs_in(variant, paras) and \
                    len(grounding.constraints(variant)) == len(grounding.constraints(item["question"])):
                out.append({"id": f"{item['id']}~nm{made + 1}", "question": variant,
                            "answer": f"The articles do not say (near miss of {item['id']}: {change}).",
                            "answerable": False, "evidence": [], "keywords": []})
                made += 1
    return out


ONSETS = "b br c cl d dr f g gr h k l m n p pr r s st t tr v w z".split()
VOWELS = "a e i o u ai ea".split()
ENDINGS = "ow ell ine ard on is ey er ane ock".split()
CODAS = ["", "n", "r", "l", "s", "m", "nd", "rt"]


def invented_name(seed: str, taken: set[str]) -> str:
    """A name spelled from letters by a hash of seed, that is no English word and not in taken (normalised words).

    ``invented_name('q1', set())`` -> a capitalised made-up word such as ``'Brandow'``, the same for the same seed.
    """
    from ..distinctive import zipf

    for attempt in range(1000):
        digest = hashlib.sha256(f"{seed}/{attempt}".encode()).digest()
        name = (ONSETS[digest[0] % len(ONSETS)] + VOWELS[digest[1] % len(VOWELS)] + CODAS[digest[2] % len(CODAS)]
                + ENDINGS[digest[3] % len(ENDINGS)]).capitalize()
        if zipf(name.lower()) == 0.0 and grounding.norm(name) not in taken:
            return name
    raise RagError("No invented name could be spelled that the corpus does not hold.")


def name_variants(question: str, name: str) -> list[tuple[str, str]]:
    """(variant, what changed) with an invented name beside the question's names: after an owner ("Altman's"), after
    "the" before a name, or in place of the least common word of a name of several words.

    ``name_variants("What is Altman's view of the Tour de France?", 'Brandow')`` -> ``[("What is Altman's Brandow view
    of the Tour de France?", 'added Brandow'), ("What is Altman's view of the Brandow Tour de France?", 'added Brandow')]``
    """
    from ..distinctive import zipf

    text = question
    names = {c.tokens[0] for c in grounding.constraints(question) if c.kind == "name"}
    out = []
    for run in grounding.name_spans(text, names):
        start, end = run[0][0], run[-1][1]
        if text[end:end + 2] in ("'s", "’s"):
            out.append((f"{text[:end + 2]} {name}{text[end + 2:]}", f"added {name}"))
        if text[:start].rstrip().lower().endswith(" the"):
            out.append((f"{text[:start]}{name} {text[start:]}", f"added {name}"))
        if len(run) > 1:
            a, b = min(run, key=lambda span: zipf(text[span[0]:span[1]].lower()))
            out.append((f"{text[:a]}{name}{text[b:]}", f"{text[a:b]} -> {name}"))
    return out


def invented_near_misses(items: Sequence[dict], paras: Sequence[str], per_question: int = 1) -> list[dict]:
    """Unanswerable variants of the answerable items with an invented name beside a real one (name_variants), kept
    when the real names are all in the corpus, so only the invented one is missing."""
    indexed = [grounding.searchable([p]) for p in paras]
    taken = set().union(*(vocabulary for vocabulary, _ in indexed)) if indexed else set()
    out = []
    for item in items:
        real = [c for c in grounding.constraints(item["question"]) if c.kind == "name"]
        if not item.get("answerable") or not real or not all(any(grounding.present(c, *p) for p in indexed) for c in real):
            continue
        name = invented_name(item["id"], taken)
        for made, (variant, change) in enumerate(name_variants(item["question"], name)[:per_question], 1):
            out.append({"id": f"{item['id']}~nv{made}", "question": variant,
                        "answer": f"The articles do not say (near miss of {item['id']}: {change}).",
                        "answerable": False, "evidence": [], "keywords": [], "invented": name})
    return out


def corpus_paragraphs(corpus: Path) -> list[str]:
    """Every readable document of a corpus folder, as paragraphs (unreadable files are passed over)."""
    docs = []
    for path in find_documents([Path(corpus)]):
        try:
            doc = load_document(path, Path(corpus))
        except RagError:  # a file ingest would refuse adds nothing to search
            continue
        docs.append((doc.title, doc.text))
    return paragraphs(docs)


def write_near_misses(testset: Path, corpus: Path, out: Path, limit: Optional[int] = None, kind: str = "years") -> int:
    """Build the near misses of a test set over a corpus into out (JSON Lines); returns how many.

    kind: "years" (a year or women's/men's swapped: near_misses) or "names" (an invented name: invented_near_misses).
    """
    from .testset import load_testset

    build = invented_near_misses if kind == "names" else near_misses
    made = build(load_testset(testset, limit), corpus_paragraphs(corpus))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in made), encoding="utf-8")
    return len(made)


def near_miss_testset(testset: Path, corpus: Path, out_dir: Path, limit: Optional[int], progress=print,
                      kind: str = "years") -> Path:
    """``rag eval --near-misses [years|names]``: write the near misses of a test set to out_dir/near-misses.jsonl
    and return it.

    Raises:
        RagError: no near miss could be made from this test set and corpus.
    """
    path = Path(out_dir) / "near-misses.jsonl"
    count = write_near_misses(testset, corpus, path, limit, kind)
    if not count and kind == "names":
        raise RagError("No near misses could be made: no answerable question names something the corpus names.")
    if not count:
        raise RagError("No near misses could be made: no answerable question names a year or a women's/men's "
                       "qualifier that one passage of the corpus pairs with the rest of it.")
    progress(f"{count} near misses written to {path}")
    return path
