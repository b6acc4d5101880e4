"""Small result tables for notebooks, rendered as Markdown (and readable as plain text)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .course import format_float


class Table:
    """A table that Jupyter shows as Markdown and a terminal (or nbval) as aligned text."""

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[object]]):
        widths = {len(row) for row in rows}
        if widths and widths != {len(header)}:
            raise ValueError(f"every row needs {len(header)} cells, got rows of {sorted(widths)}")
        self.header = [str(h) for h in header]
        self.rows = [[_cell(c) for c in row] for row in rows]

    def _repr_markdown_(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        cols = [self.header] + self.rows
        width = [max(len(r[i]) for r in cols) for i in range(len(self.header))]
        fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, width)).rstrip()  # noqa: E731
        return "\n".join([fmt(self.header), fmt(["-" * w for w in width])] + [fmt(r) for r in self.rows])


def _markdown_cell(text: str) -> str:
    """A cell's text as it must be written inside a Markdown table: a "|" would end the cell, and
    "[text](target)" would become a link (notebook 11's passages quote this course's own tables and
    links, whose relative targets lead nowhere from a table); both are shown as typed."""
    return text.replace("|", "\\|").replace("](", "]&#40;")


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return format_float(value)
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A Markdown table; floats shown to 4 significant digits. ``rows``: one sequence per row."""
    return Table(header, rows)
