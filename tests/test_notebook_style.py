"""Notebooks are for reading: short code cells, short markdown cells, one heading per cell at its top."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_CODE_LINES = 15  # non-blank lines, not counting nbval's directive comments
MAX_MARKDOWN_LINES = 30


def _cells(path):
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        yield i, cell["cell_type"], "".join(cell["source"]).split("\n")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_short_and_headings_start_cells(path):
    problems = []
    for i, kind, lines in _cells(path):
        if kind == "code":
            code = [line for line in lines if line.strip() and not line.startswith("# NBVAL_")]
            if len(code) > MAX_CODE_LINES:
                problems.append(f"cell {i}: {len(code)} lines of code (at most {MAX_CODE_LINES})")
        elif kind == "markdown":
            if len(lines) > MAX_MARKDOWN_LINES:
                problems.append(f"cell {i}: {len(lines)} lines of markdown (at most {MAX_MARKDOWN_LINES})")
            inner = [line for line in lines[1:] if line.startswith("#")]
            if inner:
                problems.append(f"cell {i}: heading {inner[0]!r} inside the cell; start a new cell with it")
    assert not problems, f"{path.name}: " + "; ".join(problems)


def test_the_rule_sees_the_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_state_or_widget_views_are_saved(path):
    """Saved widget state, or a widget view in an output, makes a web page load the widget manager
    from a CDN and shows a dead box where nothing runs; notebook 11 shows a static table instead."""
    notebook = json.loads(path.read_text())
    assert "widgets" not in notebook["metadata"], f"{path.name}: widget state in the notebook's metadata"
    views = [i for i, cell in enumerate(notebook["cells"]) for output in cell.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in output.get("data", {})]
    assert not views, f"{path.name}: widget views in the outputs of cells {views}"
