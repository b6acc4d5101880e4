"""Qdrant's own engine in this process (``qdrant-edge-py``), for what qdrant-client's local mode
cannot show.

qdrant-client's local mode (``helpers.qdrant_client()`` without ``QDRANT_URL``) is a Python
re-implementation of Qdrant for prototyping: it computes ``MAX_SIM`` exactly, but it builds no
index and stores quantization settings without using them. ``qdrant_edge`` runs the Rust engine a
Qdrant server runs, inside the notebook's process, with no server to start. Its API differs from
qdrant-client's (``EdgeShard``, ``EdgeVectorParams``, ``QueryRequest``); these helpers keep the
notebook code close to the client's.

Known bug in qdrant-edge-py 0.9.0: a boolean payload value matched with ``MatchValue(True)``
matches nothing (the engine stores it as the integer 1). Store flags as strings or integers.

Taught in notebook 05.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile

from .qdrant import checked_points

_SHARDS: list = []  # closed, and their folders removed, when the kernel exits


def edge_shard(vectors: dict, **config):
    """A new, empty ``qdrant_edge.EdgeShard`` in a fresh temporary folder.

    Args:
        vectors: ``{name: qdrant_edge.EdgeVectorParams}``, like qdrant-client's ``vectors_config``.
        config: any other ``qdrant_edge.EdgeConfig`` argument (``sparse_vectors``, ``optimizers``...).

    The folder is deleted, and the shard closed, when the Python process exits; nothing is written
    anywhere else. Raises ``ValueError`` for an empty ``vectors``.
    """
    from qdrant_edge import EdgeConfig, EdgeShard

    if not vectors:
        raise ValueError("vectors is empty: name at least one vector field, e.g. {'colbert': EdgeVectorParams(...)}")
    folder = tempfile.mkdtemp(prefix="course-qdrant-edge-")
    shard = EdgeShard.create(folder, EdgeConfig(vectors=dict(vectors), **config))
    _SHARDS.append((shard, folder))
    return shard


def edge_points(multivectors, *, dense_vectors=None, payloads=None, ids=None,
                multi_name: str = "colbert", dense_name: str = "dense") -> list:
    """``qdrant_edge.Point`` s for documents embedded by hand: the same arguments and the same
    checks (and ``ValueError`` s) as ``helpers.multivector_points``.

    Args:
        multivectors: one ``(n_doc_tokens, dim)`` matrix per document.
        dense_vectors: optional, one ``(dense_dim,)`` vector per document.
        payloads: optional, one dict per document.
        ids: optional point ids (default 0, 1, 2, ...).
    """
    from qdrant_edge import Point

    return [Point(point_id, vector, payload)
            for point_id, vector, payload in checked_points(multivectors, dense_vectors, payloads, ids,
                                                             multi_name, dense_name)]


def upsert_in_batches(shard, multivectors, *, dense_vectors=None, dense_name: str = "dense",
                      multi_name: str = "colbert", batch_size: int = 250) -> None:
    """Upsert one point per document (ids 0, 1, 2, ...) into ``shard``, ``batch_size`` at a time so
    that the points' Python lists never hold the whole corpus at once. Arguments as in
    :func:`edge_points`; raises ``ValueError`` for a ``batch_size`` below 1."""
    from qdrant_edge import UpdateOperation

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for start in range(0, len(multivectors), batch_size):
        ids = list(range(start, min(start + batch_size, len(multivectors))))
        dense = None if dense_vectors is None else [dense_vectors[i] for i in ids]
        shard.update(UpdateOperation.upsert_points(edge_points(
            [multivectors[i] for i in ids], dense_vectors=dense, ids=ids, dense_name=dense_name, multi_name=multi_name)))


def close_shard(shard) -> None:
    """Close a shard made by :func:`edge_shard` now, and delete its folder (instead of at exit)."""
    for i, (known, folder) in enumerate(_SHARDS):
        if known is shard:
            del _SHARDS[i]
            try:
                shard.close()
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return
    raise ValueError("this shard was not made by helpers.edge_shard, or is closed already")


@atexit.register
def _close_all() -> None:
    while _SHARDS:
        shard, folder = _SHARDS.pop()
        try:
            shard.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def engine_rankings(model, doc_vectors, queries, quantization, params, *, limit: int = 10,
                    cache: bool | None = None) -> list[list[tuple[int, float]]]:
    """Qdrant's engine's top ``limit`` for each query, over a shard of the ColBERT matrices
    ``doc_vectors`` (point id = position) quantized by ``quantization``, searched with ``params``.

    The shard is notebook 08's: one ``colbert`` multivector field (``Dot``, ``MaxSim``, no HNSW
    graph, so every query is an exact scan), upserted in batches of 250 and optimized. A scan of
    the corpus costs the engine tens of milliseconds per query, so the rankings are kept in the
    project's embedding cache, keyed by the ColBERT model (``model``), the queries' texts and
    matrices, a digest of ``doc_vectors``, the ``repr`` of ``quantization`` and ``params``, and the
    qdrant-edge-py version; the shard is built only when some query is not cached, and closed
    before returning (one shard at a time keeps a sweep within the notebooks' memory budget).
    ``queries``:
    :class:`helpers.pipelines.EmbeddedQuery` objects. ``cache``: as in ``helpers.embed_documents``.
    Returns one ``[(point id, score), ...]`` per query, best first.
    """
    from importlib.metadata import version

    import numpy as np
    from qdrant_edge import (Distance, EdgeVectorParams, HnswIndexConfig, MultiVectorComparator, MultiVectorConfig,
                             Query, QueryRequest)

    from . import embedding_cache
    from .pipelines import matrices_sha256

    queries = list(queries)
    documents = matrices_sha256(doc_vectors)
    made = []  # the shard, built at the first query the cache does not hold

    def shard():
        if not made:
            made.append(edge_shard({"colbert": EdgeVectorParams(
                size=int(doc_vectors[0].shape[1]), distance=Distance.Dot,
                multivector_config=MultiVectorConfig(MultiVectorComparator.MaxSim), quantization_config=quantization,
                hnsw_config=HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000))}))
            upsert_in_batches(made[0], doc_vectors)
            made[0].optimize()
        return made[0]

    def compute(positions: list[int]) -> list:
        found = []
        for i in positions:
            points = shard().query(QueryRequest(limit=limit, params=params,
                                              query=Query.Nearest(queries[i].colbert.tolist(), using="colbert")))
            found.append(np.array([[p.id, p.score] for p in points], dtype=np.float64).reshape(-1, 2))
        return found

    settings = {"method": "qdrant-edge query", "qdrant-edge-py": version("qdrant-edge-py"), "limit": limit,
                "quantization": repr(quantization), "params": repr(params),
                "documents": documents,
                "queries": matrices_sha256([q.colbert for q in queries])}
    try:
        rows = embedding_cache.cached_unless_off(model, [q.text for q in queries], settings, compute, cache,
                                                 description=f"Qdrant's engine, {len(queries)} queries")
    finally:
        if made:
            close_shard(made[0])
    return [[(int(pid), float(score)) for pid, score in row] for row in rows]
