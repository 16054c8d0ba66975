#!/usr/bin/env bash
# The cut-over page as a browser shows it: MobileNetV2 against InceptionV3
# (real servers on loopback; one photo of data/images disagrees), the page
# written by build/kamado shadow --report, then opened in Debian's headless
# Chromium by tests/shadow/browser/check_page.mjs (playwright-core).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source bench/servers.sh
start_server a --sessions 1 --threads 1 --model models/mobilenet_v2
start_server b --sessions 1 --threads 1 --model models/inception_v3
out=${SHADOW_PAGE_DIR:-build/shadow-page}
mkdir -p "$out"
json=$("$KAMADO" shadow --a "$(cat "$work/a.url")/v2/models/mobilenet_v2/classify" \
         --b "$(cat "$work/b.url")/v2/models/inception_v3/classify" --images data/images \
         --report "$out/cutover.html" --json | tail -n 1)
disagree=$(echo "$json" | node -e "console.log(JSON.parse(require('fs').readFileSync(0)).a_vs_b.disagreements.length)")
[[ $disagree -ge 1 ]] || { echo "expected at least one disagreeing photo, got $disagree" >&2; exit 1; }
node tests/shadow/browser/check_page.mjs "$out/cutover.html" "$disagree"
