"""Model profiles: the auto decision, bad names, and the cache check."""

import os
import socket
import threading

import pytest

from helpers import models, standins


@pytest.fixture
def silent_hub(monkeypatch):
    """An endpoint that accepts connections and never answers (the worst case: no quick error)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    yield accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_ORIGINAL_ENV", {})  # forget what an earlier setup() redirected
    monkeypatch.setenv("FASTEMBED_CACHE_PATH", str(tmp_path / "fastembed"))
    return tmp_path / "fastembed"


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(models.ProfileError, match="valid profiles are: auto, hub, offline"):
        models.requested_profile({"COURSE_MODELS": "colbert"})


def test_profile_default_and_case():
    assert models.requested_profile({}) == "auto"
    assert models.requested_profile({"COURSE_MODELS": " Offline "}) == "offline"


def test_auto_without_hub_falls_back_to_offline_after_one_attempt(silent_hub, empty_cache):
    decision = models.decide_profile("auto", hub_timeout=0.5)
    assert decision.profile == "offline"
    assert "not reachable" in decision.reason and "0.5 s" in decision.reason
    assert len(silent_hub) == 1  # one connection: no retries


def test_auto_with_refused_connection(monkeypatch, empty_cache):
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    decision = models.decide_profile("auto")
    assert decision.profile == "offline"
    assert "refused" in decision.reason


def test_hub_profile_without_hub_fails_with_advice(silent_hub, empty_cache):
    with pytest.raises(models.ProfileError, match="make prefetch.*COURSE_MODELS=offline"):
        models.decide_profile("hub", hub_timeout=0.5)


def test_offline_profile_does_not_ask_the_hub(silent_hub):
    assert models.decide_profile("offline").profile == "offline"
    assert silent_hub == []


def fake_real_cache(cache):
    for s in standins.STANDINS:
        base = cache / standins.repo_folder(s.source_repo)
        snap = base / "snapshots" / "abc123"
        (snap / s.model_file).parent.mkdir(parents=True, exist_ok=True)
        (snap / s.model_file).write_bytes(b"onnx")
        (snap / "tokenizer.json").write_text("{}")
        (base / "refs").mkdir()
        (base / "refs" / "main").write_text("abc123")
    base = cache / standins.repo_folder(standins.BM25_MODEL)
    snap = base / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (snap / "english.txt").write_text("i\nme\n")
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text("abc123")


def test_auto_uses_cached_real_models_without_asking_the_hub(silent_hub, empty_cache):
    fake_real_cache(empty_cache)
    assert all(models.cached_real_models().values())
    decision = models.decide_profile("auto")
    assert decision.profile == "hub" and "cache" in decision.reason
    assert silent_hub == []


def test_standins_in_the_normal_cache_do_not_count_as_real_models(tmp_path):
    import shutil

    standins.ensure_standins(models.standin_cache_dir())
    shutil.copytree(models.standin_cache_dir(), tmp_path, dirs_exist_ok=True, copy_function=os.link)  # read only
    assert standins.is_complete(tmp_path)
    assert not any(models.cached_real_models(tmp_path).values())


def test_standin_cache_is_the_projects_own(monkeypatch):
    monkeypatch.delenv("COURSE_STANDIN_CACHE", raising=False)
    cache = models.standin_cache_dir()
    assert cache.parts[-2:] == (".cache", "standins")
    assert cache != models.normal_fastembed_cache()


@pytest.fixture
def fake_hub(monkeypatch):
    """A local HTTP server standing in for the Hub; ``answers[path] = (status, body)``."""
    import http.server

    answers = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = answers.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
    yield answers
    server.shutdown()
    server.server_close()


def test_auto_chooses_hub_when_the_hub_answers(fake_hub, empty_cache):
    fake_hub["/api/models/colbert-ir/colbertv2.0"] = (200, b'{"id": "colbert-ir/colbertv2.0"}')
    decision = models.decide_profile("auto")
    assert decision.profile == "hub" and "answered" in decision.reason


@pytest.mark.parametrize("answer", [(404, b"not found"), (200, b"<html>Welcome to the Wi-Fi</html>"),
                                    (200, b'{"id": "someone/else"}'), (503, b"")])
def test_a_server_that_is_not_the_hub_does_not_count(fake_hub, empty_cache, answer):
    # proxies, captive portals and interceptors answer every request
    fake_hub["/api/models/colbert-ir/colbertv2.0"] = answer
    assert models.decide_profile("auto").profile == "offline"


@pytest.fixture
def refused_hub(monkeypatch):
    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")


def test_prefetch_without_hub_reports_what_is_missing(refused_hub, empty_cache, capsys):
    assert models.prefetch() == 1
    out = capsys.readouterr().out
    assert "NOT reachable" in out and out.count("MISSING") == len(models.COURSE_MODELS) == 4


def test_prefetch_reports_cached_models_ready(refused_hub, empty_cache, capsys):
    fake_real_cache(empty_cache)
    assert models.prefetch() == 0
    assert capsys.readouterr().out.count("ready offline") == len(models.COURSE_MODELS) == 4
