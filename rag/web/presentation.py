"""Presentation for the chat: answers as Markdown with [n] links, sources as escaped HTML with highlights.

Pure functions from library data (Answer, Citation, Passage, DocInfo, IngestReport) to strings
and rows, so the page (``app.py``) stays wiring and the rendering is unit-tested without a model.
Every text that comes from a document, a question or the model is escaped before it is rendered:
articles can contain ``<script>``.
"""
from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import Iterable, Optional, Sequence

from ..answerability import REASONS
from ..citations import marked_text, note_of
from ..dates import spoken_date
from ..text import LANGUAGES, inert_piece

MARKER = re.compile(r"\[(\d+)\]")  # the one [n] form left after citations.clean_markers, in escaped text
TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})
EMPTY_PANEL = ('<div class="sources-empty">Sources appear here. Each <b>[n]</b> in an answer links to '
               'the passage it cites, with the cited sentences highlighted.</div>')
CHAT_PLACEHOLDER = ("**Ask a question about the articles.**<br>Every sentence of an answer cites its source like "
                    "[1]; click the number to see the passage. Follow-up questions use the conversation.")
REFUSED_NOTE = "The articles do not cover this question."
CLOSEST_SHOWN = 3


def escape(text: str, before: str = "") -> str:
    """HTML-escaped text, also inert in JS templates, LaTeX and Markdown: no image, link or bare URL survives.

    Model output is rendered as Markdown, and an article can make the model write ``![](http://elsewhere/?q=…)``;
    the browser would fetch it. HTML is escaped, then the pipeline's one rule (text.inert) breaks the rest:
    ``escape('<b>$1</b>') -> '&lt;b&gt;&#36;1&lt;/b&gt;'``;
    ``escape('![x](http://e.com)') -> '![x] (http(:)//e.com)'``; before is the text shown just ahead of this piece
    (highlight's pieces), so a link cut in two is broken too: ``escape('(http://e.com)', 'See [x]') -> ' (http(:)//e.com)'``
    """
    return inert_piece(html.escape(before or "", quote=True), html.escape(text or "", quote=True)).translate(TEMPLATE_CHARS)


def source_id(turn: int, n: int) -> str:
    """The element id of source n of a turn: ``source_id(2, 1) -> 'src-2-1'``."""
    return f"src-{turn}-{n}"


def link_citations(escaped: str, turn: int, unsupported: Iterable[int] = ()) -> str:
    """Each [n] of escaped answer text becomes a link to its source card.

    ``link_citations('Yes [1].', 2)`` -> ``'Yes <a href="#src-2-1" class="cite" title="Show source 1">[1]</a>.'``
    """
    flagged = set(unsupported)

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n in flagged:
            return (f'<a href="#{source_id(turn, n)}" class="cite unsupported" '
                    f'title="Source {n} does not clearly support this sentence">[{n}]</a><sup>?</sup>')
        return f'<a href="#{source_id(turn, n)}" class="cite" title="Show source {n}">[{n}]</a>'

    return MARKER.sub(link, escaped)


def timings_text(timings) -> str:
    """One line of an answer's timings.

    ``timings_text(Timings(retrieve_ms=35, ttft_ms=4200, total_ms=6200, completion_tokens=21))``
    -> ``'retrieval 35 ms · first token 4.2 s · 10.0 tokens/s'``
    """
    parts = [f"retrieval {timings.retrieve_ms:.0f} ms"]
    if timings.completion_tokens:
        parts += [f"first token {timings.ttft_ms / 1000:.1f} s", f"{timings.tokens_per_s:.1f} tokens/s"]
    else:
        parts.append(f"total {timings.total_ms / 1000:.1f} s, no model call")
    return " · ".join(parts)


def answer_markdown(answer, turn: int) -> str:
    """The chat message of a finished Answer: linked text, the searched question on demand, timings.

    ``answer_markdown(Answer(answer='Yes [1].', …), 1)`` -> ``'Yes <a href="#src-1-1" …>[1]</a>.\\n\\n<details …'``
    """
    if answer.refused:
        reason = getattr(answer, "why", "") or REASONS.get(getattr(answer, "refused_by", ""), "")
        body = f"{escape(REFUSED_NOTE)} {escape(reason)} The closest passages it found are shown under Sources."
        body = body.replace("  ", " ")
    elif getattr(answer, "timeline", False):
        body = timeline_html(answer.answer, turn)
    else:
        unsupported = [c.n for c in answer.citations if not c.supported]
        claims = getattr(answer, "claims", None) or []
        if any(getattr(c, "grounded", None) is False for c in claims):
            body = " ".join(sentence_markdown(c, turn, unsupported) for c in claims)
        else:
            body = link_citations(escape(answer.answer), turn, unsupported)
    as_of = f'<div class="as-of">{escape(answer.as_of_line)}</div>' if getattr(answer, "as_of_line", "") else ""
    meta = f'{as_of}<div class="answer-meta">{escape(timings_text(answer.timings))}</div>'
    searched = answer.standalone_question or answer.question
    if searched != answer.question:
        meta = (f'<details class="searched"><summary>Searched for</summary>'
                f'{escape(searched)}</details>\n\n' + meta)
    return f"{body}\n\n{meta}"


def timeline_html(text: str, turn: int) -> str:
    """A timeline answer (timeline.lines: "- date: quote [n]" a line) as a list of dated, linked events:
    ``timeline_html('- 1 May 2019: Set. [1]', 1) -> '<ol class="timeline"><li><time>1 May 2019</time> Set. <a …>[1]</a></li></ol>'``"""
    items = [line.removeprefix("- ").split(": ", 1) for line in text.splitlines() if line.strip()]
    return '<ol class="timeline">' + "".join(f"<li><time>{escape(day)}</time> {link_citations(escape(quote), turn)}</li>"
                                            for day, quote in items) + "</ol>"


def sentence_markdown(claim, turn: int, unsupported: Iterable[int] = ()) -> str:
    """One answer sentence with its linked markers; one the checks do not back is greyed and says so.

    ``sentence_markdown(Claim('B is 2.', [2], grounded=False), 1)`` -> ``'<span class="unsupported-sentence"
    title="…">B is 2 <a …>[2]</a>.</span> <span class="not-found">(not found in the sources)</span>'``
    """
    text = marked_text([replace(claim, grounded=None)])
    linked = link_citations(escape(text), turn, unsupported)
    if claim.grounded is not False:
        return linked
    return (f'<span class="unsupported-sentence" title="The checks did not find this sentence in the source it '
            f'cites">{linked}</span> <span class="not-found">{escape(note_of(claim))}</span>')


def streaming_markdown(text: str) -> str:
    """The answer as it streams in, with a cursor: ``streaming_markdown('Open <b>') -> 'Open &lt;b&gt; ▍'``."""
    return escape(text).rstrip() + " ▍"


# An absolute path of this machine in a message (not the path part of a URL, which follows its host): the page is
# shown to whoever can reach it, so it names the file, never the server's folders.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~%-])/(?:[^\s/`'\"<>|()\[\]]+/)+")  # its folders: the name stays


def hide_paths(text: str) -> str:
    """Absolute paths shortened to their last part: ``hide_paths('The index at /srv/rag/.rag/index failed.')
    -> 'The index at …/index failed.'``; ``hide_paths('http://e.org/a/b') -> 'http://e.org/a/b'``."""
    return ABSOLUTE_PATH.sub("…/", text or "")


def error_markdown(message: str) -> str:
    """A readable error in the chat: ``error_markdown('Please type a question.') -> '⚠️ Please type a question.'``."""
    return f"⚠️ {escape(hide_paths(message))}"


def progress_markdown(message: str) -> str:
    """A running task's latest step: ``progress_markdown('Question 1/2: Why?') -> '⏳ Question 1/2: Why?'``."""
    return f"⏳ {escape(message)}"


def user_markdown(question: str) -> str:
    """The user's message, escaped: ``user_markdown('') -> '*(empty question)*'``."""
    return escape(question) if question and question.strip() else "*(empty question)*"


def highlight(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escaped text with <mark> around the spans (clamped, sorted and merged).

    ``highlight('a <b> c', [(2, 5)]) -> 'a <mark>&lt;b&gt;</mark> c'``
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out += [escape(text[last:start], text[:last]), "<mark>", escape(text[start:end], text[:start]), "</mark>"]
        last = end
    out.append(escape(text[last:], text[:last]))
    return "".join(out)


def source_card(n: int, turn: int, title: str, source: str, body: str, note: str = "", flag: str = "",
                date: str = "") -> str:
    """One numbered source: title, publication date, where it comes from, an optional flag, and the (already escaped) passage."""
    flag_html = f'<div class="source-flag">{escape(flag)}</div>' if flag else ""
    classes = "source-card unsupported" if flag else "source-card"
    dated = f'<time class="source-date" datetime="{escape(date)}">{escape(spoken_date(date))}</time> · ' if date else ""
    return (f'<article class="{classes}" id="{source_id(turn, n)}">'
            f'<header><span class="source-num">{n}</span><div><div class="source-title">{escape(title)}</div>'
            f'<div class="source-origin">{dated}{escape(source)}{escape(note)}</div></div></header>'
            f'{flag_html}<blockquote class="source-text">{body}</blockquote></article>')


def citation_cards(answer, turn: int) -> list[str]:
    """A card per cited source, cited sentences highlighted, unsupported citations flagged."""
    flag = "Not supported: this passage does not clearly back the sentence that cites it."
    return [source_card(c.n, turn, c.title, c.source, ("… " if c.start > 0 else "") + highlight(c.text, c.highlights),
                        f" · characters {c.start:,}–{c.end:,}", "" if c.supported else flag, c.date)
            for c in answer.citations]


def translation_html(translation, turn: int, n: int) -> str:
    """The local model's translation of source n (translation.Translation), under its label, to go beside the
    original passage (with_translation), never in place of it.

    ``translation_html(Translation('Cost: 42m <b>', 'en', 'zh'), 2, 1)`` -> ``'<div class="source-translation"
    data-for="src-2-1" lang="en"><div class="translation-label">Machine translation by the local model — not the
    article's words (Chinese → English)</div><p>Cost: 42m &lt;b&gt;</p></div>'``
    """
    languages = f" ({LANGUAGES[translation.source_language]} → {LANGUAGES[translation.language]})"
    text = "<br>".join(escape(line) for line in translation.text.splitlines() if line.strip())
    return (f'<div class="source-translation" data-for="{source_id(turn, n)}" lang="{escape(translation.language)}">'
            f'<div class="translation-label">{escape(translation.label + languages)}</div><p>{text}</p></div>')


def with_translation(sources: str, turn: int, n: int, piece: str) -> str:
    """A turn's sources (sources_html) with piece added at the end of source n's card, after its passage; unchanged
    when that card is not there or already has a translation.

    ``with_translation('<article … id="src-1-1">…</blockquote></article>', 1, 1, '<div …>')``
    -> ``'<article … id="src-1-1">…</blockquote><div …></article>'``
    """
    card = sources.find(f'id="{source_id(turn, n)}"')
    end = sources.find("</article>", card)
    if card < 0 or end < 0 or has_translation(sources, turn, n):
        return sources
    return sources[:end] + piece + sources[end:]


def has_translation(sources: str, turn: int, n: int) -> bool:
    """Whether source n of a turn already shows a translation (the passages' own text is escaped: none can fake it)."""
    return f'data-for="{source_id(turn, n)}"' in sources


def passage_cards(passages: Sequence, turn: int, limit: Optional[int] = None) -> list[str]:
    """Cards for passages found but not cited (a refusal's closest passages), with their similarity."""
    cards = []
    for n, p in enumerate(list(passages)[:limit], 1):
        note = f" · similarity {p.similarity:.2f}" if p.similarity is not None else ""
        cards.append(source_card(n, turn, p.title, p.source, ("… " if p.start > 0 else "") + escape(p.text), note,
                                 date=p.date))
    return cards


def sources_html(answer, turn: int) -> str:
    """The sources of one answer: cited passages, or for a refusal the closest passages found."""
    if answer.refused:
        found = passage_cards(answer.passages, turn, CLOSEST_SHOWN)
        lead = f"{REFUSED_NOTE} " + ("The closest passages found:" if found else "No passage came close.")
        return f'<p class="sources-refused">{escape(lead)}</p>' + "".join(found)
    if answer.citations:
        return "".join(citation_cards(answer, turn))
    found = passage_cards(answer.passages, turn)
    lead = "The answer cites no source. Passages given to the model:" if found else "No passages were used."
    return f'<p class="sources-refused">{escape(lead)}</p>' + "".join(found)


def reading_html(passages: Sequence, turn: int) -> str:
    """The passages found, shown while the model reads them (before its first token); the answer's own
    citations replace them when it ends."""
    lead = f"Found {len(passages)} passage{'s' * (len(passages) != 1)}; the answer is being written from them…"
    return f'<p class="sources-reading">{escape(lead)}</p>' + "".join(passage_cards(passages, turn))


def sources_panel(turns: Sequence[dict]) -> str:
    """Every answered turn's sources, newest first and open, older ones folded.

    Each turn is a dict with ``question`` and ``sources`` (HTML from sources_html, '' when none).
    """
    sections = [(number, turn) for number, turn in enumerate(turns, 1) if turn.get("sources")]
    if not sections:
        return EMPTY_PANEL
    parts = []
    for position, (number, turn) in enumerate(reversed(sections)):
        opened = " open" if position == 0 else ""
        parts.append(f'<details class="sources-turn"{opened}><summary>Sources for “{escape(turn["question"])}”'
                     f'</summary>{turn["sources"]}</details>')
    return '<div class="sources-list">' + "".join(parts) + "</div>"


def chat_messages(turns: Sequence[dict]) -> list[dict]:
    """Chatbot messages for the turns: each turn's question and its rendered reply (``markdown``)."""
    messages = []
    for turn in turns:
        messages.append({"role": "user", "content": user_markdown(turn["question"])})
        messages.append({"role": "assistant", "content": turn["markdown"]})
    return messages


def mark_stopped(turns: Sequence[dict]) -> list[dict]:
    """Turns with any still-streaming answer marked as stopped (its partial text kept, cursor dropped).

    ``mark_stopped([{'status': 'streaming', 'markdown': 'Open ▍'}])``
    -> ``[{'status': 'stopped', 'markdown': 'Open\\n\\n*(stopped)*'}]``
    """
    return [dict(t, status="stopped", markdown=t["markdown"].removesuffix(" ▍").rstrip() + "\n\n*(stopped)*")
            if t.get("status") == "streaming" else t for t in turns]


def model_line(info: dict) -> str:
    """The loaded model in one line (escaped).

    ``model_line({'name': 'Qwen', 'quantization': 'Q4_K_M', 'n_ctx': 4096, 'threads': 2})``
    -> ``'Qwen · Q4_K_M · 4,096-token context · 2 threads'``
    """
    parts = [escape(str(info.get("name", "?")))]
    if info.get("quantization"):
        parts.append(escape(info["quantization"]))
    parts.append(f"{int(info.get('n_ctx', 0)):,}-token context")
    if info.get("threads"):
        parts.append(f"{info['threads']} threads")
    return " · ".join(parts)


def header_html(info: dict) -> str:
    """The page header: name, what it does, and the loaded model."""
    return ('<div class="app-header"><div><h1>Ask the articles</h1><p>Answers from your news articles only, '
            'every sentence citing its source. Runs offline on this machine.</p></div>'
            f'<div class="model-pill" title="The model answering">Model: {model_line(info)}</div></div>')
