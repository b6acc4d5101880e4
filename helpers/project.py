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
  0, 1, ... in passage-id order);
- :func:`compression_runs`: int8, binary with rescoring and token pooling on the same passages.

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
from .judgements import Judgements, append_judgement

DOCS_VARIABLE = "COURSE_DOCS"
WIDGETS_VARIABLE = "COURSE_WIDGETS"
SAMPLE_FOLDER = Path(__file__).parent / "data" / "sample_docs"
SAMPLE_JUDGEMENTS = Path(__file__).parent / "data" / "sample_judgements.jsonl"
JUDGEMENTS_FILE = "judgements.jsonl"
#: The three pipelines, in the order their columns appear.
PIPELINES = ("dense", "hybrid > ColBERT", "dense 30 > cross-encoder")
#: Judged queries needed before the evaluation cells run.
MIN_QUERIES = 10


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

    The handlers are plain methods, so they run (and are tested) without a browser:
    :meth:`search`, :meth:`grade` and :meth:`show_matrix`. ``widget`` is the ipywidgets box, or None
    when :func:`widgets_enabled` is False (then no widget is created, so none is saved with the notebook).
    """

    def __init__(self, index, cross_encoder, colbert_model, judgements_path: str | os.PathLike):
        self.index, self.cross_encoder, self.colbert_model = index, cross_encoder, colbert_model
        self.judgements_path = Path(judgements_path)
        self.query: str | None = None
        self.results: dict[str, Found] = {}
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
        if self.widget is not None:
            self.columns.children = [self._column(name, found) for name, found in self.results.items()]
        self._say(f"Top 10 for <b>{_escape(self.query)}</b>. Grade: 2 answers it, 1 related, 0 not.")
        return self.results

    def grade(self, pipeline: str, rank: int, grade: int) -> str:
        """Append ``grade`` for the result at ``rank`` (0-based) of ``pipeline`` to the judgements file;
        returns (and shows) a line saying what was written. Raises ``ValueError`` for no such result."""
        passage = self._result(pipeline, rank)
        append_judgement(self.judgements_path, self.query, passage.id, grade)
        self._say(f"Graded {_escape(where(passage))} {grade} for <b>{_escape(self.query)}</b>.")
        return f"graded {where(passage)} {grade} for {self.query!r}"

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

    def _column(self, name: str, found: Found):
        import ipywidgets as w

        rows = [w.HTML(f"<b>{_escape(name)}</b>")]
        for rank, (passage, _) in enumerate(found):
            buttons = [self._button(str(g), lambda _, r=rank, g=g: self.grade(name, r, g)) for g in (0, 1, 2)]
            buttons.append(self._button("matrix", lambda _, r=rank: self.show_matrix(name, r), width="64px"))
            text = f"{rank + 1}. <code>{_escape(where(passage))}</code> {_escape(snippet(passage.text, 20))}"
            rows.append(w.VBox([w.HTML(text), w.HBox(buttons)]))
        return w.VBox(rows, layout=w.Layout(width="33%", padding="0 6px"))

    @staticmethod
    def _button(label: str, handler: Callable, width: str = "32px"):
        import ipywidgets as w

        button = w.Button(description=label, layout=w.Layout(width=width))
        button.on_click(handler)
        return button


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
    ``{query id: {passage number: score}}`` (passages numbered as in :func:`judged_queries`).
    Raises ``ValueError`` for fewer than :data:`MIN_QUERIES` queries."""
    _enough(queries)
    number = {pid: i for i, pid in enumerate(passage_ids)}
    runs: dict[str, dict] = {name: {} for name in PIPELINES}
    for query in queries:
        for name, found in search_all(index, cross_encoder, query.text).items():
            # ranks, not raw scores: distinct and in the engine's order (ties keep the engine's order)
            runs[name][query.id] = {number[p.id]: float(len(found) - r) for r, (p, _) in enumerate(found)}
    return runs


def _enough(queries: Sequence) -> None:
    if len(queries) < MIN_QUERIES:
        raise ValueError(f"{len(queries)} judged queries so far: grade the results of at least {MIN_QUERIES} queries "
                         "(the buttons under the search box), then run this cell again; with fewer, a "
                         "comparison of the pipelines would say little")


@dataclass(frozen=True)
class Variant:
    """One way of storing the passages' ColBERT vectors: its run, and memory for the vectors."""

    name: str
    run: dict
    megabytes: float


def compression_runs(index, queries: Sequence, passage_ids: Sequence[str], *, pool_factor: int = 2,
                     rescore_candidates: int = 100) -> list[Variant]:
    """MaxSim over every indexed passage (exact, in numpy) with the ColBERT vectors stored four ways:
    float32; int8 (``helpers.quantization.int8_roundtrip``); one bit per number, the top
    ``rescore_candidates`` by binary MaxSim (float query) rescored with the float vectors; and token
    pooling at ``pool_factor`` (``helpers.pooling.pooled_documents``). Megabytes count the vectors
    searched first (the float vectors that binary rescoring reads stay on disk, as in Qdrant).
    Passages numbered as in :func:`judged_queries`; ``queries`` from it. Raises ``ValueError`` for
    fewer than :data:`MIN_QUERIES` queries."""
    _enough(queries)
    from .docs_index import _embed_one_by_one
    from .pipelines import CorpusIndex, run_from_rankings
    from .pooling import pooled_documents
    from .quantization import int8_roundtrip

    held = index.passages()
    texts = [held[pid].text for pid in passage_ids]
    dense = np.stack(_embed_one_by_one(index.models["dense"], texts))
    colbert = _embed_one_by_one(index.models["colbert"], texts)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    exact = CorpusIndex(texts, dense, colbert, [empty] * len(texts))
    embedded = [index.embed_query(q.text) for q in queries]
    n_numbers = sum(m.size for m in colbert)
    binary = exact.with_colbert([np.where(m > 0, 1.0, -1.0).astype(np.float32) for m in colbert])
    pooled = pooled_documents(index.models["colbert"], texts, colbert, pool_factor)
    rescored = [exact.maxsim(e, candidates=binary.maxsim(e, rescore_candidates)) for e in embedded]
    mib = 2**20
    return [Variant("float32", run_from_rankings(queries, exact.maxsim_all(embedded)), n_numbers * 4 / mib),
            Variant("int8", run_from_rankings(queries, exact.with_colbert(int8_roundtrip(colbert)).maxsim_all(embedded)),
                    n_numbers / mib),
            Variant(f"binary, top {rescore_candidates} rescored", run_from_rankings(queries, rescored), n_numbers / 8 / mib),
            Variant(f"pool factor {pool_factor}, float32",
                    run_from_rankings(queries, exact.with_colbert(pooled).maxsim_all(embedded)),
                    sum(m.size for m in pooled) * 4 / mib)]
