"""Qdrant's MAX_SIM against helpers.maxsim_scores on real passages; two-stage search; point checks."""

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

import helpers
from helpers.qdrant import multivector_points, search

N_PASSAGES = 120  # conftest.py's small_corpus


@pytest.fixture(scope="module")
def corpus(small_corpus):
    client = QdrantClient(":memory:")
    client.create_collection("corpus", vectors_config={
        "dense": models.VectorParams(size=384, distance=models.Distance.COSINE),
        "colbert": models.VectorParams(
            size=128, distance=models.Distance.DOT, hnsw_config=models.HnswConfigDiff(m=0),
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)),
    })
    client.upload_points("corpus", multivector_points(small_corpus.multi, dense_vectors=small_corpus.dense))
    yield client, small_corpus.multi, small_corpus.queries
    client.close()


def test_qdrant_max_sim_scores_and_ranking_equal_maxsim_scores(corpus):
    client, multi, queries = corpus
    packed = helpers.pack_documents(multi)
    for multi_query, _ in queries:
        ours = helpers.maxsim_scores(multi_query, packed)
        points = client.query_points("corpus", query=multi_query.tolist(), using="colbert",
                                     limit=N_PASSAGES).points
        assert [p.id for p in points] == list(np.argsort(-ours, kind="stable"))
        np.testing.assert_allclose([p.score for p in points], ours[[p.id for p in points]], rtol=1e-5)


def test_two_stage_with_every_document_as_candidate_equals_one_stage(corpus):
    client, _, queries = corpus
    for multi_query, dense_query in queries:
        one_stage = search(client, "corpus", multi_query)
        assert search(client, "corpus", multi_query, dense_query=dense_query, candidates=N_PASSAGES) == one_stage


def test_two_stage_reranks_only_the_dense_candidates(corpus):
    client, _, queries = corpus
    multi_query, dense_query = queries[0]
    dense_top = [p.id for p in client.query_points("corpus", query=dense_query.tolist(), using="dense",
                                                    limit=20).points]
    assert set(search(client, "corpus", multi_query, dense_query=dense_query, candidates=20)) <= set(dense_top)


def test_search_arguments():
    with pytest.raises(ValueError, match="needs dense_query"):
        search(None, "c", np.ones((2, 2)), candidates=20)
    with pytest.raises(ValueError, match="at least limit"):
        search(None, "c", np.ones((2, 2)), dense_query=np.ones(2), candidates=5, limit=10)


@pytest.mark.parametrize("matrices, message", [
    ([np.zeros((0, 128))], "has no vectors"),
    ([np.ones(128)], "must be 2-D"),
    ([np.ones((3, 128)), np.ones((2, 64))], "dimension 64"),
    ([np.full((2, 128), np.nan)], "NaN"),
    ([], "no documents"),
])
def test_bad_multivectors_are_rejected_before_qdrant(matrices, message):
    with pytest.raises(ValueError, match=message):
        multivector_points(matrices)


def test_a_one_vector_document_is_scored_as_maxsim_defines_it():
    client = QdrantClient(":memory:")
    client.create_collection("c", vectors_config={"colbert": models.VectorParams(
        size=4, distance=models.Distance.DOT,
        multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM))})
    doc = np.array([[0.5, 0.5, 0.5, 0.5]], dtype=np.float32)
    client.upsert("c", multivector_points([doc]))
    query = np.eye(4, dtype=np.float32)[:3]
    (point,) = client.query_points("c", query=query.tolist(), using="colbert").points
    assert point.score == pytest.approx(helpers.maxsim(query, doc)) == pytest.approx(1.5)
    client.close()


def test_lengths_must_match():
    with pytest.raises(ValueError, match="payloads has 1 entries for 2 documents"):
        multivector_points([np.ones((1, 2)), np.ones((1, 2))], payloads=[{}])


def test_multivector_points_carry_sparse_vectors_and_check_their_count():
    from types import SimpleNamespace

    embedding = SimpleNamespace(indices=np.array([7, 3]), values=np.array([1.0, 2.0]))
    points = multivector_points([np.ones((1, 2)), np.ones((1, 2))], sparse_vectors=[embedding, ([5], [0.5])])
    assert points[0].vector["bm25"] == models.SparseVector(indices=[7, 3], values=[1.0, 2.0])
    assert points[1].vector["bm25"] == models.SparseVector(indices=[5], values=[0.5])
    with pytest.raises(ValueError, match="sparse_vectors has 1 entries for 2 documents"):
        multivector_points([np.ones((1, 2)), np.ones((1, 2))], sparse_vectors=[embedding])
