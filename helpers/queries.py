"""The labelled query set: programmer queries over the whole standard-library corpus, with graded judgements.

Each query (``helpers/data/queries/part-*.jsonl``) has a kind (question, paraphrase, keyword, trap), a
dev/test split, and grades for the passages a judge read: 2 answers the query, 1 is related or partly
useful, 0 was read and does not answer. The candidates were pooled from BM25, a dense model and token
MaxSim (``tools/query_candidates.py``); ``helpers/data/queries/README.md`` tells how the set was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .corpus import load_passages

FOLDER = Path(__file__).parent / "data" / "queries"
KINDS = ("question", "paraphrase", "keyword", "trap")
SPLITS = ("dev", "test")
GRADES = (0, 1, 2)
_FIELDS = {"id", "query", "kind", "split", "no_shared_words", "judgements"}


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    kind: str  # one of KINDS
    split: str  # "dev" or "test"
    no_shared_words: bool  # no content word of the query occurs in its grade-2 passages
    judgements: dict[int, int] = field(hash=False)  # passage id -> grade (0, 1 or 2)

    @property
    def relevant(self) -> list[int]:
        """The passage ids graded 2 (the answers), in ascending order."""
        return sorted(pid for pid, grade in self.judgements.items() if grade == 2)


def _parse_line(line: str, where: str, corpus_ids: frozenset[int]) -> Query:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing, extra = _FIELDS - row.keys(), row.keys() - _FIELDS
    if missing or extra:
        raise ValueError(f"{where}: missing fields {sorted(missing)}, unknown fields {sorted(extra)}")
    qid, text = row["id"], row["query"]
    if not isinstance(qid, str) or not qid:
        raise ValueError(f"{where}: the id must be a non-empty string, got {qid!r}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: query {qid} has no query text")
    if row["kind"] not in KINDS:
        raise ValueError(f"{where}: query {qid} has unknown kind {row['kind']!r} (expected one of {KINDS})")
    if row["split"] not in SPLITS:
        raise ValueError(f"{where}: query {qid} has unknown split {row['split']!r} (expected one of {SPLITS})")
    if not isinstance(row["no_shared_words"], bool):
        raise ValueError(f"{where}: query {qid}: no_shared_words must be true or false")
    if not isinstance(row["judgements"], dict):
        raise ValueError(f"{where}: query {qid}: judgements must be an object of passage id -> grade")
    judgements: dict[int, int] = {}
    for key, grade in row["judgements"].items():
        if not (isinstance(key, str) and key.isdigit()) or int(key) not in corpus_ids:
            raise ValueError(f"{where}: query {qid} judges passage {key!r}, which is not in the corpus")
        if isinstance(grade, bool) or grade not in GRADES:
            raise ValueError(f"{where}: query {qid} gives passage {key} grade {grade!r} (expected 0, 1 or 2)")
        judgements[int(key)] = grade
    if 2 not in judgements.values():
        raise ValueError(f"{where}: query {qid} has no grade-2 passage (no answer)")
    return Query(qid, text, row["kind"], row["split"], row["no_shared_words"], judgements)


def _files(folder: Path) -> tuple[tuple[Path, int, int], ...]:
    """The folder's query files in sorted order, each with its size and change time (the cache key)."""
    files = sorted(folder.glob("part-*.jsonl"))
    if not files:
        raise ValueError(f"{folder}: no part-*.jsonl query files")
    return tuple((path, path.stat().st_size, path.stat().st_mtime_ns) for path in files)


@lru_cache(maxsize=4)
def _parse(files: tuple[tuple[Path, int, int], ...]) -> tuple[Query, ...]:
    corpus_ids = frozenset(p.id for p in load_passages())
    queries: list[Query] = []
    first_seen: dict[str, str] = {}
    for path, _, _ in files:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = f"{path.name} line {number}"
                query = _parse_line(line, where, corpus_ids)
                if query.id in first_seen:
                    raise ValueError(f"{where}: duplicate query id {query.id!r} (first in {first_seen[query.id]})")
                first_seen[query.id] = where
                queries.append(query)
    return tuple(queries)


def load_queries(split: str | None = None, *, folder: str | Path | None = None) -> list[Query]:
    """All labelled queries, file by file in sorted order, or only the ``"dev"`` or ``"test"`` ones.

    Returns a new list of :class:`Query`. ``folder`` reads ``part-*.jsonl`` files from another folder
    (for tests). The parse is cached until a file changes. Raises ``ValueError`` naming the file and
    line for a malformed query file, and for an unknown ``split``.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    queries = _parse(_files(Path(folder) if folder is not None else FOLDER))
    # fresh objects each call: a caller who edits a query's judgements does not change the cached parse
    return [replace(q, judgements=dict(q.judgements)) for q in queries if split is None or q.split == split]


def qrels(queries: list[Query] | None = None) -> dict[str, dict[str, int]]:
    """Judgements as ``{query_id: {passage_id_str: grade}}``, the dict ``ranx.Qrels`` accepts.

    Uses every query when ``queries`` is None. Grade-0 entries are kept; ranx's metrics count only
    grades >= 1 as relevant by default (``rel_lvl=1``).
    """
    if queries is None:
        queries = load_queries()
    return {q.id: {str(pid): grade for pid, grade in q.judgements.items()} for q in queries}


def query_by_id(qid: str) -> Query:
    """The query with this id (e.g. ``"a01"``); raises ``ValueError`` for an unknown id."""
    for q in load_queries():
        if q.id == qid:
            return q
    raise ValueError(f"no query with id {qid!r}")
