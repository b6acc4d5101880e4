"""Embedding many documents at once: one at a time by default, each embedded once per project.

``embed_documents(model, texts)`` is ``model.passage_embed(texts)`` with two changes:

- **batching.** By default every text is its own batch (``batch_size=1``). fastembed pads every
  text in a batch to the batch's longest; one text per batch was the fastest setting here and the
  smallest in memory (200 corpus passages through the offline ColBERT graph on 2 cores: 8.9 s one
  at a time, 10.5 s in batches of 4, 18.4 s in batches of 16, 40 s in batches of 64; the vectors
  were identical). It also keeps a passage's vectors independent of its neighbours for models that
  quantize each batch together: the Hub's int8 bge-small does, and the offline graphs did before
  they ran in float32 (between batches of 8 and 32 a passage's ColBERT vectors differed by a
  cosine as low as 0.82). With a larger ``batch_size`` the texts of each cache chunk are fed in
  order of length, so that little is padded, and the results are put back in the caller's order.
- **caching.** The results are stored in the project's embedding cache
  (:mod:`helpers.embedding_cache`) and read back by every later call with the same model file,
  texts and batch size: notebooks 04 and 05 and the tests embed the corpus once between them.
  ``cache=False``, or ``COURSE_EMBEDDING_CACHE=off`` in the environment, computes afresh and
  stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import embedding_cache

#: Bump when the way ``embed_documents`` batches changes what it computes.
BATCHING = "length-sorted-within-chunks-v2"


def embed_documents(model, texts: Sequence[str], batch_size: int = 1, *,
                    cache: bool | None = None) -> list[np.ndarray]:
    """``model.passage_embed(texts)``, one array per text in the order of ``texts``, cached.

    ``model`` is a fastembed ``TextEmbedding`` (each result: shape ``(dim,)``) or
    ``LateInteractionTextEmbedding`` (each result: ``(n_doc_tokens, dim)``). ``cache``: None
    (default) uses the project's embedding cache unless ``COURSE_EMBEDDING_CACHE=off``; False
    never reads or writes it; True uses it whatever the environment says.
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a list of strings, got a single string")
    texts = list(texts)
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("texts must be a list of strings")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")

    def compute(positions: list[int]) -> list[np.ndarray]:
        order = sorted(positions, key=lambda i: len(texts[i]))
        embedded = model.passage_embed([texts[i] for i in order], batch_size=batch_size)
        results = dict(zip(order, embedded))
        return [results[i] for i in positions]

    settings = {"method": "passage_embed", "batch_size": batch_size, "batching": BATCHING}
    return embedding_cache.cached_unless_off(model, texts, settings, compute, cache,
                                             description=f"Embedding {len(texts):,} passages")
