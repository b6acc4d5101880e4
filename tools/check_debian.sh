#!/usr/bin/env bash
# The README's test command on a Debian release's own python3, in a chroot:
#
#   sudo tools/check_debian.sh 13     (or: sudo make check-debian13)   Debian 13 trixie, python3 3.13
#   sudo tools/check_debian.sh 12     (or: sudo make check-debian12)   Debian 12 bookworm, python3 3.11.2
#
# Builds a minimal root filesystem of that release with debootstrap (once; cached in $CHECK_ROOT,
# default /var/tmp/late-interaction-debian<N>), with only what the README asks for: python3, python3-venv,
# make, git. Each run copies a clean clone of this repository's HEAD into it (uncommitted changes are
# not tested) and runs `make test` there as an unprivileged user, then prints the Python used and
# pytest's summary. Needs root, debootstrap (`apt-get install debootstrap`) and a Debian mirror
# ($DEBIAN_MIRROR, default http://deb.debian.org/debian); pip needs PyPI. Not part of `make test`.
# Delete $CHECK_ROOT to start from a fresh root filesystem (and an empty pip cache).
set -euo pipefail

release=${1:-13}
case $release in
    12) codename=bookworm ;;
    13) codename=trixie ;;
    *) printf 'check-debian: usage: %s 12|13 (the Debian release)\n' "$0" >&2; exit 2 ;;
esac
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cache=${CHECK_ROOT:-/var/tmp/late-interaction-debian$release}
root=$cache/rootfs
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-venv,make,git
user=learner
log=$cache/last-run.log
start=$SECONDS

say() { printf 'check-debian%s: %s\n' "$release" "$*"; }
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, mounts): sudo $0"; exit 2; }
command -v debootstrap >/dev/null || { say "needs debootstrap: apt-get install debootstrap"; exit 2; }

mounted=()
cleanup() {
    # Processes left inside the chroot (a kernel, say) would keep the mounts busy: end them first.
    for proc in /proc/[0-9]*; do
        if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then
            kill -9 "${proc#/proc/}" 2>/dev/null || true
        fi
    done
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -R "${mounted[i]}" 2>/dev/null || umount -R -l "${mounted[i]}" || true
    done
    mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount_in_root() {  # mount_in_root TARGET MOUNT-ARGS...
    local target=$root/$1
    shift
    mount "$@" "$target"
    mounted+=("$target")
    case " $* " in *" --rbind "*) mount --make-rslave "$target" ;; esac
}

if [ ! -e "$cache/rootfs.ready" ]; then
    say "building a Debian $release ($codename) root filesystem in $root (once, a few minutes)"
    rm -rf "$root"
    mkdir -p "$cache"
    debootstrap --variant=minbase --include="$packages" "$codename" "$root" "$mirror" > "$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log"; say "debootstrap failed (log: $cache/debootstrap.log)"; exit 1; }
    chroot "$root" useradd --create-home --shell /bin/bash "$user"
    touch "$cache/rootfs.ready"
fi

cp /etc/resolv.conf "$root/etc/resolv.conf"
mount_in_root proc -t proc proc
mount_in_root sys --rbind /sys
mount_in_root dev --rbind /dev

# Pass this machine's pip and proxy settings on (a mirror, or a TLS-intercepting proxy's CA bundle).
environment=(HOME=/home/$user USER=$user LOGNAME=$user LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin)
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT http_proxy https_proxy no_proxy \
            HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    [ -n "${!name:-}" ] && environment+=("$name=${!name}")
done
cert=${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
if [ -n "$cert" ] && [ -f "$cert" ]; then
    cp "$cert" "$root/etc/ssl/host-pip-cert.pem"
    environment+=(PIP_CERT=/etc/ssl/host-pip-cert.pem)
fi

course=/home/$user/course
rm -rf "$root$course"
git clone --quiet --no-local "$repo" "$root$course"
git -C "$root$course" checkout --quiet --detach "$(git -C "$repo" rev-parse HEAD)"
chroot "$root" chown -R "$user:$user" "$course"
say "testing $(git -C "$repo" log -1 --format='%h %s') on $(cat "$root/etc/debian_version")"

status=0
chroot --userspec="$user:$user" "$root" /usr/bin/env -i "${environment[@]}" /bin/bash -c '
    cd ~/course
    echo "python3: $(command -v python3), $(python3 --version)"
    make test
' 2>&1 | tee "$log" || status=$?

say "Debian $(cat "$root/etc/debian_version"), $(grep -m1 '^python3:' "$log" | cut -d, -f2- | sed 's/^ //')"
say "venv: $(chroot "$root" "$course/.venv/bin/python" --version 2>&1 || echo none)"
say "pytest: $(grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$log" | tail -n 1 | tr -d '=' | sed 's/^ *//;s/ *$//' || true)"
say "make test exit status $status, $((SECONDS - start)) s in all (log: $log)"
exit "$status"
