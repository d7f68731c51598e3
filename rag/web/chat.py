"""The Chat tab's handlers: one streamed conversation per browser tab, and the /ask and /chat API.

Each conversation is the caller's own ``turns`` list (Gradio session state), so tabs never share
history; the Assistant is shared, up to its slots at once (layout.ASSISTANT_QUEUE, Assistant.slots).
"""
from __future__ import annotations

import logging
from contextlib import closing
from typing import Optional

import gradio as gr

from .. import catalog
from ..errors import RagError
from ..pipeline import Answer, Assistant, Retrieved
from ..text import LANGUAGES, language
from ..translation import to_translate, translate
from . import presentation as view
from .conversations import answer_record

log = logging.getLogger("rag.web")
GENERIC_ERROR = "Something went wrong while answering; the details are in the server log. Please try again."


class Chat:
    """The conversation's event handlers; every conversation is the caller's own ``turns`` list."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    # -- chat ---------------------------------------------------------------------------------
    def respond(self, question: str, turns: list, top_k, temperature, max_tokens, collection: Optional[str] = None):
        """Stream one answer from the collection's articles into the chat; yields (chat messages, sources panel, turns)."""
        turns = view.mark_stopped(turns or [])
        history = [(t["question"], t["answer"]) for t in turns if t["status"] == "answer"]
        turn = {"question": question or "", "answer": "", "markdown": view.streaming_markdown(""),
                "sources": "", "status": "streaming"}
        turns.append(turn)
        yield view.chat_messages(turns), view.sources_panel(turns), turns
        overrides = dict(top_k=int(top_k), temperature=float(temperature), max_tokens=int(max_tokens))
        try:
            pieces = []
            shelf = self.assistant.in_collection(collection or None)
            with closing(shelf.stream(question, history, sources_first=True, **overrides)) as events:
                for event in events:
                    if isinstance(event, Answer):
                        self.finish(turn, event, len(turns))
                        turn["record"]["collection"] = shelf.settings.collection  # its index: a rename keeps it
                        yield view.chat_messages(turns), view.sources_panel(turns), turns
                    elif isinstance(event, Retrieved):  # shown while the model reads them: the first useful pixel
                        turn["sources"] = view.reading_html(event.passages, len(turns))
                        yield gr.skip(), view.sources_panel(turns), turns
                    else:
                        pieces.append(event)
                        turn["markdown"] = view.streaming_markdown("".join(pieces))
                        yield view.chat_messages(turns), gr.skip(), turns  # sources change only when found and at the end
            return
        except RagError as exc:
            turn.update(status="error", markdown=view.error_markdown(str(exc)))
        except Exception:
            log.exception("Answering %r failed", question)
            turn.update(status="error", markdown=view.error_markdown(GENERIC_ERROR))
        yield view.chat_messages(turns), view.sources_panel(turns), turns

    @staticmethod
    def finish(turn: dict, answer: Answer, number: int) -> None:
        turn.update(status="answer", answer=answer.marked, markdown=view.answer_markdown(answer, number),
                    sources=view.sources_html(answer, number), record=answer_record(answer))

    def retry(self, turns: list, top_k, temperature, max_tokens, collection: Optional[str] = None):
        """Ask the last question again, replacing its answer."""
        if not turns:
            yield [], view.sources_panel([]), []
            return
        yield from self.respond(turns[-1]["question"], turns[:-1], top_k, temperature, max_tokens, collection)

    @staticmethod
    def stop(turns: list):
        """Show the interrupted answer as stopped (the stream itself is cancelled by Gradio)."""
        turns = view.mark_stopped(turns or [])
        return view.chat_messages(turns), view.sources_panel(turns), turns

    def collection_of(self, turns: list):
        """The collection a reopened conversation was asked in (its last answer's), by its name now, for the chat's
        dropdown; unchanged when that collection is gone or the conversation predates collections."""
        asked = [t["record"]["collection"] for t in turns or [] if (t.get("record") or {}).get("collection")]
        names = {c.index: c.name for c in catalog.list_collections(self.assistant.settings)}
        return gr.update(value=names[asked[-1]]) if asked and asked[-1] in names else gr.skip()

    @staticmethod
    def clear():
        return [], view.sources_panel([]), [], ""

    # -- translation on demand ------------------------------------------------------------------
    def translate_sources(self, turns: list):
        """Translate the newest answer's cited passages that are in another language than its question, one by one,
        each shown under its original in the Sources panel; yields (sources panel, turns, notice)."""
        turns = list(turns or [])
        found = untranslated(turns)
        if not found:
            yield gr.skip(), turns, view.error_markdown("No cited passage of the last answer is in another language "
                                                        "than its question.")
            return
        number, numbers = found
        turn = turns[number - 1]
        into, texts = language(turn["question"]), {c["n"]: c["text"] for c in turn["record"]["citations"]}
        failed = []
        for n in numbers:
            yield gr.skip(), turns, view.progress_markdown(f"Translating source [{n}] into {LANGUAGES[into]}…")
            try:
                done = translate(self.assistant, texts[n], into)
            except RagError as exc:
                failed.append(f"Source {n}: {exc}")
                continue
            turn["sources"] = view.with_translation(turn["sources"], number, n, view.translation_html(done, number, n))
            yield view.sources_panel(turns), turns, ""
        yield view.sources_panel(turns), turns, view.error_markdown(" ".join(failed)) if failed else ""

    @staticmethod
    def translate_button(turns: list):
        """The translate button, shown only while the newest answer cites a passage still to translate."""
        return gr.update(visible=bool(untranslated(turns or [])))

    # -- API (gradio_client) ------------------------------------------------------------------
    def api_ask(self, question: str, history: Optional[list] = None, top_k: Optional[int] = None,
                temperature: Optional[float] = None, max_tokens: Optional[int] = None,
                collection: Optional[str] = None) -> dict:
        """Answer a question from a collection (none: the default one); returns the answer JSON (as `rag ask --json`).
        history: [[question, answer], …]."""
        try:
            pairs = [(str(q), str(a)) for q, a in (history or [])]
            return self.assistant.in_collection(collection or None).ask(
                question, pairs, top_k=top_k, temperature=temperature, max_tokens=max_tokens).to_json()
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("API ask %r failed", question)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None


def untranslated(turns: list) -> Optional[tuple[int, list[int]]]:
    """(turn number, source numbers) of the newest answered turn's cited passages in another language than its
    question that show no translation yet; None when there are none (the newest answer is the one shown open).

    ``untranslated([{'question': 'How much?', 'status': 'answer', 'sources': '…',
    'record': {'citations': [{'n': 1, 'text': '改装工程将耗资4200万元。'}]}}]) -> (1, [1])``
    """
    answered = [(number, t) for number, t in enumerate(turns, 1) if t.get("sources")]
    if not answered or answered[-1][1].get("status") != "answer":
        return None
    number, turn = answered[-1]
    numbers = [n for n in to_translate((turn.get("record") or {}).get("citations") or [], turn["question"])
               if not view.has_translation(turn["sources"], number, n)]
    return (number, numbers) if numbers else None
