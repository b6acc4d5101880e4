"""embed_documents: the same vectors as passage_embed, in the caller's order, cached per model file."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from helpers import embedding_cache
from helpers.embedding import embed_documents

TEXTS = ["a much longer text about connection pools, async handlers and timeouts " * 5,
         "short", "a medium sized text about Python", "", "another short one"]


@pytest.fixture(scope="module")
def colbert():
    import helpers
    from fastembed import LateInteractionTextEmbedding

    helpers.setup(quiet=True)
    return LateInteractionTextEmbedding(helpers.COLBERT_MODEL)


@pytest.fixture(scope="module")
def dense():
    import helpers
    from fastembed import TextEmbedding

    helpers.setup(quiet=True)
    return TextEmbedding(helpers.DENSE_MODEL)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test here gets its own empty cache folder (the project's is left alone)."""
    monkeypatch.setenv(embedding_cache.CACHE_VARIABLE, str(tmp_path / "embeddings"))
    return tmp_path / "embeddings"


def test_one_text_per_batch_is_passage_embed_exactly(colbert):
    expected = list(colbert.passage_embed(TEXTS, batch_size=1))
    got = embed_documents(colbert, TEXTS, cache=False)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_larger_batches_run_in_length_order_and_come_back_in_the_callers_order(colbert):
    order = sorted(range(len(TEXTS)), key=lambda i: len(TEXTS[i]))
    in_length_order = list(colbert.passage_embed([TEXTS[i] for i in order], batch_size=2))
    expected = [in_length_order[order.index(i)] for i in range(len(TEXTS))]
    got = embed_documents(colbert, TEXTS, batch_size=2, cache=False)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("which", ["colbert", "dense"])
def test_cached_results_are_the_computed_ones_bit_for_bit(which, request, private_cache):
    model = request.getfixturevalue(which)
    first = embed_documents(model, TEXTS)
    again = embed_documents(model, TEXTS)
    fresh = list(model.passage_embed(TEXTS, batch_size=1))
    assert len(list(private_cache.glob("*.npy"))) == 1
    for a, b, f in zip(first, again, fresh):
        assert a.dtype == b.dtype == f.dtype == np.float32
        assert a.shape == b.shape == f.shape
        np.testing.assert_array_equal(a, f)
        np.testing.assert_array_equal(b, f)


def test_the_key_holds_the_sha256_of_the_onnx_file_fastembed_loaded(colbert):
    inner = colbert.model
    loaded = Path(inner._model_dir) / inner.model_description.model_file
    identity = embedding_cache.model_identity(colbert)
    assert identity["files"][inner.model_description.model_file] == hashlib.sha256(loaded.read_bytes()).hexdigest()
    assert identity["model"] == colbert.model_name
    assert "tokenizer.json" in identity["files"]


@pytest.mark.parametrize("texts, batch_size, message", [("one string", 2, "single string"),
                                                        (["ok", 3], 2, "list of strings"),
                                                        (["ok"], 0, "batch_size")])
def test_bad_input(colbert, texts, batch_size, message):
    with pytest.raises(ValueError, match=message):
        embed_documents(colbert, texts, batch_size=batch_size)
