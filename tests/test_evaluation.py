"""helpers.evaluation: ranx's metrics agree with the textbook formulas, and bad runs fail clearly."""

import math

import numpy as np
import pytest

from helpers.evaluation import METRICS, evaluate_run
from helpers.queries import Query, qrels


def query(qid, judgements):
    return Query(qid, "some text", "question", "dev", False, judgements)


def ndcg_by_hand(ranking, judgements, k=10):
    """Järvelin and Kekäläinen's nDCG: gain = grade, discount = log2(rank + 1)."""
    dcg = sum(judgements.get(pid, 0) / math.log2(rank + 2) for rank, pid in enumerate(ranking[:k]))
    ideal = sorted(judgements.values(), reverse=True)[:k]
    return dcg / sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))


def test_agrees_with_the_formulas_on_random_runs():
    rng = np.random.default_rng(0)
    queries, run, expected = [], {}, {"ndcg@10": [], "recall@10": [], "mrr@10": []}
    for n in range(20):
        judged = rng.choice(50, size=8, replace=False)
        judgements = {int(p): int(g) for p, g in zip(judged, rng.integers(0, 3, size=8))}
        judgements[int(judged[0])] = 2  # every query has an answer
        scores = {int(p): float(s) for p, s in zip(range(50), rng.normal(size=50))}
        q = query(f"q{n}", judgements)
        queries.append(q)
        run[q.id] = scores
        ranking = sorted(scores, key=scores.get, reverse=True)
        relevant = {p for p, g in judgements.items() if g > 0}
        expected["ndcg@10"].append(ndcg_by_hand(ranking, judgements))
        expected["recall@10"].append(len(relevant & set(ranking[:10])) / len(relevant))
        first = next((r for r, p in enumerate(ranking[:10]) if p in relevant), None)
        expected["mrr@10"].append(0.0 if first is None else 1 / (first + 1))
    got = evaluate_run(run, queries)
    for metric, values in expected.items():
        assert got[metric] == pytest.approx(np.mean(values), abs=1e-9), metric
    per_query = evaluate_run(run, queries, per_query=True)
    one_metric = evaluate_run(run, queries, metrics=["ndcg@10"], per_query=True)
    for n, q in enumerate(queries):
        for metric, values in expected.items():
            assert per_query[metric][q.id] == pytest.approx(values[n], abs=1e-9), (metric, q.id)
        assert one_metric["ndcg@10"][q.id] == per_query["ndcg@10"][q.id]


def test_perfect_and_useless_runs():
    q = query("q1", {1: 2, 2: 1, 3: 0})
    assert evaluate_run({"q1": {1: 3.0, 2: 2.0, 3: 1.0}}, [q])["ndcg@10"] == pytest.approx(1.0)
    assert evaluate_run({"q1": {3: 1.0, 7: 0.5}}, [q])["recall@10"] == 0.0


@pytest.mark.parametrize("run, message", [
    ({}, "the run is empty"),
    ({"q1": {1: 1.0}, "nope": {1: 1.0}}, "unknown query ids: nope"),
    ({"q1": {}}, "scores no passage for queries: q1"),
    ({"q1": {1: 1.0, 99_999: 0.5}}, r"not in the corpus \(ids 0\.\.2457\): 99999"),
    ({"q1": {"1": 1.0}}, "not in the corpus.*'1'"),
])
def test_bad_runs(run, message):
    with pytest.raises(ValueError, match=message):
        evaluate_run(run, [query("q1", {1: 2})])


def test_a_query_the_run_forgot():
    with pytest.raises(ValueError, match="no scores for queries: q2"):
        evaluate_run({"q1": {1: 1.0}}, [query("q1", {1: 2}), query("q2", {1: 2})])


def twenty_queries():
    return [query(f"q{i}", {i: 2, i + 100: 0}) for i in range(20)]


def test_compare_runs_finds_a_clearly_better_run_and_counts_wins():
    from helpers.evaluation import compare_runs

    queries = twenty_queries()
    good = {q.id: {int(q.id[1:]): 1.0, 500: 0.5} for q in queries}  # the answer first
    bad = {q.id: {500: 1.0, int(q.id[1:]): 0.5} if i % 4 else {int(q.id[1:]): 1.0}
           for i, q in enumerate(queries)}  # the answer second, except in every fourth query
    result = compare_runs(good, bad, queries)
    assert (result.wins, result.ties, result.losses) == (15, 5, 0)
    assert result.mean_a == 1.0 and result.mean_b < 1.0
    assert result.p_value < 0.001
    same = compare_runs(good, good, queries, stat_test="fisher")
    assert same.ties == 20 and same.mean_a == same.mean_b


def test_compare_runs_rejects_an_unknown_test_and_bad_runs():
    from helpers.evaluation import compare_runs

    queries = twenty_queries()
    run = {q.id: {1: 1.0} for q in queries}
    with pytest.raises(ValueError, match="unknown stat_test"):
        compare_runs(run, run, queries, stat_test="tukey")
    with pytest.raises(ValueError, match="no scores for queries"):
        compare_runs(run, {"q0": {1: 1.0}}, queries)


def random_runs(seed, n_queries=30):
    rng = np.random.default_rng(seed)
    queries, runs = [], ({}, {})
    for n in range(n_queries):
        judged = rng.choice(60, size=10, replace=False)
        q = query(f"q{n}", {int(p): int(g) for p, g in zip(judged, rng.integers(0, 3, size=10))})
        queries.append(q)
        for run in runs:  # distinct scores: ranx's own Run objects and ours then rank alike
            run[q.id] = {int(p): float(s) for p, s in zip(range(60), rng.permutation(60))}
    return queries, runs


def test_equals_ranx_with_its_own_qrels_and_run_objects():
    from ranx import Qrels, Run, evaluate

    queries, (run, _) = random_runs(1)
    judged = Qrels(qrels(queries))  # helpers.queries.qrels: the dict ranx.Qrels takes
    ranx_run = Run({qid: {str(p): s for p, s in scores.items()} for qid, scores in run.items()})
    expected = evaluate(judged, ranx_run, list(METRICS), return_mean=False)
    got = evaluate_run(run, queries, per_query=True)
    for metric in METRICS:
        ranx_ids = ranx_run.get_query_ids()  # ranx sorts query ids
        np.testing.assert_allclose([got[metric][qid] for qid in ranx_ids], expected[metric], rtol=1e-12)


@pytest.mark.parametrize("stat_test", ["student", "fisher"])
def test_compare_runs_agrees_with_ranx_compare(stat_test):
    import numba
    from ranx import Qrels, Run, compare

    from helpers.evaluation import compare_runs

    queries, (run_a, run_b) = random_runs(2)
    judged = Qrels(qrels(queries))  # helpers.queries.qrels: the dict ranx.Qrels takes
    a, b = (Run({qid: {str(p): s for p, s in scores.items()} for qid, scores in run.items()}, name=name)
            for run, name in ((run_a, "a"), (run_b, "b")))
    threads = numba.get_num_threads()
    report = compare(judged, [a, b], metrics=["ndcg@10"], stat_test=stat_test, max_p=0.05).to_dict()
    numba.set_num_threads(threads)  # ranx lowers it for small query sets
    got = compare_runs(run_a, run_b, queries, stat_test=stat_test)
    wtl = report["a"]["win_tie_loss"]["b"]["ndcg@10"]
    assert (got.wins, got.ties, got.losses) == (wtl["W"], wtl["T"], wtl["L"])
    assert got.mean_a == pytest.approx(report["a"]["scores"]["ndcg@10"], rel=1e-12)
    ranx_p = report["a"]["comparisons"]["b"]["ndcg@10"]
    if stat_test == "student":  # the same test on the same numbers
        assert got.p_value == pytest.approx(ranx_p, rel=1e-9)
    else:
        # Both estimate a p from random swaps, but ranx's draws are not seeded (numba threads) and
        # vary from call to call: on these runs by about 0.015, with rarer draws 0.05 off (a fresh
        # clone's suite saw 0.504 against a mean near 0.56). scipy also doubles the smaller one-sided
        # p where ranx counts |mean difference|, about 0.02 apart here. So ours is compared with the
        # median of five of ranx's p-values, which a one-sided p (about half) or a wrong sign misses.
        draws = [ranx_p] + [compare(judged, [a, b], metrics=["ndcg@10"], stat_test=stat_test, max_p=0.05)
                            .to_dict()["a"]["comparisons"]["b"]["ndcg@10"] for _ in range(4)]
        numba.set_num_threads(threads)
        assert got.p_value == pytest.approx(float(np.median(draws)), abs=0.05)
        assert compare_runs(run_a, run_b, queries, stat_test=stat_test) == got  # ours repeats


def test_equal_scores_are_ranked_by_passage_id():
    q = query("q1", {5: 2})
    # all tied: passage 5 ranks sixth by id (0-4 first), whatever order the run lists them in
    listed_up = {p: 1.0 for p in range(12)}
    listed_down = {p: 1.0 for p in reversed(range(12))}
    expected = 2 / math.log2(6 + 1) / (2 / math.log2(2))
    assert evaluate_run({"q1": listed_up}, [q])["ndcg@10"] == pytest.approx(expected)
    assert evaluate_run({"q1": listed_down}, [q])["ndcg@10"] == pytest.approx(expected)


def test_condensed_ndcg_leaves_unjudged_passages_out():
    from helpers.evaluation import condensed_ndcg

    q1 = Query("q1", "one", "question", "dev", False, {1: 2, 2: 0})
    q2 = Query("q2", "two", "question", "dev", False, {9: 2})
    # q1: unjudged 5 first, then the answer 1; condensed: 1 first, a perfect ranking
    # q2: nothing judged retrieved: 0 either way
    run = {"q1": {5: 0.9, 1: 0.8, 2: 0.7}, "q2": {7: 0.5, 8: 0.4}}
    assert evaluate_run(run, [q1, q2], ["ndcg@10"])["ndcg@10"] == pytest.approx((1 / math.log2(3)) / 2)
    assert condensed_ndcg(run, [q1, q2]) == pytest.approx((1 + 0) / 2)
    # a judged irrelevant passage stays and still costs: 2 (grade 0) before 1 in q1
    assert condensed_ndcg({"q1": {5: 0.9, 2: 0.85, 1: 0.8}}, [q1]) == pytest.approx(1 / math.log2(3))
    # equal scores ranked by passage id, as in evaluate_run: 1 before 2
    assert condensed_ndcg({"q1": {2: 0.5, 1: 0.5}}, [q1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no scores for queries: q2"):
        condensed_ndcg({"q1": run["q1"]}, [q1, q2])
    with pytest.raises(ValueError, match="k must be at least 1"):
        condensed_ndcg(run, [q1], k=0)


def test_judged_at_k_counts_judged_passages_in_each_top_k():
    from helpers.evaluation import judged_at_k

    q1 = Query("q1", "one", "question", "dev", False, {1: 2, 2: 0, 3: 1})
    q2 = Query("q2", "two", "question", "dev", False, {9: 2})
    run = {"q1": {1: 0.9, 5: 0.8, 2: 0.7, 6: 0.1},  # top 2: 1 (judged), 5 (not)
           "q2": {7: 0.5, 9: 0.5, 8: 0.4}}  # a tie: 7 before 9 by id; top 2: 7, 9
    assert judged_at_k(run, [q1, q2], k=2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert judged_at_k(run, [q1, q2], k=1) == pytest.approx((1 + 0) / 2)
    # a run shorter than k: the missing places count as unjudged
    assert judged_at_k({"q1": {1: 1.0}, "q2": {9: 1.0}}, [q1, q2], k=4) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="k must be at least 1"):
        judged_at_k(run, [q1, q2], k=0)
    with pytest.raises(ValueError, match="no scores for queries: q2"):
        judged_at_k({"q1": run["q1"]}, [q1, q2])
    # another corpus's passage numbers (notebook 11: your own documents) need its size
    far = {"q1": {5000: 1.0, 1: 0.5}, "q2": {9: 1.0}}
    with pytest.raises(ValueError, match="not in the corpus"):
        judged_at_k(far, [q1, q2], k=2)
    assert judged_at_k(far, [q1, q2], k=2, corpus_size=5001) == pytest.approx((1 / 2 + 1 / 2) / 2)
    with pytest.raises(ValueError, match=r"not in the corpus \(ids 0\.\.9\)"):
        judged_at_k(far, [q1, q2], corpus_size=10)


def test_holm_matches_the_step_down_definition():
    from helpers.evaluation import holm

    # by hand: sorted 0.01, 0.02, 0.04, 0.3 -> 4*0.01, 3*0.02, 2*0.04 and 1*0.3, made non-decreasing
    np.testing.assert_allclose(holm([0.04, 0.01, 0.3, 0.02]), [0.08, 0.04, 0.3, 0.06])
    # the running maximum: 3 * 0.02 = 0.06 would fall below 4 * 0.018 = 0.072
    np.testing.assert_allclose(holm([0.018, 0.02, 0.5, 0.9]), [0.072, 0.072, 1.0, 1.0])
    rng = np.random.default_rng(3)
    for _ in range(200):
        p = rng.uniform(0, 1, rng.integers(1, 8)) ** 3
        m = len(p)
        order = np.argsort(p)
        expected = np.empty(m)
        running = 0.0
        for i, j in enumerate(order):  # the textbook loop
            running = max(running, min(1.0, (m - i) * p[j]))
            expected[j] = running
        np.testing.assert_allclose(holm(p), expected)
        assert np.all(holm(p) >= p)
    for bad in ([], [0.1, 1.5], [float("nan")]):
        with pytest.raises(ValueError):
            holm(bad)


def _two_runs():
    queries = [query(f"q{i}", {i: 2}) for i in range(12)]
    good = {q.id: {int(q.id[1:]): 1.0, 99: 0.5} for q in queries}  # the answer first
    bad = {q.id: {99: 1.0, 98: 0.9 * (int(q.id[1:]) % 2), int(q.id[1:]): 0.5}
           for q in queries}  # the answer second (even ids) or third (odd ids)
    return queries, {"good": good, "bad": bad}


def test_describe_comparison_follows_the_data_not_the_argument_order():
    from helpers.evaluation import compare_runs, describe_comparison

    queries, runs = _two_runs()
    forward = describe_comparison("good", "bad", compare_runs(runs["good"], runs["bad"], queries))
    backward = describe_comparison("bad", "good", compare_runs(runs["bad"], runs["good"], queries))
    assert forward.startswith("good is ahead of bad by 0.435 nDCG@10 (12 wins, 0 ties, 0 losses)")
    assert backward.startswith("good is ahead of bad by 0.435 nDCG@10 (12 wins, 0 ties, 0 losses)")
    assert forward.endswith(": significant at 0.05.")
    same = describe_comparison("good", "good", compare_runs(runs["good"], runs["good"], queries), n_queries=12)
    assert same == "good and good score the same nDCG@10 on each of the 12 queries: nothing to test."
    # one query apart, either way: same mean, counts in the singular where they are one
    half = {q.id: runs["bad" if q.id == "q2" else "good"][q.id] for q in queries}
    other = {q.id: runs["bad" if q.id == "q0" else "good"][q.id] for q in queries}
    even = describe_comparison("half", "other", compare_runs(half, other, queries), n_queries=12)
    assert even.startswith("half and other score the same mean nDCG@10 on 12 queries (1 win, 10 ties, 1 loss); "
                           "paired t-test p = 1: not significant at 0.05."), even


def test_describe_comparison_names_no_leader_for_a_difference_that_prints_as_zero():
    from helpers.evaluation import Comparison, describe_comparison

    tiny = Comparison("ndcg@10", 0.48230, 0.48210, 3, 74, 3, 0.871, "student")  # 0.0002 apart
    sentence = describe_comparison("float32", "int8", tiny, n_queries=80)
    assert sentence.startswith("float32 and int8: mean nDCG@10 within 0.0005 of each other on 80 queries "
                               "(3 wins, 74 ties, 3 losses); paired t-test p = 0.871"), sentence
    just_above = Comparison("ndcg@10", 0.4830, 0.4824, 3, 74, 3, 0.871, "student")  # 0.0006: prints 0.001
    assert describe_comparison("a", "b", just_above).startswith("a is ahead of b by 0.001 nDCG@10")


def test_compare_family_adjusts_with_holm_and_reverses_with_the_data():
    from helpers.evaluation import compare_family, compare_runs, holm

    queries, runs = _two_runs()
    runs["also good"] = dict(runs["good"])
    rows = compare_family(runs, [("good", "bad"), ("also good", "good")], queries)
    raw = [compare_runs(runs["good"], runs["bad"], queries).p_value, 1.0]
    np.testing.assert_allclose([r["adjusted_p"] for r in rows], holm(raw))
    assert [r["significant"] for r in rows] == [True, False]
    assert "Holm-adjusted" in rows[0]["sentence"] and "within this family" in rows[0]["sentence"]
    # substituted results that reverse the order: the sentence follows
    swapped = compare_family({"good": runs["bad"], "bad": runs["good"]}, [("good", "bad")], queries)
    assert swapped[0]["sentence"].startswith("bad is ahead of good")
    with pytest.raises(ValueError, match="no run named 'nope'"):
        compare_family(runs, [("good", "nope")], queries)
    with pytest.raises(ValueError, match="pairs is empty"):
        compare_family(runs, [], queries)


def test_another_collection_gives_its_own_size():
    from helpers.evaluation import compare_family, compare_runs

    queries = [Query("d1", "q", "question", "test", False, {3000: 2, 5: 1}),
               Query("d2", "r", "question", "test", False, {4: 2})]
    good = {"d1": {3000: 2.0, 5: 1.0}, "d2": {8: 1.0, 4: 0.5}}  # d2 only half good: differences vary
    bad = {"d1": {7: 1.0}, "d2": {8: 1.0}}
    with pytest.raises(ValueError, match=r"ids 0\.\.2457"):
        evaluate_run(good, queries)  # passage 3000 is outside the course's corpus
    per_query = evaluate_run(good, queries, metrics=["ndcg@10"], per_query=True, corpus_size=5000)["ndcg@10"]
    assert per_query["d1"] == pytest.approx(1.0) and 0 < per_query["d2"] < 1
    with pytest.raises(ValueError, match=r"ids 0\.\.9\): 3000"):
        evaluate_run(good, queries, corpus_size=10)
    assert compare_runs(good, bad, queries, corpus_size=5000).mean_a == pytest.approx(np.mean(list(per_query.values())))
    family = compare_family({"good": good, "bad": bad}, [("good", "bad")], queries, corpus_size=5000)
    assert family[0]["comparison"].wins == 2
