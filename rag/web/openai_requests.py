"""The /v1 request checks: a chat-completions body, as raw bytes, to the ChatRequest the pipeline takes, or an
OpenAI-style 400 (``ApiError``) naming the field.

Every malformed body is a 400, never a 500: not JSON, NaN or Infinity or a number no float holds, nesting
deep enough to exhaust the parser, a wrong type anywhere, an earlier question longer than a question may be.
Pure functions; ``openai_api`` holds the routes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Optional

from ..errors import QuestionError
from ..pipeline import check_question
from .tasks import is_task
from ..settings import Settings

MODEL_ID = "rag"
MAX_BODY_BYTES = 4_000_000  # a chat request with a long history is far below this
ROLES = {"system", "developer", "user", "assistant", "tool"}  # system/developer/tool turns are read and ignored


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: tuple[tuple[str, str], ...]
    stream: bool = False
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    model: str = MODEL_ID  # 'rag' (the default collection) or 'rag/NAME' (collection NAME), echoed in the reply

    @property
    def collection(self) -> Optional[str]:
        """The collection the model id names: ``ChatRequest('Q', (), model='rag/Tour').collection -> 'Tour'``; 'rag': None."""
        return collection_of(self.model)


def collection_of(model: str) -> Optional[str]:
    """``collection_of('rag') -> None``; ``collection_of('rag/Tour de France') -> 'Tour de France'``."""
    return model[len(MODEL_ID) + 1:] if model.startswith(MODEL_ID + "/") else None


def model_id(collection) -> str:
    """The /v1 model id of a collection (catalog.Collection): 'rag' for the default one, else 'rag/NAME'."""
    return MODEL_ID if collection.default else f"{MODEL_ID}/{collection.name}"


class ApiError(Exception):
    """An OpenAI-style error: HTTP status and ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, param: Optional[str] = None, code: Optional[str] = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.param, self.code, self.kind = status, param, code, kind

    def body(self) -> dict:
        return error_body(str(self), self.kind, self.param, self.code)


def error_body(message: str, kind: str = "invalid_request_error", param: Optional[str] = None,
               code: Optional[str] = None) -> dict:
    """``error_body('Bad', param='n') -> {'error': {'message': 'Bad', 'type': 'invalid_request_error', 'param': 'n', 'code': None}}``"""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def bounds(name: str) -> tuple[float, float]:
    """The (lowest, highest) value a numeric setting accepts: ``bounds('max_tokens') -> (16, 4096)``."""
    found = {}
    for rule in Settings.model_fields[name].metadata:
        for attr in ("ge", "le"):
            if getattr(rule, attr, None) is not None:
                found[attr] = getattr(rule, attr)
    return found["ge"], found["le"]


def message_text(content: Any, param: str) -> str:
    """A message's text: a string, or the text parts of a list; other parts are refused.

    ``message_text([{'type': 'text', 'text': 'Hi'}, {'type': 'text', 'text': 'there'}], 'm') -> 'Hi\\nthere'``;
    ``message_text(None, 'm') -> ''`` (an assistant turn that only called tools).
    """
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        if any(p.get("type") != "text" or not isinstance(p.get("text"), str) for p in content):
            raise ApiError(400, "Only text content is supported (no images, audio or files).", param)
        return "\n".join(p["text"] for p in content)
    raise ApiError(400, "Message content must be a string or a list of text parts.", param)


def conversation(messages: Any, max_chars: int = 4000) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(question, history): the last message is the user's question, earlier user→assistant turns the history;
    an earlier question longer than max_chars is refused (an assistant turn is cut to 600 characters anyway).

    ``conversation([{'role': 'user', 'content': 'Who?'}, {'role': 'assistant', 'content': 'Ann [1].'},
    {'role': 'user', 'content': 'Why?'}]) -> ('Why?', (('Who?', 'Ann [1].'),))``
    """
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects.", "messages")
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or message["role"] not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role among {', '.join(sorted(ROLES))}.", f"messages[{i}].role")
        if message["role"] in ("user", "assistant"):
            turns.append((message["role"], message_text(message.get("content"), f"messages[{i}].content"), i))
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "The last message must be the user's question.", "messages")
    history, asked = [], None
    for role, text, i in turns[:-1]:
        if role == "user" and len(text) > max_chars:  # read again by the follow-up rewrite: bounded like the question
            raise ApiError(400, f"messages[{i}] is an earlier question of {len(text):,} characters; the limit is "
                                f"{max_chars:,}. Shorten or drop it from the history.", f"messages[{i}].content")
        if role == "user":
            asked = text
        elif asked is not None:  # an assistant turn answers the user turn before it
            history.append((asked, text))
            asked = None
    return turns[-1][1], tuple(history)


def number(body: dict, name: str, kind: type, setting: str) -> Optional[float]:
    """body[name] checked against the setting's bounds; None when absent or null.

    ``number({'temperature': 0.5}, 'temperature', float, 'temperature') -> 0.5``; 3 raises ApiError (over 2).
    """
    value = body.get(name)
    if value is None:
        return None
    low, high = bounds(setting)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or (kind is int and value != int(value))):  # isfinite first: int(1e400) overflows
        raise ApiError(400, f"'{name}' must be {'an integer' if kind is int else 'a finite number'}.", name)
    if not low <= value <= high:
        shown = f"{value:g}" if abs(value) < 1e15 else "a larger number"
        raise ApiError(400, f"'{name}' must be between {low:g} and {high:g}; got {shown}.", name)
    return kind(value)


def read_json(raw: bytes) -> Any:
    """The request's JSON; any body that is not plain JSON within MAX_BODY_BYTES is an ApiError 400.

    ``read_json(b'{"n": 1}') -> {'n': 1}``; ``read_json(b'{"n": NaN}')``, ``read_json(b'[' * 100000)`` and
    ``read_json(b'{"n": 1e400}')`` (a number no float holds, read as Infinity) raise ApiError.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise too_large(len(raw))
    try:
        return json.loads(raw or b"null", parse_constant=not_a_number, parse_float=finite_float)
    except RecursionError:
        raise ApiError(400, "The request body is nested too deeply to be a chat request.") from None
    except NotANumber as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ApiError(400, "The request body is not valid JSON.") from None


def too_large(size: int) -> ApiError:
    """``str(too_large(5_000_000)) -> 'The request body is over 4 MB (5.0 MB so far); …'``"""
    return ApiError(400, f"The request body is over {MAX_BODY_BYTES / 1e6:g} MB ({size / 1e6:.1f} MB so far); a chat "
                         "request, history included, is far smaller.", "messages", "request_too_large")


class NotANumber(ValueError):
    """NaN, Infinity, or a number too large for a float, met while reading JSON."""


def not_a_number(constant: str):
    raise NotANumber(f"{constant} is not a JSON number")


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NotANumber(f"{text[:20]} is too large a number")
    return value


def parse_request(body: Any, max_question_chars: int) -> ChatRequest:
    """A chat-completions body checked and reduced to what the pipeline uses; unknown fields are ignored.

    ``parse_request({'model': 'rag', 'messages': [{'role': 'user', 'content': 'Why?'}], 'max_tokens': 64}, 4000)
    -> ChatRequest(question='Why?', history=(), stream=False, temperature=None, max_tokens=64)``

    Raises:
        ApiError: 400, naming the field, for a value the pipeline cannot take.
    """
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    model = body.get("model", MODEL_ID)
    if not isinstance(model, str) or not (model == MODEL_ID or collection_of(model)):
        raise ApiError(400, f"The model '{str(model)[:80]}' does not exist; this server's models are '{MODEL_ID}' (the "
                       f"default collection) and '{MODEL_ID}/NAME' for each other collection (GET /v1/models lists them).",
                       "model", "model_not_found")
    if body.get("n") not in (None, 1):
        raise ApiError(400, "Only one choice per request is supported ('n' must be 1).", "n")
    if not isinstance(body.get("stream", False), (bool, type(None))):
        raise ApiError(400, "'stream' must be true or false.", "stream")
    question, history = conversation(body.get("messages"), max_question_chars)
    try:  # a front end's task request (tasks.py) quotes the whole chat: it is never asked, so never too long
        question = question if is_task(question) else check_question(question, max_question_chars)
    except QuestionError as exc:
        raise ApiError(400, str(exc), "messages") from None
    limit = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    return ChatRequest(question, history, bool(body.get("stream")), number(body, "temperature", float, "temperature"),
                       number(body, limit, int, "max_tokens"), model)
