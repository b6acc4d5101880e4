"""The offline profile's Qdrant/bm25 files: NLTK's English stop words from bm25s, checked against
Qdrant's own engine (qdrant-edge-py's built-in BM25)."""

import re
import textwrap

import pytest

import helpers
from helpers import standins
from helpers.corpus import load_passages


@pytest.fixture(scope="module")
def bm25_models():
    helpers.setup(quiet=True)
    from fastembed import SparseTextEmbedding
    from qdrant_edge import Bm25, Bm25Config

    return SparseTextEmbedding(standins.BM25_MODEL), Bm25(Bm25Config(language="english"))


def test_offline_bm25_loads_nltks_179_english_stop_words(bm25_models):
    fastembed_bm25, _ = bm25_models
    words = standins.bm25_stopwords()
    assert len(words) == len(set(words)) == 179
    assert {"the", "and", "wouldn't", "ourselves"} <= set(words)
    assert fastembed_bm25.model.stopwords == set(words)


def test_qdrants_engine_drops_every_one_of_them(bm25_models):
    fastembed_bm25, engine = bm25_models
    for word in standins.bm25_stopwords():
        assert len(engine.embed_query(word).indices) == 0, word
        assert len(next(fastembed_bm25.query_embed(word)).indices) == 0, word


def test_fastembed_and_the_engine_drop_the_same_corpus_words(bm25_models):
    fastembed_bm25, engine = bm25_models
    words = sorted({w for p in load_passages() for w in re.findall(r"[a-z]+", p.text.lower())})
    dropped_by_engine = {w for w in words if len(engine.embed_query(w).indices) == 0}
    dropped_by_fastembed = {w for w in words if len(next(fastembed_bm25.query_embed(w)).indices) == 0}
    assert dropped_by_engine == dropped_by_fastembed
    assert 100 < len(dropped_by_engine) < 179  # the corpus uses most of the list, not all of it


def test_content_words_are_kept_and_stemmed(bm25_models):
    fastembed_bm25, _ = bm25_models
    one = next(fastembed_bm25.query_embed("compressing"))
    other = next(fastembed_bm25.query_embed("compressed"))
    assert len(one.indices) == 1 and one.indices.tolist() == other.indices.tolist()


def test_a_changed_stop_word_file_is_an_error_naming_the_fix(tmp_path, monkeypatch):
    package = tmp_path / "bm25s"
    package.mkdir()
    (package / "stopwords.py").write_text(textwrap.dedent("""\
        STOPWORDS_EN_PLUS = ("a", "the")
    """))
    spec = type("Spec", (), {"submodule_search_locations": [str(package)]})()
    monkeypatch.setattr(standins.importlib.util, "find_spec", lambda name: spec if name == "bm25s" else None)
    with pytest.raises(standins.StandInFileError, match=r"stopwords\.py.*\n.*pip install --force-reinstall --no-deps bm25s"):
        standins.bm25_stopwords()


def test_missing_bm25s_names_the_install_command(monkeypatch):
    monkeypatch.setattr(standins.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(standins.StandInPackageMissing, match="bm25s"):
        standins.bm25_stopwords()


def test_the_label_says_the_files_were_rebuilt():
    helpers.setup(quiet=True)
    assert helpers.label("bm25") == standins.BM25_LABEL
    assert "rebuilt" in helpers.label("bm25")
