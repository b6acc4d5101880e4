"""Command line: ``python -m helpers prefetch`` (what ``make prefetch`` runs)."""

import sys

from .models import prefetch

if sys.argv[1:] != ["prefetch"]:
    sys.exit("usage: python -m helpers prefetch   (download the real models, report what is ready offline)")
sys.exit(prefetch())
