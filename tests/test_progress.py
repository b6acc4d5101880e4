"""Progress bars: shown for long work, silent under nbval and `make outputs` (COURSE_PROGRESS=off)."""

import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import embedding_cache, progress
from helpers.embedding import embed_documents

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from test_embedding_cache import FAKE_MODEL, FakeModel  # noqa: E402

TEXTS = [f"passage {i} about things" for i in range(40)]


@pytest.mark.parametrize("value, enabled", [(None, True), ("", True), ("on", True), ("off", False),
                                            ("0", False), ("False", False), ("no", False)])
def test_the_variable_turns_bars_off(value, enabled):
    environ = {} if value is None else {progress.PROGRESS_VARIABLE: value}
    assert progress.progress_enabled(environ) is enabled


@pytest.fixture
def bars_on(monkeypatch, tmp_path):
    monkeypatch.setenv(progress.PROGRESS_VARIABLE, "on")
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.setenv(embedding_cache.CACHE_VARIABLE, str(tmp_path / "embeddings"))


def test_a_bar_follows_computing_and_names_the_work(bars_on, tmp_path, capsys):
    embed_documents(FakeModel(tmp_path / "model"), TEXTS)
    err = capsys.readouterr().err
    assert "Embedding 40 passages · fake/model" in err and "/40" in err


def test_no_bar_when_everything_is_cached(bars_on, tmp_path, capsys):
    model = FakeModel(tmp_path / "model")
    embed_documents(model, TEXTS)
    capsys.readouterr()
    embed_documents(model, TEXTS)
    assert capsys.readouterr().err == ""


def test_no_bar_when_turned_off(bars_on, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(progress.PROGRESS_VARIABLE, "off")
    embed_documents(FakeModel(tmp_path / "model"), TEXTS)
    assert capsys.readouterr().err == ""


def _run_in_kernel(tmp_path, environment: str) -> list:
    """Outputs of one notebook cell that embeds 40 texts on an empty cache, as nbval would record them."""
    cell = FAKE_MODEL + textwrap.dedent(f"""
        import os
        {environment}
        os.environ["COURSE_EMBEDDING_CACHE"] = {str(tmp_path / "kernel-cache")!r}
        from helpers import embedding, progress
        progress.DELAY_SECONDS = 0.0
        vectors = embedding.embed_documents(FakeModel({str(tmp_path / "kernel-model")!r}), {TEXTS!r})
    """)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb.cells[0].outputs


def test_a_notebook_under_the_test_settings_records_no_bar(tmp_path):
    # the kernel inherits this process's environment, where conftest.py turned bars off
    assert not progress.progress_enabled()
    assert _run_in_kernel(tmp_path, "") == []


def test_a_notebook_in_jupyter_shows_the_bar_as_a_widget(tmp_path):
    outputs = _run_in_kernel(tmp_path, 'os.environ["COURSE_PROGRESS"] = "on"')
    kinds = {kind for output in outputs for kind in output.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds, outputs
