"""Slide breaks for class: sets every cell's ``metadata.slideshow.slide_type`` in the notebooks.

    python tools/slide_metadata.py          # write the metadata into notebooks/NN-*.ipynb
    python tools/slide_metadata.py --check  # exit 1 if a notebook's metadata differs from what it would write

This script is the one source of the slide metadata: it derives every cell's slide type from the
cells' content alone (never from the metadata already there), so running it again changes nothing,
and after a merge it can simply be run again. It touches nothing but ``metadata.slideshow``, and
writes the notebooks as they are stored (``json.dump`` with ``indent=1``, ``ensure_ascii=False`` and
a trailing newline), so its diff is metadata only.

The rules, for a projector of 1366 x 768 (``make slides`` sets reveal.js to that size):

* the set-up cell (a code cell calling ``helpers.setup()``) is ``skip``;
* a markdown cell starting with ``#`` or ``##`` starts a new ``slide`` (a column of reveal.js);
* an exercise's task (``### Exercise``) starts a ``subslide``; so does any cell that would not fit
  under what the current slide already holds (heights estimated from lines of text, code, output
  rows and the figures' pixel sizes; see ``height``), and any cell with a figure when the slide
  already has one: at most one figure per slide;
* every other cell continues the current slide (``-``).

The estimates were checked against the heights Chromium lays the cells out at (make check-site
measures every slide). A single cell taller than a slide (a long table) gets a slide of its own; the
deck's template shrinks such a slide's text to fit, down to 65 %, and lets a slide that is taller
still scroll in its own box (tools/site/templates/course_reveal).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SERIES = re.compile(r"^\d\d-[\w.-]+\.ipynb$")

#: Usable height of a 768 px slide, less reveal.js's margins (px).
SLIDE_HEIGHT = 700
#: A figure is shown at most this tall on a slide (the template shrinks taller ones to fit).
FIGURE_MAX = 420
TEXT_LINE, TEXT_CHARS = 30, 105      # markdown: 20 px text, characters per line at 1366 px
CODE_LINE, CODE_CHARS = 24, 110      # code and printed output: 19 px monospace
TABLE_ROW = 30


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def _text_height(text: str, line: int, chars: int) -> int:
    return sum(line * max(1, math.ceil(len(row) / chars)) for row in text.rstrip("\n").split("\n"))


def _markdown_height(text: str) -> int:
    height = 0
    for row in text.split("\n"):
        if row.startswith("# "):
            height += 70
        elif row.startswith("## "):
            height += 60
        elif row.startswith("### "):
            height += 48
        elif row.startswith("|"):
            height += TABLE_ROW
        elif not row.strip():
            height += 12
        else:
            height += TEXT_LINE * max(1, math.ceil(len(row) / TEXT_CHARS))
    return height + 36  # the cell's margins


def _png_height(data) -> int:
    raw = base64.b64decode((data if isinstance(data, str) else "".join(data))[:64])
    width, height = struct.unpack(">II", raw[16:24])
    return min(height, FIGURE_MAX)


def height(cell: dict) -> int:
    """Estimated height of ``cell`` on a slide, in px."""
    if cell["cell_type"] == "markdown":
        if cell.get("metadata", {}).get("exercise", {}).get("role") == "solution":
            return 50  # folded: its summary line only
        return _markdown_height(source(cell))
    total = _text_height(source(cell), CODE_LINE, CODE_CHARS) + 30
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if output.get("output_type") == "stream":
            total += _text_height(source({"source": output.get("text", "")}), CODE_LINE, CODE_CHARS) + 20
        elif "image/png" in data:
            total += _png_height(data["image/png"]) + 20
        elif "text/markdown" in data:
            total += _markdown_height(source({"source": data["text/markdown"]})) + 20
        elif "text/plain" in data:
            total += _text_height(source({"source": data["text/plain"]}), CODE_LINE, CODE_CHARS) + 20
    return total


def has_figure(cell: dict) -> bool:
    return any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", []))


def is_setup(cell: dict) -> bool:
    return cell["cell_type"] == "code" and "helpers.setup(" in source(cell)


def slide_types(notebook: dict) -> list[str]:
    """One slide type per cell, from the cells' content only."""
    types, used, figure = [], 0, False
    for cell in notebook["cells"]:
        text = source(cell)
        if is_setup(cell):
            types.append("skip")
            continue
        if not types or (cell["cell_type"] == "markdown" and re.match(r"^##? ", text)):
            kind, used, figure = "slide", 0, False
        elif cell["cell_type"] == "markdown" and text.startswith("### "):
            kind, used, figure = "subslide", 0, False
        elif used + height(cell) > SLIDE_HEIGHT or (figure and has_figure(cell)):
            kind, used, figure = "subslide", 0, False
        else:
            kind = "-"
        used += height(cell)
        figure = figure or has_figure(cell)
        types.append(kind)
    return types


def with_slides(notebook: dict) -> dict:
    for cell, kind in zip(notebook["cells"], slide_types(notebook)):
        metadata = cell.setdefault("metadata", {})
        metadata["slideshow"] = {"slide_type": kind}
        cell["metadata"] = dict(sorted(metadata.items()))
    return notebook


def dumps(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook would change")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: notebooks/NN-*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(p for p in NOTEBOOKS.glob("*.ipynb") if SERIES.match(p.name))
    stale = []
    for path in paths:
        before = path.read_text(encoding="utf-8")
        after = dumps(with_slides(json.loads(before)))
        if after != before:
            stale.append(path)
            if not args.check:
                path.write_text(after, encoding="utf-8")
        types = slide_types(json.loads(after))
        print(f"{path.name}: {types.count('slide')} slides, {types.count('subslide')} subslides, "
              f"{types.count('skip')} skipped{' (updated)' if path in stale and not args.check else ''}")
    if args.check and stale:
        print("slide metadata out of date (run python tools/slide_metadata.py): "
              + ", ".join(p.name for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
