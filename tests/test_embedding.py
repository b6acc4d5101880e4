"""embed_documents: the same vectors as passage_embed, in the caller's order."""

import numpy as np
import pytest

from helpers.embedding import embed_documents

TEXTS = ["a much longer text about connection pools, async handlers and timeouts " * 5,
         "short", "a medium sized text about Python", "", "another short one"]


@pytest.fixture(scope="module")
def colbert():
    import helpers
    from fastembed import LateInteractionTextEmbedding

    helpers.setup(quiet=True)
    return LateInteractionTextEmbedding(helpers.COLBERT_MODEL)


def test_same_vectors_same_order_as_passage_embed(colbert):
    expected = list(colbert.passage_embed(TEXTS, batch_size=2))
    got = embed_documents(colbert, TEXTS, batch_size=2)
    assert [g.shape for g in got] == [e.shape for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=1e-5)


@pytest.mark.parametrize("texts, batch_size, message", [("one string", 2, "single string"),
                                                        (["ok", 3], 2, "list of strings"),
                                                        (["ok"], 0, "batch_size")])
def test_bad_input(colbert, texts, batch_size, message):
    with pytest.raises(ValueError, match=message):
        embed_documents(colbert, texts, batch_size=batch_size)
