"""Time per query, for tables that put speed beside quality (notebooks 05 onwards)."""

from __future__ import annotations

import time


def ms_per_query(search, queries, repeats: int = 3) -> float:
    """Milliseconds per query that ``search`` takes, the fastest of ``repeats`` passes.

    Args:
        search: a function called as ``search(*query)`` for each query (a tuple of arguments, such
            as ``(multi_query, dense_query)``) or ``search(query)`` for anything else.
        queries: the queries of one pass, at least one.
        repeats: passes over all queries; the fastest pass is reported because it is the one least
            disturbed by other programs on the machine.

    Returns the fastest pass's total time divided by the number of queries. Timings vary from run
    to run: print them, never assert on them. Raises ``ValueError`` for no queries or ``repeats``
    below 1.
    """
    queries = list(queries)
    if not queries:
        raise ValueError("no queries to time")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    calls = [(q if isinstance(q, tuple) else (q,)) for q in queries]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for args in calls:
            search(*args)
        best = min(best, time.perf_counter() - start)
    return best / len(calls) * 1e3


def latency_percentiles(search, queries, percentiles=(50, 95)) -> dict[str, float]:
    """Each query timed once on its own; the given percentiles of those times, in milliseconds.

    A mean hides the slow queries a user notices; p50 is the typical query, p95 the slow end
    (one query in twenty is slower). ``search`` and ``queries`` as in :func:`ms_per_query`.
    Returns ``{"p50": ..., "p95": ...}``. Timings vary from run to run: print them, never assert
    on them. Raises ``ValueError`` for no queries or a percentile outside 0..100.
    """
    import numpy as np

    queries = list(queries)
    if not queries:
        raise ValueError("no queries to time")
    if any(not 0 <= p <= 100 for p in percentiles):
        raise ValueError(f"percentiles must lie in 0..100, got {list(percentiles)}")
    times = []
    for q in queries:
        args = q if isinstance(q, tuple) else (q,)
        start = time.perf_counter()
        search(*args)
        times.append((time.perf_counter() - start) * 1e3)
    return {f"p{p:g}": float(np.percentile(times, p)) for p in percentiles}
