"""tools/find_python.sh: which Python the Makefile builds .venv with, and what it says when none fits."""

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "find_python.sh"


@pytest.fixture
def fake_bin(tmp_path):
    """A PATH holding only fake interpreters (and the readlink the script uses)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("readlink",):
        for directory in ("/usr/bin", "/bin"):
            if Path(directory, tool).exists():
                (bin_dir / tool).symlink_to(Path(directory, tool))
                break

    def add(name: str, version: str, venv: bool = True) -> Path:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\necho '{version.replace('.', ' ')} {'venv' if venv else 'novenv'}'\n")
        path.chmod(0o755)
        return path

    return bin_dir, add


def find(bin_dir, python: str = ""):
    env = {"PATH": str(bin_dir), "PYTHON": python}
    return subprocess.run(["/bin/sh", str(SCRIPT)], capture_output=True, text=True, env=env)


def test_first_suitable_in_order(fake_bin):
    bin_dir, add = fake_bin
    add("python3", "3.15.0")
    add("python3.14", "3.14.0")
    add("python3.13", "3.13.5")
    result = find(bin_dir)
    assert result.returncode == 0 and result.stdout.strip() == str(bin_dir / "python3.14")


@pytest.mark.parametrize("version, ok", [("3.11.1", False), ("3.11.2", True), ("3.12.0", True),
                                         ("3.14.2", True), ("3.10.12", False), ("3.15.0", False)])
def test_version_bounds(fake_bin, version, ok):
    bin_dir, add = fake_bin
    add("python3", version)
    assert (find(bin_dir).returncode == 0) is ok


def test_python_variable_is_the_only_candidate(fake_bin):
    bin_dir, add = fake_bin
    add("python3", "3.13.5")
    chosen = add("mypython", "3.11.1")
    result = find(bin_dir, str(chosen))
    assert result.returncode == 1
    assert f"{chosen}: Python 3.11.1" in result.stderr and "before 3.11.2 is too old" in result.stderr


def test_missing_venv_module_is_named(fake_bin):
    bin_dir, add = fake_bin
    add("python3", "3.13.5", venv=False)
    result = find(bin_dir)
    assert result.returncode == 1
    assert "lacks the venv module: sudo apt install python3-venv (or python3.13-venv)" in result.stderr


def test_none_found_says_how_to_install(fake_bin):
    bin_dir, _ = fake_bin
    result = find(bin_dir)
    assert result.returncode == 1
    assert "Python 3.11.2 to 3.14" in result.stderr
    assert "sudo apt install python3 python3-venv" in result.stderr
    assert "brew install python@3.13" in result.stderr

