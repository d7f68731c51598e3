"""Remote generation: the model behind an OpenAI-compatible URL (llama.cpp's llama-server, llama_cpp.server, …).

``RemoteGenerator`` has the in-process ``Generator``'s interface (name, describe, count, stream, complete,
warm, yes_probability), so retrieval, the context budget, the prompts and the citation checks do not
know which one answers. No model file is read or loaded. Every failure a user can act on (server
unreachable, wrong model name, refused key, timeout, a stream dropped mid-answer) is one ModelError sentence.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Iterator, Optional, Sequence

from .errors import ModelError
from .kvcache import yes_share as share_of_yes
from .settings import Settings

# The fallback count, when the server has no tokenizer endpoint: o200k tokens × 1.25, plus one per digit (Qwen
# and Llama tokenizers split numbers into single digits, o200k keeps up to three together), plus one. Measured
# against Qwen2.5's own tokenizer on the bundled article and 400 RGB news passages, whole and sentence by
# sentence: never below it (at least 1.00×), 1.35× over on average for a whole text. Over-counting only
# leaves some of the window unused; under-counting would overflow it.
ESTIMATE_RATIO = 1.25
TOKENIZERS = (("/tokenize", "content"), ("/extras/tokenize", "input"))  # llama-server, llama_cpp.server


def estimate_tokens(text: str) -> int:
    """A conservative token count for a model whose tokenizer is unknown (see ESTIMATE_RATIO).

    ``estimate_tokens('In 2018 it rained.') -> 15`` (8 o200k tokens × 1.25 = 10, 4 digits, 1); ``estimate_tokens('') -> 0``
    """
    from .chunks import count_tokens

    if not text:
        return 0
    return math.ceil(count_tokens(text) * ESTIMATE_RATIO) + sum(c.isdigit() for c in text) + 1


def yes_share(top: Sequence[tuple[str, float]]) -> float:
    """P(yes) normalised over yes/no, from (token, logprob) pairs; tokens compared stripped and lower-cased.

    ``yes_share([('Yes', log(0.6)), (' no', log(0.2)), ('Maybe', log(0.2))]) -> 0.75``;
    ``yes_share([('Maybe', 0.0)]) -> 0.5`` (neither appears).
    """
    spelled = [token.strip().lower() for token, _ in top]
    return share_of_yes([lp for _, lp in top], [i for i, t in enumerate(spelled) if t == "yes"],
                        [i for i, t in enumerate(spelled) if t == "no"])


def server_root(url: str) -> str:
    """The server's address without the OpenAI ``/v1`` suffix, where llama.cpp keeps its extra endpoints.

    ``server_root('http://gpu-box:8080/v1/') -> 'http://gpu-box:8080'``
    """
    url = url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def pick_model(wanted: Optional[str], served: Sequence[str], url: str) -> str:
    """The model to ask for: the one named (it must be served), else the server's first.

    ``pick_model(None, ['qwen'], u) -> 'qwen'``; ``pick_model('llama', ['qwen'], u)`` raises ModelError.
    """
    if not wanted:
        if not served:
            raise ModelError(f"The model server at {url} lists no models; set RAG_LLM_MODEL to the model it serves.")
        return served[0]
    if served and wanted not in served:
        raise ModelError(f"The model server at {url} does not serve '{wanted}' (it serves: {', '.join(served)}); "
                         "set RAG_LLM_MODEL to one of those.")
    return wanted


class RemoteGenerator:
    """Generation through an OpenAI-compatible server; checked at construction, so a bad URL fails at start-up.

    Safe to call from several threads at once (httpx.Client is): the server schedules its own slots.
    """

    def __init__(self, settings: Settings):
        import httpx

        self.settings = settings
        self.url = settings.llm_url.rstrip("/")
        headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
        self.http = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.llm_timeout_s))
        served = [m.get("id", "") for m in self.call("GET", "/models").json().get("data", [])]
        self.model = pick_model(settings.llm_model, served, self.url)
        self.tokenizer, self.offset = self.find_tokenizer()
        props = self.server_props()
        self.n_ctx = window_of(props) or settings.llm_n_ctx
        self.slots = int(props.get("total_slots") or 1)  # llama-server --parallel N; 1 for a server that does not say
        self.count = lru_cache(maxsize=65536)(self._count)  # passages come back question after question

    @property
    def name(self) -> str:
        return self.model

    def describe(self) -> dict:
        """Model name, server and context size, for the UI and reports."""
        return {"name": self.model, "file": f"{self.model} at {self.url}", "quantization": "", "n_ctx": self.n_ctx,
                "server": self.url, "slots": self.slots, "tokenizer": self.tokenizer or f"estimate (o200k × {ESTIMATE_RATIO} + digits + 1)"}

    def _count(self, text: str) -> int:
        """Tokens the server's model sees for text; a conservative estimate when it has no tokenizer endpoint."""
        if not text:
            return 0
        if not self.tokenizer:
            return estimate_tokens(text)
        path, field = next(t for t in TOKENIZERS if t[0] == self.tokenizer)
        tokens = self.call("POST", path, json={field: text, "model": self.model}, root=True).json()["tokens"]
        return max(len(tokens) - self.offset, 0)

    def stream(self, messages: list[dict], max_tokens: int, temperature: float,
               logprobs: Optional[list] = None) -> Iterator[str]:
        """Text pieces of the model's reply as the server streams them; when logprobs is a list, it receives
        (token text, log probability) of each token the server reports (OpenAI's ``logprobs.content``).

        Raises:
            ModelError: the server failed, timed out or closed the stream before the end of the answer.
        """
        import httpx

        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "top_p": 0.95, "seed": self.settings.seed, "stream": True, **({"logprobs": True} if logprobs is not None else {})}
        finished = False
        try:
            with self.http.stream("POST", self.url + "/chat/completions", json=body) as response:
                self.check(response)
                for payload in sse_payloads(response.iter_lines()):
                    if payload == "[DONE]":
                        finished = True
                        break
                    choice = (json.loads(payload).get("choices") or [{}])[0]
                    piece = (choice.get("delta") or {}).get("content")
                    if logprobs is not None:
                        logprobs += token_logprobs(choice)
                    finished = finished or bool(choice.get("finish_reason"))
                    if piece:
                        yield piece
        except httpx.TimeoutException:
            raise self.timeout_error() from None
        except (httpx.TransportError, json.JSONDecodeError) as exc:
            if isinstance(exc, httpx.ConnectError):
                raise self.unreachable_error() from None
            raise self.dropped_error() from None
        if not finished:
            raise self.dropped_error()

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        """The whole reply at temperature 0."""
        return "".join(self.stream(messages, max_tokens, 0.0)).strip()

    def warm(self, system: str, cache_dir=None) -> str:
        """Nothing to read ahead: the server keeps its own cache. Returns 'skipped'."""
        return "skipped"

    def yes_probability(self, messages: list[dict]) -> float:
        """P(yes), normalised over yes/no, of the first token of the reply to messages; 0.5 when neither is likely.

        From the top 10 log-probabilities the server returns for one token at temperature 0.
        """
        body = {"model": self.model, "messages": messages, "max_tokens": 1, "temperature": 0.0,
                "seed": self.settings.seed, "logprobs": True, "top_logprobs": 10}
        choice = self.call("POST", "/chat/completions", json=body).json()["choices"][0]
        content = ((choice.get("logprobs") or {}).get("content")) or [{}]
        top = content[0].get("top_logprobs") or []
        return yes_share([(t["token"], t["logprob"]) for t in top])

    # -- the wire ------------------------------------------------------------------------------
    def call(self, method: str, path: str, root: bool = False, **kwargs):
        """One request and its checked response."""
        import httpx

        try:
            response = self.http.request(method, (server_root(self.url) if root else self.url) + path, **kwargs)
        except httpx.TimeoutException:
            raise self.timeout_error() from None
        except httpx.TransportError:
            raise self.unreachable_error() from None
        self.check(response)
        return response

    def check(self, response) -> None:
        """Raise the ModelError a failed response stands for."""
        if response.status_code < 400:
            return
        detail = error_detail(response)
        if response.status_code in (401, 403):
            raise ModelError(f"The model server at {self.url} refused the API key (HTTP {response.status_code}); "
                             "set RAG_LLM_API_KEY to the key the server expects.")
        if response.status_code == 404 and "model" in detail.lower():
            raise ModelError(f"The model server at {self.url} does not serve '{self.model}' ({detail}); "
                             "set RAG_LLM_MODEL to a model it lists at /v1/models.")
        raise ModelError(f"The model server at {self.url} answered HTTP {response.status_code} ({detail}).")

    def find_tokenizer(self) -> tuple[str, int]:
        """The tokenizer endpoint this server has, and the tokens it adds to any text (a BOS); ('', 0) if none."""
        for path, field in TOKENIZERS:
            try:
                response = self.http.post(server_root(self.url) + path, json={field: "", "model": self.model})
                if response.status_code == 200 and isinstance(response.json().get("tokens"), list):
                    return path, len(response.json()["tokens"])
            except Exception:  # a transport error or an HTML 404 page: try the next
                continue
        return "", 0

    def server_props(self) -> dict:
        """llama-server's /props (its slots and their window); {} for a server without it."""
        try:
            response = self.http.get(server_root(self.url) + "/props")
            props = response.json() if response.status_code == 200 else {}
            return props if isinstance(props, dict) else {}
        except Exception:  # an OpenAI-style server has no /props
            return {}

    def unreachable_error(self) -> ModelError:
        return ModelError(f"Cannot reach the model server at {self.url}; check that it is running and that "
                          "RAG_LLM_URL is right.")

    def timeout_error(self) -> ModelError:
        return ModelError(f"The model server at {self.url} did not answer within {self.settings.llm_timeout_s:g} s "
                          "(RAG_LLM_TIMEOUT_S); it may be overloaded, try again.")

    def dropped_error(self) -> ModelError:
        return ModelError(f"The model server at {self.url} stopped in the middle of the answer; ask again, "
                          "and check the server if it happens again.")


def window_of(props: dict) -> int:
    """The context window of one slot in llama-server's /props; 0 when it does not say.

    ``window_of({'default_generation_settings': {'n_ctx': 2048}, 'total_slots': 4}) -> 2048``; ``window_of({}) -> 0``
    """
    settings = props.get("default_generation_settings") or {}
    return int(settings.get("n_ctx") or props.get("n_ctx") or 0)


def sse_payloads(lines: Iterator[str]) -> Iterator[str]:
    """The data of each server-sent event: ``list(sse_payloads(['data: {"a":1}', '', ': ping'])) -> ['{"a":1}']``."""
    for line in lines:
        if line.startswith("data:"):
            yield line[5:].strip()


def error_detail(response) -> str:
    """The server's own error message, short: OpenAI's ``{"error": {"message"}}`` or FastAPI's ``{"detail"}``."""
    try:
        response.read()  # a streamed response's body is not read yet
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        detail = error.get("message") if isinstance(error, dict) else (error or body.get("detail"))
        return str(detail)[:200]
    except Exception:
        return response.text[:200].strip() or response.reason_phrase


def token_logprobs(choice: dict) -> list[tuple[str, float]]:
    """(token, log probability) pairs of one streamed choice, in OpenAI's chat format; [] when absent.

    ``token_logprobs({'logprobs': {'content': [{'token': ' May', 'logprob': -1.2}]}}) -> [(' May', -1.2)]``
    """
    content = (choice.get("logprobs") or {}).get("content") or []
    return [(str(t.get("token", "")), float(t["logprob"])) for t in content if isinstance(t, dict) and "logprob" in t]
