#!/usr/bin/env bash
# Installs what ./package.sh needs beyond the Rust toolchain, only where missing:
# - cargo-zigbuild and zig (PyPI wheels), which link the Linux builds against glibc 2.17's
#   symbol versions whatever glibc this machine has;
# - mingw-w64's C toolchain, which links the Windows build (Rust's x86_64-pc-windows-gnu target
#   calls x86_64-w64-mingw32-gcc as its linker and takes its import libraries and CRT objects).
set -euo pipefail
if ! command -v cargo-zigbuild >/dev/null; then
  echo "install-build-deps.sh: installing cargo-zigbuild and zig from PyPI (link the Linux builds)" >&2
  python3 -m pip install -q --disable-pip-version-check "cargo-zigbuild==0.24.1" "ziglang==0.17.1"
  # pyenv installs console scripts behind shims that need a rehash.
  command -v pyenv >/dev/null && pyenv rehash || true
fi
command -v x86_64-w64-mingw32-gcc >/dev/null && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "install-build-deps.sh: installing gcc-mingw-w64-x86-64 (links the Windows build)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcc-mingw-w64-x86-64 >/dev/null
