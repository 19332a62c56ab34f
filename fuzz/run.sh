#!/usr/bin/env bash
# Runs every fuzz target and prints a table: executions, seconds, crashes.
#   fuzz/run.sh            10,000,000 executions per target (the figures in ARCHITECTURE.md)
#   fuzz/run.sh --runs N   N executions per target (CI runs a short smoke)
# Seeds (real certificates, a demo's transactions) are written to fuzz/corpus/ first; a crash
# leaves its input in fuzz/artifacts/TARGET/ and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=10000000
if [[ "${1:-}" == "--runs" ]]; then runs="$2"; fi
targets=(transaction block enrolment envelope disclosure api_json detection_csv)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
# No sanitizer: the stable toolchain builds the coverage instrumentation; the code under test is
# safe Rust, so a memory error would be a panic, which libFuzzer reports.
cargo fuzz build --sanitizer none -O >/dev/null

# Seeds: the demo world's certificates, in the enrolment target's layout (2-byte length, DER).
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
# EPICHAIN_BINARY: an already built binary (CI passes the tests' one, so nothing is rebuilt).
if [[ -n "${EPICHAIN_BINARY:-}" ]]; then
  "$EPICHAIN_BINARY" demo --dir "$seeds/demo" >/dev/null
else
  cargo run --quiet -p epichain -- demo --dir "$seeds/demo" >/dev/null
fi
der() { openssl x509 -in "$seeds/demo/keys/$1.cert.pem" -outform der; }
framed() { python3 -c 'import sys; d=sys.stdin.buffer.read(); sys.stdout.buffer.write(len(d).to_bytes(2,"little")+d)'; }
mkdir -p fuzz/corpus/enrolment
for leaf in futian-hospital futian-doctor yuexiu-hospital patient-zhang; do
  { der "$leaf" | framed; der shenzhen-municipal-ca | framed; der guangdong-provincial-ca | framed; } \
    > "fuzz/corpus/enrolment/seed-$leaf" 2>/dev/null || true
done

printf '%-15s %14s %9s %8s\n' target executions seconds crashes
status=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  started=$(date +%s)
  log=$(mktemp)
  if cargo fuzz run --sanitizer none -O "$target" "fuzz/corpus/$target" -- \
      -runs="$runs" -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1; then
    crashes=0
  else
    crashes=1
    status=1
    tail -30 "$log"
  fi
  executions=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
  printf '%-15s %14s %9s %8s\n' "$target" "${executions:-?}" "$(( $(date +%s) - started ))" "$crashes"
  rm -f "$log"
done
exit "$status"
