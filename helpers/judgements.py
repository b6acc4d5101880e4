"""Judgements of your own search results: one JSON line per grade, appended, never rewritten.

Notebook 11's grade buttons call :func:`append_judgement`; each grade is one line of JSON Lines,

    {"query": "how do I ...", "passage_id": "notes/a.md#3f2c...", "grade": 2, "time": "2026-12-02T19:20:00Z"}

appended to ``judgements.jsonl`` in the documents' index folder and flushed to disk at once. For a
(query, passage) pair judged more than once, the last line wins. :func:`read_judgements` reads the
file back; a line that is not a complete judgement (a crash mid-write leaves a cut-off last line) is
skipped and reported with its line number, so the file stays readable and nothing in it is ever
overwritten. :func:`to_labelled_set` writes the judgements in the series' labelled-set format
(``helpers/data/queries/README.md``), one query a line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

GRADES = (0, 1, 2)


@dataclass
class Judgements:
    """``grades[query][passage_id]``: the last grade given; ``damaged``: ``(line number, reason)``."""

    grades: dict[str, dict[str, int]] = field(default_factory=dict)
    damaged: list[tuple[int, str]] = field(default_factory=list)

    def report(self, path: str | Path) -> str:
        """A line per damaged line, then how many pairs are judged."""
        lines = [f"{path}, line {number}: {reason}; skipped" for number, reason in self.damaged]
        pairs = sum(len(g) for g in self.grades.values())
        lines.append(f"{pairs:,} judged (query, passage) pairs for {len(self.grades):,} queries")
        return "\n".join(lines)


def append_judgement(path: str | Path, query: str, passage_id: str, grade: int, *, time: str | None = None) -> None:
    """Append one judgement to the JSON Lines file ``path`` (created if missing) and flush it to disk.

    Raises ``ValueError`` for an empty query or passage id, or a grade that is not 0, 1 or 2.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"the query is empty: {query!r}")
    if not isinstance(passage_id, str) or not passage_id:
        raise ValueError(f"the passage id must be a non-empty string, got {passage_id!r}")
    if isinstance(grade, bool) or grade not in GRADES:
        raise ValueError(f"a grade is 0, 1 or 2, got {grade!r}")
    record = {"query": query, "passage_id": passage_id, "grade": int(grade),
              "time": time or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with open(path, "ab") as out:
        if out.tell() > 0:  # a last line cut off by a crash stays as it is; the new one starts fresh
            with open(path, "rb") as check:
                check.seek(-1, os.SEEK_END)
                if check.read(1) != b"\n":
                    line = "\n" + line
        out.write(line.encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())


def read_judgements(path: str | Path) -> Judgements:
    """Every judgement in ``path`` (an empty result if the file does not exist yet); the last line
    for a pair wins. Lines that are not complete judgements are listed in ``damaged``."""
    result = Judgements()
    path = Path(path)
    if not path.exists():
        return result
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                query, passage_id, grade = record["query"], record["passage_id"], record["grade"]
                if not isinstance(query, str) or not isinstance(passage_id, str) or grade not in GRADES \
                        or isinstance(grade, bool):
                    raise ValueError("a field has the wrong type")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                cut = "" if line.endswith("\n") else " (cut off: written when something stopped?)"
                result.damaged.append((number, f"not a judgement ({type(error).__name__}){cut}"))
                continue
            result.grades.setdefault(query, {})[passage_id] = int(grade)
    return result


def to_labelled_set(judgements: Judgements, path: str | Path, *, kind: str = "question", split: str = "test") -> int:
    """Write ``judgements`` as the series' labelled-set format: one line per query, ids ``q01``,
    ``q02``, ... in the order the queries were first judged, with ``kind`` and ``split`` for all.
    Passage ids stay the documents' own (path plus hash). Returns the number of queries written."""
    with open(path, "w", encoding="utf-8") as out:
        for number, (query, grades) in enumerate(judgements.grades.items(), start=1):
            out.write(json.dumps({"id": f"q{number:02d}", "query": query, "kind": kind, "split": split,
                                  "no_shared_words": False, "judgements": grades}, ensure_ascii=False) + "\n")
    return len(judgements.grades)
