"""helpers.judgements: appended JSON lines, the last grade wins, a cut-off line never breaks the file."""

import json

import pytest

from helpers.judgements import append_judgement, read_judgements, to_labelled_set


def test_appends_and_the_last_grade_for_a_pair_wins(tmp_path):
    path = tmp_path / "index" / "judgements.jsonl"
    assert read_judgements(path).grades == {}
    append_judgement(path, "gzip a file", "a.md#1", 2, time="t1")
    append_judgement(path, "gzip a file", "b.md#2", 0, time="t2")
    append_judgement(path, "gzip a file", "a.md#1", 1, time="t3")  # changed their mind
    append_judgement(path, "threads", "b.md#2", 2)
    result = read_judgements(path)
    assert result.grades == {"gzip a file": {"a.md#1": 1, "b.md#2": 0}, "threads": {"b.md#2": 2}}
    assert result.damaged == []
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0]) == {"query": "gzip a file", "passage_id": "a.md#1", "grade": 2, "time": "t1"}
    assert "3 judged (query, passage) pairs for 2 queries" in result.report(path)


def test_a_line_cut_off_mid_write_is_reported_and_the_file_stays_usable(tmp_path):
    path = tmp_path / "judgements.jsonl"
    append_judgement(path, "q", "a#1", 2)
    with open(path, "a") as out:
        out.write('{"query": "q", "passage_id": "b#2", "gra')  # a crash mid-write
    before = path.read_bytes()
    result = read_judgements(path)
    assert result.grades == {"q": {"a#1": 2}}
    assert result.damaged == [(2, "not a judgement (JSONDecodeError) (cut off: written when something stopped?)")]
    append_judgement(path, "q", "c#3", 1)  # reopening later appends on a fresh line
    assert path.read_bytes().startswith(before)  # nothing overwritten
    again = read_judgements(path)
    assert again.grades == {"q": {"a#1": 2, "c#3": 1}} and [n for n, _ in again.damaged] == [2]
    assert "judgements.jsonl, line 2: not a judgement" in again.report(path)


def test_damaged_lines_anywhere_are_listed_with_their_numbers(tmp_path):
    path = tmp_path / "judgements.jsonl"
    path.write_text('{"query": "q", "passage_id": "a", "grade": 2}\nnot json\n'
                    '{"query": "q", "passage_id": "b", "grade": 7}\n{"query": "q"}\n'
                    '{"query": "q", "passage_id": "c", "grade": true}\n\n')
    result = read_judgements(path)
    assert result.grades == {"q": {"a": 2}}
    assert [n for n, _ in result.damaged] == [2, 3, 4, 5]


def test_bad_judgements_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "judgements.jsonl"
    for args, message in [(("", "a", 1), "query is empty"), (("q", "", 1), "passage id"),
                          (("q", "a", 3), "0, 1 or 2"), (("q", "a", True), "0, 1 or 2")]:
        with pytest.raises(ValueError, match=message):
            append_judgement(path, *args)
    assert not path.exists()


def test_the_converter_writes_the_labelled_set_format(tmp_path):
    path = tmp_path / "judgements.jsonl"
    append_judgement(path, "first query", "a.md#1", 2)
    append_judgement(path, "second query", "b.md#2", 1)
    out = tmp_path / "queries.jsonl"
    assert to_labelled_set(read_judgements(path), out, kind="question", split="test") == 2
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"id": "q01", "query": "first query", "kind": "question", "split": "test",
                       "no_shared_words": False, "judgements": {"a.md#1": 2}}
    assert rows[1]["id"] == "q02" and rows[1]["judgements"] == {"b.md#2": 1}
