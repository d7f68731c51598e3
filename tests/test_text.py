"""The one set of text rules: sentences, words and [n] markers, with worked cases and properties."""
import pytest
from hypothesis import given, settings, strategies as st

from rag.text import (content_words, inert, inert_piece, numbers, parse_markers, sentence_spans, sentences,
                      points_back_to, stands_alone, strip_markers, words)


@pytest.mark.parametrize("text, expected", [
    ("Altman said the U.S. may be underestimating China.", ["Altman said the U.S. may be underestimating China."]),
    ("Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3. They talked.",
     ["Dr. Smith met Mr. Jones at 5 p.m. on Jan. 3.", "They talked."]),
    ("Prices rose 3.5% in Q2. Analysts (e.g. at J.P. Morgan) were surprised.",
     ["Prices rose 3.5% in Q2.", "Analysts (e.g. at J.P. Morgan) were surprised."]),
    ("MENLO PARK, Calif. , Feb. 19, 2014 -- Facebook today said so. Yes.",
     ["MENLO PARK, Calif. , Feb. 19, 2014 -- Facebook today said so.", "Yes."]),
    ("The poster read: <script>window.__pwned = true</script> Welcome! Fine.",
     ["The poster read: <script>window.__pwned = true</script> Welcome!", "Fine."]),
    ("Prices rose. [3] Sales fell [1].", ["Prices rose. [3]", "Sales fell [1]."]),  # a marker cites what it follows
    ("Heading\nFirst line. Second line.", ["Heading", "First line.", "Second line."]),
])
def test_sentences(text, expected):
    assert [text[a:b] for a, b in sentences(text)] == expected


def test_sentence_spans_mark_paragraph_ends():
    assert sentence_spans("Hi. Yo!\n\nNew.") == [(0, 3, False), (4, 7, True), (9, 13, True)]


PIECES = st.sampled_from(["The U.S.", "Dr. Li", "said", "it rained.", "Calif.", "2018", "Yes!", "[2]", "e.g.",
                          "window.__x", "“Go.”", "no", "J. Smith", "\n", "\n\n", "Prices rose 3.5%."])
TEXTS = st.lists(PIECES, min_size=1, max_size=25).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_sentences_cover_the_text_in_order_and_leave_only_whitespace_between(text):
    spans = sentences(text)
    cursor = 0
    for start, end in spans:
        assert cursor <= start < end <= len(text)
        assert not text[cursor:start].strip(), "only whitespace is left between sentences"
        assert text[start:end] == text[start:end].strip(), "offsets point at the sentence, not its spaces"
        cursor = end
    assert not text[cursor:].strip()
    assert all("\n" not in text[a:b] for a, b in spans), "a line break always ends a sentence"


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.sampled_from(["U.S.", "Dr.", "Mr.", "Calif.", "J.", "e.g."]))
def test_an_abbreviation_never_ends_a_sentence(text, abbreviation):
    """...within a line: a line break (a heading, a list) ends a sentence whatever precedes it."""
    text = f"{text} {abbreviation} Next words follow."
    for _, end in sentences(text):
        at_line_end = not text[end:].split("\n", 1)[0].strip() and "\n" in text[end:]
        assert at_line_end or not text[:end].endswith(" " + abbreviation), text


@pytest.mark.parametrize("text, expected", [
    ("Yes [1, 3].", [(3, 10, [1, 3])]),
    ("See [Source 2] and [4][5].", [(3, 14, [2]), (18, 22, [4]), (22, 25, [5])]),
    ("No markers [x].", []),
])
def test_parse_markers(text, expected):
    assert parse_markers(text) == expected


def test_words_numbers_and_markers():
    assert words("Altman's U.S. plan-B") == ["altman", "s", "u", "s", "plan", "b"]
    assert content_words("The chips are banned") == {"chip", "bann"}
    assert numbers("The 2018 Tour, stage 3 of 21, gpt-oss-120b") == {"2018", "3", "21"}
    assert strip_markers("Prices rose [1]. Yes [2, 3] .") == "Prices rose. Yes."


# -- inert output: no image or link of model or article text becomes a fetch or a live link --------

HOSTILE_BITS = ["![x](", "[x](", "http://e.com/a.png", "https://e.com", "HTTP://E.COM", ")", "(", "[", "]", ":",
                "<", ">", "img src=x", "<img src=http://e.com/i.png>", "<http://e.com>", "javascript:alert(1)",
                "www.e.com", "a@b.org", "mailto:", "[r]: /p.png", "[r]", "![a][r]", "data:image/png;base64,AA",
                " ", "\n", "[1]", "Ann", ".", "\\", "`", "!", "ftp://f", "x"]
hostile_text = st.lists(st.sampled_from(HOSTILE_BITS), max_size=30).map("".join)


@pytest.mark.parametrize("text, expected", [
    ("![x](http://e.com/a.png)", "![x] (http(:)//e.com/a.png)"),
    ("[click](javascript:alert(1))", "[click] (javascript(:)alert(1))"),
    ("<img src=x onerror=alert(1)> and <http://e.com>", "< img src=x onerror=alert(1)> and < http(:)//e.com>"),
    ("![a][r]\n[r]: /p.png", "![a] [r]\n[r] : /p.png"),
    ("Mail a@b.org or see www.e.com", "Mail a(@)b.org or see www(.)e.com"),
    ("Altman said so [1]. Prices rose 3.5% [2, 3].", "Altman said so [1]. Prices rose 3.5% [2, 3]."),  # ordinary
    ("a < b and 2 > 1: fine", "a < b and 2 > 1: fine"),
    ("\\xhttp://e.com and Hotel: views: data", "\\xhttp(:)//e.com and Hotel: views: data"),  # found by Hypothesis
])
def test_inert_breaks_images_links_and_urls(text, expected):
    assert inert(text) == expected


def is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(c in chars for c in short)


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_inert_loses_nothing_and_is_idempotent(text):
    shown = inert(text)
    assert is_subsequence(text, shown)  # invariant: only spaces and parentheses are added
    assert inert(shown) == shown


@given(hostile_text)
@settings(max_examples=300, deadline=None)
def test_inert_leaves_nothing_a_markdown_renderer_links_or_fetches(text):
    """Rendered by markdown-it (CommonMark, raw HTML on, GFM's autolinks), no tag, link or image remains."""
    rendered = markdown().render(inert(text))
    assert "<a " not in rendered and "<img" not in rendered and "href=" not in rendered, rendered


def markdown():
    """CommonMark with raw HTML and GFM's autolinks (www., http(s)://, ftp://, e-mail addresses), as marked renders
    them in Gradio and Open WebUI, except "www." (linkify-it links it only in its fuzzy mode, which links every bare
    domain, "reuters.com" too; the worked cases above cover "www.")."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable("linkify")
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": True}).add("//", None)  # GFM has no protocol-relative links
    return md


@pytest.mark.parametrize("text", ["![x](http://e.com/a.png)", "[x](http://e.com)", "<img src=x>", "mail a@b.org",
                                  "<http://e.com>", "![a][r]\n\n[r]: /p.png", "http://e.com/a"])
def test_the_renderer_does_link_or_fetch_these_until_they_are_made_inert(text):
    assert "<a " in markdown().render(text) or "<img" in markdown().render(text)  # the property above can fail
    assert "<a " not in markdown().render(inert(text)) and "<img" not in markdown().render(inert(text))


@given(hostile_text, st.lists(st.integers(0, 400), max_size=8))
@settings(max_examples=300, deadline=None)
def test_a_stream_made_inert_piece_by_piece_equals_the_whole_made_inert(text, cuts):
    bounds = [0, *sorted(c for c in cuts if c < len(text)), len(text)]
    pieces = [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
    assert "".join(inert_piece(text[:sum(map(len, pieces[:i]))], piece) for i, piece in enumerate(pieces)) == inert(text)


@pytest.mark.parametrize("question, alone", [
    ("What did OpenAI release in August?", True),
    ("What does Altman think about export controls?", True),
    ("Why did he say that?", False),          # points back twice
    ("What does it cost?", False),
    ("And Meta?", False),                      # too short, and opens with "and"
    ("What about the chips from Nvidia?", False),
    ("Who founded the Zorblax river festival?", True),
    ("Is it true that they left?", False),
])
def test_stands_alone(question, alone):
    assert stands_alone(question) is alone


@pytest.mark.parametrize("earlier, expected", [
    (["Who is Sam Altman?"], ["Who is Sam Altman?"]),
    (["Who is Sam Altman?", "What does he think about export controls?"],
     ["Who is Sam Altman?", "What does he think about export controls?"]),  # the chain back to a question that stands alone
    (["Who is Sam Altman?", "What did OpenAI release in August?"], ["What did OpenAI release in August?"]),
    (["And he?", "Why?", "What then?", "And now?"], ["Why?", "What then?", "And now?"]),  # at most three
    ([], []),
])
def test_a_follow_up_points_back_to_the_earlier_questions_it_leans_on(earlier, expected):
    assert points_back_to(earlier) == expected


# -- one set of rules for every script: Chinese ---------------------------------------------------------------
def test_chinese_sentences_end_at_their_full_stops_and_keep_their_closing_quotes():
    from rag.text import sentences

    text = "2018年城镇新增就业1361万人，比上年多增10万人。“我们很高兴，”他说。Shares fell on Monday. OK."
    assert [text[a:b] for a, b in sentences(text)] == [
        "2018年城镇新增就业1361万人，比上年多增10万人。", "“我们很高兴，”他说。", "Shares fell on Monday.", "OK."]


def test_chinese_words_are_segmented_and_digits_stand_apart():
    from rag.text import content_words, numbers, words

    assert words("2018年中国城镇新增就业1361万人") == ["2018", "年", "中国", "城镇", "新增", "就业", "1361", "万人"]
    assert content_words("2018年中国城镇新增就业了多少人") == {"2018", "中国", "城镇", "新增", "就业"}
    assert numbers("新增1361万人, 2018年, the H20 chip") == {"1361", "2018"}  # a code keeps its digits
    assert words("Altman's U.S. plan-B") == ["altman", "s", "u", "s", "plan", "b"]  # text with spaces: as before
