"""MaxSim, the late-interaction score, in numpy.

For a query of ``n_query_tokens`` vectors and a document of ``n_doc_tokens`` vectors (all of
dimension ``dim``), MaxSim takes every query vector, finds the document vector with the
largest dot product, and adds those best dot products up::

    maxsim(Q, D) = sum over query rows i of  max over document rows j of  Q[i] . D[j]

That is what Qdrant computes for a multivector collection with
``MultiVectorComparator.MAX_SIM`` and ``Distance.DOT``. Every query row counts, including the
``[MASK]`` rows ColBERT appends to short queries (query augmentation).

The functions:

- ``maxsim(query_vectors, doc_vectors)``: the score of one document (notebook 02).
- ``explain_maxsim(query_vectors, doc_vectors)``: which document row each query row picked,
  and what it contributed (notebook 02).
- ``maxsim_scores(query_vectors, documents)``: one query against many documents, fast
  (notebooks 03 and 04).
- ``pack_documents(documents)``: lays many documents out once for ``maxsim_scores``.

Inputs may be float32 or float64 (or integers). ``maxsim`` and ``explain_maxsim`` compute in
float32 when both inputs are float32 (what embedding models produce, and what Qdrant stores),
otherwise in float64; ``maxsim_scores`` computes in the packed documents' dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "maxsim",
    "explain_maxsim",
    "MaxSimExplanation",
    "maxsim_scores",
    "pack_documents",
    "PackedDocuments",
    "Block",
]

# A block of packed documents holds at most this many token vectors (unless one document is
# longer). 8192 rows x 32 query tokens of float32 similarities is 1 MiB: the block's
# similarity matrix stays in the CPU's L2 cache while it is reduced (benchmarks/README.md).
BLOCK_ROWS = 8192


# --------------------------------------------------------------------------------------------
# Input checks


def _check_matrix(matrix, name: str) -> np.ndarray:
    """``matrix`` as a 2-D numpy array of real numbers, or a ValueError naming ``name``."""
    array = np.asarray(matrix)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D matrix of shape (n_tokens, dim), "
            f"got a {array.ndim}-D array of shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: it has 0 rows (token vectors), shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError(f"{name} is empty: its vectors have 0 dimensions, shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_same_dim(query: np.ndarray, doc: np.ndarray, doc_name: str) -> None:
    if query.shape[1] != doc.shape[1]:
        raise ValueError(
            f"dimension mismatch: the query vectors have dim {query.shape[1]} "
            f"but {doc_name} has dim {doc.shape[1]}"
        )


def _float_dtype(*dtypes) -> np.dtype:
    """float32 if every input is float32 (or smaller), else float64."""
    return np.result_type(*dtypes, np.float32)


# --------------------------------------------------------------------------------------------
# One document: notebook 02


def maxsim(query_vectors, doc_vectors) -> float:
    """MaxSim of one query against one document, as Qdrant's MAX_SIM comparator computes it.

    Taught in notebooks/02-maxsim-distance.ipynb.

    Args:
        query_vectors: (n_query_tokens, dim) array; every row counts, ColBERT's [MASK]
            augmentation rows included.
        doc_vectors: (n_doc_tokens, dim) array.

    Returns:
        For every query row, the largest dot product with any document row, summed.
        Not symmetric: ``maxsim(Q, D) != maxsim(D, Q)`` in general.

    Raises:
        ValueError: an input is not 2-D, is empty, holds NaN/inf, or the dims differ.
    """
    query = _check_matrix(query_vectors, "the query matrix")
    doc = _check_matrix(doc_vectors, "the document matrix")
    _check_same_dim(query, doc, "the document")
    dtype = _float_dtype(query.dtype, doc.dtype)
    similarities = query.astype(dtype, copy=False) @ doc.astype(dtype, copy=False).T
    # similarities: (n_query_tokens, n_doc_tokens); best match per query row, then the sum
    return float(similarities.max(axis=1).sum())


class MaxSimExplanation(NamedTuple):
    """Where a MaxSim score comes from (``explain_maxsim``).

    Attributes:
        best_doc_rows: (n_query_tokens,) int64; for query row i, the index of the document row
            with the largest dot product (the first one if several tie).
        contributions: (n_query_tokens,) float; that dot product: query row i's share of the score.
        score: ``contributions.sum()``, equal to ``maxsim(query_vectors, doc_vectors)``.
    """

    best_doc_rows: np.ndarray
    contributions: np.ndarray
    score: float


#: Similarities this close to a row's maximum count as tied in :func:`explain_maxsim`: about ten
#: times the largest difference ``make check-cpus`` measures between CPUs for the course's vectors.
TIE_TOLERANCE = 1e-5


def explain_maxsim(query_vectors, doc_vectors) -> MaxSimExplanation:
    """For every query row, the document row it picked and the dot product it contributed.

    Taught in notebooks/02-maxsim-distance.ipynb.

    Args:
        query_vectors: (n_query_tokens, dim) array.
        doc_vectors: (n_doc_tokens, dim) array.

    Returns:
        ``MaxSimExplanation(best_doc_rows, contributions, score)``: arrays of shape
        (n_query_tokens,); the contributions (each row's maximum) sum to the score, which equals
        ``maxsim``. When two document rows are within :data:`TIE_TOLERANCE` of a row's maximum
        (a [CLS] and a [SEP] often are), the earlier one is the pick: such a near-tie is decided by
        the last bits of float arithmetic, which differ between CPUs, so ``argmax`` alone would
        name a different token on another machine.

    Raises:
        ValueError: as ``maxsim``.
    """
    query = _check_matrix(query_vectors, "the query matrix")
    doc = _check_matrix(doc_vectors, "the document matrix")
    _check_same_dim(query, doc, "the document")
    dtype = _float_dtype(query.dtype, doc.dtype)
    similarities = query.astype(dtype, copy=False) @ doc.astype(dtype, copy=False).T
    contributions = similarities.max(axis=1)
    # the first row within the tolerance of the maximum (argmax of a boolean picks the first True)
    best_doc_rows = (similarities >= contributions[:, None] - TIE_TOLERANCE).argmax(axis=1)
    return MaxSimExplanation(best_doc_rows, contributions, float(contributions.sum()))


# --------------------------------------------------------------------------------------------
# Many documents: notebooks 03 and 04


class Block(NamedTuple):
    """Documents of one length, stored together in ``PackedDocuments.vectors``.

    Attributes:
        doc_ids: (n_docs_in_block,) int64, the documents' indices in the original list.
        n_tokens: every document in the block has this many token vectors.
        rows: the block's rows in ``PackedDocuments.vectors``: ``n_tokens * n_docs_in_block``
            rows, token-major: row ``start + t * n_docs_in_block + j`` is token t of document
            ``doc_ids[j]``.
    """

    doc_ids: np.ndarray
    n_tokens: int
    rows: slice


@dataclass(frozen=True)
class PackedDocuments:
    """Many documents' token vectors in one array, laid out for ``maxsim_scores``.

    Build it once with ``pack_documents(documents)`` and score as many queries as you like
    against it. Taught in notebooks/03-use-cases.ipynb and
    notebooks/04-problems-of-multi-vector-search.ipynb.

    The layout, chosen for speed (see benchmarks/maxsim.py):

    - documents are grouped by length into blocks of at most ``BLOCK_ROWS`` rows (a document
      longer than that gets a block of its own);
    - inside a block the rows are token-major: first token 0 of every document of the block,
      then token 1 of every document, and so on.

    So one matrix product gives a block's similarities, shape (n_tokens, n_docs_in_block *
    n_query_tokens) once reshaped, and each document's best match per query row is a maximum
    down the first axis, over contiguous memory, with no padding.
    ``document(i)`` gives document i back.

    The documents were checked by ``pack_documents`` (2-D, non-empty, same dim, finite), so
    ``maxsim_scores`` trusts a PackedDocuments and only checks the query: checking 10,000
    documents for NaN on every query would cost more than scoring them. ``vectors`` is
    read-only to keep it that way.

    Attributes:
        vectors: (total_rows, dim) float32 or float64, C-contiguous, read-only.
        lengths: (n_documents,) int64, each document's number of token vectors, original order.
        blocks: tuple of ``Block``.
    """

    vectors: np.ndarray
    lengths: np.ndarray
    blocks: tuple[Block, ...]

    @property
    def n_documents(self) -> int:
        return len(self.lengths)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def document(self, index: int) -> np.ndarray:
        """Document ``index``'s (n_tokens, dim) matrix, as it was given to ``pack_documents``."""
        for block in self.blocks:
            positions = np.flatnonzero(block.doc_ids == index)
            if len(positions):
                by_token = self.vectors[block.rows].reshape(block.n_tokens, len(block.doc_ids), -1)
                return by_token[:, positions[0]]
        raise IndexError(f"document index {index} out of range for {self.n_documents} documents")


def pack_documents(documents: Sequence, *, block_rows: int = BLOCK_ROWS) -> PackedDocuments:
    """Check many documents and lay them out once for ``maxsim_scores``.

    Taught in notebooks/03-use-cases.ipynb and notebooks/04-problems-of-multi-vector-search.ipynb.

    Args:
        documents: a list (or other sequence) of (n_doc_tokens_i, dim) arrays, lengths may differ.
        block_rows: the most rows a block holds (see ``PackedDocuments``); the default suits
            dim 128 and 32 query tokens.

    Returns:
        A ``PackedDocuments``, float32 if every document is float32, otherwise float64.

    Raises:
        ValueError: the list is empty, or document i (named in the message) is not 2-D, is empty,
            holds NaN/inf, or has a different dim from document 0.
    """
    if isinstance(documents, np.ndarray) and documents.ndim == 2:
        raise ValueError(
            "documents must be a list of (n_tokens, dim) matrices, got one 2-D array; "
            "use maxsim() for a single document"
        )
    matrices = [_check_matrix(doc, f"document {i}") for i, doc in enumerate(documents)]
    if not matrices:
        raise ValueError("the document list is empty: there is nothing to score")
    dim = matrices[0].shape[1]
    for i, matrix in enumerate(matrices):
        if matrix.shape[1] != dim:
            raise ValueError(
                f"dimension mismatch: document {i} has dim {matrix.shape[1]} "
                f"but document 0 has dim {dim}"
            )
    dtype = _float_dtype(*{matrix.dtype for matrix in matrices})
    lengths = np.array([len(matrix) for matrix in matrices], dtype=np.int64)

    # Sort the documents by length (stable: ties keep their order), cut each run of equal
    # lengths into blocks of at most block_rows rows, copy each block in token-major order.
    order = np.argsort(lengths, kind="stable")
    sorted_lengths = lengths[order]
    run_starts = np.flatnonzero(np.diff(sorted_lengths)) + 1
    runs = zip([0, *run_starts.tolist()], [*run_starts.tolist(), len(order)])

    vectors = np.empty((int(lengths.sum()), dim), dtype=dtype)
    blocks = []
    next_row = 0
    for run_start, run_stop in runs:
        n_tokens = int(sorted_lengths[run_start])
        docs_per_block = max(1, block_rows // n_tokens)
        for first in range(run_start, run_stop, docs_per_block):
            doc_ids = order[first : min(first + docs_per_block, run_stop)]
            rows = slice(next_row, next_row + n_tokens * len(doc_ids))
            by_token = vectors[rows].reshape(n_tokens, len(doc_ids), dim)
            np.stack([matrices[i] for i in doc_ids], axis=1, out=by_token)
            blocks.append(Block(doc_ids, n_tokens, rows))
            next_row = rows.stop
    vectors.flags.writeable = False
    return PackedDocuments(vectors, lengths, tuple(blocks))


def maxsim_scores(query_vectors, documents) -> np.ndarray:
    """MaxSim of one query against many documents of different lengths.

    Taught in notebooks/03-use-cases.ipynb and notebooks/04-problems-of-multi-vector-search.ipynb.

    Args:
        query_vectors: (n_query_tokens, dim) array.
        documents: a list of (n_doc_tokens_i, dim) arrays, or a ``PackedDocuments`` from
            ``pack_documents``. Scoring several queries against the same documents? Pack them
            once: a list is packed (copied and checked) on every call.

    Returns:
        (n_documents,) array, ``maxsim(query_vectors, documents[i])`` for every i, in the
        documents' order; float32 when the documents are float32 (the query is converted to
        the documents' dtype), else float64.

    Raises:
        ValueError: the query is not 2-D, is empty or holds NaN/inf; its dim differs from
            the documents'; or, for a list, as ``pack_documents``.
    """
    query = _check_matrix(query_vectors, "the query matrix")
    packed = documents if isinstance(documents, PackedDocuments) else pack_documents(documents)
    _check_same_dim(query, packed.vectors, "the documents")
    return _best_per_query_row(query.astype(packed.vectors.dtype, copy=False).T, packed).sum(axis=1)


def maxsim_scores_batch(queries: Sequence, documents, *, batch_size: int = 8) -> np.ndarray:
    """MaxSim of several queries against many documents, ``batch_size`` queries per matrix product.

    Row q equals ``maxsim_scores(queries[q], documents)`` up to float32 rounding (the matrix
    product sums in another order when it is wider; differences of about 1e-6). A matrix product of the documents' rows
    with 32 query rows uses a CPU poorly; with 8 queries' rows at once (256 columns) it does about
    twice the work per second, so scoring a query set this way takes about half the time (40
    ColBERT queries against the course's 2,458 passages on 2 cores: 9.4 ms a query against 18.7).

    Args:
        queries: a list of (n_query_tokens_i, dim) arrays (lengths may differ).
        documents: as in ``maxsim_scores`` (a ``PackedDocuments`` is best).
        batch_size: queries per matrix product, at least 1.

    Returns:
        (n_queries, n_documents) array, float32 when the documents are float32, else float64.

    Raises:
        ValueError: the query list is empty; a query is not 2-D, is empty, holds NaN/inf or has
            another dim than the documents (the message names it); ``batch_size`` is below 1.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    matrices = [_check_matrix(q, f"query {i}") for i, q in enumerate(queries)]
    if not matrices:
        raise ValueError("the query list is empty: there is nothing to score")
    packed = documents if isinstance(documents, PackedDocuments) else pack_documents(documents)
    for i, matrix in enumerate(matrices):
        if matrix.shape[1] != packed.dim:
            raise ValueError(f"dimension mismatch: query {i} has dim {matrix.shape[1]} "
                             f"but the documents have dim {packed.dim}")
    scores = np.empty((len(matrices), packed.n_documents), dtype=packed.vectors.dtype)
    for start in range(0, len(matrices), batch_size):
        group = matrices[start:start + batch_size]
        rows_t = np.concatenate(group).astype(packed.vectors.dtype, copy=False).T  # (dim, rows)
        best = _best_per_query_row(rows_t, packed)  # (n_documents, rows of every query in the group)
        bounds = np.cumsum([0] + [len(m) for m in group])
        for k in range(len(group)):
            scores[start + k] = best[:, bounds[k]:bounds[k + 1]].sum(axis=1)
    return scores


def _best_per_query_row(query_t: np.ndarray, packed: PackedDocuments) -> np.ndarray:
    """(n_documents, n_query_rows): each document's best similarity for each query row.

    ``query_t`` is (dim, n_query_rows), in the documents' dtype.
    """
    n_query_rows = query_t.shape[1]
    largest = max(block.rows.stop - block.rows.start for block in packed.blocks)
    # Reused by every block: no allocation inside the loop.
    similarity_buffer = np.empty((largest, n_query_rows), dtype=packed.vectors.dtype)
    best = np.empty((packed.n_documents, n_query_rows), dtype=packed.vectors.dtype)

    for block in packed.blocks:
        n_docs = len(block.doc_ids)
        n_rows = block.n_tokens * n_docs
        # (n_rows, n_query_rows): row t * n_docs + j is token t of document j against
        # every query row.
        similarities = np.matmul(
            packed.vectors[block.rows], query_t, out=similarity_buffer[:n_rows]
        )
        # Seen as (n_tokens, n_docs * n_query_rows): the best token of each document for
        # each query row is a maximum down axis 0 (contiguous rows: fast).
        best[block.doc_ids] = np.maximum.reduce(
            similarities.reshape(block.n_tokens, n_docs * n_query_rows), axis=0
        ).reshape(n_docs, n_query_rows)
    return best

