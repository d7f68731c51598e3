"""The model's cached state: the static prompt prefix kept across questions and restarts, and scoring the
next token of a prompt by reading only its new tail.

llama.cpp keeps the key/value state of the tokens it has read; llama-cpp-python reuses the longest common
token prefix of the next prompt. The static system prompt is read once (and saved to disk); a yes/no
question asked after the answer prompt's sources re-reads only its last line, and the answer after it
only its own.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

YES = ("Yes", "yes", " yes", " Yes", "YES")
NO = ("No", "no", " no", " No", "NO")


def read_static_prefix(llm, system: str) -> None:
    """Leave the static prefix (system prompt, user turn's opening) in the model's KV cache.

    The few tokens after it are dropped by the next call, which only reads past the common prefix.
    """
    llm.create_chat_completion(messages=[{"role": "system", "content": system}, {"role": "user", "content": "."}],
                               max_tokens=1, temperature=0.0)


def save_prompt_state(llm, path: Path) -> None:
    """Write the model's cached prompt state (tokens and llama.cpp state, not the logits table); best effort."""
    import numpy as np

    try:
        state = llm.save_state()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as handle:
            np.savez(handle, input_ids=state.input_ids[:state.n_tokens],
                     llama_state=np.frombuffer(state.llama_state, dtype=np.uint8))
        os.replace(partial, path)
    except (OSError, RuntimeError, ValueError):
        pass  # a read-only or full disk only costs the next start-up a few seconds


def load_prompt_state(llm, path: Path, seed: int) -> bool:
    """Restore a state written by save_prompt_state; False (and the file removed) when it does not fit."""
    import numpy as np

    try:
        with np.load(path) as data:
            ids, raw = data["input_ids"], data["llama_state"].tobytes()
        restore_prompt_state(llm, (ids, raw), seed)
        return True
    except Exception:  # truncated file, another build's layout: read the prompt instead
        llm.reset()
        path.unlink(missing_ok=True)
        return False


def prompt_snapshot(llm) -> tuple:
    """(tokens, llama.cpp state) of the prompt in the model's cache, without llama-cpp-python's logits table
    (``save_state`` also copies the logits of every cached token, 600 KB each with Qwen's 151,936-token vocabulary)."""
    import ctypes

    import llama_cpp

    size = int(llama_cpp.llama_state_get_size(llm._ctx.ctx))
    buffer = (ctypes.c_uint8 * size)()
    used = int(llama_cpp.llama_state_get_data(llm._ctx.ctx, buffer, size))
    return list(llm.input_ids[:llm.n_tokens]), ctypes.string_at(buffer, used)


def restore_prompt_state(llm, snapshot: tuple, seed: int) -> None:
    """Put a prompt_snapshot (or a saved state) back into the model's cache; the next call reads past it."""
    import numpy as np
    from llama_cpp import LlamaState

    ids, raw = snapshot
    input_ids = np.zeros(llm.n_ctx(), dtype=np.intc)
    input_ids[:len(ids)] = ids
    # One row of zero logits: sampling never reads them, because generation re-reads the last prompt token.
    llm.load_state(LlamaState(input_ids=input_ids, scores=np.zeros((1, llm.n_vocab()), dtype=np.single),
                              n_tokens=len(ids), llama_state=raw, llama_state_size=len(raw), seed=seed))


class _Prompt(Exception):
    """Carries the prompt a chat handler built, instead of generating from it."""


def chat_prompt_tokens(llm, messages: list[dict]) -> list[int]:
    """Exactly the prompt tokens ``llm.create_chat_completion(messages)`` would read, in the GGUF's chat format:
    its chat handler runs against a stand-in whose create_completion hands the prompt back."""
    from llama_cpp import llama_chat_format

    handler = (llm.chat_handler or llm._chat_handlers.get(llm.chat_format)
               or llama_chat_format.get_chat_completion_handler(llm.chat_format))

    class Capture:
        def __getattr__(self, name):
            return getattr(llm, name)

        def create_completion(self, prompt, **kwargs):
            raise _Prompt(prompt)

    try:
        handler(llama=Capture(), messages=messages)
    except _Prompt as got:
        prompt = got.args[0]
        return list(prompt) if not isinstance(prompt, str) else llm.tokenize(prompt.encode("utf-8"), add_bos=False,
                                                                             special=True)
    raise RuntimeError("The chat handler did not build a prompt.")


def read_tail(llm, tokens: Sequence[int]):
    """Read tokens past the longest prefix already cached; the next-token logits after them (a copy).

    The model's token record stays consistent, so the next create_chat_completion reuses the shared prefix.
    """
    import numpy as np

    tokens = list(tokens)
    cached = llm.input_ids[:llm.n_tokens]
    n, limit = 0, min(len(cached), len(tokens) - 1)  # re-read at least one token, so its logits are fresh
    while n < limit and cached[n] == tokens[n]:
        n += 1
    llm.n_tokens = n  # Llama.eval drops the cached state past n_tokens before it reads
    llm.eval(tokens[n:])
    if hasattr(llm, "_requires_eval"):
        llm._requires_eval = True  # a later identical prompt must not reuse these logits for sampling
    return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).copy()


def single_token_ids(llm, spellings: Sequence[str]) -> list[int]:
    """The ids of the spellings that are one token each for this model."""
    ids = {tokens[0] for tokens in (llm.tokenize(s.encode("utf-8"), add_bos=False, special=False) for s in spellings)
           if len(tokens) == 1}
    return sorted(ids)


def yes_share(logits, yes: Sequence[int], no: Sequence[int]) -> float:
    """P(yes) / (P(yes) + P(no)) from next-token logits; 0.5 when neither has any mass.

    ``yes_share([2.0, 0.0, -9.0], [0], [1]) -> 0.881``
    """
    top = max(logits[i] for i in (*yes, *no)) if yes or no else 0.0
    p_yes = sum(math.exp(logits[i] - top) for i in yes)
    p_no = sum(math.exp(logits[i] - top) for i in no)
    return round(p_yes / (p_yes + p_no), 3) if p_yes + p_no > 0 else 0.5


def yes_probability(llm, messages: list[dict]) -> float:
    """P(yes) over yes/no for the first token of the model's reply to messages, reusing the cached prefix."""
    logits = read_tail(llm, chat_prompt_tokens(llm, messages)).astype("float64")
    return yes_share(logits, single_token_ids(llm, YES), single_token_ids(llm, NO))


def record_sampled_logprobs(llm) -> None:
    """Make ``llm.sample`` also append (token, log P(token)) to ``llm.rag_logprobs`` whenever that is a list.

    The probability comes from the context's logits row the token was sampled from, so ``logits_all`` (a
    2.5 GB table for this window) stays off; the log-softmax costs about 0.5 ms a token. Installed once.
    """
    if getattr(llm, "rag_logprobs_hooked", False):
        return
    import numpy as np

    sample, n_vocab = llm.sample, llm.n_vocab()

    def sample_and_record(*args, **kwargs):
        token = sample(*args, **kwargs)
        sink = getattr(llm, "rag_logprobs", None)
        if sink is not None:
            idx = kwargs.get("idx")
            row = np.ctypeslib.as_array(llm._ctx.get_logits_ith(idx - llm.n_tokens if idx is not None else -1),
                                        shape=(n_vocab,))
            top = row.max()
            sink.append((int(token), float(row[token] - top - np.log(np.exp(row - top).sum()))))
        return token

    llm.sample = sample_and_record
    llm.rag_logprobs = None
    llm.rag_logprobs_hooked = True
