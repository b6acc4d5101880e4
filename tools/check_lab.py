"""Does notebook 11's search box work in JupyterLab?  (`make check-lab`; not part of `make test`)

    make check-lab
    build/browser-venv/bin/python tools/check_lab.py [--keep-index]

One run, as a learner would do it, in Debian's Chromium (headless) driven by Playwright:

1. start the course's JupyterLab (.venv) on a free port with a random token, the offline profile,
   no progress bars, COURSE_DOCS unset (the frozen sample) and COURSE_DOCS_INDEX in a fresh
   temporary folder, so the learner's .cache/docs-index/ is not touched; JupyterLab's user
   settings, workspaces and runtime files in temporary folders too (autosave off there);
2. open notebooks/11-your-own-documents.ipynb, clear its outputs and run all cells from the Run menu;
3. wait for the search box, type a new query, press Enter, wait until the status line names that
   query and the three result columns are shown;
4. click grade "2" on the first result of the "hybrid > ColBERT" column, and check on disk that
   judgements.jsonl in the fresh index folder got exactly one new line: that query, that passage,
   grade 2;
5. take a screenshot (build/check-lab/lab.png); then, in the list under the compression table
   (results of the smaller forms nobody graded), click grade "1" on the first result, check that its
   line says so and that judgements.jsonl got one line for that query and passage, and take a second
   screenshot (build/check-lab/lab-grade-list.png);
6. stop the server without saving the notebook
   (autosave is off in the check's settings), and check that the notebook file is byte for byte
   what it was and that git shows it unchanged.

Every request the browser makes is recorded (build/check-lab/requests.txt); a request to any
host but this machine's loopback is blocked and fails the check (JupyterLab and the widgets must
not load anything from a CDN). The server is stopped whatever happens. Exit status 0 when every
step passed, 1 when one failed (the message names the step), 2 when something this check needs is
missing (Chromium, the course's .venv, Playwright).

Playwright (the Python package, pinned in the Makefile) lives in a throwaway venv,
build/browser-venv, apart from the course's requirements; it drives /usr/bin/chromium (Debian's
package `chromium`) and never downloads a browser of its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "notebooks/11-your-own-documents.ipynb"
OUT = ROOT / "build" / "check-lab"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
JUPYTER = ROOT / ".venv" / "bin" / "jupyter"
#: A query that the sample's shipped judgements do not hold, so its grade is a new line.
QUERY = "where are my grades written when I click a button"
PIPELINE = "hybrid > ColBERT"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

# seconds
SERVER_START = 90
PAGE_LOAD = 120
KERNEL_READY = 120
RUN_ALL = 600  # a first run embeds the sample's ~350 passages: about 3 minutes cold
SEARCH = 120
GRADE = 60
STOP = 30


class StepFailed(Exception):
    pass


class Missing(Exception):
    pass


def say(message: str, start: list[float] = [time.monotonic()]) -> None:
    print(f"check-lab [{time.monotonic() - start[0]:6.1f} s] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_for(what: str, condition, timeout: float, interval: float = 0.5, alive=None):
    """Call ``condition`` until it returns something true; StepFailed naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise StepFailed(f"{what}: not done within {timeout:.0f} s")
        time.sleep(interval)


class Server:
    """The course's JupyterLab in a process of its own, in its own session (so it can be stopped)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.index_root = tmp / "docs-index"
        self.index_root.mkdir()
        self.runtime = tmp / "runtime"
        settings = tmp / "user-settings"
        # the learner's own JupyterLab settings and workspaces are not read, nor written; autosave off,
        # so the run-all cannot write the notebook while it runs; and
        # every cell in the page (JupyterLab 4 attaches only the cells in view by default)
        for plugin, values in {"docmanager-extension/plugin": {"autosave": False},
                               "notebook-extension/tracker": {"windowingMode": "none"}}.items():
            path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        for name in ("COURSE_WIDGETS", "COURSE_DOCS", "JUPYTER_TOKEN", "JUPYTER_CONFIG_PATH"):
            env.pop(name, None)
        env.update(COURSE_MODELS="offline", COURSE_PROGRESS="off", COURSE_DOCS_INDEX=str(self.index_root),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTER_CONFIG_DIR=str(tmp / "config"),
                   JUPYTER_DATA_DIR=str(tmp / "data"))
        command = [str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--port-retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={ROOT}", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--LabApp.extension_manager=readonly"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log_path = OUT / "jupyterlab.log"
        self.log = open(self.log_path, "wb")
        say(f"starting JupyterLab on 127.0.0.1:{self.port} (log: {self.log_path.relative_to(ROOT)})")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
            raise StepFailed("JupyterLab exited (code %s); the end of its log:\n    %s"
                             % (self.process.returncode, "\n    ".join(tail)))

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_ready(self) -> None:
        def answers():
            try:
                return self.api("/api/status") is not None
            except (OSError, urllib.error.URLError, ValueError):
                return False
        wait_for("JupyterLab answering on its port", answers, SERVER_START, alive=self.alive)

    def kernel_state(self, notebook: str) -> str | None:
        """The execution state of the kernel of ``notebook``'s session, None while it has none."""
        try:
            sessions = self.api("/api/sessions")
        except (OSError, urllib.error.URLError, ValueError):
            return None
        for session in sessions or []:
            if session.get("path") == notebook and session.get("kernel"):
                return session["kernel"].get("execution_state")
        return None

    def kernel_processes(self) -> list[int]:
        """Processes whose command line names this server's runtime folder (its kernels)."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if str(self.runtime).encode() in cmdline and int(proc.name) != self.process.pid:
                found.append(int(proc.name))
        return found

    def stop(self) -> None:
        """Shut the server down through its API (it stops its kernels), then make sure: SIGTERM, SIGKILL."""
        if self.process.poll() is None:
            try:
                self.api("/api/shutdown", method="POST")
            except (OSError, urllib.error.URLError, ValueError):
                pass
            try:
                self.process.wait(STOP)
            except subprocess.TimeoutExpired:
                say("JupyterLab did not stop within %d s of /api/shutdown: SIGTERM" % STOP)
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(10)
        for pid in self.kernel_processes():  # a kernel left behind: ours by its connection file's folder
            say(f"stopping kernel process {pid}, left behind by the server")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        say(f"JupyterLab stopped (exit code {self.process.returncode})")


class Network:
    """Every request the browser makes; any to a host other than loopback is blocked and kept."""

    def __init__(self):
        self.seen: list[str] = []
        self.foreign: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
            self.foreign.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def request(self, request) -> None:
        self.seen.append(f"{request.method} {request.url}")
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https", "ws", "wss", "data", "blob") or (
                parts.scheme not in ("data", "blob") and parts.hostname not in LOOPBACK):
            if request.url not in self.foreign:
                self.foreign.append(request.url)

    def websocket(self, ws) -> None:
        self.seen.append(f"WEBSOCKET {ws.url}")
        if urlsplit(ws.url).hostname not in LOOPBACK:
            self.foreign.append(ws.url)


# -------------------------------------------------------------------------------- the browser part

def cell_prompts(page) -> list[str]:
    """The input prompt of every code cell in the open notebook, e.g. ['[1]:', '[*]:', '[ ]:']."""
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt",
        "nodes => nodes.map(n => n.textContent.trim())")


def kernel_status(page) -> str:
    return page.eval_on_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator",
        "n => n.getAttribute('data-status') || ''") if page.query_selector(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator") else ""


def first_error(page) -> str:
    """The text of the first error output in the notebook, if any."""
    text = page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        "nodes => nodes.map(n => n.innerText).filter(t => /Error|Traceback/.test(t))")
    return text[0] if text else ""


def column_texts(page) -> list[str]:
    """The text of every result shown in the search box's columns (the HTML of each result row)."""
    return page.eval_on_selector_all(".widget-vbox > .widget-vbox > .widget-html code",
                                     "nodes => nodes.map(n => n.parentElement.innerText)")


def click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{re.escape(menu)}$")).first.click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                 has_text=re.compile(rf"^{re.escape(item)}$")).first.click()


def run_browser(server: Server, network: Network, judgements: dict) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    step = "starting Chromium"
    with sync_playwright() as playwright:
        args = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-domain-reliability", "--disable-breakpad",
                "--no-first-run", "--no-default-browser-check", "--disable-quic", "--disable-gpu",
                "--metrics-recording-only", "--dns-prefetch-disable"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args,
                                             chromium_sandbox=False, timeout=60_000)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1000}, service_workers="block")
            context.route("**/*", network.route)
            context.on("request", network.request)
            page = context.new_page()
            page.on("websocket", network.websocket)
            console = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            try:
                step = "opening the notebook in JupyterLab"
                say(step)
                page.goto(f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}", timeout=PAGE_LOAD * 1000)
                page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=PAGE_LOAD * 1000)
                step = "the settings JupyterLab uses: widget state not saved into notebooks"
                setting = page.evaluate(
                    """async () => {
                        const r = await fetch('/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin',
                                              {headers: {'Authorization': 'token ' + %s}});
                        const body = await r.json();
                        const user = (body.settings || {}).saveState;
                        return user === undefined ? body.schema.properties.saveState.default : user;
                    }""" % json.dumps(server.token))
                if setting is not False:  # the schema's default as overrides.json sets it, unless a user setting
                    raise StepFailed(f"{step}: @jupyter-widgets/jupyterlab-manager:plugin saveState is "
                                     f"{setting!r}, not false (jupyterlab-overrides.json)")
                step = "starting the kernel (Select in JupyterLab's Select Kernel dialog, if it asks)"
                say(step)

                def kernel_idle():
                    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
                    if dialog.count() and dialog.first.is_visible():
                        say("JupyterLab asked for a kernel (its Select Kernel dialog): Select")
                        dialog.first.get_by_role("button", name="Select Kernel").click()
                    return server.kernel_state(NOTEBOOK) == "idle" and kernel_status(page) == "idle"

                wait_for(step, kernel_idle, KERNEL_READY, alive=server.alive)

                step = "Edit > Clear Outputs of All Cells, then Run > Run All Cells"
                say(step)
                click_menu(page, "Edit", "Clear Outputs of All Cells")
                wait_for("outputs cleared", lambda: all(p == "[ ]:" for p in cell_prompts(page)), 30)
                click_menu(page, "Run", "Run All Cells")
                step = "running all cells"
                started = time.monotonic()
                idle_since = [None]

                def finished():
                    prompts = cell_prompts(page)
                    if prompts and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts):
                        return "ok"
                    status = kernel_status(page)
                    if "[*]:" in prompts or status != "idle":
                        idle_since[0] = None
                        return None
                    idle_since[0] = idle_since[0] or time.monotonic()
                    if time.monotonic() - idle_since[0] > 5:  # idle, nothing queued, cells left: stopped
                        return "stopped"
                    return None

                last_report = [0.0]

                def report_progress():
                    server.alive()
                    if time.monotonic() - last_report[0] > 30:
                        prompts = cell_prompts(page)
                        done = sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in prompts)
                        say(f"  ... {done} of {len(prompts)} code cells run")
                        last_report[0] = time.monotonic()

                outcome = wait_for(step, finished, RUN_ALL, interval=1, alive=report_progress)
                if outcome != "ok":
                    prompts = cell_prompts(page)
                    stopped = next(i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p))
                    raise StepFailed(f"{step}: the run stopped before code cell {stopped + 1} of {len(prompts)}; "
                                     f"the first error shown:\n{first_error(page)[-2000:]}")
                say(f"all cells ran in {time.monotonic() - started:.0f} s")

                step = "the search box shown by the search cell"
                box = page.get_by_placeholder("ask your documents something")
                box.wait_for(state="visible", timeout=SEARCH * 1000)
                status = page.locator(".widget-html", has_text="Top 10 for").first
                status.wait_for(timeout=SEARCH * 1000)

                example = column_texts(page)
                step = f"typing the query {QUERY!r} and pressing Enter"
                say(step)
                box.scroll_into_view_if_needed()
                box.fill(QUERY)
                box.press("Enter")
                step = "the three columns showing the query's results"
                page.locator(".widget-html", has_text=f"Top 10 for {QUERY}").first.wait_for(timeout=SEARCH * 1000)
                columns = {}
                for name in ("dense", "hybrid > ColBERT", "dense 30 > cross-encoder"):
                    column = page.locator(".widget-vbox").filter(
                        has=page.locator(f"xpath=./div[1][contains(@class,'widget-html')]//b[normalize-space()={json.dumps(name)}]"))
                    if column.count() != 1:
                        raise StepFailed(f"{step}: {column.count()} columns headed {name!r}, not 1")
                    rows = column.locator("xpath=./div[contains(@class,'widget-vbox')]")
                    if rows.count() != 10:
                        raise StepFailed(f"{step}: the {name!r} column shows {rows.count()} results, not 10")
                    columns[name] = rows
                if column_texts(page) == example:
                    raise StepFailed(f"{step}: the columns show the same results as for the example query")
                say(f"three columns of 10 results for {QUERY!r}")

                step = f"clicking grade 2 on the first {PIPELINE!r} result"
                row = columns[PIPELINE].first
                shown = row.locator(".widget-html code").first.inner_text().strip()  # "path #position"
                before = judgements["count"]()
                say(f"{step} ({shown}); judgements.jsonl has {before} lines")
                row.get_by_role("button", name="2", exact=True).click()
                step = "the status line saying the grade was written"
                page.locator(".widget-html", has_text=f"Graded {shown} 2 for {QUERY}").first.wait_for(timeout=GRADE * 1000)
                step = "the new line in judgements.jsonl"
                wait_for(step, lambda: judgements["count"]() > before, GRADE)
                time.sleep(1)  # a second click's line would have arrived by now
                judgements["check"](before, shown)

                OUT.mkdir(parents=True, exist_ok=True)
                page.locator(".widget-html", has_text="Graded").first.scroll_into_view_if_needed()
                page.screenshot(path=str(OUT / "lab.png"))
                say(f"screenshot: {(OUT / 'lab.png').relative_to(ROOT)}")

                step = "clicking grade 1 on the first result of the list under the compression table"
                row = page.locator(".course-grade-list > .widget-vbox").first
                row.scroll_into_view_if_needed()
                query = row.locator(".widget-html b").first.inner_text().strip()
                shown = row.locator(".widget-html code").first.inner_text().strip()
                before = judgements["count"]()
                say(f"{step} ({query!r}: {shown})")
                row.get_by_role("button", name="1", exact=True).click()
                step = "the list's line saying the result is graded"
                row.locator(".widget-html", has_text="(graded 1)").wait_for(timeout=GRADE * 1000)
                wait_for("its line in judgements.jsonl", lambda: judgements["count"]() > before, GRADE)
                time.sleep(1)
                judgements["check"](before, shown, query, 1)
                page.screenshot(path=str(OUT / "lab-grade-list.png"))
                say(f"screenshot: {(OUT / 'lab-grade-list.png').relative_to(ROOT)}")

            except PlaywrightError as exc:
                try:
                    OUT.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(OUT / "failed.png"))
                    say(f"screenshot of the failure: {(OUT / 'failed.png').relative_to(ROOT)}")
                except PlaywrightError:
                    pass
                raise StepFailed(f"{step}: {str(exc).splitlines()[0]}") from None
            except StepFailed:
                try:
                    page.screenshot(path=str(OUT / "failed.png"))
                    say(f"screenshot of the failure: {(OUT / 'failed.png').relative_to(ROOT)}")
                except PlaywrightError:
                    pass
                raise
            finally:
                (OUT / "console.txt").write_text("\n".join(console) + "\n")
        finally:
            browser.close()


# -------------------------------------------------------------------------------- the whole check

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-index", action="store_true",
                        help="keep the temporary index folder (its path is printed) instead of deleting it")
    args = parser.parse_args()
    # make (or a person) stopping the check with SIGTERM still stops the server: SystemExit runs the finally
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.monotonic()
    try:
        if not CHROMIUM.exists():
            raise Missing(f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install chromium` "
                          "(as root), or set CHROMIUM=/path/to/chromium")
        if not JUPYTER.exists():
            raise Missing(f"{JUPYTER.relative_to(ROOT)} is missing: run `make` first (make check-lab does)")
        try:
            import playwright  # noqa: F401
        except ImportError:
            raise Missing("Playwright is not installed in this Python: run `make check-lab`, which installs "
                          "it into build/browser-venv") from None
    except Missing as exc:
        print(f"check-lab: {exc}", file=sys.stderr)
        return 2

    OUT.mkdir(parents=True, exist_ok=True)
    for old in ("lab.png", "lab-grade-list.png", "failed.png", "requests.txt", "console.txt", "judgements.jsonl"):
        (OUT / old).unlink(missing_ok=True)
    notebook = ROOT / NOTEBOOK
    notebook_before = sha256(notebook)
    checkpoints = ROOT / "notebooks" / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    tmp = Path(tempfile.mkdtemp(prefix="check-lab-"))
    network = Network()
    server = None
    failure = None

    def judgements_path() -> Path | None:
        found = sorted(server.index_root.glob("*/judgements.jsonl"))
        return found[0] if len(found) == 1 else None

    def count() -> int:
        path = judgements_path()
        return len(path.read_bytes().splitlines()) if path else 0

    def check(before: int, shown: str, query: str = QUERY, grade: int = 2) -> None:
        path = judgements_path()
        lines = path.read_text(encoding="utf-8").splitlines()
        new = lines[before:]
        if len(new) != 1:
            raise StepFailed(f"judgements.jsonl: {len(new)} new lines after one click, not 1: {new}")
        record = json.loads(new[0])
        if record.get("query") != query or record.get("grade") != grade:
            raise StepFailed(f"judgements.jsonl: the new line is {record}, not query {query!r} with grade {grade}")
        path_shown = shown.rsplit(" #", 1)[0]
        if not str(record.get("passage_id", "")).startswith(path_shown):
            raise StepFailed(f"judgements.jsonl: the new line's passage {record.get('passage_id')!r} is not "
                             f"from {path_shown!r}, the result clicked")
        shutil.copyfile(path, OUT / "judgements.jsonl")
        say(f"judgements.jsonl ({path.relative_to(tmp)}): one new line, {json.dumps(record)}")

    try:
        server = Server(tmp)
        server.wait_ready()
        say("JupyterLab is up")
        run_browser(server, network, {"count": count, "check": check})
    except StepFailed as exc:
        failure = str(exc)
    except Exception as exc:  # an unexpected error still stops the server and is reported as such
        failure = f"unexpected {type(exc).__name__}: {exc}"
    finally:
        if server is not None:
            server.stop()
        (OUT / "requests.txt").write_text("\n".join(network.seen) + "\n")
        # JupyterLab makes a checkpoint (a copy) when it opens a notebook: the check's own, removed here
        checkpoint = checkpoints / (notebook.stem + "-checkpoint.ipynb")
        checkpoint_saved = not had_checkpoints and checkpoint.exists() and sha256(checkpoint) != notebook_before
        if not had_checkpoints and checkpoints.exists():
            shutil.rmtree(checkpoints)
        if args.keep_index:
            say(f"the index folder is kept: {tmp / 'docs-index'}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    problems = [f"FAILED at {failure}"] if failure else []
    foreign = sorted(set(network.foreign))
    if foreign:
        problems.append(f"the browser asked for {len(foreign)} address(es) off this machine (blocked): "
                        + ", ".join(foreign[:10]))
    if sha256(notebook) != notebook_before:
        problems.append(f"{NOTEBOOK} changed on disk during the check (it must not be saved)")
    git = subprocess.run(["git", "status", "--porcelain", "--", NOTEBOOK], cwd=ROOT, capture_output=True, text=True)
    if git.returncode == 0 and git.stdout.strip():
        problems.append(f"git shows {NOTEBOOK} modified: {git.stdout.strip()}")
    if checkpoint_saved:
        problems.append("the checkpoint JupyterLab made differed from the notebook: something was saved")
    say(f"{len(network.seen)} requests, {len(foreign)} off this machine (list: "
        f"{(OUT / 'requests.txt').relative_to(ROOT)})")
    elapsed = time.monotonic() - began
    if problems:
        for problem in problems:
            print(f"check-lab: {problem}", file=sys.stderr)
        print(f"make check-lab: FAILED after {elapsed:.0f} s", file=sys.stderr)
        return 1
    print(f"make check-lab: passed in {elapsed:.0f} s: in JupyterLab, notebook 11's search box answered "
          f"{QUERY!r} in three columns and grade 2 wrote one judgement, the smaller forms' list graded one "
          f"result; no request left this machine; "
          f"the notebook is unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
