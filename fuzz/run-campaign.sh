#!/usr/bin/env bash
# Runs every fuzz target for a while, one after another; results in fuzz/campaign.log.
# Usage: fuzz/run-campaign.sh [session_seconds] [other_seconds]; TARGETS="a b" picks targets. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP lets it use the sanitizer flags on stable.
set -uo pipefail
cd "$(dirname "$0")/.."
export RUSTC_BOOTSTRAP=1
first=${1:-600}
rest=${2:-240}
mkdir -p fuzz/corpus
for target in ${TARGETS:-session record_path task_xml command_line evtx_reader parallel_split}; do
  mkdir -p "fuzz/corpus/$target"
  # Random bytes never form an EVTX header: start the EVTX target from real files.
  if [ "$target" = evtx_reader ] && [ -z "$(ls -A fuzz/corpus/evtx_reader)" ]; then
    find ../shared/samples/evtx -name '*.evtx' -size -256k -exec cp {} fuzz/corpus/evtx_reader/ \;
  fi
  secs=$rest
  [ "$target" = session ] && secs=$first
  # An EVTX file is a 4 KB header and 64 KB chunks: shorter inputs never reach a record.
  max_len=65536
  [ "$target" = evtx_reader ] && max_len=262144
  echo "== $target for ${secs}s ($(date -u +%H:%M:%S))" >> fuzz/campaign.log
  dict=(); [ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
  # Threads that exit leave glibc's 32-byte thread-local destructor record behind, which
  # LeakSanitizer reports as a leak (__cxa_thread_atexit_impl); the split target starts threads.
  [ "$target" = parallel_split ] && dict+=(-detect_leaks=0)
  cargo fuzz run -O "$target" "fuzz/corpus/$target" -- "${dict[@]}" -max_total_time="$secs" -max_len="$max_len" -rss_limit_mb=2048 \
    > "fuzz/$target.log" 2>&1
  echo "exit=$? $(grep -E '^#[0-9]+.*(DONE|pulse)' "fuzz/$target.log" | tail -1)" >> fuzz/campaign.log
  grep -E "SUMMARY|panicked|ERROR" "fuzz/$target.log" | head -5 >> fuzz/campaign.log
done
echo "== done ($(date -u +%H:%M:%S))" >> fuzz/campaign.log
