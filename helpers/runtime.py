"""ONNX Runtime memory: give each batch's working memory back instead of keeping it.

By default ONNX Runtime serves a session's tensors from a CPU memory *arena*: memory it takes from
the system is kept for reuse and never returned while the session lives. So a fastembed model's
memory stays at the largest batch it has ever run. On the course corpus (1,000 passages, batches
of 32, length-sorted, up to 512 tokens) that was 1.6 GB for the ColBERT model alone, still held
after embedding finished, and every model in a kernel keeps its own (notebook 05 peaked at 3.4 GB).

Without the arena each tensor is allocated and freed as the graph runs: the memory follows the
batch being computed and goes back to the system afterwards. The vectors are bit-for-bit the
same (same kernels, same order of operations; ``tests/test_runtime.py`` checks it).

fastembed exposes exactly this switch: ``TextEmbedding(name, enable_cpu_mem_arena=False)`` (also
``LateInteractionTextEmbedding``, ``TextCrossEncoder`` and the others). The notebooks call
fastembed without options, as the original lesson does, and qdrant-client creates its own
fastembed models for ``models.Document``; :func:`limit_onnxruntime_memory` therefore changes the
option's *default* for every fastembed ONNX model created afterwards in this process. A model
created with ``enable_cpu_mem_arena=True`` still gets the arena.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings

_MARK = "_course_arena_default"


def limit_onnxruntime_memory() -> bool:
    """Make fastembed's ONNX sessions run without the CPU memory arena unless asked otherwise.

    Applies to models created after the call; idempotent. Returns False (and changes nothing)
    when fastembed is not installed or no longer has the hook this relies on.
    """
    try:
        from fastembed.common.onnx_model import OnnxModel
    except ImportError:
        return False
    current = OnnxModel.__dict__.get("_select_exposed_session_options")
    if not isinstance(current, classmethod) or "enable_cpu_mem_arena" not in getattr(
            OnnxModel, "EXPOSED_SESSION_OPTIONS", ()):
        return False
    if getattr(current.__func__, _MARK, False):
        return True
    select = current.__func__

    @functools.wraps(select)
    def select_with_arena_off(cls, model_kwargs):
        options = select(cls, model_kwargs)
        if "enable_cpu_mem_arena" in cls.EXPOSED_SESSION_OPTIONS:
            options.setdefault("enable_cpu_mem_arena", False)
        return options

    setattr(select_with_arena_off, _MARK, True)
    OnnxModel._select_exposed_session_options = classmethod(select_with_arena_off)
    add = OnnxModel.__dict__.get("add_extra_session_options")
    if isinstance(add, classmethod):
        add_options = add.__func__

        @functools.wraps(add_options)
        def add_spinning_choice(cls, session_options, extra_options):
            add_options(cls, session_options, extra_options)
            if not spinning_allowed():
                session_options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            threads = onnxruntime_threads()
            if threads and session_options.intra_op_num_threads == 0:  # 0: nobody passed threads=
                session_options.intra_op_num_threads = threads

        OnnxModel.add_extra_session_options = classmethod(add_spinning_choice)
    return True


#: ``COURSE_ORT_SPINNING=off``: ONNX Runtime's waiting threads sleep instead of spinning.
SPINNING_VARIABLE = "COURSE_ORT_SPINNING"


def spinning_allowed(environ=None) -> bool:
    """False when ``COURSE_ORT_SPINNING=off`` (the tests set it), else ONNX Runtime's default (True).

    Spinning threads poll for work between a model's operators. One kernel alone runs about 15%
    faster with them (one text at a time through bge-small on 2 cores: about 21 against 24 ms);
    two processes embedding at once on 2 cores run far slower with them (67 against 46 ms per
    text), because each process's spinning threads take the cores the other needs. The test
    workers are such processes. Same kernels and results either way: only how idle threads wait.
    """
    value = (os.environ if environ is None else environ).get(SPINNING_VARIABLE, "on").strip().lower()
    if value not in ("on", "off"):
        raise ValueError(f"{SPINNING_VARIABLE} must be 'on' or 'off', got {value!r}")
    return value == "on"


#: ``COURSE_ORT_THREADS=N``: each ONNX session computes on N threads (unset: ONNX Runtime's default,
#: one per core).
THREADS_VARIABLE = "COURSE_ORT_THREADS"


def onnxruntime_threads(environ=None) -> int | None:
    """The thread count :data:`THREADS_VARIABLE` asks for, or None (ONNX Runtime's default).

    The tests set it so that the test workers together use each core once: two workers on 2 cores
    embedding at once finished about 10% sooner with one thread each than with two each (two
    processes, 150 passages each through the ColBERT and cross-encoder graphs: 17 against 19 s).
    The outputs do not depend on it beyond about 1e-6 (``make check-cpus`` runs 1, 2 and 8
    threads). A model created with ``threads=`` keeps its own count.
    """
    value = (os.environ if environ is None else environ).get(THREADS_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_VARIABLE} must be a whole number of threads (1 or more), got {value!r}")
    return int(value)


def onnxruntime_memory_limited() -> bool:
    """True when :func:`limit_onnxruntime_memory` is in effect in this process."""
    try:
        from fastembed.common.onnx_model import OnnxModel
    except ImportError:
        return False
    current = OnnxModel.__dict__.get("_select_exposed_session_options")
    return bool(getattr(getattr(current, "__func__", None), _MARK, False))


def session_uses_arena(model) -> bool | None:
    """Whether a fastembed model's ONNX session uses the CPU memory arena (None: no session yet)."""
    session = getattr(getattr(model, "model", model), "model", None)
    if session is None or not hasattr(session, "get_session_options"):
        return None
    return bool(session.get_session_options().enable_cpu_mem_arena)


def limit_blas_threads(limit: int = 1):
    """Run numpy's BLAS (OpenBLAS) on ``limit`` threads from now on, in this process.

    OpenBLAS splits even small matrix products across all cores, and its threads wait for work
    by spinning. Qdrant's local mode scores MAX_SIM with thousands of small products; on a busy
    2-core machine (one other process running) notebook 05 then took 58-60 s instead of 16 s,
    and 43-60 s instead of 11 s while other sessions worked. Results do not change (OpenBLAS
    splits the output, not the sums). Returns threadpoolctl's limiter (its
    ``restore_original_limits()`` undoes this), or None when threadpoolctl is not installed.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=limit, user_api="blas")


#: Maintainers: ``COURSE_NOISE=1e-6 make check-noise`` perturbs every model output by that relative
#: amount, to find the cells that print digits the CPU decides (see :func:`add_output_noise`).
NOISE_VARIABLE = "COURSE_NOISE"
#: The noise's random seed (default 0): run ``make check-noise`` with a few seeds.
NOISE_SEED_VARIABLE = "COURSE_NOISE_SEED"


def noise_seed() -> int:
    import os

    return int(os.environ.get(NOISE_SEED_VARIABLE) or 0)


def output_noise(environ=None) -> float:
    """The relative noise :data:`NOISE_VARIABLE` asks for; 0.0 when unset. ``ValueError`` when not a number."""
    import os

    environ = os.environ if environ is None else environ
    value = (environ.get(NOISE_VARIABLE) or "").strip()
    if not value:
        return 0.0
    try:
        noise = float(value)
    except ValueError:
        raise ValueError(f"{NOISE_VARIABLE}={value!r} is not a number; use e.g. {NOISE_VARIABLE}=1e-6") from None
    if not 0 <= noise < 0.1:
        raise ValueError(f"{NOISE_VARIABLE}={value!r}: use a small relative amount such as 1e-6")
    return noise


def add_output_noise(relative: float, seed: int = 0) -> None:
    """Multiply every float output of every ONNX Runtime session by ``1 + relative * N(0, 1)``.

    A maintainer's test, never for lessons: differences between CPUs are of about 1e-6 (``make
    check-cpus``), so a cell whose output changes under ``relative=1e-6`` prints digits that another
    CPU may print differently. The embedding cache serves perturbed copies of what it holds and
    stores nothing while this is on (``helpers.embedding_cache``).
    """
    import numpy as np
    import onnxruntime

    session = onnxruntime.InferenceSession
    if getattr(session.run, "_course_noise", None) is not None:
        session.run._course_noise = relative
        return
    original = session.run
    rng = np.random.default_rng(seed)

    def run(self, *args, **kwargs):
        outputs = original(self, *args, **kwargs)
        return [o * (1 + run._course_noise * rng.standard_normal(o.shape)).astype(o.dtype)
                if isinstance(o, np.ndarray) and o.dtype.kind == "f" else o for o in outputs]

    run._course_noise = relative
    session.run = run


def perturb(arrays, relative: float, seed: int):
    """``arrays`` (a list of float arrays) each multiplied by ``1 + relative * N(0, 1)``, seeded."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [np.asarray(a) * (1 + relative * rng.standard_normal(np.shape(a))).astype(np.asarray(a).dtype)
            for a in arrays]


def quiet_libraries() -> None:
    """Silence library chatter that is not part of the lesson (version notices, ORT graph notes)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
    warnings.filterwarnings("ignore", message="IProgress not found")
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # errors only
    except ImportError:
        pass
