"""Your documents' passages in Qdrant's engine, kept on disk so that a restart finds them indexed.

Notebook 11's index. ``DocumentIndex(folder, ...)`` opens, or creates, a qdrant-edge shard in the
project's ``.cache/docs-index/`` (one folder per documents folder, named after it plus a hash of its
absolute path; ``COURSE_DOCS_INDEX`` moves the root), never in the learner's folder and never in a
temporary folder. Each point holds a passage's dense (bge-small), ColBERT and BM25 vectors and its
payload (passage id, file, position, heading, text); the point id is a UUID derived from the passage
id (``helpers.documents``: path plus a hash of the text).

``update(passages)`` makes the shard match a new reading of the folder: it embeds and adds only the
passages whose ids the shard does not hold (a changed file's changed passages), and deletes the
points of passages that are gone. Embeddings go through the embedding cache one passage at a time,
so rebuilding the shard re-embeds nothing that was embedded before.

The shard lives in ``shard-<weights>/`` inside the index folder, ``<weights>`` a digest of the models'
files (:func:`weights_digest`): vectors made by one set of weights (the offline profile's) are never
searched with another's queries (the real models'), which would give no error, only wrong rankings.
Switching profiles builds (or reopens) the other shard; ``judgements.jsonl`` beside it is shared,
because a grade is about a passage's text, not about the weights that found it. An index folder from
before this layout holds one ``shard/`` for every set of weights: it is removed when the index opens
(its vectors are still in the embedding cache, so the new shard re-embeds nothing).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .documents import Passage

ROOT_VARIABLE = "COURSE_DOCS_INDEX"
_NAMESPACE = uuid.UUID("5f0c6a0e-7d1c-4b8e-9a57-3b1d2c4e6f80")  # fixed: the same passage id, the same point id


def index_root(environ: dict | None = None) -> Path:
    """Where document indexes live: ``$COURSE_DOCS_INDEX``, else ``.cache/docs-index`` in the project."""
    environ = os.environ if environ is None else environ
    if environ.get(ROOT_VARIABLE):
        return Path(environ[ROOT_VARIABLE]).expanduser()
    return Path(__file__).resolve().parent.parent / ".cache" / "docs-index"


def index_folder(folder: str | Path, root: Path | None = None) -> Path:
    """The index folder of a documents folder: its name plus a hash of its absolute path."""
    absolute = Path(folder).expanduser().resolve()
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:12]
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in absolute.name)[:40] or "root"
    return (root or index_root()) / f"{name}-{digest}"


def weights_digest(*models) -> str:
    """12 hex digits naming the weights behind ``models`` (fastembed models): each one's name, class
    and the SHA-256 of its files (``helpers.embedding_cache.model_identity``; the name and class alone
    when its files cannot be found, as for BM25, which has no weights)."""
    from .embedding_cache import model_identity

    digest = hashlib.sha256()
    for model in models:
        identity = model_identity(model) or {}
        digest.update(repr((getattr(model, "model_name", None), type(model).__qualname__,
                            sorted((identity.get("files") or {}).items()))).encode())
    return digest.hexdigest()[:12]


def point_id(passage_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, passage_id))


@dataclass(frozen=True)
class UpdateReport:
    added: int
    removed: int
    kept: int
    moved: int = 0  # of the kept: same text in the same file, at another position or under another heading

    def __str__(self) -> str:
        moved = f" ({self.moved:,} of them moved within their file)" if self.moved else ""
        return (f"{self.added + self.kept:,} passages indexed: {self.added:,} embedded and added, "
                f"{self.kept:,} unchanged{moved}, {self.removed:,} removed")


class DocumentIndex:
    """A documents folder's passages in a qdrant-edge shard on disk (see the module's docstring).

    ``dense_model``, ``colbert_model``, ``bm25_model``: the course's fastembed models, as notebook 06
    makes them. ``root``: where indexes live (default :func:`index_root`).
    """

    def __init__(self, folder: str | Path, *, dense_model, colbert_model, bm25_model, root: Path | None = None):
        from qdrant_edge import (Distance, EdgeConfig, EdgeShard, EdgeSparseVectorParams, EdgeVectorParams,
                                 HnswIndexConfig, Modifier, MultiVectorComparator, MultiVectorConfig)

        self.models = {"dense": dense_model, "colbert": colbert_model, "bm25": bm25_model}
        self.path = index_folder(folder, root)
        self._embedded: dict[str, object] = {}  # query text -> EmbeddedQuery, so no query is embedded twice
        no_graph = HnswIndexConfig(m=0, ef_construct=100, full_scan_threshold=10_000)
        config = EdgeConfig(
            vectors={"dense": EdgeVectorParams(size=384, distance=Distance.Cosine),
                     "colbert": EdgeVectorParams(size=int(colbert_model.embedding_size), distance=Distance.Dot,
                                                 hnsw_config=no_graph,
                         multivector_config=MultiVectorConfig(MultiVectorComparator.MaxSim))},
            sparse_vectors={"bm25": EdgeSparseVectorParams(modifier=Modifier.Idf)})
        shard_path = self.path / f"shard-{weights_digest(dense_model, colbert_model, bm25_model)}"
        legacy = self.path / "shard"  # one shard for every set of weights, before shard-<weights>/
        if legacy.is_dir():
            shutil.rmtree(legacy)  # only vectors, which the embedding cache still holds
        if shard_path.is_dir() and any(shard_path.iterdir()):
            self.shard = EdgeShard.load(str(shard_path))
        else:
            shard_path.mkdir(parents=True, exist_ok=True)
            self.shard = EdgeShard.create(str(shard_path), config)

    # --- contents ------------------------------------------------------------------------------------

    def passages(self) -> dict[str, Passage]:
        """Every indexed passage, by passage id (read from the shard's payloads)."""
        from qdrant_edge import ScrollRequest

        found: dict[str, Passage] = {}
        offset = None
        while True:
            records, offset = self.shard.scroll(ScrollRequest(limit=256, offset=offset, with_payload=True,
                                                              with_vector=False))
            for record in records:
                p = record.payload
                found[p["passage_id"]] = Passage(p["passage_id"], p["path"], int(p["position"]), p["heading"], p["text"])
            if offset is None:
                return found

    def __len__(self) -> int:
        return self.shard.info().points_count

    def update(self, passages: Sequence[Passage]) -> UpdateReport:
        """Make the index hold exactly ``passages``: embed and add the new ones, delete the gone ones,
        and rewrite the payload (position, heading) of a kept passage that moved within its file:
        its vectors depend on its text only, so it is not embedded again."""
        from qdrant_edge import UpdateOperation

        current = {p.id: p for p in passages}
        held = self.passages()
        new = [p for p in passages if p.id not in held]
        gone = sorted(set(held) - set(current))
        moved = [p for p in passages if p.id in held and held[p.id] != p]
        for start in range(0, len(new), 64):
            batch = new[start:start + 64]
            self.shard.update(UpdateOperation.upsert_points(self._points(batch)))
        for p in moved:
            self.shard.update(UpdateOperation.overwrite_payload([point_id(p.id)], _payload(p)))
        if gone:
            self.shard.update(UpdateOperation.delete_points([point_id(pid) for pid in gone]))
        self.shard.flush()
        return UpdateReport(added=len(new), removed=len(gone), kept=len(current) - len(new), moved=len(moved))

    def _points(self, passages: Sequence[Passage]) -> list:
        from qdrant_edge import Point, SparseVector

        texts = [p.text for p in passages]
        dense, colbert = (embed_passages(self.models[name], texts) for name in ("dense", "colbert"))
        sparse = list(self.models["bm25"].passage_embed(texts))
        return [Point(point_id(p.id),
                      {"dense": np.asarray(d, dtype=np.float32).tolist(),
                       "colbert": np.asarray(c, dtype=np.float32).tolist(),
                       "bm25": SparseVector(indices=s.indices.tolist(), values=s.values.tolist())},
                      _payload(p))
                for p, d, c, s in zip(passages, dense, colbert, sparse)]

    # --- search: the three pipelines notebook 11 shows side by side ---------------------------------

    def embed_query(self, text: str):
        """The query embedded by the three models: a :class:`helpers.pipelines.EmbeddedQuery`.
        Kept for the index's life (up to 1,000 queries), so a query searched again, or evaluated
        after it was searched, is not embedded again."""
        from .pipelines import EmbeddedQuery

        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"the query text is empty: {text!r}")
        if text in self._embedded:
            return self._embedded[text]
        if len(self._embedded) >= 1_000:
            self._embedded.clear()
        sparse = next(iter(self.models["bm25"].query_embed(text)))
        dense = next(iter(self.models["dense"].query_embed(text)))
        colbert = next(iter(self.models["colbert"].query_embed(text)))
        self._embedded[text] = EmbeddedQuery(text=text, dense=np.asarray(dense, dtype=np.float32),
                                             colbert=np.asarray(colbert, dtype=np.float32),
                                             bm25=dict(zip(sparse.indices.tolist(), sparse.values.tolist())))
        return self._embedded[text]

    def dense(self, query, limit: int = 10) -> list[tuple[Passage, float]]:
        """The dense top ``limit`` (cosine), exact."""
        from qdrant_edge import Query, QueryRequest

        return self._found(QueryRequest(limit=limit, query=Query.Nearest(query.dense.tolist(), using="dense"),
                                        params=_exact(), with_payload=True))

    def hybrid_colbert(self, query, limit: int = 10, candidates: int = 100) -> list[tuple[Passage, float]]:
        """The dense and BM25 top ``candidates`` fused by Qdrant's RRF (its default k), then reranked
        by ColBERT's MaxSim: one engine query, as notebook 07 builds it."""
        from qdrant_edge import Fusion, Prefetch, Query, QueryRequest, SparseVector

        sparse = SparseVector(indices=list(query.bm25), values=[float(v) for v in query.bm25.values()])
        first = [Prefetch(candidates, Query.Nearest(query.dense.tolist(), using="dense"), params=_exact()),
                 Prefetch(candidates, Query.Nearest(sparse, using="bm25"), params=_exact())]
        fused = Prefetch(candidates, Fusion.Rrf(k=2), prefetches=first)
        return self._found(QueryRequest(limit=limit, prefetches=[fused], with_payload=True, params=_exact(),
                                        query=Query.Nearest(query.colbert.tolist(), using="colbert")))

    def cross_encoder(self, query, cross_encoder, limit: int = 10, candidates: int = 30) -> list[tuple[Passage, float]]:
        """The dense top ``candidates`` reranked by the cross-encoder (its logits as scores; one pair
        per model pass, cached per pair: ``helpers.pipelines.cross_encoder_scores``)."""
        from .pipelines import cross_encoder_scores

        found = self.dense(query, limit=candidates)
        if not found:
            return []
        logits = cross_encoder_scores(cross_encoder, query.text, [p.text for p, _ in found]).tolist()
        order = sorted(range(len(found)), key=lambda i: (-logits[i], i))[:limit]
        return [(found[i][0], float(logits[i])) for i in order]

    def _found(self, request) -> list[tuple[Passage, float]]:
        found = []
        for point in self.shard.query(request):
            p = point.payload
            found.append((Passage(p["passage_id"], p["path"], int(p["position"]), p["heading"], p["text"]),
                          float(point.score)))
        return found

    def close(self) -> None:
        self.shard.close()


def _payload(p: Passage) -> dict:
    return {"passage_id": p.id, "path": p.path, "position": p.position, "heading": p.heading, "text": p.text}


def _exact():
    from qdrant_edge import SearchParams

    return SearchParams(exact=True)


def embed_passages(model, texts: list[str]) -> list[np.ndarray]:
    """``model.passage_embed`` of each text, one at a time, as the index embeds them: one
    ``(dim,)`` vector (dense) or ``(n_doc_tokens, dim)`` matrix (ColBERT) per text. Cached one
    passage per entry, so an edited file's unchanged passages come back from the cache."""
    from . import embedding_cache
    from .embedding import BATCHING

    def compute(positions: list[int]) -> list[np.ndarray]:
        return [next(iter(model.passage_embed([texts[i]]))) for i in positions]

    settings = {"method": "passage_embed", "batch_size": 1, "batching": BATCHING}
    return embedding_cache.cached_unless_off(model, texts, settings, compute, None, chunk_size=1,
                                             description=f"Embedding {len(texts):,} passages")
