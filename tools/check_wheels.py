"""Does every pin in requirements.txt install on each supported Python, on Linux and on macOS?

    python tools/check_wheels.py [requirements.txt ...] [--pythons 3.11.2 3.12 3.13 3.14] [--jobs 4]

For each pinned line and each (Python, platform) it asks pip, without installing or downloading
whole files (``pip install --dry-run --no-deps --only-binary=:all:`` reads the wheel's metadata),
whether PyPI has a wheel that fits: pure-Python wheels count, so do abi3 ones. Platforms: Linux
x86_64 with glibc 2.17 to 2.35 (manylinux; Ubuntu 22.04's glibc is 2.35) and macOS 11 to 14 on
Apple silicon. Ignores this machine's pip configuration (mirrors, find-links) and asks PyPI itself.
Prints one line per pin that lacks a wheel somewhere, then a summary; exits 1 if any does.
Needs pip >= 23 (``--dry-run --report``). Not part of the tests: it needs PyPI.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = {
    "linux-x86_64": ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    + [f"manylinux_2_{minor}_x86_64" for minor in range(5, 36)],
    "macos-arm64": ["macosx_14_0_arm64"],  # pip expands this to macOS 11.0-14.0, arm64 and universal2
}


def pins(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def has_wheel(pip: list[str], pin: str, python: str, platforms: list[str]) -> tuple[bool, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env["PIP_CONFIG_FILE"] = os.devnull  # no mirrors or find-links from this machine's config
    with tempfile.TemporaryDirectory() as target:
        command = pip + ["install", "--dry-run", "--quiet", "--no-deps", "--only-binary=:all:",
                         "--ignore-installed", "--disable-pip-version-check", "--target", target,
                         "--index-url", "https://pypi.org/simple", "--python-version", python]
        for platform in platforms:
            command += ["--platform", platform]
        result = subprocess.run(command + [pin], capture_output=True, text=True, env=env)
    lines = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    return result.returncode == 0, (lines[0] if lines else result.stderr.strip()[-200:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", nargs="*", type=Path, default=[ROOT / "requirements.txt"])
    parser.add_argument("--pythons", nargs="+", default=["3.11.2", "3.12", "3.13", "3.14"])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--pip", default=f"{sys.executable} -m pip", help="pip command to ask (pip >= 23)")
    args = parser.parse_args()

    pip = args.pip.split()
    if "PIP_CERT" not in os.environ:  # a TLS-intercepting proxy's bundle from the ignored config
        cert = subprocess.run(pip + ["config", "get", "global.cert"], capture_output=True, text=True)
        if cert.returncode == 0 and cert.stdout.strip():
            os.environ["PIP_CERT"] = cert.stdout.strip()
    jobs = [(pin, python, name) for path in args.requirements for pin in pins(path)
            for python in args.pythons for name in PLATFORMS]
    missing: dict[str, list[str]] = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(has_wheel, pip, pin, python, PLATFORMS[name]): (pin, python, name)
                   for pin, python, name in jobs}
        for future in concurrent.futures.as_completed(futures):
            pin, python, name = futures[future]
            ok, error = future.result()
            if not ok:
                missing.setdefault(pin, []).append(f"{python} {name}")
                print(f"no wheel: {pin:<32} Python {python} {name}: {error}", flush=True)
    count = len({pin for pin, _, _ in jobs})
    print(f"{count} pins x {len(args.pythons)} Pythons x {len(PLATFORMS)} platforms: "
          f"{len(missing)} pins lack a wheel somewhere")
    for pin, where in sorted(missing.items()):
        print(f"  {pin}: {', '.join(sorted(where))}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
