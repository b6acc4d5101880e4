"""helpers.documents: readers of every supported type, cutting at headings and paragraphs, ids, bad files."""

import io
import json
import os

import pytest

from helpers.documents import Passage, pack, paragraphs, read_documents, token_counter


def words(text):
    """A stand-in token count for the tests that are not about the tokenizer: one token per word."""
    return len(text.split())


def write(folder, name, content):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def text_pdf(*pages):
    """A minimal valid PDF whose pages hold the given lines of text (Helvetica), built by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def by_path(reading):
    found = {}
    for p in reading.passages:
        found.setdefault(p.path, []).append(p)
    return found


# --- readers and headings ----------------------------------------------------------------------------

def test_each_type_is_cut_at_its_headings(tmp_path):
    write(tmp_path, "notes.md", "Intro line.\n\n# Install\n\nRun pip.\n\n```\n# not a heading\n```\n\n## Use\n\nCall it.\n")
    write(tmp_path, "guide.rst", "=====\nTitle\n=====\n\nFirst words.\n\nSection two\n-----------\n\nMore words.\n")
    write(tmp_path, "page.html", "<html><head><title>t</title><style>p{}</style></head><body>"
                                 "<h1>Top</h1><p>One &amp; two.</p><script>var x;</script>"
                                 "<h2>Next</h2><ul><li>item a</li><li>item b</li></ul></body></html>")
    write(tmp_path, "code/tool.py", '"""Module docs."""\nimport os\n\n\n@decorated\ndef run(x):\n    return x\n\n\n'
                                    "class Thing:\n    pass\n")
    write(tmp_path, "book.ipynb", json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Chapter\n", "\n", "Some prose."]},
        {"cell_type": "code", "source": "print('hi')"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    write(tmp_path, "plain.txt", "A paragraph.\n\nAnother one.\n")
    write(tmp_path, "paper.pdf", text_pdf("First page text", "Second page text"))
    reading = read_documents(tmp_path, words, max_tokens=6)
    assert not reading.skipped, reading.skipped
    found = by_path(reading)
    assert [(p.heading, p.text) for p in found["notes.md"]] == [
        ("", "Intro line."), ("Install", "Run pip."), ("Install", "```\n# not a heading\n```"), ("Use", "Call it.")]
    assert [(p.heading, p.text) for p in found["guide.rst"]] == [("Title", "First words."), ("Section two", "More words.")]
    assert [(p.heading, p.text) for p in found["page.html"]] == [
        ("Top", "One & two."), ("Next", "item a\n\nitem b")]
    assert [p.heading for p in found["code/tool.py"]] == ["", "def run", "class Thing"]
    assert found["code/tool.py"][1].text == "@decorated\ndef run(x):\n    return x"  # with its decorator
    assert [(p.heading, p.text) for p in found["book.ipynb"]] == [("Chapter", "Some prose."), ("Chapter", "print('hi')")]
    assert [p.text for p in found["plain.txt"]] == ["A paragraph.\n\nAnother one."]  # packed: 4 tokens
    assert [(p.heading, p.text) for p in found["paper.pdf"]] == [("page 1", "First page text"), ("page 2", "Second page text")]
    assert [p.position for p in found["notes.md"]] == [0, 1, 2, 3]
    assert found["code/tool.py"][0].text == '"""Module docs."""\nimport os'
    assert reading.files_read == 7 and "passages from 7 files" in reading.summary()


def test_paragraphs_are_packed_up_to_the_limit_and_long_ones_cut():
    assert paragraphs("a b\n\n  \n\nc   \nd\n") == ["a b", "c\nd"]
    assert pack(["one two", "three", "four five six"], words, 3) == ["one two\n\nthree", "four five six"]
    long = "First sentence is here. Second one follows now! A third? " + " ".join(["word"] * 10)
    pieces = pack([long], words, 4)
    assert all(words(p) <= 4 for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(long.split())  # nothing lost, nothing added
    assert all(words(p) <= 2 for p in pack(["x" * 50], lambda t: len(t) // 5, 2))  # one enormous "word"
    with pytest.raises(ValueError, match="max_tokens must be at least 3"):
        read_documents(".", words, max_tokens=2)


def test_no_passage_is_longer_than_the_models_read(tmp_path):
    import helpers
    from fastembed import TextEmbedding

    helpers.setup(quiet=True)
    count = token_counter(TextEmbedding(helpers.DENSE_MODEL))
    from helpers.corpus import load_passages

    long_text = "\n\n".join(p.text for p in load_passages(120))  # paragraphs of all lengths, some long
    write(tmp_path, "corpus.md", "# All of it\n\n" + long_text + "\n\n" + " ".join(["supercalifragilistic"] * 400))
    reading = read_documents(tmp_path, count)
    assert len(reading.passages) > 10
    assert max(count(p.text) for p in reading.passages) <= 180
    assert count("qdrant") == 3 and count("") == 0  # word pieces, no special tokens


# --- ids ---------------------------------------------------------------------------------------------

def test_ids_are_path_and_text_hash_and_survive_edits_elsewhere(tmp_path):
    write(tmp_path, "a.md", "# H\n\nSame text.\n\nOther text.\n\nSame text.\n")
    first = read_documents(tmp_path, words, max_tokens=3)
    ids = [p.id for p in first.passages]
    assert ids[0].startswith("a.md#") and len(set(ids)) == 3 and ids[2] == ids[0] + "~2"
    write(tmp_path, "a.md", "# H\n\nNew start.\n\nSame text.\n\nOther text.\n\nSame text.\n")
    second = read_documents(tmp_path, words, max_tokens=3)
    assert set(ids) <= {p.id for p in second.passages}  # unchanged passages keep their ids
    assert Passage.__dataclass_fields__.keys() == {"id", "path", "position", "heading", "text"}


# --- bad input ---------------------------------------------------------------------------------------

def test_bad_files_are_skipped_with_a_reason_and_the_rest_is_read(tmp_path):
    write(tmp_path, "good.txt", "Readable words.\n")
    write(tmp_path, "empty.md", "")
    write(tmp_path, "blank.txt", "   \n\n")
    write(tmp_path, "binary.txt", b"\x00\x01\x02 text")
    write(tmp_path, "latin1.md", "caf\xe9".encode("latin-1"))
    write(tmp_path, "huge.txt", "x" * 2000)
    write(tmp_path, "broken.pdf", b"%PDF-1.4\n this is not a PDF at all")
    write(tmp_path, "images.pdf", text_pdf())  # no text layer at all
    write(tmp_path, "bad.ipynb", "{not json")
    write(tmp_path, "photo.png", b"\x89PNG....")
    write(tmp_path, ".git/config", "ignored")
    locked = write(tmp_path, "locked.txt", "secret")
    locked.chmod(0)
    reading = read_documents(tmp_path, words, max_bytes=1000)
    reasons = {s.path: s.reason for s in reading.skipped}
    assert [p.path for p in reading.passages] == ["good.txt"] + (["locked.txt"] if os.geteuid() == 0 else [])
    assert reasons["empty.md"] == "empty file" and reasons["blank.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary, not text"
    assert reasons["latin1.md"].startswith("not UTF-8 text")
    assert reasons["huge.txt"].startswith("larger than")
    assert reasons["broken.pdf"].startswith("broken PDF")
    assert reasons["images.pdf"].startswith("no text in this PDF")
    assert reasons["bad.ipynb"].startswith("not a readable notebook")
    if os.geteuid() != 0:  # root reads any file
        assert reasons["locked.txt"].startswith("cannot be read")
    assert reading.other_files == 1  # photo.png; .git is not looked into
    assert str(reading.skipped[0]).startswith("skipped ")
    assert "skipped (listed above)" in reading.summary() and "1 files of other types" in reading.summary()


def test_an_encrypted_pdf_is_skipped(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(text_pdf("secret words"))).pages:
        writer.add_page(page)
    writer.encrypt("password", algorithm="RC4-40")
    buffer = io.BytesIO()
    writer.write(buffer)
    write(tmp_path, "locked.pdf", buffer.getvalue())
    reading = read_documents(tmp_path, words)
    assert [(s.path, s.reason) for s in reading.skipped] == [("locked.pdf", "encrypted PDF")]


def test_a_missing_or_empty_folder_says_so(tmp_path):
    missing = read_documents(tmp_path / "nowhere", words)
    assert missing.passages == [] and [s.reason for s in missing.skipped] == ["the folder does not exist"]
    write(tmp_path, "file.txt", "x")
    assert [s.reason for s in read_documents(tmp_path / "file.txt", words).skipped] == ["the folder is a file, not a folder"]
    (tmp_path / "empty").mkdir()
    empty = read_documents(tmp_path / "empty", words)
    assert empty.passages == [] and empty.skipped == [] and empty.summary().startswith("0 passages from 0 files")


def test_the_frozen_sample_reads_whole_and_within_the_limit():
    import helpers
    from fastembed import TextEmbedding

    helpers.setup(quiet=True)
    count = token_counter(TextEmbedding(helpers.DENSE_MODEL))
    from pathlib import Path

    sample = Path(helpers.__file__).parent / "data" / "sample_docs"
    reading = read_documents(sample, count)
    assert reading.skipped == [] and reading.other_files == 0
    assert len(reading.passages) >= 50 and reading.files_read >= 12
    assert max(count(p.text) for p in reading.passages) <= 180
    assert len({p.id for p in reading.passages}) == len(reading.passages)
    assert {p.path.split("/")[0] for p in reading.passages} == {"README.md", "code", "notebooks"}
    # the sample's judgements name passages by id: a change to the cutting must not orphan them
    from helpers.judgements import read_judgements

    judged = read_judgements(sample.parent / "sample_judgements.jsonl")
    assert judged.damaged == [] and len(judged.grades) >= 12
    assert {pid for grades in judged.grades.values() for pid in grades} <= {p.id for p in reading.passages}
