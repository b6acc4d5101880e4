"""Scalar int8 quantization of ColBERT vectors, as notebook 08 builds it by hand.

Each number becomes one of 256 steps between a low and a high value taken from the whole
collection (by default its smallest and largest number), and is read back as the step's value.
The result is what a search over int8 codes scores: the same arrays, with only 256 values possible.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def int8_roundtrip(matrices: Sequence, low: float | None = None, high: float | None = None) -> list[np.ndarray]:
    """Every matrix quantized to 256 steps between ``low`` and ``high`` and read back, as float32.

    ``matrices``: one ``(n_tokens, dim)`` array per passage. ``low`` and ``high`` default to the
    smallest and largest number over all of them (notebook 08's choice); values outside are
    clipped. Returns one ``(n_tokens, dim)`` float32 array per passage, each number at most half
    a step, ``(high - low) / 510``, from the original (inside the range). Raises ``ValueError``
    for no matrices, a matrix that is not 2-D, non-finite numbers, or ``high <= low``.
    """
    if len(matrices) == 0:
        raise ValueError("matrices is empty: pass one (n_tokens, dim) array per passage")
    arrays = [np.asarray(m, dtype=np.float32) for m in matrices]
    for i, m in enumerate(arrays):
        if m.ndim != 2:
            raise ValueError(f"matrix {i} has shape {m.shape}; expected (n_tokens, dim)")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"matrix {i} holds NaN or infinite numbers")
    # float32 throughout, as notebook 08 computes by hand, so the two give identical numbers
    low = min(m.min() for m in arrays if m.size) if low is None else np.float32(low)
    high = max(m.max() for m in arrays if m.size) if high is None else np.float32(high)
    if not high > low:
        raise ValueError(f"high ({float(high)}) must be above low ({float(low)})")
    step = (high - low) / np.float32(255)
    return [(low + np.clip(np.round((m - low) / step), 0, 255) * step).astype(np.float32) for m in arrays]
