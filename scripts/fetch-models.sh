#!/usr/bin/env bash
# Fetch the default kamado models (nsfwjs@4.3.0: inception_v3, mobilenet_v2)
# into <repo>/models/ as TF.js layers models (uint8-quantized weights kept).
# Works from any cwd; idempotent (skips if models/<name>/.complete exist).
# Extra args are passed to scripts/fetch_models.js (--force, --models-dir DIR).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null || { echo "fetch-models: ERROR: node not found" >&2; exit 1; }
command -v npm  >/dev/null || { echo "fetch-models: ERROR: npm not found" >&2; exit 1; }
exec node "$SCRIPT_DIR/fetch_models.js" "$@"
