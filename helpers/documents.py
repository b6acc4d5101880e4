"""Your own documents as passages: read a folder, cut each file at its headings and paragraphs.

Notebook 11 indexes a folder of the learner's files. ``read_documents(folder, count_tokens)`` reads it
recursively: text (``.txt``), Markdown (``.md``), reStructuredText (``.rst``), HTML (``.html``),
Python (``.py``), notebooks (``.ipynb``) and PDF (``.pdf``, through pypdf). Each file is cut into
*sections* at its headings (Markdown and RST headings, HTML ``h1``-``h3``, Python's top-level
``def`` and ``class``, a PDF's pages), each section into paragraphs, and paragraphs are packed into
passages of at most ``max_tokens`` BERT tokens (180 by default, well under the 512 any of the course's
models reads, so no model truncates a passage). A paragraph longer than that is cut at sentence ends,
and a sentence longer than that at word boundaries.

Every passage keeps its file (relative to the folder), its position in that file and the heading above
it, and gets a stable id: the path plus a hash of its text, so a judgement of a passage survives
re-indexing as long as the passage's text is unchanged.

Files that cannot be read are skipped, each with one line saying which and why (missing folder,
unreadable, binary, not UTF-8, empty, over 5 MB, an encrypted, image-only or broken PDF); never a
traceback. Files of other types are counted, not listed.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable

MAX_TOKENS = 180
MAX_BYTES = 5 * 2**20
KINDS = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".rst": "rst",
         ".html": "html", ".htm": "html", ".py": "python", ".ipynb": "notebook", ".pdf": "pdf"}
IGNORED_FOLDERS = {".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints", "node_modules", ".venv", ".cache"}


@dataclass(frozen=True)
class Passage:
    """One passage: ``id`` (``path#hash``), ``path`` (relative to the folder read), ``position`` (0,
    1, ... within its file), ``heading`` (the nearest heading above it, or ``""``) and ``text``."""

    id: str
    path: str
    position: int
    heading: str
    text: str


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


@dataclass
class Reading:
    """What ``read_documents`` found: the passages, the files skipped (and why), the files read."""

    folder: str
    passages: list[Passage] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files_read: int = 0
    other_files: int = 0

    def summary(self) -> str:
        """One line: how many passages from how many files, and what was left out."""
        # the folder's name only: a full path would differ from machine to machine
        parts = [f"{len(self.passages):,} passages from {self.files_read:,} files in {Path(self.folder).name}/"]
        if self.skipped:
            parts.append(f"{len(self.skipped):,} skipped (listed above)")
        if self.other_files:
            parts.append(f"{self.other_files:,} files of other types ignored")
        return "; ".join(parts)


def read_documents(folder: str | Path, count_tokens: Callable[[str], int], *, max_tokens: int = MAX_TOKENS,
                   max_bytes: int = MAX_BYTES) -> Reading:
    """Every supported file under ``folder`` as passages (see the module's docstring).

    ``count_tokens(text)`` returns the number of BERT word pieces of ``text`` without special tokens,
    for example :func:`token_counter` of a course model. Files are read in sorted path order, so the
    result does not depend on the file system's order. Raises ``ValueError`` only for a
    ``max_tokens`` below 3; every problem with the folder or a file is reported in
    ``Reading.skipped``.
    """
    if max_tokens < 3:
        raise ValueError(f"max_tokens must be at least 3, got {max_tokens}")
    root = Path(folder).expanduser()
    reading = Reading(str(folder))
    if not root.is_dir():
        reason = "is a file, not a folder" if root.exists() else "does not exist"
        reading.skipped.append(Skipped(str(folder), f"the folder {reason}"))
        return reading
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part in IGNORED_FOLDERS for part in p.relative_to(root).parts[:-1]))
    for path in files:
        relative = path.relative_to(root).as_posix()
        kind = KINDS.get(path.suffix.lower())
        if kind is None:
            reading.other_files += 1
            continue
        try:
            sections = _read_sections(path, kind, max_bytes)
        except _Skip as why:
            reading.skipped.append(Skipped(relative, str(why)))
            continue
        texts = [(heading, text) for heading, block in sections
                 for text in pack(paragraphs(block), count_tokens, max_tokens)]
        if not texts:
            reading.skipped.append(Skipped(relative, "no text in it"))
            continue
        reading.files_read += 1
        seen: dict[str, int] = {}
        for position, (heading, text) in enumerate(texts):
            base = f"{relative}#{hashlib.sha256(text.encode()).hexdigest()[:16]}"
            seen[base] = seen.get(base, 0) + 1
            passage_id = base if seen[base] == 1 else f"{base}~{seen[base]}"  # the same text twice in a file
            reading.passages.append(Passage(passage_id, relative, position, heading, text))
    return reading


def token_counter(model) -> Callable[[str], int]:
    """``count_tokens`` for :func:`read_documents` from a fastembed model (any of the course's: they
    share one WordPiece vocabulary): word pieces of a text, special tokens not counted."""
    tokenizer = model.model.tokenizer
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


# --- cutting ----------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def paragraphs(block: str) -> list[str]:
    """A block of text as paragraphs: split at blank lines, each stripped of blank space at its ends and
    at the ends of its lines (line breaks are kept: in code they matter)."""
    return ["\n".join(line.rstrip() for line in part.strip("\n").split("\n")).strip()
            for part in re.split(r"\n[ \t]*\n", block) if part.strip()]


def pack(parts: list[str], count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Paragraphs packed greedily into passages of at most ``max_tokens`` tokens; a paragraph that is
    too long on its own is cut at sentence ends, then at word boundaries."""
    pieces = [piece for part in parts for piece in _split_long(part, count_tokens, max_tokens)]
    return _greedy(pieces, "\n\n", count_tokens, max_tokens)


def _greedy(pieces: list[str], joiner: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """Consecutive pieces joined by ``joiner`` while the result stays within ``max_tokens``."""
    merged, current = [], ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if current and count_tokens(candidate) > max_tokens:
            merged.append(current)
            current = piece
        else:
            current = candidate
    if current:
        merged.append(current)
    return merged


def _split_long(text: str, count_tokens: Callable[[str], int], max_tokens: int) -> list[str]:
    """``text`` as pieces within ``max_tokens``: cut at sentence ends, then at spaces, then (one
    enormous "word") into runs of characters."""
    if count_tokens(text) <= max_tokens:
        return [text]
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:
        pieces = [piece for sentence in sentences for piece in _split_long(sentence, count_tokens, max_tokens)]
        return _greedy(pieces, " ", count_tokens, max_tokens)
    words = text.split(" ") if " " in text else text.split()  # spaces only: a line break stays in its word
    if len(words) == 1:
        size = max(1, len(text) * max_tokens // (2 * count_tokens(text)))
        return [text[i:i + size] for i in range(0, len(text), size)]
    pieces = [piece for word in words for piece in _split_long(word, count_tokens, max_tokens)]
    return _greedy(pieces, " ", count_tokens, max_tokens)


# --- reading one file ---------------------------------------------------------------------------------

class _Skip(Exception):
    """A file that cannot be read; the message says why."""


def _read_sections(path: Path, kind: str, max_bytes: int) -> list[tuple[str, str]]:
    """``[(heading, block of text), ...]`` of one file, or ``_Skip``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _Skip(f"larger than {max_bytes / 2**20:g} MB ({size / 2**20:.1f} MB)")
        if size == 0:
            raise _Skip("empty file")
        data = path.read_bytes()
    except OSError as error:
        raise _Skip(f"cannot be read ({error.strerror or type(error).__name__})") from None
    if kind == "pdf":
        return _pdf_sections(data)
    if b"\x00" in data[:8192]:
        raise _Skip("binary, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _Skip(f"not UTF-8 text (byte {error.start})") from None
    if not text.strip():
        raise _Skip("empty file")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return {"text": lambda t: [("", t)], "markdown": _markdown_sections, "rst": _rst_sections,
            "html": _html_sections, "python": _python_sections, "notebook": _notebook_sections}[kind](text)


_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _markdown_sections(text: str, heading: str = "") -> list[tuple[str, str]]:
    sections, lines, fenced = [], [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _ATX.match(line)
        if match:
            sections.append((heading, "\n".join(lines)))
            heading, lines = match.group(2), []
        else:
            lines.append(line)
    sections.append((heading, "\n".join(lines)))
    return [(h, b) for h, b in sections if b.strip()]


_RST_UNDERLINE = re.compile(r"""^([=\-~^"'`*+#:.])\1{2,}\s*$""")


def _rst_sections(text: str) -> list[tuple[str, str]]:
    lines = text.split("\n")
    sections, heading, block, i = [], "", [], 0
    while i < len(lines):
        line = lines[i]
        below = lines[i + 1] if i + 1 < len(lines) else ""
        if (line.strip() and not _RST_UNDERLINE.match(line) and _RST_UNDERLINE.match(below)
                and len(below.strip()) >= len(line.strip())):
            if block and _RST_UNDERLINE.match(block[-1]):  # an overline above the title
                block.pop()
            sections.append((heading, "\n".join(block)))
            heading, block, i = line.strip(), [], i + 2
            continue
        block.append(line)
        i += 1
    sections.append((heading, "\n".join(block)))
    return [(h, b) for h, b in sections if b.strip()]


class _HTMLText(HTMLParser):
    """The visible text of an HTML page as sections at ``h1``-``h3``, one paragraph per block element."""

    BLOCKS = {"p", "div", "li", "pre", "blockquote", "tr", "section", "article", "dd", "dt", "br", "table",
              "ul", "ol", "h4", "h5", "h6", "figcaption"}
    HEADINGS = {"h1", "h2", "h3"}
    HIDDEN = {"script", "style", "head", "noscript", "template", "svg"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, str]] = []
        self.heading, self.parts, self.current, self.hidden, self.in_heading = "", [], [], 0, False

    def _end_paragraph(self):
        text = " ".join("".join(self.current).split())
        if text:
            self.parts.append(text)
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.HEADINGS:
            self._end_paragraph()
            self.sections.append((self.heading, "\n\n".join(self.parts)))
            self.parts, self.in_heading = [], True
        elif tag in self.BLOCKS:
            self._end_paragraph()

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.HEADINGS and self.in_heading:
            self.heading = " ".join("".join(self.current).split())
            self.current, self.in_heading = [], False
        elif tag in self.BLOCKS:
            self._end_paragraph()

    def handle_data(self, data):
        if not self.hidden:
            self.current.append(data)

    def close(self):
        super().close()
        self._end_paragraph()
        self.sections.append((self.heading, "\n\n".join(self.parts)))


def _html_sections(text: str) -> list[tuple[str, str]]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    return [(h, b) for h, b in parser.sections if b.strip()]


def _python_sections(text: str) -> list[tuple[str, str]]:
    """A module cut at its top-level ``def`` and ``class`` statements; other code between them stays
    with the module's own section. A file that does not parse is read as plain text."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return [("", text)]
    lines = text.split("\n")
    sections, taken = [], set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            end = node.end_lineno or node.lineno
            keyword = "class" if isinstance(node, ast.ClassDef) else "def"
            sections.append((start, f"{keyword} {node.name}", "\n".join(lines[start:end])))
            taken.update(range(start, end))
    rest = "\n".join(line if i not in taken else "" for i, line in enumerate(lines))
    found = [("", rest)] if rest.strip() else []
    return found + [(heading, block) for _, heading, block in sorted(sections)]


def _notebook_sections(text: str) -> list[tuple[str, str]]:
    import json

    try:
        cells = json.loads(text).get("cells", [])
    except (json.JSONDecodeError, AttributeError):
        raise _Skip("not a readable notebook (bad JSON)") from None
    sections, heading = [], ""
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if not source.strip():
            continue
        if cell.get("cell_type") == "markdown":
            for heading, block in _markdown_sections(source, heading):
                sections.append((heading, block))
            headings = [m.group(2) for m in map(_ATX.match, source.split("\n")) if m]
            heading = headings[-1] if headings else heading
        elif cell.get("cell_type") == "code":
            sections.append((heading, source))
    return sections


def _pdf_sections(data: bytes) -> list[tuple[str, str]]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns about every odd PDF; we report per file
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise _Skip("encrypted PDF")
        pages = [(f"page {n}", page.extract_text() or "") for n, page in enumerate(reader.pages, start=1)]
    except _Skip:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as error:
        raise _Skip(f"broken PDF ({type(error).__name__})") from None
    if not any(text.strip() for _, text in pages):
        raise _Skip("no text in this PDF (scanned pages are images; this course does not read them)")
    return [(heading, text) for heading, text in pages if text.strip()]
