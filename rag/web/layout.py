"""The page: Chat (answer left, sources right, settings), Documents and Evaluation tabs, the API, and its launch."""
from __future__ import annotations

import logging
from typing import Callable, Optional

import gradio as gr
from starlette.middleware import Middleware

from ..documents import SUPPORTED_SUFFIXES
from ..evaluation.testset import SEED_QUESTION
from ..pipeline import Assistant
from ..settings import Settings
from . import presentation as view
from . import tabs
from .access import BearerGate, api_key
from .style import CLICK_TO_SOURCE, CSS
from .chat import Chat
from .indexing import IndexQueue
from .library import Library, collection_choices
from .mcp_tools import Tools, add_tools, only_these_tools
from .openai_api import OpenAIFace
from .scoring import Scoring
from .sidebar import STORAGE_KEY, Sidebar

EXAMPLES = [SEED_QUESTION, "What does Sam Altman think about export controls?",
            "Which open-weight models did OpenAI release?"]
log = logging.getLogger("rag.web")
ASSISTANT_QUEUE = "assistant"  # answers: as many at once as the model has slots (Assistant.slots; 1 in-process)
INDEX_QUEUE = "index"  # uploads and deletes, one at a time, beside the answers: an ingest takes its turns on
# the model's lock a batch of chunks at a time (generation.FairLock), so a question waits for one batch at most;
# each also takes the index queue's turn (indexing.IndexQueue), shared with pages added by link and the catch-up
LINK_QUEUE = "links"  # fetching by link, beside the index queue: a fetched page then takes one turn to be indexed,
LINKS_AT_ONCE = 4  # so a slow site holds up no upload, and a few users' links are fetched at once
EVALUATION_QUEUE = "evaluation"  # one run at a time; its questions take answer slots one by one, like any chat


def build_app(assistant: Assistant, queue: Optional[IndexQueue] = None) -> gr.Blocks:
    """The page: Chat (answer left, sources right, settings), Documents and Evaluation tabs, the API and MCP tools.

    queue is the index queue the Documents tab shares with the start-up's catch-up (app.py)."""
    chat, library, scoring = Chat(assistant), Library(assistant, queue), Scoring(assistant)
    sidebar = Sidebar(assistant.settings.home)
    model = assistant.generator.describe()
    with gr.Blocks(title="Ask the articles", analytics_enabled=False) as demo:
        gr.HTML(view.header_html(model), elem_id="header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                asked_in = chat_tab(demo, chat, sidebar, assistant.settings, model, assistant.slots.n)
            with gr.Tab("Documents", id="documents") as tab:
                documents_tab(demo, library, assistant.settings, tab, asked_in)
            with gr.Tab("Evaluation", id="evaluation"):
                evaluation_tab(scoring)
        api_endpoints(chat, library, assistant.slots.n)
        add_tools(Tools(assistant))
    return demo


def launch(demo: gr.Blocks, assistant: Assistant, auth: Optional[tuple[str, str]],
           serving: Optional[Callable[[], None]] = None) -> None:
    """Serve the page (blocking) with its look, the click-to-source script and the upload limit; once the server
    answers, call serving() (the start-up's catch-up begins there, never before the page is up).

    The same server answers the OpenAI-compatible /v1 routes and the MCP server at /gradio_api/mcp/, both behind
    BearerGate (a key whenever the page has a password).
    """
    settings = assistant.settings
    extra = dict(routes=OpenAIFace(assistant).routes(), middleware=[Middleware(BearerGate, key=api_key(settings))],
                 lifespan=only_these_tools)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name=settings.host, server_port=settings.port, auth=auth, auth_message="User name: rag",
                theme=gr.themes.Soft(primary_hue="blue", font=["ui-sans-serif", "system-ui", "sans-serif"],
                                     font_mono=["ui-monospace", "monospace"]),
                css=CSS, js=CLICK_TO_SOURCE, ssr_mode=False, footer_links=["api"], show_error=False,
                max_file_size=int(settings.max_upload_mb * 1024 * 1024), pwa=False, mcp_server=True,
                app_kwargs=extra, prevent_thread_lock=True)
    log.info("Serving on http://%s:%s", settings.host, settings.port)
    if serving:
        serving()
    demo.block_thread()


def chat_tab(demo: gr.Blocks, chat: Chat, sidebar: Sidebar, settings: Settings, model: dict, slots: int = 1) -> gr.Dropdown:
    """Kept conversations on the left; conversation, question box, stop/retry/new, examples and answer settings;
    sources on the right. Returns the dropdown of the collection asked (the Documents tab refreshes its choices)."""
    turns, conversation = gr.State([]), gr.State("")
    browser = gr.BrowserState({"id": "", "open": ""}, storage_key=STORAGE_KEY, secret=sidebar.browser_secret())
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=220, elem_id="conversations"):
            gr.Markdown("### Conversations")
            listed = gr.Radio([], show_label=False, elem_id="conversation-list", container=False)
            title = gr.Textbox(label="Title", elem_id="conversation-title", max_lines=1, max_length=200)
            with gr.Row():
                rename = gr.Button("Rename", size="sm", elem_id="conversation-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="conversation-delete")
            export = gr.Button("Export as Markdown", size="sm", elem_id="conversation-export")
            exported = gr.File(label="Exported conversation", visible=True, interactive=False,
                               elem_id="conversation-file")
            notice = gr.Markdown(elem_id="conversation-notice")
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
                clear = gr.Button("New conversation", size="sm", elem_id="clear")
                collection = gr.Dropdown(collection_choices(settings), value=settings.collection, show_label=False,
                                         elem_id="chat-collection", container=False, min_width=160,
                                         info="The collection of articles this conversation asks")
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
            translate = gr.Button("Translate cited passages", size="sm", elem_id="translate", visible=False)
            translated = gr.Markdown(elem_id="translate-notice")  # its progress, or why a passage was not translated

    pending = gr.State("")
    ask_inputs, ask_outputs = [turns, top_k, temperature, max_tokens, collection], [chatbot, sources, turns]
    generating = dict(concurrency_limit=slots, concurrency_id=ASSISTANT_QUEUE, api_visibility="private",
                      show_progress="minimal")
    asks = [trigger(lambda q: ("", q), [question], [question, pending], queue=False, api_visibility="private")
            .then(chat.respond, [pending, *ask_inputs], ask_outputs, **generating)
            for trigger in (send.click, question.submit)]
    asks.append(retry.click(chat.retry, ask_inputs, ask_outputs, **generating))
    private = dict(queue=False, api_visibility="private")
    keep = dict(fn=sidebar.save, inputs=[conversation, browser, turns], outputs=[conversation, browser, listed, title,
                                                                                  notice], **private)
    offer = dict(fn=chat.translate_button, inputs=[turns], outputs=[translate], **private)
    for ask in asks:  # each answer is stored as it ends (a stopped one by stop, below)
        ask.then(**keep).then(**offer)
    # the local model's translations of the newest answer's other-language passages, beside them; in an answer slot
    (translate.click(chat.translate_sources, [turns], [sources, turns, translated], **generating)
     .then(**keep).then(**offer))
    # Cancel first, then show the result: a streamed update already on its way when the stream is cancelled
    # would otherwise land after "(stopped)" or after clearing, and bring the cursor or the old answer back.
    stop.click(None, cancels=asks, queue=False).then(chat.stop, [turns], ask_outputs, **private).then(**keep).then(**offer)
    for trigger in (clear.click, chatbot.clear):  # a new conversation; the previous one stays in the list
        (trigger(None, cancels=asks, queue=False).then(chat.clear, None, [*ask_outputs, question], **private)
         .then(sidebar.new, [browser], [conversation, browser, listed, title], **private).then(**offer))
    shown = [chatbot, sources, turns, conversation, browser, title, notice]
    (demo.load(sidebar.start, [browser], [browser, listed, chatbot, sources, turns, conversation, title, notice],
               **private)
     .then(chat.collection_of, [turns], [collection], **private).then(**offer))  # a reload reopens it in its collection
    (listed.input(None, cancels=asks, queue=False).then(sidebar.open, [listed, browser], shown, **private)
     .then(chat.collection_of, [turns], [collection], **private).then(**offer))
    rename.click(sidebar.rename, [conversation, title, browser], [listed, title, notice], **private)
    title.submit(sidebar.rename, [conversation, title, browser], [listed, title, notice], **private)
    confirmed = gr.Checkbox(False, visible=False)  # the page's confirm() answer (a State's value comes from the server)
    delete.click(sidebar.delete, [confirmed, conversation, browser], [*shown[:5], listed, title, notice], **private,
                 api_name="conversation_delete",  # its own name: "delete" is the documents' /delete endpoint
                 js="(yes, id, browser) => [confirm('Delete this conversation? This cannot be undone.'), id, browser]"
                 ).then(**offer)
    export.click(sidebar.export, [conversation, browser, turns], [exported], **private)
    with gr.Column(visible=False):  # /chat: this tab's handler and per-session history, for gradio_client
        api_question, api_send = gr.Textbox(), gr.Button()
    api_send.click(chat.respond, [api_question, *ask_inputs], ask_outputs, api_name="chat",
                   **dict(generating, api_visibility="public"))
    return collection


def documents_tab(demo: gr.Blocks, library: Library, settings: Settings, tab: gr.Tab, asked_in: gr.Dropdown) -> None:
    """The collections (choose, create, rename, delete); the chosen one's documents, upload with progress, and delete.

    asked_in is the chat's collection dropdown: its choices follow every change made here.
    """
    gr.Markdown(f"Articles of the chosen collection. Add {', '.join(SUPPORTED_SUFFIXES)} files, or a web page or feed by "
                f"its link (up to {settings.max_upload_mb:g} MB each); you can ask about them right away.")
    with gr.Row(equal_height=True):
        collection = gr.Dropdown(collection_choices(settings), value=settings.collection, label="Collection",
                                 elem_id="collection", scale=2)
        name = gr.Textbox(label="Name", placeholder="a new collection's name, or the chosen one's new name",
                          elem_id="collection-name", scale=2, max_lines=1, max_length=60)
        create = gr.Button("Create collection", elem_id="collection-create", scale=1)
        rename = gr.Button("Rename", elem_id="collection-rename", scale=1)
        drop = gr.Button("Delete collection", variant="stop", elem_id="collection-delete", scale=1)
    table = gr.HTML(elem_id="documents-table")
    with gr.Row():
        uploader = gr.File(label="Add articles", file_count="multiple", elem_id="upload",
                           file_types=list(SUPPORTED_SUFFIXES), scale=2)
        with gr.Column(scale=1):
            replace = gr.Checkbox(False, label="Replace articles that have the same file name",
                                  info="Otherwise an upload with a taken name is kept as 'name (2)'.",
                                  elem_id="upload-replace")
            chosen = gr.Dropdown(label="Document to delete", choices=[], elem_id="delete-choice")
            remove = gr.Button("Delete document", variant="stop", elem_id="delete")
    with gr.Row():
        link = gr.Textbox(label="Add by link", placeholder="https://… a news page, or an RSS/Atom feed", elem_id="link", scale=3)
        is_feed = gr.Checkbox(False, label="It is a feed: add its new entries", elem_id="link-feed", scale=1)
        fetch = gr.Button("Add link", elem_id="link-add", scale=1)
    status = gr.Markdown(elem_id="documents-status")
    background = gr.Markdown(elem_id="documents-background")  # the start-up's catch-up, while it runs
    polling = gr.Timer(2.0, active=False)
    listing = [table, chosen]
    shelves = [collection, asked_in, *listing]
    indexing = dict(concurrency_limit=1, concurrency_id=INDEX_QUEUE, api_visibility="private")
    gr.on([demo.load, tab.select], library.refresh, [collection], shelves, api_visibility="private")
    gr.on([demo.load, tab.select], library.background, None, [background, polling], queue=False,
          api_visibility="private", show_progress="hidden")
    polling.tick(library.background_tick, [collection], [background, polling, *listing], queue=False,
                 api_visibility="private", show_progress="hidden")
    collection.input(library.show_documents, [collection], listing, api_visibility="private")
    gr.on([create.click, name.submit], library.create_collection, [name], [status, *shelves], **indexing)
    rename.click(library.rename_collection, [collection, name], [status, *shelves], **indexing)
    confirmed = gr.Checkbox(False, visible=False)  # the page's confirm() answer
    drop.click(library.delete_collection, [confirmed, collection], [status, *shelves], **indexing,
               js="(yes, name) => [confirm(`Delete the collection “${name}” and its index? Its articles are moved "
                  "aside, not erased.`), name]")
    uploader.upload(library.upload_files, [uploader, replace, collection], [status, *listing, uploader], **indexing)
    gr.on([fetch.click, link.submit], library.add_link, [link, is_feed, collection], [status, *listing, link],
          concurrency_limit=LINKS_AT_ONCE, concurrency_id=LINK_QUEUE, api_visibility="private")
    remove.click(library.delete_chosen, [chosen, collection], [status, *listing], **indexing)


def evaluation_tab(scoring: Scoring) -> None:
    """Run the bundled or an uploaded test set, a number of questions at a time; the report and its chart."""
    gr.Markdown(tabs.EVAL_INTRO)
    with gr.Row():
        testset = gr.File(label="Test set (.jsonl); empty runs the bundled one", file_types=[".jsonl"],
                          elem_id="eval-testset", scale=2)
        with gr.Column(scale=1):
            limit = gr.Number(5, label="Questions (the first N; 0 = all)", minimum=0, precision=0, elem_id="eval-limit")
            run = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
    report = gr.Markdown(elem_id="eval-report", latex_delimiters=[])
    chart = gr.Image(label="Scores and latency", type="pil", format="png", interactive=False, elem_id="eval-chart")
    run.click(scoring.evaluate, [testset, limit], [report, chart], api_name="evaluate", concurrency_limit=1,
              concurrency_id=EVALUATION_QUEUE)


def api_endpoints(chat: Chat, library: Library, slots: int = 1) -> None:
    """Named endpoints for gradio_client: /ask, /documents, /upload, /replace, /delete (the tabs add /chat and /evaluate)."""
    gr.api(chat.api_ask, api_name="ask", concurrency_limit=slots, concurrency_id=ASSISTANT_QUEUE)
    gr.api(library.api_documents, api_name="documents", concurrency_limit=None)
    with gr.Column(visible=False):  # a real File input, so Gradio checks the uploaded path is its own
        api_file, api_result, api_trigger, api_swap = gr.File(), gr.JSON(), gr.Button(), gr.Button()
        api_collection = gr.Textbox("")  # optional: the collection's name; empty is the default one
    api_swap.click(library.api_replace, [api_file, api_collection], [api_result], api_name="replace",
                   concurrency_limit=1, concurrency_id=INDEX_QUEUE)
    api_trigger.click(library.api_upload, [api_file, api_collection], [api_result], api_name="upload",
                      concurrency_limit=1, concurrency_id=INDEX_QUEUE)
    gr.api(library.api_delete, api_name="delete", concurrency_limit=1, concurrency_id=INDEX_QUEUE)


