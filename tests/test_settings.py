"""One settings object: environment, overrides, bounds and typos."""
import pytest

from rag.errors import SettingsError
from rag.settings import Settings, env_names


def test_environment_and_overrides(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "6")
    monkeypatch.setenv("RAG_TEMPERATURE", "0.3")
    settings = Settings.load(top_k=None, max_tokens=100)
    assert (settings.top_k, settings.temperature, settings.max_tokens) == (6, 0.3, 100)
    assert Settings.load(top_k=2).top_k == 2


def test_unknown_environment_variable_is_rejected(monkeypatch):
    monkeypatch.setenv("RAG_TOPK", "3")
    with pytest.raises(SettingsError, match="Unknown setting RAG_TOPK"):
        Settings.load()


@pytest.mark.parametrize("key, value, message", [
    ("top_k", 0, "top_k"),
    ("temperature", 5, "temperature"),
    ("retrieval", "magic", "retrieval"),
    ("n_ctx", 100, "n_ctx"),
])
def test_out_of_bounds_values_name_their_setting(key, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.load(**{key: value})


def test_unknown_override_is_rejected():
    with pytest.raises(SettingsError, match="Unknown setting 'colour'"):
        Settings.load(colour="red")


def test_every_field_is_documented():
    assert all(info.description for info in Settings.model_fields.values())
    assert "RAG_HOME" in env_names() and "RAG_CHROMA_HOST" in env_names()


def test_defaults_are_laptop_friendly(isolated_env):
    settings = Settings.load()
    assert settings.host == "127.0.0.1" and settings.n_ctx >= 2048 and settings.temperature == 0.0
    assert settings.index_dir == isolated_env / "home" / "index"
