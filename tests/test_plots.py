"""helpers.plots: the similarity heatmap and the contribution bars."""

import matplotlib

matplotlib.use("Agg")

import ast
import io
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from helpers import plots
from helpers.maxsim import maxsim
from helpers.plots import plot_contributions, plot_similarity_matrix


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def unit_rows(matrix):
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture
def example():
    """A 12-token query (4 [MASK] rows) against a 9-token document, float32 like ColBERT's."""
    rng = np.random.default_rng(7)  # fixed test data; the plots themselves use no randomness
    query = unit_rows(rng.standard_normal((12, 16))).astype(np.float32)
    doc = unit_rows(rng.standard_normal((9, 16))).astype(np.float32)
    query_labels = ["[CLS]", "[Q]", "apple", "computer", "maker", "who", "?", "[SEP]"] + ["[MASK]"] * 4
    doc_labels = ["[CLS]", "[D]", "apple", "makes", "the", "mac", "##book", "laptop", "[SEP]"]
    return query, doc, query_labels, doc_labels


def tick_texts(labels):
    return [label.get_text() for label in labels]


def marks(ax):
    """(row, column) of every outlined cell, read back from the artists."""
    found = []
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_gid() == plots.MAX_MARK_GID:
            x, y = patch.get_xy()
            assert (patch.get_width(), patch.get_height()) == (1.0, 1.0)
            found.append((round(y + 0.5), round(x + 0.5)))
    return sorted(found)


def bars(ax):
    return [p for p in ax.patches if p.get_gid() == plots.CONTRIBUTION_BAR_GID]


def render(ax):
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png")
    return buffer.getvalue()


# ------------------------------------------------------------------------------ the heatmap


@pytest.mark.parametrize("hide_mask", [False, True])
def test_matrix_labels_and_marks(example, hide_mask):
    query, doc, query_labels, doc_labels = example
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels, hide_mask=hide_mask)
    rows = [i for i, s in enumerate(query_labels) if not (hide_mask and s == "[MASK]")]
    assert len(rows) == (8 if hide_mask else 12)

    assert tick_texts(ax.get_yticklabels()) == [query_labels[i] for i in rows]
    assert tick_texts(ax.get_xticklabels()) == doc_labels
    assert all(label.get_rotation() == 90 for label in ax.get_xticklabels())

    similarities = query.astype(np.float64) @ doc.astype(np.float64).T
    image = next(artist for artist in ax.get_images() if isinstance(artist, AxesImage))
    np.testing.assert_allclose(image.get_array(), similarities[rows], rtol=1e-6)
    expected = sorted((k, int(similarities[i].argmax())) for k, i in enumerate(rows))
    assert marks(ax) == expected
    assert len(ax.figure.axes) == 2  # the heatmap and its colorbar


def test_matrix_title(example):
    query, doc, query_labels, doc_labels = example
    score = maxsim(query, doc)
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels)
    assert f"{score:.4g}" in ax.get_title()
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels, hide_mask=True)
    assert "4 [MASK] rows hidden" in ax.get_title()
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels, title="")
    assert ax.get_title() == ""
    # a given title keeps the score and the hidden-rows note under it
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels, title="mine", hide_mask=True)
    first, *rest = ax.get_title().split("\n")
    assert first == "mine" and f"{score:.4g}" in rest[0] and "4 [MASK] rows hidden" in rest[1]


def test_matrix_shared_colour_scale(example):
    query, doc, query_labels, doc_labels = example
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels, vmin=-1.0, vmax=1.0)
    assert ax.images[0].get_clim() == (-1.0, 1.0)


def test_matrix_draws_on_the_given_axes(example):
    query, doc, query_labels, doc_labels = example
    figure, given = plt.subplots()
    figures_before = plt.get_fignums()
    returned = plot_similarity_matrix(query, doc, query_labels, doc_labels, ax=given)
    assert returned is given
    assert plt.get_fignums() == figures_before
    assert given.get_images() and marks(given)


def test_matrix_size_follows_the_shape_and_stays_readable():
    """32 x 60 tokens: tick labels must not overlap each other."""
    rng = np.random.default_rng(3)
    query = unit_rows(rng.standard_normal((32, 8)))
    doc = unit_rows(rng.standard_normal((60, 8)))
    query_labels = [f"q{i}" for i in range(5)] + ["exhaustion"] + ["[MASK]"] * 26
    doc_labels = [f"##tok{i}" for i in range(59)] + ["[SEP]"]
    ax = plot_similarity_matrix(query, doc, query_labels, doc_labels)
    width, height = ax.figure.get_size_inches()
    assert width > height > 6

    small = plot_similarity_matrix(query[:4], doc[:5], query_labels[:4], doc_labels[:5])
    small_width, small_height = small.figure.get_size_inches()
    assert small_width < width and small_height < height

    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    bottom = [t.label1 for t in ax.xaxis.get_major_ticks()]
    top = [t.label2 for t in ax.xaxis.get_major_ticks()]
    assert all(label.get_visible() for label in top)  # 32 rows: the columns are labelled above too
    assert [t.get_text() for t in top] == [t.get_text() for t in bottom]
    for labels, horizontal in ((bottom, True), (top, True), (ax.get_yticklabels(), False)):
        boxes = [label.get_window_extent(renderer) for label in labels]
        assert min(label.get_fontsize() for label in labels) >= 6
        for first, second in zip(boxes, boxes[1:]):
            if horizontal:
                assert first.x1 <= second.x0 + 0.5
            else:  # y grows upwards on the canvas; rows go down
                assert second.y1 <= first.y0 + 0.5


# ------------------------------------------------------------------------------ the bars


@pytest.mark.parametrize("hide_mask", [False, True])
def test_contribution_bars(example, hide_mask):
    query, doc, query_labels, doc_labels = example
    ax = plot_contributions(query, doc, query_labels, doc_labels, hide_mask=hide_mask)
    rows = [i for i, s in enumerate(query_labels) if not (hide_mask and s == "[MASK]")]

    similarities = query.astype(np.float64) @ doc.astype(np.float64).T
    row_max = similarities.max(axis=1)
    widths = [bar.get_width() for bar in bars(ax)]
    np.testing.assert_allclose(widths, row_max[rows], rtol=1e-6)
    if not hide_mask:
        assert sum(widths) == pytest.approx(maxsim(query, doc), rel=1e-6)
    # top to bottom in query order
    centers = [bar.get_y() + bar.get_height() / 2 for bar in bars(ax)]
    assert centers == sorted(centers)
    assert ax.yaxis_inverted()

    best = similarities.argmax(axis=1)
    expected = [f"{query_labels[i]} → {doc_labels[best[i]]}" for i in rows]
    assert tick_texts(ax.get_yticklabels()) == expected

    score = f"{maxsim(query, doc):.4g}"
    assert score in ax.get_title()
    if hide_mask:
        hidden = float(row_max[[i for i in range(12) if i not in rows]].sum())
        assert "4 hidden [MASK] rows" in ax.get_title() and f"{hidden:.4g}" in ax.get_title()


def test_contributions_draw_on_the_given_axes(example):
    query, doc, query_labels, doc_labels = example
    figure, (left, right) = plt.subplots(1, 2)
    returned = plot_contributions(query, doc, query_labels, doc_labels, ax=right)
    assert returned is right
    assert bars(right) and not left.patches
    assert plt.get_fignums() == [figure.number]


def test_negative_contributions(example):
    query, doc, query_labels, doc_labels = example
    ax = plot_contributions(-np.abs(query), np.abs(doc), query_labels, doc_labels)
    widths = [bar.get_width() for bar in bars(ax)]
    assert max(widths) < 0
    low, high = ax.get_xlim()
    assert low < min(widths) and high >= 0


# ------------------------------------------------------------------------------ bad input

PLOTTERS = [plot_similarity_matrix, plot_contributions]


@pytest.mark.parametrize("plot", PLOTTERS)
def test_bad_matrices(example, plot):
    query, doc, query_labels, doc_labels = example
    cases = [
        (query[0], doc, "query_vectors must be a 2-D"),
        (query, doc[None], "doc_vectors must be a 2-D"),
        (query[:0], doc, "query_vectors is empty"),
        (query, doc[:, :0], "doc_vectors is empty"),
        (query, doc[:, :8], "dimension mismatch"),
        (np.where(np.arange(16) == 3, np.nan, query), doc, "query_vectors contains NaN"),
        (query, np.where(np.arange(16) == 0, np.inf, doc), "doc_vectors contains NaN or infinite"),
    ]
    for bad_query, bad_doc, message in cases:
        n_query = len(bad_query) if bad_query.ndim == 2 else 1
        n_doc = len(bad_doc) if bad_doc.ndim == 2 else 1
        with pytest.raises(ValueError, match=message):
            plot(bad_query, bad_doc, (query_labels * 2)[:n_query], (doc_labels * 2)[:n_doc])


@pytest.mark.parametrize("plot", PLOTTERS)
def test_bad_labels(example, plot):
    query, doc, query_labels, doc_labels = example
    with pytest.raises(ValueError, match=r"query_labels has 11 labels but query_vectors has 12 rows"):
        plot(query, doc, query_labels[:-1], doc_labels)
    with pytest.raises(ValueError, match=r"doc_labels has 10 labels but doc_vectors has 9 rows"):
        plot(query, doc, query_labels, doc_labels + ["extra"])
    with pytest.raises(ValueError, match="single string"):
        plot(query, doc, query_labels, "apple makes the macbook")
    with pytest.raises(ValueError, match="list of strings"):
        plot(query, doc, 12, doc_labels)
    with pytest.raises(ValueError, match="hide every query row"):
        plot(query, doc, ["[MASK]"] * 12, doc_labels, hide_mask=True)
    assert plt.get_fignums() == []  # nothing was drawn before the check failed


# ------------------------------------------------------------------------------ rendering


@pytest.mark.parametrize("plot", PLOTTERS)
def test_no_warnings_even_with_unusual_labels(example, plot):
    query, doc, query_labels, _ = example
    doc_labels = ["[CLS]", "[D]", "東", "##ワ", "م", "##ر", "п", "🍕", "$"]
    query_labels = ["$", "$x$", "café"] + query_labels[3:]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot(query, doc, query_labels, doc_labels)
        render(ax)
        figure, given = plt.subplots()
        render(plot(query, doc, query_labels, doc_labels, ax=given, hide_mask=True))
    drawn = " ".join(tick_texts(ax.get_xticklabels()) + tick_texts(ax.get_yticklabels()))
    assert "U+6771" in drawn and "U+1F355" in drawn  # CJK and emoji shown as code points
    assert "café" in drawn and "$x$" in drawn and "п" in drawn  # what the font has, unchanged


def test_the_warning_check_can_fail(example, monkeypatch):
    """Without the label clean-up, the same labels do warn (when the font lacks CJK)."""
    if ord("東") in plots._drawable_codepoints():
        pytest.skip("this machine's default font draws CJK")
    query, doc, query_labels, doc_labels = example
    monkeypatch.setattr(plots, "_drawable", lambda label: label)
    with pytest.warns(UserWarning, match="Glyph .* missing"):
        render(plot_similarity_matrix(query, doc, query_labels, ["東"] + doc_labels[1:]))


@pytest.mark.parametrize("plot", PLOTTERS)
def test_deterministic_and_never_shows(example, plot, monkeypatch):
    query, doc, query_labels, doc_labels = example
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() was called"))
    first = render(plot(query, doc, query_labels, doc_labels))
    second = render(plot(query, doc, query_labels, doc_labels))
    assert first == second


@pytest.mark.parametrize("plot", PLOTTERS)
def test_any_real_dtype(example, plot):
    query, doc, query_labels, doc_labels = example
    for q, d in ((query.astype(np.float64), doc), (np.round(query * 10).astype(int), doc.tolist())):
        assert plot(q, d, query_labels, doc_labels) is not None


def test_plots_imports_no_notebook_or_test_code():
    tree = ast.parse(Path(plots.__file__).read_text())
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if "notebook" in name or "test" in name]


# ------------------------------------------------------------------------------ a real example


def test_a_real_colbert_example():
    """32 query rows x the stand-in ColBERT's document rows, labelled by token_labels."""
    import helpers

    helpers.setup(quiet=True)
    from fastembed import LateInteractionTextEmbedding

    from helpers.examples import POOL_DOCUMENTS, POOL_QUERY
    from helpers.tokens import token_labels

    colbert = LateInteractionTextEmbedding(helpers.COLBERT_MODEL)
    document = POOL_DOCUMENTS["A relevant"]
    query_vectors = next(colbert.query_embed(POOL_QUERY))
    doc_vectors = next(colbert.embed([document]))
    query_labels = token_labels(colbert, POOL_QUERY, "query")
    doc_labels = token_labels(colbert, document, "document")
    assert query_vectors.shape[0] == 32 and 15 <= doc_vectors.shape[0] <= 40

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        matrix = plot_similarity_matrix(query_vectors, doc_vectors, query_labels, doc_labels)
        render(matrix)
        contributions = plot_contributions(query_vectors, doc_vectors, query_labels, doc_labels)
        render(contributions)
    assert len(marks(matrix)) == 32
    widths = [bar.get_width() for bar in bars(contributions)]
    assert sum(widths) == pytest.approx(maxsim(query_vectors, doc_vectors), rel=1e-5)


def test_a_figures_plain_text_says_what_it_draws():
    import matplotlib.pyplot as plt

    from helpers.figures import figure_summary
    from helpers.plots import MAX_MARK_GID

    q = np.eye(3, 4, dtype=np.float32)
    d = np.eye(2, 4, dtype=np.float32)
    ax = plot_similarity_matrix(q, d, ["[CLS]", "apple", "pie"], ["[CLS]", "apple"], title="two documents")
    text = figure_summary(ax.figure)
    assert "x 'document tokens': [CLS] apple\n" in text  # each label once, though drawn top and bottom
    assert "y 'query tokens': [CLS] apple pie" in text and "two documents" in text
    assert "image 3x2: 6 values, 0.000 to 1.000, mean 0.333" in text
    marks = [p for p in ax.patches if p.get_gid() == MAX_MARK_GID]
    assert f"{len(marks)} rectangles" in text
    plt.close(ax.figure)
    fig, ax = plt.subplots()
    ax.barh([0, 1], [0.5, 0.5 + 3e-7 - 0.5])  # a bar of nearly nothing next to one of 0.5
    ax.set_yticks([0, 1], ["big", "tiny"])
    text = figure_summary(fig)
    assert "width [0.5000, 0.0000]" in text and "y '': big tiny" in text
    plt.close(fig)
