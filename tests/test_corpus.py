"""The measurement corpus: real English passages, enough of them, in a fixed order."""

import pytest

from helpers.corpus import load_passages


def test_enough_passages_of_varied_length():
    passages = load_passages()
    assert len(passages) >= 1000
    words = sorted(p.words for p in passages)
    assert words[0] >= 6 and words[-1] >= 300  # short and long passages both present
    assert len({p.text for p in passages}) == len(passages)  # no duplicates


def test_passages_are_english_prose():
    sample = " ".join(p.text for p in load_passages(200)).lower().split()
    for word in ("the", "is", "and", "of", "to"):
        assert word in sample


def test_fixed_order_and_limit():
    assert [p.id for p in load_passages(5)] == [0, 1, 2, 3, 4]
    assert load_passages(10) == load_passages()[:10]


@pytest.mark.parametrize("limit", [0, -1, 10**6])
def test_bad_limit(limit):
    with pytest.raises(ValueError, match="limit|cannot take"):
        load_passages(limit)
