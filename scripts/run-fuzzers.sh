#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, on a scratch copy of its seed
# corpus (the checked-in corpus stays small and reviewed). Fails on the first crash.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
ran=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  ran=$((ran + 1))
  name=$(basename "$bin"); corpus_name=${name#fuzz_}
  work=$(mktemp -d); mkdir -p "$root/tests/fuzz/crashes"
  cp -r "$root/tests/fuzz/corpus/$corpus_name/." "$work/" 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$root/tests/fuzz/crashes/$name-" "$work" 2>"$work.log"; then
    echo "fuzz: $name FAILED (artifacts in tests/fuzz/crashes/)"; tail -40 "$work.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work.log" | sed "s/^/fuzz: $name /"
  fi
  rm -rf "$work" "$work.log"
done
if [ "$ran" -eq 0 ]; then echo "fuzz: no fuzz targets found in $build/tests/fuzz" >&2; exit 1; fi
echo "fuzz: $ran targets, $([ $status -eq 0 ] && echo 'no crashes' || echo 'CRASHES FOUND')"
exit $status
