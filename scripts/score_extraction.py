"""Score the web-page readers on real pages with known main text: trafilatura's own evaluation set.

The pages are not in this repository (their licences differ); get them from trafilatura's public
repository and point this script at its tests folder::

    git clone --depth 1 https://github.com/adbar/trafilatura /tmp/trafilatura
    flock /tmp/rag-heavy.lock .venv/bin/python scripts/score_extraction.py /tmp/trafilatura/tests

``tests/evaldata.json`` lists, per page, snippets of the main text that must be in the extraction
("with") and snippets of boilerplate that must not ("without"). As in trafilatura's own
``tests/eval_common.py``: a "with" snippet found is a true positive, missed a false negative; a
"without" snippet found is a false positive. precision = tp / (tp + fp), recall = tp / (tp + fn).
Pages are split in two halves by their order in evaldata.json (even and odd): a setting is chosen on
the first ("choose") and confirmed on the second ("confirm").
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.documents import decode_text, normalize_text  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.readers import parse_html, parse_html_soup  # noqa: E402



def trafilatura_precise(html: str):
    """trafilatura with favor_precision=True, the one setting compared (BeautifulSoup where it finds nothing)."""
    import trafilatura

    from rag.readers import Parsed

    found = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, favor_precision=True)
    return parse_html_soup(html) if found is None or not (found.text or "").strip() else Parsed(found.title, found.text)


READERS = {"beautifulsoup (before)": parse_html_soup, "trafilatura (after)": parse_html,
           "trafilatura, favor_precision": trafilatura_precise}


def norm(text: str) -> str:
    """Whitespace-normalised text, so line breaks do not cost recall: ``norm(' a\\n b ') -> 'a b'``."""
    return re.sub(r"\s+", " ", text).strip()


def count(item: dict, text: str | None) -> tuple[int, int, int]:
    """(tp, fp, fn) of one page: ``count({'with': ['a'], 'without': ['b']}, 'a b') -> (1, 1, 0)``."""
    found = norm(text or "")
    tp = sum(norm(w) in found for w in item["with"])
    fp = sum(norm(w) in found for w in item["without"])
    return tp, fp, len(item["with"]) - tp


def page_file(tests: Path, name: str) -> Path | None:
    """The page's HTML under tests/cache or tests/eval (where trafilatura keeps them)."""
    return next((tests / sub / name for sub in ("cache", "eval") if (tests / sub / name).is_file()), None)


def scores(tp: int, fp: int, fn: int, pages: int) -> dict:
    """``scores(3, 1, 1, 2) -> {'pages': 2, 'precision': 0.75, 'recall': 0.75, 'f1': 0.75, 'tp': 3, 'fp': 1, 'fn': 1}``."""
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"pages": pages, "precision": round(precision, 3), "recall": round(recall, 3),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 3), "tp": tp, "fp": fp, "fn": fn}


def score(tests: Path, limit: int | None = None) -> dict:
    """Precision, recall, F1 and milliseconds per page of each reader: on all pages, and on each half."""
    evaldata = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    pages = [(url, item, page_file(tests, item["file"])) for url, item in evaldata.items()]
    pages = [(url, item, path) for url, item, path in pages if path is not None][:limit]
    results = {}
    for name, reader in READERS.items():
        counts = {"choose": [0, 0, 0], "confirm": [0, 0, 0]}
        started, failed = time.perf_counter(), 0
        for number, (url, item, path) in enumerate(pages):
            try:
                text = normalize_text(reader(decode_text(path.read_bytes(), path.name)).text)
            except (RagError, ValueError, TypeError):
                text, failed = None, failed + 1
            half = counts["choose" if number % 2 == 0 else "confirm"]
            for i, value in enumerate(count(item, text)):
                half[i] += value
        total = [a + b for a, b in zip(counts["choose"], counts["confirm"])]
        results[name] = {**scores(*total, len(pages)), "failed": failed,
                         "ms_per_page": round(1000 * (time.perf_counter() - started) / max(len(pages), 1), 1),
                         "choose": scores(*counts["choose"], (len(pages) + 1) // 2),
                         "confirm": scores(*counts["confirm"], len(pages) // 2)}
    return results


def english(item: dict) -> bool:
    """A page whose main-text snippets read as English (the retrieval check asks English questions)."""
    return all(re.search(r"\b(the|and|of|to)\b", w.lower()) for w in item["with"])


def retrieval_effect(tests: Path, n_pages: int, top_k: int = 4) -> dict:
    """What boilerplate does to retrieval: each reader's text of n_pages English pages indexed (real Chroma,
    MiniLM, BM25), each page's title asked as the question.

    Per reader: hit@k = share of questions whose top_k passages include one from that page holding a "with"
    snippet (its main text); noise = share of all top_k passages holding a "without" snippet (boilerplate).
    """
    import tempfile

    from rag.index import Index
    from rag.retrieval import Retriever
    from rag.settings import Settings

    evaldata = json.loads((tests / "evaldata.json").read_text(encoding="utf-8"))
    pages = [(item, page_file(tests, item["file"])) for item in evaldata.values() if english(item)]
    pages = [(item, path, decode_text(path.read_bytes(), path.name)) for item, path in pages if path][:n_pages]
    titles = [parse_html(html).title or f"page {i}" for i, (_, _, html) in enumerate(pages)]
    results = {}
    for name, reader in list(READERS.items())[:2]:
        with tempfile.TemporaryDirectory() as home:
            corpus = Path(home) / "corpus"
            corpus.mkdir()
            for i, (_, _, html) in enumerate(pages):
                body = normalize_text(reader(html).text) or "(empty)"
                (corpus / f"page{i:04d}.md").write_text(f"---\ntitle: {json.dumps(titles[i])}\n---\n{body}\n", encoding="utf-8")
            index = Index(Settings.load(home=Path(home) / "home", corpus=corpus))
            index.ingest()
            retriever, hit, noisy, shown = Retriever(index), 0, 0, 0
            for i, (item, _, _) in enumerate(pages):
                found = retriever.search(titles[i], top_k, 20)
                own = [p for p in found if p.source == f"page{i:04d}.md"]
                hit += any(norm(w) in norm(p.text) for p in own for w in item["with"])
                noisy += sum(any(norm(w) in norm(p.text) for w in item["without"]) for p in own)
                shown += len(found)
            results[name] = {"questions": len(pages), "chunks": index.count(), "hit_at_k": round(hit / len(pages), 3),
                             "noise_share": round(noisy / max(shown, 1), 3)}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tests", type=Path, help="trafilatura's tests folder (evaldata.json, cache/, eval/)")
    parser.add_argument("--limit", type=int, help="score only the first N pages")
    parser.add_argument("--retrieval", type=int, metavar="N", help="also index N English pages per reader and "
                        "ask each page's title (hit@4 of its main text, share of boilerplate passages)")
    args = parser.parse_args()
    if not (args.tests / "evaldata.json").is_file():
        print(f"{args.tests}: no evaldata.json here; see this script's docstring for where to get it.", file=sys.stderr)
        return 2
    results = score(args.tests, args.limit)
    print("| reader | pages | precision | recall | F1 | F1 choose / confirm half | ms/page |\n|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['pages']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | "
              f"{r['choose']['f1']:.3f} / {r['confirm']['f1']:.3f} | {r['ms_per_page']:.0f} |")
    print(json.dumps(results))
    if args.retrieval:
        effect = retrieval_effect(args.tests, args.retrieval)
        print("| reader | questions | chunks | hit@4 | boilerplate share of passages |\n|---|---|---|---|---|")
        for name, r in effect.items():
            print(f"| {name} | {r['questions']} | {r['chunks']} | {r['hit_at_k']:.3f} | {r['noise_share']:.3f} |")
        print(json.dumps(effect))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
