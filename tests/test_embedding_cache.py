"""The embedding cache: hits, misses, keys, repair, two processes at once, opt-out.

A small fake model stands in for fastembed here (a model file on disk and a passage_embed that
counts its calls), so these tests run in milliseconds; tests/test_embedding.py covers the real
models.
"""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from helpers import embedding_cache
from helpers.embedding import embed_documents
from helpers.embedding_cache import EmbeddingCacheWarning

TEXTS = ["first passage about gzip", "second", "a third, longer passage about reading CSV files", ""]

FAKE_MODEL = '''
import hashlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np


class FakeModel:
    """Looks like a fastembed model to the cache; passage_embed logs each call to calls.log."""

    def __init__(self, folder, weights=b"weights v1", multi=True, dim=8):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in ((folder / "model.onnx", weights), (folder / "tokenizer.json", b"{}")):
            # only when different: another process may be hashing these files right now
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
        self.model = SimpleNamespace(_model_dir=folder, model_description=SimpleNamespace(
            model="fake/model", model_file="model.onnx", additional_files=[]))
        self.model_name = "fake/model"
        self.log = folder / "calls.log"
        self.multi, self.dim = multi, dim

    @property
    def calls(self):
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def passage_embed(self, texts, batch_size=1):
        with open(self.log, "a") as log:
            log.write(f"{len(texts)}\\n")
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            rows = len(text.split()) + 2 if self.multi else None
            yield rng.standard_normal((rows, self.dim) if self.multi else self.dim).astype(np.float32)
'''
namespace: dict = {}
exec(FAKE_MODEL, namespace)
FakeModel = namespace["FakeModel"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "embeddings"
    monkeypatch.setenv(embedding_cache.CACHE_VARIABLE, str(folder))
    return folder


@pytest.fixture
def model(tmp_path):
    return FakeModel(tmp_path / "model")


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.npy"))


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_array_equal(x, y)


def test_miss_computes_and_stores_then_hit_reads_it_back(cache, model):
    first = embed_documents(model, TEXTS)
    assert model.calls == 1 and len(entries(cache)) == 1
    second = embed_documents(model, TEXTS)
    assert model.calls == 1
    same(first, second)
    same(first, list(model.passage_embed(TEXTS)))


def test_one_vector_models_come_back_as_one_vector_per_text(cache, tmp_path):
    dense = FakeModel(tmp_path / "dense", multi=False)
    first = embed_documents(dense, TEXTS)
    second = embed_documents(dense, TEXTS)
    assert dense.calls == 1
    assert [v.shape for v in second] == [(8,)] * len(TEXTS)
    same(first, second)


def test_the_manifest_says_what_is_stored(cache, model):
    embed_documents(model, TEXTS)
    (manifest_path,) = cache.glob("*.json")
    manifest = json.loads(manifest_path.read_text())
    data = (cache / f"{manifest['key']}.npy").read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["bytes"] == len(data)
    assert manifest["lengths"] == [len(t.split()) + 2 for t in TEXTS]
    assert manifest["dtype"] == "float32" and manifest["model"] == "fake/model"
    assert manifest["identity"]["files"]["model.onnx"] == hashlib.sha256(b"weights v1").hexdigest()
    assert np.load(cache / f"{manifest['key']}.npy").dtype == np.float32


@pytest.mark.parametrize("change", ["other texts", "same texts reordered", "one text edited",
                                    "other model file", "other tokenizer file", "other batch size"])
def test_anything_that_changes_the_output_changes_the_key(cache, model, tmp_path, change):
    embed_documents(model, TEXTS)
    texts, other, batch_size = list(TEXTS), model, 1
    if change == "other texts":
        texts = ["something else entirely"]
    elif change == "same texts reordered":
        texts = texts[::-1]
    elif change == "one text edited":
        texts[1] = "second!"
    elif change == "other model file":
        other = FakeModel(tmp_path / "model-v2", weights=b"weights v2")
    elif change == "other tokenizer file":
        other = FakeModel(tmp_path / "model-tok")
        (tmp_path / "model-tok" / "tokenizer.json").write_text('{"changed": true}')
    else:
        batch_size = 2
    embed_documents(other, texts, batch_size=batch_size)
    assert len(entries(cache)) == 2


def test_the_same_model_file_in_another_folder_shares_the_entry(cache, model, tmp_path):
    embed_documents(model, TEXTS)
    copy = FakeModel(tmp_path / "elsewhere")
    embed_documents(copy, TEXTS)
    assert copy.calls == 0 and len(entries(cache)) == 1


@pytest.mark.parametrize("damage", ["truncated data", "flipped byte", "missing data", "missing manifest",
                                    "garbled manifest", "manifest of other data"])
def test_a_damaged_entry_is_recomputed_and_repaired(cache, model, damage):
    expected = embed_documents(model, TEXTS)
    (data,) = entries(cache)
    manifest = data.with_suffix(".json")
    if damage == "truncated data":
        data.write_bytes(data.read_bytes()[:-100])
    elif damage == "flipped byte":
        raw = bytearray(data.read_bytes())
        raw[-7] ^= 0x40
        data.write_bytes(bytes(raw))
    elif damage == "missing data":
        data.unlink()
    elif damage == "missing manifest":
        manifest.unlink()
    elif damage == "garbled manifest":
        manifest.write_text('{"format": 1, "key": ')
    else:
        record = json.loads(manifest.read_text())
        record["lengths"] = record["lengths"][::-1]
        record["sha256"] = hashlib.sha256(b"other").hexdigest()
        manifest.write_text(json.dumps(record))
    with pytest.warns(EmbeddingCacheWarning, match="damaged"):
        repaired = embed_documents(model, TEXTS)
    assert model.calls == 2
    same(repaired, expected)
    again = embed_documents(model, TEXTS)  # no warning: pytest's filterwarnings would not hide one
    assert model.calls == 2
    same(again, expected)


def test_two_processes_at_once_share_the_work_and_agree(cache, tmp_path):
    """Two kernels embedding the same list at once: each chunk is computed once, by one of them,
    both get every chunk, and the work is split between them (neither waits idle for the other)."""
    script = tmp_path / "worker.py"
    script.write_text(FAKE_MODEL + textwrap.dedent(f'''
        import os, sys, time
        import numpy as np
        from helpers.embedding import embed_documents

        class SlowModel(FakeModel):
            def passage_embed(self, texts, batch_size=1):
                time.sleep(0.5)  # long enough for the other process to arrive meanwhile
                with open(self.log.with_name("pids.log"), "a") as log:
                    log.write(f"{{os.getpid()}} {{len(texts)}}\\n")
                yield from super().passage_embed(texts, batch_size)

        model = SlowModel({str(tmp_path / "shared-model")!r})
        texts = [f"passage number {{i}} about {{i % 7}} things" for i in range(200)]
        result = embed_documents(model, texts)
        np.save(sys.argv[1], np.concatenate(result))
    '''))
    FakeModel(tmp_path / "shared-model")  # the model files exist before either process starts
    outputs = [tmp_path / f"out{i}.npy" for i in range(2)]
    workers = [subprocess.Popen([sys.executable, str(script), str(out)]) for out in outputs]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    calls = [line.split() for line in (tmp_path / "shared-model" / "pids.log").read_text().splitlines()]
    assert sum(int(n) for _, n in calls) == 200, "every text computed exactly once between the two"
    assert len({pid for pid, _ in calls}) == 2, "both processes should have computed some chunks"
    np.testing.assert_array_equal(np.load(outputs[0]), np.load(outputs[1]))
    assert len(entries(cache)) == len(range(0, 200, embedding_cache.CHUNK))
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_a_list_and_its_prefix_share_chunks(cache, model):
    texts = [f"text {i} " + "word " * (i % 5) for i in range(3 * embedding_cache.CHUNK + 5)]
    embed_documents(model, texts)
    computed = model.calls
    embed_documents(model, texts[: 2 * embedding_cache.CHUNK])  # whole chunks: all stored
    assert model.calls == computed
    embed_documents(model, texts[: embedding_cache.CHUNK + 3])  # one whole chunk and a new partial one
    assert model.calls == computed + 1
    assert len(model.log.read_text().splitlines()[-1].split()) == 1 and model.log.read_text().splitlines()[-1] == "3"


def test_opt_out_by_argument(cache, model):
    embed_documents(model, TEXTS, cache=False)
    embed_documents(model, TEXTS, cache=False)
    assert model.calls == 2 and not cache.exists()


def test_opt_out_by_environment(cache, model, monkeypatch):
    monkeypatch.setenv(embedding_cache.CACHE_VARIABLE, "off")
    embed_documents(model, TEXTS)
    embed_documents(model, TEXTS)
    assert model.calls == 2 and not cache.exists()
    assert embedding_cache.cache_dir().name == "embeddings"  # "off" is not a folder name


def test_default_folder_is_in_the_project_not_the_fastembed_cache(monkeypatch):
    monkeypatch.delenv(embedding_cache.CACHE_VARIABLE, raising=False)
    project = Path(embedding_cache.__file__).resolve().parent.parent
    assert embedding_cache.cache_dir() == project / ".cache" / "embeddings"


def test_objects_that_are_not_fastembed_models_are_computed_without_the_cache(cache):
    class Plain:
        calls = 0

        def passage_embed(self, texts, batch_size=1):
            Plain.calls += 1
            return [np.ones(3, dtype=np.float32) for _ in texts]

    embed_documents(Plain(), TEXTS)
    embed_documents(Plain(), TEXTS)
    assert Plain.calls == 2 and not cache.exists()


def test_an_unwritable_folder_warns_and_still_returns_the_vectors(model, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(embedding_cache.CACHE_VARIABLE, str(blocker / "embeddings"))
    with pytest.warns(EmbeddingCacheWarning, match="cannot be used"):
        result = embed_documents(model, TEXTS)
    same(result, list(model.passage_embed(TEXTS)))


def test_no_texts_no_entry(cache, model):
    assert embed_documents(model, []) == []
    assert not cache.exists() or not entries(cache)


def test_texts_hash_separates_boundaries():
    assert embedding_cache.texts_sha256(["ab", "c"]) != embedding_cache.texts_sha256(["a", "bc"])
    assert embedding_cache.texts_sha256([]) != embedding_cache.texts_sha256([""])



def test_integer_graphs_are_keyed_by_the_cpu_and_float_graphs_are_not(cache, tmp_path, monkeypatch):
    integer = FakeModel(tmp_path / "int8", weights=b"...MatMulInteger...")
    floating = FakeModel(tmp_path / "fp32", weights=b"...MatMul...")
    assert "cpu" in embedding_cache.model_identity(integer)
    assert "cpu" not in embedding_cache.model_identity(floating)
    embed_documents(integer, TEXTS)
    embed_documents(floating, TEXTS)
    monkeypatch.setattr(embedding_cache, "cpu_kernels", lambda: "another CPU")
    embed_documents(integer, TEXTS)  # another CPU: computed again
    embed_documents(floating, TEXTS)  # read back
    assert (integer.calls, floating.calls) == (2, 1)


def test_chunks_of_one_share_texts_across_lists_in_any_order(cache, model):
    def compute(positions, texts):
        return [np.full(2, float(len(texts[i])), dtype=np.float32) for i in positions]

    first = ["a b", "c", "d e f"]
    second = ["d e f", "g", "a b"]  # two texts in common, in another order
    calls = []

    def run(texts):
        return embedding_cache.cached(model, texts, {"method": "test"},
                                      lambda positions: calls.append(len(positions)) or compute(positions, texts),
                                      chunk_size=1)

    run(first)
    again = run(second)
    assert calls == [1, 1, 1, 1]  # three texts, then only "g"
    assert [float(v[0]) for v in again] == [5.0, 1.0, 3.0]
    with pytest.raises(ValueError, match="chunk_size"):
        embedding_cache.cached(model, first, {"method": "test"}, lambda p: [], chunk_size=0)


def test_a_files_hash_is_remembered_for_later_processes_until_the_file_changes(cache, tmp_path, monkeypatch):
    import hashlib
    import os

    path = tmp_path / "weights.onnx"
    path.write_bytes(b"first weights")
    first = embedding_cache.file_sha256(path)
    assert first == hashlib.sha256(b"first weights").hexdigest()
    monkeypatch.setattr(embedding_cache, "_FILE_HASHES", {})  # a new process
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"
    assert json.loads((cache / embedding_cache.FACTS_FILE).read_text())[key] == first
    # the stored fact is what a new process uses while size, time and inode are the same ...
    facts = json.loads((cache / embedding_cache.FACTS_FILE).read_text())
    (cache / embedding_cache.FACTS_FILE).write_text(json.dumps({**facts, key: "f" * 64}))
    assert embedding_cache.file_sha256(path) == "f" * 64
    # ... and a changed file is hashed again
    monkeypatch.setattr(embedding_cache, "_FILE_HASHES", {})
    path.write_bytes(b"other weights")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert embedding_cache.file_sha256(path) == hashlib.sha256(b"other weights").hexdigest()


def test_a_damaged_facts_file_is_ignored(cache, tmp_path):
    import hashlib

    cache.mkdir(parents=True)
    (cache / embedding_cache.FACTS_FILE).write_text("{not json")
    path = tmp_path / "weights.onnx"
    path.write_bytes(b"weights")
    assert embedding_cache.file_sha256(path) == hashlib.sha256(b"weights").hexdigest()
