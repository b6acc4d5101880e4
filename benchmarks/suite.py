"""Time and memory of the whole test suite (`make test`'s pytest run); never part of the tests.

    python benchmarks/suite.py            # warm: the caches as they are (run twice for "warm")
    python benchmarks/suite.py --cold     # empty stand-in and embedding caches, as on a fresh clone
    python benchmarks/suite.py --workers 1   # one process, as plain `pytest` (default: 2, as make test)
    python benchmarks/suite.py -- tests/test_embedding.py -o addopts=""   # other pytest arguments

Runs ``python -m pytest`` (the project's addopts: every test and every notebook under nbval) in a
child process and follows it and every process under it (the nbval kernels) in a thread. Prints:

- wall time and pytest's summary line;
- per notebook: the time pytest spent on its cells (from --durations) and its kernel's peak
  resident memory (Linux VmHWM, the kernel's own high-water mark: exact, not sampled); with several
  workers the kernels start in no fixed order, so their peaks are listed without names;
- pytest's own peak resident memory (VmHWM);
- the suite's peak: the largest sum of resident memory over pytest and its children seen at one
  time (sampled every 50 ms; pages shared between processes are counted once per process, so
  this is an upper bound);
- with ``--cold``: what the first run computed, by model and kind of work (benchmarks/first_run.py).

The development machine is shared and noisy: compare figures from runs made close together.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MiB = 2**20


sys.path.insert(0, str(ROOT / "tools"))
from run_notebooks import _high_water_mark as high_water_mark  # noqa: E402  (one reader of VmHWM)


class TreeWatch(threading.Thread):
    """Samples a process and its descendants: each one's peak, and the largest total at one time."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peaks: dict[tuple[int, float], dict] = {}
        self.total_peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for p in processes:
                try:
                    rss = p.memory_info().rss
                    hwm = high_water_mark(p.pid) or rss
                    key = (p.pid, p.create_time())
                    cmdline = " ".join(p.cmdline())
                    if key not in self.peaks or (cmdline and self.peaks[key]["cmdline"] != cmdline):
                        # new, or it has exec'd since: between fork and exec a child still
                        # reports its parent's high-water mark, which exec resets
                        self.peaks[key] = {"cmdline": cmdline, "started": p.create_time(), "peak": 0}
                    self.peaks[key]["peak"] = max(self.peaks[key]["peak"], hwm)
                    total += rss
                except psutil.Error:
                    continue
            self.total_peak = max(self.total_peak, total)
            self.done.wait(self.interval)


def seconds_per_file(output: str) -> dict[str, float]:
    """Seconds per test file or notebook, summed over its setup/call/teardown lines from --durations."""
    seconds: dict[str, float] = defaultdict(float)
    for match in re.finditer(r"^\s*([\d.]+)s (?:setup|call|teardown)\s+([^:\s]+)::", output, re.M):
        seconds[match.group(2)] += float(match.group(1))
    return dict(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="empty stand-in and embedding caches (fresh clone)")
    parser.add_argument("--workers", type=int, default=2,
                        help="pytest-xdist worker processes (default 2, as make test; 1: no xdist)")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args()

    env = dict(os.environ)
    scratch = None
    if args.cold:
        scratch = tempfile.TemporaryDirectory(prefix="suite-cold-")
        env["COURSE_STANDIN_CACHE"] = str(Path(scratch.name) / "standins")
        env["COURSE_EMBEDDING_CACHE"] = str(Path(scratch.name) / "embeddings")
    workers = ["-n", str(args.workers), "--dist", "loadfile"] if args.workers > 1 else []
    command = [sys.executable, "-m", "pytest", *workers, "--durations=0", "-p", "no:cacheprovider",
               *args.pytest_args]
    print("$", " ".join(command), "(cold caches)" if args.cold else "(caches as they are)", flush=True)

    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    watch = TreeWatch(child.pid)
    watch.start()
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    watch.done.set()
    watch.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    computed = None
    if scratch is not None:
        from first_run import report  # benchmarks/first_run.py

        computed = report(Path(env["COURSE_EMBEDDING_CACHE"]))
        scratch.cleanup()

    summary = next((line for line in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed)", line)),
                   "(no summary line)")
    print(f"exit code {child.returncode}: {summary.strip()}")
    print(f"wall time {seconds:.0f} s; CPU user {usage.ru_utime:.0f} s, system {usage.ru_stime:.0f} s "
          f"(pytest and every process it waited for)")

    kernels = sorted((p for p in watch.peaks.values() if "ipykernel_launcher" in p["cmdline"]),
                     key=lambda p: p["started"])
    times = seconds_per_file(output)
    notebooks = sorted(name for name in times if name.endswith(".ipynb"))
    if len(notebooks) != len(kernels) or args.workers > 1:
        # one process: nbval starts one kernel per notebook, in name order; several: any order
        for name in notebooks:
            print(f"  {Path(name).name:45s} {times[name]:6.1f} s")
        notebooks = [f"kernel {i + 1}" for i in range(len(kernels))]
    for name, kernel in zip(notebooks, kernels):
        spent = f"{times[name]:6.1f} s" if name in times else "       "
        print(f"  {Path(name).name:45s} {spent}  kernel peak {kernel['peak'] / MiB:6,.0f} MiB")
    slowest = sorted(((t, name) for name, t in times.items() if not name.endswith(".ipynb")), reverse=True)
    print("  slowest test files: " + ", ".join(f"{Path(n).name} {t:.1f} s" for t, n in slowest[:6]))
    own = next((p["peak"] for (pid, _), p in watch.peaks.items() if pid == child.pid), 0)
    print(f"pytest process peak {own / MiB:,.0f} MiB; "
          f"largest single process {usage.ru_maxrss / 1024:,.0f} MiB (rusage); "
          f"suite peak (sum over processes at one time) {watch.total_peak / MiB:,.0f} MiB")
    log = ROOT / "build" / "suite-pytest.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(output)
    print(f"pytest's output: {log.relative_to(ROOT)}")
    if computed is not None:
        print("What the first run computed (benchmarks/first_run.py):")
        print(computed)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
