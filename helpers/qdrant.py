"""The Qdrant client the notebooks use: embedded by default, a server or cluster by URL.

=====================  =====================================================================
``QDRANT_URL``         a Qdrant server or cluster, e.g. ``http://localhost:6333`` or a Qdrant
                       Cloud URL; unset (the default): Qdrant embedded in the notebook's process
``QDRANT_API_KEY``     the key for that server (optional)
``COURSE_QDRANT_PATH``  embedded mode only: keep the data in this folder instead of in memory
=====================  =====================================================================

Taught in notebook 05 (``notebooks/05-multi-vector-in-qdrant.ipynb``).
"""

from __future__ import annotations

import os

URL_VARIABLE = "QDRANT_URL"
API_KEY_VARIABLE = "QDRANT_API_KEY"
PATH_VARIABLE = "COURSE_QDRANT_PATH"

# One client per location for the whole kernel: embedded Qdrant on a folder holds a lock on it,
# so a second client on the same folder (a re-run cell) would fail.
_CLIENTS: dict[tuple[str, str], object] = {}


def describe_location(environ: dict | None = None) -> tuple[str, str]:
    """``(mode, where)`` the environment asks for: ``("server", url)``, ``("embedded", path)``
    or ``("embedded", ":memory:")``."""
    environ = os.environ if environ is None else environ
    url = (environ.get(URL_VARIABLE) or "").strip()
    if url:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{URL_VARIABLE}={url!r} is not a URL; expected http(s)://host:port")
        return "server", url
    path = (environ.get(PATH_VARIABLE) or "").strip()
    return "embedded", path or ":memory:"


def qdrant_client(quiet: bool = False):
    """A ``qdrant_client.QdrantClient`` for the notebooks, chosen from the environment (see above).

    Repeated calls in one process return the same client for the same location, so re-running a
    cell neither fails on the embedded storage lock nor loses the collections. Prints which
    Qdrant it chose unless ``quiet``.
    """
    from qdrant_client import QdrantClient

    mode, where = describe_location()
    key = (mode, where)
    client = _CLIENTS.get(key)
    if client is None:
        if mode == "server":
            client = QdrantClient(url=where, api_key=os.environ.get(API_KEY_VARIABLE) or None)
        elif where == ":memory:":
            client = QdrantClient(location=":memory:")
        else:
            client = QdrantClient(path=where)
        _CLIENTS[key] = client
    if not quiet:
        if mode == "server":
            auth = "with an API key" if os.environ.get(API_KEY_VARIABLE) else "without an API key"
            print(f"Qdrant: server at {where} ({auth})")
        elif where == ":memory:":
            print("Qdrant: embedded in this notebook, in memory (set QDRANT_URL to use a server)")
        else:
            print(f"Qdrant: embedded in this notebook, stored in {where} (set QDRANT_URL to use a server)")
    return client


def recreate_collection(client, name: str, **config) -> None:
    """Create collection ``name`` afresh (deleting an earlier one), so re-running a notebook
    starts from the same state. ``config`` goes to ``client.create_collection``."""
    if client.collection_exists(name):
        client.delete_collection(name)
    client.create_collection(name, **config)
