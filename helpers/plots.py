"""Pictures of MaxSim: the token-by-token similarity matrix, and each query token's share.

Both functions take the two matrices ColBERT produces, query vectors of shape
(n_query_tokens, dim) and document vectors of shape (n_doc_tokens, dim), plus one label per
row (``helpers.tokens.token_labels`` gives them). Taught in notebooks/02-maxsim-distance.ipynb
and notebooks/03-use-cases.ipynb.

Both draw on ``ax`` (a new figure sized for the data when None), return the Axes, and never
call ``plt.show()``. They are deterministic and emit no warnings: characters the font cannot
draw (CJK, emoji, ...) are shown as their code point, "東" as "U+6771", instead of an empty
box and a "Glyph missing" warning.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from .course import format_float

# The same checks as maxsim() itself, so both report bad input with the same words.
from .maxsim import _check_matrix, _check_same_dim, explain_maxsim

__all__ = ["plot_similarity_matrix", "plot_contributions"]

MASK_LABEL = "[MASK]"
#: gid of the outlined cells that mark each row's maximum in plot_similarity_matrix
MAX_MARK_GID = "maxsim-row-max"
#: gid of the bars in plot_contributions
CONTRIBUTION_BAR_GID = "maxsim-contribution"

_CELL_INCHES = 0.22  # one matrix cell when the figure is sized automatically
_CHAR_INCHES = 0.075  # one label character at the tick font size (8 pt), generously


# ----------------------------------------------------------------------------- public


def plot_similarity_matrix(
    query_vectors,
    doc_vectors,
    query_labels: Sequence[str],
    doc_labels: Sequence[str],
    ax=None,
    hide_mask: bool = False,
    title: str | None = None,
    cmap: str = "viridis",
    mark_color: str = "red",
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Heatmap of every query token's dot product with every document token.

    Taught in notebooks/02-maxsim-distance.ipynb and notebooks/03-use-cases.ipynb.

    Args:
        query_vectors: (n_query_tokens, dim) array, e.g. ``next(colbert.query_embed(q))``.
        doc_vectors: (n_doc_tokens, dim) array, e.g. ``next(colbert.embed([d]))``.
        query_labels: n_query_tokens strings, the rows' labels
            (``token_labels(colbert, q, "query")``).
        doc_labels: n_doc_tokens strings, the columns' labels
            (``token_labels(colbert, d, "document")``).
        ax: the matplotlib Axes to draw on; None makes a figure sized for the matrix
            (readable up to about 32 x 60 tokens).
        hide_mask: leave out the query rows labelled "[MASK]" (the score still counts them).
        title: a first title line (e.g. the document's name), followed by the MaxSim score and,
            when rows are hidden, what they add; None for the score line alone, "" for no title.
        cmap: the colormap of the dot products.
        mark_color: the outline of the cell holding each row's maximum (MaxSim's pick).
        vmin, vmax: the colour scale's ends; give two heatmaps the same ones to compare them.

    Rows are query tokens (in order, top to bottom), columns document tokens (left to right);
    each row's largest dot product, the one MaxSim adds up, is outlined. A colorbar shows
    the scale. Document token labels are repeated above the matrix when it has more than 16
    rows, so they stay in view on a small screen.

    Returns:
        The Axes with the heatmap.

    Raises:
        ValueError: a matrix is not 2-D, is empty or holds NaN/inf; the dims differ; a label
            list's length differs from its matrix's number of rows; hide_mask hides every row.
    """
    query, doc, qlabels, dlabels = _check_inputs(query_vectors, doc_vectors, query_labels, doc_labels)
    explanation = explain_maxsim(query, doc)
    rows = _shown_rows(qlabels, hide_mask)
    similarities = _similarities(query, doc)[rows]
    best = explanation.best_doc_rows[rows]
    n_rows, n_cols = similarities.shape

    if ax is None:
        ax = _new_axes(_matrix_figsize(n_rows, n_cols, [qlabels[r] for r in rows], dlabels))
    fontsize = _tick_fontsize(ax, n_rows, n_cols)

    image = ax.imshow(similarities, cmap=cmap, aspect="auto", interpolation="nearest", vmin=vmin, vmax=vmax)
    ax.set_xticks(np.arange(n_cols), labels=[_drawable(s) for s in dlabels], rotation=90,
                  fontsize=fontsize, parse_math=False)
    ax.set_yticks(np.arange(n_rows), labels=[_drawable(qlabels[r]) for r in rows],
                  fontsize=fontsize, parse_math=False)
    ax.tick_params(length=2, pad=2)
    if n_rows > 16:
        ax.tick_params(axis="x", labeltop=True, labelrotation=90)
    # thin separators between cells
    ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.4, alpha=0.6)
    ax.tick_params(which="minor", length=0)
    ax.grid(which="major", visible=False)

    from matplotlib.patches import Rectangle

    for row, col in enumerate(best):
        ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1.0, 1.0, fill=False, edgecolor=mark_color,
                               linewidth=1.6, gid=MAX_MARK_GID, zorder=3))

    ax.set_xlabel("document tokens")
    ax.set_ylabel("query tokens")
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02, aspect=30)
    colorbar.set_label("dot product")
    if title != "":
        summary = f"Query × document token similarities; outlined: each row's max (MaxSim = {format_float(explanation.score)})"
        hidden = len(qlabels) - n_rows
        if hidden:
            summary += f"\n{hidden} [MASK] rows hidden (still counted in the score)"
        title = summary if title is None else f"{title}\n{summary}"
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_contributions(
    query_vectors,
    doc_vectors,
    query_labels: Sequence[str],
    doc_labels: Sequence[str],
    ax=None,
    hide_mask: bool = False,
    title: str | None = None,
    color: str = "C0",
):
    """Each query token's MaxSim contribution as a horizontal bar: where the score comes from.

    Taught in notebooks/02-maxsim-distance.ipynb and notebooks/03-use-cases.ipynb.

    Args:
        query_vectors: (n_query_tokens, dim) array.
        doc_vectors: (n_doc_tokens, dim) array.
        query_labels: n_query_tokens strings (``token_labels(colbert, q, "query")``).
        doc_labels: n_doc_tokens strings (``token_labels(colbert, d, "document")``).
        ax: the matplotlib Axes to draw on; None makes a figure sized for the bars.
        hide_mask: leave out the bars of query rows labelled "[MASK]"; the title still gives
            the full score and says what the hidden rows add.
        title: a first title line (e.g. the document's name), followed by the total and what
            hidden rows add; None for the total line alone, "" for no title.
        color: the bars' color.

    One bar per query token, top to bottom in query order; its length is that token's largest
    dot product with any document token, and its label reads "query token → document token it
    matched". The bars (hidden [MASK] rows included) add up to the MaxSim score, which the
    title gives.

    Returns:
        The Axes with the bars.

    Raises:
        ValueError: as ``plot_similarity_matrix``.
    """
    query, doc, qlabels, dlabels = _check_inputs(query_vectors, doc_vectors, query_labels, doc_labels)
    explanation = explain_maxsim(query, doc)
    rows = _shown_rows(qlabels, hide_mask)
    values = np.asarray(explanation.contributions, dtype=np.float64)[rows]
    ticks = [
        f"{_drawable(qlabels[r])} → {_drawable(dlabels[explanation.best_doc_rows[r]])}" for r in rows
    ]

    if ax is None:
        longest = max(len(t) for t in ticks)
        ax = _new_axes((min(14.0, 5.5 + longest * _CHAR_INCHES), min(16.0, 1.4 + 0.26 * len(rows))))
    fontsize = _tick_fontsize(ax, len(rows), 1)

    positions = np.arange(len(rows))
    bars = ax.barh(positions, values, color=color, height=0.7, gid=CONTRIBUTION_BAR_GID)
    for bar, row in zip(bars, rows):
        bar.set_gid(CONTRIBUTION_BAR_GID)
        if qlabels[row] == MASK_LABEL:  # query augmentation: same color, lighter
            bar.set_alpha(0.55)
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=2,
                 fontsize=max(6.0, fontsize - 1))
    ax.set_yticks(positions, labels=ticks, fontsize=fontsize, parse_math=False)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # query order, top to bottom
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    low, high = min(0.0, values.min()), max(0.0, values.max())
    span = (high - low) or 1.0
    ax.set_xlim(low - (0.12 * span if low < 0 else 0.0), high + 0.15 * span)
    ax.set_xlabel("contribution: the query token's best dot product")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)

    if title != "":
        summary = f"MaxSim = {format_float(explanation.score)}, the sum of the {len(qlabels)} query tokens' bars"
        shown = set(rows)
        hidden = [r for r in range(len(qlabels)) if r not in shown]
        if hidden:
            hidden_sum = float(np.asarray(explanation.contributions, dtype=np.float64)[hidden].sum())
            summary = (
                f"MaxSim = {format_float(explanation.score)}: {len(rows)} bars shown "
                f"+ {len(hidden)} hidden [MASK] rows adding {format_float(hidden_sum)}"
            )
        title = summary if title is None else f"{title}\n{summary}"
    if title:
        ax.set_title(title, fontsize=10)
    return ax


# ----------------------------------------------------------------------------- checks


def _check_inputs(query_vectors, doc_vectors, query_labels, doc_labels):
    query = _check_matrix(query_vectors, "query_vectors")
    doc = _check_matrix(doc_vectors, "doc_vectors")
    _check_same_dim(query, doc, "doc_vectors")
    qlabels = _check_labels(query_labels, "query_labels", len(query), "query_vectors")
    dlabels = _check_labels(doc_labels, "doc_labels", len(doc), "doc_vectors")
    return query, doc, qlabels, dlabels


def _check_labels(labels, name: str, n_rows: int, matrix_name: str) -> list[str]:
    if isinstance(labels, (str, bytes)):
        raise ValueError(f"{name} must be a list of strings, one per token vector, got a single string")
    try:
        labels = [str(label) for label in labels]
    except TypeError:
        raise ValueError(
            f"{name} must be a list of strings, one per token vector, got {type(labels).__name__}"
        ) from None
    if len(labels) != n_rows:
        raise ValueError(
            f"{name} has {len(labels)} labels but {matrix_name} has {n_rows} rows: give one label "
            "per token vector (helpers.tokens.token_labels gives exactly that)"
        )
    return labels


def _shown_rows(query_labels: list[str], hide_mask: bool) -> list[int]:
    if not hide_mask:
        return list(range(len(query_labels)))
    rows = [i for i, label in enumerate(query_labels) if label != MASK_LABEL]
    if not rows:
        raise ValueError("hide_mask=True would hide every query row: all of them are labelled [MASK]")
    return rows


def _similarities(query: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """(n_query_tokens, n_doc_tokens) dot products, in the dtype maxsim uses."""
    dtype = np.result_type(query.dtype, doc.dtype, np.float32)
    return query.astype(dtype, copy=False) @ doc.astype(dtype, copy=False).T


# ----------------------------------------------------------------------------- layout


def _new_axes(figsize):
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _matrix_figsize(n_rows: int, n_cols: int, row_labels, col_labels) -> tuple[float, float]:
    row_label_inches = max(len(s) for s in row_labels) * _CHAR_INCHES
    col_label_inches = max(len(s) for s in col_labels) * _CHAR_INCHES
    width = 1.3 + row_label_inches + n_cols * _CELL_INCHES + 1.1  # ylabel, ticks, cells, colorbar
    top_labels = col_label_inches if n_rows > 16 else 0.0  # column labels repeated above tall matrices
    height = 1.0 + top_labels + col_label_inches + n_rows * _CELL_INCHES + 0.6  # title, cells, ticks, xlabel
    return (min(max(width, 5.0), 26.0), min(max(height, 3.5), 18.0))


def _tick_fontsize(ax, n_rows: int, n_cols: int) -> float:
    """8 pt, smaller when the cells of this Axes are too small for it (never below 4 pt)."""
    figure_width, figure_height = ax.figure.get_size_inches()
    box = ax.get_position()
    cell = min(figure_width * box.width / max(n_cols, 1), figure_height * box.height / max(n_rows, 1))
    return float(min(8.0, max(4.0, cell * 72 * 0.75)))


# ----------------------------------------------------------------------------- glyphs


def _drawable(label: str) -> str:
    """``label`` with each character the default font cannot draw written as U+XXXX."""
    codes = _drawable_codepoints()
    if all(ord(ch) in codes for ch in label):
        return label
    return "".join(ch if ord(ch) in codes else f"U+{ord(ch):04X}" for ch in label)


def _drawable_codepoints() -> frozenset[int]:
    import matplotlib
    from matplotlib import font_manager

    prop = font_manager.FontProperties(family=matplotlib.rcParams["font.family"])
    try:  # the font and its fallbacks, as matplotlib resolves them when drawing text
        paths = font_manager.fontManager._find_fonts_by_props(prop)
    except Exception:  # private API: fall back to the primary font alone
        paths = [font_manager.findfont(prop)]
    return _codepoints(tuple(str(path) for path in paths))


@functools.lru_cache(maxsize=8)
def _codepoints(paths: tuple[str, ...]) -> frozenset[int]:
    from matplotlib import font_manager

    codes: set[int] = set()
    for path in paths:
        try:
            codes.update(font_manager.get_font(path).get_charmap())
        except Exception:  # an unreadable font file draws nothing
            continue
    return frozenset(codes)

