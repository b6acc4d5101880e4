"""Ranking quality on the labelled query set, with ranx (the metrics library Qdrant's course uses).

A *run* maps each query id to the scores a pipeline gave passages: ``{query_id: {passage_id: score}}``
(passage ids as ``int``). ``evaluate_run`` turns it and the judgements of ``helpers.queries`` into
nDCG@10, recall@10 and MRR@10, averaged over the queries.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

METRICS = ("ndcg@10", "recall@10", "mrr@10")


def _checked(run: Mapping[str, Mapping[int, float]], queries: Sequence) -> None:
    if not run:
        raise ValueError("the run is empty: it scores no query")
    known = {q.id for q in queries}
    unknown = sorted(set(run) - known)
    if unknown:
        raise ValueError(f"the run scores unknown query ids: {', '.join(unknown[:5])}")
    missing = sorted(known - set(run))
    if missing:
        raise ValueError(f"the run has no scores for queries: {', '.join(missing[:5])}")
    empty = [qid for qid, scores in run.items() if not scores]
    if empty:
        raise ValueError(f"the run scores no passage for queries: {', '.join(empty[:5])}")
    from .corpus import load_passages

    n_passages = len(load_passages())
    outside = sorted({pid for scores in run.values() for pid in scores
                      if not isinstance(pid, (int, np.integer)) or not 0 <= pid < n_passages}, key=str)
    if outside:
        raise ValueError(f"the run scores passages that are not in the corpus (ids 0..{n_passages - 1}): "
                         f"{', '.join(map(repr, outside[:5]))}")


@lru_cache(maxsize=32)
def _judgement_rows(judged: tuple) -> tuple:
    """One ``(n_judged, 2)`` array ``[passage_id, grade]`` per query, best grade first (ranx's
    ideal ranking for nDCG), for ``((query_id, ((passage_id, grade), ...)), ...)``."""
    rows = []
    for _, judgements in judged:
        table = np.array(judgements, dtype=np.float64).reshape(-1, 2)
        rows.append(table[np.lexsort((table[:, 0], -table[:, 1]))])
    return tuple(rows)


def _ranx_lists(run: Mapping[str, Mapping[int, float]], queries: Sequence):
    """The judgements and the run as ranx's metric functions take them, in ``queries``' order:
    numba typed lists of ``(n, 2)`` arrays ``[passage_id, score]``, each sorted best first.

    ranx's ``Qrels`` and ``Run`` classes would do this too, but building them compiles numba
    typed dictionaries in every new process (about 3 s, every notebook kernel); these lists
    cost about 0.3 s. Ties in the run are broken by passage id, smallest first.
    """
    from numba.typed import List

    _checked(run, queries)
    judged = _judgement_rows(tuple((q.id, tuple(sorted(q.judgements.items()))) for q in queries))
    ranked = []
    for q in queries:
        ids = np.fromiter(run[q.id].keys(), dtype=np.float64, count=len(run[q.id]))
        scores = np.fromiter(run[q.id].values(), dtype=np.float64, count=len(run[q.id]))
        order = np.lexsort((ids, -scores))
        ranked.append(np.column_stack([ids[order], scores[order]]))
    return List(judged), List(ranked)


def _per_query(run: Mapping[str, Mapping[int, float]], queries: Sequence, metrics: Sequence[str]) -> dict:
    """``{metric: (n_queries,) array}``, computed by ranx, in ``queries``' order."""
    from ranx import evaluate

    qrels, ranked = _ranx_lists(run, queries)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety notes, not about the results
        # listed twice when alone: ranx 0.3.21's evaluate fails for one metric with return_mean=False
        asked = list(metrics) * 2 if len(metrics) == 1 else list(metrics)
        scores = evaluate(qrels, ranked, asked, return_mean=False)
    return {m: np.asarray(scores[m], dtype=np.float64) for m in metrics}


def evaluate_run(run: Mapping[str, Mapping[int, float]], queries: Sequence,
                 metrics: Sequence[str] = METRICS, per_query: bool = False) -> dict:
    """Mean of each metric over ``queries`` (``helpers.queries.Query`` objects), or per query.

    Returns ``{metric: float}``, or with ``per_query`` ``{metric: {query_id: float}}``. Grade 2
    and grade 1 both count as relevant for recall and MRR (ranx's default, relevance level 1);
    nDCG uses the grades as gains. Passages with equal scores are ranked by passage id. Raises
    ``ValueError`` for an empty run, an unknown query id, a query the run does not score, or a
    passage id outside the corpus.
    """
    scores = _per_query(run, queries, metrics)
    if per_query:
        return {m: {q.id: float(v) for q, v in zip(queries, scores[m])} for m in metrics}
    return {m: float(np.mean(scores[m])) for m in metrics}


@dataclass(frozen=True)
class Comparison:
    """Two runs on the same queries, by one metric: means, per-query wins, and a paired test."""

    metric: str
    mean_a: float
    mean_b: float
    wins: int  # queries where run a scores higher
    ties: int
    losses: int  # queries where run b scores higher
    p_value: float  # two-sided, from ranx's paired test; small: the difference is unlikely to be chance
    stat_test: str


def compare_runs(run_a: Mapping[str, Mapping[int, float]], run_b: Mapping[str, Mapping[int, float]],
                 queries: Sequence, metric: str = "ndcg@10", stat_test: str = "student") -> Comparison:
    """Is ``run_a`` better than ``run_b`` on ``queries``, beyond chance?

    ``stat_test``: ``"student"``, the two-sided paired t-test that ``ranx.compare`` runs
    (``scipy.stats.ttest_rel``); or ``"fisher"``, a paired randomisation test
    (``scipy.stats.permutation_test``, 9,999 random swaps of the two runs' scores per query, seed
    0). ranx's own randomisation test is not used: it draws in numba threads whose random streams
    its seed does not reach, so its p-value changes from call to call. Raises ``ValueError`` as
    ``evaluate_run`` does for either run, and for an unknown test.
    """
    from scipy import stats

    if stat_test not in ("student", "fisher"):
        raise ValueError(f"unknown stat_test {stat_test!r}: use 'student' or 'fisher'")
    a = _per_query(run_a, queries, [metric])[metric]
    b = _per_query(run_b, queries, [metric])[metric]
    if np.array_equal(a, b):
        p_value = 1.0  # no difference at all (the t-test would divide by zero)
    elif stat_test == "student":
        p_value = stats.ttest_rel(a, b, alternative="two-sided").pvalue
    else:
        p_value = stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
                                         permutation_type="samples", vectorized=True, n_resamples=9_999,
                                         alternative="two-sided", rng=0).pvalue
    return Comparison(metric, float(np.mean(a)), float(np.mean(b)), int(np.sum(a > b)), int(np.sum(a == b)),
                      int(np.sum(a < b)), float(p_value), stat_test)
