#!/bin/sh
# Runs the systemtask build for this Linux host's architecture. splunkd finds this script by the
# command's (or the modular input's scheme's) name, so one app serves x86_64 and aarch64 search
# heads and indexers; Splunk names no aarch64 platform folder, and Windows finds
# windows_x86_64/bin/<program>.exe first (README, "One app for Linux and Windows").
# Usage: systemtask.sh [arguments...]; a copy named <program>.sh runs <program>-<arch> the same way.
# Parameter expansion, not dirname/basename: each external program costs a fork and an exec
# on every search that starts the command.
case "$0" in
  */*) dir=${0%/*} ;;
  *) dir=. ;;
esac
program=${0##*/}
program=${program%.sh}
# The kernel's machine name: read from /proc (a shell builtin, no process) where the kernel
# offers it, else from uname (one fork and exec more).
machine=
[ -r /proc/sys/kernel/arch ] && read -r machine < /proc/sys/kernel/arch
[ -n "$machine" ] || machine=$(uname -m)
case "$machine" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64 | armv8*) arch=aarch64 ;;
  *) arch=$machine ;;
esac
exe="$dir/$program-$arch"
if [ ! -x "$exe" ]; then
  # The search command tells the search in its own protocol (chunked frames on stdout). Any
  # other program (the modular input, whose stdout is an XML event stream) only writes the
  # reason to stderr, which splunkd logs, as an ERROR line.
  if [ "$program" = systemtask ] && [ "$#" -eq 0 ]; then
    msg="{\"finished\":true,\"inspector\":{\"messages\":[[\"ERROR\",\"$program: no build for architecture $arch in $dir\"]]}}"
    printf 'chunked 1.0,%s,0\n%s' "${#msg}" "$msg"
  fi
  echo "ERROR $program: no build for architecture $arch in $dir" >&2
  exit 1
fi
exec "$exe" "$@"
