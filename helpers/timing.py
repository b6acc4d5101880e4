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
