"""What `make book` and `make slides` refuse to publish, and the scan for remote assets.

Standard library only, so that tests/test_site.py can import it from the course's .venv.

**Missing outputs.** The site shows the committed outputs and executes nothing, so a code cell whose
outputs were cleared would silently show code without its result. A code cell other than an exercise
answer cell (``metadata.exercise.role == "answer"``, committed with a ``...`` placeholder and no
output) must have at least one committed output when

* it was never run (``execution_count`` is null: a new cell, or outputs cleared with
  ``jupyter nbconvert --clear-output``, which nulls every count); or
* a top-level statement calls ``print``, ``display``, ``plt.show``, ``helpers.check`` or a
  ``plot_*`` function (``ax = helpers.plot_similarity_matrix(...)`` draws a figure); or
* its last top-level statement is an expression whose value IPython shows: anything but a constant
  (``...``, a string) or a call, or a call to a function that returns a value to show
  (``helpers.table``, ``helpers.evaluate_run``, ``list``, ``len``, ``dict``, ``round`` ... see
  ``VALUE_CALLS``). A bare call to any other function may return ``None`` and show nothing
  (``helpers.recreate_collection(...)``), so it does not count.

Cells that end in an assignment, import, ``def`` or ``class`` and call none of the above display
nothing by design and may have no output. IPython magics (lines starting with ``%`` or ``!``) are
ignored when the cell is parsed; a cell that still does not parse must have outputs.

**Remote resources.** An output or markdown cell that would make the browser load something from
another host (``<script src>``, ``<img src>``, ``<iframe>``, ``<link href>``, CSS ``url()`` or
``@import``, a markdown image ``![](https://...)``) is refused. Plain hyperlinks (``<a href>``,
``[text](https://...)``) are fine: they load nothing until clicked.

**Links between notebooks.** A relative markdown link, in a markdown cell or in a ``text/markdown``
output (``helpers.table``), must point to another notebook of the series (``NN-name.ipynb``,
optionally ``#anchor``), which becomes a link to its page; a relative link to any other file, or to
``notebooks/NN-name.ipynb`` (the README's form, which breaks inside notebooks/ in JupyterLab too),
would be a broken link on the site, so it is refused too.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

#: Calls that display something wherever they stand at the top level of a cell.
DISPLAYING_CALLS = re.compile(r"^(print|display|plt\.show|helpers\.check|(\w+\.)*plot_\w+)$")
#: Calls whose value IPython shows when the call is the cell's last expression.
VALUE_CALLS = re.compile(r"^(helpers\.(table|evaluate_run|explain_maxsim|maxsim|label)|list|len|dict|tuple|set|sorted|"
                         r"round|sum|min|max|all|any|str|repr|int|float|type|Counter|np\.\w+)$")
NOTEBOOK_NAME = re.compile(r"^\d\d-[\w.-]+\.ipynb$")
#: Widget outputs need a widget manager from a CDN: the site keeps their static representations.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _call_name(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""


def should_have_output(code: str) -> bool:
    """Whether IPython would display something for ``code`` (see the module's rule)."""
    lines = [line for line in code.split("\n") if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return True
    if not tree.body:
        return False
    last = tree.body[-1]
    if isinstance(last, ast.Expr):
        if isinstance(last.value, ast.Call):
            if VALUE_CALLS.match(_call_name(last.value.func)):
                return True
        elif not isinstance(last.value, ast.Constant):
            return True
    for statement in tree.body:
        value = getattr(statement, "value", None)
        if isinstance(value, ast.Call) and DISPLAYING_CALLS.match(_call_name(value.func)):
            return True
    return False


class _AssetFinder(HTMLParser):
    """Collects URLs that a browser would load (not plain links) from an HTML fragment."""

    ATTRIBUTES = {"src", "srcset", "data", "poster", "background"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value is None:
                continue
            if name in self.ATTRIBUTES or (tag in ("image", "use", "feimage") and name in ("href", "xlink:href")):
                for url in value.split(","):
                    url = url.strip().split(" ")[0]
                    if is_remote(url):
                        self.found.append(f"<{tag} {name}={url}>")
            if name == "style":
                self.found += [f"style: {u}" for u in css_remote_urls(value)]
        if tag == "link" and is_remote(attrs.get("href") or "") and (attrs.get("rel") or "") not in ("canonical", "alternate"):
            self.found.append(f"<link href={attrs['href']}>")
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.found.append("<meta http-equiv=refresh>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.found += [f"<style>: {u}" for u in css_remote_urls(data)]


def is_remote(url: str) -> bool:
    url = url.strip().strip("'\"")
    return bool(re.match(r"^(https?:)?//", url, re.IGNORECASE))


def css_remote_urls(css: str) -> list[str]:
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css) + re.findall(r"@import\s+['\"]([^'\"]+)", css)
    return [u for u in urls if is_remote(u)]


def remote_assets(html: str) -> list[str]:
    """What in an HTML page or fragment would be fetched from another host when it is shown."""
    finder = _AssetFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def markdown_remote_assets(text: str) -> list[str]:
    found = [f"image {url}" for url in re.findall(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", text) if is_remote(url)]
    return found + remote_assets(text)


def relative_links(text: str) -> list[str]:
    """Targets of markdown links that are neither absolute URLs nor anchors nor mailto."""
    targets = re.findall(r"(?<![!\\])\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)", text)  # not \[escaped\]
    return [t for t in targets if not re.match(r"^([a-z][a-z0-9+.-]*:|#|//)", t, re.IGNORECASE)]


def bad_links(text: str) -> list[str]:
    """Relative links in markdown ``text`` that lead nowhere on the site: all but ``NN-name.ipynb``."""
    found = []
    for target in relative_links(text):
        path = target.split("#")[0]
        if not (NOTEBOOK_NAME.match(path.split("/")[-1]) and "/" not in path):
            found.append(f"links to {target!r}, which is not a notebook of the series "
                         "(only 'NN-name.ipynb' links become links between pages)")
    return found


def problems(notebook: dict, name: str) -> list[str]:
    """Every reason not to publish ``notebook`` (named ``name`` in the messages), cell by cell."""
    found = []
    cells = notebook.get("cells", [])
    for index, cell in enumerate(cells):
        where = f"{name}, cell {index + 1} of {len(cells)} (id {cell.get('id', '?')}, {cell['cell_type']})"
        text = source(cell)
        if cell["cell_type"] == "markdown":
            found += [f"{where}: would load {asset} from another host" for asset in markdown_remote_assets(text)]
            found += [f"{where}: {problem}" for problem in bad_links(text)]
            continue
        if cell["cell_type"] != "code":
            continue
        role = cell.get("metadata", {}).get("exercise", {}).get("role")
        outputs = cell.get("outputs", [])
        if not outputs and role != "answer":
            if cell.get("execution_count") is None:
                found.append(f"{where}: was never run and has no committed output "
                             "(run the notebook and commit it with its outputs: make outputs)")
            elif should_have_output(text):
                found.append(f"{where}: has no committed output, but its code displays something "
                             "(run the notebook and commit it with its outputs: make outputs)")
        for output in outputs:
            data = output.get("data", {})
            for mime in ("text/html", "image/svg+xml"):
                if mime in data:
                    found += [f"{where}: its {mime} output would load {asset} from another host"
                              for asset in remote_assets(source({"source": data[mime]}))]
            if "text/markdown" in data:
                markdown = source({"source": data["text/markdown"]})
                found += [f"{where}: its text/markdown output would load {asset} from another host"
                          for asset in markdown_remote_assets(markdown)]
                found += [f"{where}: its text/markdown output {problem} (text shown in a table "
                          "needs its [ and ] escaped to stay text)" for problem in bad_links(markdown)]
            if "application/javascript" in data:
                found.append(f"{where}: has a JavaScript output, which the site does not run")
    return found


def publishable(notebook: dict) -> dict:
    """A copy of ``notebook`` without what needs a live kernel or a CDN: widget views and widget state.

    A widget output keeps its other representations (the static table or text the notebook
    displays with it); one with none left says to run the notebook.
    """
    import copy

    result = copy.deepcopy(notebook)
    result.get("metadata", {}).pop("widgets", None)
    for cell in result["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and WIDGET_MIME in data:
                del data[WIDGET_MIME]
                if not data:
                    data["text/plain"] = "(an interactive widget: open the notebook in JupyterLab to use it)"
    return result


def notebooks(folder: Path) -> list[Path]:
    """The series: every ``NN-*.ipynb`` in ``folder``, in order."""
    return sorted(p for p in folder.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))
