"""One readable label per ColBERT vector: which token each row of an embedding belongs to.

Taught in notebooks/02-maxsim-distance.ipynb.
"""

from __future__ import annotations

from typing import Any

#: The values ``kind`` accepts.
KINDS = ("query", "document")

#: The models whose marker/skip logic :func:`token_labels` replicates, verified against
#: fastembed 0.9.1 (compared lower-case, as fastembed compares model names).
SUPPORTED_MODELS = ("colbert-ir/colbertv2.0",)

QUERY_MARKER_LABEL = "[Q]"
DOCUMENT_MARKER_LABEL = "[D]"

# What fastembed's Colbert class must look like for the replication below to hold.
_EXPECTED_COLBERT_CONSTANTS = {
    "QUERY_MARKER_TOKEN_ID": 1,
    "DOCUMENT_MARKER_TOKEN_ID": 2,
    "RESERVED_MARKER_TOKENS": 1,
    "MIN_QUERY_LENGTH": 31,
    "MASK_TOKEN": "[MASK]",
}


def token_labels(model: Any, text: str, kind: str) -> list[str]:
    """The token behind each vector fastembed returns for ``text``, in the vectors' order.

    ``model`` is a ``LateInteractionTextEmbedding("colbert-ir/colbertv2.0")`` (or the
    ``Colbert`` object it wraps as ``.model``); ``kind`` is ``"query"`` (as ``query_embed``
    embeds it) or ``"document"`` (as ``embed``/``passage_embed`` do). The result has exactly
    one label per row of the embedding, so ``zip(labels, vectors)`` pairs them correctly:

    - query "apple computer" -> 32 labels:
      ``["[CLS]", "[Q]", "apple", "computer", "[SEP]", "[MASK]", ..., "[MASK]"]``
      (the [Q] marker after [CLS], then [MASK] query augmentation up to 32 rows;
      longer queries are not padded, and are truncated as the model truncates them);
    - document "Hello, world! It is 5 p.m." -> ``["[CLS]", "[D]", "hello", "world", "it",
      "is", "5", "p", "m", "[SEP]"]`` (the [D] marker after [CLS], punctuation dropped,
      long documents truncated at 512 rows including the marker).

    Word pieces keep the tokenizer's spelling ("mac", "##book"); unknown characters show
    as "[UNK]".

    The pitfall it avoids: pairing tokenizer output (``model.model.tokenize([text])[0].tokens``)
    with the vectors by position is off by one from the second row on (the [Q]/[D] marker is
    inserted later, inside the ONNX call), misses the [MASK] rows a short query is padded
    with (``tokenize`` uses the document tokenizer unless told ``is_doc=False``), and for
    documents keeps the punctuation tokens whose vectors fastembed drops, so every later label
    ends up next to the wrong vector.

    Uses the model's own tokenizers and skip list, so the labels are the same for the real
    weights and the course's offline stand-ins. Any other model (a dense ``TextEmbedding``,
    or another ColBERT-family model whose marker logic has not been verified here) raises
    ValueError instead of guessing.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS!r}, got {kind!r}")
    if not isinstance(text, str):
        raise TypeError(
            f"text must be a str (one query or one document), got {type(text).__name__}; "
            "call token_labels once per text"
        )
    colbert = _colbert_of(model)
    is_doc = kind == "document"

    # lazy_load=True leaves the tokenizers unloaded until the first embedding call
    loaded = (getattr(colbert, name, None) is not None for name in ("tokenizer", "query_tokenizer"))
    if not all(loaded):
        if hasattr(colbert, "_ensure_tokenizer"):
            colbert._ensure_tokenizer()
        else:  # older fastembed: tokenizers are loaded with the ONNX session
            colbert.load_onnx_model()

    # Tokenize exactly as Colbert.onnx_embed does: `self.tokenize(documents, is_doc=...)`
    # picks `tokenizer` (documents; truncation at max_length - 1) or `query_tokenizer`
    # (queries; padded with [MASK] to MIN_QUERY_LENGTH = 31), see
    # fastembed/late_interaction/colbert.py, Colbert.tokenize / _load_tokenizer.
    encoding = colbert.tokenize([text], is_doc=is_doc)[0]
    ids = list(encoding.ids)
    labels = list(encoding.tokens)

    # Mirrors fastembed/late_interaction/colbert.py (fastembed 0.9.1), Colbert:
    # - _preprocess_onnx_input: `np.insert(input_ids, 1, marker_token, axis=1)`, the marker
    #   (DOCUMENT_MARKER_TOKEN_ID = 2 or QUERY_MARKER_TOKEN_ID = 1) goes in at position 1;
    marker_id = colbert.DOCUMENT_MARKER_TOKEN_ID if is_doc else colbert.QUERY_MARKER_TOKEN_ID
    ids.insert(1, marker_id)
    labels.insert(1, DOCUMENT_MARKER_LABEL if is_doc else QUERY_MARKER_LABEL)
    if not is_doc:
        # - _post_process_onnx_output, `if not is_doc: yield embedding`: every query row is kept
        return labels
    # - _post_process_onnx_output, document branch:
    #   `if token_id in self.skip_list or token_id == self.pad_token_id:
    #        output.attention_mask[i, j] = 0` ... `yield embedding[attention_mask == 1]`.
    #   The marker is never in the skip list (ids 1/2 are [unused0]/[unused1]).
    skip = colbert.skip_list
    pad = colbert.pad_token_id
    return [
        label
        for token_id, label, attended in zip(ids, labels, [1] + list(encoding.attention_mask))
        if attended and token_id not in skip and token_id != pad
    ]


def _colbert_of(model: Any) -> Any:
    """The fastembed ``Colbert`` object behind ``model``, or ValueError if it is not one we align."""
    from fastembed.late_interaction.colbert import Colbert
    from fastembed.late_interaction.late_interaction_text_embedding import (
        LateInteractionTextEmbedding,
    )

    inner = model.model if isinstance(model, LateInteractionTextEmbedding) else model
    name = getattr(inner, "model_name", None) or getattr(model, "model_name", None)
    # exact class: subclasses (JinaColbert, LateOn, ...) change markers, masks or skip lists
    if type(inner) is not Colbert or str(name).lower() not in SUPPORTED_MODELS:
        described = f"{type(model).__name__}({name!r})" if name else type(model).__name__
        raise ValueError(
            f"token_labels cannot align tokens for {described}: it only knows the marker and "
            f"punctuation logic of fastembed's ColBERT for {', '.join(SUPPORTED_MODELS)} "
            "(pass LateInteractionTextEmbedding('colbert-ir/colbertv2.0'))"
        )
    changed = {
        attr: getattr(inner, attr, None)
        for attr, value in _EXPECTED_COLBERT_CONSTANTS.items()
        if getattr(inner, attr, None) != value
    }
    if changed:
        raise ValueError(
            f"token_labels cannot align tokens: this fastembed's Colbert differs from the "
            f"version it was verified against ({changed} instead of "
            f"{ {k: _EXPECTED_COLBERT_CONSTANTS[k] for k in changed} })"
        )
    return inner
