"""A project-local cache of embedded document lists, so the corpus is embedded once, not per notebook.

Notebooks 04 and 05 (and the tests) embed the same 1,000 passages with the same two models. The
first call computes the vectors and stores them; every later call with the same model, the same
texts and the same settings reads them back, bit for bit (float32 as computed, never rounded).

What a result is stored under (the *key*, a SHA-256 of all of these):

- the model: its name, its fastembed class, the SHA-256 of the ONNX file fastembed actually
  loaded and of the tokenizer files next to it (so the offline stand-ins and the real models, or
  two versions of either, never share an entry), the session's execution providers, and the
  fastembed, onnxruntime and numpy versions. The thread count is not part of it, nor the CPU for
  float graphs: they change results by about 1e-6 (``make check-cpus``), below what any notebook
  prints. For a graph with integer matrix products (``MatMulInteger``: the Hub's int8 bge-small)
  the CPU's instruction sets are part of it, because ONNX Runtime's integer kernels for AVX2,
  AVX-512 VNNI and ARM give visibly different results;
- every setting that can change the output (here: the batch size and the batching order);
- the texts, in order (a SHA-256 over each text's UTF-8 bytes and length).

Where: ``.cache/embeddings/`` in the project (``~/.cache/late-interaction-course/embeddings``
when the helpers are installed elsewhere), or the folder named by ``COURSE_EMBEDDING_CACHE``;
``COURSE_EMBEDDING_CACHE=off`` turns the cache off. Never the learner's fastembed cache.

A list is stored in chunks of :data:`CHUNK` consecutive texts, one entry each, keyed by that
chunk's texts: notebook 04's first 1,000 passages and notebook 06's 2,458 share their first 31
chunks. Each entry is two files: ``<key>.npy`` (the chunk's result rows, concatenated) and
``<key>.json`` (the manifest: row counts per text, shape, dtype, the data file's size and SHA-256,
what the key was made of and the seconds the chunk took to compute, for people). Both are
written to a temporary file and moved into place, data first. Each chunk has its own file lock: a
process that finds a chunk locked (another kernel is computing it) goes on to the next chunk and
comes back to read it at the end, so two kernels (or the two test workers) embedding the same
list at once split the work and compute each chunk once. An entry whose data does not match its
manifest (truncated, damaged, missing) is recomputed and rewritten, with a warning, never trusted.
Long computations show a progress bar (:mod:`helpers.progress`).
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import io
import json
import os
import secrets
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

#: The environment variable naming the cache folder, or ``off`` to disable the cache.
CACHE_VARIABLE = "COURSE_EMBEDDING_CACHE"
#: Values of :data:`CACHE_VARIABLE` that turn the cache off.
OFF_VALUES = ("off", "0", "false", "no", "none")
#: Bump when the layout of an entry changes: old entries are then ignored (and recomputed).
FORMAT_VERSION = 1
#: Files next to the ONNX model that change what fastembed computes (tokenisation, truncation).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json")

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class EmbeddingCacheWarning(UserWarning):
    """The cache found a damaged entry (recomputed) or could not be used (results not stored)."""


# ----------------------------------------------------------------------------- settings


def cache_enabled(environ: dict | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return (environ.get(CACHE_VARIABLE) or "").strip().lower() not in OFF_VALUES


def cache_dir(environ: dict | None = None) -> Path:
    """The folder entries are stored in (see the module docstring)."""
    environ = os.environ if environ is None else environ
    override = (environ.get(CACHE_VARIABLE) or "").strip()
    if override and override.lower() not in OFF_VALUES:
        return Path(override).expanduser().resolve()
    if (_PROJECT_ROOT / "pyproject.toml").is_file():  # helpers installed from the repo (editable)
        return _PROJECT_ROOT / ".cache" / "embeddings"
    return Path.home() / ".cache" / "late-interaction-course" / "embeddings"


# ----------------------------------------------------------------------------- keys

_FILE_HASHES: dict[tuple, str] = {}
#: In the cache folder: what earlier processes found, ``{"<path>|<size>|<mtime_ns>|<inode>": sha256,
#: "integer:<sha256>": true or false}``, so a new kernel does not read 120 MB model files again.
FACTS_FILE = "file-facts.txt"


def _stored_facts() -> dict:
    if not cache_enabled():
        return {}
    try:
        facts = json.loads((cache_dir() / FACTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return facts if isinstance(facts, dict) else {}


def _store_fact(key: str, value) -> None:
    """Add one fact to :data:`FACTS_FILE` (a lost race only costs a later process one hash)."""
    if not cache_enabled():
        return
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        facts = {**_stored_facts(), key: value}
        tmp = folder / f".{FACTS_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        tmp.write_text(json.dumps(facts, indent=1, sort_keys=True))
        os.replace(tmp, folder / FACTS_FILE)
    except OSError:
        pass


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's contents; remembered per (path, size, mtime, inode) in this process and,
    with the cache on, in :data:`FACTS_FILE` for later processes (as git trusts a file's size and
    time)."""
    path = Path(path).resolve()
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if memo not in _FILE_HASHES:
        key = "|".join(map(str, memo))
        stored = _stored_facts().get(key)
        if isinstance(stored, str) and len(stored) == 64:
            _FILE_HASHES[memo] = stored
        else:
            digest = hashlib.sha256()
            with open(path, "rb") as file:
                for block in iter(lambda: file.read(1 << 20), b""):
                    digest.update(block)
            _FILE_HASHES[memo] = digest.hexdigest()
            _store_fact(key, _FILE_HASHES[memo])
    return _FILE_HASHES[memo]


def model_identity(model) -> dict | None:
    """What identifies a fastembed model's output: its files' SHA-256, class, providers, versions.

    ``model`` is a fastembed ``TextEmbedding``, ``LateInteractionTextEmbedding`` (or the
    implementation object inside one). Returns None when the model file cannot be found (for
    example an object that is not a fastembed model): such models are not cached.
    """
    inner = getattr(model, "model", None)
    if inner is None or not hasattr(inner, "_model_dir"):
        inner = model
    model_dir = getattr(inner, "_model_dir", None)
    description = getattr(inner, "model_description", None)
    model_file = getattr(description, "model_file", None)
    if model_dir is None or not model_file:
        return None
    model_dir = Path(model_dir)
    if not (model_dir / model_file).is_file():
        return None
    files = {model_file: file_sha256(model_dir / model_file)}
    for name in [*(getattr(description, "additional_files", None) or []), *TOKENIZER_FILES]:
        if (model_dir / name).is_file():
            files[name] = file_sha256(model_dir / name)
    session = getattr(inner, "model", None)
    providers = session.get_providers() if hasattr(session, "get_providers") else None
    cpu = {"cpu": cpu_kernels()} if integer_graph(model_dir / model_file) else {}
    return {**cpu,
        "model": getattr(model, "model_name", None) or getattr(description, "model", None),
        "class": f"{type(inner).__module__}.{type(inner).__qualname__}",
        "files": files,
        "providers": providers,
        "fastembed": _version("fastembed"),
        "onnxruntime": _version("onnxruntime"),
        "numpy": _version("numpy"),  # fastembed's post-processing (normalising, MUVERA) runs in numpy
    }


_INTEGER_GRAPHS: dict[str, bool] = {}


def integer_graph(path: Path) -> bool:
    """True when the ONNX file multiplies integers (``MatMulInteger``, ``QLinearMatMul``,
    ``DynamicQuantizeMatMul``): results that depend on the CPU's integer instructions."""
    digest = file_sha256(path)
    if digest not in _INTEGER_GRAPHS:
        stored = _stored_facts().get(f"integer:{digest}")
        if isinstance(stored, bool):
            _INTEGER_GRAPHS[digest] = stored
        else:
            data = Path(path).read_bytes()
            _INTEGER_GRAPHS[digest] = any(op in data for op in (b"MatMulInteger", b"QLinearMatMul",
                                                                 b"DynamicQuantizeMatMul"))
            _store_fact(f"integer:{digest}", _INTEGER_GRAPHS[digest])
    return _INTEGER_GRAPHS[digest]


def cpu_kernels() -> str:
    """The machine type and the instruction sets ONNX Runtime's integer kernels choose between."""
    import platform

    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.lower().startswith(("flags", "features")):
                    flags.update(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm", "sve")
    return " ".join([platform.machine(), platform.system(), *[f for f in wanted if f in flags]])


@functools.lru_cache(maxsize=None)
def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def texts_sha256(texts: Sequence[str]) -> str:
    """One SHA-256 over the texts in order; the length prefix keeps ["ab", "c"] apart from ["a", "bc"]."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def entry_key(identity: dict, settings: dict, texts: Sequence[str]) -> str:
    record = {"format": FORMAT_VERSION, "identity": identity, "settings": settings,
              "texts": texts_sha256(texts), "n_texts": len(texts)}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


# ----------------------------------------------------------------------------- entries


def _split(rows: np.ndarray, lengths: list[int] | None) -> list[np.ndarray]:
    """Rows back into one array per text: views into ``rows`` (1-D rows for one-vector models)."""
    if lengths is None:
        return list(rows)
    return np.split(rows, np.cumsum(lengths)[:-1]) if lengths else []


def _pack(results: list[np.ndarray]) -> tuple[np.ndarray, list[int] | None] | None:
    """All results as one 2-D array plus rows per text (None for one-vector results); None if mixed."""
    if not results:
        return None
    first = np.asarray(results[0])
    if first.ndim not in (1, 2) or any(
            np.asarray(r).ndim != first.ndim or np.asarray(r).dtype != first.dtype
            or np.asarray(r).shape[-1] != first.shape[-1] for r in results):
        return None
    if first.ndim == 1:
        return np.stack(results), None
    return np.concatenate(results), [len(r) for r in results]


def _atomic_write(target: Path, write: Callable) -> None:
    """Write to a new file next to ``target``, then move it into place (readers never see half a file)."""
    temporary = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any file
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _read(folder: Path, key: str) -> list[np.ndarray] | None:
    """The stored results, or None when there is no entry. Raises ValueError for a damaged entry."""
    manifest_path, data_path = folder / f"{key}.json", folder / f"{key}.npy"
    if not manifest_path.exists() and not data_path.exists():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ValueError(f"unreadable ({type(exc).__name__})") from exc
    if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
        raise ValueError("manifest of another format or key")
    if len(data) != manifest.get("bytes") or hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise ValueError("data file does not match its checksum")
    rows = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    lengths = manifest.get("lengths")
    n_rows = manifest["n_texts"] if lengths is None else sum(lengths)
    if rows.ndim != 2 or rows.shape != (n_rows, manifest["dim"]) or str(rows.dtype) != manifest["dtype"]:
        raise ValueError("data shape does not match the manifest")
    return _split(rows, lengths)


def _write(folder: Path, key: str, rows: np.ndarray, lengths: list[int] | None, about: dict) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(rows), allow_pickle=False)
    data = buffer.getvalue()
    manifest = {
        "format": FORMAT_VERSION,
        "key": key,
        "n_texts": len(rows) if lengths is None else len(lengths),
        "lengths": lengths,
        "dim": int(rows.shape[1]),
        "dtype": str(rows.dtype),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **about,
    }
    _atomic_write(folder / f"{key}.npy", lambda file: file.write(data))
    _atomic_write(folder / f"{key}.json", lambda file: file.write(json.dumps(manifest, indent=1).encode()))


#: Texts per entry. A list is stored in consecutive chunks of this many texts, so that lists which
#: share a prefix share entries (notebook 04's first 1,000 passages and notebook 06's 2,458), and
#: so that two processes embedding the same list at once can split the work between them.
CHUNK = 32


def _chunks(n: int, size: int = CHUNK) -> list[range]:
    if size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {size}")
    return [range(start, min(start + size, n)) for start in range(0, n, size)]


def cached(model, texts: Sequence[str], settings: dict, compute: Callable[[list[int]], list[np.ndarray]],
           folder: Path | None = None, *, description: str | None = None,
           chunk_size: int = CHUNK) -> list[np.ndarray]:
    """``compute``'s results for ``model`` on ``texts``, from the cache where stored, else stored.

    ``compute(positions)`` returns the results for ``texts[i]``, ``i`` in ``positions`` (a list of
    up to :data:`CHUNK` consecutive positions), in that order. ``settings`` holds everything else
    that changes the output (JSON-serialisable). The texts are stored in chunks of
    :data:`CHUNK`, each its own entry under its own lock: a process that finds a chunk being
    computed by another moves on to the next chunk and reads the skipped one at the end, so two
    kernels embedding the corpus at once each compute half of it. ``chunk_size=1`` stores every
    text on its own: for results that many different lists share (a cross-encoder's
    (query, passage) pairs appear in several pipelines' candidate lists, in other orders). Models that cannot be
    identified are computed without the cache. A progress bar (``helpers.progress``) shows
    when computing takes more than a moment; ``description`` names the work in it.
    """
    from .progress import progress_bar

    texts = list(texts)
    identity = model_identity(model)
    chunks = _chunks(len(texts), chunk_size)
    results: list = [None] * len(texts)
    label = description or str(settings.get("method") or settings.get("kind") or "computing")
    if identity is not None and identity.get("model"):
        label += f" · {identity['model']}"
    bar, done = None, 0

    def working() -> None:
        """Called before computing (or waiting for) a chunk: from then on a bar follows the work."""
        nonlocal bar
        if bar is None:
            bar = progress_bar(len(texts), label, initial=done)

    def fill(chunk: range, values) -> None:
        nonlocal done
        values = list(values)
        if len(values) != len(chunk):
            raise ValueError(f"compute returned {len(values)} results for {len(chunk)} texts")
        results[chunk.start:chunk.stop] = values
        done += len(chunk)
        if bar is not None:
            bar.update(len(chunk))

    def compute_all() -> list:
        for chunk in chunks:
            working()
            fill(chunk, compute(list(chunk)))
        return results

    from .runtime import noise_seed, output_noise, perturb

    noise = output_noise()
    if noise and identity is not None and texts:  # make check-noise: stored results, perturbed; store nothing
        where = cache_dir() if folder is None else Path(folder)
        for chunk in chunks:
            key = entry_key(identity, settings, texts[chunk.start:chunk.stop])
            try:
                stored = _read(where, key)
            except (ValueError, KeyError, TypeError):
                stored = None
            fill(chunk, compute(list(chunk)) if stored is None
                 else perturb(stored, noise, int(key[:8], 16) + noise_seed()))
        return results
    try:
        if identity is None or not texts:
            return compute_all()
        folder = cache_dir() if folder is None else Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            from filelock import FileLock, Timeout
        except OSError as exc:
            warnings.warn(f"embedding cache {folder} cannot be used ({exc}); computing without it",
                          EmbeddingCacheWarning, stacklevel=3)
            return compute_all()
        about = {"model": identity["model"], "settings": settings, "identity": identity}
        skipped = []
        for chunk in chunks:  # first pass: every chunk no other process is computing right now
            key = entry_key(identity, settings, texts[chunk.start:chunk.stop])
            try:  # a stored entry is read without the lock: entries are complete files, moved into place
                stored = _read(folder, key)
            except (ValueError, KeyError, TypeError):
                stored = None  # damaged or being replaced: the locked path below repairs it, with a warning
            if stored is not None:
                fill(chunk, stored)
                continue
            lock = FileLock(str(folder / f"{key}.lock"))
            try:
                lock.acquire(timeout=0)
            except Timeout:  # another process is computing it: come back to it at the end
                skipped.append((chunk, key))
                continue
            try:
                fill(chunk, _read_or_compute(folder, key, chunk, compute, about, working))
            finally:
                lock.release()
        for chunk, key in skipped:  # second pass: wait for the other process, then read its entry
            working()
            with FileLock(str(folder / f"{key}.lock")):
                fill(chunk, _read_or_compute(folder, key, chunk, compute, about, working))
        return results
    finally:
        if bar is not None:
            bar.close()


def _read_or_compute(folder: Path, key: str, chunk: range, compute, about: dict,
                     before_computing: Callable[[], None]) -> list[np.ndarray]:
    """One chunk's results: its stored entry, or computed and stored. Call with the key's lock held."""
    try:
        stored = _read(folder, key)
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"embedding cache entry {key[:12]} in {folder} is damaged ({exc}); recomputing it",
                      EmbeddingCacheWarning, stacklevel=4)
        stored = None
    if stored is not None:
        return stored
    before_computing()
    started = time.perf_counter()
    results = list(compute(list(chunk)))
    seconds = time.perf_counter() - started
    packed = _pack(results)
    if packed is None:
        return results
    rows, lengths = packed
    try:
        _write(folder, key, rows, lengths, {**about, "seconds": round(seconds, 3)})
    except OSError as exc:
        warnings.warn(f"embedding cache {folder}: could not store the results ({exc})",
                      EmbeddingCacheWarning, stacklevel=4)
    return _split(rows, lengths)


def cached_unless_off(model, texts: Sequence[str], settings: dict, compute: Callable[[list[int]], list[np.ndarray]],
                      cache: bool | None = None, *, description: str | None = None,
                      chunk_size: int = CHUNK) -> list[np.ndarray]:
    """:func:`cached`, unless the cache is off: ``cache=None`` follows :data:`CACHE_VARIABLE`,
    ``False`` computes afresh and stores nothing, ``True`` uses the cache whatever the environment
    says. The one switch every cached helper (embeddings, cross-encoder logits, MUVERA encodings,
    pooled passages) goes through. ``compute(positions)`` as in :func:`cached`."""
    if not (cache_enabled() if cache is None else cache):
        return cached(None, texts, settings, compute, description=description, chunk_size=chunk_size)
    return cached(model, texts, settings, compute, description=description, chunk_size=chunk_size)
