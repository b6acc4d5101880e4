"""How long does each exercise's check take, warm? The goal: under a second each.

    python benchmarks/exercise_checks.py [--repeats 3]

Runs every exercise's check on its solution (built from the notebooks by tools/solutions.py, in
the names each notebook defines: the course's models, notebook 07's index), once to warm up and
then --repeats times, and prints the median time of each. The models load and the corpus index is
read before timing: a check in a notebook finds them already there. Prints figures, never asserts:
the machine may be shared and noisy. Not run by the tests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import test_exercises as t  # the namespaces and cell parsing the tests use

    models, corpus = t.course_models(), t.course_corpus()
    rows = []
    for _path, exercise_id, cells in t.EXERCISE_CELLS:
        names = t.answered(t.solutions.solution_code(cells["solution"]),
                           t.namespace(exercise_id, models, lambda: corpus))
        check = t.solutions.source(cells["check"])
        result = t.run_check(check, names)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            t.run_check(check, names)
            times.append(time.perf_counter() - start)
        rows.append((exercise_id, result.status, statistics.median(times) * 1e3))
    print(f"{'exercise':<10}{'solution':<10}{'median ms':>10}")
    for exercise_id, status, ms in rows:
        print(f"{exercise_id:<10}{status:<10}{ms:>10.1f}")
    print(f"slowest: {max(rows, key=lambda r: r[2])[0]} at {max(r[2] for r in rows):.0f} ms; "
          f"{sum(r[2] < 1000 for r in rows)} of {len(rows)} under one second")


if __name__ == "__main__":
    main()
