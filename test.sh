#!/usr/bin/env bash
# Every test, in the order a failure is cheapest to see: formatting and lints; the crate's unit,
# integration and property tests; then the packaged app: the protocol tests against the packaged
# x86_64 and aarch64 builds (the foreign one under qemu-user) and, on x86_64 hosts, the Windows
# build under Wine (the library's unit tests too, and the modular input), then the app checks
# with AppInspect.
set -euo pipefail
cd "$(dirname "$0")"

./tools/install-test-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

./package.sh
if [ -n "${CI:-}" ]; then
  # From here on every test runs the packaged binaries in dist/: on a CI machine, whose disk is
  # small, the release builds' intermediates (about 600 MB) go before Wine's prefix is made.
  rm -rf target/release target/*/release
fi
packaged=(--test replay --test malformed --test samples)
case "$(uname -m)" in
  x86_64) native=x86_64 foreign=aarch64 ;;
  aarch64) native=aarch64 foreign=x86_64 ;;
  *) echo "test.sh: unsupported host $(uname -m)" >&2; exit 1 ;;
esac
echo "test.sh: protocol tests against the packaged $native build" >&2
SYSTEMTASK_EXE="$PWD/dist/systemtask/bin/systemtask-$native" cargo test --locked "${packaged[@]}"
echo "test.sh: protocol tests against the packaged $foreign build under qemu-$foreign" >&2
# The builds link glibc dynamically: qemu takes the other architecture's loader and libc from
# Debian's cross package (libc6-arm64-cross or libc6-amd64-cross).
SYSTEMTASK_EXE="$PWD/dist/systemtask/bin/systemtask-$foreign" SYSTEMTASK_RUNNER="qemu-$foreign" \
  QEMU_LD_PREFIX="/usr/$foreign-linux-gnu" cargo test --locked "${packaged[@]}"

if [ "$native" = x86_64 ]; then
  # The Windows build where splunkd on Windows runs it: an app folder under "Program Files",
  # so every path it is given or finds has a drive letter, backslashes and a space.
  win_app="$PWD/target/windows-install/Program Files/Splunk/etc/apps/systemtask"
  rm -rf "$win_app" && mkdir -p "${win_app%/*}" && cp -R dist/systemtask "$win_app"
  wine_run="$PWD/tools/wine/run"
  # One wineserver for every Windows test, up until they end: without it each burst of test
  # processes starts a server that exits 3 s after its last client, and a process started as
  # it exits can fail to start (a run of the modular-input tests once got no output that way).
  export WINEPREFIX="$PWD/target/wine-prefix"
  [ -e "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ] || tools/wine/prefix.sh
  wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
  # Any server left from making the prefix (or an earlier run) goes first; the persistent one
  # is detached from this script's output.
  "$wineserver" -k >/dev/null 2>&1 || true
  "$wineserver" -w >/dev/null 2>&1 || true
  "$wineserver" -p >/dev/null 2>&1 </dev/null || true
  trap '"$wineserver" -k >/dev/null 2>&1 || true' EXIT
  # Wine's own services (services.exe, rpcss, ...) start with the first program under a new
  # server and keep its stderr: were that program a test's child, the test would wait forever
  # for the end of a pipe a service holds. They start here instead, with no output to hold.
  "$wine_run" wineboot >/dev/null 2>&1 </dev/null || true
  # Lints of the Windows-only code paths (cfg(windows)), which the host's clippy never sees.
  cargo clippy --locked --all-targets --target x86_64-pc-windows-gnu -- -D warnings
  echo "test.sh: the library's unit tests built for Windows, under Wine" >&2
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine_run" cargo test --locked --target x86_64-pc-windows-gnu --lib
  echo "test.sh: protocol and modular input tests against the packaged Windows build under Wine" >&2
  SYSTEMTASK_EXE="$win_app/windows_x86_64/bin/systemtask.exe" \
    SYSTEMTASK_EVTX_EXE="$win_app/windows_x86_64/bin/systemtask_evtx.exe" SYSTEMTASK_RUNNER="$wine_run" \
    cargo test --locked "${packaged[@]}" --test modinput
fi

python3 -m pytest -q tests/app
