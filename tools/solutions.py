"""Exercises: build the solution notebooks, or print the README's table of exercises.

The learners' notebooks are the one source of every exercise: its task (a markdown cell whose
heading starts ``### Exercise``), its answer cell (a placeholder, ``...``), its check cell and its
solution (a folded ``<details>`` markdown cell with one ``python`` code block). Each of these cells
carries ``metadata.exercise = {"id": "N.M", "role": "task" | "answer" | "check" | "solution"}``.

    python tools/solutions.py build [--out build/solutions]
        writes each notebook with every answer cell replaced by its solution's code and every check
        cell's output replaced by the line a right answer prints; nothing is executed. ``make
        solutions`` then runs nbval on them, which executes them and compares.
    python tools/solutions.py table
        prints the Markdown table of exercises per notebook that README.md carries.

Nothing generated is committed: the solution notebooks are built on demand from the learners'
notebooks, and tests/test_exercises.py checks that README.md's table equals ``table``'s output.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
HEADING = re.compile(r"^### Exercise (\d+\.\d+) (★{1,3}) · (.+)$")
CODE_BLOCK = re.compile(r"```python\n(.*?)\n```", re.DOTALL)


def source(cell: dict) -> str:
    return "".join(cell["source"])


def exercises(notebook: dict) -> dict[str, dict[str, int]]:
    """``{exercise id: {role: cell index}}`` of one notebook, in the order the exercises appear."""
    found: dict[str, dict[str, int]] = {}
    for index, cell in enumerate(notebook["cells"]):
        tag = cell.get("metadata", {}).get("exercise")
        if tag:
            found.setdefault(tag["id"], {})[tag["role"]] = index
    return found


def solution_code(cell: dict) -> str:
    """The code of a solution cell's one ``python`` block; ``ValueError`` if it has not exactly one."""
    blocks = CODE_BLOCK.findall(source(cell))
    if len(blocks) != 1:
        raise ValueError(f"a solution cell needs exactly one ```python block, found {len(blocks)}")
    return blocks[0]


def heading(cell: dict) -> tuple[str, int, str]:
    """``(id, stars, title)`` from a task cell's first line; ``ValueError`` if it is malformed."""
    first = source(cell).split("\n", 1)[0]
    match = HEADING.match(first)
    if not match:
        raise ValueError(f"an exercise's task cell must start '### Exercise N.M ★ · title', got {first!r}")
    return match.group(1), len(match.group(2)), match.group(3)


def right_line(exercise_id: str) -> str:
    from helpers.exercises import Feedback

    return str(Feedback(exercise_id, "right", "")) + "\n"


def solved(notebook: dict) -> dict:
    """A copy of ``notebook`` with every exercise answered by its solution."""
    result = copy.deepcopy(notebook)
    for exercise_id, roles in exercises(notebook).items():
        answer, check, solution = (result["cells"][roles[r]] for r in ("answer", "check", "solution"))
        code = solution_code(solution).split("\n")
        answer["source"] = [line + "\n" for line in code[:-1]] + [code[-1]]
        answer["outputs"] = []
        check["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [right_line(exercise_id)]}]
    return result


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if not exercises(notebook):
            continue
        target = out / path.name
        target.write_text(json.dumps(solved(notebook), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written


def table() -> str:
    """README's table: one row per notebook, its exercises with their stars."""
    rows = ["| notebook | exercises |", "|---|---|"]
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        found = exercises(notebook)
        if not found:
            continue
        items = []
        for roles in found.values():
            exercise_id, stars, title = heading(notebook["cells"][roles["task"]])
            items.append(f"{exercise_id} {'★' * stars} {title}")
        rows.append(f"| [{path.stem}](notebooks/{path.name}) | {'<br>'.join(items)} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the solution notebooks")
    make.add_argument("--out", type=Path, default=ROOT / "build" / "solutions")
    sub.add_parser("table", help="print README.md's table of exercises")
    args = parser.parse_args(argv)
    if args.command == "table":
        sys.stdout.write(table())
        return 0
    written = build(args.out)
    print(f"{len(written)} solution notebooks in {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
