#!/usr/bin/env bash
# Every test, in the order a failure is cheapest to see: formatting and lints; the crate's unit,
# integration and property tests; then the packaged app: the protocol tests against the packaged
# x86_64 and aarch64 builds (the foreign one under qemu-user), and the app checks with AppInspect.
set -euo pipefail
cd "$(dirname "$0")"

./tools/install-test-deps.sh
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked

./package.sh
packaged=(--test replay --test malformed --test samples)
case "$(uname -m)" in
  x86_64) native=x86_64 foreign=aarch64 ;;
  aarch64) native=aarch64 foreign=x86_64 ;;
  *) echo "test.sh: unsupported host $(uname -m)" >&2; exit 1 ;;
esac
echo "test.sh: protocol tests against the packaged $native build" >&2
SYSTEMTASK_EXE="$PWD/dist/systemtask/bin/systemtask-$native" cargo test --locked "${packaged[@]}"
echo "test.sh: protocol tests against the packaged $foreign build under qemu-$foreign" >&2
SYSTEMTASK_EXE="$PWD/dist/systemtask/bin/systemtask-$foreign" SYSTEMTASK_RUNNER="qemu-$foreign" \
  cargo test --locked "${packaged[@]}"

python3 -m pytest -q tests/app
