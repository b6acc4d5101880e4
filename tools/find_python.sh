#!/bin/sh
# Prints the Python that `make` builds .venv with: $PYTHON if set, else the first of python3,
# python3.14, python3.13, python3.12, python3.11 that is 3.11.2 or newer, older than 3.15, and has
# the venv module (with ensurepip, which Debian and Ubuntu ship apart, in python3-venv).
# When there is none, says what the course needs and how to install it, and exits 1.
if [ -n "${PYTHON:-}" ]; then
    candidates=$PYTHON
else
    candidates="python3 python3.14 python3.13 python3.12 python3.11"
fi
rejected=""
novenv=""
seen=" "
for name in $candidates; do
    path=$(command -v "$name" 2>/dev/null) || {
        [ -n "${PYTHON:-}" ] && rejected="$rejected
  $name: not found"
        continue
    }
    real=$(readlink -f "$path" 2>/dev/null || echo "$path")
    case $seen in *" $real "*) continue ;; esac  # python3 and python3.X are often the same file
    seen="$seen$real "
    info=$("$path" -c 'import sys, importlib.util as u
print("%d %d %d" % sys.version_info[:3], "venv" if u.find_spec("venv") and u.find_spec("ensurepip") else "novenv")' 2>/dev/null)
    # shellcheck disable=SC2086
    set -- $info
    if [ $# -ne 4 ]; then
        [ -n "${PYTHON:-}" ] && rejected="$rejected
  $path: not a working Python 3"
        continue
    fi
    version=$1.$2.$3
    if [ "$1" -ne 3 ] || [ "$2" -lt 11 ] || [ "$2" -ge 15 ] || { [ "$2" -eq 11 ] && [ "$3" -lt 2 ]; }; then
        rejected="$rejected
  $path: Python $version"
        [ "$1.$2" = 3.11 ] && old311=yes
        continue
    fi
    if [ "$4" = novenv ]; then
        rejected="$rejected
  $path: Python $version, without the venv module"
        novenv="$path (Python $version) lacks the venv module: sudo apt install python3-venv (or python$1.$2-venv)"
        continue
    fi
    echo "$path"
    exit 0
done

{
    echo "No suitable Python found. The course needs Python 3.11.2 to 3.14 with its venv module."
    if [ -n "$rejected" ]; then
        echo "Tried:$rejected"
    fi
    if [ -n "$novenv" ]; then
        echo "$novenv"
    else
        echo "Install one:"
        echo "  Debian/Ubuntu: sudo apt install python3 python3-venv"
        echo "  macOS:         brew install python@3.13"
    fi
    if [ -n "${old311:-}" ]; then
        echo "(3.11 before 3.11.2 is too old for the pinned packages: install Python 3.12 or 3.13, e.g. with"
        echo " your system's packages, pyenv or uv, and name it with PYTHON=)"
    fi
    echo "or name one: make lab PYTHON=/path/to/python3.13"
} >&2
exit 1
