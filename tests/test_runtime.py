"""limit_onnxruntime_memory: fastembed sessions without the CPU arena, and the very same vectors."""

import re

import numpy as np
import pytest

import helpers
from helpers.runtime import (limit_blas_threads, limit_onnxruntime_memory, onnxruntime_memory_limited,
                             session_uses_arena)

TEXTS = ["how do I compress a file with gzip",
         "Return a new array of given shape and type, filled with zeros. " * 12,  # a longer one
         "short", ""]


@pytest.fixture(scope="module")
def course():
    helpers.setup(quiet=True)
    assert limit_onnxruntime_memory() is True


@pytest.mark.parametrize("kind", ["colbert", "dense"])
def test_default_sessions_have_no_arena_and_compute_the_same_vectors(course, kind):
    from fastembed import LateInteractionTextEmbedding, TextEmbedding

    cls, name = {"colbert": (LateInteractionTextEmbedding, helpers.COLBERT_MODEL),
                 "dense": (TextEmbedding, helpers.DENSE_MODEL)}[kind]
    without_arena = cls(name)
    with_arena = cls(name, enable_cpu_mem_arena=True)  # an explicit choice still wins
    assert session_uses_arena(without_arena) is False
    assert session_uses_arena(with_arena) is True
    for batch_size in (1, 4):
        a = list(without_arena.passage_embed(TEXTS, batch_size=batch_size))
        b = list(with_arena.passage_embed(TEXTS, batch_size=batch_size))
        assert len(a) == len(b) == len(TEXTS)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)  # bit for bit, not approximately


def test_idempotent(course):
    assert limit_onnxruntime_memory() is True
    assert limit_onnxruntime_memory() is True
    assert onnxruntime_memory_limited()
    from fastembed.common.onnx_model import OnnxModel

    assert OnnxModel._select_exposed_session_options({}) == {"enable_cpu_mem_arena": False}
    assert OnnxModel._select_exposed_session_options({"enable_cpu_mem_arena": True, "threads": 2}) == {
        "enable_cpu_mem_arena": True}


def test_the_cross_encoder_gets_it_too(course):
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    assert session_uses_arena(TextCrossEncoder(helpers.CROSS_ENCODER_MODEL)) is False


def test_no_session_yet_is_reported_as_unknown():
    assert session_uses_arena(object()) is None


def test_one_blas_thread_computes_the_same_products():
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    query, documents = rng.standard_normal((32, 128), np.float32), rng.standard_normal((4000, 128), np.float32)
    before = documents @ query.T
    limiter = limit_blas_threads()
    try:
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
        np.testing.assert_array_equal(documents @ query.T, before)
    finally:
        limiter.restore_original_limits()


def _spinning_entry(model) -> str:
    session = model.model.model  # fastembed model -> its ONNX model -> the InferenceSession
    return session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")


@pytest.mark.parametrize("setting, expected", [("off", "0"), ("on", None)])
def test_course_ort_spinning_sets_how_idle_threads_wait(course, monkeypatch, setting, expected):
    from fastembed import TextEmbedding

    monkeypatch.setenv("COURSE_ORT_SPINNING", setting)
    model = TextEmbedding(helpers.DENSE_MODEL)
    if expected is None:  # ONNX Runtime's own default: no entry written
        with pytest.raises(Exception):
            _spinning_entry(model)
    else:
        assert _spinning_entry(model) == expected


def test_course_ort_spinning_rejects_other_values():
    from helpers.runtime import spinning_allowed

    assert spinning_allowed({}) is True and spinning_allowed({"COURSE_ORT_SPINNING": "OFF"}) is False
    with pytest.raises(ValueError, match="COURSE_ORT_SPINNING must be 'on' or 'off', got 'no'"):
        spinning_allowed({"COURSE_ORT_SPINNING": "no"})


@pytest.mark.parametrize("setting, passed, expected", [("1", None, 1), ("3", None, 3), ("", None, 0), ("1", 2, 2)])
def test_course_ort_threads_sets_the_sessions_thread_count_unless_the_model_gives_one(
        course, monkeypatch, setting, passed, expected):
    from fastembed import TextEmbedding

    monkeypatch.setenv("COURSE_ORT_THREADS", setting)
    model = TextEmbedding(helpers.DENSE_MODEL, threads=passed)
    assert model.model.model.get_session_options().intra_op_num_threads == expected  # 0: ONNX Runtime's default


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_course_ort_threads_rejects_anything_but_a_positive_whole_number(value):
    from helpers.runtime import onnxruntime_threads

    assert onnxruntime_threads({}) is None and onnxruntime_threads({"COURSE_ORT_THREADS": " 2 "}) == 2
    with pytest.raises(ValueError, match=f"COURSE_ORT_THREADS must be a whole number of threads \\(1 or more\\), "
                                         f"got '{re.escape(value)}'"):
        onnxruntime_threads({"COURSE_ORT_THREADS": value})
