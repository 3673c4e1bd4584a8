#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, only where missing: libmagic (AppInspect),
# qemu-user and the other architecture's glibc (the aarch64 build's tests on x86_64, and the
# reverse: the builds link glibc dynamically, so qemu needs that loader and libc), Wine (the Windows build's
# tests, on x86_64 hosts), mingw-w64 (links the Windows build; see install-build-deps.sh),
# splunk-appinspect, pytest and python-evtx (an independent EVTX parser to count records with).
set -euo pipefail
need_apt=()
python3 -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("magic") else 1)' || need_apt+=(libmagic1)
case "$(uname -m)" in
  x86_64)
    command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
    [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need_apt+=(libc6-arm64-cross)
    # Debian 12's wine64 puts its loader in /usr/lib/wine (the `wine` package adds the PATH
    # wrappers and the 32-bit side, which the tests do not need).
    [ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || need_apt+=(wine64)
    ;;
  aarch64)
    command -v qemu-x86_64 >/dev/null || need_apt+=(qemu-user)
    [ -e /usr/x86_64-linux-gnu/lib/ld-linux-x86-64.so.2 ] || need_apt+=(libc6-amd64-cross)
    ;;
esac
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
python3 -c 'import splunk_appinspect, pytest, Evtx' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check "splunk-appinspect==4.3.1" "pytest>=8,<9" "python-evtx==0.8.1"
