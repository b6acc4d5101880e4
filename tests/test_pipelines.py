"""helpers.pipelines: each stage against a plain computation or against Qdrant itself."""

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

import helpers
from helpers.corpus import load_passages
from helpers.pipelines import CorpusIndex, EmbeddedQuery, bm25_idf, dbsf, rrf, run_from_rankings, run_pipeline

N_PASSAGES = 120
QUERIES = ["how do I compress a file with gzip", "parse command line arguments",
           "read rows from a CSV file", "run a function in a background thread"]


@pytest.fixture(scope="module")
def index():
    helpers.setup(quiet=True)
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    texts = [p.text for p in load_passages(N_PASSAGES)]
    return CorpusIndex.build(texts, dense_model=TextEmbedding(helpers.DENSE_MODEL),
                             colbert_model=LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
                             bm25_model=SparseTextEmbedding(helpers.models.BM25_MODEL),
                             cross_encoder=TextCrossEncoder(helpers.CROSS_ENCODER_MODEL))


@pytest.fixture(scope="module")
def queries(index):
    return [index.embed_query(q) for q in QUERIES]


@pytest.fixture(scope="module")
def qdrant(index):
    """The same passages in a Qdrant collection (qdrant-client's local mode)."""
    client = QdrantClient(":memory:")
    client.create_collection(
        "corpus",
        vectors_config={
            "dense": models.VectorParams(size=384, distance=models.Distance.COSINE),
            "colbert": models.VectorParams(
                size=128, distance=models.Distance.DOT, hnsw_config=models.HnswConfigDiff(m=0),
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)),
        },
        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    bm25 = list(index.models["bm25"].passage_embed(index.texts))
    client.upload_points("corpus", [
        models.PointStruct(id=i, vector={
            "dense": index.dense_vectors[i].tolist(), "colbert": index.colbert_vectors[i].tolist(),
            "bm25": models.SparseVector(indices=bm25[i].indices.tolist(), values=bm25[i].values.tolist())})
        for i in range(len(index))])
    yield client
    client.close()


def sparse(query: EmbeddedQuery):
    return models.SparseVector(indices=list(query.bm25), values=list(query.bm25.values()))


def test_bm25_scores_equal_qdrants_idf_modifier(index, queries, qdrant):
    for q in queries:
        ours = index.bm25(q, limit=20)
        theirs = qdrant.query_points("corpus", query=sparse(q), using="bm25", limit=20).points
        assert {p.id for p in theirs} == {pid for pid, _ in ours}
        by_id = dict(ours)
        np.testing.assert_allclose([p.score for p in theirs], [by_id[p.id] for p in theirs], rtol=1e-5)


def test_bm25_idf_is_qdrants_formula():
    assert bm25_idf(1, 100) == pytest.approx(np.log(1 + 99.5 / 1.5))
    assert bm25_idf(100, 100) > 0  # a term in every document still weighs a little


def test_dense_and_maxsim_equal_a_brute_force_computation(index, queries):
    for q in queries:
        cosines = index.dense_vectors @ q.dense / np.linalg.norm(index.dense_vectors, axis=1) / np.linalg.norm(q.dense)
        assert [pid for pid, _ in index.dense(q, 10)] == np.argsort(-cosines, kind="stable")[:10].tolist()
        scores = np.array([helpers.maxsim(q.colbert, d) for d in index.colbert_vectors])
        ranking = index.maxsim(q, 10)
        assert [pid for pid, _ in ranking] == np.argsort(-scores, kind="stable")[:10].tolist()
        np.testing.assert_allclose([s for _, s in ranking], np.sort(scores)[::-1][:10], rtol=1e-5)


def test_maxsim_over_candidates_scores_only_them(index, queries):
    q = queries[0]
    candidates = index.dense(q, 15)
    reranked = index.maxsim(q, 10, candidates=candidates)
    assert {pid for pid, _ in reranked} <= {pid for pid, _ in candidates}
    everything = index.maxsim(q, 10)
    as_candidates = index.maxsim(q, 10, candidates=[pid for pid, _ in index.maxsim(q, len(index))])
    assert [pid for pid, _ in as_candidates] == [pid for pid, _ in everything]
    np.testing.assert_allclose([s for _, s in as_candidates], [s for _, s in everything], rtol=1e-5)
    some = [5, 17, 3, 90]
    expected = {pid: helpers.maxsim(q.colbert, index.colbert_vectors[pid]) for pid in some}
    got = dict(index.maxsim(q, 4, candidates=some))
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[p] for p in some], [expected[p] for p in some], rtol=1e-5)


def test_rrf_equals_qdrant_clients_fusion():
    from qdrant_client.hybrid.fusion import reciprocal_rank_fusion

    a = [(3, 0.9), (1, 0.8), (7, 0.1)]
    b = [(1, 5.0), (9, 4.0), (3, 1.0), (4, 0.5)]
    theirs = reciprocal_rank_fusion([[models.ScoredPoint(id=i, version=0, score=s) for i, s in r] for r in (a, b)],
                                    limit=10)
    ours = rrf(a, b, limit=10)
    assert dict(ours) == pytest.approx({p.id: p.score for p in theirs})
    assert ours[0] == (1, pytest.approx(1 / 3 + 1 / 2))  # second in a, first in b


def test_two_stage_hybrid_pipeline_equals_qdrants_universal_query(index, queries, qdrant):
    for q in queries:
        assert index.hybrid(q, 30) == rrf(index.bm25(q, 30), index.dense(q, 30), limit=30)
        ours = index.maxsim(q, 10, candidates=index.hybrid(q, 30))
        response = qdrant.query_points(
            "corpus",
            prefetch=models.Prefetch(
                prefetch=[models.Prefetch(query=q.dense.tolist(), using="dense", limit=30),
                          models.Prefetch(query=sparse(q), using="bm25", limit=30)],
                query=models.FusionQuery(fusion=models.Fusion.RRF), limit=30),
            query=q.colbert.tolist(), using="colbert", limit=10)
        assert [p.id for p in response.points] == [pid for pid, _ in ours]


def test_rerank_is_the_cross_encoders_logits_and_cached(index, queries, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    q = queries[0]
    candidates = index.dense(q, 5)
    direct = list(index.models["cross-encoder"].rerank(q.text, [index.texts[pid] for pid, _ in candidates],
                                                       batch_size=1))
    first = index.rerank(q, candidates, limit=5)
    assert sorted(s for _, s in first) == pytest.approx(sorted(direct), rel=1e-6)
    assert any(tmp_path.iterdir())  # stored
    assert index.rerank(q, candidates, limit=5) == first  # read back, the same
    fresh = index.rerank(q, candidates, limit=5, cache=False)
    assert [pid for pid, _ in fresh] == [pid for pid, _ in first]
    assert [s for _, s in fresh] == pytest.approx([s for _, s in first], rel=1e-6)


def test_run_pipeline_gives_ranx_a_run_in_ranking_order(index, queries):
    query_set = helpers.load_queries()[:2]
    embedded = {qs.id: q for qs, q in zip(query_set, queries)}
    run = run_pipeline(lambda q: index.dense(q, 5), query_set, embedded)
    for qs in query_set:
        ranking = [pid for pid, _ in index.dense(embedded[qs.id], 5)]
        assert sorted(run[qs.id], key=run[qs.id].get, reverse=True) == ranking
    with pytest.raises(ValueError, match="has no embedded query"):
        run_pipeline(lambda q: index.dense(q, 5), query_set, {})


def test_maxsim_all_gives_maxsims_rankings(index, queries):
    for one, batched in zip(queries, index.maxsim_all(queries, limit=20), strict=True):
        single = index.maxsim(one, limit=20)
        assert [pid for pid, _ in batched] == [pid for pid, _ in single]
        assert [s for _, s in batched] == pytest.approx([s for _, s in single], rel=1e-5)
    assert index.maxsim_all([]) == []


def test_run_from_rankings_keeps_each_rankings_order_and_counts():
    query_set = helpers.load_queries()[:2]
    rankings = [[(7, 0.5), (3, 0.5), (9, 0.1)], [(1, 2.0)]]
    run = run_from_rankings(query_set, rankings)
    assert [sorted(run[q.id], key=run[q.id].get, reverse=True) for q in query_set] == [[7, 3, 9], [1]]
    with pytest.raises(ValueError, match="1 rankings for 2 queries"):
        run_from_rankings(query_set, rankings[:1])


@pytest.mark.parametrize("call, message", [
    (lambda index, q: index.dense(q, 0), "limit must be a positive"),
    (lambda index, q: index.maxsim(q, 5, candidates=[10_000]), "outside 0..119"),
    (lambda index, q: index.embed_query("   "), "query text is empty"),
    (lambda index, q: rrf(limit=5), "at least one ranking"),
])
def test_bad_input_raises_value_error(index, queries, call, message):
    with pytest.raises(ValueError, match=message):
        call(index, queries[0])


def test_an_index_without_a_cross_encoder_says_so(index, queries):
    bare = CorpusIndex(index.texts[:2], index.dense_vectors[:2], index.colbert_vectors[:2],
                       [(np.array([1]), np.array([1.0]))] * 2)
    with pytest.raises(ValueError, match="no cross-encoder"):
        bare.rerank(queries[0], [0, 1])


def test_muvera_documents_equal_fastembeds_encoding_and_come_back_from_the_cache(index, tmp_path, monkeypatch):
    from fastembed.postprocess import Muvera

    from helpers.pipelines import muvera_documents

    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    muvera = Muvera(dim=128, k_sim=3, dim_proj=8, r_reps=2)
    texts, vectors = index.texts[:5], index.colbert_vectors[:5]
    first = muvera_documents(index.models["colbert"], texts, vectors, muvera)
    assert first.shape == (5, muvera.embedding_size) and first.dtype == np.float32
    np.testing.assert_allclose(first[3], muvera.process_document(vectors[3]), rtol=1e-6)
    assert any(tmp_path.iterdir())
    np.testing.assert_array_equal(muvera_documents(index.models["colbert"], texts, vectors, muvera), first)
    other_seed = Muvera(dim=128, k_sim=3, dim_proj=8, r_reps=2, random_seed=7)
    assert not np.allclose(muvera_documents(index.models["colbert"], texts, vectors, other_seed), first)
    # changed matrices for the same texts (pooled, centred, ...) are encoded afresh, not read back
    centred = [m - 0.1 for m in vectors]
    again = muvera_documents(index.models["colbert"], texts, centred, muvera)
    np.testing.assert_allclose(again[2], muvera.process_document(centred[2]), rtol=1e-6)
    assert not np.allclose(again, first)
    with pytest.raises(ValueError, match="5 texts but 4 ColBERT matrices"):
        muvera_documents(index.models["colbert"], texts, vectors[:4], muvera)


def test_muvera_scores_equal_the_encodings_dot_products_and_follow_the_queries(index, tmp_path, monkeypatch):
    from fastembed.postprocess import Muvera

    from helpers.pipelines import muvera_documents, muvera_scores

    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    muvera = Muvera(dim=128, k_sim=3, dim_proj=8, r_reps=2)
    model, texts, vectors = index.models["colbert"], index.texts[:6], index.colbert_vectors[:6]
    encoded = np.stack([muvera.process_query(m) for m in index.colbert_vectors[10:13]]).astype(np.float32)
    scores = muvera_scores(model, texts, vectors, muvera, encoded)
    assert scores.shape == (6, 3) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, muvera_documents(model, texts, vectors, muvera) @ encoded.T, rtol=1e-5)
    np.testing.assert_array_equal(muvera_scores(model, texts, vectors, muvera, encoded), scores)  # from the cache
    # other queries are scored afresh, never read back from the first queries' entry
    np.testing.assert_allclose(muvera_scores(model, texts, vectors, muvera, encoded[::-1]), scores[:, ::-1], rtol=1e-5)
    with pytest.raises(ValueError, match=r"query_encodings must be \(n_queries, 128\)"):
        muvera_scores(model, texts, vectors, muvera, encoded[:, :10])
    with pytest.raises(ValueError, match="6 texts but 5 ColBERT matrices"):
        muvera_scores(model, texts, vectors[:5], muvera, encoded)


def test_embed_queries_equal_embed_query_and_come_back_from_the_cache(index, queries, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path))
    first = index.embed_queries(QUERIES)
    assert any(tmp_path.iterdir())  # stored
    again = index.embed_queries(QUERIES)
    for one, a, b in zip(queries, first, again, strict=True):
        for e in (a, b):
            assert e.text == one.text and e.bm25 == one.bm25
            np.testing.assert_array_equal(e.dense, one.dense)
            np.testing.assert_array_equal(e.colbert, one.colbert)
    with pytest.raises(ValueError, match="the query text is empty: '  '"):
        index.embed_queries(["fine", "  "])


def test_course_index_is_notebook_06s_build_and_embed_labelled_is_embed_queries():
    import helpers
    from helpers.queries import load_queries

    helpers.setup(quiet=True)
    index = helpers.course_index()
    assert len(index) == len(load_passages()) and index.models["cross-encoder"] is None
    assert set(index.models) == {"dense", "colbert", "bm25", "cross-encoder"}
    queries = load_queries()[:3]
    embedded = index.embed_labelled(queries)
    assert list(embedded) == [q.id for q in queries]
    direct = index.embed_query(queries[1].text)
    np.testing.assert_array_equal(embedded[queries[1].id].colbert, direct.colbert)
    np.testing.assert_array_equal(embedded[queries[1].id].dense, direct.dense)
    with pytest.raises(ValueError, match="queries is empty"):
        index.embed_labelled([])



def _random_rankings(rng, n_rankings=2):
    rankings = []
    for _ in range(n_rankings):
        ids = rng.choice(40, size=int(rng.integers(1, 15)), replace=False)
        scores = np.sort(rng.normal(size=len(ids)))[::-1]  # distinct, best first
        rankings.append([(int(i), float(s)) for i, s in zip(ids, scores)])
    return rankings


def _points(ranking):
    return [models.ScoredPoint(id=i, version=0, score=s) for i, s in ranking]


@pytest.mark.parametrize("k, weights", [(2, None), (61, None), (2, [2.0, 1.0]), (10, [0.5, 3.0]), (2, [1.0, 0.0])])
def test_rrf_with_k_and_weights_equals_qdrant_clients_fusion(k, weights):
    from qdrant_client.hybrid.fusion import reciprocal_rank_fusion

    rng = np.random.default_rng(k)
    for _ in range(50):
        rankings = _random_rankings(rng)
        theirs = reciprocal_rank_fusion([_points(r) for r in rankings], limit=100, ranking_constant_k=k,
                                        weights=weights)
        ours = rrf(*rankings, limit=100, k=k, weights=weights)
        assert dict(ours) == pytest.approx({p.id: p.score for p in theirs})


def test_dbsf_equals_qdrant_clients_fusion():
    from qdrant_client.hybrid.fusion import distribution_based_score_fusion

    rng = np.random.default_rng(0)
    for _ in range(100):
        rankings = _random_rankings(rng, n_rankings=int(rng.integers(1, 4)))
        theirs = distribution_based_score_fusion([_points(r) for r in rankings], limit=100)
        ours = dbsf(*rankings, limit=100)
        assert dict(ours) == pytest.approx({p.id: p.score for p in theirs})
    # by hand: a one-passage ranking gives 0.5; (1.0, 0.0) has mean 0.5 and sample std sqrt(0.5)
    std = 0.5 ** 0.5
    assert dbsf([(5, 3.0)], [(5, 1.0), (6, 0.0)], limit=2) == [
        (5, pytest.approx(0.5 + (1.0 - (0.5 - 3 * std)) / (6 * std))),
        (6, pytest.approx((0.0 - (0.5 - 3 * std)) / (6 * std)))]


def test_fusion_arguments_are_checked():
    with pytest.raises(ValueError, match="1 weights for 2 rankings"):
        rrf([(1, 1.0)], [(2, 1.0)], weights=[1.0])
    with pytest.raises(ValueError, match="k must be at least 1"):
        rrf([(1, 1.0)], k=0)
    with pytest.raises(ValueError, match="dbsf needs at least one ranking"):
        dbsf()


def test_with_bm25_changes_only_the_bm25_part(index, queries):
    from fastembed import SparseTextEmbedding

    other = index.with_bm25(SparseTextEmbedding("Qdrant/bm25", avg_len=20.0))
    rebuilt = CorpusIndex.build(index.texts, dense_model=index.models["dense"], colbert_model=index.models["colbert"],
                                bm25_model=SparseTextEmbedding("Qdrant/bm25", avg_len=20.0))
    q = queries[0]
    assert other.bm25(q, 20) == rebuilt.bm25(q, 20)  # as if built with that model
    assert other.bm25(q, 20) != index.bm25(q, 20)  # the setting changes the scores
    assert other.dense(q, 5) == index.dense(q, 5) and other.colbert_vectors is index.colbert_vectors
    assert index.models["bm25"] is not other.models["bm25"]
