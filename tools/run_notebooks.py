"""Execute every notebook headless and report each one's time.

    python tools/run_notebooks.py                 # execute into build/executed/ (instructors)
    python tools/run_notebooks.py --in-place      # rewrite notebooks/ with fresh outputs (maintainers)

The model profile comes from COURSE_MODELS as usual (default auto). Committed outputs must come
from the offline profile: `make outputs` sets COURSE_MODELS=offline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--in-place", action="store_true", help="write outputs back into the notebooks")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    out_dir = ROOT / "build" / "executed"
    failures = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        try:
            client.execute()
            status = "ok"
        except CellExecutionError as exc:
            failures += 1
            status = "FAILED: " + str(exc).strip().splitlines()[-1][:200]
        seconds = time.perf_counter() - start
        target = path if args.in_place else out_dir / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        banner = next((o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if "Models:" in o.get("text", "")), "").strip()
        print(f"{path.name:45s} {seconds:6.1f} s  {status}", flush=True)
        if banner:
            print(f"    {banner}")
    print(f"{len(paths) - failures}/{len(paths)} notebooks ran; outputs in "
          f"{'notebooks/' if args.in_place else out_dir.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
