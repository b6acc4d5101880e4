"""Quality of the course's pipelines on the labelled query set (``make eval``; not a test).

Prints nDCG@10, recall@10 and MRR@10 (ranx, through ``helpers.evaluation``) of notebook 06's seven
pipelines over the whole corpus (2,458 passages), for the dev split, the test split and all
queries:

- BM25, dense, and ColBERT MaxSim over every passage;
- dense top 100 reranked by ColBERT; BM25 + dense fused by RRF, top 100, reranked by ColBERT;
- dense top N reranked by the cross-encoder (``--rerank-depth``, 30 by default); the hybrid top 100
  reranked by ColBERT, its top N by the cross-encoder.

The stages are ``helpers.CorpusIndex``'s, as in notebooks 06-10, so the numbers are the notebooks'
(the embeddings and cross-encoder scores come from the project's embedding cache when stored). The
model profile comes from COURSE_MODELS as in the notebooks; each line says which weights made it
(``helpers.label``).

    python tools/evaluate.py [--rerank-depth 30]
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rerank-depth", type=int, default=30, help="candidates the cross-encoder rescores")
    args = parser.parse_args()
    if args.rerank_depth < 10:
        parser.error("--rerank-depth must be at least 10 (the metrics look at the top 10)")

    import helpers
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    from helpers.corpus import load_passages
    from helpers.evaluation import METRICS, evaluate_run

    helpers.setup()
    start = time.perf_counter()
    index = helpers.CorpusIndex.build(
        [p.text for p in load_passages()],
        dense_model=TextEmbedding(helpers.DENSE_MODEL),
        colbert_model=LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
        bm25_model=SparseTextEmbedding(helpers.models.BM25_MODEL),
        cross_encoder=TextCrossEncoder(helpers.CROSS_ENCODER_MODEL),
    )
    queries = helpers.load_queries()
    embedded = dict(zip([q.id for q in queries], index.embed_queries([q.text for q in queries])))
    print(f"{len(index)} passages and {len(queries)} queries embedded in {time.perf_counter() - start:.0f} s")

    depth = args.rerank_depth
    pipelines = {
        f"BM25 [{helpers.label('bm25')}]": lambda e: index.bm25(e),
        f"dense [{helpers.label('dense')}]": lambda e: index.dense(e),
        f"ColBERT over all passages [{helpers.label('colbert')}]": None,  # all queries at once, below
        "dense 100 > ColBERT": lambda e: index.maxsim(e, candidates=index.dense(e, 100)),
        "hybrid 100 > ColBERT": lambda e: index.maxsim(e, candidates=index.hybrid(e, 100)),
        f"dense {depth} > cross-encoder [{helpers.label('cross-encoder')}]":
            lambda e: index.rerank(e, index.dense(e, depth)),
        f"hybrid 100 > ColBERT {depth} > cross-encoder":
            lambda e: index.rerank(e, index.maxsim(e, depth, candidates=index.hybrid(e, 100))),
    }
    start = time.perf_counter()
    runs = {}
    for name, search in pipelines.items():
        if search is None:
            rankings = index.maxsim_all([embedded[q.id] for q in queries])
            runs[name] = helpers.run_from_rankings(queries, rankings)
        else:
            runs[name] = helpers.run_pipeline(search, queries, embedded)
    print(f"seven pipelines ran in {time.perf_counter() - start:.0f} s\n")

    width = max(map(len, pipelines))
    print(f"{'pipeline':{width}s}  {'split':5s}  " + "  ".join(f"{m:>9s}" for m in METRICS))
    for name, run in runs.items():
        for split in ("dev", "test", "all"):
            chosen = [q for q in queries if split == "all" or q.split == split]
            scores = evaluate_run({q.id: run[q.id] for q in chosen}, chosen)
            print(f"{name:{width}s}  {split:5s}  " + "  ".join(f"{scores[m]:9.4f}" for m in METRICS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
