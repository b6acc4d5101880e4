"""Do the offline models give the same outputs on other CPUs?  (`make check-cpus`; not part of `make test`)

    sudo make check-cpus                      every environment below, then the comparison
    python tools/check_cpus.py --only native,haswell
    python tools/check_cpus.py --compare-only      compare the saved results, run nothing

Runs tools/cpu_probe.py (the offline profile's three models through the course's own code, and the
discrete steps the notebooks take from their outputs) in several environments and compares each
with this machine's own results:

=============  ===============================================================================
native         this machine, ONNX Runtime's default threads: the reference
threads-1/2/8  this machine, ONNX Runtime at 1, 2 and 8 intra-op threads
haswell        the course's venv Python under ``qemu-x86_64 -cpu Haswell`` (AVX2, no AVX-512)
arm64-max      an arm64 Debian 12 Python under ``qemu-aarch64 -cpu max`` (SVE, dot product, ...)
arm64-a72      the same under ``qemu-aarch64 -cpu cortex-a72`` (NEON only)
=============  ===============================================================================

Emulation is about a hundred times slower (float32 matrix products through qemu's TCG), so the
emulated environments run a light workload: the first 12 passages of the probe's fixed set (the
best judged passages of its five queries, instead of 300 passages) and 3 cross-encoder candidates
per query (instead of 30), besides the seed and lesson-3 examples. Even so each takes 30 to 40
minutes of one core; they run side by side (``--jobs``). They are compared with a native run of
that same workload (``native-light``, run whenever one of them is). Tolerances: token vectors and dense vectors within 1e-5 (largest
absolute difference), cross-encoder logits and MUVERA encodings within 1e-4; the discrete steps
(top-10 lists, signs, SimHash buckets, token-pooling clusters) identical. The exit status is 1 when
any of them fails or an environment cannot run, 2 when something this script needs is missing.

Results go to build/check-cpus/: one .npz, .log and .json (time, command) per environment, and
the table as Markdown in report.md. An environment's .npz is reused when it is newer than the
model files, the probe and helpers/ (``--rerun`` runs it again anyway).

The arm64 environments need root the first time: an arm64 Debian 12 root filesystem is extracted
with mmdebstrap into /var/tmp/late-interaction-arm64 (``$ARM64_ROOT``), and aarch64 wheels of what
the probe imports are installed next to it with this machine's pip, at the versions pinned in
requirements.txt. Under qemu-user, ONNX Runtime reads /proc/cpuinfo and /sys/devices/system/cpu
to learn the CPU; qemu's ``-L`` looks paths up in the root first, so each CPU model gets a small
root of its own (links to the Debian root, plus a cpuinfo whose Features line is what that model
offers, and one CPU in /sys). Without them ONNX Runtime reads the x86 host's files and crashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "tools" / "cpu_probe.py"
OUT = REPO / "build" / "check-cpus"
STANDIN_CACHE = Path(os.environ.get("COURSE_STANDIN_CACHE") or REPO / ".cache" / "standins")

ARM64_CACHE = Path(os.environ.get("ARM64_ROOT", "/var/tmp/late-interaction-arm64"))
ARM64_ROOTFS = ARM64_CACHE / "rootfs"
# libstdc++6: numpy's, ONNX Runtime's and tokenizers' wheels link it, and python3 does not pull it in.
ARM64_PACKAGES = "python3,python3-venv,libpython3.11-stdlib,libgomp1,libstdc++6"
ARM64_SITE = ARM64_CACHE / "site-packages"
# What the probe imports, with their dependencies (pip resolves them against requirements.txt's pins).
# matplotlib: helpers.setup() sets its display defaults. Not soupsieve (needs Python 3.11.5; unused).
ARM64_WHEELS = ["fastembed", "numpy", "onnxruntime", "tokenizers", "scipy", "matplotlib", "filelock",
                "threadpoolctl"]
# /proc/cpuinfo's identification lines for each emulated model (MIDR fields as qemu sets them:
# "max" is implementer 0, part 0x051, so that no software mistakes it for a real core).
ARM64_MIDR = {"max": ("0x00", "0x051", "0"), "cortex-a72": ("0x41", "0xd08", "3")}

APT_HINT = "apt-get install qemu-user mmdebstrap"

#: The two workloads: (passages, cross-encoder candidates per query).
FULL, LIGHT = (300, 30), (12, 3)

TOLERANCES = {"dense": 1e-5, "ColBERT": 1e-5, "logits": 1e-4, "MUVERA FDE": 1e-4}
#: A ColBERT component or SimHash dot product this close to zero could change sign between CPUs.
NEAR_ZERO = 1e-5


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    kind: str  # "native", "x86" (qemu-x86_64) or "arm64" (qemu-aarch64)
    workload: tuple[int, int]
    threads: int | None = None  # ONNX Runtime intra-op threads; None: fastembed's default
    cpu: str | None = None  # qemu's -cpu model

    @property
    def reference(self) -> str:
        return "native" if self.workload == FULL else "native-light"


ENVIRONMENTS = {e.name: e for e in [
    Environment("native", "this machine, default threads (reference)", "native", FULL),
    Environment("threads-1", "this machine, 1 intra-op thread", "native", FULL, threads=1),
    Environment("threads-2", "this machine, 2 intra-op threads", "native", FULL, threads=2),
    Environment("threads-8", "this machine, 8 intra-op threads", "native", FULL, threads=8),
    Environment("native-light", "this machine, light workload (reference of the emulated)", "native", LIGHT),
    # Emulated runs use one thread: they share this machine's cores, and threads are compared above.
    Environment("haswell", "qemu-x86_64 -cpu Haswell (AVX2, FMA)", "x86", LIGHT, threads=1, cpu="Haswell"),
    Environment("arm64-max", "qemu-aarch64 -cpu max (SVE2, dot product, i8mm, bf16)", "arm64", LIGHT,
                threads=1, cpu="max"),
    Environment("arm64-a72", "qemu-aarch64 -cpu cortex-a72 (NEON only)", "arm64", LIGHT, threads=1,
                cpu="cortex-a72"),
]}


def say(message: str) -> None:
    print(f"check-cpus: {message}", flush=True)


class Missing(Exception):
    """Something this script needs is not installed, or it needs root: exit status 2."""


# ----------------------------------------------------------------------------- the arm64 root


def prepare_arm64(models: list[str]) -> None:
    """The Debian root, the aarch64 wheels and one small root per CPU model, made when missing."""
    if shutil.which("qemu-aarch64") is None:
        raise Missing(f"the arm64 environments need qemu-user: {APT_HINT}")
    ready = ARM64_CACHE / "rootfs.ready"
    if not (ready.is_file() and ready.read_text().strip() == ARM64_PACKAGES):
        if shutil.which("mmdebstrap") is None:
            raise Missing(f"building the arm64 root filesystem needs mmdebstrap: {APT_HINT}")
        if os.geteuid() != 0:
            raise Missing(f"building the arm64 root filesystem in {ARM64_ROOTFS} needs root: sudo make check-cpus")
        say(f"extracting an arm64 Debian 12 root filesystem into {ARM64_ROOTFS} (once, under a minute)")
        shutil.rmtree(ARM64_ROOTFS, ignore_errors=True)
        ready.unlink(missing_ok=True)
        ARM64_CACHE.mkdir(parents=True, exist_ok=True)
        log = ARM64_CACHE / "mmdebstrap.log"
        command = ["mmdebstrap", "--variant=extract", "--architectures=arm64", f"--include={ARM64_PACKAGES}",
                   "bookworm", str(ARM64_ROOTFS)]
        with log.open("w") as fh:
            if subprocess.run(command, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
                raise RuntimeError(f"mmdebstrap failed (log: {log})")
        ready.write_text(ARM64_PACKAGES + "\n")
    install_arm64_wheels()
    for model in models:
        cpu_root(model)


def install_arm64_wheels() -> None:
    """aarch64 wheels of what the probe imports, pinned by requirements.txt, installed by this machine's pip."""
    pins = [line for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith(("#", "-e ", "soupsieve=="))]
    wanted = "\n".join(pins + ARM64_WHEELS) + "\n"
    stamp = ARM64_SITE / ".installed"
    if stamp.is_file() and stamp.read_text() == hashlib.sha256(wanted.encode()).hexdigest():
        return
    if not os.access(ARM64_CACHE, os.W_OK):
        raise Missing(f"installing the aarch64 wheels into {ARM64_SITE} needs root: sudo make check-cpus")
    say(f"installing aarch64 wheels ({', '.join(ARM64_WHEELS)} and their dependencies) into {ARM64_SITE}")
    shutil.rmtree(ARM64_SITE, ignore_errors=True)
    constraints = ARM64_CACHE / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    # Debian 12 has glibc 2.36: any manylinux wheel up to that will do.
    platforms = [arg for tag in ("manylinux2014", "manylinux_2_28", "manylinux_2_34", "manylinux_2_36")
                 for arg in ("--platform", f"{tag}_aarch64")]
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               *platforms, "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
               "--target", str(ARM64_SITE), "-c", str(constraints), *ARM64_WHEELS]
    log = ARM64_CACHE / "pip.log"
    with log.open("w") as fh:
        if subprocess.run(command, stdout=fh, stderr=subprocess.STDOUT).returncode != 0:
            raise RuntimeError(f"pip could not install the aarch64 wheels (log: {log})")
    stamp.write_text(hashlib.sha256(wanted.encode()).hexdigest())


def cpu_root(model: str) -> Path:
    """A root for ``qemu-aarch64 -cpu MODEL -L``: links to the Debian root, and this CPU's cpuinfo and /sys.

    The Features line is what the emulated CPU reports itself (its hwcaps, read by the probe's
    --hwcaps under that very -cpu). ONNX Runtime must not be told of features the model lacks:
    with ``asimddp`` listed, cortex-a72 dies on an illegal instruction.
    """
    if model not in ARM64_MIDR:
        raise ValueError(f"no /proc/cpuinfo identification for -cpu {model}; add it to ARM64_MIDR")
    root = ARM64_CACHE / f"cpu-{model}"
    shutil.rmtree(root, ignore_errors=True)
    (root / "proc").mkdir(parents=True)
    for entry in ARM64_ROOTFS.iterdir():
        (root / entry.name).symlink_to(Path("..") / ARM64_ROOTFS.name / entry.name)
    features = subprocess.run(
        ["qemu-aarch64", "-cpu", model, "-L", str(ARM64_ROOTFS), str(ARM64_ROOTFS / "usr/bin/python3"),
         str(PROBE), "--hwcaps"], capture_output=True, text=True, check=True).stdout.strip()
    implementer, part, revision = ARM64_MIDR[model]
    (root / "proc" / "cpuinfo").write_text(
        f"processor\t: 0\nBogoMIPS\t: 100.00\nFeatures\t: {features}\nCPU implementer\t: {implementer}\n"
        f"CPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: {part}\nCPU revision\t: {revision}\n\n")
    cpus = root / "sys" / "devices" / "system" / "cpu"
    cpus.mkdir(parents=True)
    for name in ("possible", "present", "online"):
        (cpus / name).write_text("0\n")
    return root


# ----------------------------------------------------------------------------- running the probe


def command_for(env: Environment, out: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment variables that run the probe in ``env``."""
    passages, candidates = env.workload
    args = [str(PROBE), "--out", str(out), "--passages", str(passages), "--candidates", str(candidates)]
    if env.threads is not None:
        args += ["--threads", str(env.threads)]
    variables = dict(os.environ, COURSE_STANDIN_CACHE=str(STANDIN_CACHE), PYTHONNOUSERSITE="1")
    if env.kind == "native":
        return [sys.executable, *args], variables
    if env.kind == "x86":
        # sys.executable is the venv's python (not resolved), so that the emulated Python finds the venv
        return ["qemu-x86_64", "-cpu", env.cpu, sys.executable, *args], variables
    for name in ("VIRTUAL_ENV", "PYTHONHOME"):
        variables.pop(name, None)
    variables["PYTHONPATH"] = f"{ARM64_SITE}:{REPO}"
    return ["qemu-aarch64", "-cpu", env.cpu, "-L", str(ARM64_CACHE / f"cpu-{env.cpu}"),
            str(ARM64_ROOTFS / "usr/bin/python3"), *args], variables


def inputs_mtime() -> float:
    """When the probe's inputs last changed: the model files, the probe itself, helpers/."""
    paths = [*STANDIN_CACHE.glob("models--*/snapshots/*/**/*.onnx"), STANDIN_CACHE / "course-standins.json",
             PROBE, *(REPO / "helpers").glob("*.py")]
    return max(p.stat().st_mtime for p in paths if p.exists())


def is_fresh(env: Environment) -> bool:
    """True when ``env``'s saved results are newer than everything that made them, for the same workload."""
    out = OUT / f"{env.name}.npz"
    if not out.is_file() or out.stat().st_mtime <= inputs_mtime():
        return False
    try:
        meta = json.loads(str(np.load(out)["meta"]))
    except (OSError, KeyError, ValueError):
        return False
    return (meta.get("passages"), meta.get("candidates"), meta.get("threads")) == (*env.workload, env.threads)


def run(env: Environment) -> bool:
    """Run the probe in ``env``: its progress lines shown, everything in build/check-cpus/NAME.log."""
    out = OUT / f"{env.name}.npz"
    command, variables = command_for(env, out)
    log = OUT / f"{env.name}.log"
    say(f"[{env.name}] starting: {' '.join(command[:command.index(str(PROBE))])} ... ({env.description})")
    start = time.time()
    with log.open("w") as fh:
        fh.write(" ".join(command) + "\n")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=variables,
                                   cwd=REPO, text=True, errors="replace")
        for line in process.stdout:
            # qemu-x86_64 warns once per CPU feature TCG lacks (pcid, x2apic, tsx...): none matter here
            if "TCG doesn't support requested feature" in line:
                continue
            fh.write(line)
            fh.flush()
            text = line.rstrip("\n").split("\r")[-1]  # progress bars redraw with \r: keep their last state
            if text[:2].isdigit() and text[2:3] == ":":  # the probe's own timestamped lines
                say(f"[{env.name}] {text}")
        status = process.wait()
    seconds = time.time() - start
    (OUT / f"{env.name}.json").write_text(json.dumps({"seconds": round(seconds, 1), "status": status,
                                                      "command": command}, indent=1))
    if status != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        say(f"[{env.name}] FAILED with exit status {status} after {seconds:.0f} s; last lines of {log}:")
        print("\n".join("    " + line.split("\r")[-1] for line in tail), flush=True)
        return False
    say(f"[{env.name}] done in {seconds:.0f} s")
    return True


def run_all(envs: list[Environment], jobs: int) -> dict[str, bool]:
    """Run the environments, at most ``jobs`` at a time, the slow (emulated) ones first."""
    results: dict[str, bool] = {}
    pending = sorted(envs, key=lambda e: e.kind == "native")
    slots = threading.Semaphore(jobs)
    threads = []

    def worker(env: Environment) -> None:
        try:
            results[env.name] = run(env)
        finally:
            slots.release()

    for env in pending:
        slots.acquire()
        thread = threading.Thread(target=worker, args=(env,), name=env.name)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return results


# ----------------------------------------------------------------------------- comparing


class Results:
    """One environment's saved probe results, with its ragged arrays split per passage."""

    def __init__(self, path: Path):
        data = np.load(path)
        self.arrays = {key: data[key] for key in data.files}
        self.meta = json.loads(str(self.arrays.pop("meta")))
        self.ids = [int(i) for i in self.arrays["passage_ids"]]
        self.lengths = self.arrays["colbert_passage_lengths"]
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])

    def tokens(self, key: str, ids: list[int]) -> np.ndarray:
        """Per-token rows of ``key`` (ColBERT vectors, buckets, clusters...) for the passages ``ids``."""
        where = {pid: n for n, pid in enumerate(self.ids)}
        return np.concatenate([self.arrays[key][self.offsets[where[i]]:self.offsets[where[i] + 1]] for i in ids])

    def rows(self, key: str, ids: list[int]) -> np.ndarray:
        """Per-passage rows of ``key`` (dense vectors, FDEs) for the passages ``ids``."""
        where = {pid: n for n, pid in enumerate(self.ids)}
        return self.arrays[key][[where[i] for i in ids]]


def max_abs(*pairs) -> float:
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))) for a, b in pairs)


def compare(ref: Results, run: Results) -> dict:
    """How far ``run`` is from ``ref`` (a native run of the same workload): floats and discrete steps."""
    ids = run.ids
    a, b = ref.arrays, run.arrays
    if not set(ids) <= set(ref.ids):
        raise ValueError("passages missing from the reference run")
    if (not np.array_equal(ref.rows("colbert_passage_lengths", ids), run.lengths)
            or not np.array_equal(a["colbert_query_lengths"], b["colbert_query_lengths"])):
        return {"error": "token counts differ (a tokenizer difference?)"}
    pairs = {(q, int(pid)): float(x) for q, row in enumerate(a["candidates"]) for pid, x in zip(row, a["logits"][q])}
    common = [(pairs[(q, int(pid))], float(x)) for q, row in enumerate(b["candidates"])
              for pid, x in zip(row, b["logits"][q]) if (q, int(pid)) in pairs]
    ref_signs = np.concatenate([ref.tokens("colbert_passages", ids).ravel(), a["colbert_queries"].ravel(),
                                a["colbert_examples"].ravel()]) > 0
    run_signs = np.concatenate([b["colbert_passages"].ravel(), b["colbert_queries"].ravel(),
                                b["colbert_examples"].ravel()]) > 0
    floats = {
        "dense": max_abs((ref.rows("dense_passages", ids), b["dense_passages"]),
                         (a["dense_queries"], b["dense_queries"]), (a["dense_examples"], b["dense_examples"])),
        "ColBERT": max_abs((ref.tokens("colbert_passages", ids), b["colbert_passages"]),
                           (a["colbert_queries"], b["colbert_queries"]),
                           (a["colbert_examples"], b["colbert_examples"])),
        "logits": max_abs((a["logits_seed"], b["logits_seed"]), (a["logits_pool"], b["logits_pool"]),
                          *([(np.array(common)[:, 0], np.array(common)[:, 1])] if common else [])),
        "MUVERA FDE": max_abs((ref.rows("muvera_fde", ids), b["muvera_fde"])),
    }
    # (differing, total) for each discrete step
    ranked = ["dense_top", "maxsim_top", "rerank_top"]
    discrete = {
        "top-10 lists": (sum(int(np.sum(a[k] != b[k])) for k in ranked), sum(a[k].size for k in ranked)),
        "binary signs": (int(np.sum(ref_signs != run_signs)), ref_signs.size),
        "SimHash buckets": (int(np.sum(ref.tokens("muvera_buckets", ids) != b["muvera_buckets"])),
                            b["muvera_buckets"].size),
        "pooling clusters": (sum(int(np.sum(ref.tokens(f"pool{f}_clusters", ids) != b[f"pool{f}_clusters"]))
                                 for f in (2, 4)), 2 * len(b["pool2_clusters"])),
    }
    return {"floats": floats, "discrete": discrete, "logit pairs": len(common)}


def near_boundaries(res: Results) -> list[str]:
    """What in a reference run sits close enough to a decision that a CPU's last bits could flip it."""
    a = res.arrays
    colbert = a["colbert_passages"]
    dots = a["muvera_dots"]

    def smallest_gap(scores, k=11):
        # the smallest difference between neighbours in each query's top k+1 (a tie that could swap)
        gaps = [np.min(-np.diff(np.sort(np.asarray(s, np.float64))[::-1][:k])) for s in scores]
        return min(gaps)

    return [
        f"ColBERT components with |x| < {NEAR_ZERO:g} (a sign could flip): "
        f"{int(np.sum(np.abs(colbert) < NEAR_ZERO)):,} of {colbert.size:,}",
        f"SimHash dot products with |x| < {NEAR_ZERO:g} (a bucket could change): "
        f"{int(np.sum(np.abs(dots) < NEAR_ZERO)):,} of {dots.size:,}",
        f"smallest score gap between neighbours in a query's top 11: dense {smallest_gap(a['dense_scores']):.2e}, "
        f"MaxSim {smallest_gap(a['maxsim_scores']):.2e}, cross-encoder "
        f"{smallest_gap(a['logits']):.2e}",
    ]


def count(pair: tuple[int, int]) -> str:
    return f"{pair[0]:,} of {pair[1]:,}"


def report(names: list[str], statuses: dict[str, bool]) -> bool:
    """Print the table (and write it as Markdown); True when every environment passes."""
    header = ["environment", "passages", "time", *TOLERANCES, "top-10 lists differ", "binary signs differ",
              "SimHash buckets differ", "pooling clusters differ", "result"]
    rows, notes, all_ok = [], [], True
    loaded: dict[str, Results] = {}

    def load(name: str) -> Results | None:
        path = OUT / f"{name}.npz"
        if name not in loaded and path.is_file() and statuses.get(name, True):
            loaded[name] = Results(path)
        return loaded.get(name)

    for name in names:
        env = ENVIRONMENTS[name]
        timing = OUT / f"{name}.json"
        seconds = json.loads(timing.read_text())["seconds"] if timing.is_file() else None
        time_text = f"{seconds / 60:.1f} min" if seconds else "?"
        res, ref = load(name), load(env.reference)
        if res is None or ref is None:
            all_ok = False
            missing = name if res is None else env.reference
            rows.append([name, str(env.workload[0]), time_text, *["-"] * (len(header) - 4),
                         f"FAIL: no results from {missing}"])
            continue
        if name == env.reference:
            rows.append([name, str(env.workload[0]), time_text, *["-"] * (len(header) - 4), "reference"])
            notes.append((name, near_boundaries(res)))
            continue
        found = compare(ref, res)
        if "error" in found:
            all_ok = False
            rows.append([name, str(env.workload[0]), time_text, *["-"] * (len(header) - 4), f"FAIL: {found['error']}"])
            continue
        failures = [k for k, x in found["floats"].items() if not x <= TOLERANCES[k]]
        failures += [k for k, (differ, _) in found["discrete"].items() if differ]
        all_ok &= not failures
        rows.append([name, str(env.workload[0]), time_text, *(f"{x:.1e}" for x in found["floats"].values()),
                     *(count(v) for v in found["discrete"].values()),
                     "ok" if not failures else "FAIL: " + ", ".join(failures)])

    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    print()
    print(line(header))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    print()
    for name, lines in notes:
        for text in lines:
            print(f"{name}: {text}")
    tolerances = ", ".join(f"{k} {v:g}" for k, v in TOLERANCES.items())
    legend = (f"Each row against the native run of the same workload ({FULL[0]} passages x {FULL[1]} cross-encoder "
              f"candidates per query, or {LIGHT[0]} x {LIGHT[1]}). {', '.join(TOLERANCES)}: the largest absolute "
              f"difference, within {tolerances}; the discrete steps must be identical.")
    print("\n" + legend)

    markdown = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    markdown += ["| " + " | ".join(row) + " |" for row in rows]
    markdown += ["", legend, ""]
    markdown += [f"- {name}: {text}" for name, lines in notes for text in lines]
    (OUT / "report.md").write_text("\n".join(markdown) + "\n")
    say(f"table written to {OUT / 'report.md'}")
    return all_ok


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    selectable = [n for n in ENVIRONMENTS if n not in ("native", "native-light")]
    parser.add_argument("--only", help=f"comma-separated environments among native, {', '.join(selectable)} "
                                       "(default: all); the native references run whenever needed")
    parser.add_argument("--rerun", action="store_true", help="run every environment again, even if its results are fresh")
    parser.add_argument("--compare-only", action="store_true", help="run nothing: compare the saved results")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="environments run at once (default: CPUs)")
    args = parser.parse_args()

    names = list(ENVIRONMENTS) if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENVIRONMENTS]
    if unknown:
        parser.error(f"unknown environment {', '.join(unknown)}; choose among {', '.join(ENVIRONMENTS)}")
    for name in list(names):  # each environment's reference runs too, and comes first in the table
        reference = ENVIRONMENTS[name].reference
        if reference not in names:
            names.insert(0, reference)
    names = [n for n in ENVIRONMENTS if n in names]
    OUT.mkdir(parents=True, exist_ok=True)
    start = time.time()

    statuses: dict[str, bool] = {}
    if not args.compare_only:
        envs = [ENVIRONMENTS[n] for n in names]
        try:
            if any(e.kind == "x86" for e in envs) and shutil.which("qemu-x86_64") is None:
                raise Missing(f"the haswell environment needs qemu-user: {APT_HINT}")
            arm_models = [e.cpu for e in envs if e.kind == "arm64"]
            if arm_models:
                prepare_arm64(arm_models)
        except Missing as exc:
            say(str(exc))
            return 2
        if not (STANDIN_CACHE / "course-standins.json").is_file():
            # build the stand-ins once, natively, before several environments ask for them at once
            say(f"laying out the offline models in {STANDIN_CACHE}")
            subprocess.run([sys.executable, "-c", "import sys, types; sys.modules['helpers'] = m = "
                            "types.ModuleType('helpers'); m.__path__ = ['helpers']; "
                            "import helpers.models as h, helpers.standins as s; s.ensure_standins(h.standin_cache_dir())"],
                           cwd=REPO, check=True, env=dict(os.environ, COURSE_STANDIN_CACHE=str(STANDIN_CACHE)))
        todo = [e for e in envs if args.rerun or not is_fresh(e)]
        for env in envs:
            if env not in todo:
                say(f"[{env.name}] reusing {(OUT / (env.name + '.npz')).relative_to(REPO)} (newer than the models, "
                    "the probe and helpers/; --rerun to run it again)")
        statuses = run_all(todo, max(1, args.jobs))
    ok = report(names, statuses)
    say(f"{'all environments agree' if ok else 'FAILED'} ({time.time() - start:.0f} s)")
    return 0 if ok and all(statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
