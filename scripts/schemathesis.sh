#!/usr/bin/env bash
# Schemathesis (PyPI) against the OpenAPI document of a running devnet: no response may be a 5xx,
# and every response must match its declared status, content type and schema.
#   scripts/schemathesis.sh [SECONDS] [EPICHAIN_BINARY]
# Starts a devnet in a temporary directory (ports 18500–18506, 19500–19503) and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
binary="${2:-target/release/epichain}"
python3 -m pip install --quiet --disable-pip-version-check schemathesis==4.32.5
[[ -x "$binary" ]] || cargo build --release -p epichain
dir=$(mktemp -d)
"$binary" devnet --dir "$dir/devnet" --base-port 18500 >"$dir/devnet.out" 2>&1 &
devnet=$!
trap 'kill -INT "$devnet" 2>/dev/null; wait "$devnet" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 180); do
  grep -q "streaming case reports" "$dir/devnet.out" && break
  sleep 1
done
# The coverage phase is left out: schemathesis 4.32.5 fails inside it on an integer path
# parameter (KeyError in its own coverage module), which is not an answer of ours.
# The devnet speaks HTTPS with node certificates under its own root: verify against it.
schemathesis run https://127.0.0.1:18500/openapi.json \
  --tls-verify "$dir/devnet/keys/epichain-national-root-ca.cert.pem" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --exclude-path /v1/signals/stream \
  --phases examples,fuzzing,stateful \
  --max-time "$seconds" --request-timeout 10 -w 2 \
  --suppress-health-check all
