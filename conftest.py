"""Test-wide settings, loaded before anything is collected (notebooks included).

The committed notebook outputs come from the offline profile, so every test run uses it:
nbval's kernels inherit this process's environment. Tests that need the real models start
their own subprocess with the Hub settings (tests/test_hub.py).
"""

import atexit
import os
import shutil
import tempfile

os.environ["COURSE_MODELS"] = "offline"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# nbval records everything a cell displays, even a progress bar it later removes: no bars in tests
os.environ["COURSE_PROGRESS"] = "off"
# two test workers share two cores: ONNX Runtime's idle threads sleep instead of spinning
os.environ["COURSE_ORT_SPINNING"] = "off"
# and compute on one core's share each: N workers on N cores, one ONNX Runtime thread per worker (about
# 10% quicker than two threads each on 2 cores; helpers/runtime.py); nbval's kernels inherit it
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
if _WORKERS and "COURSE_ORT_THREADS" not in os.environ:
    os.environ["COURSE_ORT_THREADS"] = str(max(1, (os.cpu_count() or 1) // _WORKERS))
# notebook 11 reads its frozen sample, shows its static table (no widget frontend under nbval), and
# indexes into a fresh folder, so its "embedded and added" counts are the same on every run
os.environ.pop("COURSE_DOCS", None)
os.environ["COURSE_WIDGETS"] = "off"
_DOCS_INDEX = tempfile.mkdtemp(prefix="course-docs-index-")
os.environ["COURSE_DOCS_INDEX"] = _DOCS_INDEX
atexit.register(shutil.rmtree, _DOCS_INDEX, True)


import pytest  # noqa: E402

#: The corpus sample and queries the Qdrant tests share (tests/test_qdrant_search.py, tests/test_edge.py).
SMALL_CORPUS_SIZE = 120
SMALL_CORPUS_QUERIES = ["how do I compress a file with gzip", "parse command line arguments",
                        "read rows from a CSV file", "run a function in a background thread"]


@pytest.fixture(scope="session")
def small_corpus():
    """The first 120 corpus passages embedded by the dense and ColBERT models, and four queries.

    ``.multi``: one ``(n_doc_tokens, 128)`` matrix per passage; ``.dense``: one ``(384,)`` vector per
    passage; ``.queries``: ``(colbert_query, dense_query)`` pairs for SMALL_CORPUS_QUERIES.
    """
    from types import SimpleNamespace

    import helpers
    from fastembed import LateInteractionTextEmbedding, TextEmbedding
    from helpers.corpus import load_passages

    helpers.setup(quiet=True)
    colbert = LateInteractionTextEmbedding(helpers.COLBERT_MODEL)
    dense = TextEmbedding(helpers.DENSE_MODEL)
    texts = [p.text for p in load_passages(SMALL_CORPUS_SIZE)]
    return SimpleNamespace(
        texts=texts,
        multi=helpers.embed_documents(colbert, texts),
        dense=helpers.embed_documents(dense, texts),
        queries=[(next(colbert.query_embed(q)), next(dense.query_embed(q))) for q in SMALL_CORPUS_QUERIES],
    )
