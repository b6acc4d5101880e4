"""make book: a static website of the series from the committed notebooks, executing nothing.

    build/site-venv/bin/python tools/site/build_book.py [--out build/book]

1. Every ``notebooks/NN-*.ipynb`` is checked (tools/site/notebook_rules.py): a code cell missing its
   outputs, an output that would load something from another host, or a relative link to anything
   but another notebook stops the build with a message naming the notebook and the cell.
2. The notebooks, without widget views and widget state, an ``index.md`` made from README.md's
   overview and notebook table, this folder's ``conf.py``, ``course.css`` and MathJax (from npm,
   build/site-node/) are staged in ``build/book-work/src/``.
3. Sphinx (myst-nb, sphinx-book-theme) writes ``build/book-work/html/``; its warnings are errors.
4. Every HTML and CSS file written is scanned for assets from another host; one found is an error.
   Only a build that passed all of this replaces ``build/book/``.
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

WHAT = "make book"
NODE_MODULES = ROOT / "build" / "site-node" / "node_modules"

MATHS = r"""
## The one formula

Every notebook builds on MaxSim: for a query with token vectors $q_1, \dots, q_n$ and a document with
token vectors $d_1, \dots, d_m$ (all of unit length),

$$
\operatorname{MaxSim}(q, d) = \sum_{i=1}^{n} \max_{1 \le j \le m} \; q_i \cdot d_j
$$

each query token keeps only its best-matching document token, and the document's score is the sum
of those best matches ([notebook 02](notebooks/02-maxsim-distance.ipynb) takes it apart).
"""


def fail(what: str, messages: list[str]) -> None:
    print(f"{what}: {len(messages)} problem(s); nothing was published:", file=sys.stderr)
    for message in messages:
        print(f"  {message}", file=sys.stderr)
    sys.exit(1)


def title(notebook: dict, fallback: str) -> str:
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            first = notebook_rules.source(cell).split("\n", 1)[0]
            if first.startswith("# "):
                return first[2:].strip()
    return fallback


def index_page(readme: str, series: list[tuple[Path, str]]) -> str:
    """README's overview (up to its first second-level heading) and notebook table, then the formula."""
    overview = readme.split("\n## ", 1)[0].rstrip() + "\n"
    listed = set(re.findall(r"\(notebooks/(\d\d-[\w.-]+\.ipynb)\)", overview))
    missing = [(path, name) for path, name in series if path.name not in listed]
    if missing:  # a notebook the README's table does not list yet still gets a row
        rows = "".join(f"| [{name}](notebooks/{path.name}) | |\n" for path, name in missing)
        overview = re.sub(r"(\n\|[^\n]*\|\n)(?!\|)", lambda m: m.group(1) + rows, overview, count=1)
    toctree = "\n".join(f"notebooks/{path.stem}" for path, _ in series)
    reading = (
        "\n## Reading and running it\n\n"
        "These pages show each notebook with the outputs committed in the repository: nothing was run\n"
        "to make them. The first output of every notebook names the model weights behind its numbers.\n"
        "Each exercise's solution stays folded until you open it. To run the notebooks yourself, clone\n"
        "the repository and run `make lab`; each page's download button gives its `.ipynb`. For class,\n"
        "`make slides` turns every notebook into a reveal.js deck from the same outputs.\n"
    )
    return (overview + MATHS + reading
            + f"\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n:caption: Notebooks\n\n{toctree}\n```\n")


def stage(src: Path, folder: Path = ROOT / "notebooks") -> list[tuple[Path, str]]:
    paths = notebook_rules.notebooks(folder)
    if not paths:
        fail(WHAT, ["no notebooks/NN-*.ipynb found"])
    loaded, problems = {}, []
    for path in paths:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        problems += notebook_rules.problems(notebook, f"notebooks/{path.name}")
        loaded[path] = notebook
    if problems:
        fail(WHAT, problems)
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    series = []
    for path, notebook in loaded.items():
        (src / "notebooks" / path.name).write_text(
            json.dumps(notebook_rules.publishable(notebook), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        series.append((path, title(notebook, path.stem)))
    (src / "index.md").write_text(index_page((ROOT / "README.md").read_text(encoding="utf-8"), series), encoding="utf-8")
    shutil.copy(HERE / "conf.py", src / "conf.py")
    static = src / "_static"
    static.mkdir()
    for name in ("course.css", "favicon.svg"):
        shutil.copy(HERE / name, static / name)
    mathjax = NODE_MODULES / "mathjax" / "es5"
    if not (mathjax / "tex-svg.js").exists():
        fail(WHAT, [f"{mathjax / 'tex-svg.js'} is missing: run make book, which installs tools/site/package.json with npm ci"])
    (static / "mathjax").mkdir()
    shutil.copy(mathjax / "tex-svg.js", static / "mathjax" / "tex-svg.js")
    shutil.copytree(mathjax / "input" / "tex" / "extensions", static / "mathjax" / "input" / "tex" / "extensions")
    return series


def scan(out: Path) -> list[str]:
    found = []
    for page in sorted(out.rglob("*")):
        if page.suffix == ".html":
            found += [f"{page.relative_to(out)}: {a}" for a in notebook_rules.remote_assets(page.read_text(encoding="utf-8"))]
        elif page.suffix == ".css":
            found += [f"{page.relative_to(out)}: {u}" for u in notebook_rules.css_remote_urls(page.read_text(encoding="utf-8"))]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "book-work",
                        help="staged source, doctrees and Sphinx's output before it replaces --out")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.work.exists():
        shutil.rmtree(args.work)
    series = stage(args.work / "src", args.notebooks)
    from sphinx.cmd.build import build_main

    html = args.work / "html"  # myst-nb also writes the figures to html/../jupyter_execute
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-E", "-j", "1",
                         "-d", str(args.work / "doctrees"), str(args.work / "src"), str(html)])
    if status:
        fail(WHAT, [f"sphinx-build exited with {status} (its warnings are above)"])
    remote = scan(html)
    if remote:
        fail(WHAT, [f"build/book/{r} loads from another host" for r in remote])
    if args.out.exists():  # only a build that passed replaces the last one
        shutil.rmtree(args.out)
    shutil.move(html, args.out)
    where = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"make book: {len(series)} notebooks and index.html in {where}/ "
          f"in {time.perf_counter() - started:.1f} s; open {where}/index.html, or serve it: "
          f"python -m http.server -d {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
