"""Embedding many documents at once: one at a time by default, each embedded once per project.

``embed_documents(model, texts)`` is ``model.passage_embed(texts)`` with two changes:

- **batching.** By default every text is its own batch (``batch_size=1``). fastembed pads every
  text in a batch to the batch's longest, and the offline weights are int8 models that quantize
  each layer's input with one scale per batch (``DynamicQuantizeLinear``), so a passage's vectors
  depend on which other passages share its batch: between batches of 8 and of 32, the same
  passage's ColBERT token vectors differed by a cosine as low as 0.82. One text per batch gives
  each passage the vectors of that passage alone, wherever it is embedded. It costs no time and
  saves memory: 1,000 corpus passages through both models took 32-47 s on 2 cores with a 0.4 GB
  peak, against 37-43 s and 1.6 GB (kept after the run, in ONNX Runtime's arena) in batches of 32.
  With a larger ``batch_size`` the texts are fed in order of length, so that little is padded,
  and the results are put back in the caller's order.
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
