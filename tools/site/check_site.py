"""make check-site: every page of build/book/ and every deck of build/slides/ in headless Chromium.

    build/site-venv/bin/python tools/site/check_site.py [--screenshots build/site-screenshots]

Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) is driven by playwright (pinned in
tools/site/requirements.txt); no browser is downloaded. The two folders are served by a local
http.server on 127.0.0.1, and Chromium runs with its background networking off. For each page:

* no console error and no uncaught exception; no request that failed or answered 4xx/5xx;
* every image loaded (complete, with a natural width);
* every internal link resolves: its file exists and its #anchor is an id on the target page;
* no request to another host (the request log holds only 127.0.0.1 and data:/blob: URLs);
* no horizontal scroll at 1366 x 768 (wide tables and code scroll in their own box);
* no solution visible on first load: every ``<details>`` is closed and no line of a solution's code
  is in the page's rendered text;
* the maths is typeset (MathJax's SVG output) where a page has maths.

The search box: typing "MaxSim" into it on the home page must list notebook 02 (served over HTTP;
from file:// the search lists its results without excerpts, which is reported, not checked). Each deck: reveal.js
starts, and every slide is visited: none is taller or wider than 1366 x 768 (a slide that the deck
had to give its own scroll box is counted and listed), none holds more than one figure. Then
file://: the home page and one notebook page open from disk with their images, maths and links.
``--screenshots`` saves PNGs of three pages and one deck's first slides.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import notebook_rules  # noqa: E402

BUILD = ROOT / "build"
WIDTH, HEIGHT = 1366, 768
CHROMIUM_ARGS = [
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def parsed(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_links(page: Path, root: Path) -> list[str]:
    """Internal links of ``page`` whose file or anchor does not exist under ``root``."""
    broken = []
    for href in parsed(page).links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE) or href.startswith("//"):
            continue  # another site (plain hyperlinks are fine), mailto:, javascript:
        target, _, fragment = href.partition("#")
        file = page if not target else (page.parent / unquote(target.split("?")[0])).resolve()
        if file.is_dir():
            file = file / "index.html"
        if not file.is_file() or root.resolve() not in file.parents:
            broken.append(f"{href} (no file {file})")
        elif fragment and file.suffix == ".html" and not fragment.startswith("/") and not {fragment, unquote(fragment)} & parsed(file).ids:
            broken.append(f"{href} (no id {fragment!r} in {file.name})")
    return broken


def solution_lines() -> dict[str, list[str]]:
    """Per notebook page, the code lines of its solutions that occur nowhere else in the notebook."""
    found = {}
    for path in notebook_rules.notebooks(ROOT / "notebooks"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        solutions = [c for c in notebook["cells"] if c.get("metadata", {}).get("exercise", {}).get("role") == "solution"]
        elsewhere = "\n".join(notebook_rules.source(c) for c in notebook["cells"] if c not in solutions)
        lines = []
        for cell in solutions:
            for block in re.findall(r"```python\n(.*?)\n```", notebook_rules.source(cell), re.DOTALL):
                lines += [line.strip() for line in block.split("\n") if len(line.strip()) > 20 and line.strip() not in elsewhere]
        found[path.stem] = lines
    return found


class Browser:
    def __init__(self, playwright, executable: str):
        args = CHROMIUM_ARGS + (["--no-sandbox"] if os.geteuid() == 0 else [])
        self.browser = playwright.chromium.launch(executable_path=executable, args=args)
        self.context = self.browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        self.requests: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))

    def open(self, url: str, problems: list[str], wait: str | None = None):
        page = self.context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(url, wait_until="load")
        if wait:
            page.wait_for_selector(wait, state="attached", timeout=15000)
        page.wait_for_load_state("networkidle")
        return page


PAGE_STATE = """() => {
  const images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
  const openDetails = [...document.querySelectorAll('details')].filter(d => d.open).length;
  const math = document.querySelectorAll('.math').length;
  const typeset = document.querySelectorAll('mjx-container svg').length;
  return {images, openDetails, details: document.querySelectorAll('details').length,
          scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
          text: document.body.innerText, math, typeset};
}"""

SLIDE_STATE = """() => {
  const s = Reveal.getCurrentSlide(), c = Reveal.getConfig(), k = Reveal.getScale(), top = s.getBoundingClientRect().top;
  const bottom = Math.max(top, ...[...s.children].map(e => e.getBoundingClientRect().bottom));
  const height = s.classList.contains('course-scroll') ? s.scrollHeight : (bottom - top) / k;
  return {indices: Reveal.getIndices(), height, width: s.scrollWidth * (parseFloat(s.style.zoom) || 1), configHeight: c.height, zoom: s.style.zoom,
          configWidth: c.width, scrolls: s.classList.contains('course-scroll'),
          figures: s.querySelectorAll('.jp-RenderedImage img, .jp-RenderedSVG svg').length,
          openDetails: s.querySelectorAll('details[open]').length, text: s.innerText,
          images: [...s.querySelectorAll('img')].filter(i => !(i.complete && i.naturalWidth > 0)).length,
          pageScroll: document.documentElement.scrollWidth > document.documentElement.clientWidth};
}"""


def check_page(browser, url: str, path: Path, root: Path, solutions: list[str], problems: list[str]) -> dict:
    page = browser.open(url, problems)
    state = page.evaluate(PAGE_STATE)
    if state["images"]:
        problems.append(f"images not loaded: {state['images']}")
    if state["scrollWidth"] > state["clientWidth"]:
        problems.append(f"scrolls sideways at {WIDTH} px: {state['scrollWidth']} px wide")
    if state["openDetails"]:
        problems.append(f"{state['openDetails']} <details> open on first load")
    visible = [line for line in solutions if line in state["text"]]
    if visible:
        problems.append(f"solution text visible on first load: {visible[:2]}")
    if state["math"] and state["typeset"] < state["math"]:
        page.wait_for_timeout(1500)
        state = page.evaluate(PAGE_STATE)
        if state["typeset"] < state["math"]:
            problems.append(f"maths not typeset: {state['math']} formulas, {state['typeset']} rendered")
    problems += [f"broken link {link}" for link in broken_links(path, root)]
    page.close()
    return state


def check_search(browser, base: str, problems: list[str]) -> list[str]:
    page = browser.open(base + "index.html", problems)
    field = page.locator(".bd-sidebar-primary input[name=q], .bd-sidebar-primary .search-button-field").first
    field.click()
    box = page.locator("input[name=q]:visible").first
    box.fill("MaxSim")
    box.press("Enter")
    page.wait_for_url(re.compile(r"search\.html"), timeout=10000)
    page.wait_for_selector("#search-results ul.search li", timeout=15000)
    page.wait_for_load_state("networkidle")
    hits = page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.getAttribute('href'))")
    page.close()
    if not any("02-maxsim-distance" in h for h in hits):
        problems.append(f"searching MaxSim does not list notebook 02: {hits[:5]}")
    return hits


def check_deck(browser, url: str, path: Path, problems: list[str], shots: Path | None, name: str,
               solutions: list[str]) -> dict:
    problems += [f"broken link {link}" for link in broken_links(path, path.parent)]
    page = browser.open(url, problems, wait="body[data-course-ready]")
    total = page.evaluate("Reveal.getTotalSlides()")
    scrolled, shrunk, tall, shot = [], [], [], 0
    page.evaluate("Reveal.slide(0, 0)")
    for number in range(total):
        page.wait_for_timeout(30)
        state = page.evaluate(SLIDE_STATE)
        where = f"slide {state['indices']['h']}.{state['indices']['v']}"
        if state["figures"] > 1:
            problems.append(f"{where}: {state['figures']} figures")
        visible = [line for line in solutions if line in state["text"]]
        if state["openDetails"] or visible:
            problems.append(f"{where}: solution visible: {visible[:1] or 'an open <details>'}")
        if state["images"]:
            problems.append(f"{where}: {state['images']} images not loaded")
        if state["width"] > state["configWidth"] + 1 or state["pageScroll"]:
            problems.append(f"{where}: {state['width']} px wide, wider than {state['configWidth']}")
        if state["zoom"]:
            shrunk.append(f"{where} ({float(state['zoom']):.0%})")
        if state["scrolls"]:
            scrolled.append(where)
        elif state["height"] > state["configHeight"] + 1:
            tall.append(f"{where}: {state['height']} px")
        if shots and shot < 4:
            page.screenshot(path=str(shots / f"{name}-{number:02d}.png"))
            shot += 1
        if number < total - 1:
            page.evaluate("Reveal.next()")
    page.close()
    problems += [f"taller than {HEIGHT} px: {t}" for t in tall]
    return {"slides": total, "scrolled": scrolled, "shrunk": shrunk}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=BUILD / "book")
    parser.add_argument("--slides", type=Path, default=BUILD / "slides")
    parser.add_argument("--screenshots", type=Path, default=None, help="save PNGs of three pages and one deck here")
    args = parser.parse_args(argv)
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    missing = [f"{p} (run make book / make slides)" for p in (args.book / "index.html", args.slides / "index.html") if not p.exists()]
    if not Path(chromium).exists():
        missing.append(f"{chromium} (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chromium)")
    if missing:
        print("make check-site: missing " + "; ".join(missing), file=sys.stderr)
        return 1
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    started = time.perf_counter()
    report: dict[str, list[str]] = {}
    solutions = solution_lines()
    book_server, book = serve(args.book)
    slides_server, slides = serve(args.slides)
    pages = sorted(p for p in args.book.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)
    decks = sorted(args.slides.glob("*.slides.html"))
    with sync_playwright() as playwright:
        browser = Browser(playwright, chromium)
        for path in pages:
            relative = path.relative_to(args.book).as_posix()
            problems = report.setdefault(f"book/{relative}", [])
            check_page(browser, book + relative, path, args.book, solutions.get(path.stem, []), problems)
            if args.screenshots and relative in ("index.html", "notebooks/02-maxsim-distance.html",
                                                 "notebooks/06-evaluating-retrieval.html"):
                page = browser.open(book + relative, [])
                page.screenshot(path=str(args.screenshots / f"book-{path.stem}.png"))
                page.screenshot(path=str(args.screenshots / f"book-{path.stem}-full.png"), full_page=True)
                page.close()
        hits = check_search(browser, book, report.setdefault("book search 'MaxSim'", []))
        check_page(browser, slides + "index.html", args.slides / "index.html", args.slides, [],
                   report.setdefault("slides/index.html", []))
        scrolled_total, shrunk_total, slide_total = [], [], 0
        for deck in decks:
            result = check_deck(browser, slides + deck.name, deck, report.setdefault(f"slides/{deck.name}", []),
                                args.screenshots if deck.name.startswith("02-") else None, deck.stem,
                                solutions.get(deck.name.removesuffix(".slides.html"), []))
            slide_total += result["slides"]
            scrolled_total += [f"{deck.name} {s}" for s in result["scrolled"]]
            shrunk_total += [f"{deck.name} {s}" for s in result["shrunk"]]
        requests = list(browser.requests)
        # file://: pages, images, maths and links from disk (search is not part of this check)
        for relative in ("index.html", "notebooks/02-maxsim-distance.html"):
            problems = report.setdefault(f"file:// book/{relative}", [])
            path = args.book / relative
            check_page(browser, path.resolve().as_uri(), path, args.book, solutions.get(path.stem, []), problems)
        page = browser.open((args.book / "search.html").resolve().as_uri() + "?q=MaxSim", [])
        page.wait_for_timeout(2000)  # titles only: the excerpts' fetch() is refused on file://
        file_hits = page.eval_on_selector_all("#search-results ul.search li a", "as => as.length")
        page.close()
        deck = decks[0]
        problems = report.setdefault(f"file:// slides/{deck.name}", [])
        browser.open(deck.resolve().as_uri(), problems, wait="body[data-course-ready]").close()
        requests += browser.requests[len(requests):]
        browser.browser.close()
    book_server.shutdown()
    slides_server.shutdown()
    foreign = sorted({u for u in requests if not re.match(r"^(http://127\.0\.0\.1:\d+/|file://|data:|blob:|about:)", u)})
    report["request log"] = [f"request to another host: {u}" for u in foreign]
    failed = {name: problems for name, problems in report.items() if problems}
    for name, problems in failed.items():
        print(f"{name}:")
        for problem in dict.fromkeys(problems):
            print(f"  {problem}")
    print(f"make check-site: {len(pages)} pages, {len(decks)} decks ({slide_total} slides), "
          f"{len(requests)} requests, none to another host" if not foreign else f"{len(foreign)} to another host")
    print(f"  search 'MaxSim': {len(hits)} results, first {hits[0] if hits else None}")
    print(f"  search from file://: {file_hits} results, titles only (Chromium refuses the excerpts' fetch "
          "on file:// and logs it as console errors, which this check does not count)")
    print(f"  slides whose text was shrunk to fit (one cell taller than the screen): {len(shrunk_total)}"
          + "".join(f"\n    {s}" for s in shrunk_total))
    print(f"  slides that scroll in their own box (one cell taller than the screen): {len(scrolled_total)}"
          + "".join(f"\n    {s}" for s in scrolled_total))
    print(f"  {sum(len(p) for p in failed.values())} problems on {len(failed)} pages or decks "
          f"in {time.perf_counter() - started:.0f} s" + ("" if failed else ": all clear"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
