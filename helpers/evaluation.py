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

METRICS = ("ndcg@10", "recall@10", "mrr@10")


@lru_cache(maxsize=32)
def _qrels(judged: tuple):
    """ranx's Qrels for ``((query_id, ((passage_id, grade), ...)), ...)``: built once per query set
    (building one from 3,741 judgements takes ranx about half a second)."""
    from ranx import Qrels

    return Qrels({qid: {str(pid): grade for pid, grade in judgements} for qid, judgements in judged})


def _ranx_objects(run: Mapping[str, Mapping[int, float]], queries: Sequence):
    from ranx import Run

    if not run:
        raise ValueError("the run is empty: it scores no query")
    known = {q.id: q for q in queries}
    unknown = sorted(set(run) - set(known))
    if unknown:
        raise ValueError(f"the run scores unknown query ids: {', '.join(unknown[:5])}")
    missing = sorted(set(known) - set(run))
    if missing:
        raise ValueError(f"the run has no scores for queries: {', '.join(missing[:5])}")
    empty = [qid for qid, scores in run.items() if not scores]
    if empty:
        raise ValueError(f"the run scores no passage for queries: {', '.join(empty[:5])}")
    from .corpus import load_passages

    n_passages = len(load_passages())
    outside = sorted({pid for scores in run.values() for pid in scores
                      if not isinstance(pid, (int,)) or not 0 <= pid < n_passages}, key=str)
    if outside:
        raise ValueError(f"the run scores passages that are not in the corpus (ids 0..{n_passages - 1}): "
                         f"{', '.join(map(repr, outside[:5]))}")
    qrels = _qrels(tuple((q.id, tuple(sorted(q.judgements.items()))) for q in queries))
    ranx_run = Run({qid: {str(pid): float(s) for pid, s in scores.items()} for qid, scores in run.items()})
    return qrels, ranx_run


def evaluate_run(run: Mapping[str, Mapping[int, float]], queries: Sequence,
                 metrics: Sequence[str] = METRICS, per_query: bool = False) -> dict:
    """Mean of each metric over ``queries`` (``helpers.queries.Query`` objects), or per query.

    Returns ``{metric: float}``, or with ``per_query`` ``{metric: {query_id: float}}``. Grade 2
    and grade 1 both count as relevant for recall and MRR (ranx's default, relevance level 1);
    nDCG uses the grades as gains. Raises ``ValueError`` for an empty run, an unknown query id, a
    query the run does not score, or a passage id outside the corpus.
    """
    from ranx import evaluate

    qrels, ranx_run = _ranx_objects(run, queries)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety notes, not about the results
        scores = evaluate(qrels, ranx_run, list(metrics), return_mean=not per_query, make_comparable=False)
    if per_query:  # ranx keeps each query's score, by query id, on the run
        return {m: {qid: float(v) for qid, v in ranx_run.scores[m].items()} for m in metrics}
    if len(metrics) == 1:
        return {metrics[0]: float(scores)}
    return {m: float(v) for m, v in scores.items()}


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
    """Is ``run_a`` better than ``run_b`` on ``queries``, beyond chance? (``ranx.compare``)

    ``stat_test`` is one of ranx's paired tests: ``"student"`` (paired t-test), ``"fisher"``
    (randomisation test, 1,000 permutations, seed 42) or ``"tukey"``. Raises ``ValueError`` as
    ``evaluate_run`` does for either run, and for an unknown test.
    """
    from ranx import compare

    if stat_test not in ("student", "fisher", "tukey"):
        raise ValueError(f"unknown stat_test {stat_test!r}: use 'student', 'fisher' or 'tukey'")
    qrels, a = _ranx_objects(run_a, queries)
    _, b = _ranx_objects(run_b, queries)
    a.name, b.name = "a", "b"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(qrels, [a, b], metrics=[metric], stat_test=stat_test, max_p=0.05,
                         make_comparable=False).to_dict()
    wtl = report["a"]["win_tie_loss"]["b"][metric]
    return Comparison(metric, float(report["a"]["scores"][metric]), float(report["b"]["scores"][metric]),
                      int(wtl["W"]), int(wtl["T"]), int(wtl["L"]),
                      float(report["a"]["comparisons"]["b"][metric]), stat_test)
