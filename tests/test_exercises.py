"""Exercises: every check against its solution, its placeholder, a typical wrong answer and bad input;
checks that follow the weights they are given; the notebooks' exercise cells; README's table."""

import ast
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import helpers
from helpers.exercises import EXERCISES, TEXTS, Feedback, feedback

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import solutions  # noqa: E402  (tools/solutions.py)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[01][0-9]-*.ipynb"))

#: One typical wrong answer per exercise, as code for its answer cell.
WRONG = {
    "1.1": "answer_1_1 = 5",
    "1.2": "answer_1_2 = 32",
    "1.3": "answer_1_3 = float((next(colbert_model.query_embed(query)) @ next(colbert_model.passage_embed("
           "[TEXTS['1.3']])).T).max(axis=1).mean())",
    "2.1": "def my_maxsim(q, d):\n    return float((q @ d.T).max(axis=0).sum())",
    "2.2": "answer_2_2 = 'higher'",
    "2.3": "answer_2_3 = 32",
    "3.1": "answer_3_1 = [labels[i][0] for i in np.argsort(-np.array([helpers.maxsim(query_vectors, d) "
           "for d in doc_vectors]), kind='stable')]",
    "3.2": "answer_3_2 = 'either'",
    "3.3": None,  # the opposite of the solution's answer, made in the test
    "4.1": "answer_4_1 = 50 * 128 * 4",
    "4.2": "answer_4_2 = 10_000_000 * 31 * 128 * 4 / 1e9",
    "4.3": "def two_stage_ops(n_docs, mean_tokens, candidates):\n    return 32 * 128 * mean_tokens * candidates",
    "5.1": "vector_params_5_1 = models.VectorParams(size=96, distance=models.Distance.DOT)",
    "5.2": "answer_5_2 = True",
    "5.3": "def two_stage_top10(dense_scores, maxsim_scores, n):\n"
           "    return np.argsort(-maxsim_scores, kind='stable')[:10].tolist()",
    "6.1": "def my_ndcg10(ranking, grades):\n"
           "    return sum(grades.get(p, 0) / np.log2(r + 2) for r, p in enumerate(ranking[:10]))",
    "6.2": "answer_6_2 = [0.04, 0.012, 0.03]",
    "6.3": "answer_6_3 = 'a'",
    "6.4": None,  # the opposite of the solution's answer, made in the test
    "7.1": "def my_rrf(rankings):\n    scores = {}\n    for r in rankings:\n        for p, pid in enumerate(r):\n"
           "            scores[pid] = scores.get(pid, 0) + 1 / (p + 60)\n"
           "    return sorted(scores, key=scores.get)",
    "7.2": "answer_7_2 = 7",
    "7.3": None,  # the opposite of the solution's answer, made in the test
    "8.1": "def binary_similarity(a, b):\n    return int(np.count_nonzero((a > 0) != (b > 0)))",
    "8.2": "answer_8_2 = 40 * 96",
    "8.3": "answer_8_3 = 2 / 255",
    "9.1": "answer_9_1 = 31 // 3",
    "9.2": "def pool_by_labels(vectors, labels):\n"
           "    return np.stack([vectors[labels == c].mean(axis=0) for c in range(labels.max() + 1)])",
    "9.3": "answer_9_3 = 0.25",
    "10.1": "answer_10_1 = 10 * 4 * 8",
    "10.2": "def fullest_share(cluster_ids, n_buckets, top):\n"
            "    return np.sort(np.bincount(cluster_ids, minlength=n_buckets))[::-1][:top].sum()",
    "10.3": "answer_10_3 = 'zeros'",
}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def all_exercises():
    """(notebook path, exercise id, {role: cell}) for every exercise of the learners' notebooks."""
    found = []
    for path in NOTEBOOKS:
        notebook = load(path)
        for exercise_id, roles in solutions.exercises(notebook).items():
            found.append((path, exercise_id, {role: notebook["cells"][i] for role, i in roles.items()}))
    return found


EXERCISE_CELLS = all_exercises()
IDS = [exercise_id for _, exercise_id, _ in EXERCISE_CELLS]


def course_models():
    """The course's models, as the notebooks make them (the offline profile in the tests)."""
    helpers.setup(quiet=True)
    from fastembed import LateInteractionTextEmbedding, TextEmbedding

    return SimpleNamespace(colbert=LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
                           dense=TextEmbedding(helpers.DENSE_MODEL))


def course_corpus():
    """Notebook 07's index, labelled queries and their embeddings (from the embedding cache)."""
    helpers.setup(quiet=True)
    index = helpers.course_index()
    queries = helpers.load_queries()
    return SimpleNamespace(index=index, queries=queries, embedded=index.embed_labelled(queries))


models_in_use = pytest.fixture(scope="module", name="models_in_use")(lambda: course_models())
corpus = pytest.fixture(scope="module", name="corpus")(lambda: course_corpus())


def namespace(exercise_id, models_in_use, corpus_fixture):
    """The names a notebook has defined when its learner reaches the exercise."""
    from qdrant_client import models

    from helpers.examples import POOL_DOCUMENTS, POOL_QUERY

    names = {"np": np, "helpers": helpers, "models": models, "TEXTS": TEXTS}
    notebook = int(exercise_id.split(".")[0])
    if notebook == 1:
        names.update(colbert_model=models_in_use.colbert, query="What is Qdrant?")
    if notebook == 3:
        documents = list(POOL_DOCUMENTS.values())
        names.update(colbert_model=models_in_use.colbert, dense_model=models_in_use.dense, query=POOL_QUERY,
                     documents=documents, labels=list(POOL_DOCUMENTS),
                     query_vectors=next(models_in_use.colbert.query_embed(POOL_QUERY)),
                     doc_vectors=list(models_in_use.colbert.passage_embed(documents)))
    if notebook == 6:  # two of notebook 06's runs, by name: here the dense and hybrid pipelines stand in
        corpus = corpus_fixture()
        names.update(queries=corpus.queries, runs={
            "dense 30 > ColBERT": helpers.run_pipeline(corpus.index.dense, corpus.queries, corpus.embedded),
            "dense 30 > cross-encoder": helpers.run_pipeline(corpus.index.hybrid, corpus.queries, corpus.embedded)})
    if notebook == 7:
        corpus = corpus_fixture()
        names.update(index=corpus.index, queries=corpus.queries, embedded=corpus.embedded)
    return names


def run_check(check_cell_source, names):
    """Evaluate a check cell, ``helpers.check("N.M", answer, *context)``, as feedback()."""
    call = ast.parse(check_cell_source.strip(), mode="eval").body
    assert isinstance(call, ast.Call) and ast.unparse(call.func) == "helpers.check", check_cell_source
    args = [eval(compile(ast.Expression(arg), "<check>", "eval"), names) for arg in call.args]
    return feedback(*args)


def answered(code, names):
    names = dict(names)
    exec(compile(code, "<answer>", "exec"), names)
    return names


# --- the notebooks' exercise cells ---------------------------------------------------------------------

def test_every_notebook_has_three_exercises_and_one_where_the_learner_writes_code():
    # notebook 11 is the final project: its task is the learner's own documents, queries and grades
    for path in (p for p in NOTEBOOKS if not p.name.startswith("11-")):
        found = solutions.exercises(load(path))
        assert len(found) >= 3, f"{path.name}: {len(found)} exercises"
        assert any(EXERCISES[i].stars >= 2 for i in found), f"{path.name}: no ★★ or ★★★ exercise"
    assert len(IDS) >= 30 and len(set(IDS)) == len(IDS)
    assert set(IDS) == set(EXERCISES), "every registered check belongs to an exercise in a notebook"


@pytest.mark.parametrize("path, exercise_id, cells", EXERCISE_CELLS, ids=IDS)
def test_exercise_cells_are_complete_and_agree_with_the_registry(path, exercise_id, cells):
    assert list(cells) == ["task", "answer", "check", "solution"], "the four cells, in this order"
    notebook = load(path)
    roles = solutions.exercises(notebook)[exercise_id]
    assert [roles[r] for r in ("task", "answer", "check", "solution")] == list(range(roles["task"], roles["task"] + 4))
    found_id, stars, title = solutions.heading(cells["task"])
    spec = EXERCISES[exercise_id]
    assert (found_id, stars, title) == (exercise_id, spec.stars, spec.title)
    assert path.name.startswith(f"{int(exercise_id.split('.')[0]):02d}-")
    answer = solutions.source(cells["answer"])
    assert re.search(r"(= |return )\.\.\.", answer), "the answer cell is committed with its placeholder"
    check = solutions.source(cells["check"])
    assert check.startswith(f'helpers.check("{exercise_id}", ')
    # the check's committed output says "not answered yet", never right or wrong
    printed = "".join("".join(o.get("text", "")) for o in cells["check"].get("outputs", []))
    assert printed.startswith(f"Exercise {exercise_id} · Not answered yet:"), printed
    solution = solutions.source(cells["solution"])
    assert solution.startswith("<details>") and solution.rstrip().endswith("</details>")
    code = solutions.solution_code(cells["solution"])
    # the answer cell's given lines (everything but the placeholder) are in the solution: one source
    for line in answer.split("\n"):
        if "..." not in line and line.strip():
            assert line in code.split("\n"), f"answer cell line {line!r} is missing from the solution"


# --- every check: placeholder, solution, wrong answer, bad input ------------------------------------------

@pytest.mark.parametrize("path, exercise_id, cells", EXERCISE_CELLS, ids=IDS)
def test_check_says_not_answered_right_and_not_yet(path, exercise_id, cells, models_in_use, request):
    names = namespace(exercise_id, models_in_use, lambda: request.getfixturevalue("corpus"))
    check = solutions.source(cells["check"])

    placeholder = run_check(check, answered(solutions.source(cells["answer"]), names))
    assert placeholder.status == "unanswered", placeholder

    solved = answered(solutions.solution_code(cells["solution"]), names)
    right = run_check(check, solved)
    assert right.status == "right", right
    assert str(right) == solutions.right_line(exercise_id).strip()

    if WRONG[exercise_id] is None:  # a choice that depends on the weights: the other option
        variable = next(n for n in solved if n.startswith("answer_"))
        options = {"3.3": ("dense", "colbert", "both", "neither"), "6.4": ("significant", "not significant"),
                   "7.3": ("dense", "hybrid", "tie")}[exercise_id]
        wrong_code = f"{variable} = {next(o for o in options if o != solved[variable])!r}"
    else:
        wrong_code = WRONG[exercise_id]
    wrong = run_check(check, answered(wrong_code, names))
    assert wrong.status == "wrong" and len(wrong.message) > 20, wrong


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_bad_input_says_what_was_expected(exercise_id):
    context = {"1.1": 1, "1.2": 1, "1.3": 2, "3.1": 2, "3.3": 4, "6.4": 2, "7.3": 3}.get(exercise_id, 0)
    for bad in ({}, "", [], None, object()):
        if exercise_id == "6.2" and bad == []:
            continue  # an empty list is a well-formed answer to 6.2
        result = feedback(exercise_id, bad, *[None] * context)
        assert result.status == "wrong", (bad, result)
        assert "expected" in result.message, result
        assert "Traceback" not in result.message


def test_feedback_reads_as_one_line_and_unknown_exercises_are_named():
    assert str(Feedback("2.1", "right", "")) == "Exercise 2.1 · Right."
    assert str(feedback("2.1", ...)).startswith("Exercise 2.1 · Not answered yet: replace the ... with a function")
    crashing = feedback("2.1", lambda q, d: 1 / 0)
    assert crashing.status == "wrong" and "ZeroDivisionError" in crashing.message
    with pytest.raises(ValueError, match="no exercise '99.1'"):
        feedback("99.1", 1)


# --- checks whose answer depends on the weights follow the model they are given ---------------------------

class FakeColbert:
    """A ColBERT-like model whose vectors come from a seed: substituted model outputs."""

    def __init__(self, seed, query_tokens=32):
        self.seed, self.query_tokens = seed, query_tokens

    def _matrix(self, text, rows):
        rng = np.random.default_rng([self.seed, *text.encode()])
        m = rng.normal(size=(rows, 16)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    def passage_embed(self, texts):
        return iter([self._matrix(t, len(t.split()) + 3 + self.seed % 3) for t in texts])

    def query_embed(self, text):
        return iter([self._matrix("query " + text, self.query_tokens)])


class FakeDense:
    def __init__(self, seed):
        self.seed = seed

    def _vector(self, text):
        v = np.random.default_rng([self.seed, *text.encode()]).normal(size=8)
        return v / np.linalg.norm(v)

    def passage_embed(self, texts):
        return iter([self._vector(t) for t in texts])

    def query_embed(self, text):
        return iter([self._vector("query " + text)])


def test_model_dependent_checks_compute_the_answer_from_the_model_they_are_given():
    from helpers.examples import POOL_DOCUMENTS, POOL_QUERY
    from helpers.maxsim import maxsim

    documents = list(POOL_DOCUMENTS.values())
    # 1.1: the count of vectors is the given model's (1.2 reads the tokenizer, which every profile shares)
    for model in (FakeColbert(1), FakeColbert(2, query_tokens=40)):
        want = len(next(model.passage_embed([TEXTS["1.1"]])))
        assert feedback("1.1", want, model)
        assert not feedback("1.1", want + 1, model)
    # 1.3: the score follows the model
    a, b = FakeColbert(4), FakeColbert(5)
    score_a = maxsim(next(a.query_embed("What is Qdrant?")), next(a.passage_embed([TEXTS["1.3"]])))
    assert feedback("1.3", score_a, a, "What is Qdrant?") and not feedback("1.3", score_a, b, "What is Qdrant?")
    # 3.1: with other token vectors (permuted documents) the expected order follows
    orders = set()
    for seed in range(6):
        model = FakeColbert(seed)
        q, docs = next(model.query_embed(POOL_QUERY)), list(model.passage_embed(documents))
        want = ["ABCD"[i] for i in np.argsort([-maxsim(d, q) for d in docs], kind="stable")]
        orders.add(tuple(want))
        assert feedback("3.1", want, q, docs)
        assert not feedback("3.1", want, q, docs[::-1])  # other documents under the same letters
        permuted = [docs[i] for i in (3, 2, 1, 0)]
        want_permuted = ["ABCD"[i] for i in np.argsort([-maxsim(d, q) for d in permuted], kind="stable")]
        assert feedback("3.1", want_permuted, q, permuted)
    assert len(orders) > 1, "the fakes must give different orders for this test to mean anything"
    # 3.3: the right choice is whatever the given models say
    answers = set()
    for seed in range(8):
        dense, colbert = FakeDense(seed), FakeColbert(seed)
        right = [c for c in ("dense", "colbert", "both", "neither")
                 if feedback("3.3", c, dense, colbert, POOL_QUERY, documents)]
        assert len(right) == 1
        answers.add(right[0])
    assert len(answers) > 1, "different weights must lead to different right answers"


def test_the_trap_query_test_follows_the_runs_it_is_given(corpus):
    queries = corpus.queries
    best_first = {q.id: sorted(q.judgements, key=q.judgements.get, reverse=True)[:10] for q in queries}
    perfect = {q.id: {pid: 10.0 - r for r, pid in enumerate(best_first[q.id])} for q in queries}
    # useless for all but every fourth query: the per-query differences vary (a constant difference
    # has no variance, and the t-test then warns)
    useless = {q.id: perfect[q.id] if i % 4 == 0 else {2000 + r: 10.0 - r for r in range(10)}
               for i, q in enumerate(queries)}
    named = lambda a, b: {"dense 30 > cross-encoder": a, "dense 30 > ColBERT": b}  # noqa: E731
    assert feedback("6.4", "significant", named(perfect, useless), queries)
    assert feedback("6.4", "not significant", named(perfect, perfect), queries)
    assert not feedback("6.4", "significant", named(perfect, perfect), queries)


def test_the_experiment_check_follows_the_pipelines_it_is_given(corpus):
    paraphrases = [q for q in corpus.queries if q.kind == "paraphrase"]
    assert paraphrases
    best_first = {q.id: sorted(q.judgements, key=q.judgements.get, reverse=True) for q in corpus.queries}
    by_text = {e.text: qid for qid, e in corpus.embedded.items()}
    perfect = lambda e, limit=10: [(pid, 1.0) for pid in best_first[by_text[e.text]][:limit]]  # noqa: E731
    useless = lambda e, limit=10: [(pid, 1.0) for pid in range(2000, 2000 + limit)]  # noqa: E731
    assert feedback("7.3", "hybrid", SimpleNamespace(dense=useless, hybrid=perfect), corpus.queries, corpus.embedded)
    assert feedback("7.3", "dense", SimpleNamespace(dense=perfect, hybrid=useless), corpus.queries, corpus.embedded)
    assert feedback("7.3", "tie", SimpleNamespace(dense=perfect, hybrid=perfect), corpus.queries, corpus.embedded)


# --- solutions and README: generated from the notebooks, never a second copy -----------------------------

def test_solution_notebooks_are_the_learners_with_every_answer_solved(tmp_path):
    written = solutions.build(tmp_path)
    with_exercises = [p for p in NOTEBOOKS if solutions.exercises(load(p))]
    assert [p.name for p in written] == [p.name for p in with_exercises]
    assert [p.name for p in NOTEBOOKS if p not in with_exercises] == ["11-your-own-documents.ipynb"]
    for learner_path, solved_path in zip(with_exercises, written):
        learner, solved = load(learner_path), load(solved_path)
        assert len(learner["cells"]) == len(solved["cells"])
        changed = set()
        for exercise_id, roles in solutions.exercises(learner).items():
            answer, check = solved["cells"][roles["answer"]], solved["cells"][roles["check"]]
            assert solutions.source(answer) == solutions.solution_code(learner["cells"][roles["solution"]])
            assert "".join(check["outputs"][0]["text"]) == solutions.right_line(exercise_id)
            changed |= {roles["answer"], roles["check"]}
        for i, (a, b) in enumerate(zip(learner["cells"], solved["cells"])):
            if i not in changed:
                assert a == b, f"{learner_path.name} cell {i} differs in the solution notebook"


def test_readme_lists_the_exercises_as_the_notebooks_have_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert solutions.table() in readme, "README.md's exercise table is stale: python tools/solutions.py table"
