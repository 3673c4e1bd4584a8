#!/bin/sh
# Runs the systemtask build for this host's architecture. commands.conf (and a modular input's
# scheme) name this script, so one app serves x86_64 and aarch64 search heads and indexers;
# Splunk documents platform directories only for x86. Usage: systemtask.sh [arguments...]; a
# link or copy named <program>.sh runs <program>-<arch> the same way.
dir=$(dirname "$0")
program=$(basename "$0" .sh)
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64 | armv8*) arch=aarch64 ;;
  *) arch=$(uname -m) ;;
esac
exe="$dir/$program-$arch"
if [ ! -x "$exe" ]; then
  # Tell Splunk in its own protocol, so the search shows why, then fail.
  msg="{\"finished\":true,\"inspector\":{\"messages\":[[\"ERROR\",\"$program: no build for architecture $arch in $dir\"]]}}"
  if [ "$#" -eq 0 ]; then
    printf 'chunked 1.0,%s,0\n%s' "${#msg}" "$msg"
  fi
  echo "$program: no build for architecture $arch in $dir" >&2
  exit 1
fi
exec "$exe" "$@"
