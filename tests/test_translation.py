"""Translation on demand of a cited passage (rag/translation.py), its card in the Sources panel and its button's
rule (rag/web): the rules without a model, and one real translation each way with the shared model."""
import html
import re
import threading
from types import SimpleNamespace

import pytest

from rag.answer import Citation
from rag.cli import build_parser
from rag.errors import ModelError, TranslationError
from rag.generation import load_prompts
from rag.settings import Settings
from rag.translation import (LABEL, Translation, cleaned, needs_translation, to_translate, token_cap, translate,
                             translate_messages)
from rag.web import presentation as view
from rag.web.chat import untranslated
from conftest import ROOT

PROMPTS = load_prompts(ROOT / "prompts")
CHINESE = ("青河渡轮公司5月8日宣布，其三艘渡轮将在明年春天之前全部改用太阳能驱动。\n"
           "公司总经理林秀梅说，改装工程将耗资4200万元，由本地的海港船厂承担。\n"
           "这三艘渡轮每天往返六次，共运送约1800名乘客。")
ENGLISH = ("The Zorblax festival will return on 14 June, organiser Marta Quill said. "
           "About 3,200 visitors are expected over two days.")
QUESTION = "How much will the refit of the Qinghe ferries cost?"


def citation(n: int, text: str) -> Citation:
    return Citation(n, "doc", "Ferries <b>", "qinghe.md", f"doc:h:{n:05d}", text, 0, len(text), True, [(0, 5)])


class FakeGenerator:
    """Records what it is asked; replies with reply, or raises it when it is an exception."""

    def __init__(self, reply="The refit will cost 42 million yuan."):
        self.reply, self.asked = reply, []

    def count(self, text: str) -> int:
        return len(text)

    def complete(self, messages, max_tokens):
        self.asked.append((messages, max_tokens))
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


def helper(generator, n_ctx: int = 4096):
    return SimpleNamespace(generator=generator, prompts=PROMPTS, settings=Settings(n_ctx=n_ctx),
                           slots=threading.Semaphore(1))


# -- the rules -------------------------------------------------------------------------------------------------
def test_a_passage_needs_translation_only_in_another_language_than_the_question():
    assert needs_translation(CHINESE, QUESTION)
    assert needs_translation(ENGLISH, "青河渡轮的改装工程耗资多少？")
    assert needs_translation("Die Fähre fährt ab Mai mit Strom, sagte die Bürgermeisterin.", QUESTION)
    assert not needs_translation(ENGLISH, QUESTION)
    assert not needs_translation(CHINESE, "青河渡轮的改装工程耗资多少？")
    assert not needs_translation("  ", QUESTION)


def test_to_translate_takes_citations_or_their_json_and_keeps_their_numbers():
    cited = [citation(2, ENGLISH), citation(3, CHINESE)]
    assert to_translate(cited, QUESTION) == [3]
    assert to_translate([{"n": 4, "text": CHINESE}, {"n": 1, "text": ENGLISH}], QUESTION) == [4]
    assert to_translate(cited, "青河渡轮的改装工程耗资多少？") == [2]


def test_the_prompt_names_both_languages_and_carries_the_passage_whole():
    [message] = translate_messages(PROMPTS.translate, CHINESE + "  {not a field}", "zh", "en")
    assert message["role"] == "user"
    assert "Chinese passage" in message["content"] and "into English" in message["content"]
    assert CHINESE + "  {not a field}" in message["content"]  # braces in an article are text, not fields
    assert message["content"].rstrip().endswith("English translation:")


def test_the_token_cap_grows_with_the_passage_within_bounds():
    assert token_cap(10, 4000) < token_cap(100, 4000) < token_cap(400, 4000) <= 1024
    assert token_cap(100, 4000) >= 200 and token_cap(5000, 4000) == 1024 and token_cap(100, 50) == 50


def test_a_lead_or_a_note_the_model_adds_is_cut_and_the_text_kept():
    assert cleaned("English translation: The ferry runs.") == "The ferry runs."
    assert cleaned("译文：渡轮每天往返六次。") == "渡轮每天往返六次。"
    assert cleaned("Translations of old laws differ.") == "Translations of old laws differ."
    assert cleaned("美国和中国。\n---\n\nNote: The translation maintains the original structure.") == "美国和中国。"
    assert cleaned("Ferries.\n(Note: kept the names)") == "Ferries."
    assert cleaned("A -- B --- C.\nNotes follow.") == "A -- B --- C.\nNotes follow."


# -- the model call, with a stand-in model ------------------------------------------------------------------------
def test_a_translation_is_marked_as_the_local_models_with_both_languages():
    generator = FakeGenerator("Translation: The refit will cost 42 million yuan.")
    done = translate(helper(generator), CHINESE, "en")
    assert done == Translation("The refit will cost 42 million yuan.", "en", "zh", LABEL)
    assert "Machine translation by the local model" in done.label and "not the article's words" in done.label
    [(messages, cap)] = generator.asked
    assert CHINESE in messages[0]["content"] and cap == token_cap(len(CHINESE), 4096 - len(messages[0]["content"]) - 64)


@pytest.mark.parametrize("text, into, says", [
    ("", "en", "no text"), ("   \n", "en", "no text"),
    (ENGLISH, "en", "already in English"), (CHINESE, "zh", "already in Chinese"),
    (CHINESE, "ja", "Cannot translate into 'ja'"),
])
def test_nothing_to_translate_is_refused_in_one_sentence_without_asking_the_model(text, into, says):
    generator = FakeGenerator()
    with pytest.raises(TranslationError, match=says) as refused:
        translate(helper(generator), text, into)
    assert generator.asked == [] and "\n" not in str(refused.value)


@pytest.mark.parametrize("failure, says", [
    (ModelError("The model server did not answer."), "could not translate this passage: The model server did not"),
    (RuntimeError("llama_decode returned -3"), "could not translate this passage; the details are in the log"),
    ("  ", "wrote no translation"),
])
def test_a_model_failure_is_a_clear_refusal_not_a_traceback(failure, says):
    with pytest.raises(TranslationError, match=says) as refused:
        translate(helper(FakeGenerator(failure)), CHINESE, "en")
    assert "llama_decode" not in str(refused.value)


def test_a_passage_too_long_for_the_window_is_refused():
    with pytest.raises(TranslationError, match="too long"):
        translate(helper(FakeGenerator(), n_ctx=512), CHINESE * 5, "en")  # a character a token here


# -- the Sources panel and the CLI --------------------------------------------------------------------------------
def card(turn: int = 1) -> str:
    return "".join(view.citation_cards(SimpleNamespace(citations=[citation(1, ENGLISH), citation(2, CHINESE)]), turn))


def test_the_translation_goes_beside_the_original_under_its_label_escaped():
    sources = card()
    piece = view.translation_html(Translation("Cost <script>x</script>\nSecond line.", "en", "zh"), 1, 2)
    shown = view.with_translation(sources, 1, 2, piece)
    assert "<script>" not in piece and "&lt;script&gt;" in piece and "<br>" in piece
    assert f"{LABEL} (Chinese → English)" in html.unescape(piece)
    second = shown[shown.index('id="src-1-2"'):]
    assert second.index("</blockquote>") < second.index('class="source-translation"') < second.index("</article>")
    assert shown.replace(piece, "") == sources  # the original card, its highlight and text, unchanged
    assert view.with_translation(shown, 1, 2, piece) == shown  # once per source
    assert view.with_translation(sources, 1, 7, piece) == sources  # no such source: nothing added
    assert not view.has_translation(sources, 1, 2) and view.has_translation(shown, 1, 2)


def test_the_button_is_offered_while_the_newest_answer_cites_an_untranslated_other_language_passage():
    record = {"citations": [{"n": 1, "text": ENGLISH}, {"n": 2, "text": CHINESE}]}
    turn = {"question": QUESTION, "status": "answer", "sources": card(), "record": record}
    assert untranslated([turn]) == (1, [2])
    assert untranslated([dict(turn, question="青河渡轮的改装工程耗资多少？")]) == (1, [1])
    done = dict(turn, sources=view.with_translation(card(), 1, 2, view.translation_html(
        Translation("Cost.", "en", "zh"), 1, 2)))
    assert untranslated([done]) is None
    assert untranslated([turn, {"question": "Next?", "status": "streaming", "sources": "<p>reading</p>",
                                "record": {}}]) is None  # the newest answer is still being written
    assert untranslated([turn, {"question": "Oops", "status": "error", "sources": "", "record": {}}]) == (1, [2])
    assert untranslated([]) is None


def test_the_chat_translates_the_newest_answers_passages_and_says_why_one_failed():
    from rag.web.chat import Chat

    record = {"citations": [{"n": 1, "text": ENGLISH}, {"n": 2, "text": CHINESE}]}
    turns = [{"question": QUESTION, "status": "answer", "sources": card(), "record": record}]
    *_, (panel, after, notice) = Chat(helper(FakeGenerator("The refit <i>costs</i> 42 million yuan."))).translate_sources(turns)
    assert "The refit &lt;i&gt;costs&lt;/i&gt; 42 million yuan." in panel and notice == ""
    assert view.has_translation(after[0]["sources"], 1, 2) and not view.has_translation(after[0]["sources"], 1, 1)
    assert untranslated(after) is None  # the button goes
    fresh = [dict(turns[0], sources=card())]
    *_, (panel, after, notice) = Chat(helper(FakeGenerator(ModelError("The model is gone.")))).translate_sources(fresh)
    assert notice == "⚠️ Source 2: The local model could not translate this passage: The model is gone."
    assert not view.has_translation(after[0]["sources"], 1, 2) and untranslated(after) == (1, [2])  # it may be asked again


def test_rag_ask_takes_translate():
    args = build_parser().parse_args(["ask", "--translate", "How", "much?"])
    assert args.translate and args.question == ["How", "much?"]


# -- the real model ------------------------------------------------------------------------------------------------
def share(text: str, pattern: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(bool(re.match(pattern, c)) for c in letters) / max(len(letters), 1)


def test_the_local_model_translates_chinese_into_english_and_english_into_chinese(settings, llm, model_path):
    from rag.generation import Generator, Slots

    assistant = SimpleNamespace(generator=Generator(settings, model_path, llm), prompts=PROMPTS, settings=settings,
                                slots=Slots(1))
    english = translate(assistant, CHINESE, "en")
    assert (english.language, english.source_language) == ("en", "zh")
    assert share(english.text, r"[A-Za-z]") > 0.95, english.text  # written in English
    assert "Lin" in english.text and "1800" in english.text.replace(",", ""), english.text  # her name, the count
    chinese = translate(assistant, ENGLISH, "zh")
    assert (chinese.language, chinese.source_language) == ("zh", "en")
    assert share(chinese.text, r"[\u4e00-\u9fff]") > 0.6, chinese.text  # written in Chinese
    assert "3200" in chinese.text.replace(",", ""), chinese.text  # the number kept
