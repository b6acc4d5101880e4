"""Build helpers/data/stdlib_passages.jsonl.gz: English passages from Python's standard library docstrings.

The course measures multi-vector costs (notebook 04) and two-stage retrieval (notebook 05) on real
English text rather than random words. The passages are generated once from the docstrings of
well-documented standard-library modules and committed, so every machine (whatever its Python patch
release) sees the same corpus. Python's documentation is under the PSF licence.

    python tools/build_corpus.py        # rewrite the file; prints how many passages it kept
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import json
import random
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "helpers" / "data" / "stdlib_passages.jsonl.gz"

MODULES = """
abc argparse ast asyncio.base_events asyncio.events asyncio.locks asyncio.queues asyncio.streams
asyncio.tasks base64 bisect bz2 calendar cmd codecs collections concurrent.futures configparser
contextlib copy csv dataclasses datetime decimal difflib doctest email.message email.parser enum
filecmp fnmatch fractions ftplib functools getopt gettext glob gzip hashlib heapq hmac html.parser
http.client http.cookies http.server imaplib inspect io ipaddress itertools json json.decoder
json.encoder locale logging logging.handlers lzma mailbox mimetypes multiprocessing.pool
multiprocessing.managers netrc numbers operator optparse os pathlib pdb pickle pkgutil platform
plistlib poplib pprint profile pstats queue quopri random re sched secrets selectors shelve shlex
shutil signal smtplib socket socketserver sqlite3 ssl statistics string struct subprocess symtable
tarfile tempfile textwrap threading timeit tokenize trace traceback turtle typing unittest.case
unittest.mock urllib.parse urllib.request uuid warnings weakref wsgiref.simple_server
xml.dom.minidom xml.etree.ElementTree zipfile zoneinfo
""".split()

MIN_WORDS, MAX_WORDS = 6, 320


def docstrings(module):
    yield module.__name__, inspect.getdoc(module)
    for name, member in sorted(vars(module).items()):
        if name.startswith("_") or getattr(member, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(member) or inspect.isfunction(member):
            yield f"{module.__name__}.{name}", inspect.getdoc(member)
        if inspect.isclass(member):
            for attr, value in sorted(vars(member).items()):
                if not attr.startswith("_") and inspect.isfunction(value):
                    yield f"{module.__name__}.{name}.{attr}", inspect.getdoc(value)


def clean(text: str) -> str:
    """One passage of prose: keep paragraphs until MAX_WORDS, drop doctest and code lines."""
    kept, words = [], 0
    for para in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in para.splitlines() if not ln.strip().startswith((">>>", "..."))]
        para = " ".join(ln for ln in lines if ln)
        n = len(para.split())
        if not n or (kept and words + n > MAX_WORDS):
            break
        kept.append(para)
        words += n
    return " ".join(kept)


def main() -> None:
    seen, passages = set(), []
    for name in MODULES:
        module = importlib.import_module(name)
        for source, doc in docstrings(module):
            if not doc:
                continue
            text = clean(doc)
            n = len(text.split())
            if MIN_WORDS <= n <= MAX_WORDS and text not in seen:
                seen.add(text)
                passages.append({"source": source, "text": text})
    # shuffled once, with a fixed seed, so that any prefix of the corpus is a varied sample
    random.Random(0).shuffle(passages)
    passages = [{"id": i, **p} for i, p in enumerate(passages)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as fh:
        for p in passages:
            fh.write((json.dumps(p, ensure_ascii=False) + "\n").encode("utf-8"))
    lengths = sorted(len(p["text"].split()) for p in passages)
    print(f"{len(passages)} passages from {len(MODULES)} modules (Python {sys.version.split()[0]}); "
          f"words per passage: min {lengths[0]}, median {lengths[len(lengths) // 2]}, max {lengths[-1]}; "
          f"{OUT.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
