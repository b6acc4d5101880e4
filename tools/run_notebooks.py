"""Execute every notebook headless and report each one's time and its kernel's peak memory.

    python tools/run_notebooks.py                 # execute into build/executed/ (instructors)
    python tools/run_notebooks.py --in-place      # rewrite notebooks/ with fresh outputs (maintainers)

The model profile comes from COURSE_MODELS as usual (default auto). Committed outputs must come
from the offline profile: `make outputs` sets COURSE_MODELS=offline.

"peak" is the kernel's peak resident memory (Linux: the kernel process's own high-water mark,
VmHWM, plus the largest resident size seen for its child processes; elsewhere: the largest
resident size seen by polling the kernel and its children every 50 ms).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

ROOT = Path(__file__).resolve().parent.parent


def _high_water_mark(pid: int) -> int | None:
    """Linux: the process's peak resident set size in bytes (VmHWM), exact, not sampled."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PeakMemory:
    """Follows one process and its children in a thread; ``peak`` is the largest total seen, in bytes."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kernel-memory", daemon=True)
        self._thread.start()

    def sample(self) -> None:
        try:
            own = _high_water_mark(self.process.pid) or self.process.memory_info().rss
            children = 0
            for child in self.process.children(recursive=True):
                try:
                    children += child.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:  # the kernel has exited
            return
        self.peak = max(self.peak, own + children)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


class EncryptedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel encrypts its local ZeroMQ traffic (CurveZMQ) when it can.

    Without keys, ipykernel >= 7 logs "Kernel is running over TCP without encryption" once per
    kernel, into this script's output. The python3 kernelspec declares Curve support and pyzmq is
    normally built with it; where it is not, the kernel runs unencrypted as before (and says so).
    """

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        import zmq

        return "auto" if zmq.has("curve") else "disabled"


def run_one(path: Path, timeout: int) -> tuple[nbformat.NotebookNode, float, int, str]:
    """Execute one notebook; returns it with its outputs, seconds, peak kernel bytes and a status."""
    nb = nbformat.read(path, as_version=4)
    watch: list[PeakMemory] = []

    def on_start(**_):
        pid = getattr(client.km.provisioner, "pid", None)
        if pid is not None:
            watch.append(PeakMemory(pid))

    def on_cell(**_):  # the kernel is alive here; after the last cell it is shut down
        for w in watch:
            w.sample()

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            kernel_manager_class=EncryptedKernelManager,
                            resources={"metadata": {"path": str(path.parent)}},
                            on_notebook_start=on_start, on_cell_executed=on_cell,
                            store_widget_state=False)  # saved widget state makes pages load scripts from a CDN
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except CellExecutionError as exc:
        status = "FAILED: " + str(exc).strip().splitlines()[-1][:200]
    seconds = time.perf_counter() - start
    peak = max((w.stop() for w in watch), default=0)
    nb.metadata.pop("widgets", None)  # never saved: widget state makes pages load scripts from a CDN
    for cell in nb.cells:  # execution timestamps would make every re-run a diff
        cell.metadata.pop("execution", None)
    return nb, seconds, peak, status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--in-place", action="store_true", help="write outputs back into the notebooks")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = parser.parse_args()
    # saved outputs must not hold progress bars (the kernels inherit this; helpers/progress.py)
    os.environ["COURSE_PROGRESS"] = "off"
    # no widget frontend here: notebook 11 shows its static table (helpers/project.py)
    os.environ["COURSE_WIDGETS"] = "off"
    if args.in_place:  # committed outputs: notebook 11 on its frozen sample, indexed afresh
        os.environ.pop("COURSE_DOCS", None)
        os.environ["COURSE_DOCS_INDEX"] = tempfile.mkdtemp(prefix="course-docs-index-")
        atexit.register(shutil.rmtree, os.environ["COURSE_DOCS_INDEX"], True)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    out_dir = ROOT / "build" / "executed"
    failures = 0
    total = 0.0
    for path in paths:
        nb, seconds, peak, status = run_one(path, args.timeout)
        total += seconds
        failures += status != "ok"
        target = path if args.in_place else out_dir / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        banner = next((o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if "Models" in o.get("text", "")), "").strip()
        memory = f"peak {peak / 2**20:6,.0f} MiB" if peak else "peak      ? MiB"
        print(f"{path.name:45s} {seconds:6.1f} s  {memory}  {status}", flush=True)
        if banner:
            print(f"    {banner}")
    where = "notebooks/" if args.in_place else out_dir.relative_to(ROOT)
    print(f"{len(paths) - failures}/{len(paths)} notebooks ran in {total:.0f} s; outputs in {where}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
