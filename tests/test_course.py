"""helpers.setup(): environment, display defaults, banner."""

import os

import numpy as np
import pytest

import helpers
from helpers import course, models


def test_offline_setup_points_fastembed_at_the_standins(capsys):
    chosen = helpers.setup()
    banner = capsys.readouterr().out
    assert chosen.profile == "offline" and chosen.stand_ins
    assert os.environ["FASTEMBED_CACHE_PATH"] == str(models.standin_cache_dir())
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert banner.count("\n") == 1 and "colbert: STAND-IN" in banner and "dense: real bge-small" in banner
    for role in ("dense", "cross-encoder", "colbert"):
        assert f"{role}: " in banner


def test_bad_profile_name_fails_setup(monkeypatch):
    monkeypatch.setenv("COURSE_MODELS", "real")
    with pytest.raises(ValueError, match="valid profiles are"):
        helpers.setup()


@pytest.mark.parametrize("value, text", [(0.6554835, "0.6555"), (1.0, "1.0"), (-11.428644, "-11.43"),
                                         (102.76062, "102.8"), (np.float32(0.025626116), "0.02563")])
def test_format_float(value, text):
    assert course.format_float(value) == text


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        helpers.table(["a", "b"], [[1, 2], [3]])


def test_table_markdown():
    t = helpers.table(["doc", "score"], [["A", 0.5], ["B", np.float32(12.25)]])
    assert t._repr_markdown_().splitlines() == ["| doc | score |", "|---|---|", "| A | 0.5 |", "| B | 12.25 |"]


def test_table_markdown_shows_bars_and_links_as_typed():
    t = helpers.table(["passage"], [["| notebook | see [08 · Quantization](notebooks/08-quantization.ipynb) |"]])
    cell = t._repr_markdown_().splitlines()[2]
    assert cell == "| \\| notebook \\| see [08 · Quantization]&#40;notebooks/08-quantization.ipynb) \\| |"
    assert repr(t).splitlines()[2].startswith("| notebook | see [08")  # plain text unchanged
