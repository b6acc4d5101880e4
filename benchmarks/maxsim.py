"""How fast is helpers.maxsim.maxsim_scores? One query against 10,000 documents.

    python benchmarks/maxsim.py [--repeats 5] [--docs 10000]

One query of 32 x 128 against documents of 20 to 300 token vectors (float32, L2-normalised rows,
fixed seed). Every figure is the median of --repeats runs after one warm-up run, printed as time
and as GFLOP/s: 2 x 32 x 128 x (total document rows), whatever the method does in fact.

Compared with:
  (a) the floor of any BLAS-based approach: the same matrix products alone, block by block
      (no max, no sum); for reference one product over all rows at once, and the machine's
      square float32 product rate (2048 x 2048);
  (b) a naive loop over token pairs, timed on a few documents and extrapolated per row;
  (c) qdrant-client local mode (":memory:"), MAX_SIM comparator, query time only;
  (d) the maxsim-cpu package (Rust/SIMD; benchmarks/requirements.txt, which `make benchmark`
      installs), if installed: says so when it is not.

Prints figures, never asserts: the machine may be shared and noisy. Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from helpers.maxsim import maxsim_scores, pack_documents  # installed from this repo (make installs it)

N_QUERY_TOKENS, DIM = 32, 128
MIN_TOKENS, MAX_TOKENS = 20, 300


def median_time(function, repeats: int) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(label: str, seconds: float, flop: float, note: str = "") -> None:
    print(f"  {label:<46} {seconds * 1e3:10.1f} ms {flop / seconds / 1e9:8.1f} GFLOP/s  {note}")


def machine() -> None:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"CPU: {model}; {os.cpu_count()} logical cores, {usable} usable")
    print(f"Python {platform.python_version()}, numpy {np.__version__}")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(
                f"  {pool.get('internal_api')} {pool.get('version')}, "
                f"{pool.get('num_threads')} threads, architecture {pool.get('architecture')}, "
                f"threading {pool.get('threading_layer')}"
            )
    except ImportError:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        print(f"  BLAS: {blas.get('name')} {blas.get('version')} (threadpoolctl not installed)")
    try:
        print(f"  load average: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    except OSError:
        pass


def make_data(n_docs: int, seed: int):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(MIN_TOKENS, MAX_TOKENS + 1, n_docs)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    vectors = rng.standard_normal((int(offsets[-1]), DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = rng.standard_normal((N_QUERY_TOKENS, DIM), dtype=np.float32)
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    documents = [vectors[offsets[i] : offsets[i + 1]] for i in range(n_docs)]  # views
    return query, documents


def naive_maxsim(query, doc) -> float:
    """The definition as loops over token pairs: for each query token, its best document token."""
    total = 0.0
    for q in query:
        best = -np.inf
        for d in doc:
            similarity = float(q @ d)
            if similarity > best:
                best = similarity
        total += best
    return total


def time_helpers(query, documents, repeats: int, flop: float):
    """helpers.maxsim and (a), the BLAS floor on the same blocks. Returns (ours, floor, scores)."""
    start = time.perf_counter()
    packed = pack_documents(documents)
    pack_seconds = time.perf_counter() - start
    ours = median_time(lambda: maxsim_scores(query, packed), repeats)
    scores = maxsim_scores(query, packed)
    print("helpers.maxsim")
    report("maxsim_scores(query, packed)", ours, flop)
    print(
        f"  {'pack_documents(documents), once':<46} {pack_seconds * 1e3:10.1f} ms  "
        f"({len(packed.blocks)} blocks)"
    )

    query_t = query.T
    largest = max(block.rows.stop - block.rows.start for block in packed.blocks)
    buffer = np.empty((largest, N_QUERY_TOKENS), dtype=np.float32)

    def products_only():
        for block in packed.blocks:
            n_rows = block.rows.stop - block.rows.start
            np.matmul(packed.vectors[block.rows], query_t, out=buffer[:n_rows])

    floor = median_time(products_only, repeats)
    everything = np.empty((len(packed.vectors), N_QUERY_TOKENS), dtype=np.float32)
    one_product = median_time(lambda: np.matmul(packed.vectors, query_t, out=everything), repeats)
    square = np.random.default_rng(1).standard_normal((2048, 2048), dtype=np.float32)
    square_out = np.empty_like(square)
    square_seconds = median_time(lambda: np.matmul(square, square, out=square_out), repeats)
    print("(a) BLAS floor")
    report("same products, same blocks, no max/sum", floor, flop)
    report("one product over all rows at once", one_product, flop)
    report("square product 2048 x 2048 (its own FLOP)", square_seconds, 2 * 2048**3)
    return ours, floor, scores


def time_naive(query, documents, n_docs: int, flop: float, scores) -> float:
    """(b): the naive loop on the first n_docs documents, extrapolated per document row."""
    subset = documents[:n_docs]
    subset_rows = sum(len(doc) for doc in subset)
    start = time.perf_counter()
    naive_scores = [naive_maxsim(query, doc) for doc in subset]
    measured = time.perf_counter() - start
    np.testing.assert_allclose(naive_scores, scores[: len(subset)], rtol=1e-4)
    naive = measured / subset_rows * sum(len(doc) for doc in documents)
    print("(b) naive loop over token pairs (Python loops, one `q @ d` per pair)")
    report(
        "extrapolated to all rows",
        naive,
        flop,
        f"(measured {measured:.2f} s on {len(subset)} docs, {subset_rows} rows, once)",
    )
    return naive


def time_maxsim_cpu(query, documents, repeats: int, flop: float, scores) -> float | None:
    """(d): maxsim-cpu's variable-length entry point, or None if it cannot run here."""
    print("(d) maxsim-cpu")
    try:
        import maxsim_cpu
    except ImportError:
        print(f"  skipped: maxsim-cpu is not installed (make benchmark installs benchmarks/requirements.txt; "
              f"it has no wheel for Python {platform.python_version()} on {platform.machine()} {platform.system()}?)")
        return None
    try:
        theirs = np.asarray(maxsim_cpu.maxsim_scores_variable(query, documents))
        seconds = median_time(lambda: maxsim_cpu.maxsim_scores_variable(query, documents), repeats)
    except Exception as error:  # installed but cannot run here
        print(f"  skipped: {type(error).__name__}: {error}")
        return None
    difference = np.max(np.abs(theirs - scores) / np.abs(scores))
    report(
        "maxsim_cpu.maxsim_scores_variable(query, docs)",
        seconds,
        flop,
        f"(max relative difference from ours {difference:.1e})",
    )
    return seconds


def time_qdrant_local(query, documents, repeats: int, flop: float, scores) -> float | None:
    """(c): Qdrant local mode, MAX_SIM over DOT; upload not timed. None if it cannot run."""
    print("(c) qdrant-client local mode")
    try:
        from qdrant_client import QdrantClient, models

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # local mode warns above 20,000 points
            client = QdrantClient(":memory:")
            client.create_collection(
                "benchmark",
                vectors_config=models.VectorParams(
                    size=DIM,
                    distance=models.Distance.DOT,
                    multivector_config=models.MultiVectorConfig(
                        comparator=models.MultiVectorComparator.MAX_SIM
                    ),
                ),
            )
            start = time.perf_counter()
            for first in range(0, len(documents), 200):  # batches: the client makes lists
                batch = documents[first : first + 200]
                ids = range(first, first + len(batch))
                client.upload_collection("benchmark", vectors=batch, ids=ids)
            upload = time.perf_counter() - start

            def search():
                return client.query_points("benchmark", query=query, limit=len(documents)).points

            hits = search()
            seconds = median_time(search, repeats)
            client.close()
    except Exception as error:
        print(f"  skipped: {type(error).__name__}: {error}")
        return None
    ids = [hit.id for hit in hits]
    found = np.array([hit.score for hit in hits])
    difference = np.max(np.abs(found - scores[ids]) / np.abs(scores[ids]))
    report(
        f"query_points, limit={len(documents)}",
        seconds,
        flop,
        f"(median of {repeats}; upload {upload:.0f} s, not counted;"
        f" max relative difference from ours {difference:.1e})",
    )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per figure (median)")
    parser.add_argument("--docs", type=int, default=10_000, help="number of documents")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-docs", type=int, default=20, help="documents timed for (b)")
    parser.add_argument("--qdrant-repeats", type=int, default=3, help="timed runs for (c)")
    args = parser.parse_args()

    machine()
    query, documents = make_data(args.docs, args.seed)
    total_rows = sum(len(doc) for doc in documents)
    flop = 2 * N_QUERY_TOKENS * DIM * total_rows
    print(
        f"\nData: query {N_QUERY_TOKENS} x {DIM}; {args.docs} documents of "
        f"{MIN_TOKENS}-{MAX_TOKENS} tokens, {total_rows} rows in all "
        f"(float32, {total_rows * DIM * 4 / 2**20:.0f} MiB); {flop / 1e9:.2f} GFLOP per query; "
        f"medians of {args.repeats} runs\n"
    )
    ours, floor, scores = time_helpers(query, documents, args.repeats, flop)
    naive = time_naive(query, documents, args.naive_docs, flop, scores)
    other = time_maxsim_cpu(query, documents, args.repeats, flop, scores)
    local = time_qdrant_local(query, documents, args.qdrant_repeats, flop, scores)

    def line(label: str, ratio: float, digits: int, goal: str, met: bool) -> None:
        verdict = "met" if met else "NOT met"
        print(f"  {label:<30} {ratio:8.{digits}f}x   goal {goal:<7} {verdict}")

    print("\nRatios (maxsim_scores on packed documents)")
    line("maxsim_scores / BLAS floor", ours / floor, 2, "<= 1.2x", ours / floor <= 1.2)
    line("naive loop / maxsim_scores", naive / ours, 0, ">= 100x", naive / ours >= 100)
    if local is not None:
        line("qdrant local / maxsim_scores", local / ours, 1, ">= 4x", local / ours >= 4)
    if other is not None:
        line("maxsim-cpu / maxsim_scores", other / ours, 2, "> 1x", other / ours > 1)


if __name__ == "__main__":
    main()
