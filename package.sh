#!/usr/bin/env bash
# Builds the Splunk app tarball dist/systemtask-<version>.tgz, one app for three platforms:
#   - Linux x86_64 and aarch64: release binaries linked against glibc 2.17 (the oldest glibc
#     Splunk's Linux builds run on; `cargo zigbuild`, zig from PyPI, pins the symbol versions) in
#     bin/ as <program>-x86_64 and <program>-aarch64, started through bin/<program>.sh, which
#     picks the build for the host. glibc, not static musl: with musl's allocator and memcpy the
#     command ran 1.45x slower (README, "Performance");
#   - Windows x86_64 (x86_64-pc-windows-gnu, linked by mingw-w64): windows_x86_64/bin/<program>.exe,
#     which splunkd on Windows finds before bin/ (README, "One app for Linux and Windows");
#   - splunk_app/ and default/ assembled into dist/systemtask/, 644 files, 755 dirs and
#     executables, no dot-files, owner root.
# With --demo it then runs the packaged command for this machine over samples/demo_events.csv.
set -euo pipefail
cd "$(dirname "$0")"

demo=0
for arg in "$@"; do
  case "$arg" in
    --demo) demo=1 ;;
    *) echo "usage: ./package.sh [--demo]" >&2; exit 2 ;;
  esac
done

app=systemtask
version=$(sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "package.sh: no version in Cargo.toml" >&2; exit 1; }

# One version everywhere: Cargo.toml, app.conf ([id] and [launcher]) and app.manifest.
for found in $(sed -n 's/^version = \(.*\)$/\1/p' default/app.conf) \
             $(python3 -c 'import json,sys; print(json.load(open("splunk_app/app.manifest"))["info"]["id"]["version"])'); do
  if [ "$found" != "$version" ]; then
    echo "package.sh: version $found in default/app.conf or splunk_app/app.manifest differs from Cargo.toml $version" >&2
    exit 1
  fi
done

# Linux targets carry the glibc version they link against: cargo-zigbuild's suffix.
linux_glibc=2.17
targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-pc-windows-gnu)
./tools/install-build-deps.sh
# pip's console scripts (cargo-zigbuild) live in the interpreter's scripts folder.
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export PATH
installed=$(rustup target list --installed 2>/dev/null || true)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  cargo zigbuild --release --locked --target "$t.$linux_glibc" --bins
done
cargo build --release --locked --target x86_64-pc-windows-gnu --bins

stage=dist/$app
rm -rf "$stage" "dist/$app-$version.tgz"
mkdir -p "$stage"
cp -R splunk_app/. "$stage/"
cp -R default "$stage/default"
mkdir -p "$stage/bin"
for src in src/bin/*.rs; do
  b=$(basename "$src" .rs)
  install -m 755 "target/x86_64-unknown-linux-gnu/release/$b" "$stage/bin/$b-x86_64"
  install -m 755 "target/aarch64-unknown-linux-gnu/release/$b" "$stage/bin/$b-aarch64"
  [ -e "$stage/bin/$b.sh" ] || cp splunk_app/bin/systemtask.sh "$stage/bin/$b.sh"
  install -D -m 755 "target/x86_64-pc-windows-gnu/release/$b.exe" "$stage/windows_x86_64/bin/$b.exe"
done

# AppInspect: no dot-files, no local/, 644 files, 755 directories, executables only in bin/.
find "$stage" -name '.*' -prune -exec rm -rf {} +
rm -rf "$stage/local" "$stage/metadata/local.meta"
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -exec chmod 644 {} +
find "$stage" -type f -path '*/bin/*' -exec chmod 755 {} +

tar -C dist --owner=0 --group=0 --format=ustar -czf "dist/$app-$version.tgz" "$app"
echo "package.sh: wrote dist/$app-$version.tgz" >&2

if [ "$demo" = 1 ]; then
  exe="$stage/bin/systemtask.sh"
  echo "package.sh: tagging samples/demo_events.csv with the packaged command ($exe)" >&2
  "$exe" tag --format table samples/demo_events.csv
fi
