"""The one call at the top of every notebook: ``helpers.setup()``.

It picks the model profile (see :mod:`helpers.models`), points fastembed at the right
weights, sets display defaults that keep outputs short and stable, and prints one line
saying which models produced the outputs below it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import models, runtime, standins
from .runtime import quiet_libraries

#: Significant digits shown for floats (model scores are float32: more digits would show
#: noise that differs between CPUs).
SIGNIFICANT_DIGITS = 4

_MANAGED = ("FASTEMBED_CACHE_PATH", "HF_HUB_OFFLINE")


#: Short labels of the real models, shown next to their scores in the hub profile.
HUB_LABELS = {"dense": "bge-small-en-v1.5", "cross-encoder": "ms-marco-MiniLM-L-6-v2", "colbert": "colbertv2.0",
              "bm25": "BM25 (Qdrant/bm25)"}


@dataclass(frozen=True)
class Course:
    """What ``setup()`` chose. ``profile`` is ``"hub"`` or ``"offline"``."""

    profile: str
    requested: str
    reason: str
    models: tuple[str, ...]
    cache_dir: str | None  # where fastembed reads the models; None = fastembed's own default

    @property
    def stand_ins(self) -> bool:
        """True when any model is not the real course model (the offline profile)."""
        return self.profile == "offline"

    def label(self, role: str) -> str:
        """The short label of the weights behind ``role`` ("dense", "cross-encoder", "colbert", "bm25")."""
        if role == standins.BM25_ROLE:
            return standins.BM25_LABEL if self.stand_ins else HUB_LABELS[role]
        standin = standins.by_role(role)  # ValueError for an unknown role
        return standin.label if self.stand_ins else HUB_LABELS[role]

    def banner(self) -> str:
        if self.stand_ins:
            parts = " · ".join(f"{s.role}: {s.description}" for s in standins.STANDINS)
            parts += f" · bm25: {standins.BM25_DESCRIPTION}"
            return (f"Models, offline profile ({self.reason}): {parts}. "
                    "Scores below come from these weights, not from the course's exact models.")
        return f"Models, hub profile ({self.reason}): the real {', '.join(self.models)} via fastembed."


_CURRENT: Course | None = None


def label(role: str) -> str:
    """Short label of the weights that produced ``role``'s scores in this kernel.

    ``role`` is ``"dense"``, ``"cross-encoder"``, ``"colbert"`` or ``"bm25"``. Use it in every table header and
    figure title that shows a model's score, so that a stand-in's number never passes for the
    real model's. Raises ``RuntimeError`` before ``helpers.setup()``, ``ValueError`` for an
    unknown role.
    """
    if _CURRENT is None:
        raise RuntimeError("no model profile yet: call helpers.setup() first")
    return _CURRENT.label(role)


def apply_profile(decision: models.Decision) -> Course:
    """Point fastembed at the weights the profile calls for (environment variables only)."""
    global _CURRENT
    if decision.profile == "offline":
        cache = models.standin_cache_dir()
        standins.ensure_standins(cache)
        models.set_env("FASTEMBED_CACHE_PATH", str(cache))
        models.set_env("HF_HUB_OFFLINE", "1")
        _hub_offline_constant(True)
        _CURRENT = Course("offline", decision.requested, decision.reason, models.COURSE_MODELS, str(cache))
        return _CURRENT
    # hub: the learner's own settings, as they were before any earlier setup() in this process
    for name in _MANAGED:
        models.set_env(name, models.original_env(name))
    # fastembed looks in its cache before it asks the Hub, so cached models load offline as is
    _hub_offline_constant(os.environ.get("HF_HUB_OFFLINE") == "1")
    _CURRENT = Course("hub", decision.requested, decision.reason, models.COURSE_MODELS,
                      os.environ.get("FASTEMBED_CACHE_PATH"))
    return _CURRENT


def _hub_offline_constant(offline: bool) -> None:
    """huggingface_hub reads HF_HUB_OFFLINE once, at import; keep it in step if imported."""
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = offline


def format_float(value: float, digits: int = SIGNIFICANT_DIGITS) -> str:
    """``value`` to ``digits`` significant digits, always looking like a float: 1.0, 0.4884, 102.8."""
    text = f"{float(value):.{digits}g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def display_defaults(digits: int = SIGNIFICANT_DIGITS) -> None:
    """Stable, short output: floats to ``digits`` significant digits, PNG figures of fixed size."""
    import numpy as np

    fmt = lambda x: format_float(x, digits)  # noqa: E731
    np.set_printoptions(precision=digits, suppress=True, legacy="1.25", formatter={"float_kind": fmt})
    import matplotlib

    matplotlib.rcParams.update({
        "figure.figsize": (7.0, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "font.size": 10,
    })
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("png")
    plain = ip.display_formatter.formatters["text/plain"]
    text = lambda value, printer, cycle: printer.text(fmt(value))  # noqa: E731
    # each numpy float type defines its own __repr__, so each must be registered by name
    for kind in (float, np.float16, np.float32, np.float64, np.longdouble):
        plain.for_type(kind, text)
    # a figure's plain text (which nbval compares; Jupyter shows the PNG) says what data it draws
    from matplotlib.figure import Figure

    from .figures import figure_summary

    plain.for_type(Figure, lambda figure, printer, cycle: printer.text(figure_summary(figure)))


def setup(digits: int = SIGNIFICANT_DIGITS, quiet: bool = False) -> Course:
    """Select the model profile, set display defaults, print the one-line banner.

    The profile comes from the environment variable ``COURSE_MODELS`` (``auto``, ``hub`` or
    ``offline``; see the README). Returns the :class:`Course` it chose.
    """
    quiet_libraries()
    display_defaults(digits)
    runtime.limit_onnxruntime_memory()  # memory follows the batch, and goes back (helpers/runtime.py)
    runtime.limit_blas_threads()  # numpy on one thread: no spinning BLAS threads beside ONNX Runtime's
    noise = runtime.output_noise()
    if noise:  # maintainers' check for printed noise (make check-noise); never in lessons
        runtime.add_output_noise(noise, runtime.noise_seed())
    course = apply_profile(models.decide_profile())
    if not quiet:
        print(course.banner())
    return course
