"""Quality of the course's three models on the labelled query set (``make eval``; not a test).

Prints nDCG@10, recall@10 and MRR@10 (ranx, through ``helpers.evaluation``) of:

- dense: the dense model's query vector against every passage (dot product);
- ColBERT: MaxSim of the query's token vectors against every passage (``helpers.maxsim_scores``);
- dense top-30 reranked by the cross-encoder.

over the whole corpus (2,458 passages), for the dev split, the test split and all queries. The
model profile comes from COURSE_MODELS as in the notebooks; each column says which weights
made it (``helpers.label``).

    python tools/evaluate.py [--split all|dev|test] [--rerank-depth 30]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rerank-depth", type=int, default=30)
    args = parser.parse_args()

    import helpers
    from fastembed import LateInteractionTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    from helpers.corpus import load_passages
    from helpers.evaluation import METRICS, evaluate_run
    from helpers.queries import load_queries

    helpers.setup()
    passages = load_passages()
    texts = [p.text for p in passages]
    queries = load_queries()
    dense = TextEmbedding(helpers.DENSE_MODEL)
    colbert = LateInteractionTextEmbedding(helpers.COLBERT_MODEL)
    cross = TextCrossEncoder(helpers.CROSS_ENCODER_MODEL)

    start = time.perf_counter()
    dense_docs = np.stack(helpers.embed_documents(dense, texts))
    packed = helpers.pack_documents(helpers.embed_documents(colbert, texts))
    print(f"embedded {len(texts)} passages in {time.perf_counter() - start:.0f} s; {len(queries)} queries")

    runs: dict[str, dict] = {"dense": {}, "colbert": {}, "rerank": {}}
    for q in queries:
        dense_scores = dense_docs @ next(dense.query_embed(q.text))
        runs["dense"][q.id] = dict(enumerate(dense_scores.tolist()))
        colbert_scores = helpers.maxsim_scores(next(colbert.query_embed(q.text)), packed)
        runs["colbert"][q.id] = dict(enumerate(colbert_scores.tolist()))
        top = np.argsort(-dense_scores)[: args.rerank_depth]
        # shortest first, in small batches: a batch pads to its longest pair, so this is far less work
        # (the int8 model quantizes activations per batch, so logits can move in the last digits)
        top = sorted(top, key=lambda i: len(texts[i]))
        logits = list(cross.rerank(q.text, [texts[i] for i in top], batch_size=8))
        # reranked candidates above every other passage, in the cross-encoder's order
        runs["rerank"][q.id] = {int(i): 1000.0 + s for i, s in zip(top, logits)}

    names = {
        "dense": f"dense [{helpers.label('dense')}]",
        "colbert": f"ColBERT MaxSim [{helpers.label('colbert')}]",
        "rerank": f"dense top-{args.rerank_depth} + cross-encoder [{helpers.label('cross-encoder')}]",
    }
    width = max(map(len, names.values()))
    print(f"\n{'pipeline':{width}s}  {'split':5s}  " + "  ".join(f"{m:>9s}" for m in METRICS))
    for key, name in names.items():
        for split in ("dev", "test", "all"):
            chosen = [q for q in queries if split == "all" or q.split == split]
            scores = evaluate_run({q.id: runs[key][q.id] for q in chosen}, chosen)
            print(f"{name:{width}s}  {split:5s}  " + "  ".join(f"{scores[m]:9.3f}" for m in METRICS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
