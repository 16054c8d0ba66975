#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14) into build-fuzz/ and runs each for
# SECONDS seconds (default 10) on a working copy of its seed corpus.
#   fuzz/run.sh [SECONDS]        make test: 10 s each; make fuzz: 300 s each
# Seeds: fuzz/seeds/<target>/ (committed, small) plus tests/data/bad/.
# New inputs go to build-fuzz/corpus/<target>/; crashes to build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_EACH="${1:-10}"
BUILD=build-fuzz
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S fuzz -B $BUILD -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
cmake --build $BUILD
mkdir -p $BUILD/crashes
for target in fuzz_decode_jpeg fuzz_decode_png fuzz_decode_webp fuzz_decode_to_tensor; do
  corpus=$BUILD/corpus/$target
  mkdir -p "$corpus"
  seeds=(fuzz/seeds/${target#fuzz_decode_})
  [[ $target == fuzz_decode_to_tensor ]] && seeds=(fuzz/seeds/jpeg fuzz/seeds/png fuzz/seeds/webp)
  echo "fuzz: $target for ${SECONDS_EACH}s"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    $BUILD/$target -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix=$BUILD/crashes/$target- -print_final_stats=1 \
      "$corpus" "${seeds[@]}" tests/data/bad > $BUILD/$target.log 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" $BUILD/$target.log || true
  if [[ ${status:-0} != 0 ]] && ! ls $BUILD/crashes/$target-* >/dev/null 2>&1; then
    echo "fuzz: $target failed to run (exit ${status}); see $BUILD/$target.log" >&2
    exit 1
  fi
  unset status
  if ls $BUILD/crashes/$target-* >/dev/null 2>&1; then
    echo "fuzz: $target found a crash: $(ls $BUILD/crashes/$target-*)" >&2
    exit 1
  fi
done
