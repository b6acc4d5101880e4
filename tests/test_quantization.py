"""helpers.quantization.int8_roundtrip: 256 levels, half a step of error, notebook 08's formula."""

import numpy as np
import pytest

from helpers.quantization import int8_roundtrip


def test_at_most_half_a_step_from_the_original_and_256_levels():
    rng = np.random.default_rng(0)
    mats = [rng.normal(size=(n, 16)).astype(np.float32) for n in (3, 7, 1)]
    out = int8_roundtrip(mats)
    low = min(m.min() for m in mats)
    high = max(m.max() for m in mats)
    step = (high - low) / 255
    assert [o.shape for o in out] == [m.shape for m in mats]
    assert all(o.dtype == np.float32 for o in out)
    assert max(float(np.abs(o - m).max()) for o, m in zip(out, mats)) <= step / 2 * 1.0001
    assert len(np.unique(np.concatenate([o.ravel() for o in out]))) <= 256
    # the extremes are kept exactly (up to float32 rounding)
    assert np.isclose(min(o.min() for o in out), low) and np.isclose(max(o.max() for o in out), high)


def test_equals_notebook_08s_formula_and_clips_outside_a_given_range():
    m = np.array([[-1.0, -0.5, 0.0, 0.25, 1.0]], dtype=np.float32)
    low, high = -1.0, 1.0
    step = (high - low) / 255
    expected = (low + np.clip(np.round((m - low) / step), 0, 255) * step).astype(np.float32)
    np.testing.assert_array_equal(int8_roundtrip([m])[0], expected)
    clipped = int8_roundtrip([np.array([[-3.0, 3.0]])], low=-1, high=1)[0]
    np.testing.assert_allclose(clipped, [[-1.0, 1.0]], atol=1e-6)


@pytest.mark.parametrize("matrices, message", [
    ([], "matrices is empty"),
    ([np.zeros(4)], r"shape \(4,\); expected \(n_tokens, dim\)"),
    ([np.array([[np.nan, 1.0]])], "NaN or infinite"),
    ([np.ones((2, 2))], r"high \(1.0\) must be above low \(1.0\)"),
])
def test_bad_input(matrices, message):
    with pytest.raises(ValueError, match=message):
        int8_roundtrip(matrices)
