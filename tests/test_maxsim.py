"""helpers.maxsim against a plain double loop and Qdrant local mode, and its input checks."""

import warnings

import numpy as np
import pytest

from helpers.maxsim import (
    MaxSimExplanation,
    PackedDocuments,
    explain_maxsim,
    maxsim,
    maxsim_scores,
    maxsim_scores_batch,
    pack_documents,
)

# (n_query_tokens, n_doc_tokens, dim)
SHAPES = [
    (1, 1, 2),
    (3, 1, 5),
    (1, 7, 3),
    (4, 2, 2),
    (32, 1, 128),
    (32, 300, 128),
    (5, 17, 256),
    (8, 300, 2),
    (2, 64, 64),
    (11, 129, 33),
]
DTYPES = [np.float32, np.float64]


def rtol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-10


def reference_maxsim(query, doc):
    """The definition, token pair by token pair, in float64: (score, best rows, contributions)."""
    best_rows, contributions = [], []
    for q in np.asarray(query, dtype=np.float64):
        best_row, best = 0, float(np.dot(q, doc[0]))
        for j, d in enumerate(np.asarray(doc, dtype=np.float64)):
            similarity = float(np.dot(q, d))
            if similarity > best:
                best_row, best = j, similarity
        best_rows.append(best_row)
        contributions.append(best)
    return sum(contributions), best_rows, contributions


def random_matrix(rng, n, dim, dtype=np.float32, normalise=False):
    matrix = rng.standard_normal((n, dim)).astype(dtype)
    if normalise:
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def random_documents(rng, n_docs, dim, dtype, max_len=300):
    return [random_matrix(rng, int(n), dim, dtype) for n in rng.integers(1, max_len + 1, n_docs)]


# --------------------------------------------------------------------------------------------
# Agreement with the definition


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_maxsim_and_explain_match_the_double_loop(shape, dtype):
    n_query, n_doc, dim = shape
    rng = np.random.default_rng(sum(shape))
    query, doc = random_matrix(rng, n_query, dim, dtype), random_matrix(rng, n_doc, dim, dtype)
    expected, best_rows, contributions = reference_maxsim(query, doc)

    score = maxsim(query, doc)
    assert isinstance(score, float)
    assert score == pytest.approx(expected, rel=rtol(dtype), abs=rtol(dtype))

    explanation = explain_maxsim(query, doc)
    assert isinstance(explanation, MaxSimExplanation)
    assert explanation.best_doc_rows.shape == explanation.contributions.shape == (n_query,)
    np.testing.assert_array_equal(explanation.best_doc_rows, best_rows)
    np.testing.assert_allclose(
        explanation.contributions, contributions, rtol=rtol(dtype), atol=rtol(dtype)
    )
    assert explanation.contributions.sum() == pytest.approx(score, rel=rtol(dtype), abs=rtol(dtype))
    assert explanation.score == pytest.approx(score, rel=rtol(dtype), abs=rtol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_query, dim", [(1, 2), (4, 3), (32, 128), (7, 256), (3, 17)])
def test_maxsim_scores_match_the_double_loop(n_query, dim, dtype):
    rng = np.random.default_rng(1000 * n_query + dim)
    query = random_matrix(rng, n_query, dim, dtype)
    documents = random_documents(rng, 40, dim, dtype)
    expected = [reference_maxsim(query, doc)[0] for doc in documents]

    from_list = maxsim_scores(query, documents)
    assert from_list.shape == (len(documents),)
    assert from_list.dtype == dtype
    np.testing.assert_allclose(from_list, expected, rtol=rtol(dtype), atol=rtol(dtype))
    # Packed once, with the default blocks and with tiny ones (many blocks per length).
    for block_rows in (8192, 1, 5, 64):
        packed = pack_documents(documents, block_rows=block_rows)
        assert isinstance(packed, PackedDocuments)
        np.testing.assert_allclose(
            maxsim_scores(query, packed), expected, rtol=rtol(dtype), atol=rtol(dtype)
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [1, 3, 8, 50])
def test_maxsim_scores_batch_equals_one_query_at_a_time(batch_size, dtype):
    rng = np.random.default_rng(batch_size)
    queries = [random_matrix(rng, n, 16, dtype) for n in (32, 32, 5, 1, 32, 7, 32)]  # lengths may differ
    documents = random_documents(rng, 30, 16, dtype)
    for docs in (documents, pack_documents(documents, block_rows=5)):
        got = maxsim_scores_batch(queries, docs, batch_size=batch_size)
        assert got.shape == (len(queries), len(documents)) and got.dtype == dtype
        for q, row in zip(queries, got):
            np.testing.assert_allclose(row, maxsim_scores(q, docs), rtol=rtol(dtype), atol=rtol(dtype))


@pytest.mark.parametrize("queries, batch_size, message", [
    ([], 8, "query list is empty"),
    ([np.ones((2, 4))], 0, "batch_size must be a whole number of at least 1"),
    ([np.ones((2, 4))], 2.5, "batch_size must be"),
    ([np.ones((2, 4)), np.ones((2, 3))], 8, "query 1 has dim 3 but the documents have dim 4"),
    ([np.ones((2, 4)), np.ones(4)], 8, "query 1"),
    ([np.full((2, 4), np.nan)], 8, "query 0"),
])
def test_maxsim_scores_batch_rejects_bad_input(queries, batch_size, message):
    with pytest.raises(ValueError, match=message):
        maxsim_scores_batch(queries, [np.ones((3, 4))], batch_size=batch_size)


def test_maxsim_scores_agree_with_maxsim_on_one_document_each():
    rng = np.random.default_rng(7)
    query = random_matrix(rng, 32, 128)
    documents = random_documents(rng, 200, 128, np.float32)
    expected = [maxsim(query, doc) for doc in documents]
    np.testing.assert_allclose(maxsim_scores(query, pack_documents(documents)), expected, rtol=1e-5)


def test_ties_pick_the_first_document_row():
    query = np.array([[1.0, 0.0], [0.0, 1.0]])
    doc = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    explanation = explain_maxsim(query, doc)
    assert explanation.best_doc_rows.tolist() == [1, 0]
    assert explanation.contributions.tolist() == [1.0, 1.0]
    assert explanation.score == 2.0


def test_maxsim_is_not_symmetric():
    query = np.array([[1.0, 0.0], [0.0, 1.0]])
    doc = np.array([[1.0, 1.0]])
    # each query row finds the document row: 1 + 1; the document row finds one query row: 1
    assert maxsim(query, doc) == 2.0
    assert maxsim(doc, query) == 1.0


def test_every_query_row_counts_duplicates_included():
    # ColBERT's [MASK] rows are extra query rows; a repeated row counts again.
    rng = np.random.default_rng(3)
    query, doc = random_matrix(rng, 4, 8, np.float64), random_matrix(rng, 6, 8, np.float64)
    doubled = np.vstack([query, query[:1]])
    assert maxsim(doubled, doc) == pytest.approx(
        maxsim(query, doc) + explain_maxsim(query, doc).contributions[0]
    )


def test_mixed_precision_computes_in_float64():
    rng = np.random.default_rng(5)
    query = random_matrix(rng, 3, 16, np.float64)
    docs32 = [random_matrix(rng, n, 16, np.float32) for n in (2, 9)]
    docs_mixed = [docs32[0], docs32[1].astype(np.float64)]
    assert pack_documents(docs32).vectors.dtype == np.float32
    assert pack_documents(docs_mixed).vectors.dtype == np.float64
    assert maxsim_scores(query, docs_mixed).dtype == np.float64
    # integer matrices are accepted too
    assert maxsim(np.array([[1, 2]]), np.array([[3, 4], [0, 1]])) == 11.0


# --------------------------------------------------------------------------------------------
# Packing: short documents, blocks, the layout


@pytest.mark.parametrize(
    "lengths",
    [[1], [1, 1, 1], [1, 5, 1, 3, 300, 1, 2, 2], [300, 1], [2, 1], [1, 2, 3, 4, 5, 6, 7, 8]],
)
def test_single_row_and_uneven_documents(lengths):
    rng = np.random.default_rng(len(lengths))
    query = random_matrix(rng, 6, 12, np.float64)
    documents = [random_matrix(rng, n, 12, np.float64) for n in lengths]
    expected = [reference_maxsim(query, doc)[0] for doc in documents]
    for block_rows in (1, 2, 8192):
        packed = pack_documents(documents, block_rows=block_rows)
        np.testing.assert_allclose(maxsim_scores(query, packed), expected, rtol=1e-10)
    np.testing.assert_allclose(maxsim_scores(query, documents), expected, rtol=1e-10)


def test_a_single_row_document_scores_the_sum_of_dot_products():
    query = np.array([[1.0, 2.0], [3.0, -1.0]])
    doc = np.array([[0.5, 0.25]])
    assert maxsim(query, doc) == pytest.approx(1.0 + 1.25)
    assert maxsim_scores(query, [doc, doc]).tolist() == pytest.approx([2.25, 2.25])


def test_packed_documents_keep_every_document():
    rng = np.random.default_rng(11)
    documents = random_documents(rng, 50, 8, np.float32, max_len=20)
    packed = pack_documents(documents, block_rows=16)
    assert packed.n_documents == 50 and packed.dim == 8
    assert packed.vectors.shape == (sum(len(d) for d in documents), 8)
    assert packed.vectors.flags.c_contiguous and not packed.vectors.flags.writeable
    assert packed.lengths.tolist() == [len(d) for d in documents]
    for i, doc in enumerate(documents):
        np.testing.assert_array_equal(packed.document(i), doc)
    covered = sorted(i for block in packed.blocks for i in block.doc_ids.tolist())
    assert covered == list(range(50))
    with pytest.raises(IndexError):
        packed.document(50)


def test_a_3d_array_holds_documents_of_one_length():
    rng = np.random.default_rng(13)
    query, documents = random_matrix(rng, 5, 6), rng.standard_normal((4, 3, 6)).astype(np.float32)
    np.testing.assert_allclose(
        maxsim_scores(query, documents), [maxsim(query, d) for d in documents], rtol=1e-5
    )


def test_packed_documents_are_reusable_across_queries():
    rng = np.random.default_rng(12)
    documents = random_documents(rng, 30, 16, np.float32, max_len=40)
    packed = pack_documents(documents)
    for _ in range(3):
        query = random_matrix(rng, int(rng.integers(1, 40)), 16)
        np.testing.assert_allclose(
            maxsim_scores(query, packed), [maxsim(query, d) for d in documents], rtol=1e-5
        )


# --------------------------------------------------------------------------------------------
# Qdrant local mode


def test_agrees_with_qdrant_local_mode():
    from qdrant_client import QdrantClient, models

    rng = np.random.default_rng(2024)
    dim, n_docs = 32, 120
    documents = [
        random_matrix(rng, int(n), dim, normalise=True) for n in rng.integers(1, 60, n_docs)
    ]
    query = random_matrix(rng, 12, dim, normalise=True)
    expected = maxsim_scores(query, pack_documents(documents))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = QdrantClient(":memory:")
        try:
            client.create_collection(
                "maxsim",
                vectors_config=models.VectorParams(
                    size=dim,
                    distance=models.Distance.DOT,
                    multivector_config=models.MultiVectorConfig(
                        comparator=models.MultiVectorComparator.MAX_SIM
                    ),
                ),
            )
            client.upsert(
                "maxsim",
                points=[
                    models.PointStruct(id=i, vector=doc.tolist()) for i, doc in enumerate(documents)
                ],
            )
            hits = client.query_points("maxsim", query=query.tolist(), limit=n_docs).points
        finally:
            client.close()

    assert len(hits) == n_docs
    ids = [hit.id for hit in hits]
    np.testing.assert_allclose([hit.score for hit in hits], expected[ids], rtol=1e-4, atol=1e-5)
    assert ids == np.argsort(-expected, kind="stable").tolist()


# --------------------------------------------------------------------------------------------
# Bad input


GOOD = np.ones((3, 4))

BAD_MATRICES = [
    (np.ones(4), "2-D.*1-D"),
    (np.ones((2, 3, 4)), "2-D.*3-D"),
    (np.ones((0, 4)), "empty.*0 rows"),
    (np.ones((3, 0)), "empty.*0 dimensions"),
    (np.array([[1.0, np.nan, 0.0, 0.0]]), "NaN or infinite"),
    (np.array([[1.0, np.inf, 0.0, 0.0]]), "NaN or infinite"),
    (np.array([["a", "b", "c", "d"]]), "real numbers"),
]


@pytest.mark.parametrize("function", [maxsim, explain_maxsim])
@pytest.mark.parametrize("bad, message", BAD_MATRICES)
def test_bad_query_or_document_matrix(function, bad, message):
    with pytest.raises(ValueError, match="query matrix.*" + message):
        function(bad, GOOD)
    with pytest.raises(ValueError, match="document matrix.*" + message):
        function(GOOD, bad)


@pytest.mark.parametrize("bad, message", BAD_MATRICES)
def test_bad_query_for_maxsim_scores(bad, message):
    with pytest.raises(ValueError, match="query matrix.*" + message):
        maxsim_scores(bad, [GOOD])
    with pytest.raises(ValueError, match="query matrix.*" + message):
        maxsim_scores(bad, pack_documents([GOOD]))


@pytest.mark.parametrize("bad, message", BAD_MATRICES)
def test_bad_document_in_a_list_is_named(bad, message):
    documents = [GOOD, GOOD * 2, bad, GOOD]
    with pytest.raises(ValueError, match="document 2 .*" + message):
        pack_documents(documents)
    with pytest.raises(ValueError, match="document 2 .*" + message):
        maxsim_scores(GOOD, documents)


@pytest.mark.parametrize("function", [maxsim, explain_maxsim])
def test_dimension_mismatch_names_both_dims(function):
    with pytest.raises(ValueError, match="dimension mismatch.*dim 4.*dim 5"):
        function(np.ones((2, 4)), np.ones((3, 5)))


def test_dimension_mismatch_in_documents():
    with pytest.raises(ValueError, match="dimension mismatch.*dim 4.*dim 5"):
        maxsim_scores(np.ones((2, 4)), [np.ones((3, 5))])
    with pytest.raises(ValueError, match="dimension mismatch.*dim 4.*dim 5"):
        maxsim_scores(np.ones((2, 4)), pack_documents([np.ones((3, 5)), np.ones((1, 5))]))
    with pytest.raises(
        ValueError, match="dimension mismatch: document 1 has dim 5.*document 0 has dim 4"
    ):
        pack_documents([np.ones((3, 4)), np.ones((3, 5))])


def test_empty_document_list():
    with pytest.raises(ValueError, match="document list is empty"):
        pack_documents([])
    with pytest.raises(ValueError, match="document list is empty"):
        maxsim_scores(GOOD, [])


def test_empty_documents_are_rejected_not_scored():
    # numpy.maximum.reduceat would silently give an empty segment the next segment's value;
    # an empty document must be an error, wherever it is in the list.
    for position in (0, 1, 2):
        documents = [GOOD, GOOD]
        documents.insert(position, np.empty((0, 4)))
        with pytest.raises(ValueError, match=f"document {position} is empty"):
            pack_documents(documents)


def test_one_matrix_passed_as_the_document_list():
    with pytest.raises(ValueError, match="list of .* matrices.*maxsim\\(\\)"):
        maxsim_scores(GOOD, np.ones((5, 4)))


def test_explain_maxsim_gives_a_near_tie_to_the_earlier_document_row():
    from helpers.maxsim import TIE_TOLERANCE

    query = np.array([[1.0, 0.0]], dtype=np.float32)
    base = np.array([[0.0, 1.0], [0.9, 0.1], [0.9, 0.1], [0.2, 0.9]], dtype=np.float32)
    for later_by in (0.0, TIE_TOLERANCE / 4, -TIE_TOLERANCE / 4):  # row 2 equal, a hair better, a hair worse
        doc = base.copy()
        doc[2, 0] += later_by
        explanation = explain_maxsim(query, doc)
        assert explanation.best_doc_rows.tolist() == [1]
        assert explanation.contributions[0] == pytest.approx(max(0.9, 0.9 + later_by))
        assert explanation.score == pytest.approx(maxsim(query, doc))
    doc = base.copy()
    doc[2, 0] += 10 * TIE_TOLERANCE  # clearly better: the later row wins
    assert explain_maxsim(query, doc).best_doc_rows.tolist() == [2]
