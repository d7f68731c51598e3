"""Translation on demand: a cited passage in another language than the question's, translated by the local model.

An answer is written in the reader's language but cites the article's own words, which may be Chinese, German,
French or Spanish for an English question (or English for a Chinese one). A reader may ask for a translation of
such a passage: the local model writes it (prompts/translate.txt, temperature 0, at most about twice the
passage's tokens), and every face shows it beside the original, never instead of it, under LABEL. The citation
and its highlights stay on the article's text; the translation is not checked against anything.

The rules are pure (which passages need one, the prompt, the token cap, the reply cleaned); ``translate`` is the
one model call, made like the follow-up rewrite (Generator.complete): in an answer slot, on the model's lock.
The language of a passage and of a question come from the one set of text rules (text.language).
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Iterable

from .errors import RagError, TranslationError
from .text import LANGUAGES, language

log = logging.getLogger("rag.translation")
LABEL = "Machine translation by the local model — not the article's words"
MAX_TOKENS = 1024  # the longest translation written, whatever the passage
MARKUP = 64  # tokens of chat-template markup around the prompt
# "Translation:", "English translation:", "Translation into English:", "译文：" opening a reply
LEAD = re.compile(r"^\s*(?:(?:the\s+)?(?:(?:english|chinese|german|french|spanish)\s+)?translation(?:\s+into\s+\w+)?"
                  r"|译文|翻译|中文翻译)\s*[:：]\s*", re.IGNORECASE)
TAIL = re.compile(r"\n\s*(?:-{3,}|\*{3,}|\(?(?:note|注)\s*[:：]).*\Z", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Translation:
    """A passage as the local model translated it: text in language (a code of text.LANGUAGES) from
    source_language, always shown under its label.

    ``Translation('The refit will cost 42 million yuan.', 'en', 'zh').label
    -> "Machine translation by the local model — not the article's words"``
    """
    text: str
    language: str
    source_language: str
    label: str = LABEL

    def to_json(self) -> dict:
        """``Translation('Hi.', 'en', 'de').to_json() -> {'text': 'Hi.', 'language': 'en', 'source_language': 'de',
        'label': "Machine translation by the local model — not the article's words"}``"""
        return asdict(self)


def needs_translation(passage: str, question: str) -> bool:
    """Whether a passage is in another language than the question (text.language of each); an empty one is not.

    ``needs_translation('公司总经理林秀梅说，改装工程将耗资4200万元。', 'How much will the refit cost?') -> True``;
    ``needs_translation('The refit will cost 42 million yuan.', 'How much will the refit cost?') -> False``;
    ``needs_translation('Die Fähre fährt ab Mai mit Strom.', 'Who runs the ferry?') -> True``
    """
    return bool((passage or "").strip()) and language(passage) != language(question)


def to_translate(citations: Iterable, question: str) -> list[int]:
    """The numbers of the citations (anything with ``n`` and ``text``, or their JSON) in another language than
    the question, in order.

    ``to_translate([Citation(n=1, text='青河渡轮公司宣布…'), Citation(n=2, text='The ferries run daily.')],
    'How much will the refit cost?') -> [1]``
    """
    found = []
    for citation in citations:
        n, text = (citation["n"], citation["text"]) if isinstance(citation, dict) else (citation.n, citation.text)
        if needs_translation(text, question):
            found.append(n)
    return found


def translate_messages(template: str, text: str, source: str, into: str) -> list[dict]:
    """The one user message asking for the translation (prompts/translate.txt), languages by their English names.

    ``translate_messages('From {source} into {language}: {text}', '你好。', 'zh', 'en')
    -> [{'role': 'user', 'content': 'From Chinese into English: 你好。'}]``
    """
    content = template.format(source=LANGUAGES[source], language=LANGUAGES[into], text=text.strip())
    return [{"role": "user", "content": content}]


def token_cap(passage_tokens: int, room: int) -> int:
    """Tokens the translation may take: twice the passage's and a few more (English needs more tokens than
    Chinese for the same sentence), at most MAX_TOKENS and what the window has room for.

    ``token_cap(100, 4000) -> 216``; ``token_cap(900, 4000) -> 1024``; ``token_cap(100, 150) -> 150``
    """
    return max(0, min(MAX_TOKENS, room, 2 * passage_tokens + 16))


def cleaned(reply: str) -> str:
    """The model's reply without a "Translation:" lead it may echo from the prompt, nor a note about the
    translation it may add after a rule or a "Note:" line.

    ``cleaned('Translation into English: The ferry runs. ') -> 'The ferry runs.'``; ``cleaned('译文：渡轮。') -> '渡轮。'``;
    ``cleaned('渡轮。\n---\n\nNote: The translation keeps…') -> '渡轮。'``;
    ``cleaned('The translation was late.') -> 'The translation was late.'``
    """
    return TAIL.sub("", LEAD.sub("", (reply or "").strip(), count=1)).strip()


def translate(assistant, text: str, into: str) -> Translation:
    """The local model's translation of a passage into the reader's language (a code of text.LANGUAGES, as
    ``text.language(question)`` gives it), taken in an answer slot like any answer.

    ``translate(assistant, '…公司总经理林秀梅说，改装工程将耗资4200万元，由本地的海港船厂承担。…', 'en')
    -> Translation("… The company's CEO, Lin Shumei, said that the conversion project will cost 420 million yuan, …",
    'en', 'zh')``: about 10 s for those three sentences on the 2-core machine (docs/languages.md), and the
    figure wrong (4200万 is 42 million), which is why it is always shown as the model's, beside the original.

    Raises:
        TranslationError: the text is empty, already in that language, too long for the window, or the model
        failed or wrote nothing; its message says which, in one sentence.
    """
    text = (text or "").strip()
    if not text:
        raise TranslationError("There is no text to translate.")
    if into not in LANGUAGES:
        raise TranslationError(f"Cannot translate into '{into}': the languages are {', '.join(LANGUAGES.values())}.")
    source = language(text)
    if source == into:
        raise TranslationError(f"This passage is already in {LANGUAGES[into]}, the reader's language; "
                               "there is nothing to translate.")
    generator = assistant.generator
    messages = translate_messages(assistant.prompts.translate, text, source, into)
    try:
        room = assistant.settings.n_ctx - generator.count(messages[0]["content"]) - MARKUP
        cap = token_cap(generator.count(text), room)
        if cap < 16:
            raise TranslationError("This passage is too long for the model's window to translate.")
        with assistant.slots:
            reply = cleaned(generator.complete(messages, cap))
    except TranslationError:
        raise
    except RagError as exc:
        raise TranslationError(f"The local model could not translate this passage: {exc}") from None
    except Exception:
        log.exception("Translating a passage failed")
        raise TranslationError("The local model could not translate this passage; "
                               "the details are in the log.") from None
    if not reply:
        raise TranslationError("The local model wrote no translation of this passage.")
    return Translation(reply, into, source)
