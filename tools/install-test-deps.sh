#!/usr/bin/env bash
# Installs what the tests need beyond the Rust toolchain, only where missing: libmagic (AppInspect),
# qemu-user (the aarch64 build's tests on x86_64, and the reverse), splunk-appinspect, pytest and
# python-evtx (an independent EVTX parser to count records with).
set -euo pipefail
need_apt=()
python3 -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("magic") else 1)' || need_apt+=(libmagic1)
case "$(uname -m)" in
  x86_64) command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user) ;;
  aarch64) command -v qemu-x86_64 >/dev/null || need_apt+=(qemu-user) ;;
esac
if [ "${#need_apt[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
python3 -c 'import splunk_appinspect, pytest, Evtx' 2>/dev/null ||
  python3 -m pip install -q --disable-pip-version-check "splunk-appinspect==4.3.1" "pytest>=8,<9" "python-evtx==0.8.1"
