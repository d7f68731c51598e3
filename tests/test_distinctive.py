"""Distinctive words: common in the language (wordfreq) or in the collection (its chunks' document frequencies)."""
import pytest

from rag.distinctive import MIN_PASSAGES, SHARE_COMMON, document_frequencies, in_collection, in_language, zipf


@pytest.mark.parametrize("word, common", [
    ("Ceremony", True), ("Awards", True), ("Report", True), ("Institute", True), ("project", True),
    ("Marlow", False), ("Altman", False), ("DeepSeek", False), ("Nvidia", False), ("Brightwater", False),
])
def test_common_in_the_language_comes_from_the_wordlist(word, common):
    assert in_language(word) is common


def test_zipf_is_zero_for_a_word_english_does_not_have_and_the_lists_ship_offline():
    assert zipf("corvane") == 0.0 and zipf("the") > 7  # read from the installed wheel: the tests run offline


def test_document_frequencies_count_each_text_once():
    assert document_frequencies([["a", "b", "a"], ["b"], []]) == ({"a": 1, "b": 2}, 3)


def test_a_word_in_a_fifth_of_the_passages_is_common_in_the_collection():
    passages = 100
    common = in_collection({"altman": int(SHARE_COMMON * passages), "marlow": 1}, passages)
    assert common("Altman") and not common("Marlow") and common("ceremony")


def test_a_small_collection_says_nothing_about_commonness():
    tiny = in_collection({"altman": 3}, MIN_PASSAGES - 1)  # one short article: every word is in many of its chunks
    assert not tiny("Altman") and tiny("Awards")
