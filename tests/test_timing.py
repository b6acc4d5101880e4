"""helpers.ms_per_query: what it calls, how often, and what it returns."""

import time

import pytest

from helpers.timing import ms_per_query


def test_calls_search_once_per_query_per_pass_with_tuples_unpacked():
    calls = []
    ms_per_query(lambda a, b: calls.append((a, b)), [(1, 2), (3, 4)], repeats=3)
    assert calls == [(1, 2), (3, 4)] * 3


def test_single_arguments_are_passed_as_they_are():
    calls = []
    ms_per_query(calls.append, ["q1", "q2"], repeats=1)
    assert calls == ["q1", "q2"]


def test_reports_milliseconds_per_query_of_the_fastest_pass():
    # a pass over two queries sleeping 20 ms each: at least 20 ms per query, far below 20 s
    ms = ms_per_query(lambda q: time.sleep(0.02), [0, 1], repeats=2)
    assert 20 <= ms < 20_000


@pytest.mark.parametrize("queries, repeats, message", [([], 1, "no queries"), ([1], 0, "repeats must be")])
def test_bad_input_raises_value_error(queries, repeats, message):
    with pytest.raises(ValueError, match=message):
        ms_per_query(lambda q: None, queries, repeats=repeats)


def test_latency_percentiles_time_each_query_once_and_see_the_slow_one():
    from helpers.timing import latency_percentiles

    calls = []

    def search(q):
        calls.append(q)
        time.sleep(0.2 if q == "slow" else 0.001)

    result = latency_percentiles(search, ["a", "b", "c", "d", "slow"], percentiles=(50, 100))
    assert calls == ["a", "b", "c", "d", "slow"]
    assert set(result) == {"p50", "p100"}
    assert result["p100"] >= 200 and result["p50"] >= 1  # the maximum is the slow query
    assert result["p50"] < result["p100"]  # the median is a fast one
    with pytest.raises(ValueError, match="no queries"):
        latency_percentiles(search, [])
    with pytest.raises(ValueError, match="percentiles must lie in 0..100"):
        latency_percentiles(search, ["a"], percentiles=(50, 101))
