"""The late-interaction course's helpers: everything the notebooks import, nothing else.

Notebooks start with ``helpers.setup()``; see README.md for the model profiles.
"""

from .course import setup
from .models import COLBERT_MODEL, CROSS_ENCODER_MODEL, DENSE_MODEL
from .tables import table

__all__ = ["setup", "table", "DENSE_MODEL", "CROSS_ENCODER_MODEL", "COLBERT_MODEL"]
