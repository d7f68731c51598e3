"""Model files: the bundled default is joined and checked; bad model files fail with a clear sentence."""
import hashlib
from dataclasses import replace

import pytest

from rag.errors import ModelError
from rag.generation import load_llama
from rag.models import DEFAULT_MODEL, is_verified, part_bytes, prepare_default_model, resolve_model, stamp_path
from rag.settings import Settings


def small_spec():
    """The first two parts of the default model, as a stand-in bundle small enough to join quickly."""
    data = part_bytes(DEFAULT_MODEL, 1) + part_bytes(DEFAULT_MODEL, 2)
    return replace(DEFAULT_MODEL, file_name="two-parts.bin", parts=2, size=len(data),
                   sha256=hashlib.sha256(data).hexdigest())


def test_parts_are_joined_verified_and_stamped(tmp_path):
    spec = small_spec()
    path = prepare_default_model(tmp_path / "m", spec)
    assert path.stat().st_size == spec.size and is_verified(path, spec)
    assert path.read_bytes()[:4] == b"GGUF"
    stamp_before = stamp_path(path).read_text()
    assert prepare_default_model(tmp_path / "m", spec) == path and stamp_path(path).read_text() == stamp_before


def test_a_damaged_prepared_file_is_prepared_again(tmp_path):
    spec = small_spec()
    path = prepare_default_model(tmp_path / "m", spec)
    with open(path, "r+b") as handle:
        handle.truncate(1000)
    assert not is_verified(path, spec)
    assert prepare_default_model(tmp_path / "m", spec).stat().st_size == spec.size


def test_checksum_mismatch_is_refused_and_leaves_nothing(tmp_path):
    spec = replace(small_spec(), sha256="0" * 64)
    with pytest.raises(ModelError, match="fail their checksum"):
        prepare_default_model(tmp_path / "m", spec)
    assert list((tmp_path / "m").iterdir()) == []


def test_missing_part_package_names_the_fix(tmp_path):
    spec = replace(small_spec(), package_prefix="no_such_model_part")
    with pytest.raises(ModelError, match="not installed"):
        prepare_default_model(tmp_path / "m", spec)


def test_the_default_model_is_the_verified_bundle(model_path):
    assert model_path.name == DEFAULT_MODEL.file_name
    assert is_verified(model_path, DEFAULT_MODEL)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="Model file not found"):
        resolve_model(Settings.load(model=tmp_path / "nope.gguf"))


def test_not_a_gguf(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model(Settings.load(model=fake))


def test_truncated_gguf_fails_to_load_with_advice(tmp_path, model_path):
    truncated = tmp_path / "truncated.gguf"
    with open(model_path, "rb") as src:
        truncated.write_bytes(src.read(20_000_000))
    assert resolve_model(Settings.load(model=truncated)) == truncated  # the header looks fine…
    with pytest.raises(ModelError, match="truncated or corrupt"):
        load_llama(Settings.load(model=truncated), truncated)  # …but loading says what to do
