"""The notebooks' Qdrant client: embedded by default, a server by URL, safe to call again."""

import pytest

from helpers import qdrant


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (qdrant.URL_VARIABLE, qdrant.API_KEY_VARIABLE, qdrant.PATH_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(qdrant, "_CLIENTS", {})


def test_embedded_in_memory_by_default(capsys):
    client = qdrant.qdrant_client()
    assert "embedded" in capsys.readouterr().out
    assert qdrant.describe_location() == ("embedded", ":memory:")
    assert client.get_collections().collections == []


def test_repeated_calls_on_a_folder_do_not_fail_on_the_lock(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(qdrant.PATH_VARIABLE, str(tmp_path / "qdrant"))
    first = qdrant.qdrant_client()
    qdrant.recreate_collection(first, "c", vectors_config={})
    second = qdrant.qdrant_client()  # a re-run cell
    assert second is first
    assert second.collection_exists("c")
    assert str(tmp_path / "qdrant") in capsys.readouterr().out


def test_recreate_collection_starts_empty():
    from qdrant_client import models

    client = qdrant.qdrant_client(quiet=True)
    config = {"vectors_config": models.VectorParams(size=2, distance=models.Distance.DOT)}
    qdrant.recreate_collection(client, "c", **config)
    client.upsert("c", [models.PointStruct(id=1, vector=[1.0, 0.0])])
    qdrant.recreate_collection(client, "c", **config)
    assert client.count("c").count == 0


# nothing listens at that URL, so qdrant-client's background version check fails: expected here
@pytest.mark.filterwarnings("ignore:Failed to obtain server version")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_url_and_key_come_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv(qdrant.URL_VARIABLE, "https://127.0.0.1:1")  # nothing listens; no request is made
    monkeypatch.setenv(qdrant.API_KEY_VARIABLE, "secret-key")
    client = qdrant.qdrant_client()
    out = capsys.readouterr().out
    assert "server at https://127.0.0.1:1" in out and "with an API key" in out and "secret-key" not in out
    assert client._client._api_key == "secret-key"
    assert client._client.rest_uri.startswith("https://127.0.0.1:1")


def test_a_url_that_is_not_a_url():
    with pytest.raises(ValueError, match="is not a URL"):
        qdrant.describe_location({qdrant.URL_VARIABLE: "localhost:6333"})
