"""The browser chat: ``python app.py [--host H] [--port P]`` (or ``make run``), on http://127.0.0.1:7860.

Wiring only: one Assistant (model, embedder, index) loaded at start-up and shared by every
browser tab; conversations live in each tab's own state. Rendering is in rag/presentation.py,
upload checks in rag/uploads.py, the Evaluation tab's scoring in rag/evaluation.py, everything
else in the library. Everything that uses the model runs on one queue (ASSISTANT_QUEUE), one at a time.
"""
from __future__ import annotations

import rag  # noqa: F401  first: turns Gradio analytics and all other telemetry off before gradio loads

import argparse
import ipaddress
import logging
import queue
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Optional

import gradio as gr

from rag import presentation as view
from rag.cli import COMMON_FLAGS, add_setting_flags
from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import RagError, SettingsError
from rag.evaluation import DEFAULT_TESTSET, run_evaluation
from rag.pipeline import Answer, Assistant
from rag.settings import Settings
from rag.uploads import add_uploads, delete_document

log = logging.getLogger("rag.app")
SEED_QUESTION = "Why did OpenAI release gpt-oss?"
EXAMPLES = [SEED_QUESTION, "What does Sam Altman think about export controls?",
            "Which open-weight models did OpenAI release?"]
GENERIC_ERROR = "Something went wrong while answering; the details are in the server log. Please try again."
ASSISTANT_QUEUE = "assistant"  # one llama.cpp model and one index writer: these events run one at a time


def check_access(settings: Settings) -> Optional[tuple[str, str]]:
    """Gradio auth for the host: none on loopback, ("rag", password) elsewhere.

    Raises:
        SettingsError: a non-loopback host without a password.
    """
    host = settings.host.strip("[]")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return ("rag", settings.password) if settings.password else None
    if not settings.password:
        raise SettingsError(f"Refusing to listen on {settings.host} without a password: anyone on the network could "
                            "use the chat. Set RAG_PASSWORD (the user name is 'rag'), or bind to 127.0.0.1.")
    return ("rag", settings.password)


class Chat:
    """Event handlers of the page; every conversation is the caller's own ``turns`` list."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    # -- chat ---------------------------------------------------------------------------------
    def respond(self, question: str, turns: list, top_k, temperature, max_tokens):
        """Stream one answer into the chat; yields (chat messages, sources panel, turns)."""
        turns = view.mark_stopped(turns or [])
        history = [(t["question"], t["answer"]) for t in turns if t["status"] == "answer"]
        turn = {"question": question or "", "answer": "", "markdown": view.streaming_markdown(""),
                "sources": "", "status": "streaming"}
        turns.append(turn)
        yield view.chat_messages(turns), view.sources_panel(turns), turns
        overrides = dict(top_k=int(top_k), temperature=float(temperature), max_tokens=int(max_tokens))
        try:
            pieces = []
            with closing(self.assistant.stream(question, history, **overrides)) as events:
                for event in events:
                    if isinstance(event, Answer):
                        self.finish(turn, event, len(turns))
                        yield view.chat_messages(turns), view.sources_panel(turns), turns
                    else:
                        pieces.append(event)
                        turn["markdown"] = view.streaming_markdown("".join(pieces))
                        yield view.chat_messages(turns), gr.skip(), turns  # sources change only at the end
            return
        except RagError as exc:
            turn.update(status="error", markdown=view.error_markdown(str(exc)))
        except Exception:
            log.exception("Answering %r failed", question)
            turn.update(status="error", markdown=view.error_markdown(GENERIC_ERROR))
        yield view.chat_messages(turns), view.sources_panel(turns), turns

    @staticmethod
    def finish(turn: dict, answer: Answer, number: int) -> None:
        turn.update(status="answer", answer=answer.answer, markdown=view.answer_markdown(answer, number),
                    sources=view.sources_html(answer, number))

    def retry(self, turns: list, top_k, temperature, max_tokens):
        """Ask the last question again, replacing its answer."""
        if not turns:
            yield [], view.sources_panel([]), []
            return
        yield from self.respond(turns[-1]["question"], turns[:-1], top_k, temperature, max_tokens)

    @staticmethod
    def stop(turns: list):
        """Show the interrupted answer as stopped (the stream itself is cancelled by Gradio)."""
        turns = view.mark_stopped(turns or [])
        return view.chat_messages(turns), view.sources_panel(turns), turns

    @staticmethod
    def clear():
        return [], view.sources_panel([]), [], ""

    # -- documents ----------------------------------------------------------------------------
    def show_documents(self):
        """(table HTML, dropdown update) of the indexed documents."""
        docs = self.assistant.index.documents()
        choices = view.document_choices(docs)
        return view.documents_html(docs), gr.update(choices=choices, value=None)

    def upload_files(self, files, progress=gr.Progress()):
        """Save, check and index uploaded files; reports each in the status line."""
        files = [Path(f) for f in (files or [])]
        try:
            result = add_uploads(self.assistant, [(f.name, f) for f in files],
                                 lambda fraction, message: progress(fraction, desc=message))
            message = view.upload_message(result.saved, result.failed, result.summary)
        except RagError as exc:
            message = view.error_markdown(str(exc))
        except Exception:
            log.exception("Upload failed")
            message = view.error_markdown(GENERIC_ERROR)
        return (message, *self.show_documents(), None)

    def delete_chosen(self, doc_id: Optional[str]):
        """Delete the chosen document from the index and the corpus folder."""
        if not doc_id:
            return ("Choose a document to delete.", *self.show_documents())
        try:
            message = view.escape(delete_document(self.assistant, doc_id))
        except RagError as exc:
            message = view.error_markdown(str(exc))
        return (message, *self.show_documents())

    # -- API (gradio_client) ------------------------------------------------------------------
    def api_ask(self, question: str, history: Optional[list] = None, top_k: Optional[int] = None,
                temperature: Optional[float] = None, max_tokens: Optional[int] = None) -> dict:
        """Answer a question; returns the answer JSON (as `rag ask --json`). history: [[question, answer], …]."""
        try:
            pairs = [(str(q), str(a)) for q, a in (history or [])]
            return self.assistant.ask(question, pairs, top_k=top_k, temperature=temperature,
                                      max_tokens=max_tokens).to_json()
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("API ask %r failed", question)
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None

    def api_documents(self) -> list:
        """The indexed documents: doc_id, title, source, chunks, indexed_at, complete."""
        return [asdict(d) for d in self.assistant.index.documents()]

    def api_upload(self, file: Optional[str]) -> dict:
        """Add one article to the corpus and index it: {saved, failed, summary}."""
        if not file:
            raise gr.Error("Send a file to upload.", print_exception=False)
        path = Path(file)
        try:
            result = add_uploads(self.assistant, [(path.name, path)])
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        return {"saved": result.saved, "failed": [list(pair) for pair in result.failed], "summary": result.summary}

    def api_delete(self, doc_id: str) -> str:
        """Delete a document (index and corpus file) by doc_id; returns what was done."""
        try:
            return delete_document(self.assistant, doc_id)
        except RagError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, testset: Optional[str], limit):
        """Run the bundled (or an uploaded .jsonl) test set on this index; yields (report Markdown, chart image).

        While it runs, the report pane shows each step ("Question 1/2: …") as a plain output update, which
        gradio_client receives too; then the report and its chart. The run is in a worker thread whose
        progress messages are passed on until it is done (None marks the end).
        Outputs go to <home>/eval/<timestamp>/ (report.md, results.json, chart.png); limit 0 or empty = all.
        """
        updates: queue.SimpleQueue = queue.SimpleQueue()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="evaluation") as worker:
            run = worker.submit(self.evaluation_report, testset, limit, lambda fraction, message: updates.put(message))
            run.add_done_callback(lambda _: updates.put(None))
            for message in iter(updates.get, None):
                yield view.progress_markdown(message), None
            yield run.result()

    def evaluation_report(self, testset: Optional[str], limit, progress) -> tuple[str, object]:
        """(report Markdown, chart image) of one evaluation run, or (readable error, None)."""
        path = Path(testset) if testset else DEFAULT_TESTSET
        out_dir = self.assistant.settings.home / "eval" / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        try:
            report = run_evaluation(self.assistant, path, limit=int(limit or 0) or None, out_dir=out_dir,
                                    progress=progress)
        except RagError as exc:
            return view.error_markdown(str(exc)), None
        except Exception:
            log.exception("Evaluating %s failed", path)
            return view.error_markdown(GENERIC_ERROR), None
        return view.evaluation_markdown(report.markdown, str(out_dir)), load_image(report.chart_path)


def load_image(path: Optional[Path]):
    """The chart as an image object: Gradio serves it from its own cache wherever the data folder is."""
    from PIL import Image

    if not path:
        return None
    with Image.open(path) as image:
        return image.copy()


def build_app(assistant: Assistant) -> gr.Blocks:
    """The page: Chat (answer left, sources right, settings), Documents and Evaluation tabs, plus the API."""
    chat, model = Chat(assistant), assistant.generator.describe()
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        gr.HTML(view.header_html(model), elem_id="header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat_tab(chat, assistant.settings, model)
            with gr.Tab("Documents", id="documents") as tab:
                documents_tab(demo, chat, assistant.settings, tab)
            with gr.Tab("Evaluation", id="evaluation"):
                evaluation_tab(chat)
        api_endpoints(chat)
    return demo


def chat_tab(chat: Chat, settings: Settings, model: dict) -> None:
    """Conversation, question box, stop/retry/clear, examples and answer settings; sources on the right."""
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=380):
            chatbot = gr.Chatbot(show_label=False, elem_id="chatbot", height=520, buttons=["copy"],
                                 feedback_options=None, latex_delimiters=[], placeholder=view.CHAT_PLACEHOLDER)
            with gr.Row(elem_id="ask-row"):
                question = gr.Textbox(show_label=False, placeholder="Ask about the articles…", elem_id="question",
                                      scale=6, lines=1, max_lines=6)  # no max_length: too long is refused, never cut
                send = gr.Button("Send", variant="primary", elem_id="send", scale=1, min_width=80)
                stop = gr.Button("Stop", variant="stop", elem_id="stop", scale=1, min_width=80)
            with gr.Row():
                retry = gr.Button("↻ Retry", size="sm", elem_id="retry")
                clear = gr.Button("Clear conversation", size="sm", elem_id="clear")
            gr.Examples(EXAMPLES, inputs=[question], label="Try asking", elem_id="examples")
            with gr.Accordion("Answer settings", open=False, elem_id="settings"):
                top_k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Passages to read (top-k)")
                temperature = gr.Slider(0, 2, value=settings.temperature, step=0.05,
                                        label="Temperature (0 = deterministic)")
                max_tokens = gr.Slider(16, max(1024, settings.max_tokens), value=settings.max_tokens, step=16,
                                       label="Longest answer (tokens)")
                gr.Markdown(f"**Model loaded:** {view.model_line(model)}")
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("### Sources")
            sources = gr.HTML(view.sources_panel([]), elem_id="sources")

    pending = gr.State("")
    ask_inputs, ask_outputs = [turns, top_k, temperature, max_tokens], [chatbot, sources, turns]
    generating = dict(concurrency_limit=1, concurrency_id=ASSISTANT_QUEUE, api_visibility="private",
                      show_progress="minimal")
    asks = [trigger(lambda q: ("", q), [question], [question, pending], queue=False, api_visibility="private")
            .then(chat.respond, [pending, *ask_inputs], ask_outputs, **generating)
            for trigger in (send.click, question.submit)]
    asks.append(retry.click(chat.retry, ask_inputs, ask_outputs, **generating))
    # Cancel first, then show the result: a streamed update already on its way when the stream is cancelled
    # would otherwise land after "(stopped)" or after clearing, and bring the cursor or the old answer back.
    stop.click(None, cancels=asks, queue=False).then(chat.stop, [turns], ask_outputs, queue=False,
                                                      api_visibility="private")
    for trigger in (clear.click, chatbot.clear):  # the chat's own trash button must forget the history too
        trigger(None, cancels=asks, queue=False).then(chat.clear, None, [*ask_outputs, question], queue=False,
                                                      api_visibility="private")
    with gr.Column(visible=False):  # /chat: this tab's handler and per-session history, for gradio_client
        api_question, api_send = gr.Textbox(), gr.Button()
    api_send.click(chat.respond, [api_question, *ask_inputs], ask_outputs, api_name="chat",
                   **dict(generating, api_visibility="public"))


def documents_tab(demo: gr.Blocks, chat: Chat, settings: Settings, tab: gr.Tab) -> None:
    """The corpus documents, upload with progress, and delete."""
    gr.Markdown("Articles in the corpus folder. Add .txt, .md, .html or .pdf files "
                f"(up to {settings.max_upload_mb:g} MB each); you can ask about them right away.")
    table = gr.HTML(elem_id="documents-table")
    with gr.Row():
        uploader = gr.File(label="Add articles", file_count="multiple", elem_id="upload",
                           file_types=list(SUPPORTED_SUFFIXES), scale=2)
        with gr.Column(scale=1):
            chosen = gr.Dropdown(label="Document to delete", choices=[], elem_id="delete-choice")
            remove = gr.Button("Delete document", variant="stop", elem_id="delete")
    status = gr.Markdown(elem_id="documents-status")
    listing = [table, chosen]
    gr.on([demo.load, tab.select], chat.show_documents, None, listing, api_visibility="private")
    uploader.upload(chat.upload_files, [uploader], [status, *listing, uploader], concurrency_limit=1,
                    concurrency_id=ASSISTANT_QUEUE, api_visibility="private")
    remove.click(chat.delete_chosen, [chosen], [status, *listing], concurrency_limit=1,
                 concurrency_id=ASSISTANT_QUEUE, api_visibility="private")


def evaluation_tab(chat: Chat) -> None:
    """Run the bundled or an uploaded test set, a number of questions at a time; the report and its chart."""
    gr.Markdown(view.EVAL_INTRO)
    with gr.Row():
        testset = gr.File(label="Test set (.jsonl); empty runs the bundled one", file_types=[".jsonl"],
                          elem_id="eval-testset", scale=2)
        with gr.Column(scale=1):
            limit = gr.Number(5, label="Questions (the first N; 0 = all)", minimum=0, precision=0, elem_id="eval-limit")
            run = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
    report = gr.Markdown(elem_id="eval-report", latex_delimiters=[])
    chart = gr.Image(label="Scores and latency", type="pil", format="png", interactive=False, elem_id="eval-chart")
    run.click(chat.evaluate, [testset, limit], [report, chart], api_name="evaluate", concurrency_limit=1,
              concurrency_id=ASSISTANT_QUEUE)


def api_endpoints(chat: Chat) -> None:
    """Named endpoints for gradio_client: /ask, /documents, /upload, /delete (the tabs add /chat and /evaluate)."""
    gr.api(chat.api_ask, api_name="ask", concurrency_limit=1, concurrency_id=ASSISTANT_QUEUE)
    gr.api(chat.api_documents, api_name="documents", concurrency_limit=None)
    with gr.Column(visible=False):  # a real File input, so Gradio checks the uploaded path is its own
        api_file, api_result, api_trigger = gr.File(), gr.JSON(), gr.Button()
    api_trigger.click(chat.api_upload, [api_file], [api_result], api_name="upload", concurrency_limit=1,
                      concurrency_id=ASSISTANT_QUEUE)
    gr.api(chat.api_delete, api_name="delete", concurrency_limit=1, concurrency_id=ASSISTANT_QUEUE)


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start the browser chat over the articles.")
    add_setting_flags(parser, ("host", "port", *COMMON_FLAGS))
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = parse_args(argv)
    try:
        settings = Settings.load(**{name: getattr(args, name) for name in ("host", "port", *COMMON_FLAGS)})
        auth = check_access(settings)
        assistant = Assistant(settings, progress=log.info)
        log.info("Corpus %s: %s", settings.corpus, assistant.ingest().summary())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=settings.host, server_port=settings.port, auth=auth, auth_message="User name: rag",
                theme=gr.themes.Soft(primary_hue="blue", font=["ui-sans-serif", "system-ui", "sans-serif"],
                                     font_mono=["ui-monospace", "monospace"]),
                css=view.CSS, js=view.CLICK_TO_SOURCE, ssr_mode=False, footer_links=["api"], show_error=False,
                max_file_size=int(settings.max_upload_mb * 1024 * 1024), pwa=False, mcp_server=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
