"""Exercises: instant feedback on the learner's answers, offline, without ever printing the answer.

Every notebook has exercises. Each is a markdown cell with a heading ``### Exercise N.M ★★ · title``
and the task, a code cell where the learner writes the answer (committed with a placeholder,
``...``), a code cell that checks it::

    helpers.check("2.1", my_maxsim)

and a markdown cell with the solution, folded in a ``<details>`` block that opens only when clicked.
``check`` prints one line: ``Right.``, ``Not yet: <hint>`` or ``Not answered yet: <what to do>``.

Checks never print the right answer. Code answers are tried on inputs the learner has not seen
(random matrices, fresh rankings) against the series' own helpers. Where the right answer depends on
the weights (the Hub's real models or the offline profile), the check computes it from the model
the notebook passes in, so it is right for either profile.

Stars: ★ recall or predict, ★★ compute or change code, ★★★ design a small experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

#: Texts that exercises use; the notebooks print the task with them, the checks embed them.
TEXTS = {
    "1.1": "Late interaction keeps every token",
    "1.2": "Which vector database supports multivectors?",
    "1.3": "Qdrant stores vectors and searches them quickly",
    "3.3": " Python asyncio database web applications concurrency",
}


class Unanswered(Exception):
    """The answer is still the placeholder; the message says what to write."""


class Wrong(Exception):
    """The answer is wrong; the message is the hint."""


@dataclass(frozen=True)
class Exercise:
    id: str
    stars: int
    title: str
    expects: str  # what a well-formed answer looks like, for messages about bad input
    check: Callable[..., None]  # raises Unanswered or Wrong, returns None when right


@dataclass(frozen=True)
class Feedback:
    """What a check found: ``status`` is ``"right"``, ``"wrong"`` or ``"unanswered"``."""

    exercise: str
    status: str
    message: str

    def __str__(self) -> str:
        head = {"right": "Right.", "wrong": "Not yet:", "unanswered": "Not answered yet:"}[self.status]
        return f"Exercise {self.exercise} · {head} {self.message}".rstrip()

    def __bool__(self) -> bool:
        return self.status == "right"


EXERCISES: dict[str, Exercise] = {}


def exercise(exercise_id: str, stars: int, title: str, expects: str):
    """Register the decorated function as the check of ``exercise_id``."""
    if not 1 <= stars <= 3:
        raise ValueError(f"stars must be 1, 2 or 3, got {stars}")

    def register(function: Callable[..., None]) -> Callable[..., None]:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        EXERCISES[exercise_id] = Exercise(exercise_id, stars, title, expects, function)
        return function

    return register


def feedback(exercise_id: str, answer: Any, *context: Any) -> Feedback:
    """Check ``answer`` to exercise ``exercise_id`` (``context``: what the notebook passes in, such as
    its model) and return a :class:`Feedback`. Never raises for a bad answer: a wrong type, shape or
    an exception inside the learner's own function becomes a ``"wrong"`` feedback that says what
    was expected. Raises ``ValueError`` only for an unknown exercise id."""
    if exercise_id not in EXERCISES:
        raise ValueError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES, key=_order))}")
    spec = EXERCISES[exercise_id]
    if answer is Ellipsis:
        return Feedback(exercise_id, "unanswered", f"replace the ... with {spec.expects}.")
    try:
        spec.check(answer, *context)
    except Unanswered as reason:
        return Feedback(exercise_id, "unanswered", str(reason))
    except Wrong as hint:
        return Feedback(exercise_id, "wrong", str(hint))
    except Exception as error:  # the learner's function failed, or the answer has the wrong form
        return Feedback(exercise_id, "wrong", f"expected {spec.expects}; checking it raised "
                                              f"{type(error).__name__}: {error}")
    return Feedback(exercise_id, "right", "")


def check(exercise_id: str, answer: Any, *context: Any) -> None:
    """Print one line of feedback on ``answer`` to exercise ``exercise_id`` (see :func:`feedback`)."""
    print(feedback(exercise_id, answer, *context))


def _order(exercise_id: str) -> tuple[int, int]:
    notebook, number = exercise_id.split(".")
    return int(notebook), int(number)


# --- small tools the checks share ---------------------------------------------------------------

def _called(function, *args):
    """``function(*args)``; the placeholder body ``return ...`` counts as not answered."""
    if not callable(function):
        raise Wrong(f"expected a function, got {type(function).__name__}")
    result = function(*args)
    if result is Ellipsis:
        raise Unanswered("the function still returns ...: write its body.")
    return result


def _number(answer, what: str) -> float:
    if isinstance(answer, bool) or not isinstance(answer, (int, float, np.integer, np.floating)):
        raise Wrong(f"expected {what}, got {type(answer).__name__} {answer!r}")
    if not math.isfinite(float(answer)):
        raise Wrong(f"expected {what}, got {answer!r}")
    return float(answer)


def _choice(answer, options: tuple[str, ...]) -> str:
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        raise Wrong(f"expected one of {', '.join(repr(o) for o in options)}, got {answer!r}")
    return answer.strip().lower()


def _letters(answer, count: int) -> list[str]:
    example = ["A", "C", "B", "D"][:count]
    if (not isinstance(answer, (list, tuple)) or len(answer) != count
            or not all(isinstance(x, str) for x in answer)):
        raise Wrong(f"expected a list of {count} document letters such as {example}, got {answer!r}")
    letters = [x.strip().upper()[:1] for x in answer]
    if sorted(letters) != sorted(example):
        raise Wrong(f"expected each of {sorted(example)} once, such as {example}, got {answer!r}")
    return letters


def _random_cases(seed: int, count: int = 6):
    """Random (query, document) matrix pairs of varied shapes, fresh for every check."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        dim = int(rng.integers(4, 17))
        yield (rng.normal(size=(int(rng.integers(1, 9)), dim)).astype(np.float32),
               rng.normal(size=(int(rng.integers(1, 12)), dim)).astype(np.float32))


def _close(got, want, rel: float = 1e-4, abs_: float = 1e-5) -> bool:
    return math.isclose(float(got), float(want), rel_tol=rel, abs_tol=abs_)


# --- 01 · Late interaction basics -----------------------------------------------------------------

@exercise("1.1", 1, "How many vectors for a document?", "a whole number, such as 7")
def _check_1_1(answer, colbert_model):
    guess = _number(answer, "a whole number, such as 7")
    want = len(next(colbert_model.passage_embed([TEXTS["1.1"]])))
    if guess != want:
        words = len(TEXTS["1.1"].split())
        hint = ("more than one per word: ColBERT adds [CLS], the document marker [D] and [SEP], and may "
                "split a word into pieces" if guess <= words else
                "fewer than that: a document is not padded; count its word pieces and the three special tokens")
        raise Wrong(f"{hint}. helpers.token_labels(colbert_model, text, 'document') lists them.")


@exercise("1.2", 1, "How many [MASK] vectors in a short query?", "a whole number, such as 7")
def _check_1_2(answer, colbert_model):
    from .tokens import token_labels

    guess = _number(answer, "a whole number, such as 7")
    labels = token_labels(colbert_model, TEXTS["1.2"], "query")
    if guess != labels.count("[MASK]"):
        if guess == len(labels):
            raise Wrong("that is every vector of the query; how many of them stand for words or markers?")
        raise Wrong("the query is padded with [MASK] up to ColBERT's query length; subtract the vectors of "
                    "its word pieces and of [CLS], [Q] and [SEP].")


@exercise("1.3", 2, "A third document's late-interaction score", "a number (a float)")
def _check_1_3(answer, colbert_model, query):
    from .maxsim import maxsim

    guess = _number(answer, "a number (a float)")
    query_vectors = next(colbert_model.query_embed(query))
    doc_vectors = next(colbert_model.passage_embed([TEXTS["1.3"]]))
    want = maxsim(query_vectors, doc_vectors)
    if _close(guess, want, rel=1e-3):
        return
    rows = (query_vectors @ doc_vectors.T).max(axis=1)
    if _close(guess, rows.mean(), rel=1e-3):
        raise Wrong("that is the mean of the row maxima; late interaction adds them up.")
    raise Wrong("embed the query with query_embed and the document with passage_embed, multiply "
                "(query @ document.T), take each row's maximum and add them up.")


# --- 02 · The MaxSim distance ---------------------------------------------------------------------

@exercise("2.1", 2, "MaxSim in one line of numpy",
          "a function my_maxsim(query_vectors, doc_vectors) that returns a number")
def _check_2_1(my_maxsim):
    from .maxsim import maxsim

    for query, document in _random_cases(21):
        got = _called(my_maxsim, query, document)
        got = _number(np.asarray(got).item() if np.ndim(got) == 0 else got, "a single number")
        if not _close(got, maxsim(query, document)):
            if _close(got, (query @ document.T).max(axis=0).sum()):
                raise Wrong("you took the maximum over the query rows (axis 0); MaxSim takes, for every "
                            "query row, its best document row (axis 1).")
            if _close(got, (query @ document.T).max(axis=1).mean()):
                raise Wrong("that is the mean of the row maxima; MaxSim adds them up.")
            raise Wrong(f"for a {query.shape[0]}-row query and a {document.shape[0]}-row document "
                        "the result differs from MaxSim: similarities = query @ document.T, then the "
                        "maximum of every row, summed.")


@exercise("2.2", 1, "The same document twice", "one of 'higher', 'lower' or 'same'")
def _check_2_2(answer):
    guess = _choice(answer, ("higher", "lower", "same"))
    rng = np.random.default_rng(22)
    query, document = rng.normal(size=(5, 8)), rng.normal(size=(7, 8))
    from .maxsim import maxsim

    doubled, once = maxsim(query, np.vstack([document, document])), maxsim(query, document)
    want = "same" if math.isclose(doubled, once) else ("higher" if doubled > once else "lower")
    if guess != want:
        raise Wrong("each query row still takes one maximum; can a copy of a row beat the row itself?")


@exercise("2.3", 1, "How many terms in the other direction?", "a whole number, such as 7")
def _check_2_3(answer):
    guess = _number(answer, "a whole number, such as 7")
    from .maxsim import explain_maxsim

    rng = np.random.default_rng(23)
    document, query = rng.normal(size=(20, 8)), rng.normal(size=(32, 8))
    want = len(explain_maxsim(document, query).contributions)  # maxsim(document, query)
    if guess != want:
        raise Wrong("MaxSim adds one maximum per row of its *first* argument; which matrix is first here?")


# --- 03 · Use cases -------------------------------------------------------------------------------

@exercise("3.1", 2, "The four documents, MaxSim the other way round",
          "a list of four document letters such as ['A', 'C', 'B', 'D']")
def _check_3_1(answer, query_vectors, doc_vectors):
    from .maxsim import maxsim

    guess = _letters(answer, 4)
    reverse = np.array([maxsim(d, query_vectors) for d in doc_vectors])
    want = ["ABCD"[i] for i in np.argsort(-reverse, kind="stable")]
    if guess != want:
        forward = np.array([maxsim(query_vectors, d) for d in doc_vectors])
        if guess == ["ABCD"[i] for i in np.argsort(-forward, kind="stable")]:
            raise Wrong("that is the order of maxsim(query, document), as the notebook computed it; "
                        "this exercise asks for maxsim(document, query).")
        raise Wrong("score each document with helpers.maxsim(document_vectors, query_vectors) and sort "
                    "the letters from the highest score down.")


@exercise("3.2", 1, "Adding rows to a document", "one of 'raise or keep', 'lower or keep' or 'either'")
def _check_3_2(answer):
    guess = _choice(answer, ("raise or keep", "lower or keep", "either"))
    if guess != "raise or keep":
        raise Wrong("for fixed vectors, every query row takes the maximum over the document's rows; "
                    "what can one more candidate do to a maximum?")


@exercise("3.3", 2, "Stuffing the snakes", "one of 'dense', 'colbert', 'both' or 'neither'")
def _check_3_3(answer, dense_model, colbert_model, query, documents):
    from .maxsim import maxsim

    guess = _choice(answer, ("dense", "colbert", "both", "neither"))
    stuffed = list(documents[:3]) + [documents[3] + TEXTS["3.3"]]
    dense_query, query_vectors = next(dense_model.query_embed(query)), next(colbert_model.query_embed(query))

    def rank_of_d(texts):  # 1 = first of the four
        dense = [float(np.dot(dense_query, v)) for v in dense_model.passage_embed(texts)]
        late = [maxsim(query_vectors, m) for m in colbert_model.passage_embed(texts)]
        return [1 + sum(s > scores[3] for s in scores) for scores in (dense, late)]

    climbed = [after < before for before, after in zip(rank_of_d(documents), rank_of_d(stuffed))]
    want = {(True, True): "both", (True, False): "dense", (False, True): "colbert", (False, False): "neither"}
    if guess != want[tuple(climbed)]:
        raise Wrong("score the four texts with each model twice, with D as it is and with D stuffed, and "
                    "compare D's rank among the four (1 = first) before and after.")


# --- 04 · Problems of multi-vector search -----------------------------------------------------------

@exercise("4.1", 1, "Bytes of a 50-token passage in float16", "a whole number of bytes")
def _check_4_1(answer):
    guess = _number(answer, "a whole number of bytes")
    if guess == 50 * 128 * 4:
        raise Wrong("that is float32; float16 takes half as many bytes per number.")
    if guess != 50 * 128 * 2:
        raise Wrong("one vector per token, 128 numbers per vector, and how many bytes per float16 number?")


@exercise("4.2", 1, "A collection of ten million passages", "a number of GiB")
def _check_4_2(answer):
    guess = _number(answer, "a number of GiB")
    total = 10_000_000 * 31 * 128 * 4
    if math.isclose(guess, total / 1e9, rel_tol=0.01):
        raise Wrong("that is in GB (10^9 bytes); a GiB is 2^30 bytes.")
    if not math.isclose(guess, total / 2**30, rel_tol=0.01):
        raise Wrong("passages x tokens per passage x 128 numbers x 4 bytes, divided by 2**30.")


@exercise("4.3", 2, "Multiply-adds of a two-stage search",
          "a function two_stage_ops(n_docs, mean_tokens, candidates) that returns a number")
def _check_4_3(two_stage_ops):
    rng = np.random.default_rng(43)
    for _ in range(6):
        n_docs, mean_tokens = int(rng.integers(100, 10**6)), float(rng.uniform(5, 200))
        candidates = int(rng.integers(1, 1000))
        want = 384 * n_docs + 32 * 128 * mean_tokens * candidates
        got = _number(_called(two_stage_ops, n_docs, mean_tokens, candidates), "a number")
        if _close(got, 2 * want):
            raise Wrong("you counted floating-point operations (2 per multiply-add); count multiply-adds.")
        if _close(got, 32 * 128 * mean_tokens * candidates):
            raise Wrong("the first stage costs something too: one 384-number dot product per document.")
        if not _close(got, want):
            raise Wrong("first stage: 384 multiply-adds per document; second stage: 32 query rows x 128 "
                        "numbers x the candidates' tokens.")


# --- 05 · Multi-vector search in Qdrant -------------------------------------------------------------

@exercise("5.1", 2, "A multivector field for a 96-number model",
          "a qdrant_client models.VectorParams")
def _check_5_1(answer):
    from qdrant_client import models

    if not isinstance(answer, models.VectorParams):
        raise Wrong(f"expected models.VectorParams(...), got {type(answer).__name__}")
    if answer.size != 96:
        raise Wrong(f"size is {answer.size}: it is the length of one token vector of this model.")
    if answer.multivector_config is None:
        raise Wrong("without multivector_config Qdrant stores one vector per point; add "
                    "models.MultiVectorConfig(comparator=...).")
    if answer.multivector_config.comparator != models.MultiVectorComparator.MAX_SIM:
        raise Wrong("the comparator must be MaxSim.")
    hnsw = answer.hnsw_config
    if hnsw is None or hnsw.m != 0:
        raise Wrong("this field is only used to rerank; notebook 04 and this notebook switch its HNSW "
                    "graph off (hnsw_config with m=0).")


@exercise("5.2", 1, "Prefetch 10, return 10", "True or False")
def _check_5_2(answer):
    if not isinstance(answer, (bool, np.bool_)):
        raise Wrong(f"expected True or False, got {answer!r}")
    if answer:
        raise Wrong("the ColBERT stage scores only the passages the prefetch hands it; where could "
                    "another passage come from?")


@exercise("5.3", 2, "Two stages in numpy",
          "a function two_stage_top10(dense_scores, maxsim_scores, n) that returns 10 passage ids")
def _check_5_3(two_stage_top10):
    rng = np.random.default_rng(53)
    for n in (10, 25, 60, 200):
        dense, late = rng.normal(size=200), rng.normal(size=200)
        candidates = np.argsort(-dense, kind="stable")[:n]
        want = [int(i) for i in candidates[np.argsort(-late[candidates], kind="stable")][:10]]
        got = _called(two_stage_top10, dense.copy(), late.copy(), n)
        try:
            got = [int(i) for i in got]
        except (TypeError, ValueError):
            raise Wrong(f"expected a list of 10 passage ids, got {got!r}") from None
        if got == [int(i) for i in np.argsort(-late, kind="stable")[:10]] and got != want:
            raise Wrong(f"with n={n} that is MaxSim over every passage; rerank only the dense top n.")
        if got != want:
            raise Wrong(f"with n={n}: take the n passages with the highest dense scores, then order "
                        "those by their MaxSim scores, highest first, and keep 10.")


# --- 06 · Evaluating retrieval ----------------------------------------------------------------------

@exercise("6.1", 2, "nDCG@10 by hand",
          "a function my_ndcg10(ranking, grades) that returns a number")
def _check_6_1(my_ndcg10):
    from .evaluation import evaluate_run
    from .queries import Query

    rng = np.random.default_rng(61)
    for case in range(6):
        ranking = [int(i) for i in rng.choice(200, size=int(rng.integers(3, 15)), replace=False)]
        judged = rng.choice(200, size=int(rng.integers(1, 8)), replace=False)
        grades = {int(p): int(rng.integers(1, 3)) for p in judged}
        if case == 0:  # one ranking that finds a relevant passage at rank 1
            grades[ranking[0]] = 2
        query = Query(f"q{case}", "?", "keyword", "dev", False, dict(grades))
        run = {query.id: {pid: float(len(ranking) - rank) for rank, pid in enumerate(ranking)}}
        want = evaluate_run(run, [query], metrics=["ndcg@10"])["ndcg@10"]
        got = _number(_called(my_ndcg10, list(ranking), dict(grades)), "a number")
        if not _close(got, want):
            if got > 1 + 1e-9:
                raise Wrong("nDCG is at most 1: divide DCG by the DCG of the ideal ranking (all judged "
                            "passages sorted by grade, best first).")
            raise Wrong("DCG@10 = sum over the first 10 ranks r (from 1) of grade / log2(r + 1); divide by "
                        "the same sum for the grades sorted best first (only the top 10 count).")


@exercise("6.2", 1, "Which tests survive Holm's correction?",
          "a list of p-values taken from the five, such as [0.01]")
def _check_6_2(answer):
    from .evaluation import holm

    family = [0.04, 0.2, 0.012, 0.5, 0.03]
    if not isinstance(answer, (list, tuple)) or not all(isinstance(p, (int, float)) for p in answer):
        raise Wrong(f"expected a list of p-values taken from {family}, got {answer!r}")
    want = sorted(p for p, adjusted in zip(family, holm(family)) if adjusted <= 0.05)
    if sorted(answer) == sorted(p for p in family if p <= 0.05):
        raise Wrong("those are the tests below 0.05 before any correction; with five tests in the "
                    "family Holm multiplies the smallest p-value by 5, the next by 4, ...")
    if sorted(answer) != want:
        raise Wrong("sort the p-values; multiply the smallest by 5, the next by 4, and so on, keeping "
                    "each adjusted value at least as large as the one before; stop at the first above 0.05.")


@exercise("6.3", 1, "What p = 0.03 says", "one of 'a', 'b', 'c' or 'd'")
def _check_6_3(answer):
    guess = _choice(answer, ("a", "b", "c", "d"))
    if guess != "c":
        raise Wrong({"a": "that is the transposed conditional: the p-value is computed assuming no "
                          "difference, so it cannot be the probability of that assumption.",
                     "b": "a p-value says nothing about the size of a difference; a tiny difference can "
                          "have a tiny p-value on many queries.",
                     "d": "the p-value is computed assuming there is no difference; which outcomes does "
                          "it count?"}[guess])


@exercise("6.4", 3, "The cross-encoder on trap queries", "one of 'significant' or 'not significant'")
def _check_6_4(answer, runs, queries):
    from .evaluation import compare_runs

    guess = _choice(answer, ("significant", "not significant"))
    traps = [q for q in queries if q.kind == "trap"]
    if not traps:
        raise ValueError("the queries passed in have no trap query")
    a, b = ({q.id: runs[name][q.id] for q in traps} for name in ("dense 30 > cross-encoder", "dense 30 > ColBERT"))
    want = "significant" if compare_runs(a, b, traps).p_value <= 0.05 else "not significant"
    if guess != want:
        raise Wrong("keep the trap queries, restrict both runs to them ({q.id: run[q.id] for q in traps}), "
                    "and read the p-value of helpers.evaluation.compare_runs on those queries.")


# --- 07 · Multi-stage retrieval ----------------------------------------------------------------------

@exercise("7.1", 2, "Qdrant's RRF by hand",
          "a function my_rrf(rankings) that returns passage ids, best first")
def _check_7_1(my_rrf):
    from .pipelines import rrf

    rng = np.random.default_rng(71)
    for _ in range(6):
        rankings = [[(int(p), 0.0) for p in rng.choice(30, size=int(rng.integers(2, 12)), replace=False)]
                    for _ in range(int(rng.integers(2, 4)))]
        fused = dict(rrf(*rankings, limit=60))  # passage id -> fused score
        got = _called(my_rrf, [[pid for pid, _ in r] for r in rankings])
        try:
            got = [int(p) for p in got]
        except (TypeError, ValueError):
            raise Wrong(f"expected a list of passage ids, got {got!r}") from None
        if sorted(got) != sorted(fused):
            raise Wrong("return every passage that appears in any ranking, once each.")
        # equal sums may come in either order: the order between ties is a convention, not the exercise
        if any(fused[a] < fused[b] - 1e-12 for a, b in zip(got, got[1:])):
            raise Wrong("a passage at position p (0 for the first) of a ranking earns 1 / (p + 2) there "
                        "(Qdrant's default k); add its earnings over the rankings and sort, highest first.")


@exercise("7.2", 1, "Which passage does RRF put first?", "a passage id, such as 7")
def _check_7_2(answer):
    from .pipelines import rrf

    guess = _number(answer, "a passage id, such as 7")
    dense, sparse = [7, 3, 5, 1], [3, 5, 9, 7]
    fused = rrf([(p, 0.0) for p in dense], [(p, 0.0) for p in sparse], limit=1)
    if guess != fused[0][0]:
        raise Wrong("RRF ignores the scores and adds 1 / (position + 2) over both rankings: work out the "
                    "sum for each passage.")


@exercise("7.3", 3, "Does fusion help paraphrases?", "one of 'dense', 'hybrid' or 'tie'")
def _check_7_3(answer, index, queries, embedded):
    from .evaluation import evaluate_run
    from .pipelines import run_pipeline

    guess = _choice(answer, ("dense", "hybrid", "tie"))
    paraphrases = [q for q in queries if q.kind == "paraphrase"]
    if not paraphrases:
        raise ValueError("the queries passed in have no paraphrase query")
    scores = {name: round(evaluate_run(run_pipeline(search, paraphrases, embedded), paraphrases,
                                       metrics=["ndcg@10"])["ndcg@10"], 4)
              for name, search in (("dense", index.dense), ("hybrid", index.hybrid))}
    want = "tie" if scores["dense"] == scores["hybrid"] else max(scores, key=scores.get)
    if guess != want:
        raise Wrong("keep the queries whose kind is 'paraphrase', make a run of index.dense and one of "
                    "index.hybrid with helpers.run_pipeline, and compare their nDCG@10 (to 4 decimals).")


# --- 08 · Quantization -----------------------------------------------------------------------------

@exercise("8.1", 2, "Binary similarity from a Hamming distance",
          "a function binary_similarity(a, b) that returns a number")
def _check_8_1(binary_similarity):
    rng = np.random.default_rng(81)
    for _ in range(6):
        dim = int(rng.choice([8, 16, 64, 128]))
        a, b = rng.normal(size=dim).astype(np.float32), rng.normal(size=dim).astype(np.float32)
        want = float(np.where(a > 0, 1, -1) @ np.where(b > 0, 1, -1)) / dim
        got = _number(_called(binary_similarity, a.copy(), b.copy()), "a number")
        if not _close(got, want):
            hamming = int(np.count_nonzero((a > 0) != (b > 0)))
            if _close(got, hamming):
                raise Wrong("that is the Hamming distance itself; turn it into a similarity between -1 and 1.")
            raise Wrong("with d positions whose signs differ, the ±1 vectors' dot product is dim - 2d; "
                        "divide by dim (use len(a), not 128: the check tries other lengths).")


@exercise("8.2", 1, "Binary bytes for a smaller model", "a whole number of bytes")
def _check_8_2(answer):
    guess = _number(answer, "a whole number of bytes")
    if guess == 40 * 96 * 4:
        raise Wrong("that is float32; binary keeps one bit per number.")
    if guess == 40 * 96:
        raise Wrong("that counts bits; a byte holds 8.")
    if guess != 40 * 96 / 8:
        raise Wrong("40 token vectors of 96 numbers, one bit per number, 8 bits per byte.")


@exercise("8.3", 1, "The largest int8 rounding error", "a number")
def _check_8_3(answer):
    guess = _number(answer, "a number")
    step = 2.0 / 255
    if math.isclose(guess, step, rel_tol=1e-3):
        raise Wrong("that is one whole step; rounding to the nearest step is off by at most how much?")
    if not math.isclose(guess, step / 2, rel_tol=1e-3):
        raise Wrong("256 codes split [-1, 1] into 255 steps; a value is rounded to the nearest step.")


# --- 09 · Token pooling ------------------------------------------------------------------------------

@exercise("9.1", 1, "How many vectors after pooling?", "a whole number")
def _check_9_1(answer):
    from .pooling import pool_tokens

    guess = _number(answer, "a whole number")
    want = len(pool_tokens(np.random.default_rng(91).normal(size=(31, 8)), 3))
    if guess == 31 // 3:
        raise Wrong("this course's pooling rounds the number of clusters up, not down.")
    if guess != want:
        raise Wrong("pool factor 3 divides the number of token vectors by 3 (see pool_tokens' docstring).")


@exercise("9.2", 2, "Mean pooling of given clusters",
          "a function pool_by_labels(vectors, labels) that returns a (n_clusters, dim) array")
def _check_9_2(pool_by_labels):
    rng = np.random.default_rng(92)
    for _ in range(5):
        vectors = rng.normal(size=(int(rng.integers(4, 20)), 8)).astype(np.float32)
        labels = rng.integers(0, 3, size=len(vectors))
        labels[:3] = [0, 1, 2]  # every cluster has a member, first seen in order 0, 1, 2
        means = np.stack([vectors[labels == c].mean(axis=0) for c in range(3)])
        want = means / np.linalg.norm(means, axis=1, keepdims=True)
        got = np.asarray(_called(pool_by_labels, vectors.copy(), labels.copy()), dtype=np.float64)
        if got.shape != want.shape:
            raise Wrong(f"expected shape {want.shape} (one row per cluster), got {got.shape}")
        if np.allclose(got, means, atol=1e-5):
            raise Wrong("the means are right; the course's pooling also scales each to length 1.")
        if not np.allclose(got, want, atol=1e-5):
            raise Wrong("row c is the mean of the vectors whose label is c, scaled to unit length.")


@exercise("9.3", 1, "Memory after pooling and int8", "a number (a fraction of the float32 bytes)")
def _check_9_3(answer):
    guess = _number(answer, "a number (a fraction of the float32 bytes)")
    if not math.isclose(guess, 1 / 4 / 4, rel_tol=0.02):
        raise Wrong("pooling by 4 keeps about a quarter of the vectors; int8 keeps a quarter of the bytes "
                    "of each: the two multiply.")


# --- 10 · MUVERA --------------------------------------------------------------------------------------

@exercise("10.1", 1, "The size of an encoding", "a whole number")
def _check_10_1(answer):
    from fastembed.postprocess import Muvera

    guess = _number(answer, "a whole number")
    if guess != Muvera(dim=128, k_sim=4, dim_proj=8, r_reps=10).embedding_size:
        raise Wrong("repetitions x buckets (2 to the power k_sim) x dim_proj numbers.")


@exercise("10.2", 2, "How crowded are the buckets?",
          "a function fullest_share(cluster_ids, n_buckets, top) that returns a number between 0 and 1")
def _check_10_2(fullest_share):
    rng = np.random.default_rng(102)
    for _ in range(5):
        n_buckets = int(rng.choice([8, 16, 32]))
        ids = rng.choice(n_buckets, size=int(rng.integers(20, 400)), p=rng.dirichlet(np.ones(n_buckets) * 0.5))
        top = int(rng.integers(1, 5))
        counts = np.sort(np.bincount(ids, minlength=n_buckets))[::-1]
        want = counts[:top].sum() / counts.sum()
        got = _number(_called(fullest_share, ids.copy(), n_buckets, top), "a number between 0 and 1")
        if _close(got, counts[:top].sum()):
            raise Wrong("that is a count; divide by the number of vectors.")
        if not _close(got, want):
            raise Wrong("count the vectors in each bucket (np.bincount), take the `top` largest counts, "
                        "and divide their sum by the number of vectors.")


@exercise("10.3", 1, "An empty bucket", "one of 'zeros', 'nearest' or 'mean'")
def _check_10_3(answer):
    guess = _choice(answer, ("zeros", "nearest", "mean"))
    if guess != "nearest":
        raise Wrong("reread the section 'How the encoding works': what does a passage's empty bucket borrow?")
