"""Retrieval pipelines over the whole corpus in numpy, and running one over the labelled queries.

Notebooks 06 and 07 compare pipelines built from five stages. Each stage takes an embedded query
and returns a *ranking*: a list of ``(passage_id, score)`` pairs, best first (ties broken by the
smaller passage id, so rankings are reproducible).

===========================  ==============================================================
``index.bm25(q, limit)``     BM25 as Qdrant scores a sparse vector with the IDF modifier
``index.dense(q, limit)``    cosine of the dense vectors (they are unit length: a dot product)
``index.maxsim(q, limit)``   MaxSim of the ColBERT token vectors, over every passage or,
                             with ``candidates=``, only over another ranking's passages
``rrf(a, b, limit)``         reciprocal rank fusion of several rankings, as Qdrant fuses
``index.hybrid(q, limit)``   ``rrf`` of the BM25 and dense top ``limit``
``index.rerank(q, ranking)``  the cross-encoder's logits for the candidates (cached)
===========================  ==============================================================

``run_pipeline(search, queries)`` turns a pipeline into a *run* for ``helpers.evaluate_run``.
Qdrant expresses the same pipelines with its Universal Query API (notebook 07); the tests check
that both give the same rankings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import embedding_cache
from .embedding import embed_documents
from .maxsim import maxsim_scores, maxsim_scores_batch, pack_documents

#: Qdrant's default constant in reciprocal rank fusion: a passage at 0-based position ``i`` of a
#: ranking gets ``1 / (i + RRF_K)``.
RRF_K = 2

Ranking = list  # list[tuple[int, float]], best first


@dataclass(frozen=True)
class EmbeddedQuery:
    """A query embedded by every model a pipeline may use."""

    text: str
    dense: np.ndarray  # (dense_dim,)
    colbert: np.ndarray  # (n_query_tokens, dim)
    bm25: dict  # token id -> weight (fastembed's BM25 query vector: 1.0 per distinct term)


def _top(ids: np.ndarray, scores: np.ndarray, limit: int) -> Ranking:
    """The ``limit`` best ``(id, score)`` pairs: score descending, then id ascending."""
    order = np.lexsort((ids, -scores))[:limit]
    return [(int(ids[i]), float(scores[i])) for i in order]


def _check_limit(limit: int) -> None:
    if not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit must be a positive number of passages, got {limit!r}")


def bm25_idf(document_frequency: int, n_documents: int) -> float:
    """Qdrant's IDF modifier: ``ln(1 + (N - n + 0.5) / (n + 0.5))`` for a term in ``n`` of ``N`` documents."""
    return math.log((n_documents - document_frequency + 0.5) / (document_frequency + 0.5) + 1)


class CorpusIndex:
    """Every passage embedded three ways, held in numpy, with the pipelines' stages as methods.

    Build it with :meth:`build`. ``texts[i]`` is passage ``i`` (``helpers.corpus`` order).
    """

    def __init__(self, texts: Sequence[str], dense: np.ndarray, colbert: Sequence[np.ndarray],
                 bm25: Sequence[tuple[np.ndarray, np.ndarray]], models: dict | None = None):
        n = len(texts)
        if n == 0:
            raise ValueError("the index needs at least one passage")
        if len(dense) != n or len(colbert) != n or len(bm25) != n:
            raise ValueError(f"{n} texts but {len(dense)} dense vectors, {len(colbert)} ColBERT matrices "
                             f"and {len(bm25)} BM25 vectors")
        self.texts = list(texts)
        self.dense_vectors = np.asarray(dense, dtype=np.float32)  # (n_passages, dense_dim)
        self._set_colbert(colbert)
        self.models = dict(models or {})
        self._set_bm25(bm25)

    def _set_bm25(self, bm25: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        n = len(self.texts)
        # BM25 as an inverted index: term -> (passage ids, document weights)
        postings: dict[int, tuple[list, list]] = {}
        for pid, (indices, values) in enumerate(bm25):
            for term, weight in zip(np.asarray(indices).tolist(), np.asarray(values).tolist()):
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(pid)
                weights.append(weight)
        self.postings = {t: (np.array(i, dtype=np.int64), np.array(w, dtype=np.float32))
                         for t, (i, w) in postings.items()}
        self.idf = {t: bm25_idf(len(i), n) for t, (i, _) in self.postings.items()}

    def __len__(self) -> int:
        return len(self.texts)

    def with_colbert(self, colbert: Sequence[np.ndarray]) -> CorpusIndex:
        """The same index with other ColBERT vectors per passage (pooled, quantized, ...); the dense
        and BM25 parts and the models are shared."""
        if len(colbert) != len(self):
            raise ValueError(f"{len(colbert)} ColBERT matrices for {len(self)} passages")
        other = object.__new__(CorpusIndex)
        other.__dict__.update(self.__dict__)
        other._set_colbert(colbert)
        return other

    def with_bm25(self, bm25_model) -> CorpusIndex:
        """The same index with the passages' BM25 vectors from another fastembed sparse model (for
        example ``SparseTextEmbedding("Qdrant/bm25", avg_len=...)``); the dense and ColBERT parts are
        shared, and ``models["bm25"]`` becomes ``bm25_model``."""
        other = object.__new__(CorpusIndex)
        other.__dict__.update(self.__dict__)
        other.models = {**self.models, "bm25": bm25_model}
        other._set_bm25([(e.indices, e.values) for e in bm25_model.passage_embed(self.texts)])
        return other

    def _set_colbert(self, colbert: Sequence[np.ndarray]) -> None:
        self.colbert_vectors = list(colbert)  # one (n_doc_tokens, dim) per passage
        self.packed = pack_documents(self.colbert_vectors)  # checked once; MaxSim over everything
        # every token vector in one matrix, passage i at rows starts[i]:starts[i] + lengths[i]
        self._tokens = np.concatenate(self.colbert_vectors).astype(np.float32, copy=False)
        self._lengths = np.array([len(m) for m in self.colbert_vectors], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._lengths)[:-1]])

    @classmethod
    def build(cls, texts: Sequence[str], *, dense_model, colbert_model, bm25_model,
              cross_encoder=None) -> CorpusIndex:
        """Embed ``texts`` with the three fastembed models (through ``helpers.embed_documents`` and
        its cache, so a second build is quick); ``cross_encoder`` is kept for :meth:`rerank`."""
        dense = embed_documents(dense_model, texts)
        colbert = embed_documents(colbert_model, texts)
        bm25 = [(e.indices, e.values) for e in bm25_model.passage_embed(list(texts))]
        models = {"dense": dense_model, "colbert": colbert_model, "bm25": bm25_model,
                  "cross-encoder": cross_encoder}
        return cls(texts, np.stack(dense), colbert, bm25, models)

    # ------------------------------------------------------------------ queries

    def embed_query(self, text: str) -> EmbeddedQuery:
        """The query embedded by the index's dense, ColBERT and BM25 models (never cached)."""
        return self.embed_queries([text], cache=False)[0]

    def embed_queries(self, texts: Sequence[str], *, cache: bool | None = None) -> list[EmbeddedQuery]:
        """:meth:`embed_query` for each text, with the dense and ColBERT vectors kept in the
        project's embedding cache (keyed by each model's files and the texts), so a second run
        reads them back. Each text is still embedded on its own, so the vectors equal
        :meth:`embed_query`'s. ``cache``: as in ``helpers.embed_documents``."""
        texts = list(texts)
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"the query text is empty: {text!r}")

        def one_by_one(name: str) -> list[np.ndarray]:
            model = self.models[name]
            return embedding_cache.cached_unless_off(
                model, texts, {"kind": "query_embed", "one text per call": True},
                lambda positions: [np.asarray(next(iter(model.query_embed(texts[i]))), dtype=np.float32)
                                   for i in positions],
                cache=cache, description=f"Embedding {len(texts):,} queries")

        dense, colbert = one_by_one("dense"), one_by_one("colbert")
        sparse = [next(iter(self.models["bm25"].query_embed(t))) for t in texts]
        return [EmbeddedQuery(text=t, dense=d, colbert=c, bm25=dict(zip(s.indices.tolist(), s.values.tolist())))
                for t, d, c, s in zip(texts, dense, colbert, sparse)]

    def embed_labelled(self, queries: Sequence) -> dict:
        """``{query id: EmbeddedQuery}`` for labelled queries (``helpers.load_queries()``), cached as
        :meth:`embed_queries` is."""
        if not queries:
            raise ValueError("queries is empty: pass helpers.load_queries() or a part of it")
        return {q.id: vectors for q, vectors in zip(queries, self.embed_queries([q.text for q in queries]))}

    # ------------------------------------------------------------------ stages

    def _candidate_ids(self, candidates) -> np.ndarray | None:
        if candidates is None:
            return None
        ids = np.array([c[0] if isinstance(c, tuple) else c for c in candidates], dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"candidates name passages outside 0..{len(self) - 1}")
        return ids

    def bm25(self, query: EmbeddedQuery, limit: int = 10, candidates=None) -> Ranking:
        """BM25: the sum over the query's terms of weight x IDF x the passage's term weight.

        Passages that share no term with the query are not returned (a sparse search finds only
        passages with a matching term), so the ranking can be shorter than ``limit``.
        """
        _check_limit(limit)
        scores = np.zeros(len(self), dtype=np.float64)
        for term, weight in query.bm25.items():
            if term in self.postings:
                ids, weights = self.postings[term]
                scores[ids] += weight * self.idf[term] * weights
        ids = np.flatnonzero(scores > 0) if candidates is None else self._candidate_ids(candidates)
        ids = ids[scores[ids] > 0]
        return _top(ids, scores[ids], limit)

    def dense(self, query: EmbeddedQuery, limit: int = 10, candidates=None) -> Ranking:
        """Cosine similarity of the dense vectors, over every passage or over ``candidates``."""
        _check_limit(limit)
        ids = self._candidate_ids(candidates)
        ids = np.arange(len(self)) if ids is None else ids
        q = query.dense / np.linalg.norm(query.dense)
        docs = self.dense_vectors[ids]
        scores = docs @ q / np.linalg.norm(docs, axis=1)
        return _top(ids, scores, limit)

    def hybrid(self, query: EmbeddedQuery, limit: int = 10, fusion=None) -> Ranking:
        """The BM25 and dense top ``limit``, fused by :func:`rrf`: the hybrid first stage of notebooks
        06 and 07 (Qdrant: two prefetches under ``FusionQuery(fusion=Fusion.RRF)``). ``fusion``:
        another function called as ``fusion(bm25_ranking, dense_ranking, limit=limit)``, such as
        :func:`dbsf` or ``functools.partial(rrf, k=61)``."""
        return (fusion or rrf)(self.bm25(query, limit), self.dense(query, limit), limit=limit)

    def maxsim(self, query: EmbeddedQuery, limit: int = 10, candidates=None) -> Ranking:
        """MaxSim of the ColBERT vectors, over every passage or over ``candidates`` (a ranking or ids)."""
        _check_limit(limit)
        ids = self._candidate_ids(candidates)
        if ids is None:
            return _top(np.arange(len(self)), maxsim_scores(query.colbert, self.packed), limit)
        if ids.size == 0:
            return []
        # the candidates' token rows, gathered: one matrix product, then a maximum per passage
        lengths = self._lengths[ids]
        offsets = np.repeat(self._starts[ids] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        rows = np.arange(lengths.sum()) + offsets
        similarities = self._tokens[rows] @ query.colbert.astype(np.float32).T  # (rows, n_query_tokens)
        firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        scores = np.maximum.reduceat(similarities, firsts, axis=0).sum(axis=1)
        return _top(ids, scores, limit)

    def maxsim_all(self, queries: Sequence[EmbeddedQuery], limit: int = 10) -> list[Ranking]:
        """:meth:`maxsim` over every passage for each of ``queries``, 8 queries per matrix product
        (``helpers.maxsim_scores_batch``): about half the time of one query at a time, with scores
        equal up to float32 rounding."""
        _check_limit(limit)
        if not queries:
            return []
        ids = np.arange(len(self))
        return [_top(ids, s, limit) for s in maxsim_scores_batch([q.colbert for q in queries], self.packed)]

    def rerank(self, query: EmbeddedQuery, candidates, limit: int = 10, *, cache: bool | None = None) -> Ranking:
        """The cross-encoder's logits for ``candidates`` (a ranking or ids), best ``limit`` first.

        One model pass per candidate (one pair per batch, so a pair's score never depends on its
        batch neighbours); the logits are kept in the project's embedding cache, so a second run
        reads them back. ``cache=False`` computes afresh (for timing).
        """
        _check_limit(limit)
        model = self.models.get("cross-encoder")
        if model is None:
            raise ValueError("this index has no cross-encoder: pass cross_encoder= to CorpusIndex.build")
        ids = self._candidate_ids(candidates)
        if ids.size == 0:
            return []
        scores = cross_encoder_scores(model, query.text, [self.texts[i] for i in ids], cache=cache)
        return _top(ids, scores, limit)


def cross_encoder_scores(model, query: str, documents: Sequence[str], *, cache: bool | None = None) -> np.ndarray:
    """``model.rerank(query, documents)`` as an array ``(n_documents,)`` of logits, one pair per batch.

    Cached like embeddings (``helpers.embedding_cache``): keyed by the model's files, the query and
    the documents. ``cache``: None follows ``COURSE_EMBEDDING_CACHE``; False never reads or writes.
    """
    documents = list(documents)

    def compute(positions: list[int]) -> list[np.ndarray]:
        return [np.array([s], dtype=np.float32)
                for s in model.rerank(query, [documents[i] for i in positions], batch_size=1)]

    if not documents:
        return np.zeros(0, dtype=np.float32)
    pairs = [f"{query}\n\x00\n{doc}" for doc in documents]
    return np.concatenate(embedding_cache.cached_unless_off(
        model, pairs, {"method": "rerank", "batch_size": 1}, compute, cache,
        description=f"Cross-encoder, {len(pairs):,} pairs", chunk_size=1))  # one entry per pair: pipelines share pairs


def _ranked(scores: dict[int, float], limit: int) -> Ranking:
    """The best ``limit`` of ``{passage id: fused score}``, ties by passage id (as :func:`_top`)."""
    if not scores:
        return []
    ids = np.fromiter(scores, dtype=np.int64)
    return _top(ids, np.array([scores[i] for i in ids.tolist()]), limit)


def rrf(*rankings: Ranking, limit: int = 10, k: int = RRF_K, weights: Sequence[float] | None = None) -> Ranking:
    """Reciprocal rank fusion: each passage scores ``sum(1 / (position + k))`` over the rankings
    it appears in (0-based position), as Qdrant's ``Fusion.RRF`` does with its default ``k=2``.

    In 1-based ranks that is ``1 / (rank + k - 1)``: the literature's ``k = 60`` (Cormack et al.,
    2009, ``1 / (60 + rank)``) is ``k=61`` here, and Qdrant's default ``k=2`` is the literature's
    ``k = 1``. ``weights`` (one per ranking, as Qdrant's ``Rrf(weights=...)``): a ranking of weight
    ``w`` contributes ``1 / ((position + 1) / w + k - 1)``; weight 0 or less contributes nothing.
    """
    _check_limit(limit)
    if not rankings:
        raise ValueError("rrf needs at least one ranking")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings: give one weight per ranking")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights if weights is not None else [1.0] * len(rankings)):
        for position, (pid, _) in enumerate(ranking):
            gain = 0.0 if weight <= 0 else 1.0 / ((position + 1.0) / weight + k - 1.0)
            scores[pid] = scores.get(pid, 0.0) + gain
    return _ranked(scores, limit)


def dbsf(*rankings: Ranking, limit: int = 10) -> Ranking:
    """Distribution-based score fusion, as Qdrant's ``Fusion.DBSF``: each ranking's scores are
    rescaled so that its mean minus 3 standard deviations (sample standard deviation) maps to 0
    and its mean plus 3 to 1; a passage's fused score is the sum over the rankings it is in. A
    ranking of one passage, or of equal scores, gives 0.5 each. Unlike RRF it uses the scores
    themselves, not only their order."""
    _check_limit(limit)
    if not rankings:
        raise ValueError("dbsf needs at least one ranking")
    scores: dict[int, float] = {}
    for ranking in rankings:
        if not ranking:
            continue
        values = np.array([score for _, score in ranking], dtype=np.float64)
        std = values.std(ddof=1) if len(values) > 1 else 0.0
        if std == 0:
            normalised = np.full(len(values), 0.5)
        else:
            low = values.mean() - 3 * std
            normalised = (values - low) / (6 * std)
        for (pid, _), value in zip(ranking, normalised):
            scores[pid] = scores.get(pid, 0.0) + float(value)
    return _ranked(scores, limit)


def run_pipeline(search: Callable, queries: Sequence, embedded: Mapping[str, EmbeddedQuery]) -> dict:
    """A run ``{query_id: {passage_id: score}}`` for ``helpers.evaluate_run``.

    ``search(embedded_query)`` returns a ranking; ``embedded`` maps each query id to its
    :class:`EmbeddedQuery`. Raises ``ValueError`` for a query id with no embedded query.
    """
    missing = [query.id for query in queries if query.id not in embedded]
    if missing:
        raise ValueError(f"query {missing[0]!r} has no embedded query")
    return run_from_rankings(queries, [search(embedded[query.id]) for query in queries])


def run_from_rankings(queries: Sequence, rankings: Sequence[Ranking]) -> dict:
    """A run ``{query_id: {passage_id: score}}`` from one ranking per query, in ``queries``' order
    (for example from :meth:`CorpusIndex.maxsim_all`). Raises ``ValueError`` when the counts differ."""
    if len(rankings) != len(queries):
        raise ValueError(f"{len(rankings)} rankings for {len(queries)} queries: give one ranking per query")
    run = {}
    for query, ranking in zip(queries, rankings):
        # scores only need to order the passages; make them distinct so that the order is kept exactly
        run[query.id] = {pid: float(len(ranking) - rank) for rank, (pid, _) in enumerate(ranking)}
    return run


def muvera_documents(colbert_model, texts: Sequence[str], doc_vectors: Sequence[np.ndarray], muvera, *,
                     cache: bool | None = None) -> np.ndarray:
    """``muvera.process_document`` of every passage: ``(n_passages, muvera.embedding_size)`` float32.

    ``doc_vectors[i]`` is passage ``i``'s ``(n_doc_tokens, dim)`` ColBERT matrix, made by
    ``colbert_model`` from ``texts[i]``, or changed from it (pooled, centred, ...). fastembed's
    MUVERA loops in Python (about 6 s for the corpus), so the encodings are kept in the project's
    embedding cache, keyed by the ColBERT model's files, the texts, MUVERA's settings and a digest
    of the matrices themselves (so changed matrices never read another version's encodings).
    ``cache``: as in ``helpers.embed_documents``.
    """
    if len(texts) != len(doc_vectors):
        raise ValueError(f"{len(texts)} texts but {len(doc_vectors)} ColBERT matrices")

    def compute(positions: list[int]) -> list[np.ndarray]:
        return [np.asarray(muvera.process_document(doc_vectors[i]), dtype=np.float32) for i in positions]

    settings = _muvera_settings(muvera, doc_vectors)
    return np.stack(embedding_cache.cached_unless_off(colbert_model, list(texts), settings, compute, cache,
                                                      description=f"MUVERA encodings of {len(texts):,} passages"))


def muvera_scores(colbert_model, texts: Sequence[str], doc_vectors: Sequence[np.ndarray], muvera,
                  query_encodings: np.ndarray, *, cache: bool | None = None) -> np.ndarray:
    """Every passage's MUVERA dot product with every query: ``(n_passages, n_queries)`` float32.

    As ``muvera_documents(...) @ query_encodings.T``, but each passage's encoding is dropped as soon
    as it is scored, so a sweep over MUVERA's settings never holds a whole corpus's encodings
    (about 400 MB for k_sim=6, dim_proj=32, r_reps=20). ``query_encodings``:
    ``(n_queries, muvera.embedding_size)``, from ``muvera.process_query``. The scores are cached as
    ``muvera_documents``' encodings are, keyed also by a digest of the query encodings.
    """
    if len(texts) != len(doc_vectors):
        raise ValueError(f"{len(texts)} texts but {len(doc_vectors)} ColBERT matrices")
    query_encodings = np.ascontiguousarray(query_encodings, dtype=np.float32)
    if query_encodings.ndim != 2 or query_encodings.shape[1] != muvera.embedding_size:
        raise ValueError(f"query_encodings must be (n_queries, {muvera.embedding_size}) for these MUVERA "
                         f"settings, got shape {query_encodings.shape}")

    def compute(positions: list[int]) -> list[np.ndarray]:
        return [(np.asarray(muvera.process_document(doc_vectors[i]), dtype=np.float32) @ query_encodings.T)
                for i in positions]

    import hashlib

    settings = _muvera_settings(muvera, doc_vectors)
    settings["method"] = "muvera.process_document @ queries"
    settings["queries"] = hashlib.sha256(np.array(query_encodings.shape, dtype=np.int64).tobytes()
                                         + query_encodings.tobytes()).hexdigest()
    return np.stack(embedding_cache.cached_unless_off(
        colbert_model, list(texts), settings, compute, cache,
        description=f"MUVERA scores of {len(texts):,} passages (k_sim={muvera.k_sim}, "
                    f"dim_proj={muvera.dim_proj}, r_reps={muvera.r_reps})"))


def _muvera_settings(muvera, doc_vectors: Sequence[np.ndarray]) -> dict:
    """The cache settings of MUVERA encodings: its parameters, a digest of its random matrices and
    one of the passages' matrices."""
    import hashlib

    randomness = hashlib.sha256(np.ascontiguousarray(muvera.dim_reduction_projections).tobytes())
    for simhash in muvera.simhash_projections:
        randomness.update(np.ascontiguousarray(simhash.simhash_vectors).tobytes())
    return {"method": "muvera.process_document", "dim": muvera.dim, "k_sim": muvera.k_sim,
            "dim_proj": muvera.dim_proj, "r_reps": muvera.r_reps, "random": randomness.hexdigest(),
            "vectors": matrices_sha256(doc_vectors)}


def matrices_sha256(matrices: Sequence[np.ndarray]) -> str:
    """One SHA-256 of a list of matrices (as float32, shapes included): a cache key's "these exact
    vectors"."""
    import hashlib

    digest = hashlib.sha256()
    for matrix in matrices:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        digest.update(np.array(matrix.shape, dtype=np.int64).tobytes())
        digest.update(matrix.tobytes())
    return digest.hexdigest()


def course_index(*, cross_encoder: bool = False) -> CorpusIndex:
    """The whole corpus in a :class:`CorpusIndex` with the course's models, as notebook 06 builds it.

    The models are created by plain fastembed calls with the course's model names, so the active
    profile (``helpers.setup()``) decides the weights; their vectors come from the embedding cache
    after the first run. ``index.models`` holds them (``"dense"``, ``"colbert"``, ``"bm25"`` and,
    with ``cross_encoder=True``, ``"cross-encoder"``).
    """
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding

    from .corpus import load_passages
    from .models import BM25_MODEL, COLBERT_MODEL, CROSS_ENCODER_MODEL, DENSE_MODEL

    reranker = None
    if cross_encoder:
        from fastembed.rerank.cross_encoder import TextCrossEncoder

        reranker = TextCrossEncoder(CROSS_ENCODER_MODEL)
    return CorpusIndex.build([p.text for p in load_passages()], dense_model=TextEmbedding(DENSE_MODEL),
                             colbert_model=LateInteractionTextEmbedding(COLBERT_MODEL),
                             bm25_model=SparseTextEmbedding(BM25_MODEL), cross_encoder=reranker)
