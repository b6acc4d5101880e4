"""One environment's side of `make check-cpus`: run the offline models, save what they computed.

    python tools/cpu_probe.py --out build/check-cpus/native.npz [--threads N]

`tools/check_cpus.py` runs this script natively, under `qemu-x86_64 -cpu Haswell` and under
`qemu-aarch64` (an arm64 Debian root), and compares the .npz files. It goes through the course's
own code paths, with `COURSE_MODELS=offline` and no embedding cache:

- passages: ``helpers.embed_documents(model, texts)`` (one text per batch, as the notebooks do);
- queries: ``model.query_embed(text)``, one query per call;
- cross-encoder: ``model.rerank(query, documents, batch_size=1)``.

Texts: the seed lesson's query and documents, lesson 03's pool query and documents, and a fixed
set of about 300 corpus passages: every passage judged for the first five labelled queries (by
id), padded with evenly spaced other passages. The cross-encoder scores those five queries
against their top 30 dense candidates only, to keep the emulated runs short.

Besides the float outputs it saves the discrete steps the notebooks take from them, each computed
here, on this CPU: the top 10 by dense cosine, by MaxSim and by cross-encoder logit (ties broken
by passage id), the signs of the ColBERT token vectors, their MUVERA SimHash buckets
(``fastembed.postprocess.Muvera(dim=128)``, as notebook 10 builds it) and the token-pooling
clusters (``helpers.pooling.token_clusters``, factors 2 and 4).

``--hwcaps`` only prints the Linux arm64 feature names of the running CPU (AT_HWCAP), one line in
the form of /proc/cpuinfo's ``Features`` line; check_cpus.py uses it to write a matching cpuinfo
into the emulated root.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: How many labelled queries (the first, by id) and how many passages in the fixed set.
N_QUERIES = 5
N_PASSAGES = 300
#: Cross-encoder candidates per labelled query (the top of this environment's dense ranking), and top-k.
N_CANDIDATES = 30
TOP_K = 10
POOL_FACTORS = (2, 4)

# Linux's arm64 hwcap bits (arch/arm64/include/uapi/asm/hwcap.h), by bit, as /proc/cpuinfo names them.
HWCAP_NAMES = ("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma "
               "lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca "
               "pacg").split()
HWCAP2_NAMES = ("dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svef32mm "
                "svef64mm svebf16 i8mm bf16 dgh rng bti mte ecv afp rpres mte3 sme smei16i64 smef64f64 "
                "smei8i32 smef16f32 smeb16f32 smef32f32 smefa64 wfxt").split()


def arm64_features() -> list[str]:
    """The running arm64 CPU's features (getauxval AT_HWCAP and AT_HWCAP2), named as Linux names them."""
    import ctypes

    getauxval = ctypes.CDLL(None).getauxval
    getauxval.restype = ctypes.c_ulong
    getauxval.argtypes = [ctypes.c_ulong]
    hwcap, hwcap2 = getauxval(16), getauxval(26)  # AT_HWCAP, AT_HWCAP2
    return ([name for bit, name in enumerate(HWCAP_NAMES) if hwcap >> bit & 1]
            + [name for bit, name in enumerate(HWCAP2_NAMES) if hwcap2 >> bit & 1])


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def import_helpers():
    """The course's ``helpers`` package, without running ``helpers/__init__.py``.

    That file imports every module the notebooks use, and with them qdrant-client, qdrant-edge-py,
    ranx (numba) and more, none of which this probe needs or the arm64 environment installs. An
    empty package object with the right ``__path__`` lets the submodules below import as usual.
    """
    package = types.ModuleType("helpers")
    package.__path__ = [str(REPO / "helpers")]
    package.__file__ = str(REPO / "helpers" / "__init__.py")
    sys.modules["helpers"] = package
    from helpers import corpus, course, embedding, examples, maxsim, models, pooling, queries

    return types.SimpleNamespace(corpus=corpus, course=course, embedding=embedding, examples=examples,
                                 maxsim=maxsim, models=models, pooling=pooling, queries=queries)


def fixed_texts(h, n_passages: int):
    """The labelled queries and ``n_passages`` passages (ids ascending), the same in every environment.

    The passages are taken in a fixed order of priority: the judged passages of the labelled
    queries, one query at a time in turn (each query's best graded first, then by id), then evenly
    spaced other passages of the corpus. So a smaller set (the emulated runs') is the start of that
    order: it still holds the best judged passages of every query, and its passages are also in
    every larger set.
    """
    labelled = sorted(h.queries.load_queries(), key=lambda q: q.id)[:N_QUERIES]
    passages = h.corpus.load_passages()
    per_query = [sorted(q.judgements, key=lambda pid: (-q.judgements[pid], pid)) for q in labelled]
    priority: dict[int, None] = {}  # an ordered set
    for rank in range(max(map(len, per_query))):
        for judged in per_query:
            if rank < len(judged):
                priority.setdefault(judged[rank])
    others = [p.id for p in passages if p.id not in priority]
    missing = max(0, N_PASSAGES - len(priority))
    step = len(others) / max(missing, 1)
    for i in range(missing):
        priority.setdefault(others[int(i * step)])
    by_id = {p.id: p.text for p in passages}
    ids = sorted(list(priority)[:n_passages])
    return labelled, ids, [by_id[i] for i in ids]


def top_k(scores, ids, k: int):
    """The ids of the ``k`` best scores, best first; equal scores in ascending id order."""
    import numpy as np

    order = np.lexsort((np.asarray(ids), -np.asarray(scores, dtype=np.float64)))
    return np.asarray(ids)[order[:k]]


def ragged(matrices):
    """A list of (n_i, dim) arrays as one (sum n_i, dim) array and the lengths."""
    import numpy as np

    return np.concatenate(matrices).astype(np.float32), np.array([len(m) for m in matrices])


def probe(out: Path, threads: int | None, n_passages: int, n_candidates: int) -> None:
    import numpy as np

    stages: dict[str, float] = {}
    start = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal start
        now = time.perf_counter()
        stages[name] = round(now - start, 2)
        say(f"{name}: {now - start:.1f} s")
        start = now

    h = import_helpers()
    from fastembed import LateInteractionTextEmbedding, TextEmbedding
    from fastembed.postprocess import Muvera
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    course = h.course.setup(quiet=True)
    options = {} if threads is None else {"threads": threads}
    dense = TextEmbedding(h.models.DENSE_MODEL, **options)
    colbert = LateInteractionTextEmbedding(h.models.COLBERT_MODEL, **options)
    cross = TextCrossEncoder(h.models.CROSS_ENCODER_MODEL, **options)
    stage("imports, setup and model loading")

    labelled, ids, texts = fixed_texts(h, n_passages)
    example_docs = list(h.examples.SEED_DOCUMENTS) + list(h.examples.POOL_DOCUMENTS.values())
    query_texts = [q.text for q in labelled] + [h.examples.SEED_QUERY, h.examples.POOL_QUERY]
    say(f"{len(ids)} passages, {len(query_texts)} queries, {len(example_docs)} example documents")

    saved: dict[str, object] = {"passage_ids": np.array(ids), "query_ids": np.array([q.id for q in labelled])}
    dense_docs = np.stack(h.embedding.embed_documents(dense, texts))
    saved["dense_passages"] = dense_docs
    saved["dense_examples"] = np.stack(h.embedding.embed_documents(dense, example_docs))
    saved["dense_queries"] = np.stack([next(iter(dense.query_embed(t))) for t in query_texts])
    stage("dense embeddings")

    colbert_docs = [np.asarray(m, dtype=np.float32) for m in h.embedding.embed_documents(colbert, texts)]
    saved["colbert_passages"], saved["colbert_passage_lengths"] = ragged(colbert_docs)
    saved["colbert_examples"], saved["colbert_example_lengths"] = ragged(
        h.embedding.embed_documents(colbert, example_docs))
    colbert_queries = [np.asarray(next(iter(colbert.query_embed(t))), dtype=np.float32) for t in query_texts]
    saved["colbert_queries"], saved["colbert_query_lengths"] = ragged(colbert_queries)
    stage("ColBERT embeddings")

    # Rankings over the fixed set (the vectors are unit length, so a dot product is the cosine).
    dense_scores = np.asarray(saved["dense_queries"][:N_QUERIES]) @ dense_docs.T
    packed = h.maxsim.pack_documents(colbert_docs)
    maxsim_scores = np.stack([h.maxsim.maxsim_scores(q, packed) for q in colbert_queries[:N_QUERIES]])
    saved["dense_scores"], saved["maxsim_scores"] = dense_scores.astype(np.float32), maxsim_scores
    saved["dense_top"] = np.stack([top_k(s, ids, TOP_K) for s in dense_scores])
    saved["maxsim_top"] = np.stack([top_k(s, ids, TOP_K) for s in maxsim_scores])
    candidates = np.stack([top_k(s, ids, n_candidates) for s in dense_scores])
    saved["candidates"] = candidates
    stage("rankings")

    by_id = dict(zip(ids, texts))
    logits = []
    for n, (query, row) in enumerate(zip(labelled, candidates)):
        logits.append(list(cross.rerank(query.text, [by_id[int(i)] for i in row], batch_size=1)))
        say(f"cross-encoder: query {n + 1} of {len(labelled)}")
    saved["logits"] = np.array(logits, dtype=np.float32)
    saved["rerank_top"] = np.stack([top_k(s, row, TOP_K) for s, row in zip(saved["logits"], candidates)])
    saved["logits_seed"] = np.array(list(cross.rerank(
        h.examples.SEED_QUERY, list(h.examples.SEED_DOCUMENTS), batch_size=1)), dtype=np.float32)
    saved["logits_pool"] = np.array(list(cross.rerank(
        h.examples.POOL_QUERY, list(h.examples.POOL_DOCUMENTS.values()), batch_size=1)), dtype=np.float32)
    stage("cross-encoder")

    # MUVERA: each token's SimHash bucket in each of the 20 repetitions, the dot products that
    # decide them (for near-boundary counts), and each passage's fixed-dimensional encoding.
    muvera = Muvera(dim=128)
    all_tokens = saved["colbert_passages"]
    saved["muvera_buckets"] = np.stack(
        [p.get_cluster_ids(all_tokens) for p in muvera.simhash_projections], axis=1).astype(np.uint8)
    saved["muvera_dots"] = np.concatenate(
        [all_tokens @ p.simhash_vectors for p in muvera.simhash_projections], axis=1).astype(np.float32)
    saved["muvera_fde"] = np.stack([muvera.process_document(m) for m in colbert_docs]).astype(np.float32)
    stage("MUVERA")

    # Token pooling: for every token of every passage, the index of the pooled vector it joins.
    for factor in POOL_FACTORS:
        labels = []
        for matrix in colbert_docs:
            label = np.empty(len(matrix), dtype=np.int32)
            for cluster, members in enumerate(h.pooling.token_clusters(matrix, factor)):
                label[members] = cluster
            labels.append(label)
        saved[f"pool{factor}_clusters"] = np.concatenate(labels)
    stage("token pooling")

    meta = {
        "python": platform.python_version(), "machine": platform.machine(), "threads": threads,
        "numpy": np.__version__, "onnxruntime": __import__("onnxruntime").__version__,
        "fastembed": __import__("fastembed").__version__, "standin_version": h.course.standins.STANDIN_VERSION,
        "profile": course.profile, "passages": n_passages, "candidates": n_candidates, "cpu_features": cpu_features(), "stages": stages,
    }
    saved["meta"] = np.array(json.dumps(meta))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **saved)
    os.replace(tmp, out)
    say(f"wrote {out} ({sum(stages.values()):.0f} s in all)")


def cpu_features() -> list[str]:
    """The CPU features numpy detected at run time (from CPUID on x86, the hwcaps on arm64)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return []
    found = sorted(name for name, present in features.items() if present)
    return found + (["hwcaps: " + " ".join(arm64_features())] if platform.machine() == "aarch64" else [])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="the .npz file to write")
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: fastembed's)")
    parser.add_argument("--passages", type=int, default=N_PASSAGES,
                        help=f"how many passages of the fixed set (default {N_PASSAGES}; fewer for emulated runs)")
    parser.add_argument("--candidates", type=int, default=N_CANDIDATES,
                        help=f"cross-encoder candidates per labelled query (default {N_CANDIDATES})")
    parser.add_argument("--hwcaps", action="store_true", help="print the arm64 CPU's feature names and exit")
    args = parser.parse_args()
    if args.hwcaps:
        print(" ".join(arm64_features()))
        return 0
    if args.out is None:
        parser.error("--out is required")
    os.environ["COURSE_MODELS"] = "offline"
    os.environ["COURSE_EMBEDDING_CACHE"] = "off"
    os.environ.setdefault("COURSE_STANDIN_CACHE", str(REPO / ".cache" / "standins"))
    say(f"probe on {platform.machine()}, Python {platform.python_version()}, threads {args.threads or 'default'}")
    probe(args.out, args.threads, args.passages, args.candidates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
