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
        # a "|" inside a cell would end the cell: escaped (passages of notebook 11 quote tables)
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        cols = [self.header] + self.rows
        width = [max(len(r[i]) for r in cols) for i in range(len(self.header))]
        fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, width)).rstrip()  # noqa: E731
        return "\n".join([fmt(self.header), fmt(["-" * w for w in width])] + [fmt(r) for r in self.rows])


def _cell(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return format_float(value)
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A Markdown table; floats shown to 4 significant digits. ``rows``: one sequence per row."""
    return Table(header, rows)
