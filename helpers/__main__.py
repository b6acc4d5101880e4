"""Command line: ``python -m helpers prefetch`` (what ``make prefetch`` runs) and, for maintainers,
``python -m helpers write-reference`` (store the offline graphs' outputs on the seed's texts as the
committed reference that every stand-in build is checked against)."""

import sys

from .models import prefetch
from .standins import write_reference

USAGE = ("usage: python -m helpers prefetch          (download the real models, report what is ready offline)\n"
         "       python -m helpers write-reference   (maintainers: rewrite helpers/data/standin_reference.npz)")

if sys.argv[1:] == ["prefetch"]:
    sys.exit(prefetch())
if sys.argv[1:] == ["write-reference"]:
    print(f"wrote {write_reference()}")
    sys.exit(0)
sys.exit(USAGE)
