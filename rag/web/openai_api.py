"""The OpenAI-compatible face: ``POST /v1/chat/completions`` and ``GET /v1/models`` on the page's own server.

The last user message is the question, earlier user/assistant turns the history for the follow-up
rewrite; the reply carries the answer with its ``[n]`` markers plus, beside it as other RAG APIs do, the
checked ``citations`` (the objects of ``rag ask --json``), ``refused`` and ``usage``. Generation goes through
the Assistant, which answers as many questions at once as it has slots (the chat's too): one in-process.
Request checks live in ``openai_requests``; response building is pure functions; ``OpenAIFace`` holds the two
route handlers. What goes out is inert (text.inert): no link or image in the content becomes a fetch.
"""
from __future__ import annotations

import json
import time
import uuid
from contextlib import closing
from typing import Any, AsyncIterator, Iterator, Optional, Sequence

from ..errors import IndexEmptyError, QuestionError, RagError, SettingsError
from ..pipeline import Answer, Assistant
from ..text import inert, inert_piece
from .chat import GENERIC_ERROR, log
from .openai_requests import (MAX_BODY_BYTES, MODEL_ID, ApiError, ChatRequest, error_body, model_id,  # noqa: F401
                              parse_request, read_json, too_large)
from .tasks import task_reply

KNOWN_ROUTES = {"/v1/models": "GET", "/v1/chat/completions": "POST"}
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")  # HEAD comes with GET

def usage(timings: dict) -> dict:
    """``usage({'prompt_tokens': 400, 'completion_tokens': 30}) -> {'prompt_tokens': 400, 'completion_tokens': 30, 'total_tokens': 430}``"""
    prompt, completion = timings.get("prompt_tokens", 0), timings.get("completion_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def finish_reason(answer: dict, max_tokens: int) -> str:
    """'length' when the answer used every token it was allowed, else 'stop'."""
    return "length" if answer["timings"].get("completion_tokens", 0) >= max_tokens else "stop"


def completion_body(answer: dict, request_id: str, created: int, max_tokens: int, model: str = MODEL_ID) -> dict:
    """One ``chat.completion`` from an answer JSON (``Answer.to_json()``), with citations, refused and usage.

    ``standalone_question`` is the question retrieval used (a follow-up rewritten with the history).
    """
    return {"id": request_id, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": shown_content(answer)},
                         "logprobs": None, "finish_reason": finish_reason(answer, max_tokens)}],
            "usage": usage(answer["timings"]), **verdict_fields(answer)}


def shown_content(answer: dict) -> str:
    """The message content: the checked answer with each unbacked sentence marked, or the refusal and its reason.

    ``shown_content({'refused': True, 'answer': 'No.', 'reason': 'No article names H20.', 'marked': 'No.'})``
    -> ``'No. (No article names H20.)'``
    """
    if answer["refused"]:
        return f"{answer['answer']} ({answer['reason']})" if answer.get("reason") else answer["answer"]
    return answer.get("marked") or answer["answer"]


def verdict_fields(answer: dict) -> dict:
    """The checks' findings beside ``choices``: citations, refused and why, each sentence's verdict, the date of the
    newest source cited (as_of) and the day "now" was (today), and whether the answer is a timeline."""
    return {"citations": answer["citations"], "refused": answer["refused"], "reason": answer.get("reason", ""),
            "sentences": answer.get("sentences", []), "standalone_question": answer["standalone_question"],
            "as_of": answer.get("as_of", ""), "today": answer.get("today", ""), "timeline": answer.get("timeline", False)}


def stream_epilogue(answer: dict, streamed: str = "") -> str:
    """What a stream adds after the model's words (streamed) so a chat front end shows the verdict: the refusal
    and its reason when the written answer was withheld, or which sentences the sources do not back; "" when
    there is nothing to add.

    ``stream_epilogue({'refused': False, 'sentences': [{'text': 'B.', 'supported': False}]})``
    -> ``'\\n\\n(Not found in the sources: “B.”)'``
    """
    if answer["refused"]:
        said = streamed.strip() == answer["answer"] and not answer.get("reason")  # the model's own refusal
        return "" if said else "\n\n" + shown_content(answer)
    doubtful = [s["text"] for s in answer.get("sentences", []) if not s["supported"]]
    return "\n\n(Not found in the sources: " + " ".join(f"“{t}”" for t in doubtful) + ")" if doubtful else ""


def chunk_body(request_id: str, created: int, delta: dict, finish: Optional[str] = None, model: str = MODEL_ID,
               **extra) -> dict:
    """One ``chat.completion.chunk``; extra keys sit beside ``choices`` (the last chunk's citations).

    ``chunk_body('c1', 0, {'content': 'Hi'})['choices'] -> [{'index': 0, 'delta': {'content': 'Hi'}, 'logprobs': None,
    'finish_reason': None}]``
    """
    return {"id": request_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}


def last_chunk(answer: dict, request_id: str, created: int, max_tokens: int, model: str = MODEL_ID) -> dict:
    """The chunk before ``[DONE]``: finish reason, citations, refused, usage, and the checked answer text.

    The deltas are the model's words as written; ``answer`` is the text after checking (markers pointing at no
    source removed, or the refusal sentence), the same as a non-streamed ``message.content``.
    """
    return chunk_body(request_id, created, {}, finish_reason(answer, max_tokens), model, usage=usage(answer["timings"]),
                      answer=shown_content(answer), **verdict_fields(answer))


def sse(payload: Any) -> str:
    """A Server-Sent Event line: ``sse({'a': 1}) -> 'data: {"a": 1}\\n\\n'``; ``sse('[DONE]') -> 'data: [DONE]\\n\\n'``."""
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"


def models_body(model: dict, created: int, ids: Sequence[str] = (MODEL_ID,)) -> dict:
    """``GET /v1/models``: one model id per collection ('rag', 'rag/NAME'…), each with the GGUF behind it in ``metadata``
    (Open WebUI shows each collection as a model)."""
    return {"object": "list", "data": [{"id": i, "object": "model", "created": created, "owned_by": "local",
                                        "metadata": model} for i in ids]}


def status_of(exc: RagError) -> tuple[int, str]:
    """HTTP status and OpenAI error type for a user-facing error."""
    if isinstance(exc, (QuestionError, SettingsError)):
        return 400, "invalid_request_error"
    if isinstance(exc, IndexEmptyError):
        return 503, "server_error"
    return 500, "server_error"


async def while_connected(request, events: Iterator[str]) -> AsyncIterator[str]:
    """The events, each read in a worker thread, until the client goes away; then events is closed at once.

    Closing the sync generator closes the answer's and the model's, which releases the model's lock: an
    abandoned stream must not hold it until garbage collection happens by (issue 16). A cancelled read
    waits for its thread (anyio does not abandon it), so events is never closed while it runs.
    """
    from starlette.concurrency import run_in_threadpool

    try:
        while not await request.is_disconnected():
            event = await run_in_threadpool(next, events, None)
            if event is None:
                return
            yield event
    finally:
        events.close()


async def body_bytes(request) -> bytes:
    """The request's body, read no further than MAX_BODY_BYTES (a huge body is refused, not held in memory)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large(size)
        chunks.append(chunk)
    return b"".join(chunks)


def event_stream(body: AsyncIterator[str], **kwargs):
    """A StreamingResponse that closes its body however the response ends: Starlette leaves a body whose
    client vanished (its ``send`` raised) suspended, to be closed only by the garbage collector."""
    from starlette.responses import StreamingResponse

    class Closing(StreamingResponse):
        async def __call__(self, scope, receive, send):
            try:
                await super().__call__(scope, receive, send)
            finally:
                await body.aclose()

    return Closing(body, **kwargs)


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

        from .. import catalog

        ids = [model_id(c) for c in catalog.list_collections(self.assistant.settings)]
        return JSONResponse(models_body(self.assistant.generator.describe(), self.created, ids))

    async def chat_completions(self, request):
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        try:
            body = read_json(await body_bytes(request))
            asked = parse_request(body, self.assistant.settings.max_question_chars)
        except ApiError as exc:
            return JSONResponse(exc.body(), exc.status)
        request_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if (reply := task_reply(asked.question)) is not None and not asked.history:
            return self.task_response(asked, reply, request_id, created)
        try:
            assistant = self.assistant.in_collection(asked.collection)
        except RagError as exc:  # a collection no longer there (or a store that cannot be read)
            return JSONResponse(error_body(str(exc), param="model", code="model_not_found"), 404)
        if asked.stream:
            return event_stream(while_connected(request, self.events(assistant, asked, request_id, created)),
                               media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            answer = await run_in_threadpool(assistant.ask, asked.question, asked.history,
                                             temperature=asked.temperature, max_tokens=asked.max_tokens)
        except RagError as exc:
            status, kind = status_of(exc)
            return JSONResponse(error_body(str(exc), kind), status)
        except Exception:
            log.exception("/v1 answer to %r failed", asked.question)
            return JSONResponse(error_body(GENERIC_ERROR, "server_error"), 500)
        return JSONResponse(completion_body(answer.to_json(), request_id, created, self.max_tokens(asked), asked.model))

    def task_response(self, asked: ChatRequest, reply: str, request_id: str, created: int):
        """A front end's background task (tasks.py), answered at once: no retrieval, no model, no citations."""
        from starlette.responses import JSONResponse, StreamingResponse

        answer = {"answer": reply, "refused": False, "citations": [], "standalone_question": asked.question,
                  "timings": {"prompt_tokens": 0, "completion_tokens": 0}}
        if not asked.stream:
            return JSONResponse(completion_body(answer, request_id, created, self.max_tokens(asked), asked.model))
        events = [sse(chunk_body(request_id, created, {"role": "assistant", "content": ""}, model=asked.model)),
                  sse(chunk_body(request_id, created, {"content": reply}, model=asked.model)),
                  sse(last_chunk(answer, request_id, created, self.max_tokens(asked), asked.model)), sse("[DONE]")]
        return StreamingResponse(iter(events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    def max_tokens(self, asked: ChatRequest) -> int:
        return asked.max_tokens or self.assistant.settings.max_tokens

    def events(self, assistant: Assistant, asked: ChatRequest, request_id: str, created: int) -> Iterator[str]:
        """The SSE stream: a role chunk, one chunk per text piece, the last chunk with citations, ``[DONE]``."""
        chunk = lambda delta: sse(chunk_body(request_id, created, delta, model=asked.model))  # noqa: E731
        yield chunk({"role": "assistant", "content": ""})
        streamed = ""  # the model's words so far; each piece goes out inert (text.inert), as the final answer does
        try:
            with closing(assistant.stream(asked.question, asked.history, temperature=asked.temperature,
                                               max_tokens=asked.max_tokens)) as events:
                for event in events:
                    if isinstance(event, Answer):
                        answer = event.to_json()
                        if not streamed:  # refused before the model was asked: the refusal is the content
                            yield chunk({"content": shown_content(answer)})
                        elif epilogue := stream_epilogue(answer, streamed):  # the verdict, after the words
                            yield chunk({"content": inert(epilogue)})
                        yield sse(last_chunk(answer, request_id, created, self.max_tokens(asked), asked.model))
                    else:
                        yield chunk({"content": inert_piece(streamed, event)})
                        streamed += event
        except RagError as exc:
            yield sse(error_body(str(exc), status_of(exc)[1]))
        except Exception:
            log.exception("/v1 stream for %r failed", asked.question)
            yield sse(error_body(GENERIC_ERROR, "server_error"))
        yield sse("[DONE]")
