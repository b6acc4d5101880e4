"""helpers.pool_tokens: shapes, unit rows, determinism, which tokens merge, and bad input."""

import numpy as np
import pytest

from helpers.pooling import pool_tokens, token_clusters


def unit_rows(n, dim=8, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("n", [1, 2, 5, 17, 40])
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_shape_is_ceil_n_over_factor_and_rows_are_unit_length(n, factor):
    pooled = pool_tokens(unit_rows(n), factor)
    assert pooled.shape == (-(-n // factor), 8)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, rtol=1e-5)


def test_factor_one_returns_the_input_unchanged():
    x = unit_rows(9)
    assert pool_tokens(x, 1) is x


def test_deterministic():
    x = unit_rows(30, seed=3)
    np.testing.assert_array_equal(pool_tokens(x, 3), pool_tokens(x, 3))


def test_near_duplicates_merge_and_the_pooled_vector_is_their_normalised_mean():
    a, b = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]
    near_a = np.array([0.99, 0.14, 0, 0], dtype=np.float32)
    near_a /= np.linalg.norm(near_a)
    x = np.stack([a, b, near_a, np.eye(4, dtype=np.float32)[2]])
    clusters = token_clusters(x, 2)  # 4 tokens -> 2 clusters
    assert [c.tolist() for c in clusters][0] == [0, 2]  # a and near_a together, first in output order
    expected = (a + near_a) / np.linalg.norm(a + near_a)
    np.testing.assert_allclose(pool_tokens(x, 2)[0], expected, rtol=1e-6)


def test_every_token_is_in_exactly_one_cluster():
    clusters = token_clusters(unit_rows(23), 4)
    assert sorted(np.concatenate(clusters).tolist()) == list(range(23))


@pytest.mark.parametrize("matrix, factor, message", [
    (np.ones((3, 4)), 0, "at least 1"),
    (np.ones((3, 4)), 1.5, "integer"),
    (np.ones((0, 4)), 2, "no rows"),
    (np.ones(4), 2, "2-D"),
])
def test_bad_input_raises_value_error(matrix, factor, message):
    with pytest.raises(ValueError, match=message):
        pool_tokens(matrix, factor)


def test_identical_vectors_still_give_the_promised_count():
    x = np.repeat(unit_rows(2), 5, axis=0)  # 10 rows, only 2 distinct
    assert pool_tokens(x, 2).shape == (5, 8)


def test_pooled_documents_are_pool_tokens_per_passage_and_cached(tmp_path, monkeypatch):
    import helpers
    from fastembed import LateInteractionTextEmbedding

    from helpers.corpus import load_passages
    from helpers.pooling import pooled_documents

    helpers.setup(quiet=True)
    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    model = LateInteractionTextEmbedding(helpers.COLBERT_MODEL)
    texts = [p.text for p in load_passages(6)]
    vectors = helpers.embed_documents(model, texts)
    pooled = pooled_documents(model, texts, vectors, 2)
    for mine, matrix in zip(pooled, vectors):
        np.testing.assert_array_equal(mine, pool_tokens(matrix, 2))
    stored = list(tmp_path.iterdir())
    assert stored
    again = pooled_documents(model, texts, vectors, 2)
    assert all(np.array_equal(a, b) for a, b in zip(again, pooled))
    assert sorted(tmp_path.iterdir()) == sorted(stored)  # read back, nothing new written
    assert pooled_documents(model, texts, vectors, 1) == list(vectors)
    with pytest.raises(ValueError, match="6 texts but 5 ColBERT matrices"):
        pooled_documents(model, texts, vectors[:5], 2)
