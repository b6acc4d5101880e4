"""A matplotlib figure as text: what it draws, for nbval to compare (it skips images).

``helpers.setup()`` registers :func:`figure_summary` as the plain-text form of every figure a
notebook displays; Jupyter, the web pages and the slides show the PNG.
"""

from __future__ import annotations

import numpy as np


def _nums(values, most: int = 20) -> str:
    """Up to ``most`` numbers, else their count, range and mean; all rounded to one step for the
    group, a thousandth of its largest magnitude (so a near-zero difference prints as 0.000, not as
    digits that vary from CPU to CPU)."""
    values = np.asarray(values, dtype=float).ravel()
    finite = values[np.isfinite(values)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    exponent = int(np.floor(np.log10(largest))) - 3 if largest > 0 else 0
    decimals = max(0, -exponent)

    def show(v: float) -> str:
        if not np.isfinite(v):
            return str(v)
        text = f"{round(v / 10.0**exponent) * 10.0**exponent:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text

    if values.size <= most:
        return "[" + ", ".join(show(v) for v in values) + "]"
    return f"{values.size} values, {show(finite.min())} to {show(finite.max())}, mean {show(finite.mean())}"


def _ticks(axis) -> str:
    """The tick labels of one axis (the bottom or left ones, else the top or right ones)."""
    ticks = axis.get_major_ticks()[:len(axis.get_majorticklocs())]
    texts = [(t.label1 if t.label1.get_visible() else t.label2).get_text() for t in ticks]
    return " ".join(t for t in texts if t) or "-"


def figure_summary(fig) -> str:
    """What a matplotlib figure shows, as text: each Axes' title, axis labels and tick labels, and
    the data of its images, lines, scatter points, bars or outlined cells and texts, each group of
    numbers rounded to a thousandth of its largest magnitude.

    ``helpers.setup()`` makes it the plain-text form of every figure a notebook displays. Jupyter,
    the web pages and the slides show the PNG; nbval compares the plain text, so this summary is
    what makes a figure's data part of the notebook's regression test (nbval does not compare
    images). Drawing is laid out first (without rendering pixels) so tick labels exist.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle

    fig.draw_without_rendering()
    lines = [f"Figure, {len(fig.axes)} Axes"]
    for n, ax in enumerate(fig.axes, start=1):
        title = " / ".join(t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t)
        lines.append(f"Axes {n}: {title!r}" if title else f"Axes {n}")
        lines.append(f"  x {ax.get_xlabel()!r}: {_ticks(ax.xaxis)}")
        lines.append(f"  y {ax.get_ylabel()!r}: {_ticks(ax.yaxis)}")
        for image in ax.get_images():
            data = np.asarray(image.get_array(), dtype=float)
            lines.append(f"  image {'x'.join(map(str, data.shape))}: {_nums(data, most=0)}")
        for line in ax.get_lines():
            x, y = line.get_xdata(), line.get_ydata()
            label = "" if line.get_label().startswith("_") else f" {line.get_label()!r}"
            lines.append(f"  line{label}: x {_nums(x)}; y {_nums(y)}")
        for collection in ax.collections:
            if isinstance(collection, PathCollection) and len(collection.get_offsets()):
                xy = np.asarray(collection.get_offsets(), dtype=float)
                label = "" if collection.get_label().startswith("_") else f" {collection.get_label()!r}"
                lines.append(f"  points{label}: x {_nums(xy[:, 0])}; y {_nums(xy[:, 1])}")
        boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
        if boxes:
            lines.append(f"  {len(boxes)} rectangles: x {_nums([b.get_x() for b in boxes], 60)}; "
                         f"y {_nums([b.get_y() for b in boxes], 60)}; "
                         f"width {_nums([b.get_width() for b in boxes], 60)}; "
                         f"height {_nums([b.get_height() for b in boxes], 60)}")
        texts = [t.get_text() for t in ax.texts if t.get_text()]
        if texts:
            lines.append(f"  texts: {' | '.join(texts)}")
        legend = ax.get_legend()
        if legend is not None:
            lines.append(f"  legend: {' | '.join(t.get_text() for t in legend.get_texts())}")
    return "\n".join(lines)
