"""Qdrant's engine in process (qdrant-edge-py) against helpers.maxsim_scores on real passages."""

import numpy as np
import pytest
from qdrant_edge import (Distance, EdgeVectorParams, FieldCondition, Filter, HnswIndexConfig, MatchValue,
                         MultiVectorComparator, MultiVectorConfig, Prefetch, Query, QueryRequest,
                         UpdateOperation)

import helpers
from helpers.edge import edge_points, edge_shard

N_PASSAGES = 120  # conftest.py's small_corpus


def colbert_params(dim=128):
    return EdgeVectorParams(size=dim, distance=Distance.Dot,
                            multivector_config=MultiVectorConfig(MultiVectorComparator.MaxSim),
                            hnsw_config=HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000))


@pytest.fixture(scope="module")
def corpus(small_corpus):
    shard = edge_shard({"colbert": colbert_params(),
                        "dense": EdgeVectorParams(size=384, distance=Distance.Cosine)})
    shard.update(UpdateOperation.upsert_points(edge_points(small_corpus.multi, dense_vectors=small_corpus.dense)))
    return shard, small_corpus.multi, np.stack(small_corpus.dense), small_corpus.queries


def test_engine_max_sim_scores_and_ranking_equal_maxsim_scores(corpus):
    shard, multi, _, queries = corpus
    packed = helpers.pack_documents(multi)
    for multi_query, _ in queries:
        ours = helpers.maxsim_scores(multi_query, packed)
        points = shard.query(QueryRequest(limit=N_PASSAGES, query=Query.Nearest(multi_query.tolist(),
                                                                               using="colbert")))
        assert [p.id for p in points] == list(np.argsort(-ours, kind="stable"))
        np.testing.assert_allclose([p.score for p in points], ours[[p.id for p in points]], rtol=1e-5)


def test_engine_dense_prefetch_then_max_sim_rerank_equals_numpy(corpus):
    shard, multi, dense_matrix, queries = corpus
    for multi_query, dense_query in queries:
        request = QueryRequest(limit=10, query=Query.Nearest(multi_query.tolist(), using="colbert"),
                               prefetches=[Prefetch(query=Query.Nearest(dense_query.tolist(), using="dense"),
                                                    limit=30)])
        ids = [p.id for p in shard.query(request)]
        dense_scores = dense_matrix @ dense_query / np.linalg.norm(dense_matrix, axis=1) / np.linalg.norm(dense_query)
        candidates = np.argsort(-dense_scores)[:30]
        reranked = candidates[np.argsort(-helpers.maxsim_scores(multi_query, [multi[i] for i in candidates]))]
        assert ids == reranked[:10].tolist()


def test_edge_points_checks_matrices_like_multivector_points():
    with pytest.raises(ValueError, match="must be 2-D"):
        edge_points([np.ones(4)])
    with pytest.raises(ValueError, match="no vectors"):
        edge_points([np.ones((0, 4))])
    with pytest.raises(ValueError, match="NaN or infinite"):
        edge_points([np.array([[np.nan, 1.0]])])
    with pytest.raises(ValueError, match="payloads has 1 entries for 2 documents"):
        edge_points([np.ones((1, 2)), np.ones((1, 2))], payloads=[{}])


def test_edge_shard_needs_a_vector_field():
    with pytest.raises(ValueError, match="vectors is empty"):
        edge_shard({})


def test_known_bug_boolean_payload_match_matches_nothing():
    """qdrant-edge-py 0.9.0 stores True as 1, so MatchValue(True) finds nothing (helpers/edge.py's
    note). If this test fails after an upgrade, the bug is fixed: remove the note and this test."""
    shard = edge_shard({"colbert": colbert_params(dim=2)})
    shard.update(UpdateOperation.upsert_points(edge_points([np.ones((1, 2))] * 2, ids=[1, 2],
                                                           payloads=[{"flag": True}, {"flag": "yes"}])))
    query = Query.Nearest([[1.0, 0.0]], using="colbert")
    by_bool = shard.query(QueryRequest(limit=5, query=query, filter=Filter(
        must=[FieldCondition(key="flag", match=MatchValue(True))])))
    by_string = shard.query(QueryRequest(limit=5, query=query, filter=Filter(
        must=[FieldCondition(key="flag", match=MatchValue("yes"))])))
    assert [p.id for p in by_string] == [2]
    assert by_bool == []


def test_engine_rankings_equal_the_engine_and_come_back_from_the_cache(small_corpus, tmp_path, monkeypatch):
    from fastembed import LateInteractionTextEmbedding
    from qdrant_edge import BinaryQuantizationConfig, QuantizationSearchParams, SearchParams

    import helpers.edge
    from helpers.edge import engine_rankings
    from helpers.pipelines import EmbeddedQuery

    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    model = LateInteractionTextEmbedding(helpers.COLBERT_MODEL)
    queries = [EmbeddedQuery(text, dense=d, colbert=m, bm25=None)
               for text, (m, d) in zip(["gzip", "arguments", "csv", "thread"], small_corpus.queries)]
    binary, params = BinaryQuantizationConfig(), SearchParams(quantization=QuantizationSearchParams(rescore=False))
    open_shards = len(helpers.edge._SHARDS)
    first = engine_rankings(model, small_corpus.multi, queries, binary, params, limit=5)
    assert len(helpers.edge._SHARDS) == open_shards, "engine_rankings closes the shard it built"
    # the same as a shard built and queried by hand
    shard = edge_shard({"colbert": EdgeVectorParams(
        size=128, distance=Distance.Dot, multivector_config=MultiVectorConfig(MultiVectorComparator.MaxSim),
        quantization_config=binary, hnsw_config=HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000))})
    shard.update(UpdateOperation.upsert_points(edge_points(small_corpus.multi)))
    shard.optimize()
    for query, ranking in zip(queries, first):
        points = shard.query(QueryRequest(limit=5, params=params, query=Query.Nearest(query.colbert.tolist(), using="colbert")))
        # binary scores are whole numbers and tie often; the engine orders equal scores its own way
        assert [score for _, score in ranking] == pytest.approx([p.score for p in points])
        last = ranking[-1][1]
        assert {pid for pid, score in ranking if score > last} == {p.id for p in points if p.score > last}
    # from the cache: no shard is built
    monkeypatch.setattr(helpers.edge, "edge_shard", lambda *a, **k: pytest.fail("built a shard for cached rankings"))
    assert engine_rankings(model, small_corpus.multi, queries, binary, params, limit=5) == first
    # other search settings are a different entry: computing it would need a shard
    with pytest.raises(pytest.fail.Exception, match="built a shard"):
        engine_rankings(model, small_corpus.multi, queries, binary,
                        SearchParams(quantization=QuantizationSearchParams(rescore=True)), limit=5)


def test_close_shard_deletes_the_folder_and_refuses_a_stranger():
    import os

    from helpers.edge import _SHARDS, close_shard

    shard = edge_shard({"colbert": colbert_params()})
    folder = next(f for s, f in _SHARDS if s is shard)
    close_shard(shard)
    assert not os.path.exists(folder)
    with pytest.raises(ValueError, match="not made by helpers.edge_shard"):
        close_shard(shard)


def test_upsert_in_batches_equals_one_upsert(small_corpus):
    from helpers.edge import upsert_in_batches

    by_batches = edge_shard({"colbert": colbert_params(), "dense": EdgeVectorParams(size=384, distance=Distance.Cosine)})
    upsert_in_batches(by_batches, small_corpus.multi, dense_vectors=small_corpus.dense, batch_size=7)
    at_once = edge_shard({"colbert": colbert_params(), "dense": EdgeVectorParams(size=384, distance=Distance.Cosine)})
    at_once.update(UpdateOperation.upsert_points(edge_points(small_corpus.multi, dense_vectors=small_corpus.dense)))
    assert by_batches.info().points_count == at_once.info().points_count == N_PASSAGES
    for multi_query, dense_query in small_corpus.queries:
        for using, vector in (("colbert", multi_query.tolist()), ("dense", dense_query.tolist())):
            request = QueryRequest(limit=10, query=Query.Nearest(vector, using=using))
            assert [(p.id, p.score) for p in by_batches.query(request)] == [(p.id, p.score) for p in at_once.query(request)]
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        upsert_in_batches(by_batches, small_corpus.multi, batch_size=0)
