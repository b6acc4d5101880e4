"""The notebooks' Qdrant client: embedded by default, a server by URL, safe to call again."""

import time

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


@pytest.fixture
def fake_server():
    """A local HTTP server answering Qdrant's root endpoint, which the client's version check reads."""
    import http.server
    import json
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("api-key")))
            if self.headers.get("api-key") == "wrong-key":
                self.send_response(403)
                self.end_headers()
                return
            if self.path.startswith("/not-qdrant"):
                self.send_response(404)
                self.end_headers()
                return
            if self.path == "/collections":  # qdrant_client() asks this once before handing out a client
                answer = {"result": {"collections": []}, "status": "ok", "time": 0.0}
            else:
                answer = {"title": "qdrant - vector search engine", "version": "1.20.0"}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")  # the test server is http
def test_url_and_key_come_from_the_environment(fake_server, monkeypatch, capsys):
    url, seen = fake_server
    monkeypatch.setenv(qdrant.URL_VARIABLE, url)
    monkeypatch.setenv(qdrant.API_KEY_VARIABLE, "secret-key")
    client = qdrant.qdrant_client()
    out = capsys.readouterr().out
    assert f"server at {url}" in out and "with an API key" in out and "secret-key" not in out
    assert ("/collections", "secret-key") in seen  # the connection check, carrying the key
    client.info()  # a request to the server, carrying the key
    assert ("/", "secret-key") in seen
    for _ in range(100):  # let qdrant-client's background version check (also "/") reach the server too
        if seen.count(("/", "secret-key")) >= 2:
            break
        time.sleep(0.05)


def test_a_url_that_is_not_a_url():
    with pytest.raises(ValueError, match="is not a URL"):
        qdrant.describe_location({qdrant.URL_VARIABLE: "localhost:6333"})


def closed_port() -> int:
    """A localhost port with nothing listening on it (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_not_running_says_what_to_do(monkeypatch, capsys):
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv(qdrant.URL_VARIABLE, url)
    start = time.monotonic()
    with pytest.raises(ConnectionError) as raised:
        qdrant.qdrant_client()
    assert time.monotonic() - start < qdrant.CONNECT_TIMEOUT + 2
    message = str(raised.value)
    assert isinstance(raised.value, qdrant.QdrantServerUnavailable)
    assert f"QDRANT_URL={url}" in message
    assert "Start the server, fix the URL, or unset QDRANT_URL to use the embedded Qdrant" in message
    assert qdrant._CLIENTS == {}  # nothing cached: once the server is up, the same cell works
    assert capsys.readouterr().out == ""


@pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")  # the test server is http
def test_a_refused_api_key_names_the_variable(fake_server, monkeypatch):
    url, _ = fake_server
    monkeypatch.setenv(qdrant.URL_VARIABLE, url)
    monkeypatch.setenv(qdrant.API_KEY_VARIABLE, "wrong-key")
    with pytest.raises(qdrant.QdrantServerUnavailable, match="403.*QDRANT_API_KEY is set"):
        qdrant.qdrant_client()


def test_a_server_that_is_not_qdrant(fake_server, monkeypatch):
    url, _ = fake_server
    monkeypatch.setenv(qdrant.URL_VARIABLE, f"{url}/not-qdrant")
    with pytest.raises(qdrant.QdrantServerUnavailable, match="is not a Qdrant server .*404.*unset QDRANT_URL"):
        qdrant.qdrant_client()


def test_a_server_that_never_answers_is_given_up_on():
    import socket

    with socket.socket() as listener:  # accepts connections (the backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(qdrant.QdrantServerUnavailable, match="no Qdrant server answered there within 1 s"):
            qdrant.check_server(url, timeout=1)
        assert time.monotonic() - start < 3
