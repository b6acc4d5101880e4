"""make slides: one reveal.js deck per notebook in build/slides/, from the committed outputs.

    build/site-venv/bin/python tools/site/build_slides.py [--out build/slides] [--notebooks notebooks]

nbconvert's SlidesExporter (the version requirements.txt pins) with the template in
tools/site/templates/course_reveal: reveal.js 4 (the major version nbconvert's reveal template is
written for), require.js and MathJax 3 are copied from npm (build/site-node/) into
build/slides/_assets/, so a deck loads nothing from another host and works from file:// too. Slide
breaks come from each cell's ``metadata.slideshow.slide_type`` (tools/slide_metadata.py); a link to
another notebook leads to its deck (its first slide); nothing is executed. The same checks as make book stop the build first (tools/site/notebook_rules.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import notebook_rules  # noqa: E402
from build_book import NODE_MODULES, fail, scan, title  # noqa: E402

WHAT = "make slides"
ASSETS = "_assets"
THEME = "white"  # its font (Source Sans Pro) ships with reveal.js


def copy_assets(out: Path) -> None:
    assets = out / ASSETS
    reveal = NODE_MODULES / "reveal.js"
    if not (reveal / "dist" / "reveal.js").exists():
        fail(WHAT, [f"{reveal} is missing: run make slides, which installs tools/site/package.json with npm ci"])
    # reveal.js itself, and only the theme used: the other themes @import fonts from another host
    shutil.copytree(reveal / "dist", assets / "reveal.js" / "dist",
                    ignore=shutil.ignore_patterns("*.map", "*.esm.js", "theme"))
    theme = assets / "reveal.js" / "dist" / "theme"
    theme.mkdir()
    shutil.copy(reveal / "dist" / "theme" / f"{THEME}.css", theme / f"{THEME}.css")
    shutil.copytree(reveal / "dist" / "theme" / "fonts" / "source-sans-pro", theme / "fonts" / "source-sans-pro")
    shutil.copytree(reveal / "plugin" / "notes", assets / "reveal.js" / "plugin" / "notes")
    shutil.copy(NODE_MODULES / "requirejs" / "require.js", assets / "require.js")
    (assets / "mathjax").mkdir()
    shutil.copy(NODE_MODULES / "mathjax" / "es5" / "tex-svg.js", assets / "mathjax" / "tex-svg.js")
    shutil.copytree(NODE_MODULES / "mathjax" / "es5" / "input" / "tex" / "extensions",
                    assets / "mathjax" / "input" / "tex" / "extensions")


def deck_links(notebook: dict) -> dict:
    """Links between notebooks (``[text](02-maxsim-distance.ipynb#anchor)``) become links between decks."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            text = re.sub(r"\]\(\s*<?(\d\d-[\w.-]+)\.ipynb(#[^)\s>]*)?>?", r"](\1.slides.html",
                          notebook_rules.source(cell))
            cell["source"] = text
    return notebook


def exporter():
    from nbconvert import SlidesExporter

    return SlidesExporter(
        template_name="course_reveal",
        extra_template_basedirs=[str(HERE / "templates")],
        reveal_url_prefix=f"{ASSETS}/reveal.js",
        require_js_url=f"{ASSETS}/require.js",
        mathjax_url=f"{ASSETS}/mathjax/tex-svg.js",
        reveal_theme=THEME,
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width="1366",
        reveal_height="768",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def index_page(decks: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{name}">{label}</a></li>' for name, label in decks)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Slides: late interaction retrieval, step by step</title>
<style>body {{ font-family: sans-serif; max-width: 50rem; margin: 2rem auto; line-height: 1.6; }}</style></head>
<body><h1>Slides: late interaction retrieval, step by step</h1>
<p>One reveal.js deck per notebook, from the committed outputs. Keys: arrows or space to move,
<kbd>Esc</kbd> for the overview, <kbd>S</kbd> for speaker notes (served over HTTP only),
<kbd>F</kbd> for full screen.</p>
<ul>
{items}
</ul></body></html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = notebook_rules.notebooks(args.notebooks)
    loaded, problems = {}, []
    for path in paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        problems += notebook_rules.problems(notebook, f"notebooks/{path.name}")
        if not any(c.get("metadata", {}).get("slideshow") for c in notebook["cells"]):
            problems.append(f"notebooks/{path.name}: no slide metadata (run python tools/slide_metadata.py)")
        loaded[path] = notebook
    if not paths:
        problems.append(f"no NN-*.ipynb in {args.notebooks}")
    if problems:
        fail(WHAT, problems)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    copy_assets(args.out)
    import nbformat

    slides = exporter()
    decks = []
    for path, notebook in loaded.items():
        node = nbformat.reads(json.dumps(deck_links(notebook_rules.publishable(notebook))), as_version=4)
        body, _ = slides.from_notebook_node(node, resources={"metadata": {"name": title(notebook, path.stem)}})
        name = f"{path.stem}.slides.html"
        (args.out / name).write_text(body, encoding="utf-8")
        decks.append((name, title(notebook, path.stem)))
    (args.out / "index.html").write_text(index_page(decks), encoding="utf-8")
    remote = scan(args.out)
    if remote:
        fail(WHAT, [f"build/slides/{r} loads from another host" for r in remote])
    where = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"make slides: {len(decks)} decks in {where}/ in {time.perf_counter() - started:.1f} s; "
          f"open {where}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
