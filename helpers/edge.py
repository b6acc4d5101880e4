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


@atexit.register
def _close_all() -> None:
    while _SHARDS:
        shard, folder = _SHARDS.pop()
        try:
            shard.close()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
