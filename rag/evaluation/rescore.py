"""Rescore recorded answers with today's grounding rules, without the model.

A recorded run (results.json) keeps each answer's sentences, the model's checks of them and the offsets of every
passage it was given, and a passage is the corpus text between its offsets (context.select_sentences keeps it
exact). So what the grounding rules derive from them — the question's specifics that no source names
(Record.missing), the share of them its cited passages lack (cited_missing), each sentence's specifics that none
of its sources holds (Claim.unheld) and unheld_share — can be derived again after a rule changes; replay.py then
decides on the rescored records as the pipeline would. ``scripts/fit_refusal.py --rescore`` uses it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .. import grounding
from ..chunks import chunk_document
from ..distinctive import Common, document_frequencies, in_collection
from ..documents import Document, find_documents, load_document
from ..errors import RagError
from ..retrieval import bm25_tokens
from ..settings import Settings
from ..specifics import unheld, unheld_share


def load_corpus(corpus: Path, settings: Settings) -> tuple[dict[str, Document], Common]:
    """The corpus's documents by source name, and which words are common in it as the pipeline decides it (its
    chunks' document frequencies, Retriever.common)."""
    docs = {}
    for path in find_documents([Path(corpus)]):
        try:
            doc = load_document(path, Path(corpus))
        except RagError:  # ingest passes over a file it cannot read; so does the rescoring
            continue
        docs[doc.source] = doc
    chunks = [(doc, c) for doc in docs.values()
              for c in chunk_document(doc.doc_id, doc.content_hash, doc.text, settings.chunk_tokens, settings.chunk_overlap)]
    frequencies, count = document_frequencies(bm25_tokens([f"{doc.title}\n{c.text}" for doc, c in chunks]))
    return docs, in_collection(frequencies, count)


def passage_texts(record: dict, docs: dict[str, Document]) -> list[str]:
    """The recorded passages as answerability.source_text gives them (title, date, text), from "source:start-end".

    ``passage_texts({'passages': ['a.md:0-5']}, {'a.md': Document('a', 'A', 'a.md', 'Hello world', 'h')}) -> ['A Hello']``
    """
    texts = []
    for spec in record.get("passages", []):
        source, _, span = spec.rpartition(":")
        start, end = (int(x) for x in span.split("-"))
        doc = docs[source]
        texts.append(" ".join(part for part in (doc.title, doc.date, doc.text[start:end]) if part))
    return texts


def rescore(record: dict, docs: dict[str, Document], common: Common) -> dict:
    """The record with its grounding fields derived again by today's rules (other fields as recorded)."""
    out = dict(record)
    texts = passage_texts(record, docs)
    question = record["question"]
    wanted = grounding.constraints(question)
    out["missing"] = [[c.kind, c.text] for c in grounding.missing(wanted, texts, common=common)]
    claims = [dict(claim) for claim in record.get("claims", [])]
    for claim in claims:
        cited = [texts[n - 1] for n in claim.get("cited", []) if 1 <= n <= len(texts)]
        claim["unheld"] = unheld(claim["text"], cited, question, common) if cited else []
    out["claims"] = claims
    if record.get("signals"):
        cited_numbers = sorted({n for claim in claims for n in claim.get("cited", []) if 1 <= n <= len(texts)})
        cited_texts = [texts[n - 1] for n in cited_numbers]
        lacking = grounding.missing(wanted, cited_texts, common=common) if cited_texts else wanted
        signals = dict(record["signals"])
        signals["cited_missing"] = round(len(lacking) / len(wanted), 4) if wanted else 0.0
        signals["unheld_share"] = unheld_share([Cited(c) for c in claims]) if cited_numbers else None
        out["signals"] = signals
    return out


class Cited:
    """A recorded sentence as specifics.unheld_share reads a Claim: ``Cited({'cited': [1], 'unheld': []}).cited -> [1]``."""

    def __init__(self, claim: dict):
        self.cited, self.unheld = claim.get("cited", []), claim.get("unheld", [])


def rescore_all(records: Sequence[dict], corpus: Path, settings: Settings) -> list[dict]:
    """Every record of one run over one corpus, rescored."""
    docs, common = load_corpus(corpus, settings)
    return [r if r.get("error") else rescore(r, docs, common) for r in records]
