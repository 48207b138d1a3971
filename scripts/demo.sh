#!/usr/bin/env bash
# `make demo`: the bench against our own server on embedded defaults (no config file, no
# Redis): every scenario, with an ECDSA P-256 and an RSA-2048 certificate (most sites
# serve RSA; its full handshakes cost the server far more, so resumption saves more), with
# OpenSSL's in-memory floor, a JSON file and a Markdown report with charts. About a minute on a
# 2-core machine.
#
# Usage: bash scripts/demo.sh [path/to/tlsresume] [report dir]
set -euo pipefail

bin=${1:-build/tlsresume}
out=${2:-out/bench-report}
# 4 s per cell keeps 14 cells (7 scenarios x 2 certificates), server starts and the floor
# under two minutes.
duration=${DEMO_DURATION:-4}

if [[ ! -x "$bin" ]]; then
  echo "demo: $bin not found or not executable; build first (make build)" >&2
  exit 1
fi
mkdir -p "$out"

echo "tlsresume demo: is the speed-up from session resumption worth it?"
echo "  $bin bench --target self --cert-type both --duration $duration --floor --json $out/bench.json --report $out"
echo
start=$(date +%s)
"$bin" bench --target self --cert-type both --duration "$duration" --floor --json "$out/bench.json" --report "$out"
echo
echo "report: $out/index.md (charts: $out/*.svg), figures: $out/bench.json ($(( $(date +%s) - start )) s)"
