"""helpers.docs_index: a documents folder in a qdrant-edge shard on disk, updated file by file."""

import pytest

import helpers
from helpers.docs_index import DocumentIndex, index_folder, index_root, point_id
from helpers.documents import read_documents, token_counter


@pytest.fixture(scope="module")
def models():
    from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding

    helpers.setup(quiet=True)
    return {"dense_model": TextEmbedding(helpers.DENSE_MODEL),
            "colbert_model": LateInteractionTextEmbedding(helpers.COLBERT_MODEL),
            "bm25_model": SparseTextEmbedding(helpers.models.BM25_MODEL)}


def test_index_folders_are_per_documents_folder_under_the_project_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DOCS_INDEX", raising=False)
    assert index_root().parts[-2:] == (".cache", "docs-index")
    a, b = index_folder(tmp_path / "notes"), index_folder(tmp_path / "other" / "notes")
    assert a != b and a.name.startswith("notes-") and a.parent == index_root()
    assert index_folder(tmp_path / "notes") == a  # stable
    monkeypatch.setenv("COURSE_DOCS_INDEX", str(tmp_path / "indexes"))
    assert index_root() == tmp_path / "indexes"
    assert point_id("a.md#1") == point_id("a.md#1") != point_id("a.md#2")


def test_update_adds_edits_and_deletes_file_by_file_and_survives_a_restart(tmp_path, models, monkeypatch):
    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path / "embeddings"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Gzip\n\nCompress a file with gzip.\n\nRead it back later.\n")
    (docs / "b.md").write_text("# Threads\n\nRun work in a background thread.\n")
    count = token_counter(models["dense_model"])
    reading = read_documents(docs, count, max_tokens=8)
    index = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    report = index.update(reading.passages)
    first_ids = {p.id for p in reading.passages}
    n = len(first_ids)
    assert n >= 3 and (report.added, report.removed, report.kept) == (n, 0, 0) and len(index) == n
    assert set(index.passages()) == first_ids
    assert str(report) == f"{n} passages indexed: {n} embedded and added, 0 unchanged, 0 removed"
    index.close()

    # a restart finds the index; edit one file, delete the other, add a third
    (docs / "a.md").write_text("# Gzip\n\nCompress a file with gzip.\n\nOr with bz2 instead.\n")
    (docs / "b.md").unlink()
    (docs / "c.md").write_text("Parse command line arguments.\n")
    reading = read_documents(docs, count, max_tokens=8)
    computed = []
    real_embed = models["dense_model"].passage_embed

    def counting(texts, **kwargs):
        computed.extend(texts)
        return real_embed(texts, **kwargs)

    monkeypatch.setattr(models["dense_model"], "passage_embed", counting)
    index = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    assert len(index) == n
    report = index.update(reading.passages)
    now_ids = {p.id for p in reading.passages}
    assert (report.added, report.removed, report.kept) == (len(now_ids - first_ids), len(first_ids - now_ids),
                                                           len(now_ids & first_ids))
    assert report.kept >= 1 and report.removed >= 2
    new_texts = sorted(p.text for p in reading.passages if p.id not in first_ids)
    assert sorted(computed) == new_texts and "Parse command line arguments." in new_texts  # only the new
    held = index.passages()
    assert set(held) == {p.id for p in reading.passages}
    assert {p.path for p in held.values()} == {"a.md", "c.md"}
    assert held[reading.passages[0].id].heading == "Gzip"
    index.close()


def test_a_passage_that_moved_within_its_file_gets_its_new_position_and_heading_not_new_vectors(
        tmp_path, models, monkeypatch):
    monkeypatch.setenv("COURSE_EMBEDDING_CACHE", str(tmp_path / "embeddings"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Gzip\n\nCompress a file with gzip.\n")
    count = token_counter(models["dense_model"])
    index = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    index.update(read_documents(docs, count).passages)
    # a new section above it: the old passage is now second, under another heading
    (docs / "a.md").write_text("# Bz2\n\nOr with bz2 instead.\n\n## Gzip\n\nCompress a file with gzip.\n")
    reading = read_documents(docs, count)
    old = next(p for p in reading.passages if p.text == "Compress a file with gzip.")
    computed = []
    real_embed = models["colbert_model"].passage_embed
    monkeypatch.setattr(models["colbert_model"], "passage_embed",
                        lambda texts, **kw: computed.extend(texts) or real_embed(texts, **kw))
    report = index.update(reading.passages)
    assert (report.added, report.kept, report.moved, report.removed) == (1, 1, 1, 0)
    assert str(report) == "2 passages indexed: 1 embedded and added, 1 unchanged (1 of them moved within their file), 0 removed"
    assert computed == ["Or with bz2 instead."]  # the moved passage kept its vectors
    assert index.passages()[old.id] == old and old.position == 1 and old.heading == "Gzip"
    assert index.update(reading.passages).moved == 0  # a second reading: nothing moves
    index.close()


def test_the_three_pipelines_equal_their_numpy_versions(tmp_path, models, monkeypatch):
    import numpy as np
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    from helpers.corpus import load_passages
    from helpers.pipelines import CorpusIndex, rrf

    docs = tmp_path / "docs"
    docs.mkdir()
    texts = [p.text for p in load_passages(60)]
    for i, text in enumerate(texts):
        (docs / f"p{i:02d}.txt").write_text(text)
    count = token_counter(models["dense_model"])
    reading = read_documents(docs, count)
    assert len(reading.passages) >= 60
    index = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    index.update(reading.passages)
    texts = [p.text for p in reading.passages]
    ours = CorpusIndex.build(texts, cross_encoder=TextCrossEncoder(helpers.CROSS_ENCODER_MODEL), **models)
    position = {p.id: i for i, p in enumerate(reading.passages)}
    for text in ["how do I compress a file with gzip", "parse command line arguments"]:
        query = index.embed_query(text)
        as_ids = lambda found: [position[p.id] for p, _ in found]  # noqa: E731
        assert as_ids(index.dense(query)) == [pid for pid, _ in ours.dense(query, 10)]
        fused = rrf(ours.dense(query, 100), ours.bm25(query, 100), limit=100)
        want = [pid for pid, _ in ours.maxsim(query, 10, candidates=[pid for pid, _ in fused])]
        assert as_ids(index.hybrid_colbert(query)) == want
        reranked = index.cross_encoder(query, ours.models["cross-encoder"])
        want = [pid for pid, _ in ours.rerank(query, [pid for pid, _ in ours.dense(query, 30)], 10)]
        assert as_ids(reranked) == want
        assert np.all(np.diff([s for _, s in reranked]) <= 0)
    with pytest.raises(ValueError, match="query text is empty"):
        index.embed_query("  ")
    index.close()


def test_other_weights_get_their_own_shard_and_share_the_judgements_folder(tmp_path, models, monkeypatch):
    import helpers.docs_index as docs_index
    import helpers.embedding_cache as embedding_cache

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Gzip\n\nCompress a file with gzip.\n")
    passages = read_documents(docs, token_counter(models["dense_model"])).passages
    index = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    index.update(passages)
    assert len(index) == len(passages) > 0
    index.close()
    # an index folder from before shard-<weights>/ held one shard/ for all weights: removed on opening
    (index.path / "shard" / "segments").mkdir(parents=True)
    # the same models: the same shard, reopened
    again = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    assert len(again) == len(passages) and not (index.path / "shard").exists()
    again.close()
    # other weights (the real models after the offline profile, say): another, empty shard in the same folder
    digest = docs_index.weights_digest(*models.values())
    monkeypatch.setattr(embedding_cache, "model_identity", lambda model: {"files": {"model.onnx": "other"}})
    assert docs_index.weights_digest(*models.values()) != digest
    other = DocumentIndex(docs, root=tmp_path / "indexes", **models)
    assert other.path == index.path and len(other) == 0
    assert sorted(p.name for p in index.path.iterdir()) == sorted(
        [f"shard-{digest}", f"shard-{docs_index.weights_digest(*models.values())}"])
    other.close()
