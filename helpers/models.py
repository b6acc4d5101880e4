"""The course's models, the model profiles, and where fastembed finds the models.

A *profile* decides which weights stand behind the model names the notebooks use:

- ``hub``: the real models, downloaded by fastembed from the Hugging Face Hub into the
  learner's normal fastembed cache (or read from it when already there);
- ``offline``: the course's stand-ins (:mod:`helpers.standins`), built into the project's
  own cache folder; the Hub is never contacted;
- ``auto`` (the default): ``hub`` when the Hub answers within a few seconds or the real
  models are already cached, otherwise ``offline`` with a notice.

The profile is chosen with the environment variable ``COURSE_MODELS``. The notebooks never
call anything here directly: ``helpers.setup()`` (in :mod:`helpers.course`) does.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import standins

#: The environment variable that selects the profile.
PROFILE_VARIABLE = "COURSE_MODELS"
PROFILES = ("auto", "hub", "offline")
#: Overrides where the stand-ins are built (default: ``.cache/standins`` in the project).
STANDIN_CACHE_VARIABLE = "COURSE_STANDIN_CACHE"
#: How long ``auto`` waits for the Hub before it decides on ``offline``.
HUB_TIMEOUT_SECONDS = 2.5

DENSE_MODEL = "BAAI/bge-small-en-v1.5"
CROSS_ENCODER_MODEL = "Xenova/ms-marco-MiniLM-L-6-v2"
COLBERT_MODEL = "colbert-ir/colbertv2.0"
BM25_MODEL = standins.BM25_MODEL
COURSE_MODELS = (DENSE_MODEL, CROSS_ENCODER_MODEL, COLBERT_MODEL, BM25_MODEL)

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILES`, or a profile that cannot work here."""


# ----------------------------------------------------------------------------- places


def standin_cache_dir() -> Path:
    """The folder the offline profile points fastembed to; never the normal fastembed cache."""
    override = os.environ.get(STANDIN_CACHE_VARIABLE)
    if override:
        return Path(override).expanduser().resolve()
    if (_PROJECT_ROOT / "pyproject.toml").is_file():  # helpers installed from the repo (editable)
        return _PROJECT_ROOT / ".cache" / "standins"
    return Path.home() / ".cache" / "late-interaction-course" / "standins"


#: Values of the variables the offline profile changes, as they were before it changed them.
_ORIGINAL_ENV: dict[str, str | None] = {}


def set_env(name: str, value: str | None) -> None:
    """Set (or with None, remove) an environment variable, remembering its original value."""
    _ORIGINAL_ENV.setdefault(name, os.environ.get(name))
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def original_env(name: str) -> str | None:
    """The variable's value before the course changed it in this process."""
    return _ORIGINAL_ENV[name] if name in _ORIGINAL_ENV else os.environ.get(name)


def normal_fastembed_cache() -> Path:
    """The learner's fastembed cache (as fastembed computes it), ignoring the offline redirect."""
    configured = original_env("FASTEMBED_CACHE_PATH")
    return Path(configured or os.path.join(tempfile.gettempdir(), "fastembed_cache"))


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


# ----------------------------------------------------------------------------- the Hub


@dataclass(frozen=True)
class HubCheck:
    reachable: bool
    reason: str  # short, for the banner: "answered in 0.31 s", "timed out after 2.5 s", ...
    seconds: float


def check_hub(timeout: float = HUB_TIMEOUT_SECONDS) -> HubCheck:
    """Ask the Hub once whether it answers; never waits longer than ``timeout`` seconds.

    One request, no retries. Name resolution is not covered by socket timeouts, so the request
    runs in a daemon thread that is abandoned when the deadline passes.
    """
    url = f"{hub_endpoint()}/api/models/{COLBERT_MODEL}"
    result: list[HubCheck] = []
    start = time.perf_counter()

    def probe() -> None:
        # Only the Hub's own answer counts: proxies, captive portals and interceptors answer
        # anything (a 404 or an HTML page), so the reply must be the model's JSON record.
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                record = json.loads(response.read(1 << 20))
            ok = isinstance(record, dict) and COLBERT_MODEL in (record.get("id"), record.get("modelId"))
            reason = "answered" if ok else "an unexpected server answered"
        except urllib.error.HTTPError as exc:
            ok, reason = False, f"answered HTTP {exc.code}"
        except ValueError:
            ok, reason = False, "an unexpected server answered"
        except Exception as exc:  # DNS failure, refused, reset, TLS, timeout
            ok, reason = False, _short_reason(exc, timeout)
        result.append(HubCheck(ok, reason, time.perf_counter() - start))

    thread = threading.Thread(target=probe, name="course-hub-check", daemon=True)
    thread.start()
    thread.join(timeout)
    if result:
        return result[0]
    return HubCheck(False, f"no answer within {timeout:g} s", time.perf_counter() - start)


def _short_reason(exc: Exception, timeout: float) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "Name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "its name does not resolve"
    if "timed out" in text:
        return f"no answer within {timeout:g} s"
    if "refused" in text:
        return "connection refused"
    return type(reason).__name__ if not text else text[:60]


# ----------------------------------------------------------------------------- caches


def cached_real_models(cache_dir: Path | None = None) -> dict[str, bool]:
    """For each course model: are the real model's files in the normal fastembed cache?

    Reads the Hugging Face cache layout fastembed uses (``models--org--name/refs/main`` and
    ``snapshots/<revision>/``) without importing fastembed or contacting the Hub.
    """
    cache_dir = normal_fastembed_cache() if cache_dir is None else Path(cache_dir)
    wanted = [(s.model, s.source_repo, (s.model_file, "tokenizer.json")) for s in standins.STANDINS]
    wanted.append((standins.BM25_MODEL, standins.BM25_MODEL, ("config.json", "english.txt")))
    status = {}
    for model, source_repo, files in wanted:
        base = cache_dir / standins.repo_folder(source_repo)
        ready = False
        try:
            revision = (base / "refs" / "main").read_text().strip()
            snapshot = base / "snapshots" / revision
            ready = (all((snapshot / name).is_file() for name in files)
                     and not (snapshot / "COURSE-STANDIN.txt").exists())
        except OSError:
            pass
        status[model] = ready
    return status


# ----------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Decision:
    """Which profile is in use, and why."""

    requested: str  # what COURSE_MODELS asked for
    profile: str  # "hub" or "offline"
    reason: str
    seconds: float  # time the decision took


def requested_profile(environ: dict | None = None) -> str:
    """The profile named by ``COURSE_MODELS`` (default ``auto``); raises ProfileError if unknown."""
    environ = os.environ if environ is None else environ
    name = (environ.get(PROFILE_VARIABLE) or "auto").strip().lower()
    if name not in PROFILES:
        raise ProfileError(
            f"{PROFILE_VARIABLE}={environ.get(PROFILE_VARIABLE)!r} is not a model profile; "
            f"valid profiles are: {', '.join(PROFILES)}"
        )
    return name


def decide_profile(requested: str | None = None, hub_timeout: float = HUB_TIMEOUT_SECONDS) -> Decision:
    """Resolve ``auto`` to ``hub`` or ``offline``; check that ``hub`` can work."""
    start = time.perf_counter()
    requested = requested_profile() if requested is None else requested_profile({PROFILE_VARIABLE: requested})
    if requested == "offline":
        return Decision(requested, "offline", f"{PROFILE_VARIABLE}=offline", time.perf_counter() - start)
    if all(cached_real_models().values()):
        return Decision(requested, "hub", "real models found in the fastembed cache", time.perf_counter() - start)
    hub = check_hub(hub_timeout)
    if hub.reachable:
        return Decision(requested, "hub", f"the Hub {hub.reason}", time.perf_counter() - start)
    if requested == "hub":
        raise ProfileError(
            f"{PROFILE_VARIABLE}=hub, but the Hugging Face Hub ({hub_endpoint()}) is not reachable "
            f"({hub.reason}) and the real models are not all in the fastembed cache "
            f"({normal_fastembed_cache()}). Run `make prefetch` on a connected machine first, "
            f"or use {PROFILE_VARIABLE}=offline for the labelled stand-ins."
        )
    return Decision(requested, "offline", f"the Hub is not reachable: {hub.reason}", time.perf_counter() - start)


# ----------------------------------------------------------------------------- prefetch


def prefetch() -> int:
    """Download the real models into the normal fastembed cache, then report readiness.

    Returns a process exit code: 0 when every course model is ready to load offline.
    """
    from .runtime import quiet_libraries

    quiet_libraries()
    cache = normal_fastembed_cache()
    hub = check_hub()
    print(f"Hub {hub_endpoint()}: {'reachable' if hub.reachable else 'NOT reachable'} ({hub.reason})")
    print(f"fastembed cache: {cache}")
    if hub.reachable:
        from fastembed import LateInteractionTextEmbedding, SparseTextEmbedding, TextEmbedding
        from fastembed.rerank.cross_encoder import TextCrossEncoder

        for name, cls in ((DENSE_MODEL, TextEmbedding), (CROSS_ENCODER_MODEL, TextCrossEncoder),
                          (COLBERT_MODEL, LateInteractionTextEmbedding), (BM25_MODEL, SparseTextEmbedding)):
            print(f"downloading {name} ...", flush=True)
            try:
                cls(name)
            except Exception as exc:  # report and go on: the table below says what is missing
                print(f"  failed: {exc}")
    else:
        print("Nothing can be downloaded now; reporting what the cache already holds.")
    status = cached_real_models(cache)
    width = max(map(len, status))
    for name, ready in status.items():
        print(f"  {name:<{width}}  {'ready offline' if ready else 'MISSING'}")
    if all(status.values()):
        print("All course models are cached: the notebooks will use the real models without the Hub.")
        return 0
    print(f"Not all models are cached: without the Hub, {PROFILE_VARIABLE}=auto will use the stand-ins.")
    return 1

