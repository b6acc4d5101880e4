"""Token pooling: fewer ColBERT vectors per passage by merging similar ones (notebook 09)."""

from __future__ import annotations

import math

import numpy as np


def pool_tokens(doc_vectors, pool_factor: int) -> np.ndarray:
    """Merge a passage's token vectors into ``ceil(n_doc_tokens / pool_factor)`` vectors.

    Hierarchical clustering with Ward linkage (``scipy.cluster.hierarchy``) groups the token
    vectors into that many clusters; each cluster becomes the mean of its vectors, scaled to unit
    length. Clusters are returned in the order of their first token, so the result is
    deterministic and reads left to right.

    Args:
        doc_vectors: ``(n_doc_tokens, dim)`` array.
        pool_factor: 1 returns ``doc_vectors`` unchanged; 2 halves the count (rounded up), ...

    Returns:
        ``(ceil(n_doc_tokens / pool_factor), dim)`` float32 array of unit-length rows (the input
        itself when ``pool_factor == 1``).

    Raises ``ValueError`` for a factor below 1 or not an integer, an empty or non-2-D matrix.
    """
    clusters = token_clusters(doc_vectors, pool_factor)
    matrix = np.asarray(doc_vectors)
    if pool_factor == 1:
        return matrix
    pooled = np.stack([matrix[members].mean(axis=0) for members in clusters]).astype(np.float32)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return pooled / np.maximum(norms, 1e-12)


def token_clusters(doc_vectors, pool_factor: int) -> list[np.ndarray]:
    """The token indices ``pool_tokens`` merges: one array per pooled vector, in output order."""
    if isinstance(pool_factor, bool) or not isinstance(pool_factor, (int, np.integer)) or pool_factor < 1:
        raise ValueError(f"pool_factor must be an integer of at least 1, got {pool_factor!r}")
    matrix = np.asarray(doc_vectors)
    if matrix.ndim != 2:
        raise ValueError(f"doc_vectors must be 2-D (n_doc_tokens, dim), got shape {matrix.shape}")
    n = matrix.shape[0]
    if n == 0:
        raise ValueError("doc_vectors has no rows: there is nothing to pool")
    n_clusters = math.ceil(n / pool_factor)
    if pool_factor == 1 or n_clusters >= n:
        return [np.array([i]) for i in range(n)]
    from scipy.cluster.hierarchy import cut_tree, linkage

    # cut_tree gives exactly n_clusters groups, even when merge heights tie (identical vectors)
    labels = cut_tree(linkage(matrix.astype(np.float64), method="ward"), n_clusters=n_clusters)[:, 0]
    groups: dict[int, list[int]] = {}
    for token, label in enumerate(labels):
        groups.setdefault(int(label), []).append(token)
    return [np.array(g) for g in sorted(groups.values(), key=lambda g: g[0])]


def pooled_documents(colbert_model, texts, doc_vectors, pool_factor: int, *, cache: bool | None = None) -> list:
    """``pool_tokens(doc_vectors[i], pool_factor)`` for every passage, kept in the project's cache.

    ``doc_vectors[i]`` is passage ``i``'s ``(n_doc_tokens, dim)`` ColBERT matrix, made by
    ``colbert_model`` from ``texts[i]``. Clustering the whole corpus takes a few seconds per
    factor, so the results are stored like embeddings (``helpers.embedding_cache``), keyed by the
    ColBERT model's files, the texts and the factor. ``cache``: as in ``helpers.embed_documents``.
    """
    from importlib.metadata import version

    from . import embedding_cache

    texts = list(texts)
    if len(texts) != len(doc_vectors):
        raise ValueError(f"{len(texts)} texts but {len(doc_vectors)} ColBERT matrices")

    def compute(positions: list[int]) -> list:
        return [np.asarray(pool_tokens(doc_vectors[i], pool_factor), dtype=np.float32) for i in positions]

    if pool_factor == 1:
        return list(doc_vectors)
    settings = {"method": "pool_tokens", "pool_factor": int(pool_factor), "linkage": "ward", "cut": "cut_tree",
                "colbert": "embed_documents, batch_size 1",
                "scipy": version("scipy")}
    return embedding_cache.cached_unless_off(colbert_model, texts, settings, compute, cache,
                                             description=f"Pooling {len(texts):,} passages (factor {pool_factor})")
