"""Notebook 11's working parts: which folder to read, the three pipelines side by side, grading, evaluation.

The pieces underneath are ``helpers.documents`` (files to passages), ``helpers.docs_index`` (the
passages in a qdrant-edge shard on disk) and ``helpers.judgements`` (grades as JSON Lines). This
module joins them the way the notebook uses them:

- :func:`documents_folder`: the folder the notebook reads: the one it names, else ``$COURSE_DOCS``,
  else the frozen sample shipped in ``helpers/data/sample_docs`` (so the notebook runs in class and
  in the tests);
- :func:`search_all`: one query through the three pipelines; :func:`results_table` shows them as a
  table, :class:`SearchApp` as a search box with grade buttons (ipywidgets);
- :func:`judged_queries` and :func:`pipeline_runs`: the judgements and the pipelines' results in the
  form ``helpers.evaluate_run`` and ``helpers.evaluation.compare_family`` take (passages numbered
  0, 1, ... in passage-id order); :func:`pool_table` and :func:`fully_judged`: how much of each
  query's pool (the three pipelines' top 10, together) is graded, and the queries graded in full,
  the only ones the evaluation counts;
- :func:`compression_runs`: int8, binary with and without rescoring, and token pooling on the same
  passages.

``COURSE_WIDGETS=off`` (set by ``conftest.py`` and ``tools/run_notebooks.py``) makes
:func:`show_search` return the static table instead of the widgets: nbval, the web pages and the
slides have no widget frontend, and a saved widget would be a dead box there.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from .documents import Passage
from .judgements import Judgements, append_judgement, read_judgements

DOCS_VARIABLE = "COURSE_DOCS"
WIDGETS_VARIABLE = "COURSE_WIDGETS"
SAMPLE_FOLDER = Path(__file__).parent / "data" / "sample_docs"
SAMPLE_JUDGEMENTS = Path(__file__).parent / "data" / "sample_judgements.jsonl"
JUDGEMENTS_FILE = "judgements.jsonl"
#: The three pipelines, in the order their columns appear.
PIPELINES = ("dense", "hybrid > ColBERT", "dense 30 > cross-encoder")
#: Fully judged queries needed before the evaluation cells run.
MIN_QUERIES = 10
#: :func:`compression_runs` warns when its vectors would take more than this at their peak.
MEMORY_WARNING_BYTES = 2**30
#: The frozen sample's example query: its judgements include it.
SAMPLE_EXAMPLE = "how do I run the notebooks without access to the Hugging Face Hub"


@dataclass(frozen=True)
class DocsChoice:
    """The folder notebook 11 reads, whether it is the frozen sample, and why it was chosen."""

    path: Path
    is_sample: bool
    why: str

    def __str__(self) -> str:
        if self.is_sample:
            return f"the frozen sample, helpers/data/sample_docs ({self.why})"
        return f"your folder {self.path.name!r} ({self.why})"


def documents_folder(docs: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> DocsChoice:
    """``docs`` if given, else the folder named by ``$COURSE_DOCS``, else the frozen sample.

    Raises ``ValueError`` when the folder named does not exist or is a file (the message says which
    setting named it).
    """
    environ = os.environ if environ is None else environ
    if docs is not None and str(docs).strip():
        named, why = Path(docs).expanduser(), "set in the notebook"
    elif (environ.get(DOCS_VARIABLE) or "").strip():
        named, why = Path(environ[DOCS_VARIABLE].strip()).expanduser(), f"from {DOCS_VARIABLE}"
    else:
        return DocsChoice(SAMPLE_FOLDER, True, f"{DOCS_VARIABLE} is unset")
    if not named.is_dir():
        what = "is a file, not a folder" if named.exists() else "does not exist"
        raise ValueError(f"the documents folder {str(named)!r} ({why}) {what}: name a folder of your files")
    return DocsChoice(named.resolve(), False, why)


def judgements_file(index_path: Path, choice: DocsChoice) -> Path:
    """``judgements.jsonl`` in the index's folder. For the frozen sample, the shipped judgements
    (``helpers/data/sample_judgements.jsonl``) are copied there first, so the evaluation runs at once
    and your own grades add to them."""
    path = Path(index_path) / JUDGEMENTS_FILE
    if choice.is_sample and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_JUDGEMENTS, path)
    return path


def example_query(choice: DocsChoice, passages: Sequence[Passage]) -> str:
    """The query the search cells start with: the sample's example question
    (:data:`SAMPLE_EXAMPLE`) for the frozen sample; for your folder, the first heading of its passages
    (else the first words of the first passage), a query your documents can answer. Raises
    ``ValueError`` when there are no passages."""
    if choice.is_sample:
        return SAMPLE_EXAMPLE
    if not passages:
        raise ValueError(f"no passages were read from {choice.path}: add text files (or fix the skipped ones)")
    heading = next((p.heading for p in passages if p.heading.strip()), "")
    return heading.strip() or snippet(passages[0].text, 8).removesuffix(" ...")


# ------------------------------------------------------------------------------------- search

Found = list[tuple[Passage, float]]


def search_all(index, cross_encoder, text: str, limit: int = 10) -> dict[str, Found]:
    """``text`` through the three pipelines of :data:`PIPELINES` over a ``DocumentIndex``:
    ``{pipeline: [(passage, score), ...]}``, best first. Raises ``ValueError`` for an empty text."""
    query = index.embed_query(text)
    return {"dense": index.dense(query, limit),
            "hybrid > ColBERT": index.hybrid_colbert(query, limit),
            "dense 30 > cross-encoder": index.cross_encoder(query, cross_encoder, limit)}


def where(passage: Passage) -> str:
    """A passage's file and position, for a result list: ``"notebooks/02.md #4"``."""
    return f"{passage.path} #{passage.position}"


def snippet(text: str, words: int = 12) -> str:
    """The first ``words`` words of a passage, on one line."""
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def results_table(results: Mapping[str, Found]):
    """The pipelines' results side by side: a rank column, then one column per pipeline, each cell
    the passage's file and position and its first words (``helpers.table``)."""
    from .tables import table

    names = list(results)
    depth = max((len(found) for found in results.values()), default=0)
    rows = []
    for rank in range(depth):
        cells = []
        for name in names:
            found = results[name]
            cells.append(f"{where(found[rank][0])}: {snippet(found[rank][0].text, 6)}" if rank < len(found) else "")
        rows.append([rank + 1, *cells])
    return table(["rank", *names], rows)


def widgets_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """False when ``$COURSE_WIDGETS`` is ``off`` (tests, ``make outputs``): no widget frontend."""
    environ = os.environ if environ is None else environ
    return (environ.get(WIDGETS_VARIABLE) or "").strip().lower() not in ("off", "0", "false", "no", "none")


def plot_result(colbert_model, query: str, passage: Passage, ax=None):
    """The token-level similarity matrix of ``query`` against one result (``helpers.plot_similarity_matrix``,
    the [MASK] rows hidden), titled with the result's file and position. Returns the Axes."""
    from .plots import plot_similarity_matrix
    from .tokens import token_labels

    query_vectors = next(iter(colbert_model.query_embed(query)))
    doc_vectors = next(iter(colbert_model.passage_embed([passage.text])))
    return plot_similarity_matrix(query_vectors, doc_vectors, token_labels(colbert_model, query, "query"),
                                  token_labels(colbert_model, passage.text, "document"), ax=ax,
                                  hide_mask=True, title=where(passage))


class SearchApp:
    """A search box over a ``DocumentIndex``: the three pipelines' top 10 in columns, each result with
    grade buttons (0, 1, 2: one line appended to ``judgements_path``) and a button that draws its
    similarity matrix with the query.

    Each result says whether it is graded yet, and the line above the columns how many of the
    query's pool (the three columns' results, together) are: the evaluation counts a query only
    once its whole pool is graded (:func:`fully_judged`), so a query graded in one column only does
    not favour that column.

    The handlers are plain methods, so they run (and are tested) without a browser:
    :meth:`search`, :meth:`grade`, :meth:`progress` and :meth:`show_matrix`. ``widget`` is the
    ipywidgets box, or None when :func:`widgets_enabled` is False (then no widget is created, so none
    is saved with the notebook).
    """

    def __init__(self, index, cross_encoder, colbert_model, judgements_path: str | os.PathLike):
        self.index, self.cross_encoder, self.colbert_model = index, cross_encoder, colbert_model
        self.judgements_path = Path(judgements_path)
        self.grades = read_judgements(self.judgements_path).grades  # query -> {passage id: last grade}
        self.query: str | None = None
        self.results: dict[str, Found] = {}
        self._labels: list = []  # with widgets: (HTML widget, (rank, passage)) for each result line shown
        self.widget = None  # no widgets at all without a frontend: nothing of them reaches the notebook file
        if widgets_enabled():
            self._build_widgets()

    def _build_widgets(self) -> None:
        import ipywidgets as w

        self.box = w.Text(placeholder="ask your documents something", layout=w.Layout(width="60%"))
        self.button = w.Button(description="Search", button_style="primary")
        self.status = w.HTML()
        self.columns = w.HBox()
        self.matrix = w.Output()
        self.box.continuous_update = False  # Enter (or leaving the box) searches
        self.box.observe(lambda change: self.search(change["new"]), names="value")
        self.button.on_click(lambda _: self.search(self.box.value))
        self.widget = w.VBox([w.HBox([self.box, self.button]), self.status, self.columns, self.matrix])

    def _say(self, html: str) -> None:
        if self.widget is not None:
            self.status.value = html

    def search(self, text: str) -> dict[str, Found]:
        """Run ``text`` through the three pipelines and show the columns; an empty text only says so."""
        if not text or not text.strip():
            self._say("Type a question or some keywords first.")
            return {}
        self.query = text.strip()
        self.results = search_all(self.index, self.cross_encoder, self.query)
        self._show_columns()
        self._say(f"Top 10 for <b>{_escape(self.query)}</b>: {self._progress_text()}. "
                  "Grade: 2 answers it, 1 related, 0 not.")
        return self.results

    def progress(self) -> tuple[int, int]:
        """``(graded, pooled)`` for the query on screen: how many of the distinct passages in the three
        columns carry a grade for it, out of how many there are."""
        pool = {p.id for found in self.results.values() for p, _ in found}
        graded = self.grades.get(self.query or "", {})
        return sum(pid in graded for pid in pool), len(pool)

    def _progress_text(self) -> str:
        graded, pooled = self.progress()
        return f"{graded} of {pooled} results graded" + (" (all: this query counts)" if graded == pooled else "")

    def grade(self, pipeline: str, rank: int, grade: int) -> str:
        """Append ``grade`` for the result at ``rank`` (0-based) of ``pipeline`` to the judgements file;
        returns (and shows) a line saying what was written and how much of the pool is graded.
        Raises ``ValueError`` for no such result."""
        passage = self._result(pipeline, rank)
        append_judgement(self.judgements_path, self.query, passage.id, grade)
        self.grades.setdefault(self.query, {})[passage.id] = int(grade)
        for label, (rank_shown, shown) in self._labels:  # the passage's line in every column that shows it
            if shown.id == passage.id:
                label.value = self._line(rank_shown, shown)
        self._say(f"Graded {_escape(where(passage))} {grade} for <b>{_escape(self.query)}</b>: "
                  f"{self._progress_text()}.")
        return f"graded {where(passage)} {grade} for {self.query!r}: {self._progress_text()}"

    def show_matrix(self, pipeline: str, rank: int):
        """Draw the similarity matrix of the query and the result at ``rank`` (0-based) of ``pipeline``:
        below the columns where widgets run, else in the cell's output. Returns the Axes."""
        import matplotlib.pyplot as plt

        passage = self._result(pipeline, rank)
        if self.widget is None:
            return plot_result(self.colbert_model, self.query, passage)
        self.matrix.clear_output(wait=True)
        with self.matrix:
            ax = plot_result(self.colbert_model, self.query, passage)
            plt.show()
        return ax

    def _result(self, pipeline: str, rank: int) -> Passage:
        if pipeline not in self.results:
            raise ValueError(f"no results for {pipeline!r}: search first (pipelines: {', '.join(PIPELINES)})")
        found = self.results[pipeline]
        if not 0 <= rank < len(found):
            raise ValueError(f"{pipeline!r} has {len(found)} results; rank {rank} is not one of them")
        return found[rank][0]

    def _show_columns(self) -> None:
        if self.widget is None:
            return
        for column in self.columns.children:  # the last query's widgets: closed, not left in the kernel
            _close(column)
        self._labels = []
        self.columns.children = [self._column(name, found) for name, found in self.results.items()]

    def _line(self, rank: int, passage: Passage) -> str:
        """A result's line: rank, file and position, first words, and whether it is graded for the query."""
        graded = self.grades.get(self.query or "", {})
        state = f"graded {graded[passage.id]}" if passage.id in graded else "<b>not graded</b>"
        return (f"{rank + 1}. <code>{_escape(where(passage))}</code> {_escape(snippet(passage.text, 20))} "
                f"<i>({state})</i>")

    def _column(self, name: str, found: Found):
        import ipywidgets as w

        rows = [w.HTML(f"<b>{_escape(name)}</b>")]
        for rank, (passage, _) in enumerate(found):
            buttons = [_button(str(g), lambda _, r=rank, g=g: self.grade(name, r, g)) for g in (0, 1, 2)]
            buttons.append(_button("matrix", lambda _, r=rank: self.show_matrix(name, r), width="64px"))
            label = w.HTML(self._line(rank, passage))
            self._labels.append((label, (rank, passage)))
            rows.append(w.VBox([label, w.HBox(buttons)]))
        return w.VBox(rows, layout=w.Layout(width="33%", padding="0 6px"))


def _button(label: str, handler: Callable, width: str = "32px"):
    """An ipywidgets button that calls ``handler`` when clicked (grade buttons, the matrix button)."""
    import ipywidgets as w

    button = w.Button(description=label, layout=w.Layout(width=width))
    button.on_click(handler)
    return button


def _close(widget) -> None:
    """Close ``widget`` and every widget inside it (ipywidgets keeps each one alive until closed)."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def show_search(app: SearchApp, example: str):
    """What the search cell shows: the widgets (searched for ``example`` already) where a widget
    frontend runs, else the static table of ``example``'s results (see the module docstring);
    ``app`` decided which when it was made."""
    if app.widget is None:
        return results_table(app.search(example))
    app.box.value = example  # the box's observer runs the search
    if app.query != example.strip():
        app.search(example)
    return app.widget


# ------------------------------------------------------------------------------------- evaluation


def judged_queries(judgements: Judgements, passage_ids: Sequence[str]):
    """The judged queries as ``helpers.queries.Query`` objects over passages numbered by their place
    in ``passage_ids`` (the index's passage ids, sorted), for ``helpers.evaluate_run``.

    Returns ``(queries, dropped)``: ``dropped`` counts judgements of passages no longer indexed (a
    file edited or deleted since); a query left with none is not returned. Query ids are ``q01``,
    ``q02``, ... in the order the queries were first judged; ``kind`` is ``"own"``, ``split`` ``"test"``.
    """
    from .queries import Query

    number = {pid: i for i, pid in enumerate(passage_ids)}
    queries, dropped = [], 0
    for text, grades in judgements.grades.items():
        kept = {number[pid]: grade for pid, grade in grades.items() if pid in number}
        dropped += len(grades) - len(kept)
        if kept:
            queries.append(Query(f"q{len(queries) + 1:02d}", text, "own", "test", False, kept))
    return queries, dropped


def pipeline_runs(index, cross_encoder, queries: Sequence, passage_ids: Sequence[str]) -> dict[str, dict]:
    """``{pipeline: run}``: each judged query through :func:`search_all`, as runs
    ``{query id: {passage number: score}}`` (passages numbered as in :func:`judged_queries`; each
    pipeline's top 10, scored by rank so that the engine's order is kept exactly)."""
    number = {pid: i for i, pid in enumerate(passage_ids)}
    runs: dict[str, dict] = {name: {} for name in PIPELINES}
    for query in queries:
        for name, found in search_all(index, cross_encoder, query.text).items():
            # ranks, not raw scores: distinct and in the engine's order (ties keep the engine's order)
            runs[name][query.id] = {number[p.id]: float(len(found) - r) for r, (p, _) in enumerate(found)}
    return runs


def pool_status(runs: Mapping[str, Mapping], queries: Sequence) -> list[tuple[object, int, int]]:
    """``(query, graded, pooled)`` per query: its pool is every passage in any run's results for it
    (for :func:`pipeline_runs`, the three pipelines' top 10), and ``graded`` counts those that carry
    a grade for it (0, 1 or 2)."""
    status = []
    for query in queries:
        pool = set().union(*(run.get(query.id, {}) for run in runs.values()))
        status.append((query, sum(pid in query.judgements for pid in pool), len(pool)))
    return status


def pool_table(runs: Mapping[str, Mapping], queries: Sequence):
    """:func:`pool_status` as a table: each query, how much of its pool is graded, and whether it
    counts in the evaluation (its whole pool graded)."""
    from .tables import table

    rows = [[q.id, snippet(q.text, 10), f"{graded} of {pooled}", "yes" if graded == pooled else "not yet"]
            for q, graded, pooled in pool_status(runs, queries)]
    return table(["query", "text", "pool graded", "counts"], rows)


def fully_judged(runs: Mapping[str, Mapping], queries: Sequence) -> list:
    """The queries whose whole pool (:func:`pool_status`) is graded. Only these are evaluated: a query
    graded in one column alone would count that column's passages and none of the others', which
    favours the column graded."""
    return [q for q, graded, pooled in pool_status(runs, queries) if graded == pooled]


def runs_for(runs: Mapping[str, Mapping], queries: Sequence) -> dict[str, dict]:
    """``runs`` with only ``queries``' entries, as ``helpers.evaluate_run`` wants them."""
    return {name: {q.id: run[q.id] for q in queries} for name, run in runs.items()}


def enough(queries: Sequence) -> bool:
    """True with at least :data:`MIN_QUERIES` queries; else prints what to do and returns False, so that
    an evaluation cell shows that line instead of a table (and the cells after it still run)."""
    if len(queries) >= MIN_QUERIES:
        return True
    print(f"{len(queries)} fully graded queries so far; the evaluation needs {MIN_QUERIES}. Search a query in "
          "the box above and grade every result marked 'not graded', then run the cells from 'Evaluate the three "
          "pipelines' on again.")
    return False


def _enough(queries: Sequence) -> None:
    if len(queries) < MIN_QUERIES:
        raise ValueError(f"{len(queries)} fully graded queries: grade every result of at least {MIN_QUERIES} "
                         "queries (the buttons under the search box) first; with fewer, a comparison would say little")


@dataclass(frozen=True)
class Variant:
    """One way of storing the passages' ColBERT vectors: its run, and memory for the vectors."""

    name: str
    run: dict
    megabytes: float


def compression_runs(index, queries: Sequence, passage_ids: Sequence[str], *, pool_factor: int = 2,
                     oversampling: int = 2, limit: int = 10) -> list[Variant]:
    """MaxSim over every indexed passage (exact, in numpy) with the ColBERT vectors stored five ways:
    float32; int8 (``helpers.quantization.int8_roundtrip``); one bit per number, ranked by binary
    MaxSim (float query) alone; the same, with its top ``oversampling x limit`` rescored with the
    float vectors (Qdrant's ``oversampling`` and ``rescore``); and token pooling at ``pool_factor``
    (``helpers.pooling.pooled_documents``). Megabytes count the vectors searched first (the float
    vectors that rescoring reads stay on disk, as in Qdrant). Each form is made, searched and
    dropped in turn, so memory holds the float vectors and one other form at a time, each three
    times (as a list, packed for the full scan, and as one matrix for rescoring): about six times the
    float vectors' 4 bytes per number, 3.6 GiB for 20,000 passages of 60 tokens. Above
    :data:`MEMORY_WARNING_BYTES` it prints a warning first.
    Passages numbered as in :func:`judged_queries`; ``queries`` from :func:`fully_judged`. Raises
    ``ValueError`` for fewer than :data:`MIN_QUERIES` queries."""
    _enough(queries)
    from .docs_index import embed_passages
    from .pipelines import CorpusIndex, run_from_rankings
    from .pooling import pooled_documents
    from .quantization import int8_roundtrip

    held = index.passages()
    texts = [held[pid].text for pid in passage_ids]
    colbert = embed_passages(index.models["colbert"], texts)
    dense = np.zeros((len(texts), 1), np.float32)  # MaxSim only: the dense vectors are not searched here
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    exact = CorpusIndex(texts, dense, colbert, [empty] * len(texts))
    n_numbers, mib = sum(m.size for m in colbert), 2**20
    if 6 * 4 * n_numbers > MEMORY_WARNING_BYTES:
        print(f"Note: with {len(texts):,} passages this comparison holds about {6 * 4 * n_numbers / 2**30:.1f} GiB "
              "of vectors at its peak; if your machine has less free memory, skip this cell and the next.")
    embedded = [index.embed_query(q.text) for q in queries]

    def ranked(form) -> dict:
        return run_from_rankings(queries, exact.with_colbert(form).maxsim_all(embedded, limit))

    variants = [Variant("float32", run_from_rankings(queries, exact.maxsim_all(embedded, limit)), n_numbers * 4 / mib),
                Variant("int8", ranked(int8_roundtrip(colbert)), n_numbers / mib)]
    binary = exact.with_colbert([np.where(m > 0, 1.0, -1.0).astype(np.float32) for m in colbert])
    variants.append(Variant("binary, no rescoring", run_from_rankings(queries, binary.maxsim_all(embedded, limit)),
                            n_numbers / 8 / mib))
    rescored = [exact.maxsim(e, limit, candidates=binary.maxsim(e, oversampling * limit)) for e in embedded]
    variants.append(Variant(f"binary, top {oversampling * limit} rescored", run_from_rankings(queries, rescored),
                            n_numbers / 8 / mib))
    del binary
    pooled = pooled_documents(index.models["colbert"], texts, colbert, pool_factor)
    variants.append(Variant(f"pool factor {pool_factor}, float32", ranked(pooled), sum(m.size for m in pooled) * 4 / mib))
    return variants


@dataclass(frozen=True)
class Ungraded:
    """A result of a compressed form that carries no grade for its query: the query's text, the
    passage, and the names of the forms whose top 10 hold it."""

    query: str
    passage: Passage
    forms: tuple[str, ...]


def ungraded(variants: Sequence[Variant], queries: Sequence, passage_ids: Sequence[str],
             held: Mapping[str, Passage], k: int = 10) -> list[Ungraded]:
    """The results in the top ``k`` of ``variants`` (:func:`compression_runs`) that nobody graded for
    their query, each once, in the queries' order and then by the first form and rank that show it.
    ``queries`` and ``passage_ids`` as :func:`compression_runs` took them; ``held``: the index's
    passages by id (``DocumentIndex.passages()``). Ties are broken by passage number, as in the
    evaluation."""
    from .evaluation import top_k

    found: list[Ungraded] = []
    for q in queries:
        forms: dict[int, list[str]] = {}
        for v in variants:
            for number in top_k(v.run[q.id], k):
                if number not in q.judgements:
                    forms.setdefault(number, []).append(v.name)
        found.extend(Ungraded(q.text, held[passage_ids[number]], tuple(names)) for number, names in forms.items())
    return found


class GradeList:
    """Grade buttons (0, 1, 2) for a list of :class:`Ungraded` results, one line appended to
    ``judgements_path`` per click, as in :class:`SearchApp`. :meth:`grade` is the handler (it runs
    without a browser); ``widget`` is the ipywidgets box, or None when :func:`widgets_enabled` is False.
    A new list closes the previous one's widgets (ipywidgets keeps each alive until closed)."""

    _last = None  # the box of the list made last, in this kernel

    def __init__(self, missing: Sequence[Ungraded], judgements_path: str | os.PathLike):
        self.missing = list(missing)
        self.judgements_path = Path(judgements_path)
        self.given: dict[int, int] = {}  # position in ``missing`` -> the grade given here
        self._labels: list = []
        self.widget = None
        if widgets_enabled():
            import ipywidgets as w

            if GradeList._last is not None:  # the cell run again: the last list's widgets are closed
                _close(GradeList._last)
            rows = []
            for i in range(len(self.missing)):
                label = w.HTML(self._line(i))
                self._labels.append(label)
                buttons = [_button(str(g), lambda _, i=i, g=g: self.grade(i, g)) for g in (0, 1, 2)]
                rows.append(w.VBox([label, w.HBox(buttons)]))
            self.widget = GradeList._last = w.VBox(rows)
            self.widget.add_class("course-grade-list")  # for tools/check_lab.py to find it in the page

    def grade(self, i: int, grade: int) -> str:
        """Append ``grade`` for the ``i``-th result (0-based); returns a line saying what was written.
        Raises ``ValueError`` for no such result."""
        if not 0 <= i < len(self.missing):
            raise ValueError(f"there are {len(self.missing)} results to grade; {i} is not one of them")
        item = self.missing[i]
        append_judgement(self.judgements_path, item.query, item.passage.id, grade)
        self.given[i] = int(grade)
        if self._labels:
            self._labels[i].value = self._line(i)
        return f"graded {where(item.passage)} {grade} for {item.query!r}"

    def _line(self, i: int) -> str:
        item = self.missing[i]
        state = f"graded {self.given[i]}" if i in self.given else "<b>not graded</b>"
        return (f"<b>{_escape(item.query)}</b> · {_escape(', '.join(item.forms))}<br>"
                f"<code>{_escape(where(item.passage))}</code> {_escape(snippet(item.passage.text, 30))} "
                f"<i>({state})</i>")


def grade_list(missing: Sequence[Ungraded], judgements_path: str | os.PathLike, forms: Sequence[str] | None = None):
    """What the grading cell shows: :class:`GradeList`'s buttons where a widget frontend runs, else a
    table counting the results not graded, by form (``helpers.table``): one row for each of ``forms``
    in their order (0 for a form whose top 10 are all graded), or by default for each form that
    has any, in the order they first appear."""
    from .tables import table

    grades = GradeList(missing, judgements_path)
    if grades.widget is not None:
        return grades.widget
    if forms is None:
        forms = list(dict.fromkeys(name for item in missing for name in item.forms))
    rows = [[name, sum(name in item.forms for item in missing),
             len({item.query for item in missing if name in item.forms})] for name in forms]
    return table(["form", "results not graded", "queries"], rows)
