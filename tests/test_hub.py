"""The real models' published numbers (from the seed lesson), checked whenever the Hub is reachable.

These run the real models in a subprocess with the learner's normal settings (no stand-ins).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import models

HUB = models.check_hub()
pytestmark = [
    pytest.mark.hub,
    pytest.mark.skipif(not HUB.reachable, reason=f"the Hugging Face Hub is not reachable ({HUB.reason})"),
]


@pytest.fixture(scope="module")
def real_results(tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "COURSE_STANDIN_CACHE")}
    env["COURSE_MODELS"] = "hub"
    script = textwrap.dedent("""
        import json, numpy as np, helpers
        from fastembed import LateInteractionTextEmbedding, TextEmbedding
        from fastembed.rerank.cross_encoder import TextCrossEncoder
        from helpers.examples import SEED_DOCUMENTS as documents, SEED_QUERY as query
        assert helpers.setup(quiet=True).profile == "hub"
        dense = TextEmbedding("BAAI/bge-small-en-v1.5")
        dv = list(dense.passage_embed(documents)); dq = next(dense.query_embed(query))
        cross = list(TextCrossEncoder("Xenova/ms-marco-MiniLM-L-6-v2").rerank(query, documents))
        colbert = LateInteractionTextEmbedding("colbert-ir/colbertv2.0")
        print(json.dumps({
            "dense_shapes": [list(dv[0].shape), list(dq.shape)],
            "dense": [float(np.dot(dq, v)) for v in dv],
            "cross": [float(s) for s in cross],
            "colbert_shapes": [list(next(colbert.passage_embed(documents)).shape),
                               list(next(colbert.query_embed(query)).shape)],
        }))
    """)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dense_dot_products(real_results):
    assert real_results["dense_shapes"] == [[384], [384]]
    assert real_results["dense"] == pytest.approx([0.6554835, 0.43436375], abs=5e-5)


def test_cross_encoder_scores(real_results):
    assert real_results["cross"] == pytest.approx([10.134, -11.429], abs=5e-4)


def test_colbert_shapes(real_results):
    assert real_results["colbert_shapes"] == [[17, 128], [32, 128]]
