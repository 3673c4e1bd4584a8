#!/usr/bin/env bash
# Installs what ./package.sh needs beyond the Rust toolchain, only where missing: mingw-w64's
# C toolchain, which links the Windows build (Rust's x86_64-pc-windows-gnu target calls
# x86_64-w64-mingw32-gcc as its linker and takes its import libraries and CRT objects).
set -euo pipefail
command -v x86_64-w64-mingw32-gcc >/dev/null && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-build-deps.sh: installing gcc-mingw-w64-x86-64 (links the Windows build)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 >/dev/null
