#!/usr/bin/env bash
# Puts Debian trixie's valgrind (3.24) into /opt/valgrind-new without
# installing it: no system package is changed (bookworm's libc stays).
#
# Why: valgrind before 3.23 (bookworm has 3.19) treats io_uring_enter as a
# syscall that does not block, so a thread waiting in it keeps valgrind's
# global lock and every other thread of the program stops: every kiln-rt
# program hangs, and even SIGTERM is not acted on. Valgrind 3.23 fixed it
# (bug 428364, "Signals inside io_uring_enter not handled": io_uring_enter
# is now a blocking syscall). The .deb says it needs libc6 >= 2.38, but only
# its launcher (valgrind.bin) links against libc, and it needs GLIBC_2.34:
# the tools themselves are static, so it runs on bookworm's glibc 2.36.
#
# Usage: tools/memcheck/install-valgrind.sh [DEST]   (DEST: /opt/valgrind-new)
# Then: VALGRIND_LIB=DEST/usr/libexec/valgrind DEST/usr/bin/valgrind.bin ...
# (tools/memcheck.sh finds it there by itself).
#
# apt runs with state directories of its own under a temporary directory,
# with trixie's source only there: the system's sources and package lists
# are not touched.
set -euo pipefail

dest=${1:-/opt/valgrind-new}
work=$(mktemp -d /tmp/kiln-valgrind-apt.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
cat >"$work/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
apt_opts=(
    -o "Dir::Etc::sourcelist=$work/sources.list"
    -o "Dir::Etc::sourceparts=/nonexistent"
    -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache"
    -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" update
(cd "$work" && apt-get "${apt_opts[@]}" download valgrind)
deb=$(ls "$work"/valgrind_*.deb)
mkdir -p "$dest"
dpkg -x "$deb" "$dest"
VALGRIND_LIB="$dest/usr/libexec/valgrind" "$dest/usr/bin/valgrind.bin" --version
echo "valgrind unpacked into $dest"
