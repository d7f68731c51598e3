"""One settings object: environment, overrides, bounds and typos."""
import json
import subprocess
import sys

import pytest

from rag.errors import SettingsError
from rag.settings import Settings, bounds_of, env_names, settings_rows


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


def test_every_setting_is_listed_with_its_bounds_and_secrets_are_hidden():
    rows = {row["variable"]: row for row in settings_rows(Settings(password="hunter22", top_k=6))}
    assert set(rows) == set(env_names())
    assert rows["RAG_TOP_K"]["value"] == 6 and rows["RAG_TOP_K"]["default"] == 4
    assert rows["RAG_TOP_K"]["bounds"] == "1 ≤ value ≤ 20"
    assert rows["RAG_RETRIEVAL"]["bounds"] == "one of hybrid, dense, bm25"
    assert rows["RAG_PASSWORD"]["value"] == "(set)" and "hunter22" not in str(rows)
    assert bounds_of(Settings.model_fields["max_upload_mb"]) == "0 < value ≤ 2048"


def test_rag_settings_prints_every_setting():
    out = subprocess.run([sys.executable, "-m", "rag", "settings", "--json"], capture_output=True, text=True,
                         check=True).stdout
    assert {row["variable"] for row in json.loads(out)} == set(env_names())
