"""Where a first run's computing went: the embedding cache's entries, summed by model and kind of work.

    python benchmarks/first_run.py                    # the project's cache (.cache/embeddings)
    python benchmarks/first_run.py /path/to/cache     # another one (COURSE_EMBEDDING_CACHE)

Every cache entry's manifest records how many seconds its chunk took to compute
(``helpers.embedding_cache``). On a fresh clone nearly all of the tests' extra time is this
computing; ``python benchmarks/suite.py --cold`` prints this report at its end. The seconds are
wall time per chunk: when two test workers compute at once on 2 cores, each chunk's seconds include
the other's share of the cores, so the total is more than the CPU time and about twice the wall time
it took. Never part of the tests.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def summary(folder: Path) -> list[tuple[str, str, int, float]]:
    """``(model, kind of work, texts, seconds)`` per model and kind, most seconds first.

    Entries written before manifests recorded their seconds are left out (counted in the last row
    as "no time recorded", with 0 seconds)."""
    texts: dict[tuple[str, str], int] = defaultdict(int)
    seconds: dict[tuple[str, str], float] = defaultdict(float)
    for path in Path(folder).glob("*.json"):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        settings = manifest.get("settings") or {}
        kind = str(settings.get("method") or settings.get("kind") or "?")
        if "batch_size" in settings and settings["batch_size"] != 1:
            kind += f", batches of {settings['batch_size']}"
        key = (str(manifest.get("model")), kind if "seconds" in manifest else kind + " (no time recorded)")
        texts[key] += int(manifest.get("n_texts") or 0)
        seconds[key] += float(manifest.get("seconds") or 0.0)
    return sorted(((m, k, texts[m, k], seconds[m, k]) for m, k in texts), key=lambda row: -row[3])


def report(folder: Path) -> str:
    """:func:`summary` as lines of text, with ms per text and a total."""
    rows = summary(folder)
    if not rows:
        return f"no cache entries in {folder}"
    lines = [f"{'seconds':>8}  {'texts':>6}  {'ms/text':>7}  model · work"]
    for model, kind, n, secs in rows:
        per_text = f"{1000 * secs / n:7.1f}" if n else "      -"
        lines.append(f"{secs:8.1f}  {n:6,d}  {per_text}  {model} · {kind}")
    lines.append(f"{sum(r[3] for r in rows):8.1f}  total (wall seconds per chunk, summed over the workers)")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    if len(sys.argv) == 2:
        folder = Path(sys.argv[1])
    else:
        sys.path.insert(0, str(ROOT))
        from helpers.embedding_cache import cache_dir

        folder = cache_dir()
    if not folder.is_dir():
        print(f"{folder} is not a folder", file=sys.stderr)
        return 1
    print(f"Computing recorded in {folder}:")
    print(report(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
