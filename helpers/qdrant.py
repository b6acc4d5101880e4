"""The Qdrant client the notebooks use: embedded by default, a server or cluster by URL.

=====================  =====================================================================
``QDRANT_URL``         a Qdrant server or cluster, e.g. ``http://localhost:6333`` or a Qdrant
                       Cloud URL; unset (the default): Qdrant embedded in the notebook's process
``QDRANT_API_KEY``     the key for that server (optional)
``COURSE_QDRANT_PATH``  embedded mode only: keep the data in this folder instead of in memory
=====================  =====================================================================

Taught in notebook 05 (``notebooks/05-multi-vector-in-qdrant.ipynb``).
"""

from __future__ import annotations

import os

URL_VARIABLE = "QDRANT_URL"
API_KEY_VARIABLE = "QDRANT_API_KEY"
PATH_VARIABLE = "COURSE_QDRANT_PATH"

# One client per location for the whole kernel: embedded Qdrant on a folder holds a lock on it,
# so a second client on the same folder (a re-run cell) would fail.
_CLIENTS: dict[tuple[str, str], object] = {}
CONNECT_TIMEOUT = 3  # seconds: how long qdrant_client() waits for a server to answer


class QdrantServerUnavailable(ConnectionError):
    """``QDRANT_URL`` names a Qdrant server that did not answer (or refused the API key)."""


def describe_location(environ: dict | None = None) -> tuple[str, str]:
    """``(mode, where)`` the environment asks for: ``("server", url)``, ``("embedded", path)``
    or ``("embedded", ":memory:")``."""
    environ = os.environ if environ is None else environ
    url = (environ.get(URL_VARIABLE) or "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{URL_VARIABLE}={url!r} is not a URL; expected http(s)://host:port")
        return "server", url
    path = (environ.get(PATH_VARIABLE) or "").strip()
    return "embedded", path or ":memory:"


def qdrant_client(quiet: bool = False):
    """A ``qdrant_client.QdrantClient`` for the notebooks, chosen from the environment (see above).

    Repeated calls in one process return the same client for the same location, so re-running a
    cell neither fails on the embedded storage lock nor loses the collections. Prints which
    Qdrant it chose unless ``quiet``. A server is asked once for its collections first (see
    ``check_server``): one that does not answer raises ``QdrantServerUnavailable`` at once.
    """
    from qdrant_client import QdrantClient

    mode, where = describe_location()
    key = (mode, where)
    client = _CLIENTS.get(key)
    if client is None:
        if mode == "server":
            api_key = os.environ.get(API_KEY_VARIABLE) or None
            check_server(where, api_key)
            client = QdrantClient(url=where, api_key=api_key)
        elif where == ":memory:":
            client = QdrantClient(location=":memory:")
        else:
            client = QdrantClient(path=where)
        _CLIENTS[key] = client
    if not quiet:
        if mode == "server":
            auth = "with an API key" if os.environ.get(API_KEY_VARIABLE) else "without an API key"
            print(f"Qdrant: server at {where} ({auth})")
        elif where == ":memory:":
            print("Qdrant: embedded in this notebook, in memory (set QDRANT_URL to use a server)")
        else:
            print(f"Qdrant: embedded in this notebook, stored in {where} (set QDRANT_URL to use a server)")
    return client


def check_server(url: str, api_key: str | None = None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Ask the server at ``url`` for its collections once, within ``timeout`` seconds.

    Raises ``QdrantServerUnavailable`` (a ``ConnectionError``) naming ``QDRANT_URL`` and what to
    do, instead of qdrant-client's bare ``[Errno 111] Connection refused`` at the first real call.
    """
    import warnings

    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

    with warnings.catch_warnings():  # the real client gives the http + API key warning, once
        warnings.filterwarnings("ignore", message="Api key is used with an insecure connection")
        probe = QdrantClient(url=url, api_key=api_key, timeout=timeout, check_compatibility=False)
    try:
        probe.get_collections()
        return
    except ResponseHandlingException as error:
        import httpx

        cause = getattr(error, "source", None) or error
        if isinstance(cause, httpx.TransportError):  # refused, unreachable, timed out, TLS
            what = f"no Qdrant server answered there within {timeout:g} s ({cause})"
        else:  # an answer that is not Qdrant's
            what = f"what answered there is not a Qdrant server ({type(cause).__name__})"
    except UnexpectedResponse as error:
        if error.status_code in (401, 403):
            key = f"{API_KEY_VARIABLE} is set" if api_key else f"{API_KEY_VARIABLE} is not set"
            raise QdrantServerUnavailable(
                f"{URL_VARIABLE}={url}: the server refused access ({error.status_code} "
                f"{error.reason_phrase}; {key}). Set {API_KEY_VARIABLE} to this server's API key, or "
                f"unset {URL_VARIABLE} to use the embedded Qdrant."
            ) from None
        what = (f"what answered there is not a Qdrant server (it answered {error.status_code} "
                f"{error.reason_phrase} for its collections)")
    finally:
        probe.close()
    raise QdrantServerUnavailable(
        f"{URL_VARIABLE}={url} but {what}. "
        f"Start the server, fix the URL, or unset {URL_VARIABLE} to use the embedded Qdrant."
    )


def recreate_collection(client, name: str, **config) -> None:
    """Create collection ``name`` afresh (deleting an earlier one), so re-running a notebook
    starts from the same state. ``config`` goes to ``client.create_collection``."""
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, **config)


def multivector_points(multivectors, *, dense_vectors=None, payloads=None, ids=None, sparse_vectors=None,
                       multi_name: str = "colbert", dense_name: str = "dense", sparse_name: str = "bm25"):
    """``qdrant_client.models.PointStruct`` s for documents embedded by hand, checked first.

    Args:
        multivectors: one ``(n_doc_tokens, dim)`` matrix per document (ColBERT output).
        dense_vectors: optional, one ``(dense_dim,)`` vector per document.
        payloads: optional, one dict per document.
        ids: optional point ids (default 0, 1, 2, ...).
        sparse_vectors: optional, one sparse vector per document: a fastembed ``SparseEmbedding``
            or an ``(indices, values)`` pair (BM25 in notebook 07).

    Raises ``ValueError`` naming the document when a matrix is not 2-D (a single ``(dim,)`` vector
    must be given as shape ``(1, dim)``), has no rows (nothing for MaxSim to match), has rows of
    different widths than the others, or holds NaN or infinite values: Qdrant's own errors for
    these come later and say less. A one-row document is valid: MaxSim then adds up each query
    token's dot product with that one vector. Used in notebook 05.
    """
    from qdrant_client import models

    rows = checked_points(multivectors, dense_vectors, payloads, ids, multi_name, dense_name)
    if sparse_vectors is not None:
        sparse_vectors = list(sparse_vectors)
        if len(sparse_vectors) != len(rows):
            raise ValueError(f"sparse_vectors has {len(sparse_vectors)} entries for {len(rows)} documents")
        for (_, vector, _), sparse in zip(rows, sparse_vectors):
            indices, values = (sparse.indices, sparse.values) if hasattr(sparse, "indices") else sparse
            vector[sparse_name] = models.SparseVector(indices=[int(i) for i in indices],
                                                      values=[float(v) for v in values])
    return [models.PointStruct(id=point_id, vector=vector, payload=payload) for point_id, vector, payload in rows]


def checked_points(multivectors, dense_vectors=None, payloads=None, ids=None,
                   multi_name: str = "colbert", dense_name: str = "dense"):
    """``(id, {name: vector as lists}, payload)`` per document, after the checks that
    ``multivector_points`` documents. Shared by ``multivector_points`` and
    ``helpers.edge.edge_points``."""
    import numpy as np

    multivectors = list(multivectors)
    n = len(multivectors)
    if n == 0:
        raise ValueError("no documents given")
    ids = list(range(n)) if ids is None else list(ids)
    for name, values in (("ids", ids), ("dense_vectors", dense_vectors), ("payloads", payloads)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries for {n} documents")
    dim = None
    rows = []
    for i, matrix in enumerate(multivectors):
        where = f"document {i} (id {ids[i]!r})"
        matrix = np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2:
            raise ValueError(f"{where}: a multivector must be 2-D (n_tokens, dim), got shape {matrix.shape}; "
                             "a single vector must be given as shape (1, dim)")
        if matrix.shape[0] == 0:
            raise ValueError(f"{where} has no vectors: there is nothing for MaxSim to match")
        if dim is None:
            dim = matrix.shape[1]
        elif matrix.shape[1] != dim:
            raise ValueError(f"{where} has vectors of dimension {matrix.shape[1]}, the others {dim}")
        if not np.isfinite(matrix).all():
            raise ValueError(f"{where} holds NaN or infinite values")
        vector = {multi_name: matrix.tolist()}
        if dense_vectors is not None:
            vector[dense_name] = np.asarray(dense_vectors[i], dtype=np.float32).tolist()
        rows.append((ids[i], vector, None if payloads is None else payloads[i]))
    return rows


def search(client, collection: str, multi_query, *, dense_query=None, candidates: int | None = None,
           limit: int = 10, multi_name: str = "colbert", dense_name: str = "dense") -> list:
    """Top ``limit`` point ids by MaxSim, over everything or over dense candidates.

    With ``candidates=None``: one stage, MaxSim (``multi_query``, shape ``(n_query_tokens, dim)``)
    over the whole collection. With ``candidates=N``: two stages in one Universal Query API call,
    a dense prefetch of the top ``N`` by ``dense_query`` (shape ``(dense_dim,)``), reranked by
    MaxSim. Used in notebook 05.
    """
    import numpy as np
    from qdrant_client import models

    query = np.asarray(multi_query, dtype=np.float32).tolist()
    prefetch = None
    if candidates is not None:
        if dense_query is None:
            raise ValueError("a two-stage search (candidates=N) needs dense_query")
        if candidates < limit:
            raise ValueError(f"candidates ({candidates}) must be at least limit ({limit})")
        prefetch = models.Prefetch(query=np.asarray(dense_query, dtype=np.float32).tolist(),
                                   using=dense_name, limit=candidates)
    response = client.query_points(collection, query=query, using=multi_name, prefetch=prefetch,
                                   limit=limit, with_payload=False)
    return [point.id for point in response.points]
