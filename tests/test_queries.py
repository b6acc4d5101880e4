"""The labelled query set: it loads, it is big and varied enough, its flags are true, bad files are refused."""

import json
import re
from collections import Counter

import pytest

from helpers.corpus import load_passages
from helpers.queries import FOLDER, Query, load_queries, qrels, query_by_id

# Words too common to count as shared between a query and its answer.
STOP_WORDS = set(
    """a an the and or but if then else of to in on at by for with without from into onto over under about as
    is are was were be been being do does did done doing how what which who whom whose when where why can could
    should would will shall may might must i me my we our you your it its this that these those there here not no
    yes all any each every some one two several many much more most other another same such only own so than too
    very just also get gets got use used using way want need make made like python something someone thing things
    out up down off have has had again once""".split()
)
MIN_PER_PART = {"a": 33, "b": 27}  # part B (modules m-z) is written separately; both together make >= 60


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


def _by_part(queries: list[Query]) -> dict[str, list[Query]]:
    """The queries grouped by the file they come from: {"a": [...]} for part-a.jsonl."""
    part_of = {}
    for path in sorted(FOLDER.glob("part-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                part_of[json.loads(line)["id"]] = path.stem[len("part-"):]
    parts: dict[str, list[Query]] = {}
    for q in queries:
        parts.setdefault(part_of[q.id], []).append(q)
    return parts


def test_every_part_is_big_enough():
    parts = _by_part(load_queries())
    assert "a" in parts
    for part, queries in parts.items():
        assert len(queries) >= MIN_PER_PART.get(part, 27), f"part {part} has only {len(queries)} queries"
    if {"a", "b"} <= set(parts):
        assert len(load_queries()) >= 60


def test_ids_unique_and_every_query_answered():
    queries = load_queries()
    assert len({q.id for q in queries}) == len(queries)
    corpus = {p.id for p in load_passages()}
    for q in queries:
        assert q.relevant, q.id
        assert set(q.judgements) <= corpus
        assert set(q.judgements.values()) <= {0, 1, 2}
        assert q.text.strip()


def test_kinds_per_part():
    for part, queries in _by_part(load_queries()).items():
        kinds = Counter(q.kind for q in queries)
        assert kinds["keyword"] >= 5 and kinds["trap"] >= 5, (part, kinds)
        assert kinds["question"] and kinds["paraphrase"], (part, kinds)
        for q in queries:
            if q.kind == "keyword":
                assert 2 <= len(q.text.split()) <= 4, q


def test_traps_record_read_non_answers():
    for q in load_queries():
        if q.kind == "trap":
            assert 0 in q.judgements.values(), q.id


def test_split_alternates_by_id_and_filters():
    queries = load_queries()
    dev, test = load_queries("dev"), load_queries("test")
    assert dev and test and len(dev) + len(test) == len(queries)
    assert {q.split for q in dev} == {"dev"} and {q.split for q in test} == {"test"}
    for part, qs in _by_part(queries).items():
        assert {q.split for q in qs} == {"dev", "test"}, part
        for q in qs:  # a01 dev, a02 test, a03 dev, ...
            assert q.split == ("dev" if int(re.sub(r"\D", "", q.id)) % 2 else "test"), q.id
    with pytest.raises(ValueError, match="split"):
        load_queries("train")


def test_no_shared_words_flag_is_true_to_the_data():
    passages = {p.id: p.text for p in load_passages()}
    for part, queries in _by_part(load_queries()).items():
        flagged = [q for q in queries if q.no_shared_words]
        assert 3 * len(flagged) >= len(queries), f"part {part}: {len(flagged)} of {len(queries)}"
        for q in flagged:
            answer_words = set().union(*(_words(passages[pid]) for pid in q.relevant))
            shared = (_words(q.text) - STOP_WORDS) & answer_words
            assert not shared, f"{q.id} {q.text!r} shares {sorted(shared)} with its grade-2 passages"


def test_qrels_and_query_by_id():
    queries = load_queries()
    judged = qrels()
    assert set(judged) == {q.id for q in queries}
    first = queries[0]
    assert judged[first.id] == {str(pid): grade for pid, grade in first.judgements.items()}
    assert set(qrels(load_queries("dev"))) == {q.id for q in load_queries("dev")}
    assert query_by_id(first.id) == first
    with pytest.raises(ValueError, match="no query"):
        query_by_id("zz99")


def test_queries_are_hashable_and_edits_do_not_leak_into_the_cache():
    first = load_queries()[0]
    assert first in {first}
    first.judgements.clear()
    assert load_queries()[0].judgements


def test_the_ideal_ranking_of_every_query_scores_one():
    from helpers.evaluation import evaluate_run

    queries = load_queries()
    # each query's judged passages, best grade first: what a perfect pipeline would return
    ideal = {q.id: {pid: float(grade) for pid, grade in q.judgements.items()} for q in queries}
    scores = evaluate_run(ideal, queries, per_query=True)
    assert set(scores["ndcg@10"]) == {q.id for q in queries}
    assert all(v == pytest.approx(1.0) for v in scores["ndcg@10"].values())
    assert all(v == 1.0 for v in scores["mrr@10"].values())  # every query has a relevant passage


# Malformed files: each is refused with the file, the line and the problem named.

GOOD = {"id": "x01", "query": "read a gzip file", "kind": "question", "split": "dev", "no_shared_words": False,
        "judgements": {"989": 2, "1280": 1, "1604": 0}}


def _write(folder, name, rows):
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_a_good_file_in_another_folder_loads(tmp_path):
    _write(tmp_path, "part-x.jsonl", [GOOD, {**GOOD, "id": "x02", "split": "test"}])
    queries = load_queries(folder=tmp_path)
    assert [q.id for q in queries] == ["x01", "x02"]
    assert queries[0].judgements == {989: 2, 1280: 1, 1604: 0} and queries[0].relevant == [989]
    assert [q.id for q in load_queries("test", folder=tmp_path)] == ["x02"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"judgements": {"989": 3}}, "grade 3"),
        ({"judgements": {"989": "2"}}, "grade '2'"),
        ({"judgements": {"989": 2, "999999": 1}}, "'999999', which is not in the corpus"),
        ({"judgements": {"abc": 2}}, "'abc', which is not in the corpus"),
        ({"judgements": {"989": 1, "1280": 0}}, "no grade-2 passage"),
        ({"judgements": {}}, "no grade-2 passage"),
        ({"kind": "riddle"}, "unknown kind 'riddle'"),
        ({"split": "train"}, "unknown split 'train'"),
        ({"no_shared_words": "yes"}, "no_shared_words"),
        ({"query": " "}, "no query text"),
    ],
)
def test_bad_query_is_refused(tmp_path, change, problem):
    _write(tmp_path, "part-x.jsonl", [GOOD, {**GOOD, "id": "x02", **change}])
    with pytest.raises(ValueError, match=re.escape("part-x.jsonl line 2") + ".*" + re.escape(problem)):
        load_queries(folder=tmp_path)


def test_duplicate_id_across_files_is_refused(tmp_path):
    _write(tmp_path, "part-x.jsonl", [GOOD])
    _write(tmp_path, "part-y.jsonl", [{**GOOD, "id": "y01"}, GOOD])
    first = re.escape("(first in part-x.jsonl line 1)")
    with pytest.raises(ValueError, match=r"part-y.jsonl line 2: duplicate query id 'x01' " + first):
        load_queries(folder=tmp_path)


def test_missing_field_bad_json_and_empty_folder_are_refused(tmp_path):
    row = dict(GOOD)
    del row["split"]
    _write(tmp_path, "part-x.jsonl", [row])
    with pytest.raises(ValueError, match=r"part-x.jsonl line 1: missing fields \['split'\]"):
        load_queries(folder=tmp_path)
    (tmp_path / "part-x.jsonl").write_text('{"id": "x01",\n', encoding="utf-8")
    with pytest.raises(ValueError, match="part-x.jsonl line 1: not valid JSON"):
        load_queries(folder=tmp_path)
    with pytest.raises(ValueError, match="no part-"):
        load_queries(folder=tmp_path / "empty")
