"""A corpus of real English passages for measurements: Python standard-library docstrings.

Built once by ``tools/build_corpus.py`` and committed (``helpers/data/stdlib_passages.jsonl.gz``,
about 2,450 passages of 6 to 320 words), so every machine measures on the same text.
Used by notebooks 04 (costs) and 05 (two-stage retrieval).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).parent / "data" / "stdlib_passages.jsonl.gz"


@dataclass(frozen=True)
class Passage:
    id: int
    source: str  # the documented object, e.g. "json.dumps"
    text: str

    @property
    def words(self) -> int:
        return len(self.text.split())


@lru_cache(maxsize=1)
def _all() -> tuple[Passage, ...]:
    with gzip.open(PATH, "rt", encoding="utf-8") as fh:
        return tuple(Passage(**json.loads(line)) for line in fh)


def load_passages(limit: int | None = None) -> list[Passage]:
    """The corpus in its fixed order; ``limit`` takes the first ``limit`` passages."""
    passages = _all()
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of passages, got {limit}")
        if limit > len(passages):
            raise ValueError(f"the corpus has {len(passages)} passages; cannot take {limit}")
        passages = passages[:limit]
    return list(passages)
