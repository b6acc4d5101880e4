"""helpers.project: notebook 11's folder choice, search side by side, grade buttons and evaluation."""

import json

import pytest

import helpers
from helpers import project
from helpers.documents import Passage, read_documents, token_counter
from helpers.judgements import Judgements, read_judgements


def passage(i: int, path: str = "a.md") -> Passage:
    return Passage(f"{path}#{i:016x}", path, i, "Heading", f"passage number {i} | with a bar and more words here")


class FakeIndex:
    """A DocumentIndex stand-in: each pipeline returns ten passages in its own order."""

    def __init__(self, path):
        self.path = path
        self.found = {"dense": [passage(i) for i in range(10)],
                      "hybrid": [passage(i) for i in range(10, 20)],
                      "cross": [passage(i) for i in range(20, 30)]}

    def embed_query(self, text):
        if not text.strip():
            raise ValueError("the query text is empty")
        return text

    def dense(self, query, limit=10):
        return [(p, 1.0 - i / 10) for i, p in enumerate(self.found["dense"][:limit])]

    def hybrid_colbert(self, query, limit=10):
        return [(p, 20.0 - i) for i, p in enumerate(self.found["hybrid"][:limit])]

    def cross_encoder(self, query, cross_encoder, limit=10):
        return [(p, 5.0 - i) for i, p in enumerate(self.found["cross"][:limit])]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "on")  # as in JupyterLab (conftest.py turns widgets off)
    return project.SearchApp(FakeIndex(tmp_path), cross_encoder=None, colbert_model=None,
                             judgements_path=tmp_path / "judgements.jsonl")


def test_the_folder_is_the_notebooks_else_course_docs_else_the_sample(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    env = {"COURSE_DOCS": str(theirs)}
    assert project.documents_folder(mine, env).path == mine.resolve()
    chosen = project.documents_folder(None, env)
    assert chosen.path == theirs.resolve() and not chosen.is_sample and "COURSE_DOCS" in chosen.why
    sample = project.documents_folder(None, {})
    assert sample.is_sample and sample.path == project.SAMPLE_FOLDER and "unset" in str(sample)
    assert project.documents_folder("", {"COURSE_DOCS": "  "}).is_sample
    with pytest.raises(ValueError, match=r"nowhere.*from COURSE_DOCS.*does not exist"):
        project.documents_folder(None, {"COURSE_DOCS": str(tmp_path / "nowhere")})
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match="set in the notebook.*is a file"):
        project.documents_folder(tmp_path / "file.txt", {})


def test_the_sample_starts_with_its_shipped_judgements_and_keeps_new_ones(tmp_path):
    sample = project.documents_folder(None, {})
    path = project.judgements_file(tmp_path / "index", sample)
    assert path.read_bytes() == project.SAMPLE_JUDGEMENTS.read_bytes()
    with open(path, "a") as out:
        out.write(json.dumps({"query": "q", "passage_id": "a.md#1", "grade": 2, "time": "t"}) + "\n")
    assert project.judgements_file(tmp_path / "index", sample) == path  # not copied over again
    assert read_judgements(path).grades["q"] == {"a.md#1": 2}
    own = project.DocsChoice(tmp_path, False, "set in the notebook")
    assert not project.judgements_file(tmp_path / "own-index", own).exists()


def test_judged_queries_number_passages_by_id_and_count_the_gone_ones():
    judgements = Judgements(grades={"first": {"b#2": 2, "gone#9": 1}, "only gone": {"gone#8": 2},
                                    "second": {"a#1": 0, "c#3": 1}})
    queries, dropped = project.judged_queries(judgements, ["a#1", "b#2", "c#3"])
    assert dropped == 2
    assert [(q.id, q.text, q.judgements) for q in queries] == [("q01", "first", {1: 2}), ("q02", "second", {0: 0, 2: 1})]


def test_the_static_table_has_a_column_per_pipeline_and_escapes_bars(app):
    results = project.search_all(app.index, None, "a query")
    table = project.results_table(results)
    assert table.header == ["rank", *project.PIPELINES]
    assert [row[0] for row in table.rows] == [str(r) for r in range(1, 11)]
    assert table.rows[0][2].startswith("a.md #10: passage number 10")
    assert "\\|" in table._repr_markdown_().splitlines()[2]


def test_the_search_handler_fills_three_columns_of_ten(app):
    assert app.search("   ") == {} and "Type a question" in app.status.value
    results = app.search(" how do I compress a file ")
    assert app.query == "how do I compress a file" and list(results) == list(project.PIPELINES)
    assert [len(column.children) for column in app.columns.children] == [11, 11, 11]  # a title and ten results
    first = app.columns.children
    app.box.value = "another query"  # what Enter in the box does
    assert app.query == "another query"
    assert first[0].comm is None and first[0].children[1].children[1].children[0].comm is None  # closed


def test_a_grade_button_appends_one_judgement(app, tmp_path):
    with pytest.raises(ValueError, match="search first"):
        app.grade("dense", 0, 2)
    app.search("compress a file")
    third_of_hybrid = app.columns.children[1].children[3]  # the title, then results 1, 2, 3
    grade_2 = third_of_hybrid.children[1].children[2]
    assert grade_2.description == "2"
    assert "(<b>not graded</b>)" in third_of_hybrid.children[0].value and "0 of 30 results graded" in app.status.value
    columns = app.columns.children
    grade_2.click()
    assert "Graded a.md #12 2" in app.status.value and "1 of 30 results graded" in app.status.value
    assert "(graded 2)" in app.columns.children[1].children[3].children[0].value  # the result says so now
    assert app.columns.children is columns  # only that line changed: no widget made again per click
    assert app.grade("dense", 0, 1) == "graded a.md #0 1 for 'compress a file': 2 of 30 results graded"
    lines = [json.loads(line) for line in (tmp_path / "judgements.jsonl").read_text().splitlines()]
    assert [(x["query"], x["passage_id"], x["grade"]) for x in lines] == [
        ("compress a file", passage(12).id, 2), ("compress a file", passage(0).id, 1)]
    with pytest.raises(ValueError, match="rank 10 is not one of them"):
        app.grade("dense", 10, 1)
    with pytest.raises(ValueError, match="a grade is 0, 1 or 2"):
        app.grade("dense", 0, 3)


def test_show_search_gives_the_box_where_widgets_run(app):
    assert project.show_search(app, "another example") is app.widget
    assert app.box.value == "another example" and app.query == "another example"


def test_without_a_frontend_no_widget_is_made_and_the_table_is_shown(tmp_path, monkeypatch):
    from ipywidgets.widgets import widget

    monkeypatch.setenv("COURSE_WIDGETS", "off")
    before = len(widget._instances)  # ipywidgets 8.1 (pinned): every live widget
    app = project.SearchApp(FakeIndex(tmp_path), None, None, tmp_path / "judgements.jsonl")
    shown = project.show_search(app, "an example")
    assert shown.header[0] == "rank" and app.query == "an example" and app.widget is None
    assert app.grade("dense", 1, 2) == "graded a.md #1 2 for 'an example': 1 of 30 results graded"
    assert len(widget._instances) == before  # nothing a notebook could save as widget state


def test_the_app_counts_the_pool_across_columns_and_reads_earlier_grades(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    index = FakeIndex(tmp_path)
    index.found["cross"] = [passage(i) for i in (0, 1, *range(20, 28))]  # two passages also in dense's top 10
    path = tmp_path / "judgements.jsonl"
    project.append_judgement(path, "a query", passage(0).id, 0)
    project.append_judgement(path, "other query", passage(1).id, 2)  # another query's grade does not count
    app = project.SearchApp(index, None, None, path)
    app.search("a query")
    assert app.progress() == (1, 28)
    for pipeline, rank in [(p, r) for p in project.PIPELINES for r in range(10)]:
        app.grade(pipeline, rank, 1)
    assert app.progress() == (28, 28)
    assert app.grade("dense", 0, 2).endswith("28 of 28 results graded (all: this query counts)")


def test_only_queries_whose_pool_is_graded_in_full_are_evaluated():
    from helpers.queries import Query

    runs = {"a": {"q1": {0: 2.0, 1: 1.0}, "q2": {0: 2.0, 1: 1.0}}, "b": {"q1": {2: 2.0, 0: 1.0}, "q2": {3: 1.0}}}
    queries = [Query("q1", "first", "own", "test", False, {0: 2, 1: 0, 2: 1}),  # 0, 1, 2 pooled: all graded
               Query("q2", "second", "own", "test", False, {0: 2, 1: 1})]  # 3 pooled too, not graded
    assert [(q.id, graded, pooled) for q, graded, pooled in project.pool_status(runs, queries)] == [
        ("q1", 3, 3), ("q2", 2, 3)]
    assert [q.id for q in project.fully_judged(runs, queries)] == ["q1"]
    assert project.runs_for(runs, queries[:1]) == {"a": {"q1": runs["a"]["q1"]}, "b": {"q1": runs["b"]["q1"]}}
    table = project.pool_table(runs, queries)
    assert table.rows == [["q1", "first", "3 of 3", "yes"], ["q2", "second", "2 of 3", "not yet"]]


def test_enough_says_what_to_do_instead_of_stopping_the_notebook(capsys):
    assert project.enough([object()] * project.MIN_QUERIES) is True and capsys.readouterr().out == ""
    assert project.enough([object()] * 3) is False
    assert capsys.readouterr().out.startswith("3 fully graded queries so far; the evaluation needs 10.")


def test_the_example_query_is_the_samples_or_a_heading_of_yours(tmp_path):
    sample = project.documents_folder(None, {})
    assert project.example_query(sample, []) == project.SAMPLE_EXAMPLE
    (tmp_path / "notes").mkdir()
    yours = project.documents_folder(tmp_path / "notes")
    no_heading = Passage("n.md#1", "n.md", 0, "", "one two three four five six seven eight nine ten")
    assert project.example_query(yours, [no_heading, passage(3)]) == "Heading"
    assert project.example_query(yours, [no_heading]) == "one two three four five six seven eight"
    with pytest.raises(ValueError, match="no passages were read from"):
        project.example_query(yours, [])


@pytest.fixture(scope="module")
def models():
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    helpers.setup(quiet=True)
    return {"dense_model": TextEmbedding(helpers.DENSE_MODEL),
            "colbert_model": LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
            "bm25_model": SparseTextEmbedding(helpers.models.BM25_MODEL),
            "cross_encoder": TextCrossEncoder(helpers.CROSS_ENCODER_MODEL)}


@pytest.fixture(scope="module")
def sample_index(models, tmp_path_factory):
    from helpers.docs_index import DocumentIndex

    choice = project.documents_folder(None, {})
    reading = read_documents(choice.path, token_counter(models["dense_model"]))
    index = DocumentIndex(choice.path, root=tmp_path_factory.mktemp("indexes"),
                          **{k: v for k, v in models.items() if k != "cross_encoder"})
    index.update(reading.passages)
    yield index
    index.close()


def test_the_sample_judgements_are_still_the_pooled_top_10_of_the_three_pipelines(sample_index, models):
    """The shipped judgements were pooled from the three pipelines' top 10 with the offline weights;
    if the sample, a pipeline or the weights change, the pool changes and the sample needs judging again."""
    judgements = read_judgements(project.SAMPLE_JUDGEMENTS)
    assert len(judgements.grades) >= 12 and not judgements.damaged
    for text, grades in judgements.grades.items():
        found = project.search_all(sample_index, models["cross_encoder"], text)
        pooled = {p.id for ranking in found.values() for p, _ in ranking}
        assert pooled == set(grades), text


def test_the_matrix_button_draws_the_query_against_the_result(sample_index, models, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WIDGETS", "off")
    app = project.SearchApp(sample_index, models["cross_encoder"], models["colbert_model"], tmp_path / "j.jsonl")
    app.search("token pooling Ward clustering")
    ax = app.show_matrix("hybrid > ColBERT", 0)
    top = app.results["hybrid > ColBERT"][0][0]
    assert ax.get_title().startswith(project.where(top))
    assert [t.get_text() for t in ax.get_yticklabels()][:3] == ["[CLS]", "[Q]", "token"]
    assert len(ax.get_xticklabels()) == len(helpers.token_labels(models["colbert_model"], top.text, "document"))


def test_compressed_forms_use_the_memory_they_say_and_rank_every_query(sample_index, models, capsys, monkeypatch):
    judgements = read_judgements(project.SAMPLE_JUDGEMENTS)
    ids = sorted(sample_index.passages())
    queries, _ = project.judged_queries(judgements, ids)
    with pytest.raises(ValueError, match="3 fully graded queries: grade every result of at least 10"):
        project.compression_runs(sample_index, queries[:3], ids)
    variants = project.compression_runs(sample_index, queries[:10], ids)
    assert capsys.readouterr().out == ""  # 16 MiB of float vectors: no memory warning
    monkeypatch.setattr(project, "MEMORY_WARNING_BYTES", 50 * 2**20)  # six copies of 16 MiB pass 50 MiB
    project.compression_runs(sample_index, queries[:10], ids)
    gib = 6 * variants[0].megabytes / 1024  # six copies of the float32 vectors
    assert capsys.readouterr().out.startswith(f"Note: with {len(ids):,} passages this comparison holds about {gib:.1f} GiB")
    assert [v.name for v in variants] == ["float32", "int8", "binary, no rescoring", "binary, top 20 rescored",
                                          "pool factor 2, float32"]
    sizes = {v.name: v.megabytes for v in variants}
    assert sizes["int8"] == pytest.approx(sizes["float32"] / 4)
    assert sizes["binary, no rescoring"] == sizes["binary, top 20 rescored"] == pytest.approx(sizes["float32"] / 32)
    assert sizes["float32"] / 2 - 1 < sizes["pool factor 2, float32"] < sizes["float32"]
    for v in variants:
        assert set(v.run) == {q.id for q in queries[:10]} and all(len(r) == 10 for r in v.run.values())
    # the rescored top 10 is ordered by the float vectors' MaxSim: passages in both top 10s keep float32's order
    float32, rescored = variants[0].run, variants[3].run
    for q in queries[:10]:
        order = {name: sorted(run[q.id], key=run[q.id].get, reverse=True) for name, run in
                 (("float32", float32), ("rescored", rescored))}
        both = set(order["float32"]) & set(order["rescored"])
        assert [p for p in order["float32"] if p in both] == [p for p in order["rescored"] if p in both]


def test_ungraded_lists_each_compressed_forms_result_nobody_graded_once(tmp_path, monkeypatch):
    from helpers.queries import Query

    ids = [passage(i).id for i in range(6)]
    held = {p.id: p for p in (passage(i) for i in range(6))}
    queries = [Query("q1", "compress a file", "own", "own", False, {0: 2, 1: 0}),
               Query("q2", "parse arguments", "own", "own", False, {5: 1})]
    variants = [project.Variant("float32", {"q1": {0: 0.9, 2: 0.8, 1: 0.1}, "q2": {5: 1.0}}, 1.0),
                project.Variant("binary", {"q1": {3: 0.5, 2: 0.5, 0: 0.4}, "q2": {4: 2.0, 5: 1.0}}, 0.1)]
    missing = project.ungraded(variants, queries, ids, held, k=2)
    # q1: float32's top 2 is 0 (graded), 2; binary's is 2, 3 (a tie: by number); q2: binary's 4
    assert [(m.query, m.passage.position, m.forms) for m in missing] == [
        ("compress a file", 2, ("float32", "binary")), ("compress a file", 3, ("binary",)),
        ("parse arguments", 4, ("binary",))]

    monkeypatch.setenv("COURSE_WIDGETS", "off")
    path = tmp_path / "judgements.jsonl"
    counted = project.grade_list(missing, path)._repr_markdown_()  # forms as they come: results, queries
    assert counted.index("| float32 | 1 | 1 |") < counted.index("| binary | 3 | 2 |")
    counted = project.grade_list(missing, path, forms=["binary", "float32", "int8"])._repr_markdown_()
    assert counted.index("| binary | 3 | 2 |") < counted.index("| float32 | 1 | 1 |") < counted.index("| int8 | 0 | 0 |")
    grades = project.GradeList(missing, path)
    assert grades.widget is None
    assert grades.grade(1, 2) == "graded a.md #3 2 for 'compress a file'"
    with pytest.raises(ValueError, match="there are 3 results to grade; 3 is not one of them"):
        grades.grade(3, 1)
    with pytest.raises(ValueError, match="a grade is 0, 1 or 2"):
        grades.grade(0, 5)
    assert read_judgements(path).grades == {"compress a file": {passage(3).id: 2}}

    monkeypatch.setenv("COURSE_WIDGETS", "on")  # as in JupyterLab: a button per grade, the line says so
    box = project.grade_list(missing, path)
    row = box.children[2]
    assert "parse arguments" in row.children[0].value and "(<b>not graded</b>)" in row.children[0].value
    row.children[1].children[0].click()  # grade 0
    assert "(graded 0)" in row.children[0].value
    assert read_judgements(path).grades["parse arguments"] == {passage(4).id: 0}
    project.grade_list(missing, path)  # the cell run again: the last list's widgets are closed
    assert box.comm is None and row.children[0].comm is None
