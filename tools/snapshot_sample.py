"""Take the frozen sample of documents notebook 11 indexes when COURSE_DOCS is unset.

    python tools/snapshot_sample.py [--out helpers/data/sample_docs]

Writes this course's own prose, as it stood when the snapshot was taken: the markdown cells of
notebooks 01-10 (without the exercises, whose solutions are not for indexing) as one Markdown file
per notebook, README.md's text, and helpers/maxsim.py as a Python file. Run once; the files are
committed, and notebook 11 and its judged queries depend on them staying as they are, so the sample
does not follow later edits of the notebooks. Re-taking it means judging the sample's queries again.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def notebook_prose(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if c["cell_type"] == "markdown" and not c.get("metadata", {}).get("exercise")]
    texts = ["".join(c["source"]).strip() for c in cells]
    return "\n\n".join(t for t in texts if t and not t.startswith("## Exercises")) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "helpers" / "data" / "sample_docs")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    (args.out / "notebooks").mkdir(parents=True)
    # notebooks 01-10: notebook 11 is the tool that indexes the sample, not part of it
    for path in sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb") if int(p.name[:2]) <= 10):
        (args.out / "notebooks" / f"{path.stem}.md").write_text(notebook_prose(path), encoding="utf-8")
    shutil.copy(ROOT / "README.md", args.out / "README.md")
    (args.out / "code").mkdir()
    shutil.copy(ROOT / "helpers" / "maxsim.py", args.out / "code" / "maxsim.py")
    print(f"wrote {sum(1 for p in args.out.rglob('*') if p.is_file())} files into {args.out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
