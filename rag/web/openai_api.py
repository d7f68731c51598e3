"""The OpenAI-compatible face: ``POST /v1/chat/completions`` and ``GET /v1/models`` on the page's own server.

The last user message is the question, earlier user/assistant turns the history for the follow-up
rewrite; the reply carries the answer with its ``[n]`` markers plus, beside it as other RAG APIs do, the
checked ``citations`` (the objects of ``rag ask --json``), ``refused`` and ``usage``. Generation goes through
the Assistant, which answers as many questions at once as it has slots (the chat's too): one in-process.
Request parsing and response building are pure functions; ``OpenAIFace`` holds the two route handlers.
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ..errors import IndexEmptyError, QuestionError, RagError, SettingsError
from ..pipeline import Answer, Assistant, check_question
from ..settings import Settings
from .chat import GENERIC_ERROR, log
from .tasks import is_task, task_reply

MODEL_ID = "rag"
KNOWN_ROUTES = {"/v1/models": "GET", "/v1/chat/completions": "POST"}
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # HEAD comes with GET
ROLES = {"system", "developer", "user", "assistant", "tool"}  # system/developer/tool turns are read and ignored


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: tuple[tuple[str, str], ...]
    stream: bool = False
    temperature: Optional[float] = None
    max_tokens: Optional[int] = None


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


def conversation(messages: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(question, history): the last message is the user's question, earlier user→assistant turns the history.

    ``conversation([{'role': 'user', 'content': 'Who?'}, {'role': 'assistant', 'content': 'Ann [1].'},
    {'role': 'user', 'content': 'Why?'}]) -> ('Why?', (('Who?', 'Ann [1].'),))``
    """
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list of {role, content} objects.", "messages")
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role among {', '.join(sorted(ROLES))}.", f"messages[{i}].role")
        if message["role"] in ("user", "assistant"):
            turns.append((message["role"], message_text(message.get("content"), f"messages[{i}].content")))
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "The last message must be the user's question.", "messages")
    history, asked = [], None
    for role, text in turns[:-1]:
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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
        raise ApiError(400, f"'{name}' must be {'an integer' if kind is int else 'a number'}.", name)
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' must be between {low:g} and {high:g}; got {value:g}.", name)
    return kind(value)


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
    if model != MODEL_ID:
        raise ApiError(400, f"The model '{model}' does not exist; this server has one model: '{MODEL_ID}'.", "model",
                       "model_not_found")
    if body.get("n") not in (None, 1):
        raise ApiError(400, "Only one choice per request is supported ('n' must be 1).", "n")
    if not isinstance(body.get("stream", False), (bool, type(None))):
        raise ApiError(400, "'stream' must be true or false.", "stream")
    question, history = conversation(body.get("messages"))
    try:  # a front end's task request (tasks.py) quotes the whole chat: it is never asked, so never too long
        question = question if is_task(question) else check_question(question, max_question_chars)
    except QuestionError as exc:
        raise ApiError(400, str(exc), "messages") from None
    limit = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    return ChatRequest(question, history, bool(body.get("stream")), number(body, "temperature", float, "temperature"),
                       number(body, limit, int, "max_tokens"))


def usage(timings: dict) -> dict:
    """``usage({'prompt_tokens': 400, 'completion_tokens': 30}) -> {'prompt_tokens': 400, 'completion_tokens': 30, 'total_tokens': 430}``"""
    prompt, completion = timings.get("prompt_tokens", 0), timings.get("completion_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_reason(answer: dict, max_tokens: int) -> str:
    """'length' when the answer used every token it was allowed, else 'stop'."""
    return "length" if answer["timings"].get("completion_tokens", 0) >= max_tokens else "stop"


def completion_body(answer: dict, request_id: str, created: int, max_tokens: int) -> dict:
    """One ``chat.completion`` from an answer JSON (``Answer.to_json()``), with citations, refused and usage.

    ``standalone_question`` is the question retrieval used (a follow-up rewritten with the history).
    """
    return {"id": request_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": answer["answer"]},
                         "logprobs": None, "finish_reason": finish_reason(answer, max_tokens)}],
            "usage": usage(answer["timings"]), "citations": answer["citations"], "refused": answer["refused"],
            "standalone_question": answer["standalone_question"]}


def chunk_body(request_id: str, created: int, delta: dict, finish: Optional[str] = None, **extra) -> dict:
    """One ``chat.completion.chunk``; extra keys sit beside ``choices`` (the last chunk's citations).

    ``chunk_body('c1', 0, {'content': 'Hi'})['choices'] -> [{'index': 0, 'delta': {'content': 'Hi'}, 'logprobs': None,
    'finish_reason': None}]``
    """
    return {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}


def last_chunk(answer: dict, request_id: str, created: int, max_tokens: int) -> dict:
    """The chunk before ``[DONE]``: finish reason, citations, refused, usage, and the checked answer text.

    The deltas are the model's words as written; ``answer`` is the text after checking (markers pointing at no
    source removed, or the refusal sentence), the same as a non-streamed ``message.content``.
    """
    return chunk_body(request_id, created, {}, finish_reason(answer, max_tokens), citations=answer["citations"],
                      refused=answer["refused"], usage=usage(answer["timings"]), answer=answer["answer"],
                      standalone_question=answer["standalone_question"])


def sse(payload: Any) -> str:
    """A Server-Sent Event line: ``sse({'a': 1}) -> 'data: {"a": 1}\\n\\n'``; ``sse('[DONE]') -> 'data: [DONE]\\n\\n'``."""
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"


def models_body(model: dict, created: int) -> dict:
    """``GET /v1/models``: the one model id, with the GGUF behind it in ``metadata``."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": created, "owned_by": "local",
                                        "metadata": model}]}


def status_of(exc: RagError) -> tuple[int, str]:
    """HTTP status and OpenAI error type for a user-facing error."""
    if isinstance(exc, (QuestionError, SettingsError)):
        return 400, "invalid_request_error"
    if isinstance(exc, IndexEmptyError):
        return 503, "server_error"
    return 500, "server_error"


class OpenAIFace:
    """The /v1 route handlers over one Assistant."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.created = int(time.time())

    def routes(self) -> list:
        from starlette.routing import Route

        return [Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/{rest:path}", self.unknown, methods=list(ANY_METHOD))]

    async def unknown(self, request):
        """Any other /v1 route, or a known one with the wrong method: OpenAI-style error JSON, never HTML."""
        from starlette.responses import JSONResponse

        path = request.url.path.rstrip("/")
        if path in KNOWN_ROUTES:
            allowed = KNOWN_ROUTES[path]
            return JSONResponse(error_body(f"{path} answers {allowed} only, not {request.method}.",
                                           code="method_not_allowed"), 405, headers={"Allow": allowed})
        return JSONResponse(error_body(f"Unknown route {request.method} {request.url.path}: this server answers "
                                       "GET /v1/models and POST /v1/chat/completions.", code="unknown_url"), 404)

    async def models(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse(models_body(self.assistant.generator.describe(), self.created))

    async def chat_completions(self, request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse, StreamingResponse

        try:
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                raise ApiError(400, "The request body is not valid JSON.") from None
            asked = parse_request(body, self.assistant.settings.max_question_chars)
        except ApiError as exc:
            return JSONResponse(exc.body(), exc.status)
        request_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if (reply := task_reply(asked.question)) is not None and not asked.history:
            return self.task_response(asked, reply, request_id, created)
        if asked.stream:
            return StreamingResponse(self.events(asked, request_id, created), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            answer = await run_in_threadpool(self.assistant.ask, asked.question, asked.history,
                                             temperature=asked.temperature, max_tokens=asked.max_tokens)
        except RagError as exc:
            status, kind = status_of(exc)
            return JSONResponse(error_body(str(exc), kind), status)
        except Exception:
            log.exception("/v1 answer to %r failed", asked.question)
            return JSONResponse(error_body(GENERIC_ERROR, "server_error"), 500)
        return JSONResponse(completion_body(answer.to_json(), request_id, created, self.max_tokens(asked)))

    def task_response(self, asked: ChatRequest, reply: str, request_id: str, created: int):
        """A front end's background task (tasks.py), answered at once: no retrieval, no model, no citations."""
        from starlette.responses import JSONResponse, StreamingResponse

        answer = {"answer": reply, "refused": False, "citations": [], "standalone_question": asked.question,
                  "timings": {"prompt_tokens": 0, "completion_tokens": 0}}
        if not asked.stream:
            return JSONResponse(completion_body(answer, request_id, created, self.max_tokens(asked)))
        events = [sse(chunk_body(request_id, created, {"role": "assistant", "content": ""})),
                  sse(chunk_body(request_id, created, {"content": reply})),
                  sse(last_chunk(answer, request_id, created, self.max_tokens(asked))), sse("[DONE]")]
        return StreamingResponse(iter(events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def max_tokens(self, asked: ChatRequest) -> int:
        return asked.max_tokens or self.assistant.settings.max_tokens

    def events(self, asked: ChatRequest, request_id: str, created: int) -> Iterator[str]:
        """The SSE stream: a role chunk, one chunk per text piece, the last chunk with citations, ``[DONE]``."""
        yield sse(chunk_body(request_id, created, {"role": "assistant", "content": ""}))
        streamed = False
        try:
            with closing(self.assistant.stream(asked.question, asked.history, temperature=asked.temperature,
                                               max_tokens=asked.max_tokens)) as events:
                for event in events:
                    if isinstance(event, Answer):
                        if not streamed:  # refused before the model was asked: the refusal is the content
                            yield sse(chunk_body(request_id, created, {"content": event.answer}))
                        yield sse(last_chunk(event.to_json(), request_id, created, self.max_tokens(asked)))
                    else:
                        streamed = True
                        yield sse(chunk_body(request_id, created, {"content": event}))
        except RagError as exc:
            yield sse(error_body(str(exc), status_of(exc)[1]))
        except Exception:
            log.exception("/v1 stream for %r failed", asked.question)
            yield sse(error_body(GENERIC_ERROR, "server_error"))
        yield sse("[DONE]")
