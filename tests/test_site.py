"""The web pages and slides (make book, make slides): cheap checks that need neither Sphinx nor a browser.

* every notebook has slide metadata on every cell, as tools/slide_metadata.py writes it;
* the committed notebooks pass make book's rules (tools/site/notebook_rules.py), and those rules
  stop a notebook with a missing output or a remote asset, naming the notebook and the cell;
* if a build exists, its HTML and CSS load nothing from another host (a static scan; the real
  browser check is make check-site, outside make test).
"""

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "site"))

import build_book  # noqa: E402  (imports Sphinx only when it builds)
import notebook_rules  # noqa: E402
import slide_metadata  # noqa: E402

NOTEBOOKS = notebook_rules.notebooks(ROOT / "notebooks")
BUILDS = [ROOT / "build" / "book", ROOT / "build" / "slides"]


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_the_slide_metadata_the_script_writes(path):
    notebook = _load(path)
    missing = [i for i, cell in enumerate(notebook["cells"]) if "slide_type" not in cell["metadata"].get("slideshow", {})]
    assert not missing, f"{path.name}: cells {missing} have no slide metadata; run python tools/slide_metadata.py"
    stored = [cell["metadata"]["slideshow"]["slide_type"] for cell in notebook["cells"]]
    assert stored == slide_metadata.slide_types(notebook), (
        f"{path.name}: slide metadata differs from what tools/slide_metadata.py derives; run it")
    assert stored[0] == "slide" and stored.count("skip") == 1


def test_slide_metadata_is_idempotent_and_keeps_the_file_format():
    path = NOTEBOOKS[1]
    text = path.read_text(encoding="utf-8")
    assert slide_metadata.dumps(slide_metadata.with_slides(json.loads(text))) == text
    bare = json.loads(text)
    for cell in bare["cells"]:
        del cell["metadata"]["slideshow"]
    assert slide_metadata.dumps(slide_metadata.with_slides(bare)) == text


def test_at_most_one_figure_per_slide_and_a_slide_for_every_heading():
    for path in NOTEBOOKS:
        notebook = _load(path)
        figures = 0
        for cell, kind in zip(notebook["cells"], slide_metadata.slide_types(notebook)):
            if kind in ("slide", "subslide"):
                figures = 0
            figures += slide_metadata.has_figure(cell) and kind != "skip"
            assert figures <= 1, f"{path.name}: two figures on one slide at cell {cell['id']}"
            if cell["cell_type"] == "markdown" and notebook_rules.source(cell).startswith(("# ", "## ")):
                assert kind == "slide"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_notebooks_can_be_published(path):
    assert notebook_rules.problems(_load(path), path.name) == []


def _cell(source, outputs=(), role=None, count=1):
    cell = {"cell_type": "code", "execution_count": count, "id": "x1", "metadata": {},
            "outputs": list(outputs), "source": source}
    if role:
        cell["metadata"]["exercise"] = {"id": "9.9", "role": role}
    return cell


def test_a_missing_output_stops_the_build_naming_notebook_and_cell():
    notebook = copy.deepcopy(_load(NOTEBOOKS[1]))
    index = next(i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code" and c["outputs"] and i > 2)
    notebook["cells"][index]["outputs"] = []
    problems = notebook_rules.problems(notebook, "notebooks/02-x.ipynb")
    assert len(problems) == 1
    assert problems[0].startswith(f"notebooks/02-x.ipynb, cell {index + 1} of {len(notebook['cells'])} "
                                  f"(id {notebook['cells'][index]['id']}, code)")


@pytest.mark.parametrize("source, needs_output", [
    ("x = 1\ny = x + 1", False),                      # assignments only
    ("def f(a):\n    return a", False),
    ("answer = ...  # a number", False),             # the placeholder
    ("helpers.recreate_collection(client, 'c')", False),  # a call that may return None
    ("x", True), ("x.shape, y.shape", True), ("len(x)", True),
    ("helpers.table(['a'], rows)", True), ("print(x)\ny = 2", True),
    ("ax = helpers.plot_contributions(q, d)", True), ("%matplotlib inline\nx", True), ("!ls", False),
])
def test_which_code_displays_something(source, needs_output):
    assert notebook_rules.should_have_output(source) is needs_output


def test_exercise_answers_and_cleared_notebooks():
    notebook = {"cells": [_cell("answer_9_9 = ...", role="answer", count=None),
                          _cell("answer_9_9", role="answer"),
                          _cell("y = 2", count=None)]}
    problems = notebook_rules.problems(notebook, "n.ipynb")
    assert len(problems) == 1 and "cell 3 of 3" in problems[0] and "never run" in problems[0]


@pytest.mark.parametrize("output, remote", [
    ({"output_type": "display_data", "data": {"text/html": '<img src="https://example.org/a.png">'}}, True),
    ({"output_type": "display_data", "data": {"text/html": '<script src="//cdn.example.org/x.js"></script>'}}, True),
    ({"output_type": "display_data", "data": {"text/html": "<style>@import 'https://fonts.example.org/f.css';</style>"}}, True),
    ({"output_type": "display_data", "data": {"text/markdown": "![plot](https://example.org/p.png)"}}, True),
    ({"output_type": "display_data", "data": {"text/html": '<a href="https://qdrant.tech">a link</a>'}}, False),
    ({"output_type": "display_data", "data": {"text/html": '<img src="data:image/png;base64,AAAA">'}}, False),
])
def test_an_output_loading_a_remote_resource_stops_the_build(output, remote):
    problems = notebook_rules.problems({"cells": [_cell("show()", [output])]}, "n.ipynb")
    assert bool(problems) is remote
    if remote:
        assert problems[0].startswith("n.ipynb, cell 1 of 1 (id x1, code): its ")


def test_links_between_notebooks_and_to_other_files():
    cell = {"cell_type": "markdown", "id": "m1", "metadata": {},
            "source": "See [02](02-maxsim-distance.ipynb#asymmetry), [Qdrant](https://qdrant.tech) and [helper](../helpers/maxsim.py)."}
    problems = notebook_rules.problems({"cells": [cell]}, "n.ipynb")
    assert len(problems) == 1 and "'../helpers/maxsim.py'" in problems[0]


def test_widget_views_give_way_to_their_static_output():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    notebook = {"metadata": {"widgets": {"state": {}}}, "cells": [_cell("w", [
        {"output_type": "display_data", "data": {notebook_rules.WIDGET_MIME: view, "text/html": "<table></table>"}},
        {"output_type": "display_data", "data": {notebook_rules.WIDGET_MIME: view}}])]}
    published = notebook_rules.publishable(notebook)
    assert "widgets" not in published["metadata"]
    assert [list(o["data"]) for o in published["cells"][0]["outputs"]] == [["text/html"], ["text/plain"]]


def test_the_home_page_lists_a_notebook_the_readme_does_not_yet():
    readme = "# Course\n\nIntro.\n\n| notebook | what |\n|---|---|\n| [01 · A](notebooks/01-a.ipynb) | a |\n\nAfter.\n\n## Exercises\n"
    page = build_book.index_page(readme, [(Path("01-a.ipynb"), "01 · A"), (Path("11-b.ipynb"), "11 · B")])
    assert "| [11 · B](notebooks/11-b.ipynb) | |" in page
    assert page.index("11-b.ipynb") < page.index("After.")
    assert "## Exercises" not in page and "notebooks/01-a\nnotebooks/11-b" in page


@pytest.mark.parametrize("folder", BUILDS, ids=lambda p: p.name)
def test_a_built_site_loads_nothing_from_another_host(folder):
    if not (folder / "index.html").exists():
        pytest.skip(f"no build in {folder.relative_to(ROOT)} (make {'book' if folder.name == 'book' else 'slides'} builds it)")
    assert build_book.scan(folder) == []


def test_links_between_notebooks_lead_to_their_decks():
    import build_slides

    cell = {"cell_type": "markdown", "metadata": {},
            "source": "See [02](02-maxsim-distance.ipynb#asymmetry) and [Qdrant](https://qdrant.tech)."}
    linked = build_slides.deck_links({"cells": [cell]})
    assert linked["cells"][0]["source"] == "See [02](02-maxsim-distance.slides.html) and [Qdrant](https://qdrant.tech)."


def test_a_link_inside_a_markdown_output_must_lead_somewhere_too():
    table = "| file | begins |\n|---|---|\n| README.md | [08 · Quantization](notebooks/08-quantization.ipynb) \\| int8 |\n"
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/markdown": table, "text/plain": "table"}}
    problems = notebook_rules.problems({"cells": [_cell("helpers.table(h, rows)", [output])]}, "11-x.ipynb")
    assert len(problems) == 1 and "'notebooks/08-quantization.ipynb'" in problems[0] and "escaped" in problems[0]
    escaped = table.replace("[08 · Quantization](", "\\[08 · Quantization\\](")
    output["data"]["text/markdown"] = escaped
    assert notebook_rules.problems({"cells": [_cell("helpers.table(h, rows)", [output])]}, "11-x.ipynb") == []
