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

__all__ = ["METRICS", "Comparison", "compare_family", "compare_runs", "describe_comparison", "evaluate_run", "holm",
           "judged_at_k"]


def _checked(run: Mapping[str, Mapping[int, float]], queries: Sequence, corpus_size: int | None = None) -> None:
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
    if corpus_size is None:
        from .corpus import load_passages

        n_passages = len(load_passages())
    else:
        n_passages = corpus_size
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


def _ranx_lists(run: Mapping[str, Mapping[int, float]], queries: Sequence, corpus_size: int | None = None):
    """The judgements and the run as ranx's metric functions take them, in ``queries``' order:
    numba typed lists of ``(n, 2)`` arrays ``[passage_id, score]``, each sorted best first.

    ranx's ``Qrels`` and ``Run`` classes would do this too, but building them compiles numba
    typed dictionaries in every new process (about 3 s, every notebook kernel); these lists
    cost about 0.3 s. Ties in the run are broken by passage id, smallest first.
    """
    from numba.typed import List

    _checked(run, queries, corpus_size)
    judged = _judgement_rows(tuple((q.id, tuple(sorted(q.judgements.items()))) for q in queries))
    ranked = []
    for q in queries:
        ids = np.fromiter(run[q.id].keys(), dtype=np.float64, count=len(run[q.id]))
        scores = np.fromiter(run[q.id].values(), dtype=np.float64, count=len(run[q.id]))
        order = np.lexsort((ids, -scores))
        ranked.append(np.column_stack([ids[order], scores[order]]))
    return List(judged), List(ranked)


def _per_query(run: Mapping[str, Mapping[int, float]], queries: Sequence, metrics: Sequence[str],
               corpus_size: int | None = None) -> dict:
    """``{metric: (n_queries,) array}``, computed by ranx, in ``queries``' order."""
    from ranx import evaluate

    qrels, ranked = _ranx_lists(run, queries, corpus_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety notes, not about the results
        # listed twice when alone: ranx 0.3.21's evaluate fails for one metric with return_mean=False
        asked = list(metrics) * 2 if len(metrics) == 1 else list(metrics)
        scores = evaluate(qrels, ranked, asked, return_mean=False)
    return {m: np.asarray(scores[m], dtype=np.float64) for m in metrics}


def evaluate_run(run: Mapping[str, Mapping[int, float]], queries: Sequence,
                 metrics: Sequence[str] = METRICS, per_query: bool = False, *, corpus_size: int | None = None) -> dict:
    """Mean of each metric over ``queries`` (``helpers.queries.Query`` objects), or per query.

    ``corpus_size``: passage ids run from 0 to ``corpus_size - 1`` (default: the course's corpus;
    another collection, such as notebook 11's documents numbered 0, 1, ..., gives its own size).

    Returns ``{metric: float}``, or with ``per_query`` ``{metric: {query_id: float}}``. Grade 2
    and grade 1 both count as relevant for recall and MRR (ranx's default, relevance level 1);
    nDCG uses the grades as gains. Passages with equal scores are ranked by passage id. Raises
    ``ValueError`` for an empty run, an unknown query id, a query the run does not score, or a
    passage id outside the corpus.
    """
    scores = _per_query(run, queries, metrics, corpus_size)
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
    # two-sided p-value of the paired test: if the two runs were equally good on queries like these, the
    # chance of a mean difference at least this far from zero. A small one says the data would be
    # surprising under "no difference"; it is not the chance that the difference is due to chance.
    p_value: float
    stat_test: str


def compare_runs(run_a: Mapping[str, Mapping[int, float]], run_b: Mapping[str, Mapping[int, float]],
                 queries: Sequence, metric: str = "ndcg@10", stat_test: str = "student", *,
                 corpus_size: int | None = None) -> Comparison:
    """Is ``run_a`` better than ``run_b`` on ``queries``, beyond chance? (``corpus_size``: as in
    :func:`evaluate_run`.)

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
    a = _per_query(run_a, queries, [metric], corpus_size)[metric]
    b = _per_query(run_b, queries, [metric], corpus_size)[metric]
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


def top_k(scores: Mapping[int, float], k: int) -> list[int]:
    """The passage ids of the ``k`` best ``{passage_id: score}``, best first; equal scores ranked by
    passage id, as :func:`evaluate_run` ranks them."""
    return [pid for pid, _ in sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]]


def judged_at_k(run: Mapping[str, Mapping[int, float]], queries: Sequence, k: int = 10, *,
                corpus_size: int | None = None) -> float:
    """The share of the top ``k`` passages of each query that carry a judgement, averaged over queries.

    The metrics count an unjudged passage as irrelevant (grade 0), so a pipeline that surfaces
    passages the judges never read is scored lower than it might deserve: a low judged@k warns
    that its nDCG and recall are underestimates. Ties are broken by passage id, as in
    :func:`evaluate_run`. ``corpus_size``: as in :func:`evaluate_run` (the passages' numbers run
    from 0 to ``corpus_size - 1``; default the course corpus). Raises ``ValueError`` as
    ``evaluate_run`` does, and for ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _checked(run, queries, corpus_size)
    shares = []
    for q in queries:
        shares.append(sum(pid in q.judgements for pid in top_k(run[q.id], k)) / k)
    return float(np.mean(shares))


def condensed_ndcg(run: Mapping[str, Mapping[int, float]], queries: Sequence, k: int = 10, *,
                   corpus_size: int | None = None) -> float:
    """Mean nDCG@k over ``queries`` on the *condensed* run: each query's ranking with every passage
    that carries no judgement left out, the rest keeping their order (Sakai, SIGIR 2007).

    :func:`evaluate_run` counts an unjudged passage as irrelevant, which pulls down a run that
    surfaces passages nobody read; the condensed run ignores them instead, which lifts such a run
    if those passages were in fact irrelevant. Neither is the truth: read the two side by side, with
    :func:`judged_at_k`. From a run cut at depth ``k`` (a top 10) the condensed list holds only the
    judged part of that top ``k``. A query whose ranking keeps no judged passage scores 0. Ties are
    broken by passage id; ``corpus_size`` and the errors as in :func:`evaluate_run`.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _checked(run, queries, corpus_size)
    kept = {q.id: {pid: s for pid, s in run[q.id].items() if pid in q.judgements} for q in queries}
    scored = [q for q in queries if kept[q.id]]
    metric = f"ndcg@{k}"
    per = evaluate_run({q.id: kept[q.id] for q in scored}, scored, [metric], per_query=True,
                       corpus_size=corpus_size)[metric] if scored else {}
    return float(np.mean([per.get(q.id, 0.0) for q in queries]))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values, in their given order.

    Sort the m p-values ascending; the i-th smallest (i from 0) becomes
    ``max over j <= i of min(1, (m - j) * p_(j))``. A test is rejected at level alpha, with the
    chance of any false rejection in the family at most alpha, when its adjusted p-value is at
    most alpha. Same numbers as statsmodels' ``multipletests(method="holm")``; written here
    because statsmodels would be a large dependency for these few lines (scipy has only the
    false-discovery-rate adjustments). Raises ``ValueError`` for an empty list or a value
    outside [0, 1].
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("p_values must be a non-empty list of numbers")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"p-values must lie in [0, 1], got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return adjusted


def describe_comparison(name_a: str, name_b: str, c: Comparison, adjusted_p: float | None = None,
                        alpha: float = 0.05, n_queries: int | None = None) -> str:
    """One sentence for a comparison, computed from it: who is ahead, by how much, and what the test says.

    For example "ColBERT over all passages is ahead of dense by 0.073 nDCG@10 on 80 queries (46
    wins, 11 ties, 23 losses); paired t-test p = 0.0368, Holm-adjusted 0.221: not significant at
    0.05 within this family." The order of the names follows the means, so the sentence stays true whatever
    the weights produce. A mean difference below 0.0005 is not given a leader ("mean nDCG@10 within
    0.0005 of each other"). When no query differs, it says so and quotes no test. ``adjusted_p``: the
    Holm-adjusted p-value, when the test is one of a family.
    """
    if c.mean_a >= c.mean_b:
        ahead, behind, diff, wins, losses = name_a, name_b, c.mean_a - c.mean_b, c.wins, c.losses
    else:
        ahead, behind, diff, wins, losses = name_b, name_a, c.mean_b - c.mean_a, c.losses, c.wins
    test = {"student": "paired t-test", "fisher": "randomisation test"}[c.stat_test]
    metric = {"ndcg@10": "nDCG@10", "mrr@10": "MRR@10"}.get(c.metric, c.metric)
    queries = f" on {n_queries} queries" if n_queries else ""
    if wins == 0 and losses == 0:  # no query differs: no test to run (the p-value of 1 is a convention)
        each = f"each of the {n_queries} queries" if n_queries else "every query"
        return f"{name_a} and {name_b} score the same {metric} on {each}: nothing to test."
    counts = f"{_count(wins, 'win', 'wins')}, {_count(c.ties, 'tie', 'ties')}, {_count(losses, 'loss', 'losses')}"
    if diff == 0:
        head = f"{name_a} and {name_b} score the same mean {metric}{queries} ({counts})"
    elif diff < 0.0005:  # printed to three decimals it would read "ahead by 0.000"
        head = f"{name_a} and {name_b}: mean {metric} within 0.0005 of each other{queries} ({counts})"
    else:
        head = f"{ahead} is ahead of {behind} by {diff:.3f} {metric}{queries} ({counts})"
    decisive = c.p_value if adjusted_p is None else adjusted_p
    verdict = "significant" if decisive <= alpha else "not significant"
    within = "" if adjusted_p is None else f", Holm-adjusted {adjusted_p:.3g}"
    scope = " within this family" if adjusted_p is not None else ""
    return f"{head}; {test} p = {c.p_value:.3g}{within}: {verdict} at {alpha:g}{scope}."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def compare_family(runs: Mapping[str, Mapping[str, Mapping[int, float]]], pairs: Sequence[tuple[str, str]],
                   queries: Sequence, metric: str = "ndcg@10", stat_test: str = "student",
                   alpha: float = 0.05, *, corpus_size: int | None = None) -> list[dict]:
    """Every pair of ``runs`` (named in ``pairs``) compared, as one family with Holm's adjustment
    (``corpus_size``: as in :func:`evaluate_run`).

    Returns one dict per pair, in order: ``a``, ``b``, ``comparison`` (a :class:`Comparison`),
    ``adjusted_p`` and ``significant`` (adjusted p at most ``alpha``: the chance of any false
    "significant" in the family is then at most ``alpha``), and ``sentence``
    (:func:`describe_comparison`). Raises ``ValueError`` for a name not in ``runs`` or no pairs.
    """
    if not pairs:
        raise ValueError("pairs is empty: name at least one (a, b) pair of runs")
    unknown = sorted({name for pair in pairs for name in pair} - set(runs))
    if unknown:
        raise ValueError(f"no run named {', '.join(map(repr, unknown))}; runs: {', '.join(runs)}")
    comparisons = [compare_runs(runs[a], runs[b], queries, metric, stat_test, corpus_size=corpus_size) for a, b in pairs]
    adjusted = holm([c.p_value for c in comparisons])
    return [{"a": a, "b": b, "comparison": c, "adjusted_p": float(p), "significant": bool(p <= alpha),
             "sentence": describe_comparison(a, b, c, float(p), alpha, len(queries))}
            for (a, b), c, p in zip(pairs, comparisons, adjusted)]
