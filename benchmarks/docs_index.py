"""Time and memory of notebook 11's index on 1,000 passages; never part of the tests.

    python benchmarks/docs_index.py             # cold: empty embedding cache and index, as a first run
    python benchmarks/docs_index.py --warm      # the project's embedding cache as it is
    python benchmarks/docs_index.py --passages 300

Writes the first N passages of the course's corpus into a temporary documents folder (one Markdown
file per 20 passages, each passage a section with its own heading), then, as notebook 11 does with
the offline profile's models: reads the folder (``helpers.documents.read_documents``), builds the
index (``helpers.docs_index.DocumentIndex.update``), updates it again with nothing changed, edits one
file and updates, and runs the three pipelines for four queries. Prints each step's time and this
process's peak resident memory (Linux VmHWM: exact, not sampled), against the 2 GB notebook budget.
The embedding cache and the index live in temporary folders (unless ``--warm``), so nothing of the
project's caches is changed. The machine is shared and noisy: the times are one run's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ["how do I compress a file with gzip", "parse command line arguments",
           "read rows from a CSV file", "run a function in a background thread"]


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--warm", action="store_true", help="use the project's embedding cache as it is")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="docs-index-benchmark-"))
    os.environ["COURSE_MODELS"] = "offline"
    os.environ["COURSE_PROGRESS"] = "off"
    os.environ["COURSE_DOCS_INDEX"] = str(work / "indexes")
    if not args.warm:
        os.environ["COURSE_EMBEDDING_CACHE"] = str(work / "embeddings")
    sys.path.insert(0, str(ROOT))
    import helpers
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder
    from helpers import project
    from helpers.corpus import load_passages
    from helpers.docs_index import DocumentIndex
    from helpers.documents import read_documents, token_counter

    helpers.setup(quiet=True)
    docs = work / "docs"
    docs.mkdir()
    passages = load_passages(args.passages)
    for start in range(0, len(passages), 20):
        sections = [f"## {p.source}\n\n{p.text}\n" for p in passages[start:start + 20]]
        (docs / f"part-{start // 20:03d}.md").write_text("\n".join(sections))
    models = {"dense_model": TextEmbedding(helpers.DENSE_MODEL),
              "colbert_model": LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
              "bm25_model": SparseTextEmbedding(helpers.models.BM25_MODEL)}
    cross_encoder = TextCrossEncoder(helpers.CROSS_ENCODER_MODEL)
    count = token_counter(models["dense_model"])
    print(f"{len(passages):,} corpus passages in {len(list(docs.iterdir()))} files; "
          f"embedding cache {'the project' if args.warm else 'empty'}, index empty")

    def step(name, work_fn):
        start = time.perf_counter()
        result = work_fn()
        print(f"  {name:42s} {time.perf_counter() - start:7.1f} s   peak so far {peak_mib():6,.0f} MiB")
        return result

    reading = step("read and cut the folder", lambda: read_documents(docs, count))
    index = DocumentIndex(docs, **models)
    print(f"    {step('index: embed and add every passage', lambda: index.update(reading.passages))}")
    print(f"    {step('update again, nothing changed', lambda: index.update(read_documents(docs, count).passages))}")
    first = docs / "part-000.md"
    first.write_text(first.read_text().replace("\n\n", "\n\nEdited. ", 1))
    print(f"    {step('edit one file, update', lambda: index.update(read_documents(docs, count).passages))}")
    step(f"three pipelines, {len(QUERIES)} queries", lambda: [project.search_all(index, cross_encoder, q) for q in QUERIES])
    index.close()
    peak = peak_mib()
    print(f"peak resident memory {peak:,.0f} MiB: {'within' if peak < 2048 else 'OVER'} the 2 GB notebook budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
