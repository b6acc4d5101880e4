"""Progress bars for long work (embedding the corpus, cross-encoder scores, MUVERA, pooling).

In JupyterLab a bar shows what is computed, how far it is and the time left (tqdm's notebook
widget); in a terminal it is tqdm's text bar on stderr. A bar appears only when the work has
already taken ``delay`` seconds, so quick and cached steps show nothing.

Committed notebook outputs must not hold bars: nbval and ``make outputs`` record everything a cell
displays, even what is cleared later. ``COURSE_PROGRESS=off`` (set by ``conftest.py`` for the
tests and by ``tools/run_notebooks.py``) turns every bar off.
"""

from __future__ import annotations

import os

#: The environment variable that turns the bars off (``off``, ``0``, ``false``, ``no``).
PROGRESS_VARIABLE = "COURSE_PROGRESS"
OFF_VALUES = ("off", "0", "false", "no", "none")
#: Seconds of work before a bar appears.
DELAY_SECONDS = 2.0


def progress_enabled(environ=None) -> bool:
    """False when :data:`PROGRESS_VARIABLE` says ``off`` (tests, ``make outputs``)."""
    environ = os.environ if environ is None else environ
    return (environ.get(PROGRESS_VARIABLE) or "").strip().lower() not in OFF_VALUES


def progress_bar(total: int, description: str, *, unit: str = "text", initial: int = 0,
                 delay: float | None = None):
    """A tqdm bar for ``total`` items (``update(n)``, ``close()``), or a silent one when bars are off.

    ``delay``: seconds before it appears (default :data:`DELAY_SECONDS`).
    """
    from tqdm.auto import tqdm

    delay = DELAY_SECONDS if delay is None else delay
    return tqdm(total=total, desc=description, unit=unit, initial=initial, delay=delay,
                disable=not progress_enabled(), leave=False, dynamic_ncols=True)
